//! TLS as vantage sees it from the outside: which protocol versions, cipher
//! suites and groups a server accepts, learned from hand-made ClientHellos
//! the way testssl.sh and sslyze do it, because a real TLS library (rustls)
//! deliberately cannot speak SSLv2/SSLv3, TLS 1.0/1.1 or weak suites.
//!
//! `wire` is the sans-I/O part: the codec (bytes in, typed messages out)
//! and the enumeration state machines that decide what to send next. The
//! prober that moves those bytes over TCP lives in `probe`. Issue 5.

pub mod wire;

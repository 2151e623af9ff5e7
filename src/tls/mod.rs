//! TLS as vantage sees it from the outside (issue 5). `wire` is the sans-I/O
//! codec and the enumeration state machines: which protocol versions,
//! cipher suites and groups a server accepts, learned from hand-made
//! ClientHellos the way testssl.sh and sslyze do it, because rustls
//! deliberately cannot speak SSLv2/SSLv3, TLS 1.0/1.1 or weak suites (the
//! prober that moves those bytes over TCP lives in `probe::tls`). `cert`
//! classifies a certificate chain, `profile` reads Mozilla's Server Side
//! TLS guidelines from the data files we ship, `policy` turns a profile plus
//! a spec's overrides into violations, and `names` names versions and
//! suites.
//!
//! Everything here is pure: no sockets, no clock (`now` is a parameter).

pub mod cert;
pub mod names;
pub mod policy;
pub mod profile;
pub mod wire;

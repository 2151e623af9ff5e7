//! TLS: judging what an endpoint's TLS said (issue 5). `cert` classifies a
//! certificate chain, `profile` reads Mozilla's Server Side TLS guidelines
//! from the data files we ship, `policy` turns a profile plus a spec's
//! overrides into violations, and `names` names versions and suites.
//!
//! Everything here is pure: no sockets, no clock (`now` is a parameter).

pub mod cert;
pub mod names;
pub mod policy;
pub mod profile;

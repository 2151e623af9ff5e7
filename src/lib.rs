//! `vantage`: a network exposure validator.
//!
//! An engineer declares what a network is meant to expose; vantage probes it
//! from vantage points and reports every difference, with evidence. Data
//! moves one way through five stages, each with its own module and its own
//! plain data type at the boundary:
//!
//! ```text
//! spec (YAML) --spec--> Intent
//! Intent + vantage --plan--> lazy stream of Probes (scope-guarded, sharded)
//! Probes --engine/probe--> Observations (JSON Lines)
//! Intent + Observations --verdict--> Findings
//! Findings --report--> table | json | sarif | junit | markdown
//! ```
//!
//! `spec`, `plan`, `lint`, `verdict` and `report` are pure: no sockets, no clock (time
//! is a parameter), no tokio. See ARCHITECTURE.md for the code map.

#![forbid(unsafe_code)]

pub mod agent;
pub mod dns;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod init;
pub mod lint;
pub mod observe;
pub mod plan;
pub mod probe;
pub mod report;
pub mod scan;
pub mod schema;
pub mod spec;
pub mod tls;
pub mod verdict;

/// The tool's version, as recorded in every output document.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

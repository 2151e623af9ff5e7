//! The one integration-test binary: every behaviour test of `vantage` lives
//! in a module here, so the crate links once (ripgrep's `tests/tests.rs`).

#[path = "../dnsbed/mod.rs"]
mod dnsbed;
#[path = "../lab/mod.rs"]
mod lab;
#[path = "../tlsbed/mod.rs"]
mod tlsbed;

mod agent;
mod agent_lab;
mod certs;
mod check_cli;
mod cli;
mod completions;
mod demo;
mod deploy;
mod dns_bed;
mod dns_lab;
mod dns_probe;
mod dns_scan;
mod feedback;
mod hostile;
mod html_report;
mod init;
mod kill;
mod lab_tests;
mod lint;
mod nmap_import;
mod observe;
mod plan;
mod report;
mod resource_faults;
mod safety;
mod scale;
mod scan_lab;
mod schema;
mod shards;
mod spec_errors;
mod starttls;
mod tidy;
mod tls;
mod tls_lab;
mod tls_probe;
mod util;
mod verdict_cli;
mod verdict_lab;

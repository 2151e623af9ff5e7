//! How bad an exposure is. A spec's own `severity` (on the flow that denies
//! the port, else on a service that names it) wins; otherwise the port's
//! risk class and whether the vantage's zone is untrusted decide:
//!
//! | port class                              | from an untrusted zone | from a trusted zone |
//! |-----------------------------------------|------------------------|---------------------|
//! | database, remote-admin, management      | critical               | high                |
//! | any other                               | high                   | medium              |
//!
//! A zone is untrusted when it has `probe: false`: a source only, such as
//! `internet`, which the spec does not control.

use crate::report::document::Severity;
use crate::spec::Intent;
use crate::spec::intent::{Flow, Proto, VantageId};

/// Why a port is risky to expose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskClass {
    /// A database or data store (MySQL, PostgreSQL, Redis, Elasticsearch...).
    Database,
    /// A management interface (SNMP, IPMI, etcd, kubelet, Docker API...).
    Management,
    /// Remote administration (SSH, Telnet, RDP, VNC, WinRM...).
    RemoteAdmin,
}

/// The risk class of a well-known port, if it has one.
pub fn risk_class(proto: Proto, port: u16) -> Option<RiskClass> {
    use RiskClass::{Database, Management, RemoteAdmin};
    match (proto, port) {
        (Proto::Tcp, 1433 | 1521 | 3306 | 5432 | 5984 | 6379 | 7000 | 7001 | 8086 | 9042)
        | (Proto::Tcp, 9200 | 9300 | 11211 | 27017 | 28017 | 50000)
        | (Proto::Udp, 11211) => Some(Database),
        (Proto::Tcp, 22 | 23 | 512..=514 | 3389 | 5900..=5903 | 5985 | 5986) => Some(RemoteAdmin),
        (Proto::Tcp, 2375 | 2376 | 2379 | 2380 | 4848 | 6443 | 8500 | 9090 | 10250 | 10255)
        | (Proto::Tcp, 15672 | 623 | 161)
        | (Proto::Udp, 161 | 623) => Some(Management),
        _ => None,
    }
}

/// Whether the vantage's zone is untrusted (`probe: false`).
pub(crate) fn untrusted(intent: &Intent, v: VantageId) -> bool {
    !intent.zones[intent.vantages[v.0].zone.0].probe
}

/// The severity of an open `proto`/`port` that should not be, from vantage
/// `v`; `flow` is the deny flow that names it, if any.
pub(crate) fn exposure(
    intent: &Intent,
    v: VantageId,
    flow: Option<&Flow>,
    proto: Proto,
    port: u16,
) -> Severity {
    if let Some(s) = flow.and_then(|f| f.severity) {
        return s.into();
    }
    let in_service = |s: &crate::spec::intent::Service| match proto {
        Proto::Tcp => s.tcp.contains(port),
        Proto::Udp => s.udp.contains(port),
    };
    // The flow's services first, then any service naming the port.
    let from_flow = flow.and_then(|f| {
        f.services
            .iter()
            .map(|s| &intent.services[s.0])
            .filter(|s| in_service(s))
            .filter_map(|s| s.severity)
            .max()
    });
    let any = || intent.services.iter().filter(|s| in_service(s)).filter_map(|s| s.severity).max();
    if let Some(s) = from_flow.or_else(any) {
        return s.into();
    }
    match (risk_class(proto, port).is_some(), untrusted(intent, v)) {
        (true, true) => Severity::Critical,
        (true, false) | (false, true) => Severity::High,
        (false, false) => Severity::Medium,
    }
}

//! Evidence: what was sent, what came back, when, and from where, in one
//! line a person can check against a packet capture.

use crate::observe::{PortState, Reason, ScanMode};
use crate::spec::intent::Proto;

use super::Source;
use super::merge::{PortObs, Sighting};

/// What a probe sent.
fn sent(mode: ScanMode, proto: Proto) -> &'static str {
    match (proto, mode) {
        (Proto::Udp, _) => "UDP probe",
        (Proto::Tcp, ScanMode::Syn) => "SYN",
        (Proto::Tcp, ScanMode::Connect) => "TCP connect",
    }
}

/// What came back, in words.
pub(crate) fn answer(reason: Reason) -> String {
    match reason {
        Reason::ConnRefused => "connection refused (RST)".to_owned(),
        Reason::Connected => "connection accepted".to_owned(),
        Reason::HostUnreachable => "host unreachable".to_owned(),
        Reason::IcmpUnreachable { icmp_type, code } => {
            format!("ICMP unreachable (type {icmp_type}, code {code})")
        }
        Reason::LocalError => "a local error (nothing learned)".to_owned(),
        Reason::NoResponse => "no answer".to_owned(),
        Reason::PortUnreachable => "ICMP port unreachable".to_owned(),
        Reason::Rst => "RST".to_owned(),
        Reason::SelfConnect => "a self-connect (nothing learned)".to_owned(),
        Reason::SynAck => "SYN-ACK".to_owned(),
        Reason::UdpResponse => "a UDP reply".to_owned(),
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// One sighting: `SYN x1 -> SYN-ACK in 5.1 ms at T (a.jsonl)`.
fn sighting(sources: &[Source<'_>], mode: ScanMode, proto: Proto, s: &Sighting<'_>) -> String {
    let file = sources.get(s.source).map_or("?", |x| x.name);
    if let Some(f) = s.fact {
        let rtt =
            f.rtt_us.map(|us| format!(" in {:.1} ms", us as f64 / 1000.0)).unwrap_or_default();
        let mut text = format!(
            "{} ({}) -> {}{rtt} at {} ({file})",
            sent(mode, proto),
            plural(u64::from(f.attempts), "attempt"),
            answer(f.reason),
            f.at
        );
        if let Some(b) = &f.banner {
            text.push_str(&format!("; banner \"{b}\""));
        }
        text
    } else if let Some(summary) = s.summary {
        format!(
            "{} ({}) -> {} ({file}, aggregated with {} silent ports)",
            sent(mode, proto),
            plural(u64::from(summary.attempts), "attempt"),
            answer(summary.reason),
            summary.count
        )
    } else {
        format!("{} ({file})", s.state.as_str())
    }
}

/// The evidence for one port from one vantage, duplicates included.
pub(crate) fn port(
    sources: &[Source<'_>],
    vantage: &str,
    mode: ScanMode,
    proto: Proto,
    obs: &PortObs<'_>,
) -> String {
    let mut text = format!("from {vantage}: {}", sighting(sources, mode, proto, &obs.best));
    if !obs.others.is_empty() {
        let others: Vec<String> = obs
            .others
            .iter()
            .map(|o| {
                format!("{} ({})", o.state.as_str(), sources.get(o.source).map_or("?", |x| x.name))
            })
            .collect();
        let why = match obs.best.state {
            PortState::Open => "one answer proves a port open",
            PortState::Closed => "a refusal is an answer; silence is not",
            _ => "the stronger state wins",
        };
        text.push_str(&format!(
            "; seen {} times, also {}: {} kept ({why})",
            obs.others.len() + 1,
            others.join(", "),
            obs.best.state.as_str()
        ));
    }
    text
}

//! Other scanners' results as observation files (issue 9): `vantage import
//! nmap` turns nmap's XML ([`nmap::parse`]) into the records `vantage scan`
//! writes ([`observations`]), so `verdict` can hold an existing nmap run
//! against the intent.
//!
//! How nmap's words become the observation format's:
//!
//! - States: `open`, `closed`, `filtered` and `open|filtered` are the
//!   format's own (vantage names states as nmap does). `closed|filtered`
//!   (only the idle scan says it) becomes `filtered`: nmap saw no answer it
//!   could trust, and `closed` would claim a RST it did not see.
//!   `unfiltered` (the ACK scan) is not imported: it proves the port is not
//!   filtered but not whether anything listens, and calling it either
//!   open or closed would invent a fact; its ports stay unaccounted, so
//!   the file is not complete.
//! - Reasons: nmap's names (`syn-ack`, `reset`, `conn-refused`,
//!   `no-response`, `port-unreach`, `udp-response`, the ICMP unreachables
//!   by name, with their ICMP type and code) map to [`Reason`]; `syn-ack`
//!   in a connect scan is `connected`, as vantage's connect mode says it.
//!   A reason nmap has and the format has not becomes the state's usual
//!   one, and a warning names it.
//! - `<extraports>`: nmap folds ports sharing a state without listing them
//!   unless `<extrareasons ports=..>` does (nmap 7.80 and later). With the
//!   list, those ports are written; without it, the one unlisted group of a
//!   protocol takes every scanned port not listed (when its count agrees);
//!   with several such groups, which port is which is unknown: nothing is
//!   guessed, those ports stay unaccounted and the file is not complete.
//!   Silent folded ports (`filtered` TCP, `open|filtered` UDP) become
//!   `filtered` summary lines as the scanner writes them; others, one `port`
//!   line each.
//! - Banners: the `banner` script's output, else the service's product,
//!   version and extra info, made printable and bounded as a banner.
//! - TLS: a TCP port where `ssl-enum-ciphers` or `ssl-cert` ran becomes a
//!   `tls` line. Each version table is an accepted version with its
//!   suites, by IANA name (nmap's TLS 1.3 names, `TLS_AKE_WITH_*`, are
//!   IANA's `TLS_*`; a name the registry lacks is left out, and a warning
//!   names it), and `cipher preference: server` is a server order. Every
//!   version `ssl-enum-ciphers` tries (SSLv3 to TLS 1.2, and TLS 1.3 from
//!   nmap 7.90) and did not list is refused; SSLv2 (another script) is not
//!   probed. A script that failed (`ERROR: ...`) or listed no version says
//!   nothing: without a version table the line's `error` says no version
//!   was probed, so the protocol and cipher policy is unjudged. `ssl-cert`'s PEM is
//!   the chain, marked cut (`chain_truncated`): nmap keeps only the leaf,
//!   so trust is judged only when the leaf's issuer is an anchor, and a
//!   missing intermediate is unjudged, not a finding. Without `ssl-cert`,
//!   the line's `error` says no certificate was read, so the certificate
//!   policy is unjudged (`scan-incomplete`), never passed. nmap does not
//!   say whether OCSP was stapled: `ocsp_stapled` is `null`, and a policy
//!   requiring a staple is unjudged on that point.
//! - The trailer is complete only when every scanned port of every host up
//!   is accounted for and nmap's run finished with `exit="success"`.
//!
//! Invariants: pure (no I/O, no clock: times come from nmap's own
//! `start` and `finished`, or the caller); every record passes
//! `Record::check` (the CLI writes them with `encode_line`).

pub mod nmap;

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::observe::{
    FilteredSummary, Header, PortFact, PortState, Proto, Reason, Record, SCHEMA_VERSION, ScanMode,
    TOOL, TlsFact, TlsSuite, TlsVersion, TlsVersionFact, Trailer, printable_banner, timestamp,
};
use crate::spec::ports::PortSet;
use nmap::{NmapRun, Protocol};

/// What the header needs that nmap's file does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The spec path as the user gave it.
    pub spec: String,
    /// The spec's digest (`spec::Loaded::digest`).
    pub spec_digest: String,
    /// The vantage nmap ran from, as the spec names it.
    pub vantage: String,
    /// The time to record when nmap's file gives none (RFC 3339 as
    /// [`timestamp`] writes it).
    pub now: String,
}

/// An nmap run as observation records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The header, the facts, and the trailer, in file order.
    pub records: Vec<Record>,
    /// Whether the trailer says complete.
    pub complete: bool,
    /// What was not imported, or not as nmap said it, for people.
    pub warnings: Vec<String>,
}

/// Converts a parsed nmap run into the records of one observation file.
pub fn observations(run: &NmapRun, ctx: &Context) -> Imported {
    let mut warnings = Vec::new();
    let time = |secs: Option<i64>| {
        secs.and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map_or_else(|| ctx.now.clone(), timestamp)
    };
    let (started, ended) = (time(run.start), time(run.finished.or(run.start)));
    let connect = run.scans.iter().any(|s| s.scan_type == "connect");
    let raw_tcp = run.scans.iter().any(|s| s.protocol == Protocol::Tcp && s.scan_type != "connect");
    let mode = if raw_tcp || !connect { ScanMode::Syn } else { ScanMode::Connect };
    for s in &run.scans {
        if s.protocol == Protocol::Other {
            warnings.push(format!(
                "nmap's {} scan is not TCP or UDP; its ports are not imported",
                s.scan_type
            ));
        }
        if s.scan_type == "ack" || s.scan_type == "window" {
            warnings.push(format!(
                "nmap's {} scan cannot tell open from closed: its `unfiltered` ports are \
                 not imported; scan with -sS or -sT to judge exposure",
                s.scan_type
            ));
        }
    }
    let scanned = |p: Protocol| {
        let mut set = PortSet::new();
        for s in run.scans.iter().filter(|s| s.protocol == p) {
            set.extend(&s.ports);
        }
        set
    };
    let (tcp, udp) = (scanned(Protocol::Tcp), scanned(Protocol::Udp));
    let mut out = Out {
        connect: connect && !raw_tcp,
        enumerates_tls13: at_least(&run.version, (7, 90)),
        ..Out::default()
    };
    let mut unaccounted = 0u64;
    let mut down = 0usize;
    let mut ambiguous = false;
    for host in &run.hosts {
        let Some(addr) = host.address else {
            warnings.push("a host without an IP address was skipped".to_owned());
            continue;
        };
        if host.status != "up" {
            down += 1;
            continue;
        }
        for (protocol, proto, scanned) in
            [(Protocol::Tcp, Proto::Tcp, &tcp), (Protocol::Udp, Proto::Udp, &udp)]
        {
            if scanned.is_empty() {
                continue;
            }
            out.planned += u64::from(scanned.len());
            let result = out.host(addr, protocol, proto, scanned, host, run.scans.len() > 1);
            unaccounted += result.unaccounted;
            ambiguous |= result.ambiguous;
        }
    }
    if down > 0 {
        warnings.push(format!(
            "{down} host(s) nmap found down were not port-scanned and are not imported; \
             rerun nmap with -Pn to scan them anyway"
        ));
    }
    if ambiguous {
        warnings.push(
            "nmap folded ports of several states into <extraports> without listing them, so \
             which port is which is unknown and they are not imported; rerun nmap 7.80 or \
             later (which lists them) or add -d2 (which lists every port)"
                .to_owned(),
        );
    }
    if unaccounted > 0 {
        warnings.push(format!("{unaccounted} scanned port(s) are not accounted for"));
    }
    for r in &out.unknown_reasons {
        warnings.push(format!(
            "nmap's reason `{r}` has no equivalent; the state's usual one is written"
        ));
    }
    for s in &out.unknown_states {
        warnings.push(format!("nmap's state `{s}` is not imported"));
    }
    for s in &out.unknown_suites {
        warnings.push(format!("nmap's suite `{s}` has no IANA code point known here; left out"));
    }
    for s in &out.bad_certs {
        warnings.push(s.clone());
    }
    let finished = run.exit.as_deref() == Some("success");
    if !finished {
        warnings.push(match &run.exit {
            None => "nmap's run did not finish (no <runstats>)".to_owned(),
            Some(e) => format!("nmap's run ended with exit=\"{e}\""),
        });
    }
    let complete = finished && unaccounted == 0;
    let header = Header {
        schema_version: SCHEMA_VERSION,
        tool: TOOL.to_owned(),
        version: crate::VERSION.to_owned(),
        spec: ctx.spec.clone(),
        spec_digest: ctx.spec_digest.clone(),
        vantage: ctx.vantage.clone(),
        shard_index: 0,
        shard_count: 1,
        seed: 0,
        mode,
        started: started.clone(),
        probes_planned: out.planned,
        // nmap was given its own targets; vantage excluded nothing.
        excluded: None,
    };
    let c = out.counts;
    let trailer = Trailer {
        ended: ended.clone(),
        complete,
        interrupted: false,
        probes_sent: c.open + c.closed + c.filtered + c.open_filtered,
        open: c.open,
        closed: c.closed,
        filtered: c.filtered,
        open_filtered: c.open_filtered,
        errors: 0,
    };
    let mut records = Vec::with_capacity(out.facts.len() + 2);
    records.push(Record::Header(header));
    for mut r in out.facts {
        match &mut r {
            Record::Port(p) => p.at.clone_from(&started),
            Record::Tls(t) => t.at.clone_from(&ended),
            _ => {}
        }
        records.push(r);
    }
    records.push(Record::Trailer(trailer));
    Imported { records, complete, warnings }
}

/// Whether nmap's version (`7.93`, `7.95SVN`) is at least `min`; an
/// unreadable one is taken as the newest.
fn at_least(version: &str, min: (u32, u32)) -> bool {
    let mut parts = version.split('.');
    let number = |p: Option<&str>| {
        p.map(|t| t.chars().take_while(char::is_ascii_digit).collect::<String>())
            .and_then(|d| d.parse::<u32>().ok())
    };
    match (number(parts.next()), number(parts.next())) {
        (Some(major), Some(minor)) => (major, minor) >= min,
        _ => true,
    }
}

/// At most 64 characters of a name, for warnings.
fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}

/// A version as `ssl-enum-ciphers` names its table.
fn tls_version(name: &str) -> Option<TlsVersion> {
    Some(match name {
        "SSLv2" => TlsVersion::Ssl2,
        "SSLv3" => TlsVersion::Ssl3,
        "TLSv1.0" => TlsVersion::Tls10,
        "TLSv1.1" => TlsVersion::Tls11,
        "TLSv1.2" => TlsVersion::Tls12,
        "TLSv1.3" => TlsVersion::Tls13,
        _ => return None,
    })
}

/// The DER of one PEM certificate, or what is wrong with it.
fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN CERTIFICATE-----")
        .and_then(|b| b.trim_end().strip_suffix("-----END CERTIFICATE-----"))
        .ok_or("is not one PEM certificate")?;
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("is not base64: {e}"))?;
    if x509_parser::parse_x509_certificate(&der).is_err() {
        return Err("is not an X.509 certificate".to_owned());
    }
    Ok(der)
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    open: u64,
    closed: u64,
    filtered: u64,
    open_filtered: u64,
}

#[derive(Debug, Default)]
struct Out {
    connect: bool,
    planned: u64,
    facts: Vec<Record>,
    counts: Counts,
    unknown_reasons: BTreeSet<String>,
    unknown_states: BTreeSet<String>,
    unknown_suites: BTreeSet<String>,
    bad_certs: Vec<String>,
    /// Whether this nmap's `ssl-enum-ciphers` tries TLS 1.3 (7.90 and later).
    enumerates_tls13: bool,
    /// IANA suite names to code points, made when first needed.
    suite_codes: Option<std::collections::HashMap<&'static str, u16>>,
}

struct HostResult {
    unaccounted: u64,
    ambiguous: bool,
}

impl Out {
    /// Writes one host's ports of one protocol; says how many scanned
    /// ports stayed unaccounted.
    fn host(
        &mut self,
        addr: IpAddr,
        protocol: Protocol,
        proto: Proto,
        scanned: &PortSet,
        host: &nmap::Host,
        several_protocols: bool,
    ) -> HostResult {
        let mut accounted: Vec<(u16, u16)> = Vec::new();
        for p in host.ports.iter().filter(|p| p.protocol == protocol) {
            if !scanned.contains(p.port) || accounted.contains(&(p.port, p.port)) {
                continue;
            }
            let Some(state) = self.state(&p.state, proto) else { continue };
            let reason = self.reason(&p.reason, state, proto, addr);
            let banner = p
                .banner
                .as_deref()
                .filter(|b| !b.is_empty())
                .or(p.product.as_deref())
                .map(|b| printable_banner(b.as_bytes()));
            self.port(addr, proto, p.port, state, reason, banner);
            if proto == Proto::Tcp && state == PortState::Open {
                self.tls(addr, p);
            }
            accounted.push((p.port, p.port));
        }
        let mut rest = scanned.difference(&PortSet::from_ranges(accounted));
        // Groups whose ports nmap listed, then at most one that takes the rest.
        let mut unlisted = Vec::new();
        let mut untold = false;
        for group in &host.extra {
            // nmap 7.80+ tags each reason with its protocol; an untagged
            // group belongs to the only protocol scanned, else to none
            // that can be told.
            let tagged = group.reasons.iter().any(|r| r.protocol.is_some());
            if tagged && !group.reasons.iter().any(|r| r.protocol == Some(protocol)) {
                continue;
            }
            let listed = !group.reasons.is_empty()
                && group.reasons.iter().all(|r| r.ports.is_some())
                && (tagged || !several_protocols);
            if !listed {
                if tagged || !several_protocols {
                    unlisted.push(group);
                } else {
                    untold = true;
                }
                continue;
            }
            for r in group.reasons.iter().filter(|r| r.protocol.is_none_or(|p| p == protocol)) {
                let Some(ports) = &r.ports else { continue };
                let ports = ports.intersection(&rest);
                if self.folded(addr, proto, &group.state, &r.reason, &ports) {
                    rest = rest.difference(&ports);
                }
            }
        }
        let mut ambiguous = untold;
        match unlisted.as_slice() {
            [] => {}
            [group] if !untold && u64::from(group.count) == u64::from(rest.len()) => {
                let reason = match group.reasons.as_slice() {
                    [r] => r.reason.as_str(),
                    _ => "",
                };
                let ports = rest.clone();
                if self.folded(addr, proto, &group.state, reason, &ports) {
                    rest = PortSet::new();
                }
            }
            _ => ambiguous = true,
        }
        HostResult { unaccounted: u64::from(rest.len()), ambiguous }
    }

    /// The `tls` line of an open TCP port where nmap's TLS scripts ran.
    fn tls(&mut self, target: IpAddr, p: &nmap::Port) {
        if p.ciphers.is_none() && p.cert_pem.is_none() {
            return;
        }
        let mut versions = Vec::new();
        let mut refused = Vec::new();
        if let Some(found) = &p.ciphers {
            for v in found {
                let Some(version) = tls_version(&v.version) else {
                    let name = printable_banner(v.version.as_bytes());
                    self.unknown_suites.insert(format!("{} (an unknown version)", cut(&name)));
                    continue;
                };
                let suites = v.ciphers.iter().filter_map(|name| self.suite(name)).collect();
                let server_order = match v.preference.as_deref() {
                    Some("server") => Some(true),
                    Some("client") => Some(false),
                    _ => None,
                };
                versions.push(TlsVersionFact { version, suites, server_order });
            }
            versions.sort_by_key(|v| v.version);
            versions.dedup_by_key(|v| v.version);
            // What ssl-enum-ciphers tries: SSLv3 to TLS 1.2, and TLS 1.3
            // from nmap 7.90 on; SSLv2 is another script's.
            let tried = |t: TlsVersion| match t {
                TlsVersion::Ssl2 => false,
                TlsVersion::Tls13 => self.enumerates_tls13,
                _ => true,
            };
            refused = TlsVersion::ALL
                .into_iter()
                .filter(|t| tried(*t) && !versions.iter().any(|v| v.version == *t))
                .collect();
        }
        let mut why = Vec::new();
        let chain = match p.cert_pem.as_deref().map(pem_der) {
            Some(Ok(der)) => TlsFact::encode_chain(&[der]).0,
            Some(Err(bad)) => {
                self.bad_certs.push(format!("{target}:{}: ssl-cert's PEM {bad}", p.port));
                why.push(format!("no certificate was read: nmap's ssl-cert PEM {bad}"));
                Vec::new()
            }
            None => {
                why.push("no certificate was read: nmap's ssl-cert script did not run".to_owned());
                Vec::new()
            }
        };
        if p.ciphers.is_none() {
            // Neither accepted nor refused: the verdict says the protocol
            // and cipher policy is unjudged.
            why.push(
                "no protocol version was probed: nmap's ssl-enum-ciphers script did not run"
                    .to_owned(),
            );
        }
        let error = (!why.is_empty()).then(|| why.join("; "));
        self.facts.push(Record::Tls(TlsFact {
            target,
            port: p.port,
            sni: None,
            starttls: None,
            speaks_tls: true,
            plaintext: None,
            versions,
            refused,
            chain_truncated: !chain.is_empty(),
            chain,
            ocsp_stapled: None,
            error,
            at: String::new(),
        }));
    }

    /// A suite by nmap's name; `None`, remembered for a warning, when the
    /// registry knows no such name.
    fn suite(&mut self, name: &str) -> Option<TlsSuite> {
        let codes = self.suite_codes.get_or_insert_with(|| {
            (0..=u16::MAX).filter_map(|c| crate::tls::names::iana_name(c).map(|n| (n, c))).collect()
        });
        // nmap names TLS 1.3's suites as its drafts did.
        let iana = name.replacen("TLS_AKE_WITH_", "TLS_", 1);
        match codes.get(iana.as_str()) {
            Some(&code) => Some(TlsSuite { code: format!("0x{code:04X}"), name: Some(iana) }),
            None => {
                self.unknown_suites.insert(cut(&printable_banner(name.as_bytes())));
                None
            }
        }
    }

    /// Writes ports nmap folded into one state and reason; `false` when
    /// the state is not imported (so the ports stay unaccounted).
    fn folded(
        &mut self,
        addr: IpAddr,
        proto: Proto,
        state: &str,
        reason: &str,
        ports: &PortSet,
    ) -> bool {
        if ports.is_empty() {
            return true;
        }
        let Some(state) = self.state(state, proto) else { return false };
        let reason = self.reason(reason, state, proto, addr);
        let silent = matches!(
            (proto, state),
            (Proto::Tcp, PortState::Filtered) | (Proto::Udp, PortState::OpenFiltered)
        );
        if silent {
            match state {
                PortState::Filtered => self.counts.filtered += u64::from(ports.len()),
                _ => self.counts.open_filtered += u64::from(ports.len()),
            }
            for line in FilteredSummary::from_ports(addr, proto, ports.iter(), 1, reason) {
                self.facts.push(Record::Filtered(line));
            }
        } else {
            for port in ports.iter() {
                self.port(addr, proto, port, state, reason, None);
            }
        }
        true
    }

    fn port(
        &mut self,
        target: IpAddr,
        proto: Proto,
        port: u16,
        state: PortState,
        reason: Reason,
        banner: Option<String>,
    ) {
        match state {
            PortState::Open => self.counts.open += 1,
            PortState::Closed => self.counts.closed += 1,
            PortState::Filtered => self.counts.filtered += 1,
            PortState::OpenFiltered => self.counts.open_filtered += 1,
        }
        self.facts.push(Record::Port(PortFact {
            target,
            proto,
            port,
            state,
            reason,
            attempts: 1,
            rtt_us: None,
            banner,
            // Set to the run's start by `observations`.
            at: String::new(),
        }));
    }

    /// nmap's state as the format's; `None` for one not imported.
    fn state(&mut self, state: &str, proto: Proto) -> Option<PortState> {
        match (state, proto) {
            ("open", _) => Some(PortState::Open),
            ("closed", _) => Some(PortState::Closed),
            ("filtered" | "closed|filtered", _) => Some(PortState::Filtered),
            ("open|filtered", Proto::Udp) => Some(PortState::OpenFiltered),
            // A TCP FIN, NULL, Xmas or Maimon scan's silence: as the
            // format has no open|filtered for TCP, the weaker claim.
            ("open|filtered", Proto::Tcp) => Some(PortState::Filtered),
            _ => {
                self.unknown_states.insert(state.chars().take(32).collect());
                None
            }
        }
    }

    /// nmap's reason as the format's.
    fn reason(&mut self, reason: &str, state: PortState, proto: Proto, addr: IpAddr) -> Reason {
        let icmp = |v4: u8, v6: u8| {
            if addr.is_ipv4() {
                Reason::IcmpUnreachable { icmp_type: 3, code: v4 }
            } else {
                Reason::IcmpUnreachable { icmp_type: 1, code: v6 }
            }
        };
        match reason {
            "syn-ack" if self.connect => Reason::Connected,
            "syn-ack" => Reason::SynAck,
            "conn-refused" => Reason::ConnRefused,
            "reset" => Reason::Rst,
            "no-response" => Reason::NoResponse,
            "udp-response" => Reason::UdpResponse,
            "port-unreach" => Reason::PortUnreachable,
            "net-unreach" => icmp(0, 0),
            "host-unreach" => icmp(1, 3),
            "proto-unreach" => icmp(2, 2),
            "net-prohibited" => icmp(9, 1),
            "host-prohibited" => icmp(10, 1),
            "admin-prohibited" => icmp(13, 1),
            other => {
                if !other.is_empty() {
                    self.unknown_reasons.insert(other.chars().take(32).collect());
                }
                match (state, proto) {
                    (PortState::Open, Proto::Tcp) if self.connect => Reason::Connected,
                    (PortState::Open, Proto::Tcp) => Reason::SynAck,
                    (PortState::Open, Proto::Udp) => Reason::UdpResponse,
                    (PortState::Closed, Proto::Tcp) if self.connect => Reason::ConnRefused,
                    (PortState::Closed, Proto::Tcp) => Reason::Rst,
                    (PortState::Closed, Proto::Udp) => Reason::PortUnreachable,
                    _ => Reason::NoResponse,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

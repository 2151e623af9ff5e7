//! The zone-to-zone matrix of the HTML report, derived from a `Document`
//! alone: a row per vantage judged (the zone it probes from), a column per
//! target group (each declared host, then each zone's other addresses,
//! grouped by zone), and in each cell what the intent says from the row's
//! zone to the column and the state the findings give it.
//!
//! A cell's state is the worst of its port findings (`exposure` and
//! `undeclared-host`, then `unreachable`, then `deny-mode`), counting only
//! unwaived ones. A host with no unwaived port deviation whose TLS or DNS
//! findings from that vantage (`tls-*`, `dns-*`, or its endpoint left
//! unjudged, a `scan-incomplete` naming it) are not all waived is
//! `service`: a green tick there would hide a TLS 1.0 endpoint or an open
//! resolver. A cell whose findings are all waived is `waived`; one the
//! verdict did not check (a vantage without observations, a group the
//! scan excluded, a group without findings from a vantage whose scan left
//! probes unconcluded) is `not checked`, never `conforms`, unless the
//! host's TLS or DNS is off policy (`service`, saying its ports were not
//! all probed). Waiver findings, a vantage's own completeness, and TLS or
//! DNS findings on an address that has no column (no declared host, or a
//! host in a source-only zone or in none) belong to no cell: the findings
//! list has them.
//!
//! Pure: it reads the document's `checks` (`CheckKind::Target`, each with
//! its `CheckTarget`), `vantage_zones` and the findings' rule, vantage and
//! host, nothing else.

use std::collections::{HashMap, HashSet};

use super::document::{Check, CheckKind, CheckTarget, Document, Finding, Rule};

/// The state of a cell. Declared in alphabetical order; `LEGEND` is the
/// legend's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Every port observed as the intent says.
    Conforms,
    /// Denied ports refused where the spec wants them dropped, or dropped
    /// where it wants them refused (`deny-mode`).
    DenyMode,
    /// Something is reachable that should not be (`exposure`,
    /// `undeclared-host`).
    Exposure,
    /// Not judged: no observations from the vantage, or the group was
    /// excluded from the scan.
    NotChecked,
    /// No unwaived port deviation, but the host's TLS or DNS is not as
    /// the policy says, or could not be judged.
    Service,
    /// An intended flow failed (`unreachable`).
    Unreachable,
    /// Every finding here is covered by a waiver.
    Waived,
}

impl State {
    /// Every state, in the legend's order.
    pub const LEGEND: [Self; 7] = [
        Self::Conforms,
        Self::Exposure,
        Self::Unreachable,
        Self::DenyMode,
        Self::Service,
        Self::Waived,
        Self::NotChecked,
    ];

    /// The class and `data-state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conforms => "conforms",
            Self::DenyMode => "deny-mode",
            Self::Exposure => "exposure",
            Self::NotChecked => "not-checked",
            Self::Service => "service",
            Self::Unreachable => "unreachable",
            Self::Waived => "waived",
        }
    }

    /// What people read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Conforms => "conforms",
            Self::DenyMode => "wrong deny mode",
            Self::Exposure => "exposure",
            Self::NotChecked => "not checked",
            Self::Service => "TLS/DNS policy",
            Self::Unreachable => "unreachable",
            Self::Waived => "waived",
        }
    }

    /// The symbol that tells the state without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Conforms => "\u{2713}",   // ✓
            Self::DenyMode => "\u{2260}",   // ≠
            Self::Exposure => "\u{2717}",   // ✗
            Self::NotChecked => "\u{2013}", // –
            Self::Service => "!",
            Self::Unreachable => "\u{26a0}", // ⚠
            Self::Waived => "~",
        }
    }

    /// What the state means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Conforms => "observed as intended",
            Self::DenyMode => "blocked, but not the way deny_mode says (drop or reject)",
            Self::Exposure => "reachable where the intent denies it",
            Self::NotChecked => "no observations, or excluded from the scan",
            Self::Service => {
                "no unwaived port deviation, but its TLS or DNS is not as the policy says, or was not judged"
            }
            Self::Unreachable => "an intended flow failed",
            Self::Waived => "deviations, each covered by an unexpired waiver",
        }
    }
}

/// A target group: a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its zone.
    pub zone: String,
    /// The declared host, or `None` for the zone's other addresses.
    pub host: Option<String>,
    /// The host's address or the zone's CIDRs.
    pub addresses: String,
}

/// A vantage: a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'d> {
    /// The vantage's name.
    pub vantage: String,
    /// Its zone, when the document says.
    pub zone: Option<String>,
    /// Whether its scan has a `scan-incomplete` finding (unwaived or not).
    pub incomplete: bool,
    /// One cell per column.
    pub cells: Vec<Cell<'d>>,
}

/// One vantage towards one target group.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell<'d> {
    /// The state.
    pub state: State,
    /// The intent towards the group, from the vantage's zone (`None` when
    /// the verdict made no check here).
    pub intent: Option<&'d CheckTarget>,
    /// Indices into `Document::findings` of the port findings that place here.
    pub findings: Vec<usize>,
    /// Indices of the host's TLS and DNS findings from the row's vantage.
    pub services: Vec<usize>,
    /// Why it was not checked, for `State::NotChecked`.
    pub why: Option<String>,
}

/// The whole matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix<'d> {
    /// Target groups, grouped by zone in the order the checks name zones,
    /// each zone's hosts before its other addresses.
    pub columns: Vec<Column>,
    /// Vantages, in `coverage.vantages` order.
    pub rows: Vec<Row<'d>>,
}

/// Why a cell of a vantage with no target checks is not checked.
const NO_OBSERVATIONS: &str = "no observations from this vantage";

/// Why a group without findings is not checked when the vantage's scan is
/// incomplete.
const UNREACHED: &str =
    "the scan from this vantage is incomplete: these addresses may not have been probed";

fn is_exposure(rule: Rule) -> bool {
    matches!(rule, Rule::Exposure | Rule::UndeclaredHost)
}

/// The state `check`'s findings give it.
fn state_of(doc: &Document, check: &Check) -> State {
    if check.skipped.is_some() && check.findings.is_empty() {
        return State::NotChecked;
    }
    let findings: Vec<_> = check.findings.iter().filter_map(|&i| doc.findings.get(i)).collect();
    let open =
        |pred: &dyn Fn(Rule) -> bool| findings.iter().any(|f| f.waived.is_none() && pred(f.rule));
    if open(&is_exposure) {
        State::Exposure
    } else if open(&|r| r == Rule::Unreachable) {
        State::Unreachable
    } else if open(&|r| r == Rule::DenyMode) {
        State::DenyMode
    } else if findings.is_empty() {
        State::Conforms
    } else {
        // Every finding here is waived (a finding of another rule never
        // belongs to a target check).
        State::Waived
    }
}

/// Whether a finding is about a host's TLS or DNS service.
fn is_service(f: &Finding) -> bool {
    f.rule.is_tls() || f.rule.is_dns() || (f.rule == Rule::ScanIncomplete && f.target.is_some())
}

/// The state of a host cell whose port state is `state`, once its TLS and
/// DNS findings are counted: unwaived ones turn `conforms`, `waived` and
/// `not checked` (a scan that left probes unconcluded, its `why` kept)
/// into `service`; waived ones turn `conforms` into `waived`. A port
/// deviation stays what it is.
fn with_services(doc: &Document, state: State, services: &[usize]) -> State {
    let found: Vec<_> = services.iter().filter_map(|&i| doc.findings.get(i)).collect();
    if found.is_empty() {
        return state;
    }
    let unwaived = found.iter().any(|f| f.waived.is_none());
    match state {
        State::Conforms | State::Waived | State::NotChecked if unwaived => State::Service,
        State::Conforms => State::Waived,
        state => state,
    }
}

/// Derives the matrix from `doc`.
pub fn derive(doc: &Document) -> Matrix<'_> {
    let targets: Vec<(&Check, &CheckTarget)> = doc
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::Target)
        .filter_map(|c| c.target.as_ref().map(|t| (c, t)))
        .collect();
    // Zones in the spec's order (a zone its hosts fill has no check of its
    // own, only its hosts'); hosts in the order they come.
    let mut zones: Vec<(usize, &str)> = Vec::new();
    let mut named: HashSet<&str> = HashSet::new();
    for (_, t) in &targets {
        if named.insert(t.zone.as_str()) {
            zones.push((t.zone_order, &t.zone));
        }
    }
    zones.sort_by_key(|&(order, _)| order);
    let zones: Vec<&str> = zones.into_iter().map(|(_, z)| z).collect();
    let mut columns: Vec<Column> = Vec::new();
    let mut seen: HashSet<(&str, Option<&str>)> = HashSet::new();
    for zone in &zones {
        let in_zone = targets.iter().filter(|(_, t)| t.zone == *zone);
        let (hosts, others): (Vec<_>, Vec<_>) = in_zone.partition(|(_, t)| t.host.is_some());
        for (_, t) in hosts.into_iter().chain(others) {
            if seen.insert((t.zone.as_str(), t.host.as_deref())) {
                columns.push(Column {
                    zone: t.zone.clone(),
                    host: t.host.clone(),
                    addresses: t.addresses.clone(),
                });
            }
        }
    }
    // Each (vantage, zone, host) check once, the first as before: the
    // matrix is built in time linear in the checks, however large the spec.
    // Each host's TLS and DNS findings, by (vantage, host).
    let mut services: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, f) in doc.findings.iter().enumerate() {
        if let (true, Some(v), Some(h)) = (is_service(f), f.vantage.as_deref(), f.host.as_deref()) {
            services.entry((v, h)).or_default().push(i);
        }
    }
    let mut by_cell: HashMap<(&str, &str, Option<&str>), (&Check, &CheckTarget)> = HashMap::new();
    for &(c, t) in &targets {
        by_cell.entry((c.vantage.as_str(), t.zone.as_str(), t.host.as_deref())).or_insert((c, t));
    }
    let rows = doc
        .coverage
        .vantages
        .iter()
        .map(|vantage| {
            let zone =
                doc.vantage_zones.iter().find(|v| &v.vantage == vantage).map(|v| v.zone.clone());
            let incomplete = doc
                .findings
                .iter()
                .any(|f| f.rule == Rule::ScanIncomplete && f.vantage.as_ref() == Some(vantage));
            // Probes of this vantage went unconcluded (its own
            // `scan-incomplete`, not an endpoint's): a group without a
            // finding may be one it never reached, so it is not shown as
            // conforming.
            let unreached = doc.findings.iter().any(|f| {
                f.rule == Rule::ScanIncomplete
                    && f.target.is_none()
                    && f.vantage.as_ref() == Some(vantage)
            });
            let cells = columns
                .iter()
                .map(|col| {
                    let found =
                        by_cell.get(&(vantage.as_str(), col.zone.as_str(), col.host.as_deref()));
                    match found {
                        None => Cell {
                            state: State::NotChecked,
                            intent: None,
                            findings: Vec::new(),
                            services: Vec::new(),
                            why: Some(NO_OBSERVATIONS.to_owned()),
                        },
                        Some(&(check, target)) => {
                            let services = col
                                .host
                                .as_deref()
                                .and_then(|h| services.get(&(vantage.as_str(), h)))
                                .cloned()
                                .unwrap_or_default();
                            let (state, why) = match state_of(doc, check) {
                                State::NotChecked => (State::NotChecked, check.skipped.clone()),
                                State::Conforms if unreached => {
                                    (State::NotChecked, Some(UNREACHED.to_owned()))
                                }
                                state => (state, None),
                            };
                            let state = with_services(doc, state, &services);
                            Cell {
                                state,
                                intent: Some(target),
                                findings: check.findings.clone(),
                                services,
                                why,
                            }
                        }
                    }
                })
                .collect();
            Row { vantage: vantage.clone(), zone, incomplete, cells }
        })
        .collect();
    Matrix { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::{
        Coverage, Finding, Intended, Severity, SpecLocation, Tool, VantageZone,
    };

    fn finding(rule: Rule, vantage: &str, target: &str, waived: Option<&str>) -> Finding {
        Finding {
            rule,
            severity: Severity::High,
            vantage: Some(vantage.to_owned()),
            target: Some(target.to_owned()),
            host: None,
            port: Some(22),
            proto: Some(crate::report::document::Proto::Tcp),
            expected: "denied".into(),
            observed: "open".into(),
            evidence: "e".into(),
            waived: waived.map(str::to_owned),
            location: SpecLocation { file: "s.yaml".into(), line: 3, column: 1 },
        }
    }

    fn target(vantage: &str, zone: &str, host: Option<&str>, findings: &[usize]) -> Check {
        Check {
            vantage: vantage.to_owned(),
            kind: CheckKind::Target,
            name: String::new(),
            findings: findings.to_vec(),
            skipped: None,
            target: Some(CheckTarget {
                zone: zone.to_owned(),
                zone_order: match zone {
                    "dmz" => 0,
                    "app" => 1,
                    _ => 2,
                },
                host: host.map(str::to_owned),
                addresses: "198.18.10.10".into(),
                intended: vec![Intended {
                    flow: 1,
                    allow: true,
                    services: "https".into(),
                    ports: "tcp/443".into(),
                    required: true,
                }],
                default_deny: true,
            }),
        }
    }

    fn doc(vantages: &[&str], findings: Vec<Finding>, checks: Vec<Check>) -> Document {
        Document {
            tool: Tool { name: "vantage".into(), version: "0".into() },
            spec: "s.yaml".into(),
            generated: "2026-03-02T00:00:00.000Z".into(),
            coverage: Coverage {
                vantages: vantages.iter().map(|v| (*v).to_owned()).collect(),
                probes_sent: 1,
                incomplete: 0,
                excluded_addresses: 0,
                excluded_probes: 0,
            },
            findings,
            checks,
            vantage_zones: vec![VantageZone { vantage: "out".into(), zone: "internet".into() }],
            spec_lines: std::collections::BTreeMap::new(),
        }
    }

    /// (row, column label, state) for every cell.
    fn cells(m: &Matrix<'_>) -> Vec<(String, String, State)> {
        let mut out = Vec::new();
        for r in &m.rows {
            for (c, cell) in m.columns.iter().zip(&r.cells) {
                let col = format!("{}/{}", c.zone, c.host.as_deref().unwrap_or("*"));
                out.push((r.vantage.clone(), col, cell.state));
            }
        }
        out
    }

    fn check(m: &Matrix<'_>, expected: &[(&str, &str, State)]) {
        let want: Vec<(String, String, State)> =
            expected.iter().map(|(r, c, s)| ((*r).to_owned(), (*c).to_owned(), *s)).collect();
        assert_eq!(cells(m), want);
    }

    #[test]
    fn states_come_from_the_worst_unwaived_finding() {
        let findings = vec![
            finding(Rule::Unreachable, "out", "198.18.10.10", None),
            finding(Rule::Exposure, "out", "198.18.10.10", None),
            finding(Rule::DenyMode, "out", "198.18.10.11", None),
            finding(Rule::Exposure, "out", "198.18.10.12", Some("CHG-1")),
            finding(Rule::Exposure, "out", "198.18.10.13", Some("CHG-1")),
            finding(Rule::Unreachable, "out", "198.18.10.13", None),
            finding(Rule::UndeclaredHost, "out", "198.18.10.99", None),
        ];
        let checks = vec![
            target("out", "dmz", Some("a"), &[0, 1]),
            target("out", "dmz", Some("b"), &[2]),
            target("out", "dmz", Some("c"), &[3]),
            target("out", "dmz", Some("d"), &[4, 5]),
            target("out", "dmz", None, &[6]),
            target("out", "app", Some("e"), &[]),
        ];
        let d = doc(&["out"], findings, checks);
        let m = derive(&d);
        check(
            &m,
            &[
                ("out", "dmz/a", State::Exposure),
                ("out", "dmz/b", State::DenyMode),
                ("out", "dmz/c", State::Waived),
                ("out", "dmz/d", State::Unreachable),
                ("out", "dmz/*", State::Exposure),
                ("out", "app/e", State::Conforms),
            ],
        );
        assert_eq!(m.rows[0].zone.as_deref(), Some("internet"));
        assert_eq!(m.rows[0].cells[0].findings, vec![0, 1]);
        assert_eq!(m.rows[0].cells[0].intent.map(|t| t.intended.len()), Some(1));
    }

    #[test]
    fn columns_group_hosts_before_their_zone_in_the_zone_order() {
        // The verdict lists hosts (spec order) before zones.
        let checks = vec![
            target("out", "data", Some("db"), &[]),
            target("out", "dmz", Some("web"), &[]),
            target("out", "dmz", None, &[]),
            target("out", "data", None, &[]),
        ];
        let d = doc(&["out"], Vec::new(), checks);
        let cols: Vec<String> = derive(&d)
            .columns
            .iter()
            .map(|c| format!("{}/{}", c.zone, c.host.as_deref().unwrap_or("*")))
            .collect();
        assert_eq!(cols, ["dmz/web", "dmz/*", "data/db", "data/*"]);
    }

    #[test]
    fn a_vantage_without_checks_and_an_excluded_group_are_not_checked() {
        let mut skipped = target("out", "dmz", None, &[]);
        skipped.skipped = Some("excluded from the scan".into());
        let checks = vec![target("out", "dmz", Some("web"), &[]), skipped];
        let mut findings = vec![finding(Rule::ScanIncomplete, "gone", "-", None)];
        findings[0].target = None;
        let d = doc(&["gone", "out"], findings, checks);
        let m = derive(&d);
        check(
            &m,
            &[
                ("gone", "dmz/web", State::NotChecked),
                ("gone", "dmz/*", State::NotChecked),
                ("out", "dmz/web", State::Conforms),
                ("out", "dmz/*", State::NotChecked),
            ],
        );
        assert!(m.rows[0].incomplete && !m.rows[1].incomplete);
        assert_eq!(m.rows[0].zone, None, "the document does not say where `gone` is");
        assert_eq!(m.rows[0].cells[0].why.as_deref(), Some(NO_OBSERVATIONS));
        assert_eq!(m.rows[1].cells[1].why.as_deref(), Some("excluded from the scan"));
    }

    #[test]
    fn no_target_checks_no_columns() {
        let d = doc(&["out"], Vec::new(), Vec::new());
        let m = derive(&d);
        assert!(m.columns.is_empty());
        assert_eq!(m.rows.len(), 1);
    }

    #[test]
    fn an_incomplete_scan_leaves_its_finding_less_groups_not_checked() {
        let checks =
            vec![target("out", "dmz", Some("a"), &[0]), target("out", "dmz", Some("b"), &[])];
        let exposed = finding(Rule::Exposure, "out", "198.18.10.10", None);
        // An endpoint's scan-incomplete (a TLS chain unread) leaves a
        // group without findings conforming.
        let mut endpoint = finding(Rule::ScanIncomplete, "out", "198.18.10.11", None);
        endpoint.port = Some(443);
        let d = doc(&["out"], vec![exposed.clone(), endpoint], checks.clone());
        check(&derive(&d), &[("out", "dmz/a", State::Exposure), ("out", "dmz/b", State::Conforms)]);
        // The vantage's own (probes unconcluded) does not; what was seen stays.
        let mut unconcluded = finding(Rule::ScanIncomplete, "out", "-", None);
        unconcluded.target = None;
        unconcluded.port = None;
        let d = doc(&["out"], vec![exposed, unconcluded], checks);
        let m = derive(&d);
        check(&m, &[("out", "dmz/a", State::Exposure), ("out", "dmz/b", State::NotChecked)]);
        assert_eq!(m.rows[0].cells[1].why.as_deref(), Some(UNREACHED));
        assert!(m.rows[0].incomplete);
    }

    #[test]
    fn a_host_reachable_as_intended_with_tls_or_dns_findings_is_service() {
        let service = |rule: Rule, host: &str, waived: Option<&str>| {
            let mut f = finding(rule, "out", "198.18.10.10", waived);
            f.host = Some(host.to_owned());
            f
        };
        let findings = vec![
            service(Rule::TlsProtocol, "a", None),
            service(Rule::DnsOpenRecursion, "b", Some("CHG-2")),
            finding(Rule::Exposure, "out", "198.18.10.12", None),
            service(Rule::TlsCertExpired, "c", None),
            service(Rule::ScanIncomplete, "d", None),
            // Another vantage's finding on a: not this row's.
            {
                let mut f = service(Rule::DnsMismatch, "a", None);
                f.vantage = Some("in".into());
                f
            },
        ];
        let checks = vec![
            target("out", "dmz", Some("a"), &[]),
            target("out", "dmz", Some("b"), &[]),
            target("out", "dmz", Some("c"), &[2]),
            target("out", "dmz", Some("d"), &[]),
            target("out", "dmz", Some("e"), &[]),
        ];
        let d = doc(&["out"], findings, checks);
        let m = derive(&d);
        check(
            &m,
            &[
                ("out", "dmz/a", State::Service),
                ("out", "dmz/b", State::Waived),
                ("out", "dmz/c", State::Exposure),
                ("out", "dmz/d", State::Service),
                ("out", "dmz/e", State::Conforms),
            ],
        );
        let services: Vec<&[usize]> =
            m.rows[0].cells.iter().map(|c| c.services.as_slice()).collect();
        assert_eq!(services, [&[0][..], &[1], &[3], &[4], &[]]);
        assert_eq!(m.rows[0].cells[2].findings, vec![2], "port findings stay apart");

        // A scan that left probes unconcluded: a host with only waived TLS
        // or DNS findings is not checked, as one with none; one with an
        // unwaived one is `service`, still saying why its ports may not
        // all have been probed.
        let mut unconcluded = finding(Rule::ScanIncomplete, "out", "-", None);
        unconcluded.target = None;
        unconcluded.port = None;
        let mut d = d;
        d.findings.push(unconcluded);
        let m = derive(&d);
        check(
            &m,
            &[
                ("out", "dmz/a", State::Service),
                ("out", "dmz/b", State::NotChecked),
                ("out", "dmz/c", State::Exposure),
                ("out", "dmz/d", State::Service),
                ("out", "dmz/e", State::NotChecked),
            ],
        );
        assert_eq!(m.rows[0].cells[0].why.as_deref(), Some(UNREACHED));
    }
}

//! The wire formats vantage prints: the findings document (`--format json`
//! of `check` and `verdict`), the lint report, the plan summary, and the
//! plan's probe lines. These types are the contract: their JSON Schemas are
//! generated from them (`specs/findings.schema.json`), and a test fails when
//! the checked-in schema drifts.
//!
//! Invariant: this is the only module of the library, with `spec::raw`,
//! that derives serde; field names here are public API.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

/// The findings document: what `--format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "vantage findings")]
pub struct Document {
    /// The tool that made the document.
    pub tool: Tool,
    /// The spec file the findings are held against.
    pub spec: String,
    /// When the verdict was made (RFC 3339, UTC).
    pub generated: String,
    /// What was probed.
    pub coverage: Coverage,
    /// Every difference between intent and observation.
    pub findings: Vec<Finding>,
    /// What was checked, for renderers that list passing checks too
    /// (JUnit). Not part of the JSON contract.
    #[serde(skip)]
    pub checks: Vec<Check>,
    /// Each vantage judged and its zone, in `coverage.vantages` order: the
    /// rows of the HTML report's matrix. Not part of the JSON contract.
    #[serde(skip)]
    pub vantage_zones: Vec<VantageZone>,
    /// The text of spec lines, keyed by file and 1-based line, for
    /// renderers that quote the line a finding points at (HTML). Filled by
    /// the caller, which reads files (the CLI); empty otherwise. Not part
    /// of the JSON contract.
    #[serde(skip)]
    pub spec_lines: BTreeMap<(String, u32), String>,
}

/// A vantage and the zone it probes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VantageZone {
    /// The vantage's name.
    pub vantage: String,
    /// Its zone's name.
    pub zone: String,
}

/// One thing the verdict checked from one vantage: an intended flow, a
/// target group, the scan's completeness, or the waivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The vantage (empty for spec-level checks such as waivers).
    pub vantage: String,
    /// What kind of check.
    pub kind: CheckKind,
    /// Its name, for people (`flow #2 (app -> dmz: allow ssh)`, `host web (198.18.10.10)`).
    pub name: String,
    /// Indices into `Document::findings` of the findings that concern it.
    pub findings: Vec<usize>,
    /// Why it was not checked, when it was not: every address it concerns
    /// was excluded from the scan (`--exclude`), so it neither passes nor
    /// fails.
    pub skipped: Option<String>,
    /// For a `Target` check: where the target group is and what the
    /// intent says there from the vantage's zone (a cell of the HTML
    /// report's matrix); `None` for other kinds.
    pub target: Option<CheckTarget>,
}

/// The target group of a `Target` check, and the intent towards it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckTarget {
    /// The zone the group is in.
    pub zone: String,
    /// The zone's position in the spec (`usize::MAX` for a host in no
    /// zone): the matrix's column order.
    pub zone_order: usize,
    /// The declared host, or `None` for the zone's other addresses.
    pub host: Option<String>,
    /// The host's address, or the zone's CIDRs.
    pub addresses: String,
    /// Every flow from the vantage's zone to the group, in spec order.
    pub intended: Vec<Intended>,
    /// `default: deny`: an open port no flow allows is an exposure.
    pub default_deny: bool,
}

/// One flow as a `CheckTarget` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intended {
    /// 1-based position in the spec's `flows`.
    pub flow: usize,
    /// Whether the flow allows (else it denies).
    pub allow: bool,
    /// Its services' names, comma-separated.
    pub services: String,
    /// Its ports: `tcp/22,443 udp/53`.
    pub ports: String,
    /// For an allow: whether it must be reachable (`require: reachable`).
    pub required: bool,
}

/// Kinds of `Check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// An intended flow whose source covers the vantage's zone.
    Flow,
    /// The scan from a vantage concluded every planned probe.
    Scan,
    /// A declared host or a zone's other addresses.
    Target,
    /// A TLS endpoint that was probed, against its policy.
    Tls,
    /// A DNS expectation or forbidden behaviour.
    Dns,
    /// The spec's waivers.
    Waivers,
}

/// Name and version of the tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Tool {
    /// Always `vantage`.
    pub name: String,
    /// The tool's version.
    pub version: String,
}

/// How much was observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Coverage {
    /// Vantages judged: those whose observations were used, and those
    /// expected but absent (each a `scan-incomplete` finding).
    pub vantages: Vec<String>,
    /// Probes sent.
    pub probes_sent: u64,
    /// Planned probes without a conclusive observation.
    pub incomplete: u64,
    /// Addresses the scans excluded (`--exclude`): never probed, so
    /// nothing about them was judged. Absent when nothing was excluded.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub excluded_addresses: u64,
    /// Probes the exclusions took out of the plans, likewise.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub excluded_probes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Finding rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs, reason = "the rule names are documented in DESIGN.md and the README")]
pub enum Rule {
    DenyMode,
    DnsAxfr,
    DnsDanglingCname,
    DnsLeak,
    DnsMismatch,
    DnsOpenRecursion,
    Exposure,
    ScanIncomplete,
    TlsCertExpired,
    TlsCertExpiring,
    TlsCertHostname,
    TlsCertUntrusted,
    TlsCertWeakKey,
    TlsCertWeakSignature,
    TlsCipher,
    TlsMissing,
    TlsProtocol,
    UndeclaredHost,
    Unreachable,
    WaiverExpired,
    WaiverUnused,
}

/// Finding severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs, reason = "self-describing")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// Transport protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs, reason = "self-describing")]
pub enum Proto {
    Tcp,
    Udp,
}

/// One difference between intent and observation.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Finding {
    /// Which rule found it.
    pub rule: Rule,
    /// How bad it is.
    pub severity: Severity,
    /// The vantage it was observed from (null for spec-level findings such as `waiver-unused`).
    pub vantage: Option<String>,
    /// The probed address.
    pub target: Option<String>,
    /// The declared host at that address.
    pub host: Option<String>,
    /// The port, where one applies.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// The protocol, where a port applies.
    pub proto: Option<Proto>,
    /// What the intent says.
    pub expected: String,
    /// What was observed.
    pub observed: String,
    /// What was sent, what came back, and when.
    pub evidence: String,
    /// The id of the unexpired waiver covering this finding.
    pub waived: Option<String>,
    /// The line of the spec that made the expectation: the flow, host,
    /// zone, vantage or waiver the finding concerns. SARIF points code
    /// scanning here; it is never part of a finding's identity.
    pub location: SpecLocation,
}

/// A place in a spec file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub struct SpecLocation {
    /// The spec file (or included file), as the user named it.
    pub file: String,
    /// 1-based line; 0 when the finding concerns the file as a whole.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
}

impl From<&crate::spec::Location> for SpecLocation {
    fn from(l: &crate::spec::Location) -> Self {
        Self { file: l.file.to_string(), line: l.line, column: l.column }
    }
}

impl Rule {
    /// Every rule, in the order above.
    pub const ALL: [Self; 21] = [
        Self::DenyMode,
        Self::DnsAxfr,
        Self::DnsDanglingCname,
        Self::DnsLeak,
        Self::DnsMismatch,
        Self::DnsOpenRecursion,
        Self::Exposure,
        Self::ScanIncomplete,
        Self::TlsCertExpired,
        Self::TlsCertExpiring,
        Self::TlsCertHostname,
        Self::TlsCertUntrusted,
        Self::TlsCertWeakKey,
        Self::TlsCertWeakSignature,
        Self::TlsCipher,
        Self::TlsMissing,
        Self::TlsProtocol,
        Self::UndeclaredHost,
        Self::Unreachable,
        Self::WaiverExpired,
        Self::WaiverUnused,
    ];

    /// Whether it is one of the TLS rules (`tls-*`).
    pub fn is_tls(self) -> bool {
        self.as_str().starts_with("tls-")
    }

    /// Whether it is one of the DNS rules (`dns-*`).
    pub fn is_dns(self) -> bool {
        self.as_str().starts_with("dns-")
    }

    /// The kebab-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DenyMode => "deny-mode",
            Self::DnsAxfr => "dns-axfr",
            Self::DnsDanglingCname => "dns-dangling-cname",
            Self::DnsLeak => "dns-leak",
            Self::DnsMismatch => "dns-mismatch",
            Self::DnsOpenRecursion => "dns-open-recursion",
            Self::Exposure => "exposure",
            Self::ScanIncomplete => "scan-incomplete",
            Self::TlsCertExpired => "tls-cert-expired",
            Self::TlsCertExpiring => "tls-cert-expiring",
            Self::TlsCertHostname => "tls-cert-hostname",
            Self::TlsCertUntrusted => "tls-cert-untrusted",
            Self::TlsCertWeakKey => "tls-cert-weak-key",
            Self::TlsCertWeakSignature => "tls-cert-weak-signature",
            Self::TlsCipher => "tls-cipher",
            Self::TlsMissing => "tls-missing",
            Self::TlsProtocol => "tls-protocol",
            Self::UndeclaredHost => "undeclared-host",
            Self::Unreachable => "unreachable",
            Self::WaiverExpired => "waiver-expired",
            Self::WaiverUnused => "waiver-unused",
        }
    }
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Self; 5] = [Self::Info, Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl From<crate::spec::intent::Severity> for Severity {
    fn from(s: crate::spec::intent::Severity) -> Self {
        use crate::spec::intent::Severity as S;
        match s {
            S::Info => Self::Info,
            S::Low => Self::Low,
            S::Medium => Self::Medium,
            S::High => Self::High,
            S::Critical => Self::Critical,
        }
    }
}

impl Proto {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

impl Finding {
    /// `tcp/22`, or an empty string for a finding without a port.
    pub fn port_text(&self) -> String {
        match (self.proto, self.port) {
            (Some(p), Some(n)) => format!("{}/{n}", p.as_str()),
            _ => String::new(),
        }
    }
}

/// `vantage compare --format json`: what changed between two scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// The tool that made the document.
    pub tool: Tool,
    /// The older observation file.
    pub old: String,
    /// The newer observation file.
    pub new: String,
    /// The spec the changes are held against, if one was given.
    pub spec: Option<String>,
    /// Every change, ordered by vantage, address, protocol and port.
    pub changes: Vec<Change>,
}

/// One difference between two scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The vantage both scans ran from.
    pub vantage: String,
    /// The address.
    pub target: String,
    /// The declared host there, when a spec was given.
    pub host: Option<String>,
    /// The protocol (null for host changes).
    pub proto: Option<Proto>,
    /// The port (null for host changes).
    pub port: Option<u16>,
    /// `opened`, `closed`, `filtered`, `open|filtered`, `unobserved`,
    /// `new-host` or `vanished-host`; for a TLS endpoint probed by both
    /// scans, `tls-answer` (TLS, plaintext or no answer), `tls-version-accepted`,
    /// `tls-version-refused`, `tls-suite-accepted`, `tls-suite-refused`
    /// (`TLSv1.2 TLS_RSA_WITH_3DES_EDE_CBC_SHA`) or `tls-certificate` (a
    /// new leaf, by its SHA-256); `dns-answer` for a DNS question both
    /// scans asked one server, answered differently.
    pub change: String,
    /// The state before (`open`, `closed`, `filtered`, `open|filtered`;
    /// null when not observed; for hosts, `up` or `down`).
    pub before: Option<String>,
    /// The state after.
    pub after: Option<String>,
    /// With a spec: `towards` the intent, `away` from it, or `neutral`.
    pub intent: Option<String>,
    /// What the spec expects there, with a spec.
    pub expected: Option<String>,
}

/// `vantage lint --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// The spec file.
    pub spec: String,
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Every diagnostic, in file order.
    pub diagnostics: Vec<LintDiagnostic>,
}

/// One diagnostic of `LintReport`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintDiagnostic {
    /// `error` or `warning`.
    pub severity: &'static str,
    /// Stable kebab-case code.
    pub code: &'static str,
    /// File.
    pub file: String,
    /// 1-based line (0: the whole file).
    pub line: u32,
    /// 1-based column (0: the whole file).
    pub column: u32,
    /// The offending value, as written.
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What would have been accepted.
    pub expected: Option<String>,
}

impl From<&crate::spec::Diagnostic> for LintDiagnostic {
    fn from(d: &crate::spec::Diagnostic) -> Self {
        Self {
            severity: d.severity.as_str(),
            code: d.code,
            file: d.location.file.to_string(),
            line: d.location.line,
            column: d.location.column,
            value: d.value.clone(),
            message: d.message.clone(),
            expected: d.expected.clone(),
        }
    }
}

/// `vantage plan --format json` (without `--list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSummary {
    /// The spec file.
    pub spec: String,
    /// The vantage.
    pub vantage: String,
    /// The vantage's zone.
    pub zone: String,
    /// Seed of the probe order.
    pub seed: u64,
    /// `K/N`.
    pub shard: String,
    /// Probes in this shard.
    pub probes: u64,
    /// Probes in all shards.
    pub probes_total: u64,
    /// Addresses probed.
    pub addresses: u64,
    /// TCP ports probed on every target (the sweep), nmap `-p` syntax.
    pub sweep_tcp: String,
    /// UDP ports probed on every target (the sweep).
    pub sweep_udp: String,
    /// Target groups.
    pub targets: Vec<PlanTarget>,
    /// Flows this vantage can confirm.
    pub flows: Vec<PlanFlow>,
    /// Zones never probed.
    pub not_probed: Vec<String>,
    /// Rate the estimate assumes, in probes per second.
    pub rate: u32,
    /// Estimated seconds of sending at that rate.
    pub estimated_seconds: f64,
    /// What `--exclude` left out (only with `--exclude`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<ExcludedSummary>,
}

/// The most CIDRs a plan summary or an audit line lists in one list (it
/// counts them all).
pub const LISTED_CIDRS: usize = 256;

/// What exclusions (`--exclude`) left out of a plan or run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExcludedSummary {
    /// The exclusion file, as given.
    pub file: String,
    /// Networks in it, merged.
    pub networks: u64,
    /// The merged networks, at most [`LISTED_CIDRS`] of them.
    pub cidrs: Vec<String>,
    /// `sha256:` over the merged list, one CIDR a line.
    pub digest: String,
    /// Addresses of the plan left out (all shards).
    pub addresses: u64,
    /// Probes of the plan left out (all shards).
    pub probes: u64,
}

impl ExcludedSummary {
    /// What `exclusions` (read from `file`) are, and what they took out of
    /// a plan (`left_out`).
    pub fn of(
        exclusions: &crate::plan::Exclusions,
        file: &str,
        left_out: crate::plan::Excluded,
    ) -> Self {
        let networks = exclusions.networks();
        Self {
            file: file.to_owned(),
            networks: networks.len() as u64,
            cidrs: networks.iter().take(LISTED_CIDRS).map(ToString::to_string).collect(),
            digest: exclusions.digest(),
            addresses: u64::try_from(left_out.addresses).unwrap_or(u64::MAX),
            probes: u64::try_from(left_out.probes).unwrap_or(u64::MAX),
        }
    }
}

/// One line of an audit log (`--audit-log FILE` of `scan`, `check` and
/// `agent`): a run's `start` (written before the first probe), its `end`
/// (both times and the exit code), a run `refused` before it probed
/// anything, or (`agent`) a `plan` a controller sent and the agent
/// accepted, before its first probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// `start`, `end`, `refused` or `plan`.
    pub event: &'static str,
    /// 16 hex digits, the same on a run's start and end lines.
    pub run: String,
    /// `vantage`.
    pub tool: &'static str,
    /// The tool's version.
    pub version: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// When it ended (RFC 3339, UTC); `null` on a start line.
    pub ended: Option<String>,
    /// Who ran it.
    pub user: AuditUser,
    /// The machine's host name (`null` when it cannot be read).
    pub host: Option<String>,
    /// The process id.
    pub pid: u32,
    /// The subcommand: `scan`, `check` or `agent`.
    pub command: &'static str,
    /// For `agent`: the controller whose plan it accepted (its
    /// certificate's name and address); `null` otherwise.
    pub controller: Option<String>,
    /// The whole command line.
    pub argv: Vec<String>,
    /// The spec file, as given.
    pub spec: String,
    /// Its digest (`null` when it was refused before loading).
    pub spec_digest: Option<String>,
    /// Each vantage the run probes from, with its scope.
    pub vantages: Vec<AuditVantage>,
    /// What `--exclude` left out (`null` without it).
    pub excluded: Option<ExcludedSummary>,
    /// `--rate`, probes per second.
    pub rate: u32,
    /// The per-host rate used, probes per second.
    pub host_rate: u32,
    /// Whether `--unsafe-rate` lifted the maximum rates.
    pub unsafe_rate: bool,
    /// `--mode` as asked: `auto`, `syn` or `connect`.
    pub mode: &'static str,
    /// The exit code; `null` on a start line.
    pub exit: Option<u8>,
    /// Why a run was refused (`refused` lines only).
    pub error: Option<String>,
}

/// Who ran a command: the process's ids, and the names they go by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditUser {
    /// The real user id (`null` when /proc cannot be read).
    pub uid: Option<u32>,
    /// The effective user id.
    pub euid: Option<u32>,
    /// The real uid's name in /etc/passwd, else `$USER` or `$LOGNAME`.
    pub name: Option<String>,
    /// `$SUDO_USER`: who ran it through sudo, if anyone.
    pub sudo_user: Option<String>,
}

impl AuditVantage {
    /// What `plan`, from the vantage `name`, may probe (`agent`: the URL
    /// of the agent that runs it, `None` for this machine).
    pub fn of_plan(plan: &crate::plan::Plan, name: &str, agent: Option<String>) -> Self {
        let scope =
            crate::plan::ranges::AddrRanges::union_of(plan.groups.iter().map(|g| &g.addresses));
        let cidrs = scope.cidrs();
        Self {
            name: name.to_owned(),
            agent,
            shard: plan.options.shard.to_string(),
            scope: cidrs.iter().take(LISTED_CIDRS).map(ToString::to_string).collect(),
            scope_cidrs: cidrs.len() as u64,
            addresses: u64::try_from(scope.len()).unwrap_or(u64::MAX),
            probes: plan.total(),
        }
    }
}

/// One vantage of an audited run and what it may probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVantage {
    /// The vantage's name.
    pub name: String,
    /// Its agent's URL; `null` for this machine.
    pub agent: Option<String>,
    /// `K/N`.
    pub shard: String,
    /// The addresses probed, as the fewest CIDRs (exclusions taken out),
    /// at most [`LISTED_CIDRS`] of them.
    pub scope: Vec<String>,
    /// How many CIDRs the scope is, listed or not.
    pub scope_cidrs: u64,
    /// Addresses in the scope.
    pub addresses: u64,
    /// Probes planned, all shards.
    pub probes: u64,
}

/// A target group of `PlanSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanTarget {
    /// `zone` or `host`.
    pub kind: &'static str,
    /// Zone or host name.
    pub name: String,
    /// The addresses as CIDRs (exact: declared hosts carved out of a zone).
    pub cidrs: Vec<String>,
    /// For a zone: its declared networks.
    pub zone_cidrs: Vec<String>,
    /// For a zone: declared hosts inside it, planned as their own targets.
    pub minus_hosts: Vec<String>,
    /// For a zone: source-only (`probe: false`) zones nested in it, never probed.
    pub minus_zones: Vec<String>,
    /// Number of addresses.
    pub addresses: u64,
    /// TCP ports probed here beyond the sweep (ports flows name for it).
    pub extra_tcp: String,
    /// UDP ports probed here beyond the sweep.
    pub extra_udp: String,
    /// Probes to this group (all shards).
    pub probes: u64,
}

/// A flow of `PlanSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanFlow {
    /// 1-based position in the spec's `flows`.
    pub index: usize,
    /// Source names.
    pub from: Vec<String>,
    /// Destination names.
    pub to: Vec<String>,
    /// `allow` or `deny`.
    pub action: &'static str,
    /// Service names.
    pub services: Vec<String>,
    /// `reachable`, `optional` or `denied`.
    pub expect: &'static str,
    /// TCP ports.
    pub tcp: String,
    /// UDP ports.
    pub udp: String,
    /// `file:line:column` of the flow.
    pub at: String,
}

/// One line of `vantage plan --list --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeLine<'a> {
    /// Address.
    pub target: String,
    /// `tcp` or `udp`.
    pub proto: &'static str,
    /// Port.
    pub port: u16,
    /// Declared host name.
    pub host: Option<&'a str>,
    /// Zone name.
    pub zone: Option<&'a str>,
}

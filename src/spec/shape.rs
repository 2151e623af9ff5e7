//! The spec's shape: typed structs that mirror the YAML, and the walk that
//! fills them from the located tree of `raw`, collecting every shape problem
//! (unknown key, wrong type, missing field) with its location.
//!
//! These structs are also the source of `specs/spec.schema.json` (schemars):
//! what the walk accepts and what the schema documents come from one place,
//! and `tests::keys_match_schema` fails if a struct's accepted keys drift from
//! its schema. Values stay unparsed strings and numbers here (a CIDR is still
//! a string); `resolve` gives them meaning.

use std::borrow::Cow;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::diag::{Diagnostic, Diags, Location, did_you_mean};
use super::raw::{Node, Value};

/// A value with the location it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct L<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub at: Location,
}

impl<T: JsonSchema> JsonSchema for L<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A mapping from names to entries, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Named<T>(pub Vec<(L<String>, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: JsonSchema> JsonSchema for Named<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Named_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$" },
            "additionalProperties": item,
        })
    }
}

/// One name or a list of names (`to: web` or `to: [web, api]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OneOrMany(pub Vec<L<String>>);

impl JsonSchema for OneOrMany {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "OneOrMany".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" }, "minItems": 1 }
            ]
        })
    }
}

/// A port or an inclusive port range: `443`, `"443"` or `"8000-8100"`.
#[derive(Debug, Clone, PartialEq)]
pub enum PortItem {
    /// A number as written.
    Number(i128),
    /// A string: a number or a range, parsed in `resolve`.
    Text(String),
}

impl JsonSchema for PortItem {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "PortItem".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": 65535 },
                { "type": "string", "pattern": "^[0-9]{1,5}(-[0-9]{1,5})?$" }
            ]
        })
    }
}

/// A version written as a number or a string (`guideline: 6.0` or
/// `"6.0"`, `min_version: 1.2`): YAML reads the bare form as a float, so
/// the text is rebuilt from it ("6.0", never "6").
#[derive(Debug, Clone, PartialEq)]
pub struct VersionText<const GUIDELINE: bool>(pub String);

/// A Mozilla guideline version.
pub type GuidelineText = VersionText<true>;
/// A TLS protocol version.
pub type TlsVersionText = VersionText<false>;

impl<const GUIDELINE: bool> JsonSchema for VersionText<GUIDELINE> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        if GUIDELINE { "GuidelineVersion".into() } else { "TlsVersion".into() }
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        if GUIDELINE {
            json_schema!({ "anyOf": [ { "enum": ["5.7", "6.0"] }, { "enum": [5.7, 6.0] } ] })
        } else {
            json_schema!({
                "anyOf": [
                    { "enum": ["SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3",
                               "1.0", "1.1", "1.2", "1.3"] },
                    { "enum": [1.0, 1.1, 1.2, 1.3] }
                ]
            })
        }
    }
}

/// A spec file: `version: 1` and the sections of the intent.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields, title = "vantage intent spec")]
pub struct RawSpec {
    /// Spec format version; must be 1.
    #[schemars(range(min = 1, max = 1), required)]
    pub version: Option<L<i128>>,
    /// A name for this network or environment, shown in reports.
    pub name: Option<L<String>>,
    /// Free text.
    pub description: Option<L<String>>,
    /// Other files (relative to this one) whose `zones`, `hosts` and `services` are merged in.
    #[schemars(default)]
    pub include: Vec<L<String>>,
    /// Segmentation units: named sets of CIDRs. Probe-able zones must not overlap.
    #[schemars(default)]
    pub zones: Named<RawZone>,
    /// Named hosts. The zone is inferred from the most specific zone CIDR when omitted.
    #[schemars(default)]
    pub hosts: Named<RawHost>,
    /// Named sets of ports.
    #[schemars(default)]
    pub services: Named<RawService>,
    /// What is allowed (or explicitly denied) between zones and hosts; all else follows `default`.
    #[schemars(default)]
    pub flows: Vec<L<RawFlow>>,
    /// `deny` (the default): an open port that no flow allows is an exposure. `allow`: only explicit denies are checked.
    #[schemars(extend("enum" = ["deny", "allow"]))]
    pub default: Option<L<String>>,
    /// How denied ports must look: `any` (default), `drop` (filtered, silent) or `reject` (closed, refused).
    #[schemars(extend("enum" = ["any", "drop", "reject"]))]
    pub deny_mode: Option<L<String>>,
    /// Places in the network probes are sent from.
    #[schemars(default)]
    pub vantages: Named<RawVantage>,
    /// Extra ports probed on every target to find unintended exposure.
    pub sweep: Option<L<RawSweep>>,
    /// TLS policies that services refer to with `tls:`.
    pub tls: Option<L<RawTls>>,
    /// DNS servers, expected records and forbidden behaviours.
    pub dns: Option<L<RawDns>>,
    /// Approved exceptions, each with an owner and an expiry date.
    #[schemars(default)]
    pub waivers: Vec<L<RawWaiver>>,
}

/// A file named by `include:`: it may only declare zones, hosts and services.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawInclude {
    /// Free text.
    pub description: Option<L<String>>,
    /// Zones, as in the main spec.
    #[schemars(default)]
    pub zones: Named<RawZone>,
    /// Hosts, as in the main spec.
    #[schemars(default)]
    pub hosts: Named<RawHost>,
    /// Services, as in the main spec.
    #[schemars(default)]
    pub services: Named<RawService>,
}

/// A zone: a named set of CIDRs.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawZone {
    /// IPv4 or IPv6 networks, e.g. `198.18.10.0/24`. A bare address means a /32 (or /128).
    pub cidrs: Vec<L<String>>,
    /// `false` makes the zone a source only, never a target (e.g. `internet`). Default `true`.
    pub probe: Option<L<bool>>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// A named host.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawHost {
    /// Its IPv4 or IPv6 address.
    pub address: L<String>,
    /// DNS names it serves (used for TLS hostname checks and DNS expectations).
    #[schemars(default)]
    pub names: Vec<L<String>>,
    /// The zone it belongs to; inferred from the most specific zone CIDR when omitted.
    pub zone: Option<L<String>>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// A named set of ports.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields, extend("dependencies" = { "starttls": ["tls"] }))]
pub struct RawService {
    /// TCP ports and ranges.
    #[schemars(default)]
    pub tcp: Vec<L<PortItem>>,
    /// UDP ports and ranges.
    #[schemars(default)]
    pub udp: Vec<L<PortItem>>,
    /// Name of the TLS policy every TCP port of this service must meet.
    pub tls: Option<L<String>>,
    /// The plaintext protocol that upgrades to TLS (STARTTLS) on this
    /// service's ports, instead of TLS from the first byte: smtp, imap,
    /// pop3 or postgres. Needs `tls`.
    #[schemars(extend("enum" = ["smtp", "imap", "pop3", "postgres"]))]
    pub starttls: Option<L<String>>,
    /// Severity of an unintended exposure of this service: info, low, medium, high or critical.
    #[schemars(extend("enum" = ["info", "low", "medium", "high", "critical"]))]
    pub severity: Option<L<String>>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// One flow rule.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawFlow {
    /// Source zones or hosts.
    pub from: OneOrMany,
    /// Destination zones or hosts.
    pub to: OneOrMany,
    /// Services allowed from `from` to `to`.
    #[schemars(default)]
    pub allow: Vec<L<String>>,
    /// Services explicitly denied; an explicit deny wins over any allow.
    #[schemars(default)]
    pub deny: Vec<L<String>>,
    /// `reachable` (default): allowed ports must be open. `optional`: they may be open.
    #[schemars(extend("enum" = ["reachable", "optional"]))]
    pub require: Option<L<String>>,
    /// Severity of a breach of this flow; overrides the service's.
    #[schemars(extend("enum" = ["info", "low", "medium", "high", "critical"]))]
    pub severity: Option<L<String>>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// A vantage point.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawVantage {
    /// The zone the vantage sits in.
    pub zone: L<String>,
    /// URL of a remote agent at this vantage (`https://host:port`).
    pub agent: Option<L<String>>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// Ports probed on every target.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawSweep {
    /// TCP ports and ranges.
    #[schemars(default)]
    pub tcp: Vec<L<PortItem>>,
    /// UDP ports and ranges.
    #[schemars(default)]
    pub udp: Vec<L<PortItem>>,
}

/// TLS section.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTls {
    /// Named policies.
    #[schemars(default)]
    pub policies: Named<RawTlsPolicy>,
}

/// A TLS policy.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTlsPolicy {
    /// Mozilla Server Side TLS profile: modern, intermediate or old (old only with guideline 5.7; 6.0 withdrew it).
    #[schemars(extend("enum" = ["modern", "intermediate", "old"]))]
    pub profile: L<String>,
    /// Whether the certificate must match the host's declared names (default true).
    pub hostname: Option<L<bool>>,
    /// PEM file of the CA(s) to trust, relative to the spec; Mozilla's root program (as compiled into vantage) when omitted.
    pub trusted_ca: Option<L<String>>,
    /// Minimum days of certificate validity left before a warning finding (default 14).
    #[schemars(range(min = 0, max = 3650))]
    pub min_days_left: Option<L<i128>>,
    /// Mozilla guideline version the profile comes from: "5.7" or "6.0" (the default, current one).
    pub guideline: Option<L<GuidelineText>>,
    /// Lowest protocol version allowed ("1.2", "TLSv1.2"); every version from it up is then allowed, replacing the profile's list.
    pub min_version: Option<L<TlsVersionText>>,
    /// Cipher suites (IANA or OpenSSL names) allowed besides, or denied despite, the profile's.
    pub ciphers: Option<L<RawTlsCiphers>>,
    /// Smallest RSA key in bits (default: the profile's, else 2048).
    #[schemars(range(min = 1024, max = 16384))]
    pub min_rsa_bits: Option<L<i128>>,
    /// Whether the endpoint must staple an OCSP response (default false).
    pub require_ocsp_staple: Option<L<bool>>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// Cipher suite overrides of a TLS policy.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTlsCiphers {
    /// Suites allowed besides the profile's (IANA or OpenSSL names).
    #[schemars(default)]
    pub allow: Vec<L<String>>,
    /// Suites denied even when the profile allows them; deny wins over allow.
    #[schemars(default)]
    pub deny: Vec<L<String>>,
}

/// DNS section.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawDns {
    /// Servers to query: IP addresses (port 53), or `address:port`
    /// (`[v6]:port` for IPv6). A server outside every probe-able zone is
    /// never asked.
    #[schemars(default)]
    pub servers: Vec<L<String>>,
    /// Expected records.
    #[schemars(default)]
    pub expect: Vec<L<RawDnsExpect>>,
    /// Forbidden behaviours: zone-transfer, open-recursion, dangling-cname.
    #[schemars(extend("items" = {"enum": ["zone-transfer", "open-recursion", "dangling-cname"]}))]
    #[schemars(default)]
    pub forbid: Vec<L<String>>,
    /// The name asked, with recursion desired, to tell whether a server
    /// recurses for anyone (`open-recursion`); default `example.com`. A
    /// name outside every zone the servers serve.
    pub recursion_name: Option<L<String>>,
}

/// One expected DNS record set.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawDnsExpect {
    /// The name to resolve.
    pub name: L<String>,
    /// Record type (default A).
    #[schemars(rename = "type")]
    #[schemars(extend("enum" = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "CAA", "PTR", "SRV", "SOA"]))]
    pub r#type: Option<L<String>>,
    /// The exact answer set expected.
    #[schemars(default)]
    pub values: Vec<L<String>>,
    /// Vantages the expectation holds from (all when omitted).
    #[schemars(default)]
    pub from: OneOrMany,
    /// `true`: the name must not resolve from these vantages (split horizon).
    pub absent: Option<L<bool>>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// An approved exception.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawWaiver {
    /// Change or ticket id, shown on waived findings.
    pub id: L<String>,
    /// Which findings it covers.
    #[schemars(rename = "match")]
    pub r#match: L<RawWaiverMatch>,
    /// Why the exception exists.
    pub reason: L<String>,
    /// Who approved it.
    pub approved_by: L<String>,
    /// Last day (UTC, inclusive) the waiver applies, as YYYY-MM-DD.
    #[schemars(extend("format" = "date"))]
    pub expires: L<String>,
    /// Free text.
    pub description: Option<L<String>>,
}

/// What a waiver covers; every given key must match, omitted keys match anything.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawWaiverMatch {
    /// A vantage (or zone) name.
    pub from: Option<L<String>>,
    /// A host or zone name.
    pub to: Option<L<String>>,
    /// `tcp/22` or `udp/161`.
    #[schemars(regex(pattern = r"^(tcp|udp)/[0-9]{1,5}$"))]
    pub port: Option<L<String>>,
    /// A finding rule, e.g. `exposure`.
    pub rule: Option<L<String>>,
}

/// Walks located nodes into the structs above, recording every problem.
pub(crate) struct Walker<'d> {
    file: Arc<str>,
    diags: &'d mut Diags,
}

/// The entries of a mapping whose keys were checked against a known set.
struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node)>,
    at: &'n Node,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl<'d> Walker<'d> {
    pub(crate) fn new(file: Arc<str>, diags: &'d mut Diags) -> Self {
        Self { file, diags }
    }

    fn at(&self, node: &Node) -> Location {
        node.at(&self.file)
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        let d =
            Diagnostic::error("wrong-type", self.at(node), format!("{what} is {}", node.kind()))
                .value(node.show())
                .expected(expected.to_owned());
        self.diags.push(d);
    }

    /// A mapping whose keys must all be in `keys`; unknown keys are reported
    /// (with a suggestion) and skipped. `required` keys must be present.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        keys: &[&str],
        required: &[&str],
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            if node.value == Value::Null && required.is_empty() {
                return Some(Fields { entries: Vec::new(), at: node });
            }
            self.wrong_type(node, what, &format!("a mapping with keys {}", keys.join(", ")));
            return None;
        };
        let mut fields = Fields { entries: Vec::new(), at: node };
        for (k, v) in entries {
            let Value::Str(name) = &k.value else {
                self.wrong_type(k, &format!("a key in {what}"), "a string key");
                continue;
            };
            if keys.contains(&name.as_str()) {
                fields.entries.push((name.as_str(), v));
            } else {
                let mut d = Diagnostic::error(
                    "unknown-key",
                    self.at(k),
                    format!("unknown key `{name}` in {what}"),
                )
                .value(name.clone());
                d = match did_you_mean(name, keys.iter().copied()) {
                    Some(s) => d.expected(format!("`{s}` (one of: {})", keys.join(", "))),
                    None => d.expected(format!("one of: {}", keys.join(", "))),
                };
                self.diags.push(d);
            }
        }
        for key in required {
            if fields.get(key).is_none() {
                let d = Diagnostic::error(
                    "missing-key",
                    self.at(node),
                    format!("{what} has no `{key}`"),
                )
                .expected(format!("the key `{key}`"));
                self.diags.push(d);
            }
        }
        Some(fields)
    }

    /// Reports `key` when it is present but null or an empty list.
    fn not_empty(&mut self, f: &Fields<'_>, key: &str, what: &str, expected: &str) {
        if let Some(n) = f.get(key)
            && is_empty(Some(n))
        {
            let d =
                Diagnostic::error("empty-list", self.at(n), format!("`{key}` of {what} is empty"))
                    .expected(expected.to_owned());
            self.diags.push(d);
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<L<String>> {
        match &node.value {
            Value::Str(s) => Some(L { value: s.clone(), at: self.at(node) }),
            // Numbers are accepted where a string is expected only for names
            // and values written bare (`id: 1042`); keep their spelling.
            Value::Int(i) => Some(L { value: i.to_string(), at: self.at(node) }),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn opt_string(&mut self, f: &Fields<'_>, key: &str, what: &str) -> Option<L<String>> {
        let node = f.get(key)?;
        self.string(node, &format!("`{key}` of {what}"))
    }

    fn req_string(&mut self, f: &Fields<'_>, key: &str, what: &str) -> Option<L<String>> {
        self.opt_string(f, key, what)
    }

    fn opt_bool(&mut self, f: &Fields<'_>, key: &str, what: &str) -> Option<L<bool>> {
        let node = f.get(key)?;
        match node.value {
            Value::Bool(b) => Some(L { value: b, at: self.at(node) }),
            _ => {
                self.wrong_type(node, &format!("`{key}` of {what}"), "true or false");
                None
            }
        }
    }

    fn opt_int(&mut self, f: &Fields<'_>, key: &str, what: &str) -> Option<L<i128>> {
        let node = f.get(key)?;
        match node.value {
            Value::Int(i) => Some(L { value: i, at: self.at(node) }),
            _ => {
                self.wrong_type(node, &format!("`{key}` of {what}"), "an integer");
                None
            }
        }
    }

    fn list<'n>(&mut self, f: &Fields<'n>, key: &str, what: &str) -> &'n [Node] {
        match f.get(key) {
            None => &[],
            Some(Node { value: Value::Seq(items), .. }) => items,
            Some(Node { value: Value::Null, .. }) => &[],
            Some(node) => {
                self.wrong_type(node, &format!("`{key}` of {what}"), "a list");
                &[]
            }
        }
    }

    fn strings(&mut self, f: &Fields<'_>, key: &str, what: &str) -> Vec<L<String>> {
        let items = self.list(f, key, what);
        items
            .iter()
            .filter_map(|n| self.string(n, &format!("an entry of `{key}` in {what}")))
            .collect()
    }

    fn one_or_many(&mut self, f: &Fields<'_>, key: &str, what: &str) -> OneOrMany {
        match f.get(key) {
            None => OneOrMany::default(),
            Some(node @ Node { value: Value::Seq(items), .. }) => {
                if items.is_empty() {
                    let d = Diagnostic::error(
                        "empty-list",
                        self.at(node),
                        format!("`{key}` of {what} is an empty list"),
                    )
                    .expected("at least one name");
                    self.diags.push(d);
                }
                OneOrMany(
                    items
                        .iter()
                        .filter_map(|n| self.string(n, &format!("`{key}` of {what}")))
                        .collect(),
                )
            }
            Some(node) => {
                OneOrMany(self.string(node, &format!("`{key}` of {what}")).into_iter().collect())
            }
        }
    }

    fn ports(&mut self, f: &Fields<'_>, key: &str, what: &str) -> Vec<L<PortItem>> {
        let items = self.list(f, key, what);
        let mut out = Vec::new();
        for n in items {
            let value = match &n.value {
                Value::Int(i) => PortItem::Number(*i),
                Value::Str(s) => PortItem::Text(s.clone()),
                _ => {
                    self.wrong_type(
                        n,
                        &format!("an entry of `{key}` in {what}"),
                        "a port number or a range like \"8000-8100\"",
                    );
                    continue;
                }
            };
            out.push(L { value, at: self.at(n) });
        }
        out
    }

    fn named<T>(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        mut item: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Named<T> {
        let Some(node) = f.get(key) else { return Named::default() };
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => return Named::default(),
            _ => {
                self.wrong_type(node, &format!("`{key}`"), "a mapping of names to entries");
                return Named::default();
            }
        };
        let mut out = Vec::new();
        let mut seen: std::collections::HashMap<String, Location> =
            std::collections::HashMap::new();
        for (k, v) in entries {
            let Some(name) = self.string(k, &format!("a name in `{key}`")) else { continue };
            // YAML keeps `1:` and `"1":` apart; as names they are the same.
            if let Some(first) = seen.get(&name.value) {
                let d = Diagnostic::error(
                    "duplicate-name",
                    name.at.clone(),
                    format!("`{}` is declared twice in `{key}` (first at {first})", name.value),
                )
                .value(name.value.clone());
                self.diags.push(d);
                continue;
            }
            seen.insert(name.value.clone(), name.at.clone());
            if !valid_name(&name.value) {
                let d = Diagnostic::error(
                    "bad-name",
                    name.at.clone(),
                    format!("`{}` is not a usable name", name.value),
                )
                .value(name.value.clone())
                .expected("letters, digits, `_`, `.` or `-`, starting with a letter or digit");
                self.diags.push(d);
                continue;
            }
            let what = format!("{} `{}`", singular(key), name.value);
            if let Some(entry) = item(self, v, &what) {
                out.push((name, entry));
            }
        }
        Named(out)
    }

    fn items<T>(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        mut item: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Vec<L<T>> {
        let list = self.list(f, key, "the spec");
        let mut out = Vec::new();
        for (i, n) in list.iter().enumerate() {
            let what = format!("{} #{}", singular(key), i + 1);
            if let Some(v) = item(self, n, &what) {
                out.push(L { value: v, at: self.at(n) });
            }
        }
        out
    }

    fn section<T>(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        item: impl FnOnce(&mut Self, &Node) -> Option<T>,
    ) -> Option<L<T>> {
        let node = f.get(key)?;
        let at = self.at(node);
        item(self, node).map(|value| L { value, at })
    }

    /// The top-level spec.
    pub(crate) fn spec(&mut self, node: &Node) -> RawSpec {
        let Some(f) = self.fields(node, "the spec", RawSpec::KEYS, &["version"]) else {
            return RawSpec::default();
        };
        let mut spec = RawSpec {
            version: self.opt_int(&f, "version", "the spec"),
            name: self.opt_string(&f, "name", "the spec"),
            description: self.opt_string(&f, "description", "the spec"),
            include: self.strings(&f, "include", "the spec"),
            ..RawSpec::default()
        };
        // A version we don't know means the rest may not mean what we think:
        // report it, and still walk on so the author sees everything else.
        self.common(&f, &mut spec.zones, &mut spec.hosts, &mut spec.services);
        spec.flows = self.items(&f, "flows", Self::flow);
        spec.default = self.opt_string(&f, "default", "the spec");
        spec.deny_mode = self.opt_string(&f, "deny_mode", "the spec");
        spec.vantages = self.named(&f, "vantages", Self::vantage);
        spec.sweep = self.section(&f, "sweep", |w, n| {
            let f = w.fields(n, "`sweep`", RawSweep::KEYS, &[])?;
            Some(RawSweep {
                tcp: w.ports(&f, "tcp", "`sweep`"),
                udp: w.ports(&f, "udp", "`sweep`"),
            })
        });
        spec.tls = self.section(&f, "tls", |w, n| {
            let f = w.fields(n, "`tls`", RawTls::KEYS, &[])?;
            Some(RawTls { policies: w.named(&f, "policies", Self::tls_policy) })
        });
        spec.dns = self.section(&f, "dns", Self::dns);
        spec.waivers = self.items(&f, "waivers", Self::waiver);
        spec
    }

    /// A file named by `include:`.
    pub(crate) fn include(&mut self, node: &Node) -> RawInclude {
        let Some(f) = self.fields(node, "an included file", RawInclude::KEYS, &[]) else {
            return RawInclude::default();
        };
        let mut inc = RawInclude {
            description: self.opt_string(&f, "description", "an included file"),
            ..RawInclude::default()
        };
        self.common(&f, &mut inc.zones, &mut inc.hosts, &mut inc.services);
        inc
    }

    fn common(
        &mut self,
        f: &Fields<'_>,
        zones: &mut Named<RawZone>,
        hosts: &mut Named<RawHost>,
        services: &mut Named<RawService>,
    ) {
        *zones = self.named(f, "zones", Self::zone);
        *hosts = self.named(f, "hosts", Self::host);
        *services = self.named(f, "services", Self::service);
    }

    fn zone(&mut self, node: &Node, what: &str) -> Option<RawZone> {
        let f = self.fields(node, what, RawZone::KEYS, &["cidrs"])?;
        self.not_empty(&f, "cidrs", what, "at least one network, e.g. 198.18.10.0/24");
        Some(RawZone {
            cidrs: self.strings(&f, "cidrs", what),
            probe: self.opt_bool(&f, "probe", what),
            description: self.opt_string(&f, "description", what),
        })
    }

    fn host(&mut self, node: &Node, what: &str) -> Option<RawHost> {
        let f = self.fields(node, what, RawHost::KEYS, &["address"])?;
        Some(RawHost {
            address: self.req_string(&f, "address", what)?,
            names: self.strings(&f, "names", what),
            zone: self.opt_string(&f, "zone", what),
            description: self.opt_string(&f, "description", what),
        })
    }

    fn service(&mut self, node: &Node, what: &str) -> Option<RawService> {
        let f = self.fields(node, what, RawService::KEYS, &[])?;
        let service = RawService {
            tcp: self.ports(&f, "tcp", what),
            udp: self.ports(&f, "udp", what),
            tls: self.opt_string(&f, "tls", what),
            starttls: self.opt_string(&f, "starttls", what),
            severity: self.opt_string(&f, "severity", what),
            description: self.opt_string(&f, "description", what),
        };
        // Judge what was given, not which keys exist: `tcp: []` names no port.
        if is_empty(f.get("tcp")) && is_empty(f.get("udp")) {
            let d =
                Diagnostic::error("empty-service", self.at(f.at), format!("{what} names no ports"))
                    .expected("a non-empty `tcp` or `udp` list");
            self.diags.push(d);
        }
        Some(service)
    }

    fn flow(&mut self, node: &Node, what: &str) -> Option<RawFlow> {
        let f = self.fields(node, what, RawFlow::KEYS, &["from", "to"])?;
        let flow = RawFlow {
            from: self.one_or_many(&f, "from", what),
            to: self.one_or_many(&f, "to", what),
            allow: self.strings(&f, "allow", what),
            deny: self.strings(&f, "deny", what),
            require: self.opt_string(&f, "require", what),
            severity: self.opt_string(&f, "severity", what),
            description: self.opt_string(&f, "description", what),
        };
        // `allow: []` or `allow: ~` would make the flow silently vanish.
        if is_empty(f.get("allow")) && is_empty(f.get("deny")) {
            let d = Diagnostic::error(
                "empty-flow",
                self.at(node),
                format!("{what} neither allows nor denies anything"),
            )
            .expected("a non-empty `allow` or `deny` list of service names");
            self.diags.push(d);
        }
        Some(flow)
    }

    fn vantage(&mut self, node: &Node, what: &str) -> Option<RawVantage> {
        let f = self.fields(node, what, RawVantage::KEYS, &["zone"])?;
        Some(RawVantage {
            zone: self.req_string(&f, "zone", what)?,
            agent: self.opt_string(&f, "agent", what),
            description: self.opt_string(&f, "description", what),
        })
    }

    fn tls_policy(&mut self, node: &Node, what: &str) -> Option<RawTlsPolicy> {
        let f = self.fields(node, what, RawTlsPolicy::KEYS, &["profile"])?;
        Some(RawTlsPolicy {
            profile: self.req_string(&f, "profile", what)?,
            hostname: self.opt_bool(&f, "hostname", what),
            trusted_ca: self.opt_string(&f, "trusted_ca", what),
            min_days_left: self.opt_int(&f, "min_days_left", what),
            guideline: self.opt_version(&f, "guideline", what),
            min_version: self.opt_version(&f, "min_version", what),
            ciphers: self.section(&f, "ciphers", |w, n| {
                let what = format!("`ciphers` of {what}");
                let c = w.fields(n, &what, RawTlsCiphers::KEYS, &[])?;
                Some(RawTlsCiphers {
                    allow: w.strings(&c, "allow", &what),
                    deny: w.strings(&c, "deny", &what),
                })
            }),
            min_rsa_bits: self.opt_int(&f, "min_rsa_bits", what),
            require_ocsp_staple: self.opt_bool(&f, "require_ocsp_staple", what),
            description: self.opt_string(&f, "description", what),
        })
    }

    /// A version written as a string or a bare number (`6.0`, `1.2`).
    fn opt_version<const G: bool>(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        what: &str,
    ) -> Option<L<VersionText<G>>> {
        let node = f.get(key)?;
        let text = match &node.value {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            // `{:?}` keeps the fraction: 6.0 -> "6.0", 1.2 -> "1.2".
            Value::Float(x) => format!("{x:?}"),
            _ => {
                self.wrong_type(node, &format!("`{key}` of {what}"), "a version such as \"1.2\"");
                return None;
            }
        };
        Some(L { value: VersionText(text), at: self.at(node) })
    }

    fn dns(&mut self, node: &Node) -> Option<RawDns> {
        let f = self.fields(node, "`dns`", RawDns::KEYS, &[])?;
        Some(RawDns {
            servers: self.strings(&f, "servers", "`dns`"),
            expect: self.items(&f, "expect", Self::dns_expect),
            forbid: self.strings(&f, "forbid", "`dns`"),
            recursion_name: self.opt_string(&f, "recursion_name", "`dns`"),
        })
    }

    fn dns_expect(&mut self, node: &Node, what: &str) -> Option<RawDnsExpect> {
        let what = format!("DNS {what}");
        let f = self.fields(node, &what, RawDnsExpect::KEYS, &["name"])?;
        Some(RawDnsExpect {
            name: self.req_string(&f, "name", &what)?,
            r#type: self.opt_string(&f, "type", &what),
            values: self.strings(&f, "values", &what),
            from: self.one_or_many(&f, "from", &what),
            absent: self.opt_bool(&f, "absent", &what),
            description: self.opt_string(&f, "description", &what),
        })
    }

    fn waiver(&mut self, node: &Node, what: &str) -> Option<RawWaiver> {
        let f = self.fields(
            node,
            what,
            RawWaiver::KEYS,
            &["id", "match", "reason", "approved_by", "expires"],
        )?;
        let id = self.req_string(&f, "id", what);
        let what =
            id.as_ref().map_or_else(|| what.to_owned(), |id| format!("waiver `{}`", id.value));
        let r#match = self.section(&f, "match", |w, n| {
            let what = format!("`match` of {what}");
            let m = w.fields(n, &what, RawWaiverMatch::KEYS, &[])?;
            let out = RawWaiverMatch {
                from: w.opt_string(&m, "from", &what),
                to: w.opt_string(&m, "to", &what),
                port: w.opt_string(&m, "port", &what),
                rule: w.opt_string(&m, "rule", &what),
            };
            // An empty match would waive every finding, its own expiry included.
            if m.entries.is_empty() {
                let d =
                    Diagnostic::error("empty-match", w.at(n), format!("{what} matches everything"))
                        .expected("at least one of `from`, `to`, `port`, `rule`");
                w.diags.push(d);
            }
            Some(out)
        });
        let reason = self.req_string(&f, "reason", &what);
        let approved_by = self.req_string(&f, "approved_by", &what);
        let expires = self.req_string(&f, "expires", &what);
        let description = self.opt_string(&f, "description", &what);
        Some(RawWaiver {
            id: id?,
            r#match: r#match?,
            reason: reason?,
            approved_by: approved_by?,
            expires: expires?,
            description,
        })
    }
}

/// Whether a node is absent, null or an empty list.
fn is_empty(node: Option<&Node>) -> bool {
    match node {
        None => true,
        Some(n) => match &n.value {
            Value::Null => true,
            Value::Seq(items) => items.is_empty(),
            _ => false,
        },
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 64
}

fn singular(key: &str) -> &str {
    match key {
        "policies" => "policy",
        "expect" => "expectation",
        _ => key.strip_suffix('s').unwrap_or(key),
    }
}

macro_rules! keys {
    ($($t:ty => [$($k:literal),* $(,)?];)*) => {
        $(impl $t {
            /// The keys this mapping accepts, as written in YAML.
            pub const KEYS: &'static [&'static str] = &[$($k),*];
        })*
        #[cfg(test)]
        fn all_keys() -> Vec<(&'static str, &'static [&'static str], Schema)> {
            vec![$((stringify!($t), <$t>::KEYS, schemars::schema_for!($t))),*]
        }
    };
}

keys! {
    RawSpec => ["version", "name", "description", "include", "zones", "hosts", "services", "flows", "default", "deny_mode", "vantages", "sweep", "tls", "dns", "waivers"];
    RawInclude => ["description", "zones", "hosts", "services"];
    RawZone => ["cidrs", "probe", "description"];
    RawHost => ["address", "names", "zone", "description"];
    RawService => ["tcp", "udp", "tls", "starttls", "severity", "description"];
    RawFlow => ["from", "to", "allow", "deny", "require", "severity", "description"];
    RawVantage => ["zone", "agent", "description"];
    RawSweep => ["tcp", "udp"];
    RawTls => ["policies"];
    RawTlsPolicy => ["profile", "hostname", "trusted_ca", "min_days_left", "guideline", "min_version", "ciphers", "min_rsa_bits", "require_ocsp_staple", "description"];
    RawTlsCiphers => ["allow", "deny"];
    RawDns => ["servers", "expect", "forbid", "recursion_name"];
    RawDnsExpect => ["name", "type", "values", "from", "absent", "description"];
    RawWaiver => ["id", "match", "reason", "approved_by", "expires", "description"];
    RawWaiverMatch => ["from", "to", "port", "rule"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_schema() {
        for (name, keys, schema) in all_keys() {
            let props = schema.get("properties").and_then(|p| p.as_object()).expect("properties");
            let mut from_schema: Vec<&str> = props.keys().map(String::as_str).collect();
            let mut accepted = keys.to_vec();
            from_schema.sort_unstable();
            accepted.sort_unstable();
            assert_eq!(from_schema, accepted, "{name}: walker keys and schema properties differ");
        }
    }
}

//! The DNS test bed: three real BIND 9 servers (`named`) in a lab, one
//! misconfigured in planted ways, one configured correctly, and one that
//! stands for the rest of the world, with two client zones to ask them from
//! (issue 6). Configs and zone files are generated here into a temporary
//! folder, which is removed when the bed is dropped.
//!
//! ```text
//!   lab zone  address          what                       spec vantage
//!   outside   198.18.31.10     a client on the internet   outside (zone internet)
//!   inside    198.18.32.10     a client on the staff net  inside  (zone corp)
//!   dns       198.18.33.53     server A: corp.test, 33.18.198.in-addr.arpa
//!             198.18.33.54     server B: good.test
//!   world     198.18.34.53     server C: outside.test
//! ```
//!
//! Every zone hangs off the lab's router, which forwards between them and
//! drops (and counts, [`Bed::stray_packets`], [`Bed::strays`]) anything
//! addressed outside 198.18.0.0/15, so a server that tried to reach the
//! real root servers would be seen and could not leave. Clients are the zone's host (`.10`);
//! the servers listen on extra addresses of their zones' hosts.
//!
//! Servers A and B split their answers by client with views: the `inside`
//! view serves clients from 198.18.32.0/24, the `outside` view everyone
//! else. What A plants ([`Bed::flaws`]):
//! - `dns-leak`: `db.internal.corp.test` is meant for the inside view, but
//!   the outside view serves it too (`intranet.corp.test`, also inside-only,
//!   is correctly absent from outside);
//! - `dns-axfr`: `allow-transfer { any; }` for `corp.test` (its reverse zone
//!   refuses transfers, so corp.test is the only zone that leaks);
//! - `dns-open-recursion`: `recursion yes; allow-recursion { any; }`: names
//!   outside its authority go to C (`forward only`), so [`RECURSION_NAME`]
//!   gets a real answer with RA set. Reported from `outside` only: the spec's
//!   `corp` zone (the inside client) is probe-able, so the `inside` vantage
//!   is trusted and may use a resolver (`verdict` judges recursion for
//!   vantages in `probe: false` zones only);
//! - `dns-dangling-cname`: `old.corp.test CNAME gone.corp.test.`, and
//!   gone.corp.test is NXDOMAIN.
//!
//! B (`good.test`) refuses transfers and recursion, and its inside-only name
//! (`intranet.good.test`) really is absent from outside. C
//! (`outside.test`) is not in any spec; it only answers A's forwarded
//! questions (and the tests' own). Each server knows its own zones only: B
//! answers REFUSED for corp.test names, and A SERVFAIL for good.test names
//! (C refuses them), so a prober should judge an expectation on the servers
//! authoritative for its name, or B looks wrong about corp.test.
//!
//! The correct records ([`RECORDS`]) are one table: the zone files are
//! generated from it, and so are the spec's expectations, so the two cannot
//! disagree. Values are written as `dig +short` prints them, without the
//! final dot (what a `dns` observation line keeps).
//!
//! ```ignore
//! let Some(bed) = dnsbed::start_or_skip("check") else { return };
//! let spec = bed.write_spec(dnsbed::Variant::Both);
//! let out = bed.exec(dnsbed::OUTSIDE, &[env!("CARGO_BIN_EXE_vantage"), "check",
//!     &spec.display().to_string(), "--from", "outside", "--format", "json"]);
//! // ... every finding is one of bed.flaws(Variant::Both) seen from `outside`,
//! // and each agrees with what `bed.dig(dnsbed::OUTSIDE, &["@198.18.33.53", ..])` says.
//! ```
//!
//! `named` runs in the foreground (`-f`, IPv4 only, one worker thread), as
//! root, with its own working directory, pid file, session key and log file
//! in the bed's folder, no control channel, listening on its address only;
//! `start` returns once each one answers an SOA question for its zones from
//! the outside zone. Every process belongs to the lab, which kills it by its
//! id and removes every namespace when the bed is dropped, also when a test
//! fails.
//!
//! BIND 9.18 notes: DNSSEC validation is off everywhere (`dnssec-validation
//! no`). With the default `auto`, every server, even one with `recursion
//! no`, asks the real root servers for their keys at start (RFC 5011 trust
//! anchor upkeep; the router caught B and C at it), and A would try to
//! prove outside.test insecure from the root's trust anchor through C, fail,
//! and answer SERVFAIL. The
//! reverse zone is one zone shared by both views (`in-view`), since two
//! views may not load the same file. The Debian package's AppArmor profile
//! (where AppArmor is enforced) would keep named from reading this folder.

#![allow(dead_code, reason = "each user of the bed takes what it needs")]

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::lab::{Lab, LabError};

/// The lab zone of the client outside (also the spec's vantage name).
pub(crate) const OUTSIDE: &str = "outside";
/// The lab zone of the client inside (also the spec's vantage name).
pub(crate) const INSIDE: &str = "inside";
/// The lab zone of servers A and B.
pub(crate) const DNS_ZONE: &str = "dns";
/// The lab zone of server C.
pub(crate) const WORLD_ZONE: &str = "world";

/// The subnets of the lab's zones.
pub(crate) const OUTSIDE_NET: &str = "198.18.31.0/24";
pub(crate) const INSIDE_NET: &str = "198.18.32.0/24";
pub(crate) const DNS_NET: &str = "198.18.33.0/24";
pub(crate) const WORLD_NET: &str = "198.18.34.0/24";

/// The clients: the hosts of the lab zones [`OUTSIDE`] and [`INSIDE`].
pub(crate) const OUTSIDE_CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 31, 10);
pub(crate) const INSIDE_CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 32, 10);

/// The name outside every spec'd server's authority that A recurses for
/// (through C), and its one address.
pub(crate) const RECURSION_NAME: &str = "probe.outside.test";
pub(crate) const RECURSION_ANSWER: &str = "198.18.34.99";

/// Both client vantages, the order findings are listed in.
pub(crate) const BOTH: &[&str] = &[OUTSIDE, INSIDE];
const ONLY_INSIDE: &[&str] = &[INSIDE];
const ONLY_OUTSIDE: &[&str] = &[OUTSIDE];

/// One of the bed's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Server {
    /// Misconfigured: corp.test with the four planted flaws.
    A,
    /// Correctly configured: good.test.
    B,
    /// The rest of the world: outside.test, only there to be forwarded to.
    C,
}

impl Server {
    pub(crate) const ALL: [Self; 3] = [Self::A, Self::B, Self::C];

    /// Where it listens (UDP and TCP 53).
    pub(crate) const fn addr(self) -> Ipv4Addr {
        match self {
            Self::A => Ipv4Addr::new(198, 18, 33, 53),
            Self::B => Ipv4Addr::new(198, 18, 33, 54),
            Self::C => Ipv4Addr::new(198, 18, 34, 53),
        }
    }

    /// The zones it is authoritative for, the first its main one.
    pub(crate) const fn zones(self) -> &'static [&'static str] {
        match self {
            Self::A => &["corp.test", "33.18.198.in-addr.arpa"],
            Self::B => &["good.test"],
            Self::C => &["outside.test"],
        }
    }

    /// Its name as a spec host, and as the folder it runs in.
    pub(crate) const fn host(self) -> &'static str {
        match self {
            Self::A => "ns-a",
            Self::B => "ns-b",
            Self::C => "ns-c",
        }
    }

    /// Its own DNS name (in its main zone).
    pub(crate) const fn ns_name(self) -> &'static str {
        match self {
            Self::A => "ns1.corp.test",
            Self::B => "ns1.good.test",
            Self::C => "ns.outside.test",
        }
    }

    /// The lab zone it runs in.
    pub(crate) const fn lab_zone(self) -> &'static str {
        match self {
            Self::A | Self::B => DNS_ZONE,
            Self::C => WORLD_ZONE,
        }
    }

    /// `@ADDR`, for dig.
    pub(crate) fn at(self) -> String {
        format!("@{}", self.addr())
    }
}

/// One record a server holds (SOAs aside, which the zone files add).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub(crate) server: Server,
    pub(crate) name: &'static str,
    pub(crate) rtype: &'static str,
    /// As `dig +short` prints it, without the final dot.
    pub(crate) value: &'static str,
    /// The views (named as the vantages that land in them) that serve it.
    pub(crate) served: &'static [&'static str],
    /// The views it is meant for. A spec expects it from these, and expects
    /// the name absent from the other vantages; served beyond these is a
    /// leak.
    pub(crate) intended: &'static [&'static str],
}

const fn rec(
    server: Server,
    name: &'static str,
    rtype: &'static str,
    value: &'static str,
    views: &'static [&'static str],
) -> Record {
    Record { server, name, rtype, value, served: views, intended: views }
}

/// Every record of the bed: the truth the zone files are made from.
pub(crate) const RECORDS: &[Record] = {
    use Server::{A, B, C};
    &[
        // Server A, corp.test.
        rec(A, "corp.test", "NS", "ns1.corp.test", BOTH),
        rec(A, "ns1.corp.test", "A", "198.18.33.53", BOTH),
        rec(A, "www.corp.test", "A", "198.18.33.80", ONLY_OUTSIDE),
        rec(A, "www.corp.test", "A", "198.18.33.81", ONLY_INSIDE),
        rec(A, "www.corp.test", "AAAA", "2001:db8:33::80", BOTH),
        rec(A, "corp.test", "MX", "10 mail.corp.test", BOTH),
        rec(A, "mail.corp.test", "A", "198.18.33.25", BOTH),
        rec(A, "corp.test", "TXT", "\"v=spf1 mx -all\"", BOTH),
        rec(A, "corp.test", "CAA", "0 issue \"ca.corp.test\"", BOTH),
        // Planted: gone.corp.test does not exist.
        rec(A, "old.corp.test", "CNAME", "gone.corp.test", BOTH),
        // Split horizon done right.
        rec(A, "intranet.corp.test", "A", "198.18.33.71", ONLY_INSIDE),
        // Planted: meant for inside, served outside too.
        Record {
            server: A,
            name: "db.internal.corp.test",
            rtype: "A",
            value: "198.18.33.70",
            served: BOTH,
            intended: ONLY_INSIDE,
        },
        // Server A, the reverse zone of the servers' subnet.
        rec(A, "33.18.198.in-addr.arpa", "NS", "ns1.corp.test", BOTH),
        rec(A, "53.33.18.198.in-addr.arpa", "PTR", "ns1.corp.test", BOTH),
        rec(A, "80.33.18.198.in-addr.arpa", "PTR", "www.corp.test", BOTH),
        // Server B, good.test.
        rec(B, "good.test", "NS", "ns1.good.test", BOTH),
        rec(B, "ns1.good.test", "A", "198.18.33.54", BOTH),
        rec(B, "www.good.test", "A", "198.18.33.90", BOTH),
        rec(B, "www.good.test", "AAAA", "2001:db8:33::90", BOTH),
        rec(B, "good.test", "MX", "10 mail.good.test", BOTH),
        rec(B, "mail.good.test", "A", "198.18.33.26", BOTH),
        rec(B, "good.test", "TXT", "\"v=spf1 mx -all\"", BOTH),
        rec(B, "good.test", "CAA", "0 issue \"ca.good.test\"", BOTH),
        rec(B, "alias.good.test", "CNAME", "www.good.test", BOTH),
        rec(B, "intranet.good.test", "A", "198.18.33.91", ONLY_INSIDE),
        // Server C, outside.test.
        rec(C, "outside.test", "NS", "ns.outside.test", BOTH),
        rec(C, "ns.outside.test", "A", "198.18.34.53", BOTH),
        rec(C, RECURSION_NAME, "A", RECURSION_ANSWER, BOTH),
    ]
};

/// A planted flaw: what `vantage check` must report, and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flaw {
    /// The finding rule.
    pub(crate) rule: &'static str,
    /// The server that has it.
    pub(crate) server: Server,
    /// The name or zone the finding is about (its evidence names it).
    pub(crate) detail: &'static str,
    /// The vantages it shows from.
    pub(crate) from: &'static [&'static str],
}

/// A's four flaws.
pub(crate) const FLAWS: &[Flaw] = &[
    Flaw {
        rule: "dns-leak",
        server: Server::A,
        detail: "db.internal.corp.test",
        from: ONLY_OUTSIDE,
    },
    Flaw { rule: "dns-axfr", server: Server::A, detail: "corp.test", from: BOTH },
    Flaw {
        rule: "dns-open-recursion",
        server: Server::A,
        detail: RECURSION_NAME,
        from: ONLY_OUTSIDE,
    },
    Flaw { rule: "dns-dangling-cname", server: Server::A, detail: "old.corp.test", from: BOTH },
];

/// Which servers a spec declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// A and B: the four flaws, all on A.
    Both,
    /// B alone: nothing to report.
    GoodOnly,
}

impl Variant {
    /// The servers the spec declares.
    pub(crate) fn servers(self) -> &'static [Server] {
        match self {
            Self::Both => &[Server::A, Server::B],
            Self::GoodOnly => &[Server::B],
        }
    }
}

/// Why the bed could not be built.
#[derive(Debug)]
pub(crate) enum BedError {
    /// A tool it needs is not installed, or this is not root (the test
    /// skips, unless VANTAGE_REQUIRE_LAB is set).
    Missing(String),
    /// Something else went wrong.
    Failed(String),
}

/// Start the bed, or `None` (after saying why) when it cannot run here and
/// VANTAGE_REQUIRE_LAB is not set; any other failure panics.
#[allow(clippy::print_stderr, reason = "a test without its servers says it skipped")]
pub(crate) fn start_or_skip(tag: &str) -> Option<Bed> {
    match Bed::start(tag) {
        Ok(bed) => Some(bed),
        Err(BedError::Missing(why)) if std::env::var_os("VANTAGE_REQUIRE_LAB").is_none() => {
            eprintln!("SKIPPED: {why}; set VANTAGE_REQUIRE_LAB=1 to make this a failure");
            None
        }
        Err(e) => panic!("the DNS bed did not start: {e:?}"),
    }
}

/// `Missing` unless named, dig, named-checkconf and named-checkzone run.
pub(crate) fn tools() -> Result<(), BedError> {
    for (tool, arg) in
        [("named", "-v"), ("dig", "-v"), ("named-checkconf", "-v"), ("named-checkzone", "-v")]
    {
        if Command::new(tool).arg(arg).output().is_err() {
            return Err(BedError::Missing(format!(
                "{tool} is not installed (apt packages bind9, bind9-dnsutils)"
            )));
        }
    }
    Ok(())
}

/// A folder removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty folder under the system's temporary folder.
    pub(crate) fn new(name: &str) -> Result<Self, BedError> {
        let path = std::env::temp_dir().join(format!("vantage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| BedError::Failed(format!("{}: {e}", path.display())))?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The files generated for one server.
#[derive(Debug, Clone)]
pub(crate) struct ServerFiles {
    pub(crate) server: Server,
    /// Its working directory.
    pub(crate) dir: PathBuf,
    /// Its `named.conf`.
    pub(crate) conf: PathBuf,
    /// Its zone files: (zone, view, file).
    pub(crate) zones: Vec<(&'static str, &'static str, PathBuf)>,
    /// Its log file.
    pub(crate) log: PathBuf,
}

/// Write every server's config and zone files under `dir` (one folder per
/// server, named as its host).
pub(crate) fn generate(dir: &Path) -> Result<Vec<ServerFiles>, BedError> {
    Server::ALL.iter().map(|&s| generate_server(dir, s)).collect()
}

fn generate_server(root: &Path, server: Server) -> Result<ServerFiles, BedError> {
    let dir = root.join(server.host());
    std::fs::create_dir_all(&dir).map_err(|e| failed(&dir, &e))?;
    let mut files = ServerFiles {
        server,
        conf: dir.join("named.conf"),
        log: dir.join("named.log"),
        zones: Vec::new(),
        dir: dir.clone(),
    };
    for view in [INSIDE, OUTSIDE] {
        for &zone in server.zones() {
            // The reverse zone is the same in both views, so one is loaded
            // (inside) and the other view refers to it.
            if zone.ends_with(".arpa") && view == OUTSIDE {
                continue;
            }
            let path = dir.join(format!("{zone}.{view}.zone"));
            std::fs::write(&path, zone_file(server, zone, view)).map_err(|e| failed(&path, &e))?;
            files.zones.push((zone, view, path));
        }
    }
    std::fs::write(&files.conf, named_conf(&files)).map_err(|e| failed(&files.conf, &e))?;
    Ok(files)
}

fn failed(path: &Path, e: &std::io::Error) -> BedError {
    BedError::Failed(format!("{}: {e}", path.display()))
}

/// The zone `zone` of `server` as the view `view` serves it.
fn zone_file(server: Server, zone: &str, view: &str) -> String {
    let mut text = format!(
        "$TTL 300\n{zone}. IN SOA {ns}. hostmaster.{main}. 1 3600 600 86400 300\n",
        ns = server.ns_name(),
        main = server.zones()[0],
    );
    for r in RECORDS {
        if r.server == server && in_zone(r.name, zone) && r.served.contains(&view) {
            let dot = if matches!(r.rtype, "NS" | "CNAME" | "PTR" | "MX") { "." } else { "" };
            let _ = writeln!(text, "{}. IN {} {}{dot}", r.name, r.rtype, r.value);
        }
    }
    text
}

fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// The `named.conf` of one server.
fn named_conf(files: &ServerFiles) -> String {
    let server = files.server;
    let (dir, addr) = (files.dir.display(), server.addr());
    let policy = match server {
        // Planted: transfers and recursion for everyone. Whatever is not
        // A's own goes to C, the rest of the world, and never to the real
        // root servers.
        Server::A => format!(
            "    recursion yes;
    allow-recursion {{ any; }};
    allow-query-cache {{ any; }};
    allow-transfer {{ any; }};
    forwarders {{ {c}; }};
    forward only;
",
            c = Server::C.addr()
        ),
        Server::B | Server::C => "    recursion no;
    allow-transfer { none; };
"
        .to_owned(),
    };
    let mut views = String::new();
    for (view, clients) in [(INSIDE, INSIDE_NET), (OUTSIDE, "any")] {
        let _ = writeln!(views, "view \"{view}\" {{\n    match-clients {{ {clients}; }};");
        for &zone in server.zones() {
            match files.zones.iter().find(|(z, v, _)| *z == zone && *v == view) {
                Some((_, _, path)) => {
                    let extra = if zone.ends_with(".arpa") {
                        // Only corp.test is planted as open to transfer.
                        " allow-transfer { none; };"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        views,
                        "    zone \"{zone}\" {{ type primary; file \"{}\";{extra} }};",
                        path.display()
                    );
                }
                None => {
                    let _ = writeln!(views, "    zone \"{zone}\" {{ in-view \"{INSIDE}\"; }};");
                }
            }
        }
        views.push_str("};\n");
    }
    format!(
        "// Generated by tests/dnsbed for server {server:?} ({host}).
options {{
    directory \"{dir}\";
    pid-file \"{dir}/named.pid\";
    session-keyfile \"{dir}/session.key\";
    managed-keys-directory \"{dir}\";
    dump-file \"{dir}/named_dump.db\";
    statistics-file \"{dir}/named.stats\";
    memstatistics-file \"{dir}/named.memstats\";
    listen-on port 53 {{ {addr}; }};
    listen-on-v6 {{ none; }};
    query-source address {addr};
    notify no;
    // Not `auto`: that makes even a server with `recursion no` ask the real
    // root servers for their keys (RFC 5011 trust anchor upkeep).
    dnssec-validation no;
{policy}}};
controls {{ }};
logging {{
    channel bed {{ file \"{log}\"; severity info; print-time yes; print-severity yes; print-category yes; }};
    category default {{ bed; }};
    category queries {{ bed; }};
    category lame-servers {{ null; }};
}};
{views}",
        host = server.host(),
        log = files.log.display(),
    )
}

/// The spec for `variant`: zones, the servers as hosts with a `dns` service
/// allowed from both vantages, the vantages `outside` and `inside`, and a
/// `dns` section expecting every correct record of the declared servers,
/// each inside-only name absent from outside, and forbidding all three
/// behaviours, with `dns.recursion_name` a name of server C.
pub(crate) fn spec_yaml(variant: Variant) -> String {
    let servers = variant.servers();
    let mut cidrs = Vec::new();
    let mut hosts = String::new();
    for s in servers {
        cidrs.push(format!("{}/32", s.addr()));
        let _ = writeln!(
            hosts,
            "  {}: {{ address: {}, names: [{}] }}",
            s.host(),
            s.addr(),
            s.ns_name()
        );
    }
    let addrs: Vec<String> = servers.iter().map(|s| s.addr().to_string()).collect();
    let recursion = format!("  recursion_name: {RECURSION_NAME}\n");
    let mut expect = String::new();
    for e in expectations(variant) {
        let _ = writeln!(expect, "    - {e}");
    }
    format!(
        "version: 1
name: DNS bed ({variant:?})
zones:
  internet: {{ cidrs: [0.0.0.0/0], probe: false }}
  corp: {{ cidrs: [{inside_client}/32], description: 'The staff network: trusted, may recurse' }}
  dmz: {{ cidrs: [{cidrs}] }}
hosts:
{hosts}services:
  dns: {{ tcp: [53], udp: [53] }}
flows:
  - {{ from: [internet, corp], to: dmz, allow: [dns] }}
default: deny
vantages:
  {OUTSIDE}: {{ zone: internet }}
  {INSIDE}: {{ zone: corp }}
dns:
  servers: [{addrs}]
{recursion}  expect:
{expect}  forbid: [zone-transfer, open-recursion, dangling-cname]
",
        cidrs = cidrs.join(", "),
        inside_client = INSIDE_CLIENT,
        addrs = addrs.join(", "),
    )
}

/// The spec's `dns.expect` entries for `variant`, as YAML flow mappings.
fn expectations(variant: Variant) -> Vec<String> {
    let records: Vec<&Record> =
        RECORDS.iter().filter(|r| variant.servers().contains(&r.server)).collect();
    let mut out: Vec<String> = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for r in &records {
        if seen.contains(&(r.name, r.rtype)) {
            continue;
        }
        seen.push((r.name, r.rtype));
        // The answer set each vantage should see; equal sets share an entry.
        let mut per: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
        for &v in BOTH {
            let values: Vec<&str> = records
                .iter()
                .filter(|x| x.name == r.name && x.rtype == r.rtype && x.intended.contains(&v))
                .map(|x| x.value)
                .collect();
            if values.is_empty() {
                continue;
            }
            match per.iter_mut().find(|(vals, _)| *vals == values) {
                Some((_, from)) => from.push(v),
                None => per.push((values, vec![v])),
            }
        }
        for (values, from) in per {
            let values: Vec<String> = values.iter().map(|v| yaml_str(v)).collect();
            out.push(format!(
                "{{ name: {}, type: {}, values: [{}], from: [{}] }}",
                r.name,
                r.rtype,
                values.join(", "),
                from.join(", ")
            ));
        }
    }
    // Names meant for some vantages only must be absent from the others.
    let mut absent: Vec<(&str, &str)> = Vec::new();
    for r in &records {
        for &v in BOTH {
            let meant = records.iter().any(|x| x.name == r.name && x.intended.contains(&v));
            if !meant && !absent.contains(&(r.name, v)) {
                absent.push((r.name, v));
                out.push(format!("{{ name: {}, from: {v}, absent: true }}", r.name));
            }
        }
    }
    out
}

/// A YAML double-quoted scalar.
fn yaml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The running bed.
pub(crate) struct Bed {
    // Fields drop in order: the lab (and so every server) first, then the
    // folder they ran in.
    lab: Lab,
    files: Vec<ServerFiles>,
    dir: TempDir,
}

/// The router's rules: forward everything within the lab range; drop and
/// count anything else.
const ROUTER_RULES: &str = "table inet dnsbed {
    counter stray { }
    set seen { type ipv4_addr . ipv4_addr . inet_proto; flags dynamic; }
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        meta nfproto ipv6 counter name stray drop
        ip daddr != 198.18.0.0/15 update @seen { ip saddr . ip daddr . meta l4proto } counter name stray drop
    }
}";

impl Bed {
    /// Builds the lab, generates and checks the configs, starts A, B and C
    /// and waits until each answers. `Missing` when BIND's tools are not
    /// installed or this is not root. `tag`: at most 7 of a-z, 0-9.
    pub(crate) fn start(tag: &str) -> Result<Self, BedError> {
        tools()?;
        let lab = match Lab::builder(&format!("dns{tag}"))
            .zone(OUTSIDE, OUTSIDE_NET)
            .zone(INSIDE, INSIDE_NET)
            .zone(DNS_ZONE, DNS_NET)
            .zone(WORLD_ZONE, WORLD_NET)
            .router_rules(ROUTER_RULES)
            .build()
        {
            Ok(lab) => lab,
            Err(e @ LabError::NotRoot { .. }) => return Err(BedError::Missing(e.to_string())),
            Err(e) => return Err(BedError::Failed(e.to_string())),
        };
        let dir = TempDir::new(&format!("dnsbed-{tag}"))?;
        let files = generate(dir.path())?;
        let mut bed = Self { lab, files, dir };
        for f in bed.files.clone() {
            let conf = f.conf.display().to_string();
            let checked = Command::new("named-checkconf")
                .args(["-z", &conf])
                .output()
                .map_err(|e| BedError::Failed(format!("named-checkconf: {e}")))?;
            if !checked.status.success() {
                return Err(BedError::Failed(format!(
                    "named-checkconf -z {conf}: {}",
                    String::from_utf8_lossy(&checked.stdout)
                )));
            }
            let server = f.server;
            let addr = format!("{}/{}", server.addr(), 24);
            bed.lab
                .exec(server.lab_zone(), &["ip", "addr", "add", &addr, "dev", "eth0"])
                .map_err(|e| BedError::Failed(e.to_string()))
                .and_then(|o| ok_or_failed("adding the server's address", &o))?;
            bed.lab
                .spawn(server.lab_zone(), &["named", "-f", "-4", "-n", "1", "-c", &conf])
                .map_err(|e| BedError::Failed(e.to_string()))?;
        }
        for s in Server::ALL {
            bed.wait_answering(s)?;
        }
        Ok(bed)
    }

    fn wait_answering(&self, server: Server) -> Result<(), BedError> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < Duration::from_secs(20) {
            let all = server.zones().iter().all(|zone| {
                last = self.dig(OUTSIDE, &[&server.at(), "+norec", zone, "SOA"]);
                last.contains("status: NOERROR") && last.contains(" aa")
            });
            if all {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(BedError::Failed(format!(
            "{server:?} never answered; dig said:\n{last}\nits log:\n{}",
            self.log(server)
        )))
    }

    /// The folder the configs, zones and logs are in.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The generated files of every server.
    pub(crate) fn files(&self) -> &[ServerFiles] {
        &self.files
    }

    /// A server's log so far.
    pub(crate) fn log(&self, server: Server) -> String {
        self.files
            .iter()
            .find(|f| f.server == server)
            .and_then(|f| std::fs::read_to_string(&f.log).ok())
            .unwrap_or_default()
    }

    /// The lab, for anything the bed has no helper for.
    pub(crate) fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The address of the client in a lab zone ([`OUTSIDE`] or [`INSIDE`]).
    pub(crate) fn client_addr(&self, zone: &str) -> std::net::IpAddr {
        self.lab.host_addr(zone)
    }

    /// The flaws `vantage check` must report for `variant`'s spec.
    pub(crate) fn flaws(&self, variant: Variant) -> &'static [Flaw] {
        match variant {
            Variant::Both => FLAWS,
            Variant::GoodOnly => &[],
        }
    }

    /// Writes [`spec_yaml`] for `variant` into the bed's folder; returns its
    /// path.
    pub(crate) fn write_spec(&self, variant: Variant) -> PathBuf {
        let path = self.dir().join(match variant {
            Variant::Both => "dns-bed.yaml",
            Variant::GoodOnly => "dns-bed-good.yaml",
        });
        std::fs::write(&path, spec_yaml(variant)).expect("the bed's spec is written");
        path
    }

    /// Runs `argv` in a lab zone (a client's, to run vantage there).
    pub(crate) fn exec(&self, zone: &str, argv: &[&str]) -> Output {
        self.lab.exec(zone, argv).expect("a command runs in the lab")
    }

    /// Runs `dig -r +tries=1 +time=2 ARGS` in a lab zone and returns what it
    /// printed (stdout, then stderr). `args` must name the server (`@ADDR`,
    /// a lab address), so dig never asks the system's resolver.
    pub(crate) fn dig(&self, zone: &str, args: &[&str]) -> String {
        assert!(
            args.iter().any(|a| a.starts_with("@198.18.") || a.starts_with("@198.19.")),
            "dig needs an @server in the lab: {args:?}"
        );
        let mut argv = vec!["dig", "-r", "+tries=1", "+time=2"];
        argv.extend_from_slice(args);
        let out = self.exec(zone, &argv);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// Packets the router dropped for being addressed outside the lab range.
    pub(crate) fn stray_packets(&self) -> u64 {
        let text = self.router_nft(&["list", "counter", "inet", "dnsbed", "stray"]);
        text.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no packet count in {text:?}"))
    }

    /// Who sent those packets where: `nft`'s listing of (source .
    /// destination . protocol), for a failure message.
    pub(crate) fn strays(&self) -> String {
        self.router_nft(&["list", "set", "inet", "dnsbed", "seen"])
    }

    fn router_nft(&self, args: &[&str]) -> String {
        let mut argv = vec!["nft"];
        argv.extend_from_slice(args);
        String::from_utf8_lossy(&self.exec(Lab::ROUTER, &argv).stdout).into_owned()
    }
}

fn ok_or_failed(what: &str, out: &Output) -> Result<(), BedError> {
    if out.status.success() {
        Ok(())
    } else {
        Err(BedError::Failed(format!("{what}: {}", String::from_utf8_lossy(&out.stderr))))
    }
}

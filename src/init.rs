//! What `vantage init` writes: the commented starter spec, and the spec
//! adopted from a discovery scan ("adopt what exists, then tighten").
//!
//! Pure text: the CLI runs the discovery scan (`scan::run` over the spec
//! [`discovery_spec`] writes, so it keeps every rule of scope and size a
//! scan keeps) and passes what answered, and the date, to [`adopted`].
//! Everything written here is YAML the spec loader accepts and `lint`
//! passes without a warning; the tests hold it to that.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::observe::{ObservationFile, PortState, Proto};

/// The starter spec `vantage init` writes (`specs/starter.yaml`): an
/// example network with every section, the optional ones commented out.
pub const STARTER: &str = include_str!("../specs/starter.yaml");

/// The TCP ports a discovery scan probes unless told otherwise: the first
/// 1,024 and the usual databases, caches, remote desktops, container
/// daemons and development servers above them.
pub const DEFAULT_PORTS: &str = "1-1024,1433,1521,2375,2376,3000,3306,3389,5000,5432,5900,\
                                 6379,8000-8100,8443,8888,9000,9090,9200,11211,27017";

/// The vantage a discovery scan runs from, and the adopted spec names:
/// this machine, in a source-only zone holding every address.
pub const VANTAGE: &str = "here";

/// The source-only zone of [`VANTAGE`].
const SOURCE_ZONE: &str = "internet";

/// One address that had at least one open TCP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The address.
    pub address: IpAddr,
    /// Its open TCP ports, ascending, without repeats.
    pub ports: Vec<u16>,
}

/// The discovery scan's spec: one probe-able zone per CIDR (`net-1`...),
/// the source-only zone of [`VANTAGE`], and `ports` (nmap `-p` syntax,
/// e.g. `22,80,8000-8100`) as the TCP sweep. No hosts and no flows: the
/// scan probes exactly the sweep on every address of the CIDRs.
pub fn discovery_spec(cidrs: &[IpNetwork], ports: &str) -> String {
    let mut s = String::from("version: 1\nname: discovery\nzones:\n");
    zones(&mut s, cidrs);
    let _ = writeln!(s, "default: deny\nvantages:\n  {VANTAGE}: {{ zone: {SOURCE_ZONE} }}");
    let _ = writeln!(s, "sweep:\n  tcp: [{}]", sweep_list(ports));
    s
}

/// What a discovery scan found open, per address in address order.
pub fn found(file: &ObservationFile) -> Vec<Found> {
    let mut open: BTreeMap<IpAddr, Vec<u16>> = BTreeMap::new();
    for f in file.facts.iter().filter(|f| f.state == PortState::Open && f.proto == Proto::Tcp) {
        open.entry(f.target).or_default().push(f.port);
    }
    open.into_iter()
        .map(|(address, mut ports)| {
            ports.sort_unstable();
            ports.dedup();
            Found { address, ports }
        })
        .collect()
}

/// The spec adopted from a discovery of `cidrs` over `ports` on `date`
/// (`YYYY-MM-DD`): what answered becomes the intent, each flow marked for
/// review, so a `check` from [`VANTAGE`] right after finds nothing, and
/// every later difference is news. Hosts are named `host-1`... in address
/// order, services by the port's well-known name or `tcp-PORT`.
pub fn adopted(cidrs: &[IpNetwork], ports: &str, found: &[Found], date: &str) -> String {
    let scanned: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# yaml-language-server: $schema=spec.schema.json\n\
         #\n\
         # Written by `vantage init --from-scan {}` on {date}: what answered a\n\
         # connect scan from this machine then, adopted as the intent. Now tighten\n\
         # it: remove every flow nobody meant, give hosts and services real names,\n\
         # and add vantages inside the network. Check it again with\n\
         #   vantage check FILE --from {VANTAGE}\n\
         # For editors: vantage schema spec > spec.schema.json\n\
         version: 1\n\
         name: discovered {date}\n",
        scanned.join(" "),
    );
    let _ = writeln!(s, "# One zone per CIDR scanned; `{SOURCE_ZONE}` is where the scan ran from.");
    s.push_str("zones:\n");
    zones(&mut s, cidrs);
    s.push('\n');
    let names: Vec<String> = (1..=found.len()).map(|i| format!("host-{i}")).collect();
    if found.is_empty() {
        s.push_str("# Nothing answered on any port scanned.\nhosts: {}\n\n");
    } else {
        s.push_str("# Every address with an open port.\nhosts:\n");
        for (name, f) in names.iter().zip(found) {
            let open: Vec<String> = f.ports.iter().map(|&p| port_label(p)).collect();
            let _ = writeln!(
                s,
                "  {name}: {{ address: \"{}\" }}  # open: {}",
                f.address,
                open.join(", ")
            );
        }
        s.push('\n');
    }
    let mut ports_found: Vec<u16> = found.iter().flat_map(|f| f.ports.iter().copied()).collect();
    ports_found.sort_unstable();
    ports_found.dedup();
    if ports_found.is_empty() {
        s.push_str("services: {}\n\nflows: []\n\n");
    } else {
        s.push_str("# Every port found open, named where the port is well known.\nservices:\n");
        for &p in &ports_found {
            let _ = writeln!(s, "  {}: {{ tcp: [{p}] }}", service_name(p));
        }
        s.push_str(
            "\n# What answered, allowed as found: keep what you mean, delete the rest.\nflows:\n",
        );
        for (name, f) in names.iter().zip(found) {
            let services: Vec<String> = f.ports.iter().map(|&p| service_name(p)).collect();
            let _ = writeln!(
                s,
                "  - {{ from: {SOURCE_ZONE}, to: {name}, allow: [{}] }}  # found open on {date}: review",
                services.join(", ")
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "# Every open port no flow allows is an exposure.\n\
         default: deny\n\
         deny_mode: any\n\n\
         vantages:\n  \
         {VANTAGE}: {{ zone: {SOURCE_ZONE}, description: The machine that ran the discovery scan }}\n\n\
         # The ports the discovery scanned: a check probes them all again.\n\
         sweep:\n  tcp: [{}]",
        sweep_list(ports)
    );
    s
}

/// `zones:` entries: `internet` (source only: every address, minus the
/// scanned zones), then `net-N` per CIDR.
fn zones(s: &mut String, cidrs: &[IpNetwork]) {
    let _ = writeln!(
        s,
        "  {SOURCE_ZONE}: {{ cidrs: [\"0.0.0.0/0\", \"::/0\"], probe: false, description: This machine and everyone else }}"
    );
    for (i, c) in cidrs.iter().enumerate() {
        let _ =
            writeln!(s, "  net-{}: {{ cidrs: [\"{c}\"], description: \"Scanned {c}\" }}", i + 1);
    }
}

/// `22,80,8000-8100` as YAML list items: `22, 80, "8000-8100"`.
fn sweep_list(ports: &str) -> String {
    let items: Vec<String> = ports
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| if p.contains('-') { format!("\"{p}\"") } else { p.to_owned() })
        .collect();
    items.join(", ")
}

/// `tcp/22 (ssh)`, or `tcp/40123` for a port without a well-known name.
fn port_label(port: u16) -> String {
    match well_known(port) {
        Some(name) => format!("tcp/{port} ({name})"),
        None => format!("tcp/{port}"),
    }
}

/// The service name for a TCP port: its well-known name, else `tcp-PORT`.
pub fn service_name(port: u16) -> String {
    well_known(port).map_or_else(|| format!("tcp-{port}"), str::to_owned)
}

/// The IANA name of a TCP port, where one is obvious (a short list of the
/// ports an exposure review meets most; everything else is `tcp-PORT`).
fn well_known(port: u16) -> Option<&'static str> {
    Some(match port {
        21 => "ftp",
        22 => "ssh",
        23 => "telnet",
        25 => "smtp",
        53 => "dns",
        80 => "http",
        110 => "pop3",
        111 => "rpcbind",
        139 => "netbios-ssn",
        143 => "imap",
        389 => "ldap",
        443 => "https",
        445 => "smb",
        465 => "smtps",
        587 => "submission",
        636 => "ldaps",
        993 => "imaps",
        995 => "pop3s",
        1433 => "mssql",
        1521 => "oracle",
        2049 => "nfs",
        2375 => "docker",
        2376 => "docker-tls",
        3306 => "mysql",
        3389 => "rdp",
        5432 => "postgres",
        5900 => "vnc",
        6379 => "redis",
        8080 => "http-alt",
        8443 => "https-alt",
        9200 => "elasticsearch",
        11211 => "memcached",
        27017 => "mongodb",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;

    /// Loads `yaml` and lints it; every diagnostic, errors and warnings.
    fn problems(yaml: &str) -> Vec<String> {
        let file: Arc<str> = Arc::from("init.yaml");
        let mut loaded = crate::spec::load_bytes(Path::new("init.yaml"), &file, yaml.as_bytes());
        if let Some(intent) = &loaded.intent {
            let today = jiff::civil::date(2026, 1, 1);
            loaded.diagnostics.extend(crate::lint::lint(intent, today));
        }
        loaded.diagnostics.iter().map(ToString::to_string).collect()
    }

    fn nets(list: &[&str]) -> Vec<IpNetwork> {
        list.iter().map(|c| c.parse().expect("cidr")).collect()
    }

    #[test]
    fn starter_and_discovery_specs_lint_clean() {
        assert_eq!(problems(STARTER), Vec::<String>::new());
        let cidrs = nets(&["127.79.0.0/29", "2001:db8::/126"]);
        assert_eq!(problems(&discovery_spec(&cidrs, DEFAULT_PORTS)), Vec::<String>::new());
    }

    #[test]
    fn adopted_spec_lints_clean_with_and_without_hosts() {
        let cidrs = nets(&["127.79.0.0/29", "2001:db8::/126"]);
        let found = [
            Found { address: "127.79.0.2".parse().expect("ip"), ports: vec![22, 8080, 40123] },
            Found { address: "2001:db8::1".parse().expect("ip"), ports: vec![443] },
        ];
        let yaml = adopted(&cidrs, "22,443,8000-8100,40123", &found, "2026-05-01");
        assert_eq!(problems(&yaml), Vec::<String>::new(), "{yaml}");
        for line in [
            "  host-1: { address: \"127.79.0.2\" }  # open: tcp/22 (ssh), tcp/8080 (http-alt), tcp/40123",
            "  tcp-40123: { tcp: [40123] }",
            "  - { from: internet, to: host-1, allow: [ssh, http-alt, tcp-40123] }  # found open on 2026-05-01: review",
            "  - { from: internet, to: host-2, allow: [https] }  # found open on 2026-05-01: review",
            "  tcp: [22, 443, \"8000-8100\", 40123]",
        ] {
            assert!(yaml.lines().any(|l| l == line), "{line:?} not in\n{yaml}");
        }
        let empty = adopted(&cidrs, "22", &[], "2026-05-01");
        assert_eq!(problems(&empty), Vec::<String>::new(), "{empty}");
    }

    #[test]
    fn services_take_well_known_names_else_tcp_port() {
        let cases = [(22, "ssh"), (80, "http"), (443, "https"), (5432, "postgres"), (81, "tcp-81")];
        for (port, name) in cases {
            assert_eq!(service_name(port), name, "{port}");
        }
    }
}

//! The network test lab: small real networks built from Linux network
//! namespaces, for integration tests and benches (DESIGN.md, "Test lab").
//!
//! A lab is one router namespace plus one namespace per *zone*. A zone holds
//! one host, at `.10` of the zone's subnet, on a veth pair to the router,
//! which holds `.1`, forwards between zones, and filters with the nftables
//! ruleset the test gives. A zone's link can instead run through a relay
//! namespace, where the `lab_relay` example bridges two veths and adds delay
//! and loss (this kernel has no `sch_netem`):
//!
//! ```text
//!   zone ns            relay ns (only with link_delay/link_loss)    router ns
//!   eth0 .10  <-veth->  zone [lab_relay] rtr  <-veth->  zN .1   (nft, ip_forward)
//! ```
//!
//! ```ignore
//! let Some(mut lab) = lab::or_skip(
//!     Lab::builder("drop")
//!         .zone("out", "198.18.1.0/24")
//!         .zone("dmz", "198.18.2.0/24")
//!         .router_rules("table inet lab { chain forward { type filter hook forward priority 0; \
//!                        ip daddr 198.18.2.10 tcp dport 8081 drop; } }")
//!         .link_delay("out", Duration::from_millis(40))
//!         .build(),
//! ) else {
//!     return;
//! };
//! lab.listen_tcp("dmz", 8081)?;
//! let outcome = lab.tcp_connect("out", lab.host_addr("dmz"), 8081, Duration::from_secs(1))?;
//! ```
//!
//! Invariants, which together keep the network rule of DESIGN.md:
//! - Addresses come only from 198.18.0.0/15; `build()` refuses anything else.
//! - Every veth is created directly inside lab namespaces (`ip -n A link add
//!   .. peer .. netns B`), so the default namespace never holds a lab link,
//!   address or route, and has no way into a lab.
//! - IPv6 is off in every lab namespace, so hosts send nothing a test did not
//!   cause (no router solicitations, no MLD), and relays count only test
//!   traffic.
//! - Namespaces are named `vl-TAG-PID-N-..`: unique per process and per lab,
//!   so tests running in parallel never collide, and a leftover from a killed
//!   run says which process made it. Interface names are fixed and short
//!   (`eth0`, `zN`, `zone`, `rtr`) because each lives in its own namespace.
//! - Teardown ([`Lab::close`], or `Drop`, which also runs while a failing test
//!   unwinds) kills every process the lab started by its PID, then any other
//!   process still inside a lab namespace, by PID, then deletes the
//!   namespaces, which deletes their veths. A build that fails halfway tears
//!   down what it made. A teardown that leaves something behind fails the
//!   test (unless it is already failing, when it reports on stderr).
//! - A lab needs root. `build()` checks the spec first, then returns
//!   [`LabError::NotRoot`] only when the effective uid is not 0; [`or_skip`]
//!   turns that, and only that, into a skipped test.
//!
//! The relay is the `lab_relay` example; `cargo test --test it` does not
//! build examples, so the first lab that needs one builds it (see `relay.rs`).
//!
//! What a lab cannot survive is its test process being killed (SIGKILL, or
//! the harness aborting on a double panic): nothing runs, and the namespaces
//! stay. Their names carry the dead PID; remove them with `ip netns del`.

// Tests and benches include this module by path, and each uses a subset.
#![allow(dead_code, reason = "shared by tests and benches, each using a subset")]

mod builder;
mod cmd;
mod py;
mod relay;

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use ipnetwork::Ipv4Network;

pub(crate) use builder::LabBuilder;
use builder::{Plan, ZonePlan};
pub(crate) use py::{TcpEcho, TcpOutcome, UdpBurst};
pub(crate) use relay::RelayStats;

/// How long a server may take to say it is listening.
const PATIENCE: Duration = Duration::from_secs(10);

/// Numbers the labs of this process, for unique names.
static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Serializes `ip netns add`: the first one in a process makes `/run/netns` a
/// shared mount point, and two doing that at once can race.
static NETNS_ADD: Mutex<()> = Mutex::new(());

/// Why a lab could not be built or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum LabError {
    /// A setup command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command { command: String, status: String, stderr: String },
    /// The process is not root, so it cannot make namespaces; tests skip.
    #[error("lab `{tag}`: the effective uid is {uid}, not 0")]
    NotRoot { tag: String, uid: String },
    /// Something the lab started or waited for went wrong.
    #[error("{what}: {detail}")]
    Setup { what: String, detail: String },
    /// A command could not be started at all.
    #[error("could not run `{command}`: {source}")]
    Spawn { command: String, source: std::io::Error },
    /// The lab as declared is not allowed; lists every problem.
    #[error("lab `{tag}` is declared wrongly:\n  {}", problems.join("\n  "))]
    Spec { tag: String, problems: Vec<String> },
    /// Teardown left something behind; lists every problem.
    #[error("teardown of lab {prefix} left things behind:\n  {}", problems.join("\n  "))]
    Teardown { prefix: String, problems: Vec<String> },
}

/// Turn a build result into a lab, or into a skip when not root.
///
/// Any other error is a test failure, so this panics with it.
#[allow(clippy::print_stderr, reason = "a skipped test can only say why on stderr")]
pub(crate) fn or_skip(built: Result<Lab, LabError>) -> Option<Lab> {
    match built {
        Ok(lab) => Some(lab),
        // CI sets VANTAGE_REQUIRE_LAB=1: there a skipped lab test would be a
        // silent pass, so not being root is a failure.
        Err(err @ LabError::NotRoot { .. })
            if std::env::var_os("VANTAGE_REQUIRE_LAB").is_some() =>
        {
            panic!("VANTAGE_REQUIRE_LAB is set, but the lab cannot be built: {err}")
        }
        Err(err @ LabError::NotRoot { .. }) => {
            eprintln!(
                "SKIPPED: lab tests need root ({err}); set VANTAGE_REQUIRE_LAB=1 to make this a failure"
            );
            None
        }
        Err(err) => panic!("building the lab failed: {err}"),
    }
}

/// A built lab. Dropping it tears everything down; see the module docs.
pub(crate) struct Lab {
    prefix: String,
    router_ns: String,
    zones: Vec<Zone>,
    /// Every namespace made, in order; teardown deletes them all.
    namespaces: Vec<String>,
    /// Every process started, with what it is; teardown kills them all.
    children: Vec<(String, Child)>,
    /// Files to delete at teardown (relay stats).
    files: Vec<PathBuf>,
}

struct Zone {
    name: String,
    ns: String,
    net: Ipv4Network,
    /// Index into `children` and the relay's stats file.
    relay: Option<(usize, PathBuf)>,
}

impl Lab {
    /// The name that stands for the router namespace wherever a zone name
    /// is taken (`exec`, `spawn`, `namespace`).
    pub(crate) const ROUTER: &'static str = "router";

    /// Start declaring a lab. `tag` names it in namespace names and errors:
    /// 1 to 10 of a-z, 0-9.
    pub(crate) fn builder(tag: &str) -> LabBuilder {
        LabBuilder::new(tag)
    }

    fn create(plan: Plan) -> Result<Self, LabError> {
        let prefix = format!(
            "vl-{}-{}-{}",
            plan.tag,
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Self {
            router_ns: format!("{prefix}-router"),
            prefix,
            zones: Vec::new(),
            namespaces: Vec::new(),
            children: Vec::new(),
            files: Vec::new(),
        };
        // From here on `lab` owns everything made so far, so returning early
        // with `?` drops it, and Drop tears down whatever exists.
        let relay_binary = if plan.zones.iter().any(|z| z.relay.is_some()) {
            Some(relay::binary()?)
        } else {
            None
        };
        let router = lab.router_ns.clone();
        lab.add_namespace(&router)?;
        cmd::run(&cmd::in_ns(&router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]))?;
        for (i, zone) in plan.zones.into_iter().enumerate() {
            lab.add_zone(i, zone, relay_binary.as_deref())?;
        }
        if let Some(rules) = &plan.rules {
            cmd::run_with_stdin(&cmd::in_ns(&router, &["nft", "-f", "-"]), Some(rules))?;
        }
        Ok(lab)
    }

    /// Create a namespace, record it for teardown, turn IPv6 off and bring
    /// loopback up.
    fn add_namespace(&mut self, ns: &str) -> Result<(), LabError> {
        if Path::new("/run/netns").join(ns).exists() {
            return Err(LabError::Setup {
                what: format!("namespace {ns}"),
                detail: "already exists, left over from a killed run? (`ip netns del` it)"
                    .to_owned(),
            });
        }
        {
            let _one_at_a_time = NETNS_ADD.lock().unwrap_or_else(PoisonError::into_inner);
            cmd::run(&["ip", "netns", "add", ns])?;
        }
        self.namespaces.push(ns.to_owned());
        cmd::run(&cmd::in_ns(
            ns,
            &[
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        ))?;
        cmd::run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    fn add_zone(
        &mut self,
        index: usize,
        plan: ZonePlan,
        relay_binary: Option<&Path>,
    ) -> Result<(), LabError> {
        let ns = format!("{}-{}", self.prefix, plan.name);
        let router = self.router_ns.clone();
        let router_if = format!("z{index}");
        let gateway = format!("{}/{}", nth(plan.net, 1), plan.net.prefix());
        let host = format!("{}/{}", nth(plan.net, HOST), plan.net.prefix());
        self.add_namespace(&ns)?;
        let relay_ns = format!("{ns}-relay");
        if plan.relay.is_some() {
            self.add_namespace(&relay_ns)?;
            cmd::run(&[
                "ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", "zone",
                "netns", &relay_ns,
            ])?;
            cmd::run(&[
                "ip", "-n", &relay_ns, "link", "add", "rtr", "type", "veth", "peer", "name",
                &router_if, "netns", &router,
            ])?;
            // Veth passes GSO super-frames of up to 64 KiB to its peer, and
            // the relay can only send frames that fit the MTU. One segment per
            // skb on the two ends that send into the relay makes the host's
            // TCP send MTU-sized frames and the router segment forwarded ones.
            cmd::run(&["ip", "-n", &ns, "link", "set", "eth0", "gso_max_segs", "1"])?;
            cmd::run(&["ip", "-n", &router, "link", "set", &router_if, "gso_max_segs", "1"])?;
            cmd::run(&["ip", "-n", &relay_ns, "link", "set", "zone", "up"])?;
            cmd::run(&["ip", "-n", &relay_ns, "link", "set", "rtr", "up"])?;
        } else {
            cmd::run(&[
                "ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &router_if,
                "netns", &router,
            ])?;
        }
        cmd::run(&["ip", "-n", &router, "addr", "add", &gateway, "dev", &router_if])?;
        cmd::run(&["ip", "-n", &router, "link", "set", &router_if, "up"])?;
        cmd::run(&["ip", "-n", &ns, "addr", "add", &host, "dev", "eth0"])?;
        cmd::run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
        let via = nth(plan.net, 1).to_string();
        cmd::run(&["ip", "-n", &ns, "route", "add", "default", "via", &via])?;
        let relay = match (&plan.relay, relay_binary) {
            (Some(settings), Some(binary)) => {
                let stats = std::env::temp_dir().join(format!("{relay_ns}.stats"));
                self.files.push(stats.with_extension("tmp"));
                self.files.push(stats.clone());
                let child = relay::start(binary, &relay_ns, "zone", "rtr", settings, &stats)?;
                self.children.push((format!("lab_relay for zone {}", plan.name), child));
                Some((self.children.len() - 1, stats))
            }
            _ => None,
        };
        self.zones.push(Zone { name: plan.name, ns, net: plan.net, relay });
        Ok(())
    }

    fn zone(&self, name: &str) -> &Zone {
        self.zones
            .iter()
            .find(|z| z.name == name)
            .unwrap_or_else(|| panic!("lab {} has no zone {name:?}", self.prefix))
    }

    /// The address of the zone's host (`.10` of its subnet). Panics on an
    /// unknown zone: that is a bug in the test.
    pub(crate) fn host_addr(&self, zone: &str) -> IpAddr {
        IpAddr::V4(nth(self.zone(zone).net, HOST))
    }

    /// The router's address in the zone (`.1` of its subnet).
    pub(crate) fn gateway_addr(&self, zone: &str) -> IpAddr {
        IpAddr::V4(nth(self.zone(zone).net, 1))
    }

    /// The namespace of a zone, or of the router for [`Lab::ROUTER`], for
    /// running things the lab has no helper for (`ip netns exec NS ..`).
    pub(crate) fn namespace(&self, zone: &str) -> &str {
        if zone == Self::ROUTER { &self.router_ns } else { &self.zone(zone).ns }
    }

    /// Every namespace of the lab, relays included.
    pub(crate) fn namespaces(&self) -> Vec<String> {
        self.namespaces.clone()
    }

    /// The PIDs of every process the lab started and still owns.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|(_, child)| child.id()).collect()
    }

    /// Run a command to completion inside a zone (or the router) and return
    /// its output, whatever its exit status.
    pub(crate) fn exec(&self, zone: &str, argv: &[&str]) -> Result<Output, LabError> {
        cmd::output(&cmd::in_ns(self.namespace(zone), argv), None)
    }

    /// Start a long-running command inside a zone (or the router), with no
    /// stdio; the lab kills it at teardown. Returns its PID.
    pub(crate) fn spawn(&mut self, zone: &str, argv: &[&str]) -> Result<u32, LabError> {
        let full = cmd::in_ns(self.namespace(zone), argv);
        let child = Command::new(full[0])
            .args(&full[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LabError::Spawn { command: full.join(" "), source })?;
        let pid = child.id();
        self.children.push((argv.join(" "), child));
        Ok(pid)
    }

    /// Start a TCP echo server on `0.0.0.0:port` in the zone and return its
    /// PID once it is listening.
    pub(crate) fn listen_tcp(&mut self, zone: &str, port: u16) -> Result<u32, LabError> {
        self.spawn_server(zone, py::TCP_ECHO, &format!("tcp echo :{port} in {zone}"), port)
    }

    /// Start a UDP echo server on `0.0.0.0:port` in the zone and return its
    /// PID once it is bound.
    pub(crate) fn listen_udp(&mut self, zone: &str, port: u16) -> Result<u32, LabError> {
        self.spawn_server(zone, py::UDP_ECHO, &format!("udp echo :{port} in {zone}"), port)
    }

    fn spawn_server(
        &mut self,
        zone: &str,
        script: &str,
        what: &str,
        port: u16,
    ) -> Result<u32, LabError> {
        let port = port.to_string();
        let full = cmd::in_ns(self.namespace(zone), &["python3", "-c", script, &port]);
        let mut child = Command::new(full[0])
            .args(&full[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| LabError::Spawn { command: what.to_owned(), source })?;
        let stdout = child.stdout.take().expect("stdout was configured as a pipe");
        let pid = child.id();
        self.children.push((what.to_owned(), child));
        // Read the ready line on a thread, so a server that hangs without
        // printing it costs PATIENCE, not the whole test run.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = tx.send(BufReader::new(stdout).read_line(&mut line).map(|_| line));
        });
        let detail = match rx.recv_timeout(PATIENCE) {
            Ok(Ok(line)) if line.trim() == "ready" => return Ok(pid),
            Ok(Ok(line)) => format!("printed {line:?} instead of \"ready\""),
            Ok(Err(e)) => format!("reading its stdout: {e}"),
            Err(_) => format!("not ready after {PATIENCE:?}"),
        };
        let (_, child) = self.children.last_mut().expect("the server was pushed just above");
        Err(LabError::Setup {
            what: what.to_owned(),
            detail: format!("{detail}; {}", end_and_explain(child)),
        })
    }

    /// Try one TCP connect from the zone's host, waiting at most `timeout`.
    pub(crate) fn tcp_connect(
        &self,
        zone: &str,
        addr: IpAddr,
        port: u16,
        timeout: Duration,
    ) -> Result<TcpOutcome, LabError> {
        let args = [addr.to_string(), port.to_string(), timeout.as_secs_f64().to_string()];
        let line = self.python(zone, py::TCP_CONNECT, &args)?;
        py::parse_connect(&line).ok_or_else(|| probe_error("tcp connect probe", &line))
    }

    /// Send `len` bytes to a TCP echo server from the
    /// zone's host while reading the echo, and check what came back.
    pub(crate) fn tcp_echo(
        &self,
        zone: &str,
        addr: IpAddr,
        port: u16,
        len: usize,
    ) -> Result<TcpEcho, LabError> {
        let line = self.python(
            zone,
            py::TCP_ECHO_CLIENT,
            &[addr.to_string(), port.to_string(), len.to_string()],
        )?;
        py::parse_echo(&line).ok_or_else(|| probe_error("tcp echo probe", &line))
    }

    /// Send `count` UDP datagrams from the zone's host to an echo server,
    /// `gap` apart, and count the distinct echoes that come back within a
    /// second of the last one.
    pub(crate) fn udp_burst(
        &self,
        zone: &str,
        addr: IpAddr,
        port: u16,
        count: u32,
        gap: Duration,
    ) -> Result<UdpBurst, LabError> {
        let args = [
            addr.to_string(),
            port.to_string(),
            count.to_string(),
            gap.as_millis().to_string(),
            "1000".to_owned(),
        ];
        let line = self.python(zone, py::UDP_BURST, &args)?;
        py::parse_burst(&line).ok_or_else(|| probe_error("udp burst probe", &line))
    }

    /// Run a Python probe in the zone and return its one line of output.
    fn python(&self, zone: &str, script: &str, args: &[String]) -> Result<String, LabError> {
        let mut argv = vec!["python3", "-c", script];
        argv.extend(args.iter().map(String::as_str));
        let full = cmd::in_ns(self.namespace(zone), &argv);
        let output = cmd::output(&full, None)?;
        if !output.status.success() {
            return Err(LabError::Command {
                command: format!("python probe in {zone} {}", args.join(" ")),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The counters of the relay on a zone's link, covering every frame it
    /// took in before this call. Panics if the zone has no relay.
    pub(crate) fn relay_stats(&mut self, zone: &str) -> Result<RelayStats, LabError> {
        let (index, stats) =
            self.zone(zone).relay.clone().unwrap_or_else(|| {
                panic!("zone {zone:?} has no link_delay or link_loss, so no relay")
            });
        let (_, child) = &mut self.children[index];
        relay::read_stats(child, &stats)
    }

    /// Tear the lab down now and report anything left behind as an error,
    /// for tests that want to see teardown succeed.
    pub(crate) fn close(mut self) -> Result<(), LabError> {
        let problems = self.teardown();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(LabError::Teardown { prefix: self.prefix.clone(), problems })
        }
    }

    /// Kill our processes, then anything else in our namespaces, then delete
    /// the namespaces; return every problem. Safe to call twice: the second
    /// call finds nothing left to do.
    fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        for (what, mut child) in self.children.drain(..) {
            // kill() fails only if the process has already been reaped, and
            // nothing else reaps it; wait() is what proves it is gone.
            let _ = child.kill();
            if let Err(e) = child.wait() {
                problems.push(format!("{what} (pid {}): {e}", child.id()));
            }
        }
        for ns in self.namespaces.drain(..).rev() {
            // Something our processes started may still be inside; every
            // process in a lab namespace is the lab's, so it ends by PID too.
            match cmd::run(&["ip", "netns", "pids", &ns]) {
                Ok(out) => {
                    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                        if let Err(e) = cmd::run(&["kill", "-KILL", pid]) {
                            problems.push(format!("stray pid {pid} in {ns}: {e}"));
                        }
                    }
                }
                Err(e) => problems.push(e.to_string()),
            }
            if let Err(e) = cmd::run(&["ip", "netns", "del", &ns]) {
                problems.push(e.to_string());
            }
        }
        for file in self.files.drain(..) {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    problems.push(format!("removing {}: {e}", file.display()));
                }
                _ => {}
            }
        }
        problems
    }
}

impl Drop for Lab {
    #[allow(clippy::print_stderr, reason = "a panic during unwinding would abort the test run")]
    fn drop(&mut self) {
        let problems = self.teardown();
        if problems.is_empty() {
            return;
        }
        let err = LabError::Teardown { prefix: self.prefix.clone(), problems };
        if thread::panicking() {
            eprintln!("{err}");
        } else {
            panic!("{err}");
        }
    }
}

/// The host number of a zone's host within its subnet.
const HOST: u32 = 10;

/// The `n`th address of `net`.
fn nth(net: Ipv4Network, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

fn probe_error(what: &str, line: &str) -> LabError {
    LabError::Setup { what: what.to_owned(), detail: format!("unexpected output {line:?}") }
}

/// Kill a child that failed to start properly and describe how it ended,
/// with its stderr. It is ours and we hold its handle, so this is by PID.
fn end_and_explain(child: &mut Child) -> String {
    let _ = child.kill();
    let status = match child.wait() {
        Ok(status) => status.to_string(),
        Err(e) => format!("unknown status ({e})"),
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    format!("it ended ({status}), stderr: {}", stderr.trim())
}

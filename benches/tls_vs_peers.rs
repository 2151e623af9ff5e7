//! Side-by-side TLS benchmark: vantage against sslscan, testssl.sh and
//! sslyze, in the same run, over the same TLS bed (`tests/tlsbed`: 12
//! endpoints on 127.0.0.2.. of a lab namespace, 14 planted flaws). Needs
//! root. Run with `cargo bench --bench tls_vs_peers`;
//! `TLS_BENCH_ONLY=vantage,sslscan` (tool name prefixes, comma separated)
//! runs only those tools, and `TLS_BENCH_OUT=DIR` keeps every tool's output
//! there to read.
//!
//! What it measures, per tool, with the python3 measurer run inside the
//! bed's namespace (wall time of each process, and its peak RSS through
//! `wait4`, which covers the processes it waited for):
//! - per endpoint: one run against that endpoint alone (vantage: `vantage
//!   check` on a spec with only its host, service and flow; sslscan with
//!   `--sni-name`; sslyze with `DNS:PORT{IP}`, against Mozilla
//!   intermediate, modern for the `tls13` endpoint);
//! - the whole bed: vantage one `check` of the whole spec; sslscan one run
//!   with `--targets` (which sends no per-target SNI: the IP is its name);
//!   sslyze one invocation with all 12 targets, which it scans concurrently
//!   (all held to intermediate, `tls13` too); these three are median of 3.
//!   testssl.sh takes a minute or more per endpoint, so it runs once: its 12
//!   processes (each `--ip IP DNS:PORT`, default checks) start at once, the
//!   whole bed takes until the last ends, and each endpoint's time is its own
//!   process's, sharing the CPU with the 11 others;
//! - peak RSS of the whole-bed run (for testssl.sh, of its largest process
//!   and the sum of the 12), and each peer's whole-bed time over vantage's.
//!
//! Trust: each tool that takes a trust anchor gets the bed's `root.pem`
//! (vantage through the spec's `trusted_ca`, testssl.sh `--add-ca`, sslyze
//! `--certinfo_ca_file`); sslscan validates no chain.
//!
//! The flaw matrix says, for each planted flaw, whether each tool FLAGGED it
//! in its whole-bed run: its own output marks it as a problem at that
//! endpoint (listing the fact without a mark is not a flag; the evidence
//! lines below the matrix say what each tool wrote either way):
//! - vantage: a finding of the planted rule at the endpoint's address and
//!   port whose observed or evidence text names the flaw's word (the test of
//!   `tests/it/tls_lab.rs`);
//! - sslscan (XML): `<protocol .. enabled="1">` for TLS 1.0 and 1.1; a suite
//!   of the flaw's kind (by IANA name of its `id`) with strength `null`,
//!   `anonymous`, `weak` or `medium`, where nothing else explains the mark
//!   (sslscan rates suites by cipher bits, RC4 and anonymity only, so a CBC or
//!   static-RSA suite marked for being 3DES, RC4 or anonymous does not count
//!   for CBC or static RSA); `<expired>true` and `<self-signed>true`. It has
//!   nothing that marks a key size, a signature, a name, a chain or days left;
//! - testssl.sh (JSON): a finding of severity LOW, MEDIUM, HIGH or CRITICAL
//!   on the flaw's ids (TLS1, TLS1_1; cipherlist_AVERAGE or LUCKY13 for CBC;
//!   cipherlist_3DES_IDEA or SWEET32; RC4; cert_expirationStatus, saying
//!   "expired" for the expired certificate; cert_chain_of_trust; cert_trust;
//!   cert_keySize; cert_signatureAlgorithm), or WARN on optimal_proto (where
//!   it says the port speaks no TLS). It has no finding for static RSA key
//!   exchange;
//! - sslyze: the Mozilla compliance failures it prints for the target
//!   (tls_versions; a suite of the flaw's kind in ciphers; rsa_key_size;
//!   certificate_signatures; certificate_path_validation for expired, self-
//!   signed, wrong name and missing intermediate, whose reasons differ only
//!   in its trust lines), or its connectivity ERROR for the plaintext port.
//!   Mozilla's profile has no days-left rule, so nothing marks `expiring`.
//!
//! `FLAGGED*`: the same test also passes at a clean endpoint (`tls13`,
//! `intermediate`), so the mark does not tell the flaw from no flaw (as
//! testssl.sh's "expires < 30 days", which it gives every certificate of the
//! bed: they live 30 days). The same judgement on the per-endpoint runs is
//! printed only where it differs from the whole-bed run's; everything each
//! tool marks at the two clean endpoints is printed too.
//! Prints figures; never fails on them (tests check correctness).

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![allow(clippy::print_stderr, reason = "and says on stderr why it skipped")]

#[path = "../tests/lab/mod.rs"]
mod lab;
#[path = "../tests/tlsbed/mod.rs"]
mod tlsbed;

#[path = "tls_vs_peers/judge.rs"]
mod judge;

use std::path::PathBuf;

use judge::{judge, marks, sslscan_section, sslyze_digest};
use serde_json::Value;
use tlsbed::{Bed, BedError, Endpoint};

/// Starts every job at once (argv[1]: time limit in s; argv[2]: JSON list of
/// [argv, log file]), each in a session of its own so that at the limit (an
/// alarm) a job is killed with everything it started, by its process group
/// id; reaps them with a blocking `wait4`, so times are exact; prints
/// JSON: the wall time until the last ended, and per job its own wall time,
/// peak RSS (KiB, from wait4) and exit code (124: killed at the limit; 127:
/// could not start).
const MEASURE: &str = "import json, os, signal, subprocess, sys, time
limit = float(sys.argv[1])
jobs = json.loads(sys.argv[2])
out = [None] * len(jobs)
live = {}
t0 = time.monotonic()
for i, (argv, log) in enumerate(jobs):
    try:
        with open(log, 'wb') as f:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        live[p.pid] = (i, p)
    except OSError:
        out[i] = {'secs': 0.0, 'rss_kib': 0, 'rc': 127}
killed = False
def stop(*_):
    global killed
    killed = True
    for _, p in live.values():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
signal.signal(signal.SIGALRM, stop)
signal.alarm(int(limit))
while live:
    pid, status, ru = os.wait4(-1, 0)
    if pid not in live:
        continue
    i, p = live.pop(pid)
    p.returncode = os.waitstatus_to_exitcode(status)
    rc = 124 if killed else p.returncode
    out[i] = {'secs': time.monotonic() - t0, 'rss_kib': ru.ru_maxrss, 'rc': rc}
print(json.dumps({'wall': time.monotonic() - t0, 'jobs': out}))";

/// The peers, and us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Vantage,
    Sslscan,
    Testssl,
    Sslyze,
}

impl Tool {
    const ALL: [Self; 4] = [Self::Vantage, Self::Sslscan, Self::Testssl, Self::Sslyze];

    fn name(self) -> &'static str {
        match self {
            Self::Vantage => "vantage",
            Self::Sslscan => "sslscan",
            Self::Testssl => "testssl.sh",
            Self::Sslyze => "sslyze",
        }
    }

    /// Short file prefix of its outputs.
    fn tag(self) -> &'static str {
        match self {
            Self::Vantage => "v",
            Self::Sslscan => "s",
            Self::Testssl => "t",
            Self::Sslyze => "y",
        }
    }

    /// Longest a batch of this tool may take, in seconds.
    fn limit(self) -> u64 {
        match self {
            Self::Vantage => 120,
            Self::Sslscan => 300,
            Self::Testssl => 1200,
            Self::Sslyze => 600,
        }
    }

    /// Whole-bed runs, median taken (testssl.sh's one run takes minutes).
    fn repeats(self) -> usize {
        if self == Self::Testssl { 1 } else { 3 }
    }
}

/// One process to start: its argv, where its stdout and stderr go.
struct Job {
    argv: Vec<String>,
    log: PathBuf,
}

/// What the measurer said of one process.
#[derive(Debug, Clone, Copy)]
struct Took {
    secs: f64,
    rss_kib: u64,
    rc: i64,
}

/// What the measurer said of a batch started at once.
#[derive(Debug, Clone)]
struct Batch {
    wall: f64,
    jobs: Vec<Took>,
}

/// Runs `jobs`, all at once, in the bed's namespace under the measurer;
/// `None` when the measurer itself failed.
fn measure(bed: &Bed, limit: u64, jobs: &[Job]) -> Option<Batch> {
    let list: Vec<Value> =
        jobs.iter().map(|j| serde_json::json!([j.argv, j.log.display().to_string()])).collect();
    let list = Value::Array(list).to_string();
    let out = bed.exec(&["python3", "-c", MEASURE, &limit.to_string(), &list]);
    let doc: Value = match serde_json::from_slice(&out.stdout) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!(
                "tls_vs_peers: the measurer failed ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
    };
    let took: Vec<Took> = doc["jobs"]
        .as_array()?
        .iter()
        .map(|j| Took {
            secs: j["secs"].as_f64().unwrap_or(f64::NAN),
            rss_kib: j["rss_kib"].as_u64().unwrap_or(0),
            rc: j["rc"].as_i64().unwrap_or(-1),
        })
        .collect();
    for (job, t) in jobs.iter().zip(&took) {
        let program = job.argv.first().map_or("?", String::as_str);
        match t.rc {
            124 => eprintln!("tls_vs_peers: {program} was killed at the time limit ({limit} s)"),
            127 => eprintln!("tls_vs_peers: {program} could not start"),
            _ => {}
        }
    }
    Some(Batch { wall: doc["wall"].as_f64()?, jobs: took })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Everything a tool's runs need.
struct Ctx<'a> {
    bed: &'a Bed,
    /// Where the outputs go.
    out: PathBuf,
    vantage: String,
    sslyze: String,
    /// The whole bed's spec.
    spec: String,
    /// sslscan's `--targets` file.
    targets: String,
}

impl Ctx<'_> {
    fn file(&self, name: &str) -> PathBuf {
        self.out.join(name)
    }

    fn root(&self) -> String {
        self.bed.dir().join("root.pem").display().to_string()
    }

    /// The output file of `tool` for endpoint `name` (or `all`).
    fn output(&self, tool: Tool, name: &str) -> PathBuf {
        let ext = match tool {
            Tool::Sslscan => "xml",
            Tool::Vantage | Tool::Testssl | Tool::Sslyze => "json",
        };
        self.file(&format!("{}-{name}.{ext}", tool.tag()))
    }

    fn log(&self, tool: Tool, name: &str) -> PathBuf {
        self.file(&format!("{}-{name}.log", tool.tag()))
    }

    /// The job that runs `tool` on `e` alone.
    fn endpoint_job(&self, tool: Tool, e: &Endpoint) -> Job {
        let out = self.output(tool, e.name).display().to_string();
        let (ip, port) = (e.addr.ip().to_string(), e.addr.port());
        let argv: Vec<String> = match tool {
            Tool::Vantage => {
                let spec = self.bed.write_spec_for(&[e.name], &format!("ep-{}.yaml", e.name));
                let spec = spec.display().to_string();
                vantage_check(&self.vantage, &spec, &out)
            }
            Tool::Sslscan => strings(&[
                "sslscan",
                "--no-colour",
                &format!("--sni-name={}", e.dns),
                &format!("--xml={out}"),
                &e.addr.to_string(),
            ]),
            Tool::Testssl => strings(&[
                "testssl",
                "--jsonfile",
                &out,
                "--quiet",
                "--color",
                "0",
                "--warnings",
                "off",
                "--add-ca",
                &self.root(),
                "--ip",
                &ip,
                &format!("{}:{port}", e.dns),
            ]),
            Tool::Sslyze => {
                let profile = if e.profile == "modern" { "modern" } else { "intermediate" };
                strings(&[
                    &self.sslyze,
                    &format!("--json_out={out}"),
                    &format!("--mozilla_config={profile}"),
                    &format!("--certinfo_ca_file={}", self.root()),
                    &sslyze_target(e),
                ])
            }
        };
        Job { argv, log: self.log(tool, e.name) }
    }

    /// The jobs of a whole-bed run of `tool`, started at once.
    fn whole_jobs(&self, tool: Tool) -> Vec<Job> {
        let out = self.output(tool, "all").display().to_string();
        let log = self.log(tool, "all");
        match tool {
            Tool::Vantage => {
                vec![Job { argv: vantage_check(&self.vantage, &self.spec, &out), log }]
            }
            Tool::Sslscan => vec![Job {
                argv: strings(&[
                    "sslscan",
                    "--no-colour",
                    &format!("--xml={out}"),
                    &format!("--targets={}", self.targets),
                ]),
                log,
            }],
            Tool::Testssl => {
                self.bed.endpoints().iter().map(|e| self.endpoint_job(tool, e)).collect()
            }
            Tool::Sslyze => {
                let mut argv = strings(&[
                    &self.sslyze,
                    &format!("--json_out={out}"),
                    "--mozilla_config=intermediate",
                    &format!("--certinfo_ca_file={}", self.root()),
                ]);
                argv.extend(self.bed.endpoints().iter().map(sslyze_target));
                vec![Job { argv, log }]
            }
        }
    }

    /// The text of `tool`'s output that concerns `e`: from the whole-bed run
    /// or from the run on `e` alone.
    fn text(&self, tool: Tool, whole: bool, e: &Endpoint) -> String {
        let name = if whole && tool != Tool::Testssl { "all" } else { e.name };
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        match tool {
            Tool::Vantage | Tool::Testssl => read(self.output(tool, name)),
            Tool::Sslscan => sslscan_section(&read(self.output(tool, name)), e),
            Tool::Sslyze => sslyze_digest(&read(self.log(tool, name)), e),
        }
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn vantage_check(vantage: &str, spec: &str, out: &str) -> Vec<String> {
    strings(&[
        vantage, "check", spec, "--from", "here", "--mode", "connect", "--quiet", "--format",
        "json", "-o", out,
    ])
}

/// sslyze's target syntax with the address to use: `DNS:PORT{IP}`.
fn sslyze_target(e: &Endpoint) -> String {
    format!("{}:{}{{{}}}", e.dns, e.addr.port(), e.addr.ip())
}

/// Whether `program` runs at all.
fn runs(program: &str, arg: &str) -> bool {
    std::process::Command::new(program)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// sslyze: on PATH, else where the README's venv puts it.
fn find_sslyze() -> Option<String> {
    let on_path = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("sslyze")).find(|f| f.is_file()));
    on_path
        .or_else(|| Some(PathBuf::from("/opt/sslyze/bin/sslyze")).filter(|f| f.is_file()))
        .map(|p| p.display().to_string())
}

/// Removes the output folder at the end, also when the bench panics,
/// unless it was asked to be kept.
struct OutDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// One tool's figures.
struct Figures {
    tool: Tool,
    /// Per endpoint, in the bed's order.
    per_endpoint: Vec<Option<Took>>,
    /// Median whole-bed wall time, and the runs.
    whole: Option<f64>,
    runs: Vec<f64>,
    /// Peak RSS of the whole-bed run's largest process, and the sum over
    /// its processes (they differ for testssl.sh only), in KiB.
    rss_max: u64,
    rss_sum: u64,
}

fn main() {
    let only: Option<Vec<String>> = std::env::var("TLS_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect());
    let wanted =
        |t: Tool| only.as_ref().is_none_or(|o| o.iter().any(|p| t.name().starts_with(p.as_str())));
    let sslyze = find_sslyze();
    let mut tools = Vec::new();
    for tool in Tool::ALL.into_iter().filter(|t| wanted(*t)) {
        let missing = match tool {
            Tool::Vantage => None,
            Tool::Sslscan => (!runs("sslscan", "--version")).then_some("apt-get install sslscan"),
            Tool::Testssl => {
                (!runs("testssl", "--version")).then_some("apt-get install testssl.sh")
            }
            Tool::Sslyze => sslyze
                .is_none()
                .then_some("python3 -m venv /opt/sslyze && /opt/sslyze/bin/pip install sslyze"),
        };
        match missing {
            Some(how) => {
                eprintln!("tls_vs_peers: {} is not installed ({how}); left out", tool.name())
            }
            None => tools.push(tool),
        }
    }
    let bed = match Bed::start("bench") {
        Ok(bed) => bed,
        Err(BedError::Missing(why)) => {
            eprintln!("tls_vs_peers: the TLS bed cannot start ({why}); skipped");
            return;
        }
        Err(e) => panic!("the TLS bed did not start: {e:?}"),
    };
    let keep = std::env::var_os("TLS_BENCH_OUT").map(PathBuf::from);
    let out = OutDir {
        path: keep.clone().unwrap_or_else(|| bed.dir().join("bench-out")),
        keep: keep.is_some(),
    };
    std::fs::create_dir_all(&out.path).expect("the output folder");
    let targets = out.path.join("targets.txt");
    let lines: Vec<String> = bed.endpoints().iter().map(|e| e.addr.to_string()).collect();
    std::fs::write(&targets, lines.join("\n") + "\n").expect("sslscan's targets file");
    let ctx = Ctx {
        bed: &bed,
        out: out.path.clone(),
        vantage: env!("CARGO_BIN_EXE_vantage").to_owned(),
        sslyze: sslyze.unwrap_or_default(),
        spec: bed.write_spec().display().to_string(),
        targets: targets.display().to_string(),
    };
    let endpoints = bed.endpoints().to_vec();
    let flaws: usize = endpoints.iter().map(|e| e.flaws.len()).sum();
    println!(
        "tls_vs_peers: TLS bed, {} endpoints with {flaws} planted flaws, in a lab namespace; tools: {}",
        endpoints.len(),
        tools.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
    );
    let mut figures = Vec::new();
    for &tool in &tools {
        eprintln!("tls_vs_peers: running {}", tool.name());
        let mut per_endpoint = vec![None; endpoints.len()];
        if tool != Tool::Testssl {
            for (i, e) in endpoints.iter().enumerate() {
                let _ = std::fs::remove_file(ctx.output(tool, e.name));
                let job = ctx.endpoint_job(tool, e);
                per_endpoint[i] =
                    measure(&bed, tool.limit(), &[job]).and_then(|b| b.jobs.first().copied());
            }
        }
        let mut runs = Vec::new();
        let (mut rss_max, mut rss_sum) = (0, 0);
        for _ in 0..tool.repeats() {
            let jobs = ctx.whole_jobs(tool);
            // testssl.sh refuses to write over a JSON file.
            let _ = std::fs::remove_file(ctx.output(tool, "all"));
            if tool == Tool::Testssl {
                for e in &endpoints {
                    let _ = std::fs::remove_file(ctx.output(tool, e.name));
                }
            }
            let Some(batch) = measure(&bed, tool.limit(), &jobs) else { continue };
            runs.push(batch.wall);
            rss_max = rss_max.max(batch.jobs.iter().map(|j| j.rss_kib).max().unwrap_or(0));
            rss_sum = rss_sum.max(batch.jobs.iter().map(|j| j.rss_kib).sum());
            if tool == Tool::Testssl {
                per_endpoint = batch.jobs.iter().copied().map(Some).collect();
            }
        }
        let whole = (!runs.is_empty()).then(|| median(runs.clone()));
        figures.push(Figures { tool, per_endpoint, whole, runs, rss_max, rss_sum });
    }
    report(&ctx, &endpoints, &figures);
    if out.keep {
        println!("tls_vs_peers: outputs kept in {}", out.path.display());
    }
}

fn report(ctx: &Ctx<'_>, endpoints: &[Endpoint], figures: &[Figures]) {
    let secs = |t: Option<f64>| t.map_or_else(|| "-".to_owned(), |t| format!("{t:.2}"));
    let head: String = figures.iter().map(|f| format!("{:>12}", f.tool.name())).collect();
    println!(
        "\nwall time, s (per endpoint: a run on it alone; testssl.sh: its own process among 12 at once)"
    );
    println!("  {:<14}{head}", "endpoint");
    for (i, e) in endpoints.iter().enumerate() {
        let row: String = figures
            .iter()
            .map(|f| {
                let t = f.per_endpoint.get(i).copied().flatten();
                let mark = match t.map(|t| t.rc) {
                    Some(124) => "!",
                    _ => "",
                };
                format!("{:>12}", format!("{}{mark}", secs(t.map(|t| t.secs))))
            })
            .collect();
        println!("  {:<14}{row}", e.name);
    }
    let row: String = figures.iter().map(|f| format!("{:>12}", secs(f.whole))).collect();
    println!("  {:<14}{row}", "whole bed");
    let row: String = figures
        .iter()
        .map(|f| format!("{:>12}", format!("{:.1}", f.rss_max as f64 / 1024.0)))
        .collect();
    println!("  {:<14}{row}", "peak RSS MiB");
    let ours = figures.iter().find(|f| f.tool == Tool::Vantage).and_then(|f| f.whole);
    let row: String = figures
        .iter()
        .map(|f| match (f.whole, ours) {
            (Some(t), Some(o)) => format!("{:>12}", format!("{:.1}x", t / o)),
            _ => format!("{:>12}", "-"),
        })
        .collect();
    println!("  {:<14}{row}", "/ vantage");
    for f in figures {
        let runs: Vec<f64> = f.runs.iter().map(|x| (x * 100.0).round() / 100.0).collect();
        let sum = if f.tool == Tool::Testssl {
            format!("; the 12 processes' peaks add up to {:.1} MiB", f.rss_sum as f64 / 1024.0)
        } else {
            String::new()
        };
        println!("  {}: whole-bed runs {runs:?}{sum}", f.tool.name());
    }
    println!("  (\"!\": killed at the time limit)");

    println!(
        "\nflaw matrix (whole-bed run): FLAGGED = the tool's own output marks it at that endpoint"
    );
    println!("  {:<13}{:<41}{head}", "endpoint", "planted flaw");
    let clean: Vec<&Endpoint> = endpoints.iter().filter(|e| e.flaws.is_empty()).collect();
    let mut count = vec![(0, 0); figures.len()];
    let mut evidence = Vec::new();
    let mut disagree = Vec::new();
    for e in endpoints {
        for &flaw in e.flaws {
            let mut row = String::new();
            for (k, f) in figures.iter().enumerate() {
                let c = judge(f.tool, flaw, e, &ctx.text(f.tool, true, e));
                // The same test passing at a clean endpoint: then the mark
                // does not tell this flaw from no flaw.
                let everywhere = c.flagged
                    && clean
                        .iter()
                        .any(|g| judge(f.tool, flaw, g, &ctx.text(f.tool, true, g)).flagged);
                count[k].0 += usize::from(c.flagged);
                count[k].1 += usize::from(everywhere);
                let mark = match (c.flagged, everywhere) {
                    (true, true) => "FLAGGED*",
                    (true, false) => "FLAGGED",
                    (false, _) => "no",
                };
                row.push_str(&format!("{mark:>12}"));
                evidence.push(format!(
                    "  {:<11} {:<13}{:<41}{:<5}{}",
                    f.tool.name(),
                    e.name,
                    format!("{} {}", flaw.0, flaw.1),
                    if c.flagged { "yes" } else { "no" },
                    c.why.replace('\n', " ").chars().take(170).collect::<String>()
                ));
                if f.tool != Tool::Testssl {
                    let alone = judge(f.tool, flaw, e, &ctx.text(f.tool, false, e));
                    if alone.flagged != c.flagged {
                        disagree.push(format!(
                            "  {} {} {} {}: whole bed {}, alone {} ({})",
                            f.tool.name(),
                            e.name,
                            flaw.0,
                            flaw.1,
                            c.flagged,
                            alone.flagged,
                            alone.why
                        ));
                    }
                }
            }
            println!("  {:<13}{:<41}{row}", e.name, format!("{} {}", flaw.0, flaw.1));
        }
    }
    let total: usize = endpoints.iter().map(|e| e.flaws.len()).sum();
    let row: String =
        count.iter().map(|(n, _)| format!("{:>12}", format!("{n} of {total}"))).collect();
    println!("  {:<13}{:<41}{row}", "flags", "");
    let row: String = count.iter().map(|(_, n)| format!("{n:>12}")).collect();
    println!("  {:<13}{:<41}{row}", "* of which", "also at a clean endpoint");

    println!("\nevidence (what each tool wrote, whole-bed run)");
    for line in &evidence {
        println!("{line}");
    }
    if disagree.is_empty() {
        println!("\nruns on each endpoint alone: the same flags as the whole-bed run");
    } else {
        println!("\nruns on each endpoint alone, judged differently:");
        for line in &disagree {
            println!("{line}");
        }
    }
    println!("\nmarked at the clean endpoints (whole-bed run)");
    for e in endpoints.iter().filter(|e| e.flaws.is_empty()) {
        for f in figures {
            let m = marks(f.tool, e, &ctx.text(f.tool, true, e));
            println!("  {:<11} {:<13}{} {}", f.tool.name(), e.name, m.len(), m.join("; "));
        }
    }
}

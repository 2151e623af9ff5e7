//! Command-line arguments (clap derive), with each flag's help beside it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;
use vantage::engine::limits;
use vantage::plan::Shard;
use vantage::plan::exclude::{Exclusions, MAX_LIST_BYTES};

/// Network exposure validator: declare what your network should expose,
/// probe it from vantage points, and get every difference, with evidence.
#[derive(Debug, Parser)]
#[command(name = "vantage", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Args {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Say less and more on stderr (`-q`, `-v`...; given before or after the subcommand).
    #[command(flatten)]
    pub(crate) feedback: super::log::Feedback,
}

/// Subcommands. `agent`, `certs`, `check`, `demo`, `verdict`, `compare`,
/// `completions`, `man`, `import` and `init` keep their flags in their own files
/// (`verdict::ReportOpts` is shared).
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run as a remote vantage: take plans from controllers over mutual TLS, stream observations back.
    Agent(super::agent::AgentArgs),
    /// Make a private CA and certificates for agents and controllers (mutual TLS).
    Certs(super::certs::CertsArgs),
    /// Scan from this vantage and judge what was observed against the spec, in one run.
    Check(super::check::CheckArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(super::docs::CompletionsArgs),
    /// Start a small shop on loopback, check it against a built-in spec, explain each finding, clean up.
    Demo(super::demo::DemoArgs),
    /// Show what changed between two scans (ports, hosts), towards or away from a spec's intent.
    Compare(super::compare::CompareArgs),
    /// Turn another scanner's output (nmap XML) into an observation file for `verdict`.
    Import(super::import::ImportArgs),
    /// Write a commented starter spec, or one adopted from a discovery scan (--from-scan CIDR...).
    Init(super::init::InitArgs),
    /// Check a spec: every error (exit 2) and every warning (exit 0, or 2 with --strict).
    Lint(LintArgs),
    /// Print the man page (vantage.1), or write it and one page per subcommand into --out DIR.
    Man(super::docs::ManArgs),
    /// Show what a scan from a vantage would send, without sending anything.
    Plan(PlanArgs),
    /// Scan from a vantage and write what was observed (JSON Lines).
    Scan(ScanCommand),
    /// Print the JSON Schema (draft-07) of the spec or of the findings output.
    Schema(SchemaArgs),
    /// Judge observation files (any vantages and shards) against a spec and report every difference.
    Verdict(super::verdict::VerdictArgs),
}

/// Output formats of `lint` and `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Human,
    /// For tools (one JSON document; JSON Lines with `plan --list`).
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LintArgs {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
    /// Treat warnings as errors (exit 2 when there is any).
    #[arg(long)]
    pub(crate) strict: bool,
    /// The date to judge waiver expiry against (YYYY-MM-DD, UTC); default today.
    #[arg(long, value_name = "DATE")]
    pub(crate) now: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// The vantage the scan would run from (a name under `vantages:`); default: the one
    /// whose zone holds this machine's source address towards the targets, if exactly one.
    #[arg(long, value_name = "VANTAGE")]
    pub(crate) from: Option<String>,
    /// Which shard of the plan.
    #[command(flatten)]
    pub(crate) shard: ShardOpts,
    /// Seed of the probe order; every shard of one scan must use the same.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Packets per second the duration estimate assumes.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: u32,
    /// Permit sweeping more than 65,536 addresses.
    #[arg(long)]
    pub(crate) allow_large: bool,
    /// Addresses never to probe: a file of CIDRs or addresses, one a line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub(crate) exclude: Option<PathBuf>,
    /// Stream every probe, one per line, in scan order.
    #[arg(long)]
    pub(crate) list: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ScanCommand {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// The vantage this machine is (a name under `vantages:`); default: the one whose
    /// zone holds this machine's source address towards the targets, if exactly one.
    #[arg(long, value_name = "VANTAGE")]
    pub(crate) from: Option<String>,
    /// Where to write observations (JSON Lines); `-` for stdout.
    #[arg(short, long, value_name = "FILE", required_unless_present = "resume")]
    pub(crate) output: Option<PathBuf>,
    /// Continue the unfinished scan in FILE (killed or interrupted) instead: probe only what
    /// it did not conclude and append to it. Give the spec and flags of the first run.
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    pub(crate) resume: Option<PathBuf>,
    /// Which shard of the plan.
    #[command(flatten)]
    pub(crate) shard: ShardOpts,
    /// How to probe.
    #[command(flatten)]
    pub(crate) probe: ProbeOpts,
    /// Append one JSON line to FILE when the scan starts and one when it ends: who, when,
    /// spec and digest, vantage, shard, scope, exclusions, rates, mode, exit code.
    #[arg(long, value_name = "FILE")]
    pub(crate) audit_log: Option<PathBuf>,
}

/// The environment variable `--shard-from-env` reads K from: Kubernetes sets
/// it in each pod of an Indexed Job, counting from 0 as `--shard` does.
pub(crate) const SHARD_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

/// Which shard of the plan: shared by `plan` and `scan`, so both read it the
/// same way.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ShardOpts {
    /// Take shard K of N (K from 0): a deterministic, disjoint slice of the plan; every shard
    /// of one scan must use the same --seed.
    #[arg(long, value_name = "K/N", default_value = "0/1")]
    pub(crate) shard: String,
    /// Take shard K of N with K read from the environment variable JOB_COMPLETION_INDEX, as
    /// each pod of a Kubernetes Indexed Job has it (instead of --shard).
    #[arg(long, value_name = "N", conflicts_with = "shard", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) shard_from_env: Option<u32>,
}

impl ShardOpts {
    /// The whole plan, as `check` scans it.
    pub(crate) fn whole() -> Self {
        Self { shard: Shard::WHOLE.to_string(), shard_from_env: None }
    }

    /// The shard asked for: `--shard K/N`, or K from `JOB_COMPLETION_INDEX`
    /// with `--shard-from-env N`.
    pub(crate) fn resolve(&self) -> anyhow::Result<Shard> {
        match self.shard_from_env {
            None => self.shard.parse().with_context(|| format!("--shard {:?}", self.shard)),
            Some(n) => shard_from_env(n, std::env::var_os(SHARD_INDEX_VAR).as_deref()),
        }
    }
}

/// Shard K of `count`, K being `value`, the environment variable's value
/// (`None` when unset). K must be written in decimal digits only, as
/// Kubernetes writes it: a sign, blanks or anything else is refused rather
/// than guessed at, since a wrong K silently scans another shard twice.
pub(crate) fn shard_from_env(count: u32, value: Option<&OsStr>) -> anyhow::Result<Shard> {
    let var = SHARD_INDEX_VAR;
    let Some(value) = value else {
        anyhow::bail!(
            "--shard-from-env {count}: the environment variable {var} is not set (a Kubernetes \
             Indexed Job sets it in each pod; elsewhere use --shard K/{count})"
        );
    };
    let text = value.to_string_lossy();
    let index = match value.to_str() {
        Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t.parse::<u32>().ok(),
        _ => None,
    };
    let Some(index) = index else {
        anyhow::bail!(
            "--shard-from-env {count}: {var}={text:?} is not a shard index (expected a whole \
             number from 0 to {})",
            count.saturating_sub(1)
        );
    };
    Shard::new(index, count)
        .map_err(|e| anyhow::anyhow!("--shard-from-env {count}: {var}={text:?}: {e}"))
}

/// One scan to run: `vantage scan`'s flags with the vantage decided
/// (`ScanCommand` with `--from` resolved; `check` builds one per vantage).
#[derive(Debug, Clone)]
pub(crate) struct ScanArgs {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// The vantage this machine is (a name under `vantages:`).
    pub(crate) from: String,
    /// Where to write observations (JSON Lines); `-` for stdout.
    pub(crate) output: PathBuf,
    /// `output` is an unfinished scan to continue (`scan --resume`).
    pub(crate) resume: bool,
    /// Which shard of the plan.
    pub(crate) shard: ShardOpts,
    /// How to probe.
    pub(crate) probe: ProbeOpts,
    /// The spec's text when the binary carries it (`demo`; `cli::load_spec`).
    pub(crate) built_in: Option<&'static str>,
    /// The caller's stop, when the caller handles SIGINT and SIGTERM
    /// (`demo`, which takes them before the scan starts): cancelling it
    /// stops the scan as a signal does, and the scan installs no handler
    /// of its own. `None`: the scan handles the signals.
    pub(crate) stop: Option<CancellationToken>,
}

/// How a scan probes: shared by `scan` and `check`, so both take the same
/// flags with the same defaults and checks.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ProbeOpts {
    /// Seed of the probe order.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Probe attempts per second, all targets together (at most 50,000 without --unsafe-rate).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: u32,
    /// Probe attempts per second to any one host, never more than 4 ms worth (or two) at once
    /// (default: --rate, at most 10,000 without --unsafe-rate).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) host_rate: Option<u32>,
    /// Lift the maximum rates (50,000 probes/s in all, 10,000 to one host): only for networks
    /// you know can take it.
    #[arg(long)]
    pub(crate) unsafe_rate: bool,
    /// How many times a probe that got no answer is sent again, at least: a host whose answers
    /// needed more attempts earns its silent probes up to two more (as nmap adapts its tries).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=10))]
    pub(crate) retries: u8,
    /// Longest wait for an answer, in milliseconds (timeouts otherwise follow measured round trips).
    #[arg(long, value_name = "MS", default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub(crate) max_rtt: u64,
    /// Shortest wait for an answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub(crate) min_rtt: u64,
    /// How long to wait for a banner on an open TCP port, in milliseconds (0: don't read).
    #[arg(long, value_name = "MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub(crate) banner_ms: u64,
    /// How to probe TCP: `syn` (half-open, raw sockets: root or CAP_NET_RAW), `connect` (any
    /// user), or `auto`: SYN when raw sockets can be opened, connect otherwise.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub(crate) mode: Mode,
    /// Permit sweeping more than 65,536 addresses.
    #[arg(long)]
    pub(crate) allow_large: bool,
    /// Addresses never to probe, whatever the spec says: a file of CIDRs or addresses, one a
    /// line (`#` comments). They are left out of the plan, and the observations say how many.
    #[arg(long, value_name = "FILE")]
    pub(crate) exclude: Option<PathBuf>,
}

impl ProbeOpts {
    /// The probing limits these flags give: what a local scan uses, and
    /// what `check` asks agents for.
    pub(crate) fn limits(&self) -> vantage::agent::proto::Limits {
        vantage::agent::proto::Limits {
            rate: self.rate,
            host_rate: self
                .host_rate
                .unwrap_or_else(|| limits::default_host_rate(self.rate, self.unsafe_rate)),
            retries: self.retries,
            min_rtt_ms: self.min_rtt,
            max_rtt_ms: self.max_rtt,
            banner_ms: self.banner_ms,
            allow_large: self.allow_large,
        }
    }
}

impl ProbeOpts {
    /// Refuses rates above the documented maximums unless `--unsafe-rate`.
    pub(crate) fn check_rates(&self) -> anyhow::Result<()> {
        if self.unsafe_rate {
            return Ok(());
        }
        match limits::rate_problem(self.rate, self.host_rate, ("--rate", "--host-rate")) {
            Some(problem) => anyhow::bail!(problem),
            None => Ok(()),
        }
    }

    /// The exclusions of `--exclude` (none without it).
    pub(crate) fn exclusions(&self) -> anyhow::Result<Exclusions> {
        read_exclusions(self.exclude.as_deref())
    }
}

/// Reads an `--exclude` file (nothing excluded without one).
pub(crate) fn read_exclusions(path: Option<&Path>) -> anyhow::Result<Exclusions> {
    use std::io::Read as _;
    let Some(path) = path else { return Ok(Exclusions::none()) };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_LIST_BYTES as u64 + 1).read_to_end(&mut bytes))
        .with_context(|| format!("--exclude {}", path.display()))?;
    let name = path.display().to_string();
    Exclusions::parse(&name, &bytes).map_err(|e| anyhow::anyhow!("--exclude {e}"))
}

/// TCP scan modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// SYN when this process may open raw sockets, connect otherwise.
    Auto,
    /// A full connect() per port, with tokio; needs no privilege.
    Connect,
    /// A half-open SYN scan over raw sockets; needs root or CAP_NET_RAW.
    Syn,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum)]
    pub(crate) which: SchemaKind,
}

/// The published schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemaKind {
    /// The intent spec (specs/spec.schema.json).
    Spec,
    /// The findings document (specs/findings.schema.json).
    Findings,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_env(count: u32, value: Option<&str>) -> Result<Shard, String> {
        shard_from_env(count, value.map(OsStr::new)).map_err(|e| e.to_string())
    }

    #[test]
    fn shard_from_env_takes_k_from_job_completion_index() {
        assert_eq!(from_env(4, Some("2")), Ok(Shard::new(2, 4).expect("shard")));
        assert_eq!(from_env(4, Some("0")), Ok(Shard::new(0, 4).expect("shard")));
        assert_eq!(from_env(1, Some("0")), Ok(Shard::WHOLE));
    }

    #[test]
    fn shard_from_env_refuses_a_missing_or_wrong_index_naming_it() {
        let cases = [
            (None, "--shard-from-env 4: the environment variable JOB_COMPLETION_INDEX is not set"),
            (
                Some("two"),
                "JOB_COMPLETION_INDEX=\"two\" is not a shard index (expected a whole number from 0 to 3)",
            ),
            (Some(""), "JOB_COMPLETION_INDEX=\"\" is not a shard index"),
            (Some("+1"), "JOB_COMPLETION_INDEX=\"+1\" is not a shard index"),
            (Some(" 1"), "JOB_COMPLETION_INDEX=\" 1\" is not a shard index"),
            (Some("-1"), "JOB_COMPLETION_INDEX=\"-1\" is not a shard index"),
            (Some("99999999999"), "JOB_COMPLETION_INDEX=\"99999999999\" is not a shard index"),
            (
                Some("4"),
                "JOB_COMPLETION_INDEX=\"4\": shard 4 does not exist in 4 shards (K counts from 0 to N-1)",
            ),
        ];
        for (value, want) in cases {
            let got = from_env(4, value).expect_err("refused");
            assert!(got.contains(want), "{value:?}: {got:?} should contain {want:?}");
        }
    }

    #[test]
    fn shard_from_env_conflicts_with_shard() {
        let parsed = Args::try_parse_from([
            "vantage",
            "scan",
            "s.yaml",
            "--from",
            "v",
            "-o",
            "-",
            "--shard",
            "0/2",
            "--shard-from-env",
            "2",
        ]);
        let err = parsed.expect_err("refused");
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict, "{err}");
        let parsed = Args::try_parse_from([
            "vantage",
            "plan",
            "s.yaml",
            "--from",
            "v",
            "--shard-from-env",
            "0",
        ]);
        assert!(parsed.is_err(), "N is at least 1");
    }
}

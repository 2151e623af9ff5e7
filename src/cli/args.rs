//! Command-line arguments (clap derive), with each flag's help beside it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Network exposure validator: declare what your network should expose,
/// probe it from vantage points, and get every difference, with evidence.
#[derive(Debug, Parser)]
#[command(name = "vantage", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Args {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Subcommands. `check`, `verdict` and `compare` keep their flags in their
/// own files (`verdict::ReportOpts` is shared); `agent` joins when it lands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run as a remote vantage: take plans from controllers over mutual TLS, stream observations back.
    Agent(super::agent::AgentArgs),
    /// Scan from this vantage and judge what was observed against the spec, in one run.
    Check(super::check::CheckArgs),
    /// Show what changed between two scans (ports, hosts), towards or away from a spec's intent.
    Compare(super::compare::CompareArgs),
    /// Check a spec: every error (exit 2) and every warning (exit 0, or 2 with --strict).
    Lint(LintArgs),
    /// Show what a scan from a vantage would send, without sending anything.
    Plan(PlanArgs),
    /// Scan from a vantage and write what was observed (JSON Lines).
    Scan(ScanArgs),
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
    /// The vantage the scan would run from (a name under `vantages:`).
    #[arg(long, value_name = "VANTAGE")]
    pub(crate) from: String,
    /// Take shard K of N (K from 0), a deterministic, disjoint slice of the plan.
    #[arg(long, value_name = "K/N", default_value = "0/1")]
    pub(crate) shard: String,
    /// Seed of the probe order; every shard of one scan must use the same.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Packets per second the duration estimate assumes.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: u32,
    /// Permit sweeping more than 65,536 addresses.
    #[arg(long)]
    pub(crate) allow_large: bool,
    /// Stream every probe, one per line, in scan order.
    #[arg(long)]
    pub(crate) list: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// The vantage this machine is (a name under `vantages:`).
    #[arg(long, value_name = "VANTAGE")]
    pub(crate) from: String,
    /// Where to write observations (JSON Lines); `-` for stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Take shard K of N (K from 0); every shard of one scan must use the same --seed.
    #[arg(long, value_name = "K/N", default_value = "0/1")]
    pub(crate) shard: String,
    /// How to probe.
    #[command(flatten)]
    pub(crate) probe: ProbeOpts,
}

/// How a scan probes: shared by `scan` and `check`, so both take the same
/// flags with the same defaults and checks.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ProbeOpts {
    /// Seed of the probe order.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Probe attempts per second, all targets together.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: u32,
    /// Probe attempts per second to any one host, paced to the millisecond (default: --rate).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) host_rate: Option<u32>,
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
    /// No progress display, even on a terminal.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

impl ProbeOpts {
    /// The probing limits these flags give: what a local scan uses, and
    /// what `check` asks agents for.
    pub(crate) fn limits(&self) -> vantage::agent::proto::Limits {
        vantage::agent::proto::Limits {
            rate: self.rate,
            host_rate: self.host_rate.unwrap_or(self.rate),
            retries: self.retries,
            min_rtt_ms: self.min_rtt,
            max_rtt_ms: self.max_rtt,
            banner_ms: self.banner_ms,
            allow_large: self.allow_large,
        }
    }
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

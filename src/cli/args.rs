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

/// Subcommands. `scan`, `check`, `verdict`, `compare` and `agent` join these
/// as the engine, verdict and agent land; they share `SpecArg`/`FormatArg`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a spec: every error (exit 2) and every warning (exit 0, or 2 with --strict).
    Lint(LintArgs),
    /// Show what a scan from a vantage would send, without sending anything.
    Plan(PlanArgs),
    /// Print the JSON Schema (draft-07) of the spec or of the findings output.
    Schema(SchemaArgs),
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

//! The command line: one file per subcommand. Binary-only (declared from
//! `main.rs`), so the library never depends on clap or anyhow, and this is
//! the only code that writes to stdout or stderr.

mod agent;
pub(crate) mod args;
mod audit;
mod certs;
mod check;
mod compare;
mod demo;
mod docs;
pub(crate) mod exit;
mod import;
mod init;
mod lint;
mod locate;
pub(crate) mod log;
mod plan;
mod progress;
mod scan;
mod signals;
mod summary;
pub(crate) mod verdict;

use std::io::{self, Write};

use args::{Args, Command, SchemaKind};
use exit::Outcome;

/// Runs one command.
pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    log::init(args.feedback.verbose, args.feedback.quiet, args.feedback.log_format);
    match args.command {
        Command::Agent(a) => agent::run(&a),
        Command::Certs(a) => certs::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Compare(a) => compare::run(&a),
        Command::Completions(a) => docs::completions(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Import(a) => import::run(&a),
        Command::Init(a) => init::run(&a),
        Command::Lint(a) => lint::run(&a),
        Command::Man(a) => docs::man(&a),
        Command::Plan(a) => plan::run(&a),
        Command::Scan(a) => scan::command(&a),
        Command::Verdict(a) => verdict::run(&a),
        Command::Schema(a) => {
            let text = match a.which {
                SchemaKind::Spec => vantage::schema::spec(),
                SchemaKind::Findings => vantage::schema::findings(),
            };
            write_stdout(|out| out.write_all(text.as_bytes()))?;
            Ok(Outcome::Conforms)
        }
    }
}

/// A new path of our own in the temporary folder, `vantage-WHAT-PID-N`
/// with `suffix`, made by `create`, which must refuse one that exists
/// (`create_new`, a `mkdir`): so a name someone planted in a shared /tmp
/// (a symlink) is never used. The first N from 0 that `create` accepts.
pub(crate) fn temporary(
    what: &str,
    suffix: &str,
    create: impl Fn(&std::path::Path) -> io::Result<()>,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let mut last = None;
    for n in 0..1000u32 {
        let path = dir.join(format!("vantage-{what}-{pid}-{n}{suffix}"));
        match create(&path) {
            Ok(()) => return Ok(path),
            Err(e) => last = Some(e),
        }
    }
    Err(anyhow::anyhow!("cannot create vantage-{what}-{pid}-N in {}: {last:?}", dir.display()))
}

/// Writes to stdout through a buffer, treating a closed pipe (`| head`) as
/// the reader's choice rather than an error.
pub(crate) fn write_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Loads the spec at `path`, or, when the binary carries it (`demo`), the
/// text `built_in` read under that name: findings then point at
/// `specs/demo.yaml:42`, a file the user can open (or print with
/// `demo --print-spec`), not at a copy in the temporary folder that is
/// gone when they read the report. A built-in spec includes nothing.
pub(crate) fn load_spec(
    path: &std::path::Path,
    built_in: Option<&'static str>,
) -> vantage::spec::Loaded {
    vantage::spec::load_with(path, &mut |p| read_spec_file(path, built_in, p))
}

/// `p` as the loader of the spec at `spec` reads it: from disk, bounded as
/// `spec::load` reads; for a built-in spec, its text for the spec itself
/// and nothing else (no includes, no `trusted_ca` files).
pub(crate) fn read_spec_file(
    spec: &std::path::Path,
    built_in: Option<&'static str>,
    p: &std::path::Path,
) -> io::Result<Vec<u8>> {
    match built_in {
        None => vantage::spec::read_bounded(p),
        Some(text) if p == spec => Ok(text.as_bytes().to_vec()),
        Some(_) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is built in and reads no other file", spec.display()),
        )),
    }
}

/// Prints spec diagnostics for people, one per line, to `out`.
pub(crate) fn print_diagnostics(
    out: &mut dyn Write,
    diags: &[vantage::spec::Diagnostic],
) -> io::Result<()> {
    for d in diags {
        writeln!(out, "{d}")?;
    }
    Ok(())
}

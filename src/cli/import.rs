//! `vantage import nmap SCAN.xml --spec SPEC --from VANTAGE -o OBS.jsonl`:
//! an nmap XML file as an observation file, for `verdict` (issue 9).
//!
//! The spec is loaded for its digest and to refuse a vantage it does not
//! declare (exit 2), as `scan` would; the conversion is the library's pure
//! `import` module, and every line goes through `observe::encode_line`, so
//! the file passes the same checks as one `scan` writes. What was not
//! imported is said on stderr, one line each; a file that does not account
//! for every scanned port gets a trailer that is not complete, so `verdict`
//! reports `scan-incomplete`. nmap's TLS scripts are not imported: an open
//! port the spec gives a TLS policy is named in a warning, as unjudged.
//! The output is written whole or not at all
//! (a temporary file renamed into place).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use vantage::import::{self, Context, nmap};
use vantage::observe::{PortState, Proto, Record, encode_line, timestamp};
use vantage::spec;

use super::exit::Outcome;

/// `vantage import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The scanner whose output to import.
    #[command(subcommand)]
    pub(crate) from: ImportKind,
}

/// The scanners `import` reads.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ImportKind {
    /// nmap's XML output (`nmap -oX FILE`; `--reason` keeps why each state was concluded).
    Nmap(NmapArgs),
}

/// `vantage import nmap`.
#[derive(Debug, clap::Args)]
pub(crate) struct NmapArgs {
    /// nmap's XML output (`-oX`).
    pub(crate) xml: PathBuf,
    /// The spec the observations will be judged against (its digest goes in the header).
    #[arg(long)]
    pub(crate) spec: PathBuf,
    /// The vantage nmap ran from (a name under `vantages:` in the spec).
    #[arg(long = "from", value_name = "VANTAGE")]
    pub(crate) from: String,
    /// The observation file to write (JSON Lines, as `vantage scan -o` writes).
    #[arg(long, short, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

/// Runs `import`.
pub(crate) fn run(a: &ImportArgs) -> anyhow::Result<Outcome> {
    match &a.from {
        ImportKind::Nmap(n) => nmap_file(n),
    }
}

fn nmap_file(a: &NmapArgs) -> anyhow::Result<Outcome> {
    let loaded = spec::load(&a.spec);
    let Some(intent) = &loaded.intent else {
        let errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == spec::Severity::Error)
            .cloned()
            .collect();
        super::write_stdout(|out| super::print_diagnostics(out, &errors))?;
        return Ok(Outcome::Refused);
    };
    if intent.vantage(&a.from).is_none() {
        let names: Vec<&str> = intent.vantages.iter().map(|v| v.name.as_str()).collect();
        anyhow::bail!(
            "{} declares no vantage `{}` (it declares: {})",
            a.spec.display(),
            a.from,
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        );
    }
    let meta = std::fs::metadata(&a.xml).with_context(|| format!("reading {}", a.xml.display()))?;
    if meta.len() > nmap::MAX_INPUT_BYTES as u64 {
        anyhow::bail!(
            "{} is {} bytes, over the {}-byte limit",
            a.xml.display(),
            meta.len(),
            nmap::MAX_INPUT_BYTES
        );
    }
    let bytes = std::fs::read(&a.xml).with_context(|| format!("reading {}", a.xml.display()))?;
    let run =
        nmap::parse(&bytes).with_context(|| format!("{} is not nmap XML", a.xml.display()))?;
    let ctx = Context {
        spec: a.spec.display().to_string(),
        spec_digest: loaded.digest.clone(),
        vantage: a.from.clone(),
        now: timestamp(jiff::Timestamp::now()),
    };
    let mut imported = import::observations(&run, &ctx);
    // A TLS policy the spec puts on an open port where nmap's TLS scripts
    // did not run goes unjudged: say so rather than let it pass silently.
    let mut open = std::collections::HashSet::new();
    let mut tls = std::collections::HashSet::new();
    let mut partial = Vec::new();
    for r in &imported.records {
        match r {
            Record::Port(p) if p.state == PortState::Open && p.proto == Proto::Tcp => {
                open.insert((p.target, p.port));
            }
            Record::Tls(t) => {
                tls.insert((t.target, t.port));
                if let Some(why) = &t.error {
                    partial.push(format!("{}:{}: {why}", t.target, t.port));
                }
            }
            _ => {}
        }
    }
    let unjudged: Vec<String> = intent
        .tls_endpoints()
        .iter()
        .map(|e| (intent.hosts[e.host.0].address, e.port))
        .filter(|k| open.contains(k) && !tls.contains(k))
        .map(|(a, p)| format!("{a}:{p}"))
        .collect();
    if !unjudged.is_empty() {
        imported.warnings.push(format!(
            "the TLS policy of {} is not judged: nmap's ssl-enum-ciphers and ssl-cert \
             scripts did not run there; rerun nmap with --script ssl-enum-ciphers,ssl-cert, \
             or probe it with `vantage scan`",
            unjudged.join(", ")
        ));
    }
    for p in &partial {
        imported.warnings.push(format!(
            "{p}: `verdict` reports that part of its TLS policy unjudged \
             (scan-incomplete); rerun nmap with --script ssl-enum-ciphers,ssl-cert"
        ));
    }
    let mut text = Vec::new();
    for record in &imported.records {
        let line = encode_line(record).with_context(|| {
            format!("a {} line of {} breaks the format", record.kind(), a.xml.display())
        })?;
        text.extend_from_slice(&line);
    }
    let tmp = a.out.with_extension("jsonl.part");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &a.out)
    };
    write().with_context(|| format!("writing {}", a.out.display()))?;
    let facts = imported.records.len().saturating_sub(2);
    {
        for w in &imported.warnings {
            super::log::note(&format!("warning: {w}"));
        }
        super::log::note(&format!(
            "imported {} ({} lines of facts) into {}: {}",
            a.xml.display(),
            facts,
            a.out.display(),
            if imported.complete {
                "complete"
            } else {
                "NOT complete (verdict will report scan-incomplete)"
            }
        ));
    }
    Ok(Outcome::Conforms)
}

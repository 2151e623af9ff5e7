//! `vantage completions SHELL` and `vantage man [--out DIR]`: the shell
//! completion script and the man pages, generated from the same clap
//! definitions the binary parses with (`clap_complete`, `clap_mangen`), so
//! they cannot drift from the flags.
//!
//! `man` prints the top page (`vantage.1`) to stdout, or writes it and one
//! page per subcommand (`vantage-SUB.1`, as git names its pages) into
//! `--out DIR`; a page already there is replaced, since the pages are
//! generated output, not something a person edits.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;

use super::args::Args;
use super::exit::Outcome;

/// `vantage completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to print the completion script for, e.g. `vantage completions bash >
    /// /etc/bash_completion.d/vantage`, or `source <(vantage completions bash)`.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// `vantage man`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Write vantage.1 and one vantage-SUB.1 per subcommand into DIR (created if missing),
    /// instead of printing vantage.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Prints the completion script for `a.shell`.
pub(crate) fn completions(a: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Args::command();
    super::write_stdout(|out| {
        clap_complete::generate(a.shell, &mut command, "vantage", out);
        Ok(())
    })?;
    Ok(Outcome::Conforms)
}

/// Prints the top man page, or writes every page into `--out`.
pub(crate) fn man(a: &ManArgs) -> anyhow::Result<Outcome> {
    let mut pages = pages(Args::command());
    let Some(dir) = &a.out else {
        // The first page is vantage.1 itself.
        let (_, top) = pages.swap_remove(0);
        super::write_stdout(|out| top.render(out))?;
        return Ok(Outcome::Conforms);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut bytes = Vec::new();
        page.render(&mut bytes).context("cannot render a man page")?;
        std::fs::write(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    super::write_stdout(|out| {
        for path in &written {
            writeln!(out, "{}", path.display())?;
        }
        Ok(())
    })?;
    Ok(Outcome::Conforms)
}

/// The pages: `vantage` itself, then `vantage-SUB` for each subcommand
/// (`help` left out: clap adds it, and it has nothing to document).
/// Titles are upper case, as man pages are (`.TH VANTAGE-CHECK 1`).
fn pages(command: clap::Command) -> Vec<(String, clap_mangen::Man)> {
    // Once built, clap names each subcommand `vantage-SUB` for display and
    // `vantage SUB` in its usage line, which is what the pages should say.
    let mut command = command;
    command.build();
    let source = format!("vantage {}", env!("CARGO_PKG_VERSION"));
    let page = |cmd: &clap::Command| {
        let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_owned();
        let man = clap_mangen::Man::new(cmd.clone())
            .title(name.to_uppercase())
            .source(source.clone())
            .manual("vantage manual");
        (name, man)
    };
    let mut pages = vec![page(&command)];
    pages.extend(command.get_subcommands().filter(|s| s.get_name() != "help").map(page));
    pages
}

//! Running the lab's setup commands (`ip`, `nft`, `sysctl`, `kill`) and
//! turning a bad exit into a [`LabError`] that names the command and carries
//! its stderr.
//!
//! Invariant: no command's exit status is ignored here; a caller that wants to
//! tolerate failure gets the error and decides.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use super::LabError;

/// Run `argv` to completion and fail unless it exits 0.
pub(super) fn run(argv: &[&str]) -> Result<Output, LabError> {
    run_with_stdin(argv, None)
}

/// Like [`run`], feeding `stdin` to the command (for `nft -f -`).
pub(super) fn run_with_stdin(argv: &[&str], stdin: Option<&str>) -> Result<Output, LabError> {
    let output = output(argv, stdin)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(LabError::Command {
            command: argv.join(" "),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// Run `argv` to completion and return what it did, whatever its exit status.
pub(super) fn output(argv: &[&str], stdin: Option<&str>) -> Result<Output, LabError> {
    let spawn_err = |source| LabError::Spawn { command: argv.join(" "), source };
    let (program, args) = argv.split_first().expect("every caller passes a program name");
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(spawn_err)?;
    if let Some(text) = stdin {
        // Taking stdin and dropping it at the end of this block closes the
        // pipe, which is how `nft -f -` learns the ruleset is complete.
        let mut pipe = child.stdin.take().expect("stdin was configured as a pipe");
        pipe.write_all(text.as_bytes()).map_err(spawn_err)?;
    }
    child.wait_with_output().map_err(spawn_err)
}

/// The argument vector that runs `argv` inside network namespace `ns`.
pub(super) fn in_ns<'a>(ns: &'a str, argv: &[&'a str]) -> Vec<&'a str> {
    let mut full = vec!["ip", "netns", "exec", ns];
    full.extend_from_slice(argv);
    full
}

//! The `vantage` binary: parse arguments, run one command, map the outcome
//! to an exit code. All logic lives in the library and in `cli`.
//!
//! Exit codes (the CI contract): 0 conforms, 1 findings, 2 input refused
//! (usage, spec, observation file), 3 the run could not finish.

#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::args::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // clap prints help and version to stdout with exit 0, and usage
            // errors to stderr; usage errors are "input refused" (2).
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match cli::run(args) {
        Ok(outcome) => outcome.into(),
        Err(e) => {
            #[allow(clippy::print_stderr, reason = "the binary's one error line")]
            {
                eprintln!("vantage: error: {e:#}");
            }
            cli::exit::Outcome::Refused.into()
        }
    }
}

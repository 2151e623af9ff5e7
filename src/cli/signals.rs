//! SIGINT and SIGTERM, the signals that stop `scan`, `check` and `agent`
//! cleanly. Both do the same: the first cancels the run's token, so the
//! scan stops sending, writes what it observed and a trailer saying it
//! was interrupted, and the command exits 3 (the agent stops serving).
//!
//! Later signals only say that the run is already stopping. The handlers
//! are installed before the observation file is created and stay
//! installed for the life of the process (tokio never uninstalls them), so
//! no second Ctrl-C or SIGTERM can kill the process while it finishes the
//! file: an impatient operator, or a supervisor that sends SIGTERM twice,
//! still gets a whole file with its trailer. Only SIGKILL cuts it short,
//! and then the reader tolerates the cut-off last line and `verdict` says
//! the scan is incomplete.

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Installs the SIGINT and SIGTERM handlers now (call it inside the
/// runtime, before the file is created) and spawns the task that cancels
/// `cancel` on the first of them. `say(name, first)` is told of each
/// signal, by name (`SIGINT`, `SIGTERM`), and whether it is the first.
pub(crate) fn stop_on_signals(
    cancel: CancellationToken,
    say: impl Fn(&'static str, bool) + Send + 'static,
) -> anyhow::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let name = tokio::select! {
                biased;
                Some(()) = interrupt.recv() => "SIGINT",
                Some(()) = terminate.recv() => "SIGTERM",
                else => break,
            };
            say(name, first);
            first = false;
            cancel.cancel();
        }
    });
    Ok(())
}

/// What `scan` and `check` say on stderr when a signal arrives.
pub(crate) fn say_stopping(name: &'static str, first: bool) {
    if first {
        super::log::note(&format!(
            "{name}: stopping; writing what was observed and a trailer saying the scan was interrupted"
        ));
    } else {
        super::log::note(&format!(
            "{name}: already stopping; the observation file is being finished"
        ));
    }
}

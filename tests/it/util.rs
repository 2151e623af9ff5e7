//! Helpers shared by the integration tests: run the binary, load a spec from
//! text, compare with golden files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use vantage::spec::Intent;

/// The crate root; tests run the binary from here so paths in output are stable.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `vantage ARGS` from the crate root.
pub(crate) fn vantage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vantage"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the vantage binary runs")
}

/// Runs `vantage ARGS` from the crate root as a pod of a Kubernetes Indexed
/// Job would: `JOB_COMPLETION_INDEX` set to `index`, or unset when `None`.
pub(crate) fn vantage_indexed(args: &[&str], index: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vantage"));
    command.args(args).current_dir(root());
    match index {
        Some(k) => command.env("JOB_COMPLETION_INDEX", k),
        None => command.env_remove("JOB_COMPLETION_INDEX"),
    };
    command.output().expect("the vantage binary runs")
}

/// Stdout as text.
pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Parses and resolves a spec given as text; panics with every diagnostic if invalid.
pub(crate) fn intent(yaml: &str) -> Intent {
    let file: Arc<str> = Arc::from("test.yaml");
    let loaded = vantage::spec::load_bytes(Path::new("test.yaml"), &file, yaml.as_bytes());
    match loaded.intent {
        Some(i) => i,
        None => panic!(
            "spec refused:\n{}",
            loaded.diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        ),
    }
}

/// Compares `actual` with the golden file at `path`, or rewrites it when
/// `UPDATE_GOLDEN=1`.
pub(crate) fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{}: {e} (run with UPDATE_GOLDEN=1 to create it)", path.display())
    });
    assert_eq!(
        actual,
        expected,
        "output differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

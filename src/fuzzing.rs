//! Entry points for the fuzz targets in `fuzz/` (rustls's `internal::fuzzing`
//! pattern): each target is one line calling a function here, so the fuzzed
//! code paths are exactly the ones the tool runs.
//!
//! Invariant: every function here must return normally on any input; a
//! panic is a bug the fuzzer reports.

use std::path::Path;
use std::sync::Arc;

/// Parses, shapes and resolves arbitrary bytes as a spec, then lints and
/// plans it, as `vantage lint` and `vantage plan` would. Any valid intent
/// must also plan (or refuse to plan) without panicking, and its first few
/// probes must be in scope.
pub fn spec(data: &[u8]) {
    let file: Arc<str> = Arc::from("fuzz.yaml");
    // A path in a folder that does not exist, so `include:` and
    // `trusted_ca` never read real files.
    let loaded = crate::spec::load_bytes(Path::new("/nonexistent/fuzz.yaml"), &file, data);
    assert_eq!(
        loaded.intent.is_some(),
        !loaded.has_errors(),
        "an intent exists exactly when there is no error"
    );
    let Some(intent) = loaded.intent else { return };
    let today = jiff::civil::date(2026, 1, 1);
    let _ = crate::lint::lint(&intent, today);
    for v in &intent.vantages {
        if let Ok(plan) = crate::plan::Plan::new(&intent, &v.name, crate::plan::Options::default())
        {
            for p in plan.probes().take(64) {
                assert!(
                    plan.scope().admit(p.target.addr(), None, None).is_some(),
                    "planned target out of scope"
                );
            }
        }
    }
}

//! Checks clippy can't make: module headers, pure modules free of I/O
//! crates, serde only in the contract modules, output only from the CLI, and
//! an ARCHITECTURE.md whose code map matches `src/` (so it can't go stale).

use std::path::{Path, PathBuf};

use crate::util::root;

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).expect("under root").to_string_lossy().into_owned()
}

/// Source without `#[cfg(test)] mod tests { ... }` at the end of a file.
fn production(src: &str) -> &str {
    src.find("#[cfg(test)]\nmod tests").map_or(src, |i| &src[..i])
}

#[test]
fn every_module_states_its_purpose() {
    for f in rust_files(&root().join("src")) {
        let src = std::fs::read_to_string(&f).expect("read");
        assert!(
            src.starts_with("//!"),
            "{} must open with a `//!` comment saying what it does",
            rel(&f)
        );
    }
}

#[test]
fn pure_modules_do_no_io() {
    let pure = [
        "src/dns",
        "src/import",
        "src/spec",
        "src/plan",
        "src/init.rs",
        "src/lint.rs",
        "src/report",
        "src/schema.rs",
        "src/tls",
        "src/verdict",
    ];
    let forbidden = [
        "tokio::",
        "use tokio",
        "pnet::",
        "pnet_",
        "TcpStream",
        "UdpSocket",
        "SystemTime::now",
        "Timestamp::now",
        "Instant::now",
        // Nor do they log: what they decide is their result.
        "tracing::",
    ];
    for f in rust_files(&root().join("src")) {
        let r = rel(&f);
        // A sibling `tests.rs` is compiled only under `#[cfg(test)]` (rule
        // 12), so it may start a local server, as tls/wire/tests.rs does.
        if !pure.iter().any(|p| r.starts_with(p)) || r.ends_with("/tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&f).expect("read");
        // Code only: a doc comment may say what a module does not use.
        let code: String = production(&src)
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for word in forbidden {
            assert!(!code.contains(word), "{r} is a pure module but uses `{word}`");
        }
    }
}

#[test]
fn serde_only_in_contract_modules() {
    let allowed =
        ["src/spec/raw.rs", "src/report/document.rs", "src/observe/", "src/agent/proto.rs"];
    for f in rust_files(&root().join("src")) {
        let r = rel(&f);
        let src = std::fs::read_to_string(&f).expect("read");
        let derives = src.contains("Serialize,")
            || src.contains("Serialize)")
            || src.contains("Deserialize<'de> for");
        assert!(
            !derives || allowed.iter().any(|a| r.starts_with(a)),
            "{r} derives serde; only the contract modules may"
        );
    }
}

/// The library may emit `tracing` events: an event is not output, only
/// data handed to whatever subscriber is installed, and the one that
/// writes (to stderr, never stdout) is installed by `cli::log` alone. So
/// "only the CLI prints" stays true as long as no other file installs or
/// builds a subscriber.
#[test]
fn only_the_cli_prints() {
    for f in rust_files(&root().join("src")) {
        let r = rel(&f);
        if r == "src/main.rs" || r.starts_with("src/cli/") {
            continue;
        }
        let src = std::fs::read_to_string(&f).expect("read");
        for word in [
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "io::stdout",
            "io::stderr",
            "tracing_subscriber",
            "set_global_default",
        ] {
            assert!(
                !production(&src).contains(word),
                "{r} writes to the terminal (`{word}`); only src/cli may"
            );
        }
    }
}

#[test]
fn architecture_code_map_matches_src() {
    let arch =
        std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md exists");
    let map = arch.split("## Code map").nth(1).expect("a `## Code map` section");
    let map = map.split("\n## ").next().unwrap_or(map);
    let mut mapped: Vec<String> = map
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect();
    mapped.sort();
    let mut actual: Vec<String> = std::fs::read_dir(root().join("src"))
        .expect("src")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            if p.is_dir() { format!("src/{name}/") } else { format!("src/{name}") }
        })
        .collect();
    actual.sort();
    assert_eq!(
        mapped, actual,
        "ARCHITECTURE.md's code map (### `src/...` headings) must list exactly what is in src/"
    );
}

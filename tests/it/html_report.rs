//! `--format html` (issue 9, item 1), through the binary: `vantage verdict`
//! over the report fixtures (`tests/data/verdict/`: two vantages, every
//! port rule, a waived, an expired and an unused waiver) writes one page,
//! which must quote the spec lines and load nothing; then headless Chromium
//! (Debian's `chromium`, driven by `scripts/report-browser.cjs` through
//! npm's `playwright-core`) opens it from a file:// URL: no console or page
//! error, no request, every matrix cell in its expected state, and the
//! filters (severity, vantage, rule, waived, a cell's findings) show the
//! expected number of findings.
//!
//! Without Chromium, Node.js or playwright-core the browser test skips and
//! says so, unless `VANTAGE_REQUIRE_BROWSER=1` (CI), when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::util::{root, vantage};

const FILES: [&str; 3] = [
    "tests/data/verdict/outside.jsonl",
    "tests/data/verdict/inside-0.jsonl",
    "tests/data/verdict/inside-1.jsonl",
];

/// A scratch folder, removed on drop (so also when an assertion fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vantage-it-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a panic here could abort a test already failing.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `vantage verdict` of the fixtures with `--format html -o OUT`; returns the page.
fn report(out: &Path) -> String {
    let out_arg = out.display().to_string();
    let mut args = vec!["verdict", "tests/data/verdict/spec.yaml"];
    args.extend(FILES);
    args.extend(["--now", "2026-03-02T08:00:00Z", "--format", "html", "-o", &out_arg]);
    let run = vantage(&args);
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    std::fs::read_to_string(out).expect("the report was written")
}

#[test]
fn html_report_quotes_spec_lines_and_loads_nothing() {
    let dir = Scratch::new("html");
    let html = report(&dir.0.join("report.html"));
    assert!(html.starts_with("<!DOCTYPE html>\n"));
    assert!(html.ends_with("</html>\n"));
    // The summary header.
    assert!(html.contains(
        "10 findings (2 critical, 4 high, 1 medium, 3 low), 1 waived; 2 vantages (inside, outside), 1139 probes sent, 0 incomplete"
    ));
    assert!(html.contains(r#"Generated <time id="generated">2026-03-02T08:00:00.000Z</time>"#));
    assert!(html.contains(r#"<span class="badge critical">2 critical</span>"#));
    // The spec line of flow #4, which the exposure of 198.18.10.11 breaks.
    assert!(
        html.contains(
            r#"<code>tests/data/verdict/spec.yaml:23:5</code><pre class="specline"><span class="lineno">  23 | </span>  - { from: internet, to: dmz, deny: [ssh] }</pre>"#
        ),
        "the spec line is quoted"
    );
    // The banner a server sent is text.
    assert!(html.contains(r#"banner &quot;SSH-2.0-OpenSSH_9.6\r\n&quot;"#));
    // Self-contained: nothing to fetch, no external reference at all.
    for banned in
        ["<link", "<script src", "<img", "<iframe", "@import", "url(", "http://", "https://"]
    {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    assert_eq!(html.matches("<script>").count(), 1);
    assert_eq!(html.matches("<style>").count(), 1);
}

/// What the browser test needs, or why it cannot run.
struct Browser {
    chromium: PathBuf,
    playwright: Option<PathBuf>,
}

fn browser() -> Result<Browser, String> {
    let chromium = std::env::var_os("VANTAGE_CHROMIUM")
        .map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    if !chromium.is_file() {
        return Err(format!(
            "no Chromium at {} (apt-get install chromium, or set VANTAGE_CHROMIUM)",
            chromium.display()
        ));
    }
    let playwright = std::env::var_os("VANTAGE_PLAYWRIGHT_CORE").map(PathBuf::from);
    let module = playwright
        .as_ref()
        .map_or_else(|| "playwright-core".to_owned(), |p| p.display().to_string());
    let resolve = Command::new("node")
        .args(["-e", "require.resolve(process.argv[1])", &module])
        .output()
        .map_err(|e| format!("node cannot run: {e}"))?;
    if !resolve.status.success() {
        return Err(format!(
            "node cannot load {module} (npm install playwright-core, and set VANTAGE_PLAYWRIGHT_CORE to its folder): {}",
            String::from_utf8_lossy(&resolve.stderr)
                .lines()
                .find(|l| l.contains("Error"))
                .unwrap_or("")
        ));
    }
    Ok(Browser { chromium, playwright })
}

/// (vantage, column, state) of every cell, row by row.
const CELLS: &[(&str, &str, &str)] = &[
    ("inside", "dmz/web", "unreachable"),
    ("inside", "dmz/*", "conforms"),
    ("inside", "app/*", "exposure"),
    ("inside", "data/db1", "exposure"),
    ("inside", "data/*", "conforms"),
    ("outside", "dmz/web", "exposure"),
    ("outside", "dmz/*", "exposure"),
    ("outside", "app/*", "conforms"),
    ("outside", "data/db1", "conforms"),
    ("outside", "data/*", "conforms"),
];

#[test]
#[allow(clippy::print_stderr, reason = "a test without its browser says it skipped")]
fn html_report_renders_and_filters_in_chromium() {
    let b = match browser() {
        Ok(b) => b,
        Err(why) if std::env::var_os("VANTAGE_REQUIRE_BROWSER").is_none() => {
            eprintln!("SKIPPED: {why}");
            return;
        }
        Err(why) => panic!("VANTAGE_REQUIRE_BROWSER is set, but {why}"),
    };
    let dir = Scratch::new("html-browser");
    let page = dir.0.join("report.html");
    report(&page);
    // Each step, then the findings shown (the counter and the list agree).
    let steps: Vec<(Value, u64)> = vec![
        (json!({"select": ["#f-rule", "exposure"]}), 5),
        (json!({"uncheck": "#f-waived"}), 4),
        (json!({"click": "button[type=reset]"}), 11),
        (json!({"uncheck": "#sev-low"}), 8),
        (json!({"select": ["#f-vantage", "outside"]}), 4),
        (json!({"select": ["#f-vantage", "-"]}), 0),
        (json!({"click": "button[type=reset]"}), 11),
        (json!({"click": "td[data-vantage=outside][data-column='dmz/web'] button"}), 3),
        (json!({"click": "#cell-filter-clear"}), 11),
        (json!({"click": "td[data-vantage=inside][data-column='data/db1'] button"}), 2),
    ];
    let file = dir.0.join("steps.json");
    let list: Vec<&Value> = steps.iter().map(|(s, _)| s).collect();
    std::fs::write(&file, serde_json::to_string(&list).expect("JSON")).expect("write steps");
    let mut command = Command::new("node");
    command
        .arg(root().join("scripts/report-browser.cjs"))
        .arg(&page)
        .arg("--check")
        .arg(&file)
        .env("VANTAGE_CHROMIUM", &b.chromium);
    if let Some(p) = &b.playwright {
        command.env("VANTAGE_PLAYWRIGHT_CORE", p);
    }
    let run = command.output().expect("node runs");
    assert!(
        run.status.success(),
        "the browser script failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: Value = serde_json::from_slice(&run.stdout).expect("the script prints JSON");
    assert_eq!(seen["console"], json!([]), "console errors or warnings");
    assert_eq!(seen["pageErrors"], json!([]), "script errors");
    assert_eq!(seen["requests"], json!([]), "the page loads nothing");
    assert_eq!(seen["filtersVisible"], json!(true), "the script showed the filters");
    let cells: Vec<(String, String, String)> = seen["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (s("vantage"), s("column"), s("state"))
        })
        .collect();
    let want: Vec<(String, String, String)> =
        CELLS.iter().map(|(v, c, s)| ((*v).to_owned(), (*c).to_owned(), (*s).to_owned())).collect();
    assert_eq!(cells, want);
    assert_eq!(seen["cells"][0]["label"], "\u{26a0}unreachable", "a symbol and a word");
    assert_eq!(seen["initial"], json!({"shown": 11, "visible": 11}));
    let counted = seen["steps"].as_array().expect("steps");
    assert_eq!(counted.len(), steps.len());
    for ((step, want), got) in steps.iter().zip(counted) {
        assert_eq!(got["shown"], json!(want), "after {step}: {got}");
        assert_eq!(got["visible"], json!(want), "after {step}: {got}");
    }
}

/// The verdict says, per vantage and target group, which flows apply from
/// the vantage's zone: what the matrix shows as intended.
#[test]
fn target_checks_carry_the_intent_towards_their_group() {
    use vantage::report::document::{CheckKind, Intended};
    let doc =
        crate::report::fixture_document(&["outside.jsonl", "inside-0.jsonl", "inside-1.jsonl"]);
    let target = |vantage: &str, name: &str| {
        let check = doc
            .checks
            .iter()
            .find(|c| c.kind == CheckKind::Target && c.vantage == vantage && c.name == name)
            .unwrap_or_else(|| panic!("no check {name} from {vantage}"));
        check.target.clone().expect("a target check has its target")
    };
    let intended = |flow, allow, services: &str, ports: &str, required| Intended {
        flow,
        allow,
        services: services.to_owned(),
        ports: ports.to_owned(),
        required,
    };
    let web = target("outside", "host web (198.18.10.10)");
    assert_eq!(
        (web.zone.as_str(), web.host.as_deref(), web.addresses.as_str()),
        ("dmz", Some("web"), "198.18.10.10")
    );
    assert_eq!(
        web.intended,
        [intended(1, true, "https", "tcp/443", true), intended(4, false, "ssh", "tcp/22", false)]
    );
    assert!(web.default_deny);
    let dmz = target("inside", "zone dmz");
    assert_eq!((dmz.host, dmz.addresses.as_str()), (None, "198.18.10.0/24"));
    assert_eq!(dmz.intended, [intended(3, true, "ssh", "tcp/22", false)]);
    let data = target("outside", "zone data");
    assert!(data.intended.is_empty(), "no flow from internet to data");
    let zones: Vec<(&str, &str)> =
        doc.vantage_zones.iter().map(|v| (v.vantage.as_str(), v.zone.as_str())).collect();
    assert_eq!(zones, [("inside", "app"), ("outside", "internet")]);
}

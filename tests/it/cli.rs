//! The command line as users meet it: example specs, exit codes, output shapes.

use crate::util::{stdout, vantage};

/// Specs that must be accepted without a warning: the shipped examples and
/// `tests/fixtures/good-specs/` (files named `*.inc.yaml` are includes).
fn good_specs() -> Vec<String> {
    let mut specs =
        vec!["specs/examples/staging.yaml".to_owned(), "specs/examples/localhost.yaml".to_owned()];
    let dir = crate::util::root().join("tests/fixtures/good-specs");
    let mut more: Vec<String> = std::fs::read_dir(&dir)
        .expect("good-specs dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && !n.ends_with(".inc.yaml"))
        .map(|n| format!("tests/fixtures/good-specs/{n}"))
        .collect();
    more.sort();
    specs.extend(more);
    specs
}

#[test]
fn good_specs_lint_clean() {
    let specs = good_specs();
    assert!(specs.len() >= 4, "{specs:?}");
    for spec in &specs {
        let spec = spec.as_str();
        let out = vantage(&["lint", spec, "--strict", "--now", "2026-11-24"]);
        assert_eq!(out.status.code(), Some(0), "{spec}: {}", stdout(&out));
        assert!(stdout(&out).contains("ok: 0 error(s), 0 warning(s)"), "{}", stdout(&out));
    }
}

#[test]
fn lint_warnings_exit_0_and_2_with_strict() {
    // The staging waiver expires 2027-06-30: judged from 2027-07-01 it has lapsed.
    let out = vantage(&["lint", "specs/examples/staging.yaml", "--now", "2027-07-01"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("warning[waiver-expired]: waiver `CHG-1042` expired on 2027-06-30"),
        "{}",
        stdout(&out)
    );
    let out = vantage(&["lint", "specs/examples/staging.yaml", "--now", "2027-07-01", "--strict"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(vantage(&["lint"]).status.code(), Some(2));
    assert_eq!(vantage(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        vantage(&["plan", "specs/examples/staging.yaml", "--from", "nowhere"]).status.code(),
        Some(2)
    );
    assert_eq!(
        vantage(&["plan", "specs/examples/staging.yaml", "--from", "outside", "--shard", "4/4"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        vantage(&["lint", "specs/examples/staging.yaml", "--now", "soon"]).status.code(),
        Some(2)
    );
    assert_eq!(vantage(&["--version"]).status.code(), Some(0));
}

#[test]
fn plan_summary_names_targets_flows_and_estimate() {
    let out = vantage(&[
        "plan",
        "specs/examples/staging.yaml",
        "--from",
        "outside",
        "--format",
        "json",
        "--rate",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["vantage"], "outside");
    assert_eq!(v["not_probed"], serde_json::json!(["internet"]));
    // 3 zones of 256 addresses, 5 of them declared hosts, 1,137 ports each.
    assert_eq!(v["addresses"], 768);
    assert_eq!(v["probes"], 768 * 1137);
    assert_eq!(v["estimated_seconds"], 873.216);
    let flows: Vec<u64> = v["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| f["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(flows, [1, 2, 3, 7], "flows whose source is `internet`");
    let web = v["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["name"] == "web")
        .expect("web target");
    assert_eq!(web["cidrs"], serde_json::json!(["198.18.10.10/32"]));
    let out = vantage(&["plan", "specs/examples/staging.yaml", "--from", "app-runner"]);
    let text = stdout(&out);
    assert!(text.contains("#5   app -> pg allow postgres (tcp/5432): reachable"), "{text}");
}

#[test]
fn plan_list_streams_every_probe_and_shards_partition_it() {
    let all = stdout(&vantage(&[
        "plan",
        "specs/examples/localhost.yaml",
        "--from",
        "this-machine",
        "--list",
    ]));
    let mut all: Vec<&str> = all.lines().collect();
    assert!(all.iter().all(|l| l.starts_with("127.0.0.1 ")), "only 127.0.0.1 is in scope");
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "no probe twice");
    let mut union = Vec::new();
    let shards: Vec<String> = (0..3)
        .map(|k| {
            stdout(&vantage(&[
                "plan",
                "specs/examples/localhost.yaml",
                "--from",
                "this-machine",
                "--list",
                "--shard",
                &format!("{k}/3"),
            ]))
        })
        .collect();
    for s in &shards {
        union.extend(s.lines());
    }
    union.sort_unstable();
    assert_eq!(union, all, "the shards' union is the plan, with nothing twice");
    let json = stdout(&vantage(&[
        "plan",
        "specs/examples/staging.yaml",
        "--from",
        "outside",
        "--list",
        "--format",
        "json",
    ]));
    let first: serde_json::Value =
        serde_json::from_str(json.lines().next().expect("a line")).expect("JSON line");
    assert!(first["target"].as_str().is_some_and(|t| t.starts_with("198.18.")), "{first}");
    assert!(first["proto"] == "tcp" || first["proto"] == "udp");
}

#[test]
fn shard_from_env_reads_k_from_job_completion_index() {
    let plan = |shard: &[&str], index: Option<&str>| {
        let mut args = vec!["plan", "specs/examples/staging.yaml", "--from", "outside", "--list"];
        args.extend_from_slice(shard);
        crate::util::vantage_indexed(&args, index)
    };
    let by_flag = plan(&["--shard", "1/3"], Some("2"));
    let by_env = plan(&["--shard-from-env", "3"], Some("1"));
    assert_eq!(by_env.status.code(), Some(0), "{}", String::from_utf8_lossy(&by_env.stderr));
    assert!(!stdout(&by_env).is_empty());
    assert_eq!(stdout(&by_env), stdout(&by_flag), "K=1 from the environment is --shard 1/3");
    let summary = crate::util::vantage_indexed(
        &["plan", "specs/examples/staging.yaml", "--from", "outside", "--shard-from-env", "3"],
        Some("2"),
    );
    assert!(stdout(&summary).contains("shard 2/3, seed 1"), "{}", stdout(&summary));
    // Refused, exit 2, naming the variable and its value; `scan` refuses
    // before it plans or sends anything (the output file is never made).
    let out =
        std::env::temp_dir().join(format!("vantage-it-{}-env-shard.jsonl", std::process::id()));
    let out = out.display().to_string();
    let cases: [(Option<&str>, &[&str], &str); 5] = [
        (
            None,
            &["--shard-from-env", "4"],
            "the environment variable JOB_COMPLETION_INDEX is not set",
        ),
        (
            Some("two"),
            &["--shard-from-env", "4"],
            "JOB_COMPLETION_INDEX=\"two\" is not a shard index",
        ),
        (
            Some("4"),
            &["--shard-from-env", "4"],
            "JOB_COMPLETION_INDEX=\"4\": shard 4 does not exist in 4 shards",
        ),
        (Some("1"), &["--shard-from-env", "4", "--shard", "1/4"], "cannot be used with"),
        (Some("0"), &["--shard-from-env", "0"], "--shard-from-env"),
    ];
    for (index, flags, text) in cases {
        let mut plan = vec!["plan", "specs/examples/localhost.yaml", "--from", "this-machine"];
        let mut scan = vec![
            "scan",
            "specs/examples/localhost.yaml",
            "--from",
            "this-machine",
            "--mode",
            "connect",
            "-o",
            &out,
        ];
        plan.extend_from_slice(flags);
        scan.extend_from_slice(flags);
        for args in [plan, scan] {
            let o = crate::util::vantage_indexed(&args, index);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?} with {index:?}: {err}");
            assert!(err.contains(text), "{args:?} with {index:?}: {text:?} not in {err}");
            assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        }
        assert!(!std::path::Path::new(&out).exists(), "{flags:?}: a refused scan wrote {out}");
    }
}

#[test]
fn plan_refuses_a_large_sweep_without_allow_large() {
    let dir = std::env::temp_dir().join(format!("vantage-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("large.yaml");
    std::fs::write(
        &spec,
        "version: 1\nzones:\n  out: { cidrs: [0.0.0.0/0], probe: false }\n  big: { cidrs: [198.18.0.0/15] }\nvantages:\n  o: { zone: out }\nsweep:\n  tcp: [22]\n",
    )
    .expect("write");
    let spec = spec.to_str().expect("utf-8");
    let out = vantage(&["plan", spec, "--from", "o"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--allow-large"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = vantage(&["lint", spec]);
    assert!(stdout(&out).contains("warning[large-sweep]"), "{}", stdout(&out));
    let out = vantage(&["plan", spec, "--from", "o", "--allow-large", "--format", "json"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["probes"], 131_072);
}

#[test]
fn without_from_the_vantage_of_this_machines_zone_is_taken_and_said() {
    // On loopback the source address towards 127.0.0.1 is 127.0.0.1: in
    // `lo`, not in `internet` (0.0.0.0/0, minus every other zone).
    let dir = std::env::temp_dir().join(format!("vantage-locate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = |name: &str, vantages: &str| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "version: 1\nzones:\n  internet: {{ cidrs: [0.0.0.0/0], probe: false }}\n  lo: {{ cidrs: [127.0.0.0/24] }}\nvantages:\n{vantages}sweep:\n  tcp: [22]\n"
            ),
        )
        .expect("write");
        path.display().to_string()
    };
    let one = spec("one.yaml", "  outside: { zone: internet }\n  here: { zone: lo }\n");
    let two = spec("two.yaml", "  here: { zone: lo }\n  also-here: { zone: lo }\n");
    let none = spec("none.yaml", "  outside: { zone: internet }\n");
    let said = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let out = vantage(&["plan", &one, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains(
            "vantage: --from not given: this machine's source address 127.0.0.1 towards the targets is in zone `lo`: vantage `here`"
        ),
        "{}",
        said(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["vantage"], "here");
    // Refused (exit 2, nothing sent) with the candidates: by `plan` and by `scan`.
    let scan_out = dir.join("never.jsonl").display().to_string();
    let cases = [
        (vec!["plan", two.as_str()], "is in zone `lo`, which vantages `here`, `also-here` share"),
        (
            vec!["scan", two.as_str(), "-o", scan_out.as_str()],
            "which vantages `here`, `also-here` share; name the vantage with --from",
        ),
        (
            vec!["plan", none.as_str()],
            "is in zone `lo`, which no vantage is in; the spec's vantages: `outside` (zone internet)",
        ),
    ];
    for (args, want) in cases {
        let out = vantage(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", said(&out));
        assert!(said(&out).contains("vantage: error: --from not given: "), "{}", said(&out));
        assert!(said(&out).contains(want), "{args:?}: {want:?} not in {}", said(&out));
    }
    assert!(!std::path::Path::new(&scan_out).exists(), "a refused scan writes nothing");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn schema_command_prints_the_checked_in_schemas() {
    let out = vantage(&["schema", "spec"]);
    assert_eq!(
        stdout(&out),
        std::fs::read_to_string(crate::util::root().join("specs/spec.schema.json"))
            .expect("schema")
    );
}

//! The deployment examples under `deploy/` against the tool they run: the
//! spec in the scan Job's ConfigMap lints clean and plans from the vantage
//! the Job names, the Job's N is its completions, and the scan and verdict
//! command lines are accepted by this `vantage`. (CI checks the manifests
//! against the Kubernetes schemas with kubernetes-validate, and the
//! workflow with check-jsonschema; see `.ci/run`.) Nothing here sends a
//! packet: the scan's command line is run without `JOB_COMPLETION_INDEX`,
//! which is refused before anything is planned.

use serde_json::Value;

use crate::util::{root, stdout, vantage, vantage_indexed};

/// Every document of a multi-document YAML file under `deploy/`.
fn documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(path)).expect("deploy file");
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The command of the pod template's only container, as strings.
fn command(workload: &Value) -> Vec<String> {
    let containers =
        workload["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    containers[0]["command"]
        .as_array()
        .expect("a command")
        .iter()
        .map(|a| a.as_str().expect("a string argument").to_owned())
        .collect()
}

/// The value after `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("{flag} in {args:?}"));
    &args[i + 1]
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_indexed_job_and_its_verdict_run_this_vantage() {
    let docs = documents("deploy/kubernetes/scan-indexed-job.yaml");
    let spec_text =
        find(&docs, "ConfigMap", "vantage-spec")["data"]["spec.yaml"].as_str().expect("spec");
    let spec =
        std::env::temp_dir().join(format!("vantage-it-{}-deploy-spec.yaml", std::process::id()));
    std::fs::write(&spec, spec_text).expect("write spec");
    let spec_path = spec.display().to_string();
    let lint = vantage(&["lint", &spec_path, "--strict"]);
    assert_eq!(lint.status.code(), Some(0), "{}", stdout(&lint));

    let job = find(&docs, "Job", "vantage-scan");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let n = job["spec"]["completions"].as_u64().expect("completions");
    assert_eq!(job["spec"]["parallelism"].as_u64(), Some(n));
    let scan = command(job);
    assert_eq!(scan[..3], ["vantage", "scan", "/etc/vantage/spec.yaml"]);
    assert_eq!(flag(&scan, "--shard-from-env"), n.to_string(), "N is the Job's completions");
    assert_eq!(flag(&scan, "-o"), "/observations/shard-$(JOB_COMPLETION_INDEX).jsonl");
    assert_eq!(flag(&scan, "--mode"), "connect");
    // The last shard of the plan exists from the vantage the Job names.
    let from = flag(&scan, "--from");
    let last = (n - 1).to_string();
    let plan = vantage_indexed(
        &["plan", &spec_path, "--from", from, "--shard-from-env", &n.to_string()],
        Some(&last),
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(stdout(&plan).contains(&format!("shard {last}/{n}")), "{}", stdout(&plan));
    // The Job's scan command line parses; without the index it stops there.
    let args: Vec<&str> = scan[1..].iter().map(String::as_str).collect();
    let out = vantage_indexed(&args, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("JOB_COMPLETION_INDEX is not set"), "{}", stderr(&out));

    // The verdict names every shard, 0 to N-1, and its flags are this verdict's.
    let verdict =
        command(find(&documents("deploy/kubernetes/verdict-job.yaml"), "Job", "vantage-verdict"));
    let files: Vec<String> = (0..n).map(|k| format!("/observations/shard-{k}.jsonl")).collect();
    assert_eq!(verdict[..3], ["vantage", "verdict", "/etc/vantage/spec.yaml"]);
    assert_eq!(verdict[3..3 + files.len()], files[..]);
    let mut args: Vec<&str> = verdict[1..].iter().map(String::as_str).collect();
    args[1] = &spec_path;
    let out = vantage(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("vantage: error: /observations/shard-0.jsonl: cannot read"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_file(&spec);
}

#[test]
fn the_agent_reads_its_files_where_they_are_mounted() {
    let docs = documents("deploy/kubernetes/agent.yaml");
    let scope = find(&docs, "ConfigMap", "vantage-agent-scope")["data"]["scope.txt"]
        .as_str()
        .expect("scope");
    let ranges = vantage::agent::scope::parse("scope.txt", scope.as_bytes())
        .unwrap_or_else(|e| panic!("the agent would refuse its scope: {e}"));
    assert!(!ranges.is_empty(), "an empty scope admits nothing");
    let deployment = find(&docs, "Deployment", "vantage-agent");
    let args = command(deployment);
    assert_eq!(args[..2], ["vantage", "agent"]);
    // Every file the command names is in the one projected volume.
    let volume = &deployment["spec"]["template"]["spec"]["volumes"][0];
    let mount =
        deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["mountPath"]
            .as_str()
            .expect("mount path");
    let mut mounted: Vec<String> = volume["projected"]["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .flat_map(|s| s.as_object().expect("a source").values())
        .flat_map(|s| s["items"].as_array().expect("items").iter())
        .map(|i| format!("{mount}/{}", i["path"].as_str().expect("path")))
        .collect();
    mounted.sort();
    let mut named: Vec<String> = ["--cert", "--key", "--client-ca", "--scope"]
        .iter()
        .map(|f| flag(&args, f).to_owned())
        .collect();
    named.sort();
    assert_eq!(named, mounted);
    // This agent takes the command line: with the files at a path that does
    // not exist, it stops at the first (before it listens on anything).
    let missing =
        std::env::temp_dir().join(format!("vantage-it-{}-no-such-dir", std::process::id()));
    let missing = missing.display().to_string();
    let args: Vec<String> =
        args[1..].iter().map(|a| a.replace(&format!("{mount}/"), &format!("{missing}/"))).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = vantage(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!("vantage: error: --cert {missing}/tls/agent.pem")),
        "{}",
        stderr(&out)
    );
    let secret = find(&docs, "Secret", "vantage-agent-tls");
    for key in ["ca.pem", "agent.pem", "agent.key"] {
        let text = secret["stringData"][key].as_str().expect("a placeholder");
        assert!(text.starts_with("REPLACE"), "{key} must stay a placeholder: no key is committed");
    }
}

/// The Dockerfile builds with the toolchain Cargo.toml requires and runs
/// as the user the manifests declare (`runAsUser`), non-root, with the
/// binary as its entry point. (No Docker engine here: the image itself is
/// not built by the tests.)
#[test]
fn the_dockerfile_matches_the_crate_and_the_manifests() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let rust_version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("rust-version in Cargo.toml");
    let froms: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage: {froms:?}");
    assert!(
        froms[0].starts_with(&format!("FROM rust:{rust_version}-")),
        "the build stage uses rust {rust_version}: {}",
        froms[0]
    );
    assert!(froms[1].ends_with(":nonroot"), "a non-root runtime image: {}", froms[1]);
    assert!(dockerfile.contains("cargo build --release --locked"), "built from Cargo.lock");
    let user = dockerfile.lines().rfind(|l| l.starts_with("USER ")).expect("a USER");
    for manifest in ["scan-indexed-job.yaml", "verdict-job.yaml", "agent.yaml"] {
        let docs = documents(&format!("deploy/kubernetes/{manifest}"));
        for d in docs.iter().filter(|d| d["kind"] == "Job" || d["kind"] == "Deployment") {
            let uid = &d["spec"]["template"]["spec"]["securityContext"]["runAsUser"];
            assert_eq!(user, format!("USER {uid}:{uid}"), "{manifest}");
        }
    }
    assert!(
        dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/vantage\"]"),
        "the binary is the entry point"
    );
    assert!(root().join("specs/examples/localhost.yaml").exists(), "the specs the image ships");
}

//! `vantage init`: the starter spec lints clean and is never written over
//! an existing file; `--from-scan` adopts what answers on loopback
//! (127.79.0.0/29, listeners this test opens) so that a `check` from the
//! vantage it declares right after reports nothing.

use std::net::TcpListener;
use std::path::PathBuf;

use crate::util::{stdout, vantage};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vantage-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn both(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn init_writes_a_starter_that_lints_clean_and_never_overwrites() {
    let dir = temp_dir("init-starter");
    let spec = dir.join("vantage.yaml").display().to_string();
    let out = vantage(&["init", "--out", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let lint = vantage(&["lint", &spec, "--strict", "--now", "2026-01-01"]);
    assert_eq!(lint.status.code(), Some(0), "{}", both(&lint));
    assert!(stdout(&lint).contains("ok: 0 error(s), 0 warning(s)"), "{}", stdout(&lint));
    let text = std::fs::read_to_string(&spec).expect("spec");
    assert!(text.starts_with("# yaml-language-server: $schema="), "{text}");
    for key in ["version: 1", "zones:", "hosts:", "services:", "flows:", "default: deny"] {
        assert!(text.lines().any(|l| l.starts_with(key)), "{key} missing");
    }
    for key in ["vantages:", "sweep:", "# tls:", "# dns:", "# waivers:"] {
        assert!(text.lines().any(|l| l.starts_with(key)), "{key} missing");
    }
    std::fs::write(&spec, "mine\n").expect("write");
    let again = vantage(&["init", "--out", &spec]);
    assert_eq!(again.status.code(), Some(2), "{}", both(&again));
    assert!(both(&again).contains("exists"), "{}", both(&again));
    assert_eq!(std::fs::read_to_string(&spec).expect("spec"), "mine\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_from_scan_adopts_what_answers_and_check_agrees() {
    let dir = temp_dir("init-scan");
    let spec = dir.join("adopted.yaml").display().to_string();
    // Listeners on two addresses of the /29, on ports the kernel picks;
    // ports 1-3 are closed everywhere here.
    let listeners: Vec<TcpListener> = ["127.79.0.2:0", "127.79.0.2:0", "127.79.0.5:0"]
        .iter()
        .map(|a| TcpListener::bind(a).expect("bind on 127.79.0.0/29"))
        .collect();
    let ports: Vec<String> =
        listeners.iter().map(|l| l.local_addr().expect("addr").port().to_string()).collect();
    let list = format!("{},1-3", ports.join(","));
    let out = vantage(&["init", "--from-scan", "127.79.0.0/29", "--ports", &list, "--out", &spec]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let text = std::fs::read_to_string(&spec).expect("spec");
    let hosts: Vec<&str> = text.lines().filter(|l| l.starts_with("  host-")).collect();
    assert_eq!(hosts.len(), 2, "{text}");
    assert!(hosts[0].contains("\"127.79.0.2\"") && hosts[0].contains(&ports[1]), "{text}");
    assert!(hosts[1].contains("\"127.79.0.5\"") && hosts[1].contains(&ports[2]), "{text}");
    let flows = text.lines().filter(|l| l.ends_with(": review")).count();
    assert_eq!(flows, 2, "{text}");
    let lint = vantage(&["lint", &spec, "--strict"]);
    assert_eq!(lint.status.code(), Some(0), "{}\n{text}", both(&lint));
    let check = vantage(&["check", &spec, "--from", "here", "--quiet"]);
    assert_eq!(check.status.code(), Some(0), "{}\n{text}", both(&check));
    // What closes afterwards is news: a flow that must be reachable, broken.
    drop(listeners);
    let check = vantage(&["check", &spec, "--from", "here", "--quiet", "--format", "json"]);
    assert_eq!(check.status.code(), Some(1), "{}", both(&check));
    assert!(stdout(&check).contains("\"unreachable\""), "{}", stdout(&check));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_from_scan_refuses_what_scan_would() {
    let dir = temp_dir("init-refuse");
    let spec = dir.join("s.yaml").display().to_string();
    let cases: [(&[&str], &str); 5] = [
        (&["--from-scan", "127.79.0.0/24", "127.79.0.8/29"], "overlaps"),
        (&["--from-scan", "127.79.0.0/33"], "is not a CIDR"),
        (&["--from-scan", "127.79.0.0/29", "--ports", "22,ssh"], "--ports"),
        (&["--ports", "22"], "--from-scan"),
        (&["--from-scan", "127.0.0.0/8", "--ports", "1"], "--allow-large"),
    ];
    for (args, text) in cases {
        let mut all = vec!["init", "--out", &spec];
        all.extend_from_slice(args);
        let out = vantage(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", both(&out));
        assert!(both(&out).contains(text), "{args:?}: {text:?} not in {}", both(&out));
        assert!(!std::path::Path::new(&spec).exists(), "{args:?} wrote a spec");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

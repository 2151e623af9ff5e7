//! `vantage completions SHELL` and `vantage man`: the completion script a
//! shell accepts and that completes subcommands, and man pages that name
//! every subcommand, one page each.

use std::process::Command;

use crate::util::{stdout, vantage};

/// The subcommands `vantage --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let help = stdout(&vantage(&["--help"]));
    let list = help.split("Commands:\n").nth(1).expect("a Commands: section");
    let names: Vec<String> = list
        .lines()
        .take_while(|l| l.starts_with("  "))
        // A wrapped description goes on deeper indented.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect();
    for must in ["check", "completions", "init", "man", "scan"] {
        assert!(names.iter().any(|n| n == must), "{must} not in {names:?}");
    }
    names
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vantage-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Sources the bash script and runs its completion function on `line`
/// (the word being completed is the last one) as bash would on TAB.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}' || exit 9\n\
         COMP_WORDS=({})\n\
         COMP_CWORD={}\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _vantage vantage \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stdout(&out).lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn bash_completion_is_valid_and_completes_subcommands_and_flags() {
    let out = vantage(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let dir = temp_dir("completions");
    let script = dir.join("vantage.bash");
    std::fs::write(&script, &out.stdout).expect("write script");
    let syntax = Command::new("bash").arg("-n").arg(&script).output().expect("bash -n runs");
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
    let cases: [(&[&str], &[&str]); 4] = [
        (&["vantage", "ch"], &["check"]),
        (&["vantage", "co"], &["compare", "completions"]),
        (&["vantage", "init", "--from-s"], &["--from-scan"]),
        (&["vantage", "completions", "fi"], &["fish"]),
    ];
    for (words, want) in cases {
        let mut got = bash_complete(&script, words);
        got.sort();
        assert_eq!(got, want, "{words:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    let subs = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = vantage(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell}: {sub} missing");
        }
    }
    assert_eq!(vantage(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_prints_the_top_page_listing_every_subcommand() {
    let out = vantage(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    let th = page.lines().find(|l| l.starts_with(".TH ")).expect("a .TH line");
    assert!(th.starts_with(".TH VANTAGE 1 "), "{th}");
    for sub in subcommands() {
        assert!(page.contains(&format!("vantage\\-{sub}(1)")), "{sub} missing from vantage.1");
    }
}

#[test]
fn man_out_writes_one_page_per_subcommand_that_groff_renders() {
    let dir = temp_dir("man");
    let out = vantage(&["man", "--out", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut want: Vec<String> = subcommands().iter().map(|s| format!("vantage-{s}.1")).collect();
    want.push("vantage.1".to_owned());
    want.sort();
    let mut got: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, want);
    let check = std::fs::read_to_string(dir.join("vantage-check.1")).expect("check page");
    assert!(check.contains(".TH VANTAGE-CHECK 1 "), "{check}");
    assert!(check.contains("\\-\\-from"), "check's flags are on its page");
    // groff is not needed for the checks above; where it is installed the
    // pages must also render without a warning.
    if Command::new("groff").arg("-v").output().is_ok() {
        for name in &got {
            let r = Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(dir.join(name))
                .output()
                .expect("groff runs");
            assert!(r.status.success() && r.stderr.is_empty(), "{name}: {r:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

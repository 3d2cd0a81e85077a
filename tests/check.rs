//! `inject check` (SPEC §7.3): every finding, both output formats, every exit status, and
//! never a value.

mod common;

use std::process::{Command, Output};

use common::{SECRET, TestEnv, expect, skipped, text, which};
use serde_json::Value;

fn no_value_shown(out: &Output) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(SECRET), "a value was printed: {all}");
}

fn json_check(p: &TestEnv, args: &[&str]) -> (i32, Value) {
    let out = p
        .cmd()
        .args(args)
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    no_value_shown(&out);
    assert_eq!(text(&out.stderr), "");
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn kinds(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_clean_source_exits_0() {
    let p = TestEnv::with_host_path();
    p.write_private(
        ".streamlit/secrets.toml",
        format!("[trello]\napi_key = \"{SECRET}\"\n"),
    );
    expect(
        &p.run(["check"]),
        0,
        "checked 1 source: 0 errors, 0 warnings\n",
        "",
    );
    expect(&p.run(["-q", "check"]), 0, "", "");
}

#[test]
fn no_source_is_the_production_path_and_clean() {
    let p = TestEnv::with_host_path();
    expect(
        &p.run(["check"]),
        0,
        "no secrets source found: 0 errors, 0 warnings\n",
        "",
    );
}

#[test]
fn the_default_list_is_checked_whole() {
    let p = TestEnv::with_host_path();
    let global = p.home.join(".streamlit/secrets.toml");
    std::fs::create_dir_all(global.parent().unwrap()).unwrap();
    std::fs::write(&global, "a = 1\n").unwrap();
    std::fs::set_permissions(&global, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    p.write_private(".streamlit/secrets.toml", "b = 2\n");
    expect(
        &p.run(["check"]),
        0,
        &format!(
            "warning: `{0}` is readable by group or others (mode 0640): run `chmod 600 {0}`\nchecked 2 sources: 0 errors, 1 warning\n",
            global.display()
        ),
        "",
    );
}

#[test]
fn readable_by_group_or_others_is_a_warning() {
    let p = TestEnv::with_host_path();
    p.write_private("s.toml", format!("k = \"{SECRET}\"\n"));
    for (mode, warn) in [
        (0o600, false),
        (0o400, false),
        (0o640, true),
        (0o604, true),
        (0o644, true),
    ] {
        p.chmod("s.toml", mode);
        let out = p.run(["-f", "s.toml", "check"]);
        let want = if warn {
            format!(
                "warning: `s.toml` is readable by group or others (mode {mode:04o}): run `chmod 600 s.toml`\nchecked 1 source: 0 errors, 1 warning\n"
            )
        } else {
            "checked 1 source: 0 errors, 0 warnings\n".to_string()
        };
        expect(&out, 0, &want, "");
    }
}

#[test]
fn secrets_directory_files_are_checked() {
    let p = TestEnv::with_host_path();
    p.write_private("secrets/trello/api_key", SECRET);
    p.write_private("secrets/db/pw", SECRET);
    p.chmod("secrets/trello/api_key", 0o644);
    expect(
        &p.run(["-f", "secrets", "check"]),
        0,
        "warning: `secrets/trello/api_key` is readable by group or others (mode 0644): run `chmod 600 secrets/trello/api_key`\nchecked 1 source: 0 errors, 1 warning\n",
        "",
    );
}

fn git(p: &TestEnv, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=a",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(&p.app)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn git_tracked_is_an_error_and_not_ignored_a_warning() {
    if which("git").is_none() {
        return skipped("git");
    }
    let p = TestEnv::with_host_path();
    let rel = ".streamlit/secrets.toml";
    p.write_private(rel, format!("k = \"{SECRET}\"\n"));
    git(&p, &["init", "-q"]);
    let out = p.run(["check"]);
    no_value_shown(&out);
    expect(
        &out,
        0,
        "warning: `.streamlit/secrets.toml` is in a git work tree but not ignored: add it to `.gitignore` so that it is never committed\nchecked 1 source: 0 errors, 1 warning\n",
        "",
    );
    p.write_private(".gitignore", ".streamlit/secrets.toml\n");
    expect(
        &p.run(["check"]),
        0,
        "checked 1 source: 0 errors, 0 warnings\n",
        "",
    );
    git(&p, &["add", "-f", rel]);
    let out = p.run(["check"]);
    no_value_shown(&out);
    expect(
        &out,
        1,
        "error: `.streamlit/secrets.toml` is tracked by git, so its secrets are in the repository: run `git rm --cached .streamlit/secrets.toml`, add it to `.gitignore`, and rotate any secret that was ever pushed\nchecked 1 source: 1 error, 0 warnings\n",
        "",
    );
    let (code, report) = json_check(&p, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        kinds(&report),
        [("error".to_string(), "git-tracked".to_string())]
    );
    assert_eq!(report["findings"][0]["file"], ".streamlit/secrets.toml");
    // From a subdirectory of the work tree, and for an explicit path, too.
    std::fs::create_dir_all(p.app.join("sub")).unwrap();
    let out = p
        .cmd()
        .current_dir(p.app.join("sub"))
        .args(["-f", "../.streamlit/secrets.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("git rm --cached ../.streamlit/secrets.toml"));
}

#[test]
fn parse_errors_are_located_and_check_keeps_going() {
    let p = TestEnv::with_host_path();
    p.write_private(
        "bad.toml",
        format!("a = 1\napi_key = \"{SECRET}\" trailing\n"),
    );
    p.write_private(
        "good.toml",
        format!("[trello]\napi_key = \"{SECRET}\"\n\"api-key\" = \"x\"\n"),
    );
    let out = p.run(["-f", "bad.toml", "-f", "good.toml", "check"]);
    no_value_shown(&out);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("error: bad.toml:2:"), "{stdout}");
    assert!(
        lines[0].ends_with("(the line is not shown: it may hold a secret)"),
        "{stdout}"
    );
    assert_eq!(
        lines[1],
        "error: `TRELLO_API_KEY` would be set by two keys, `trello.api_key` (good.toml:2) and `trello.api-key` (good.toml:3): rename or remove one of them"
    );
    assert_eq!(lines[2], "checked 2 sources: 2 errors, 0 warnings");

    let (code, report) = json_check(&p, &["-f", "bad.toml", "-f", "good.toml"]);
    assert_eq!(code, 1);
    let parse = &report["findings"][0];
    assert_eq!(parse["kind"], "parse");
    assert_eq!(parse["file"], "bad.toml");
    assert_eq!(parse["line"], 2);
    assert!(parse["column"].as_u64().is_some_and(|c| c > 1), "{parse}");
    let collision = &report["findings"][1];
    assert_eq!(collision["kind"], "collision");
    assert_eq!(collision["file"], "good.toml");
    assert_eq!(collision["line"], 3);
    assert_eq!(
        report["sources"],
        serde_json::json!(["bad.toml", "good.toml"])
    );
    assert_eq!(
        (report["errors"].as_u64(), report["warnings"].as_u64()),
        (Some(2), Some(0))
    );
}

#[test]
fn every_kind_of_error_is_reported_at_once() {
    let p = TestEnv::with_host_path();
    let big = "x".repeat(132 * 1024);
    p.write_private(
        "s.toml",
        format!(
            "PATH = \"{SECRET}\"\n\"\" = \"{SECRET}\"\nnul = \"{SECRET}\\u0000\"\nfloats = [1.0, inf]\nbig = \"{big}\"\n[1password]\nkey = \"{SECRET}\"\n[trello]\napi_key = \"{SECRET}\"\n\"api-key\" = \"{SECRET}\"\n"
        ),
    );
    p.write_private("t.toml", "[db]\nurl = \"\"\n");
    let (code, report) = json_check(
        &p,
        &[
            "-f",
            "s.toml",
            "--require",
            "MISSING",
            "--require-from",
            "t.toml",
        ],
    );
    assert_eq!(code, 1);
    let got: Vec<String> = kinds(&report).into_iter().map(|(_, k)| k).collect();
    let expected_kinds = [
        "refused-name",
        "invalid-name",
        "value",
        "value",
        "invalid-name",
        "collision",
        "value",
        "required",
        "required",
    ];
    assert_eq!(got, expected_kinds, "{report:#}");
    assert!(kinds(&report).iter().all(|(s, _)| s == "error"));
    let required = &report["findings"][8];
    assert_eq!(required["file"], "t.toml");
    assert_eq!(required["line"], 2);
    assert!(
        required["message"]
            .as_str()
            .unwrap()
            .starts_with("`DB_URL` is required (by t.toml:2)")
    );
    let oversized = report["findings"][6]["message"].as_str().unwrap();
    assert!(
        oversized.starts_with("`big` (from `big` at s.toml:5) is 135168 bytes, over the 131067 bytes Linux allows one variable"),
        "{oversized}"
    );
}

#[test]
fn required_names_count_the_environment_and_name_files() {
    let p = TestEnv::with_host_path();
    p.write_private("s.toml", "a = 1\n");
    let file = p.write_private("run/b", "b\n");
    let out = p
        .cmd()
        .env("B_FILE", &file)
        .env("C", "set")
        .env("C_FILE", &file)
        .args(["-f", "s.toml", "--require", "a,B,C,D", "check"])
        .output()
        .unwrap();
    expect(
        &out,
        1,
        "error: `C` and `C_FILE` are both set: unset one of them (`C_FILE` names a file that holds the value of `C`)\nerror: `D` is required (by `--require`) but not set: add it to the secrets or the environment, or set `D_FILE` to a file that holds it\nchecked 1 source: 2 errors, 0 warnings\n",
        "",
    );
}

#[test]
fn a_bad_template_or_source_path_is_an_error_finding() {
    let p = TestEnv::with_host_path();
    expect(
        &p.run([
            "-f",
            "nope.toml",
            "--require-from",
            "nope-template.toml",
            "check",
        ]),
        1,
        "error: `nope.toml` does not exist: check the path given to `-f` or `INJECT_FILE`\nerror: the template `nope-template.toml` given to `--require-from` does not exist: check the path\nchecked 1 source: 2 errors, 0 warnings\n",
        "",
    );
}

#[test]
fn usage_errors_are_125() {
    let p = TestEnv::with_host_path();
    let out = p.run(["check", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr)
            .starts_with("inject: error: invalid value 'yaml' for '--format <FORMAT>'"),
        "{}",
        text(&out.stderr)
    );
}

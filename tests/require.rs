//! Required names (SPEC §5): `--require`, `--require-from`, `NAME_FILE`, for a run, `list`
//! and `export`.

mod common;

use std::collections::BTreeMap;

use common::{SECRET, TestEnv, expect, parse_env0, text, toml_of};

fn missing(name: &str, by: &str) -> String {
    format!(
        "inject: error: `{name}` is required (by {by}) but not set: add it to the secrets or the environment, or set `{name}_FILE` to a file that holds it\n"
    )
}

/// The child's environment from `inject ARGS -- env -0`.
fn child_env(out: &std::process::Output) -> BTreeMap<String, String> {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    parse_env0(&out.stdout).into_iter().collect()
}

#[test]
fn every_missing_name_is_listed_and_nothing_runs() {
    let p = TestEnv::with_host_path();
    p.write_private(
        ".streamlit/secrets.toml",
        format!("[trello]\napi_key = \"{SECRET}\"\n"),
    );
    let marker = p.app.join("ran");
    let out = p
        .cmd()
        .args([
            "--require",
            "TRELLO_API_KEY",
            "--require",
            "MISSING_ONE,MISSING_TWO",
        ])
        .arg("--")
        .arg("touch")
        .arg(&marker)
        .output()
        .unwrap();
    expect(
        &out,
        125,
        "",
        &(missing("MISSING_ONE", "`--require`") + &missing("MISSING_TWO", "`--require`")),
    );
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn the_environment_variable_inject_require_is_comma_delimited() {
    let p = TestEnv::with_host_path();
    let out = p
        .cmd()
        .env("INJECT_REQUIRE", "A,B")
        .env("A", "1")
        .args(["--", "true"])
        .output()
        .unwrap();
    expect(&out, 125, "", &missing("B", "`--require`"));
}

#[test]
fn templates_declare_names_with_their_place() {
    let p = TestEnv::with_host_path();
    p.write_private(".streamlit/secrets.toml", "[trello]\napi_key = \"k\"\n");
    p.write_private(
        ".streamlit/secrets.example.toml",
        "# every key the app needs\n[trello]\napi_key = \"\"\noauth_token = \"\"\n",
    );
    let template = ".streamlit/secrets.example.toml";
    expect(
        &p.run([
            "--require-from",
            template,
            "--require",
            "TRELLO_OAUTH_TOKEN",
            "--",
            "true",
        ]),
        125,
        "",
        &missing(
            "TRELLO_OAUTH_TOKEN",
            "`--require`, .streamlit/secrets.example.toml:4",
        ),
    );
    // Satisfied by the inherited environment.
    let out = p
        .cmd()
        .env("TRELLO_OAUTH_TOKEN", "from-env")
        .args(["--require-from", template, "--", "true"])
        .output()
        .unwrap();
    expect(&out, 0, "", "");
}

#[test]
fn templates_take_the_prefix_but_not_only() {
    let p = TestEnv::with_host_path();
    p.write_private("s.toml", "db = \"d\"\n[trello]\napi_key = \"k\"\n");
    p.write_private("t.toml", "db = \"\"\n[trello]\napi_key = \"\"\n");
    let out = p.run([
        "-f",
        "s.toml",
        "--prefix",
        "APP_",
        "--require-from",
        "t.toml",
        "--",
        "env",
        "-0",
    ]);
    let env = child_env(&out);
    assert_eq!(env.get("APP_TRELLO_API_KEY").map(String::as_str), Some("k"));
    // --only trello leaves `db` out of the run, but the template still requires it.
    expect(
        &p.run([
            "-f",
            "s.toml",
            "--prefix",
            "APP_",
            "--only",
            "trello",
            "--require-from",
            "t.toml",
            "--",
            "true",
        ]),
        125,
        "",
        &missing("APP_db", "t.toml:1"),
    );
}

#[test]
fn a_bad_template_is_an_error() {
    let p = TestEnv::with_host_path();
    expect(
        &p.run(["--require-from", "nope.toml", "--", "true"]),
        125,
        "",
        "inject: error: the template `nope.toml` given to `--require-from` does not exist: check the path\n",
    );
    p.write_private("t.toml", format!("a = 1\nb = \"{SECRET}\" x\n"));
    let out = p.run(["--require-from", "t.toml", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("inject: error: t.toml:2:"), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
    p.write_private("t.toml", "[t]\nk = 1\n\"K\" = 2\n");
    let out = p.run(["--require-from", "t.toml", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("`T_K` would be set by two keys"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn name_file_supplies_a_missing_required_name() {
    let p = TestEnv::with_host_path();
    let key = p.write_private("run/key", "from-file\n");
    let out = p
        .cmd()
        .env("TRELLO_API_KEY_FILE", &key)
        .args(["--require", "TRELLO_API_KEY", "--", "env", "-0"])
        .output()
        .unwrap();
    let env = child_env(&out);
    assert_eq!(
        env.get("TRELLO_API_KEY").map(String::as_str),
        Some("from-file")
    );
    // NAME_FILE itself stays.
    assert_eq!(
        env.get("TRELLO_API_KEY_FILE").map(String::as_str),
        key.to_str()
    );
}

#[test]
fn name_file_values_lose_exactly_one_trailing_newline() {
    let p = TestEnv::with_host_path();
    for (content, want) in [
        ("v", "v"),
        ("v\n", "v"),
        ("v\n\n", "v\n"),
        ("  v \r\n", "  v \r"),
        ("", ""),
        ("l1\nl2\n", "l1\nl2"),
    ] {
        let key = p.write_private("run/key", content);
        let out = p
            .cmd()
            .env("K_FILE", &key)
            .args(["--require", "K", "--", "env", "-0"])
            .output()
            .unwrap();
        assert_eq!(
            child_env(&out).get("K").map(String::as_str),
            Some(want),
            "{content:?}"
        );
    }
}

#[test]
fn name_file_problems_are_errors() {
    let p = TestEnv::with_host_path();
    let key = p.write_private("run/key", SECRET);
    let both = p
        .cmd()
        .env("K", "set")
        .env("K_FILE", &key)
        .args(["--require", "K", "--", "true"])
        .output()
        .unwrap();
    expect(
        &both,
        125,
        "",
        "inject: error: `K` and `K_FILE` are both set: unset one of them (`K_FILE` names a file that holds the value of `K`)\n",
    );
    let nul = p.write_private("run/nul", format!("{SECRET}\0x"));
    let bad = p.write_private("run/bad", b"\xff\xfe");
    let absent = p.app.join("run/absent");
    let out = p
        .cmd()
        .env("A_FILE", &nul)
        .env("B_FILE", &bad)
        .env("C_FILE", &absent)
        .args(["--require", "A,B,C", "--", "true"])
        .output()
        .unwrap();
    expect(
        &out,
        125,
        "",
        &format!(
            "inject: error: `{0}` (named by `A_FILE`) holds a NUL byte, which no environment variable can hold: remove it\n\
             inject: error: `{1}` (named by `B_FILE`) is not valid UTF-8: a secret file must hold UTF-8 text\n\
             inject: error: cannot read `{2}` (named by `C_FILE`) for the required `C`: No such file or directory (os error 2)\n",
            nul.display(),
            bad.display(),
            absent.display()
        ),
    );
}

#[test]
fn name_file_only_applies_to_required_names_and_an_empty_one_is_unset() {
    let p = TestEnv::with_host_path();
    let key = p.write_private("run/key", "v\n");
    let out = p
        .cmd()
        .env("K_FILE", &key)
        .args(["--", "env", "-0"])
        .output()
        .unwrap();
    assert_eq!(child_env(&out).get("K"), None);
    let out = p
        .cmd()
        .env("K_FILE", "")
        .args(["--require", "K", "--", "true"])
        .output()
        .unwrap();
    expect(&out, 125, "", &missing("K", "`--require`"));
}

#[test]
fn with_clean_only_kept_variables_count() {
    let p = TestEnv::with_host_path();
    let key = p.write_private("run/key", "v\n");
    let out = p
        .cmd()
        .env("K_FILE", &key)
        .args(["--clean", "--require", "K", "--", "true"])
        .output()
        .unwrap();
    expect(&out, 125, "", &missing("K", "`--require`"));
    let out = p
        .cmd()
        .env("K_FILE", &key)
        .args([
            "--clean",
            "--keep",
            "K_FILE",
            "--require",
            "K",
            "--",
            "env",
            "-0",
        ])
        .output()
        .unwrap();
    let env = child_env(&out);
    assert_eq!(env.keys().collect::<Vec<_>>(), ["K", "K_FILE"]);
}

#[test]
fn secrets_satisfy_required_names() {
    let p = TestEnv::with_host_path();
    p.write_private("s.toml", toml_of(&[("A", "")]));
    expect(
        &p.run(["-f", "s.toml", "--require", "A", "--", "true"]),
        0,
        "",
        "",
    );
}

#[test]
fn list_checks_required_names_and_shows_name_file_values() {
    let p = TestEnv::with_host_path();
    p.write_private("s.toml", toml_of(&[("A", SECRET)]));
    expect(
        &p.run(["-f", "s.toml", "--require", "B", "list"]),
        125,
        "",
        &missing("B", "`--require`"),
    );
    let key = p.write_private("run/b", "bb\n");
    let out = p
        .cmd()
        .env("B_FILE", &key)
        .args(["-f", "s.toml", "--require", "B", "list"])
        .output()
        .unwrap();
    let path = key.display().to_string();
    let width = path.len().max("s.toml:1".len());
    expect(
        &out,
        0,
        &format!(
            "A  {:width$}  (hidden, 15 bytes)\nB  {:width$}  (hidden, 2 bytes)\n",
            "s.toml:1", path
        ),
        "",
    );
}

#[test]
fn a_bad_required_name_is_a_usage_error() {
    let p = TestEnv::with_host_path();
    for (name, why) in [
        ("", "a required name cannot be empty"),
        ("A=B", "a variable name cannot contain `=`"),
    ] {
        let out = p.run(["--require", name, "--", "true"]);
        assert_eq!(out.status.code(), Some(125));
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("inject: error: invalid value"),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{stderr}");
    }
}

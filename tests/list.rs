//! Black-box tests of `inject list` (SPEC §7.1, §8): what would be injected, values hidden.

mod common;

use common::{SECRET, TestEnv};

const FILE: &str = ".streamlit/secrets.toml";

/// Names of different widths, an empty, a one-byte, a multi-line and a non-ASCII value.
const SMALL: &str = "db_username = \"admin\"\n\
                     empty = \"\"\n\
                     one = \"x\"\n\
                     [trello]\n\
                     api_key = \"k-123\"\n\
                     note = \"\"\"\n\
                     line1\n\
                     \tline2\"\"\"\n\
                     [\"café\"]\n\
                     \"clé\" = \"ünï\"\n";

fn small() -> TestEnv {
    let env = TestEnv::new();
    env.write(FILE, SMALL);
    env
}

#[test]
fn the_table_hides_values_and_aligns_columns() {
    small()
        .cmd()
        .arg("list")
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            "db_username     .streamlit/secrets.toml:1   (hidden, 5 bytes)\n\
             empty           .streamlit/secrets.toml:2   (empty)\n\
             one             .streamlit/secrets.toml:3   (hidden, 1 byte)\n\
             TRELLO_API_KEY  .streamlit/secrets.toml:5   (hidden, 5 bytes)\n\
             TRELLO_NOTE     .streamlit/secrets.toml:6   (hidden, 12 bytes)\n\
             CAF__CL_        .streamlit/secrets.toml:10  (hidden, 5 bytes)\n",
        );
}

#[test]
fn reveal_shows_values_on_one_line() {
    small()
        .cmd()
        .args(["list", "--reveal"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            "db_username     .streamlit/secrets.toml:1   admin\n\
             empty           .streamlit/secrets.toml:2\n\
             one             .streamlit/secrets.toml:3   x\n\
             TRELLO_API_KEY  .streamlit/secrets.toml:5   k-123\n\
             TRELLO_NOTE     .streamlit/secrets.toml:6   line1\\n\\tline2\n\
             CAF__CL_        .streamlit/secrets.toml:10  ünï\n",
        );
}

#[test]
fn json_format_hides_values() {
    small()
        .cmd()
        .args(["list", "--format", "json"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(concat!(
            "[",
            r#"{"bytes":5,"key":"db_username","line":1,"name":"db_username","source":".streamlit/secrets.toml"},"#,
            r#"{"bytes":0,"key":"empty","line":2,"name":"empty","source":".streamlit/secrets.toml"},"#,
            r#"{"bytes":1,"key":"one","line":3,"name":"one","source":".streamlit/secrets.toml"},"#,
            r#"{"bytes":5,"key":"trello.api_key","line":5,"name":"TRELLO_API_KEY","source":".streamlit/secrets.toml"},"#,
            r#"{"bytes":12,"key":"trello.note","line":6,"name":"TRELLO_NOTE","source":".streamlit/secrets.toml"},"#,
            r#"{"bytes":5,"key":"\"café\".\"clé\"","line":10,"name":"CAF__CL_","source":".streamlit/secrets.toml"}"#,
            "]\n"
        ));
}

#[test]
fn json_format_with_reveal_has_exact_values() {
    small()
        .cmd()
        .args(["list", "--format", "json", "--reveal"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(concat!(
            "[",
            r#"{"bytes":5,"key":"db_username","line":1,"name":"db_username","source":".streamlit/secrets.toml","value":"admin"},"#,
            r#"{"bytes":0,"key":"empty","line":2,"name":"empty","source":".streamlit/secrets.toml","value":""},"#,
            r#"{"bytes":1,"key":"one","line":3,"name":"one","source":".streamlit/secrets.toml","value":"x"},"#,
            r#"{"bytes":5,"key":"trello.api_key","line":5,"name":"TRELLO_API_KEY","source":".streamlit/secrets.toml","value":"k-123"},"#,
            r#"{"bytes":12,"key":"trello.note","line":6,"name":"TRELLO_NOTE","source":".streamlit/secrets.toml","value":"line1\n\tline2"},"#,
            r#"{"bytes":5,"key":"\"café\".\"clé\"","line":10,"name":"CAF__CL_","source":".streamlit/secrets.toml","value":"ünï"}"#,
            "]\n"
        ));
}

#[test]
fn no_override_shows_the_environment_as_origin() {
    let env = small();
    env.cmd()
        .env("db_username", "root")
        .env("TRELLO_NOTE", "")
        .args(["--no-override", "list"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            "db_username     env                         (hidden, 4 bytes)\n\
             empty           .streamlit/secrets.toml:2   (empty)\n\
             one             .streamlit/secrets.toml:3   (hidden, 1 byte)\n\
             TRELLO_API_KEY  .streamlit/secrets.toml:5   (hidden, 5 bytes)\n\
             TRELLO_NOTE     env                         (empty)\n\
             CAF__CL_        .streamlit/secrets.toml:10  (hidden, 5 bytes)\n",
        );
    env.cmd()
        .env("db_username", "root")
        .args([
            "--no-override",
            "--only",
            "db_username",
            "list",
            "--format",
            "json",
        ])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            r#"[{"bytes":4,"key":"db_username","line":null,"name":"db_username","source":"env"}]"#
                .to_owned()
                + "\n",
        );
    // Without `--no-override` the file wins, so the file is the origin.
    env.cmd()
        .env("db_username", "root")
        .args(["--only", "db_username", "list", "--reveal"])
        .assert()
        .code(0)
        .stdout("db_username  .streamlit/secrets.toml:1  admin\n");
}

#[test]
fn sources_from_home_and_directories_show_their_paths() {
    let env = TestEnv::new();
    let global = env.write_home(FILE, "[g]\nk = \"gg\"\n");
    env.write("run/trello/api_key", "k\n");
    env.write("run/trello/token", "tt\n");
    env.write("run/db/pw", "pw\n");
    env.cmd()
        .args(["list"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(format!("G_K  {}:2  (hidden, 2 bytes)\n", global.display()));
    env.cmd()
        .args(["-f", "run", "list"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            "db              run/db/pw           (hidden, 2 bytes)\n\
             TRELLO_API_KEY  run/trello/api_key  (hidden, 1 byte)\n\
             TRELLO_TOKEN    run/trello/token    (hidden, 2 bytes)\n",
        );
    env.cmd()
        .args(["-f", "run", "list", "--format", "json"])
        .assert()
        .code(0)
        .stdout(concat!(
            "[",
            r#"{"bytes":2,"key":"db","line":null,"name":"db","source":"run/db/pw"},"#,
            r#"{"bytes":1,"key":"trello.api_key","line":null,"name":"TRELLO_API_KEY","source":"run/trello/api_key"},"#,
            r#"{"bytes":2,"key":"trello.token","line":null,"name":"TRELLO_TOKEN","source":"run/trello/token"}"#,
            "]\n"
        ));
}

#[test]
fn list_follows_only_and_prefix() {
    let env = small();
    env.cmd()
        .args(["--prefix", "APP_", "--only", "trello", "list", "--reveal"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            "APP_TRELLO_API_KEY  .streamlit/secrets.toml:5  k-123\n\
             APP_TRELLO_NOTE     .streamlit/secrets.toml:6  line1\\n\\tline2\n",
        );
}

#[test]
fn no_source_lists_nothing_with_a_note() {
    let env = TestEnv::new();
    env.cmd()
        .arg("list")
        .assert()
        .code(0)
        .stdout("")
        .stderr("inject: note: no secrets source found: nothing would be injected\n");
    env.cmd()
        .args(["list", "--format", "json"])
        .assert()
        .code(0)
        .stdout("[]\n")
        .stderr("inject: note: no secrets source found: nothing would be injected\n");
    env.cmd()
        .args(["-q", "list"])
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    env.cmd()
        .args(["list", "--quiet"])
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
}

#[test]
fn an_empty_source_lists_nothing_without_a_note() {
    let env = TestEnv::new();
    env.write(FILE, "# nothing yet\n");
    env.cmd().arg("list").assert().code(0).stdout("").stderr("");
}

/// Every way to run `list` without `--reveal` keeps the value out of stdout and stderr.
#[test]
fn list_never_prints_a_value_unless_revealed() {
    let env = TestEnv::new();
    env.write(
        FILE,
        &format!("root = \"{SECRET}\"\n[trello]\napi_key = \"{SECRET}\"\n"),
    );
    for args in [
        &["list"][..],
        &["list", "--format", "json"],
        &["list", "--format", "table"],
        &["-v", "list"],
        &["--no-override", "list"],
    ] {
        let output = env.cmd().env("root", SECRET).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stdout.contains("TRELLO_API_KEY"), "{args:?}: {stdout}");
        assert!(
            !stdout.contains(SECRET),
            "{args:?} printed a value: {stdout}"
        );
        assert!(
            !stderr.contains(SECRET),
            "{args:?} printed a value: {stderr}"
        );
    }
    let output = env.cmd().args(["list", "--reveal"]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains(SECRET));
}

#[test]
fn list_refuses_what_the_launcher_refuses() {
    let env = TestEnv::new();
    env.write(
        FILE,
        &format!("[trello]\napi_key = \"{SECRET}\"\n\"api-key\" = \"{SECRET}\"\n"),
    );
    env.cmd()
        .arg("list")
        .assert()
        .code(125)
        .stdout("")
        .stderr("inject: error: `TRELLO_API_KEY` would be set by two keys, `trello.api_key` (.streamlit/secrets.toml:2) and `trello.api-key` (.streamlit/secrets.toml:3): rename or remove one of them\n");
    env.write(FILE, &format!("token = {SECRET}\n"));
    env.cmd()
        .args(["list", "--reveal"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("inject: error: .streamlit/secrets.toml:1:9: invalid TOML: string values must be quoted, expected literal string (the line is not shown: it may hold a secret)\n");
    env.cmd()
        .args(["-f", "nope.toml", "list"])
        .assert()
        .code(125)
        .stdout("")
        .stderr("inject: error: `nope.toml` does not exist: check the path given to `-f` or `INJECT_FILE`\n");
}

#[test]
fn list_usage_errors_are_125() {
    let env = small();
    for args in [
        &["list", "--format", "yaml"][..],
        &["list", "extra"],
        &["list", "--bogus"],
    ] {
        let output = env.cmd().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(stderr.starts_with("inject: error: "), "{args:?}: {stderr}");
    }
}

/// A kept inherited value need not be UTF-8; its length is still its length in bytes.
#[test]
fn no_override_counts_the_bytes_of_a_value_that_is_not_utf8() {
    let env = TestEnv::new();
    env.write(FILE, "RAW = \"file\"\n");
    env.cmd()
        .env("RAW", common::non_utf8(b"\xff\xfe"))
        .args(["--no-override", "list"])
        .assert()
        .code(0)
        .stderr("")
        .stdout("RAW  env  (hidden, 2 bytes)\n");
    env.cmd()
        .env("RAW", common::non_utf8(b"\xff\xfe"))
        .args(["--no-override", "list", "--format", "json"])
        .assert()
        .code(0)
        .stdout(
            r#"[{"bytes":2,"key":"RAW","line":null,"name":"RAW","source":"env"}]"#.to_owned()
                + "\n",
        );
}

/// The shared options may come after the subcommand too.
#[test]
fn options_after_the_subcommand() {
    let env = small();
    env.write("s.toml", "[t]\nk = \"v\"\n");
    env.cmd()
        .args(["list", "-f", "s.toml", "--prefix", "X_", "--reveal"])
        .assert()
        .code(0)
        .stderr("")
        .stdout("X_T_K  s.toml:2  v\n");
}

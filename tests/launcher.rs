//! Black-box tests of `inject [OPTIONS] -- COMMAND`: which variables the child gets
//! (SPEC §2–§4), the errors that stop it before it runs, and how it is started (§6.1–§6.2, §8).

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use common::{PATH, Pair, SECRET, TestEnv, pairs};

/// Run `inject ARGS -- touch <root>/ran` and check that inject refused with exit 125,
/// exactly `stderr`, nothing on stdout, and that the command did not run.
fn refused(env: &TestEnv, args: &[&str], stderr: &str) {
    refused_with(env, args, &[], stderr);
}

fn refused_with(env: &TestEnv, args: &[&str], extra: &[(&str, &str)], stderr: &str) {
    let marker = env.root.join("ran");
    let output = env
        .cmd()
        .envs(extra.iter().copied())
        .args(args)
        .arg("--")
        .arg("touch")
        .arg(&marker)
        .output()
        .expect("run inject");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(err, stderr, "stderr of inject {args:?}");
    assert_eq!(output.status.code(), Some(125), "exit of inject {args:?}");
    assert!(output.stdout.is_empty(), "stdout of inject {args:?}");
    assert!(
        !marker.exists(),
        "inject {args:?} ran the command although it failed"
    );
    assert!(!err.contains(SECRET), "a value was printed: {err}");
}

/// A file whose root keys are `v0`, `v1`, … with these TOML values, and the variables
/// they must give, in order.
fn values_file(rows: &[(&str, &str)]) -> (String, Vec<Pair>) {
    let mut text = String::new();
    let mut want = Vec::new();
    for (i, (toml, value)) in rows.iter().enumerate() {
        text.push_str(&format!("v{i} = {toml}\n"));
        want.push((format!("v{i}"), value.to_string()));
    }
    (text, want)
}

fn check_values(rows: &[(&str, &str)]) {
    let env = TestEnv::new();
    let (text, want) = values_file(rows);
    env.write("s.toml", &text);
    let got = env.injected(&["-f", "s.toml"]);
    for (i, ((toml, _), (w, g))) in rows.iter().zip(want.iter().zip(&got)).enumerate() {
        assert_eq!(g, w, "row {i}: `{toml}`");
    }
    assert_eq!(got, want);
}

// ------------------------------------------------------------------ names and values (§3)

const WORKED: &str = r#"db_username = "admin"
port = 8501
big = 1e100
debug = true
tags = ["a", 1, true]
[trello]
api_key = "k-123"
"api-secret" = "s-456"
[trello.oauth]
token = "t-789"
[[servers]]
name = "a"
"#;

const WORKED_VARIABLES: &[(&str, &str)] = &[
    ("db_username", "admin"),
    ("port", "8501"),
    ("big", "1e+100"),
    ("debug", "true"),
    ("tags", r#"["a",1,true]"#),
    ("TRELLO_API_KEY", "k-123"),
    ("TRELLO_API_SECRET", "s-456"),
    ("TRELLO_OAUTH_TOKEN", "t-789"),
    ("servers", r#"[{"name":"a"}]"#),
];

#[test]
fn worked_example_of_the_spec() {
    let env = TestEnv::new();
    env.write("s.toml", WORKED);
    assert_eq!(env.injected(&["-f", "s.toml"]), pairs(WORKED_VARIABLES));
}

#[test]
fn worked_example_from_the_default_file() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", WORKED);
    assert_eq!(env.injected(&[]), pairs(WORKED_VARIABLES));
}

#[test]
fn integers_in_every_spelling() {
    check_values(&[
        ("0", "0"),
        ("+0", "0"),
        ("-0", "0"),
        ("+7", "7"),
        ("-17", "-17"),
        ("1_000", "1000"),
        ("1_000_000", "1000000"),
        ("0xff", "255"),
        ("0xDEAD_beef", "3735928559"),
        ("0x7FFF_FFFF_FFFF_FFFF", "9223372036854775807"),
        ("0o17", "15"),
        ("0o755", "493"),
        ("0b1010", "10"),
        ("0b1111_0000", "240"),
        ("0b0", "0"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
    ]);
}

/// Python's `str(float)`, byte for byte; every expectation was checked with python3.
#[test]
fn floats_are_spelled_as_python_does() {
    check_values(&[
        ("5.0", "5.0"),
        ("-0.0", "-0.0"),
        ("+0.0", "0.0"),
        ("1e100", "1e+100"),
        ("1e-7", "1e-07"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("0.1", "0.1"),
        ("100.0", "100.0"),
        ("-1e2", "-100.0"),
        ("1e0", "1.0"),
        ("1e15", "1000000000000000.0"),
        ("9999999999999998.0", "9999999999999998.0"),
        ("1e16", "1e+16"),
        ("12345678901234567.0", "1.2345678901234568e+16"),
        ("1e-4", "0.0001"),
        ("1e-5", "1e-05"),
        ("3.0e-5", "3e-05"),
        ("1.5E3", "1500.0"),
        ("1_000.5", "1000.5"),
        ("123456789.125", "123456789.125"),
        ("123456789012345.67", "123456789012345.67"),
        ("5e+22", "5e+22"),
        ("6.626e-34", "6.626e-34"),
        ("-1.5e-10", "-1.5e-10"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("5e-324", "5e-324"),
        ("inf", "inf"),
        ("+inf", "inf"),
        ("-inf", "-inf"),
        ("nan", "nan"),
        ("+nan", "nan"),
        ("-nan", "nan"),
    ]);
}

#[test]
fn booleans_and_the_four_datetime_kinds() {
    check_values(&[
        ("true", "true"),
        ("false", "false"),
        // offset date-time
        ("1979-05-27T07:32:00Z", "1979-05-27T07:32:00Z"),
        ("1979-05-27 07:32:00Z", "1979-05-27T07:32:00Z"),
        ("1979-05-27t07:32:00z", "1979-05-27T07:32:00Z"),
        (
            "1979-05-27T00:32:00.999999-07:00",
            "1979-05-27T00:32:00.999999-07:00",
        ),
        ("1979-05-27T07:32:00+00:00", "1979-05-27T07:32:00+00:00"),
        // local date-time
        ("1979-05-27T07:32:00", "1979-05-27T07:32:00"),
        ("1979-05-27T07:32:00.5", "1979-05-27T07:32:00.5"),
        // local date
        ("1979-05-27", "1979-05-27"),
        // local time
        ("07:32:00", "07:32:00"),
        ("00:32:00.999999", "00:32:00.999999"),
    ]);
}

#[test]
fn strings_are_kept_as_they_are() {
    check_values(&[
        (r#""plain""#, "plain"),
        (r#""""#, ""),
        ("''", ""),
        (r#""multi\nline""#, "multi\nline"),
        (r#""tab\there""#, "tab\there"),
        (r#""say \"hi\"""#, "say \"hi\""),
        (r#""\u00e9\U0001F600""#, "é😀"),
        ("'C:\\path\\n'", "C:\\path\\n"),
        ("\"\"\"\n  first\n  second\"\"\"", "  first\n  second"),
        ("\"\"\"a \\\n     b\"\"\"", "a b"),
        ("'''\nraw\\n\n'''", "raw\\n\n"),
        (r#""  spaces kept  ""#, "  spaces kept  "),
        (r#""$HOME `id` $(id) *""#, "$HOME `id` $(id) *"),
        (r#""ünï ☃""#, "ünï ☃"),
    ]);
}

#[test]
fn arrays_are_compact_json() {
    check_values(&[
        (r#"["a", 1, true]"#, r#"["a",1,true]"#),
        ("[]", "[]"),
        ("[ [1, 2], [\"x\"], [] ]", r#"[[1,2],["x"],[]]"#),
        (
            "[1.0, 1e100, 0.1, -0.0, 1e-7]",
            "[1.0,1e+100,0.1,-0.0,1e-07]",
        ),
        ("[0xff, 1_000, -3]", "[255,1000,-3]"),
        (
            "[1979-05-27, 07:32:00, 1979-05-27T07:32:00Z, 1979-05-27T07:32:00]",
            r#"["1979-05-27","07:32:00","1979-05-27T07:32:00Z","1979-05-27T07:32:00"]"#,
        ),
        (
            r#"[{ b = 1, a = "x" }, { z = { y = [true] } }]"#,
            r#"[{"b":1,"a":"x"},{"z":{"y":[true]}}]"#,
        ),
        (
            r#"["quote\"", "nl\n", "tab\t", "é", "back\\slash", "\u0001", "/"]"#,
            r#"["quote\"","nl\n","tab\t","é","back\\slash","\u0001","/"]"#,
        ),
        ("[\n  1, # one\n  2,\n]", "[1,2]"),
    ]);
}

#[test]
fn the_three_nested_forms_flatten_alike() {
    let env = TestEnv::new();
    env.write(
        "inline.toml",
        "trello = { api_key = \"k\", oauth = { token = \"t\" } }\n",
    );
    env.write(
        "dotted.toml",
        "trello.api_key = \"k\"\ntrello.oauth.token = \"t\"\n",
    );
    env.write(
        "headers.toml",
        "[trello]\napi_key = \"k\"\n[trello.oauth]\ntoken = \"t\"\n",
    );
    env.write(
        "mixed.toml",
        "[trello]\napi_key = \"k\"\noauth = { token = \"t\" }\n",
    );
    let want = pairs(&[("TRELLO_API_KEY", "k"), ("TRELLO_OAUTH_TOKEN", "t")]);
    for file in ["inline.toml", "dotted.toml", "headers.toml", "mixed.toml"] {
        assert_eq!(env.injected(&["-f", file]), want, "{file}");
    }
}

#[test]
fn arrays_of_tables_become_one_json_variable() {
    let env = TestEnv::new();
    env.write(
        "s.toml",
        "[[servers]]\nname = \"a\"\nport = 1\n[servers.meta]\nzone = \"eu\"\n\n\
         [[servers]]\nname = \"b\"\n\n\
         [app]\nx = 1\n[[app.items]]\nid = 1\n[[app.items]]\nid = 2\n",
    );
    assert_eq!(
        env.injected(&["-f", "s.toml"]),
        pairs(&[
            (
                "servers",
                r#"[{"name":"a","port":1,"meta":{"zone":"eu"}},{"name":"b"}]"#
            ),
            ("APP_X", "1"),
            ("APP_ITEMS", r#"[{"id":1},{"id":2}]"#),
        ])
    );
}

#[test]
fn quoted_and_unicode_keys() {
    let env = TestEnv::new();
    env.write(
        "s.toml",
        "\"quoted key\" = \"root-q\"\n\
         \"clé\" = \"root-u\"\n\
         1password = \"root-digit\"\n\
         [my-app.\"api key\"]\n\
         \"café.ß\" = \"v\"\n\
         \"x-y\" = \"w\"\n\
         \"🔑\" = \"emoji\"\n\
         [\"日本\"]\n\
         k = \"jp\"\n\
         [a.\"b.c\"]\n\
         d = \"dots\"\n\
         [s3]\n\
         Bucket = \"b\"\n",
    );
    assert_eq!(
        env.injected(&["-f", "s.toml"]),
        pairs(&[
            ("quoted key", "root-q"),
            ("clé", "root-u"),
            ("1password", "root-digit"),
            ("MY_APP_API_KEY_CAF___", "v"),
            ("MY_APP_API_KEY_X_Y", "w"),
            ("MY_APP_API_KEY__", "emoji"),
            ("___K", "jp"),
            ("A_B_C_D", "dots"),
            ("S3_BUCKET", "b"),
        ])
    );
}

#[test]
fn empty_tables_give_nothing() {
    let env = TestEnv::new();
    env.write("s.toml", "[empty]\n[outer.inner]\n[t]\nk = \"v\"\n");
    assert_eq!(env.injected(&["-f", "s.toml"]), pairs(&[("T_K", "v")]));
}

// ------------------------------------------------------------------ errors before the run

#[test]
fn collision_inside_a_table_names_both_keys() {
    let env = TestEnv::new();
    env.write(
        "s.toml",
        &format!("[trello]\napi_key = \"{SECRET}\"\n\"api-key\" = \"{SECRET}2\"\n"),
    );
    refused(
        &env,
        &["-f", "s.toml"],
        "inject: error: `TRELLO_API_KEY` would be set by two keys, `trello.api_key` (s.toml:2) and `trello.api-key` (s.toml:3): rename or remove one of them\n",
    );
}

#[test]
fn collision_of_a_root_key_with_a_nested_one() {
    let env = TestEnv::new();
    env.write(
        "s.toml",
        &format!("TRELLO_API_KEY = \"{SECRET}\"\n[trello]\napi_key = \"{SECRET}\"\n"),
    );
    refused(
        &env,
        &["-f", "s.toml"],
        "inject: error: `TRELLO_API_KEY` would be set by two keys, `TRELLO_API_KEY` (s.toml:1) and `trello.api_key` (s.toml:3): rename or remove one of them\n",
    );
}

#[test]
fn collision_across_sources_names_both_files() {
    let env = TestEnv::new();
    let global = env.write_home(
        ".streamlit/secrets.toml",
        &format!("x = 1\nTRELLO_API_KEY = \"{SECRET}\"\n"),
    );
    env.write(
        ".streamlit/secrets.toml",
        &format!("[trello]\napi_key = \"{SECRET}\"\n"),
    );
    refused(
        &env,
        &[],
        &format!(
            "inject: error: `TRELLO_API_KEY` would be set by two keys, `TRELLO_API_KEY` ({}:2) and `trello.api_key` (.streamlit/secrets.toml:2): rename or remove one of them\n",
            global.display()
        ),
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let env = TestEnv::new();
    env.write(
        "s.toml",
        &format!(
            "PATH = \"{SECRET}\"\n[t]\nk = \"{SECRET}\"\nK = \"{SECRET}\"\n[2fa]\ncode = \"{SECRET}\"\n"
        ),
    );
    refused(
        &env,
        &["-f", "s.toml"],
        "inject: error: `PATH` (from `PATH` at s.toml:1) can change which code runs, so inject refuses to set it from a secrets file: remove it, or pass `--allow PATH` if you mean it\n\
         inject: error: `T_K` would be set by two keys, `t.k` (s.toml:3) and `t.K` (s.toml:4): rename or remove one of them\n\
         inject: error: `2FA_CODE` (from `2fa.code` at s.toml:6) starts with a digit, which is not a valid variable name: add a prefix, e.g. `--prefix APP_`\n",
    );
}

#[test]
fn a_derived_name_with_a_leading_digit_needs_a_prefix() {
    let env = TestEnv::new();
    env.write("s.toml", &format!("[1password]\ntoken = \"{SECRET}\"\n"));
    refused(
        &env,
        &["-f", "s.toml"],
        "inject: error: `1PASSWORD_TOKEN` (from `1password.token` at s.toml:2) starts with a digit, which is not a valid variable name: add a prefix, e.g. `--prefix APP_`\n",
    );
    assert_eq!(
        env.injected(&["-f", "s.toml", "--prefix", "APP_"]),
        pairs(&[("APP_1PASSWORD_TOKEN", SECRET)])
    );
    // A prefix that itself starts with a digit does not help.
    refused(
        &env,
        &["-f", "s.toml", "--prefix", "9"],
        "inject: error: `91PASSWORD_TOKEN` (from `1password.token` at s.toml:2) starts with a digit, which is not a valid variable name: add a prefix, e.g. `--prefix APP_`\n",
    );
}

/// Every name of SPEC §3.4, and a member of each refused prefix.
const REFUSED: &[&str] = &[
    "PATH",
    "BASH_ENV",
    "ENV",
    "IFS",
    "PS4",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "NODE_OPTIONS",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "GCONV_PATH",
    "HOSTALIASES",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "MALLOC_CHECK_",
    "MALLOC_ARENA_MAX",
];

fn refused_message(name: &str, key: &str, line: u32) -> String {
    format!(
        "inject: error: `{name}` (from `{key}` at s.toml:{line}) can change which code runs, so inject refuses to set it from a secrets file: remove it, or pass `--allow {name}` if you mean it\n"
    )
}

#[test]
fn refused_names_as_root_keys() {
    let env = TestEnv::new();
    for name in REFUSED {
        env.write("s.toml", &format!("ok = 1\n{name} = \"{SECRET}\"\n"));
        refused(&env, &["-f", "s.toml"], &refused_message(name, name, 2));
    }
}

#[test]
fn refused_names_are_permitted_with_allow() {
    let env = TestEnv::new();
    for name in REFUSED.iter().filter(|n| **n != "PATH") {
        // An empty value: harmless even for the loader and libc of `env` itself.
        env.write("s.toml", &format!("ok = \"1\"\n{name} = \"\"\n"));
        assert_eq!(
            env.injected(&["-f", "s.toml", "--allow", name]),
            pairs(&[("ok", "1"), (name, "")]),
            "--allow {name}"
        );
        // Allowing another name does not allow this one.
        let other = if *name == "IFS" { "PS4" } else { "IFS" };
        refused(
            &env,
            &["-f", "s.toml", "--allow", other],
            &refused_message(name, name, 2),
        );
    }
}

#[test]
fn refused_names_from_tables_and_after_the_prefix() {
    let env = TestEnv::new();
    env.write("s.toml", &format!("[ld]\npreload = \"{SECRET}\"\n"));
    refused(
        &env,
        &["-f", "s.toml"],
        &refused_message("LD_PRELOAD", "ld.preload", 2),
    );
    env.write("s.toml", &format!("ATH = \"{SECRET}\"\n"));
    refused(
        &env,
        &["-f", "s.toml", "--prefix", "P"],
        &refused_message("PATH", "ATH", 1),
    );
    env.write("s.toml", &format!("[preload]\nlib = \"{SECRET}\"\n"));
    refused(
        &env,
        &["-f", "s.toml", "--prefix", "LD_"],
        &refused_message("LD_PRELOAD_LIB", "preload.lib", 2),
    );
    env.write("s.toml", "[ld]\npreload = \"\"\n");
    assert_eq!(
        env.injected(&["-f", "s.toml", "--allow", "LD_PRELOAD"]),
        pairs(&[("LD_PRELOAD", "")])
    );
}

#[test]
fn bad_root_keys() {
    let env = TestEnv::new();
    let rows = [
        (
            format!("\"\" = \"{SECRET}\"\n"),
            "inject: error: the root key `\"\"` at s.toml:1 cannot be a variable name: it is empty; rename it\n",
        ),
        (
            format!("ok = 1\n\"a=b\" = \"{SECRET}\"\n"),
            "inject: error: the root key `\"a=b\"` at s.toml:2 cannot be a variable name: it contains `=`; rename it\n",
        ),
        (
            format!("\"=\" = \"{SECRET}\"\n"),
            "inject: error: the root key `\"=\"` at s.toml:1 cannot be a variable name: it contains `=`; rename it\n",
        ),
        (
            format!("\"nul\\u0000\" = \"{SECRET}\"\n"),
            "inject: error: the root key `\"nul\\u0000\"` at s.toml:1 cannot be a variable name: it contains a NUL byte; rename it\n",
        ),
    ];
    for (text, stderr) in rows {
        env.write("s.toml", &text);
        refused(&env, &["-f", "s.toml"], stderr);
    }
}

#[test]
fn a_nul_byte_in_a_value() {
    let env = TestEnv::new();
    env.write("s.toml", &format!("k = \"{SECRET}\\u0000x\"\n"));
    refused(
        &env,
        &["-f", "s.toml"],
        "inject: error: the value of `k` at s.toml:1 contains a NUL byte, which no environment variable can hold: remove it\n",
    );
    env.write("s.toml", &format!("[t]\n\"a b\" = \"\\u0000{SECRET}\"\n"));
    refused(
        &env,
        &["-f", "s.toml"],
        "inject: error: the value of `t.\"a b\"` at s.toml:2 contains a NUL byte, which no environment variable can hold: remove it\n",
    );
    // Inside an array it is escaped JSON text, which a variable can hold.
    env.write("s.toml", "a = [\"x\\u0000y\"]\n");
    assert_eq!(
        env.injected(&["-f", "s.toml"]),
        pairs(&[("a", r#"["x\u0000y"]"#)])
    );
}

#[test]
fn integers_out_of_range() {
    let env = TestEnv::new();
    for (text, line, key) in [
        ("n = 9223372036854775808\n", 1, "n"),
        ("a = 1\nn = -9223372036854775809\n", 2, "n"),
        ("[t]\nbig = 99999999999999999999\n", 2, "t.big"),
        ("n = 0x8000_0000_0000_0000\n", 1, "n"),
        ("n = 0o1777777777777777777777\n", 1, "n"),
        ("[t]\nlist = [1, 0xffffffffffffffff]\n", 2, "t.list"),
    ] {
        env.write("s.toml", text);
        refused(
            &env,
            &["-f", "s.toml"],
            &format!(
                "inject: error: s.toml:{line}: the integer `{key}` does not fit in 64 bits: write it as a string\n"
            ),
        );
    }
}

#[test]
fn non_finite_floats_inside_arrays() {
    let env = TestEnv::new();
    for (text, line, key) in [
        ("a = [1.0, nan]\n", 1, "a"),
        ("x = 1\n[t]\nb = [inf]\n", 3, "t.b"),
        ("c = [[-inf]]\n", 1, "c"),
        ("d = [{ x = nan }]\n", 1, "d"),
    ] {
        env.write("s.toml", text);
        refused(
            &env,
            &["-f", "s.toml"],
            &format!(
                "inject: error: the array `{key}` at s.toml:{line} holds `inf` or `nan`, which JSON cannot spell: write it as a string\n"
            ),
        );
    }
}

/// TOML syntax errors locate the problem (file:line:column) and never quote the line.
#[test]
fn parse_errors_locate_but_never_show_the_value() {
    let env = TestEnv::new();
    let hidden = "(the line is not shown: it may hold a secret)";
    let rows = [
        (
            format!("a = 1\nb = 2\napi_key = \"{SECRET}\" trailing\n"),
            "3:29: invalid TOML: unexpected key or value, expected newline, `#`",
        ),
        (
            format!("a = 1\napi_key = \"{SECRET}\n"),
            "2:27: invalid TOML: invalid basic string, expected `\"`",
        ),
        (
            format!("api_key = \"{SECRET}\"\napi_key = \"{SECRET}\"\n"),
            "2:1: invalid TOML: duplicate key",
        ),
        (
            format!("x = 1\n[t]\nk = \"{SECRET}\\q\"\n"),
            "3:22: invalid TOML: missing escaped value, expected `b`, `e`, `f`, `n`, `r`, `\\`, `\"`, `x`, `u`, `U`",
        ),
        (
            format!("x = \"\"\"{SECRET}\n"),
            "2:1: invalid TOML: invalid multi-line basic string, expected `\"`",
        ),
        (
            format!("token = {SECRET}\n"),
            "1:9: invalid TOML: string values must be quoted, expected literal string",
        ),
        (
            format!("[t]\nk = [\"{SECRET}\"\n"),
            "2:23: invalid TOML: unclosed array, expected `]`",
        ),
        (
            format!("k = {{ a = \"{SECRET}\" b = 1 }}\n"),
            "1:29: invalid TOML: missing comma between key-value pairs, expected `,`",
        ),
        (
            format!("[t]\na = 1\n[t]\nb = \"{SECRET}\"\n"),
            "3:2: invalid TOML: duplicate key",
        ),
        (
            format!("a = 1\n[t\nk = \"{SECRET}\"\n"),
            "2:3: invalid TOML: unclosed table, expected `]`",
        ),
    ];
    for (text, place) in rows {
        env.write("s.toml", &text);
        refused(
            &env,
            &["-f", "s.toml"],
            &format!("inject: error: s.toml:{place} {hidden}\n"),
        );
    }
}

#[test]
fn a_file_that_is_not_utf8() {
    let env = TestEnv::new();
    env.write_bytes("s.toml", b"a = 1\nb = \"\xff\xfe\"\n");
    refused(
        &env,
        &["-f", "s.toml"],
        "inject: error: s.toml:2: not valid UTF-8: a secrets file must be UTF-8 text\n",
    );
}

#[test]
fn explicit_sources_that_cannot_be_used() {
    let env = TestEnv::new();
    refused(
        &env,
        &["-f", "nope.toml"],
        "inject: error: `nope.toml` does not exist: check the path given to `-f` or `INJECT_FILE`\n",
    );
    refused(
        &env,
        &["-f", "missing/dir"],
        "inject: error: `missing/dir` does not exist: check the path given to `-f` or `INJECT_FILE`\n",
    );
    env.write("notes.txt", "a = 1\n");
    refused(
        &env,
        &["-f", "notes.txt"],
        "inject: error: `notes.txt` is neither a `.toml` file nor a directory: `-f` takes a secrets TOML file or a secrets directory\n",
    );
    refused(
        &env,
        &["-f", "/dev/null"],
        "inject: error: `/dev/null` is neither a `.toml` file nor a directory: `-f` takes a secrets TOML file or a secrets directory\n",
    );
    env.write("run/trello/api_key", "k\n");
    env.write("run/plainfile", "x\n");
    refused(
        &env,
        &["-f", "run"],
        "inject: error: `run/plainfile` is not a folder: every entry of the secrets directory `run` must be a folder (a top-level key) holding one file per secret\n",
    );
    // A good source before a bad one does not run the command either.
    env.write("good.toml", "a = 1\n");
    refused(
        &env,
        &["-f", "good.toml", "-f", "nope.toml"],
        "inject: error: `nope.toml` does not exist: check the path given to `-f` or `INJECT_FILE`\n",
    );
}

#[test]
fn only_with_a_name_that_matches_nothing() {
    let env = TestEnv::new();
    env.write("s.toml", "root = \"r\"\n[trello]\napi_key = \"k\"\n");
    refused(
        &env,
        &["-f", "s.toml", "--only", "trelo"],
        "inject: error: `--only trelo` matches no top-level key of the secrets: check the spelling\n",
    );
    refused(
        &env,
        &[
            "-f",
            "s.toml",
            "--only",
            "trello",
            "--only",
            "TRELLO_API_KEY",
        ],
        "inject: error: `--only TRELLO_API_KEY` matches no top-level key of the secrets: check the spelling\n",
    );
}

/// With no source at all (production), `--only` has nothing to select from and the command
/// runs with the environment unchanged.
#[test]
fn only_without_any_source_passes_through() {
    let env = TestEnv::new();
    assert_eq!(env.injected(&["--only", "trello"]), pairs(&[]));
}

// ------------------------------------------------------------------ sources (§2)

#[test]
fn no_source_passes_the_environment_through_exactly() {
    let env = TestEnv::new();
    let extra = [
        ("TRELLO_API_KEY", "from-platform"),
        ("PORT", "8080"),
        ("EMPTY", ""),
        ("MULTI", "a\nb"),
        ("EQ", "a=b=c"),
    ];
    let output = env
        .cmd()
        .envs(extra)
        .args(["--", "env", "-0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    assert_eq!(common::parse_env0(&output.stdout), env.env_with(&extra));
}

#[test]
fn no_source_with_verbose_says_so() {
    let env = TestEnv::new();
    env.cmd()
        .args(["-v", "--", "printf", "ran"])
        .assert()
        .code(0)
        .stdout("ran")
        .stderr(
            "inject: note: no secrets source found: the environment passes through unchanged\n",
        );
}

#[test]
fn verbose_names_sources_and_variables_never_values() {
    let env = TestEnv::new();
    env.write(
        "s.toml",
        &format!("a = \"{SECRET}\"\n[t]\nk = \"{SECRET}\"\n"),
    );
    env.cmd()
        .args(["-v", "-f", "s.toml", "--", "printf", "ran"])
        .assert()
        .code(0)
        .stdout("ran")
        .stderr("inject: note: read `s.toml`\ninject: note: setting a, T_K\n");
}

#[test]
fn quiet_is_silent_without_a_source() {
    let env = TestEnv::new();
    env.cmd()
        .args(["-q", "--", "printf", "ran"])
        .assert()
        .code(0)
        .stdout("ran")
        .stderr("");
}

#[test]
fn streamlit_default_list_merges_global_and_project_shallowly() {
    let env = TestEnv::new();
    env.write_home(
        ".streamlit/secrets.toml",
        "GLOBAL_ONLY = \"g\"\nshared = \"global\"\n[trello]\nboard = \"gb\"\napi_key = \"g\"\n[aws]\nregion = \"eu\"\n",
    );
    env.write(
        ".streamlit/secrets.toml",
        "shared = \"project\"\n[trello]\napi_key = \"p\"\nPROJECT_ONLY = 1\n",
    );
    // The project's `[trello]` replaces the global one whole, in its place: no TRELLO_BOARD.
    assert_eq!(
        env.injected(&[]),
        pairs(&[
            ("GLOBAL_ONLY", "g"),
            ("shared", "project"),
            ("TRELLO_API_KEY", "p"),
            ("TRELLO_PROJECT_ONLY", "1"),
            ("AWS_REGION", "eu"),
        ])
    );
}

#[test]
fn streamlit_default_list_global_alone_and_project_alone() {
    let env = TestEnv::new();
    env.write_home(".streamlit/secrets.toml", "[g]\nk = \"1\"\n");
    assert_eq!(env.injected(&[]), pairs(&[("G_K", "1")]));
    fs::remove_file(env.home.join(".streamlit/secrets.toml")).unwrap();
    env.write(".streamlit/secrets.toml", "[p]\nk = \"2\"\n");
    assert_eq!(env.injected(&[]), pairs(&[("P_K", "2")]));
}

#[test]
fn without_home_only_the_project_file_is_read() {
    let env = TestEnv::new();
    env.write_home(".streamlit/secrets.toml", "G = \"g\"\n");
    env.write(".streamlit/secrets.toml", "P = \"p\"\n");
    let output = env
        .cmd()
        .env_remove("HOME")
        .args(["--", "env", "-0"])
        .output()
        .unwrap();
    common::assert_clean_exit(&output, "no HOME");
    assert_eq!(
        common::parse_env0(&output.stdout),
        pairs(&[("LANG", "C.UTF-8"), ("PATH", PATH), ("P", "p")])
    );
    let output = env
        .cmd()
        .env("HOME", "")
        .args(["--", "env", "-0"])
        .output()
        .unwrap();
    common::assert_clean_exit(&output, "empty HOME");
    assert_eq!(
        common::parse_env0(&output.stdout),
        pairs(&[
            ("HOME", ""),
            ("LANG", "C.UTF-8"),
            ("PATH", PATH),
            ("P", "p")
        ])
    );
}

#[test]
fn explicit_files_replace_the_default_list_and_merge_in_order() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "IGNORED = \"1\"\n");
    env.write("a.toml", "A = \"a\"\nB = \"a\"\n[t]\nx = 1\ny = 2\n");
    env.write("b.toml", "B = \"b\"\n[t]\nz = 3\n");
    assert_eq!(
        env.injected(&["-f", "a.toml"]),
        pairs(&[("A", "a"), ("B", "a"), ("T_X", "1"), ("T_Y", "2")])
    );
    assert_eq!(
        env.injected(&["-f", "a.toml", "--file", "b.toml"]),
        pairs(&[("A", "a"), ("B", "b"), ("T_Z", "3")])
    );
    assert_eq!(
        env.injected(&["-f", "b.toml", "-f", "a.toml"]),
        pairs(&[("B", "a"), ("T_X", "1"), ("T_Y", "2"), ("A", "a")])
    );
}

#[test]
fn inject_file_is_the_fallback_for_dash_f() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "IGNORED = \"1\"\n");
    env.write("s.toml", "[t]\nk = \"v\"\n");
    assert_eq!(
        env.injected_with(&[], &[("INJECT_FILE", "s.toml")]),
        pairs(&[("T_K", "v")])
    );
    // `-f` wins over the variable.
    env.write("other.toml", "o = \"1\"\n");
    assert_eq!(
        env.injected_with(&["-f", "other.toml"], &[("INJECT_FILE", "s.toml")]),
        pairs(&[("o", "1")])
    );
    refused_with(
        &env,
        &[],
        &[("INJECT_FILE", "nope.toml")],
        "inject: error: `nope.toml` does not exist: check the path given to `-f` or `INJECT_FILE`\n",
    );
}

#[test]
fn streamlit_secrets_files_variable() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "IGNORED = \"1\"\n");
    env.write(
        ".streamlit/config.toml",
        "[secrets]\nfiles = [\"three.toml\"]\n",
    );
    env.write("one.toml", "A = \"1\"\nB = \"1\"\n");
    env.write("two.toml", "B = \"2\"\n");
    env.write("three.toml", "C = \"3\"\n");
    let files = " one.toml  missing.toml two.toml ";
    assert_eq!(
        env.injected_with(&[], &[("STREAMLIT_SECRETS_FILES", files)]),
        pairs(&[("A", "1"), ("B", "2")])
    );
    // Set but empty: as if unset, so the config file decides.
    assert_eq!(
        env.injected_with(&[], &[("STREAMLIT_SECRETS_FILES", "")]),
        pairs(&[("C", "3")])
    );
    // Only missing entries: nothing to read, nothing injected, no error.
    assert_eq!(
        env.injected_with(&[], &[("STREAMLIT_SECRETS_FILES", "gone.toml")]),
        pairs(&[])
    );
}

#[test]
fn streamlit_config_secrets_files() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "IGNORED = \"1\"\n");
    env.write_home(".streamlit/secrets.toml", "IGNORED_TOO = \"1\"\n");
    env.write("one.toml", "A = \"1\"\nB = \"1\"\n");
    env.write("conf/two.toml", "B = \"2\"\n");
    env.write(
        ".streamlit/config.toml",
        "[server]\nport = 8501\n\n[secrets]\nfiles = [\"one.toml\", \"missing.toml\", \"conf/two.toml\"]\n",
    );
    assert_eq!(env.injected(&[]), pairs(&[("A", "1"), ("B", "2")]));
    // A config file without `[secrets] files` keeps the default list.
    env.write(".streamlit/config.toml", "[server]\nport = 8501\n");
    assert_eq!(
        env.injected(&[]),
        pairs(&[("IGNORED_TOO", "1"), ("IGNORED", "1")])
    );
}

#[test]
fn project_config_overrides_the_global_config() {
    let env = TestEnv::new();
    env.write("global.toml", "G = \"g\"\n");
    env.write("project.toml", "P = \"p\"\n");
    env.write_home(
        ".streamlit/config.toml",
        "[secrets]\nfiles = [\"global.toml\"]\n",
    );
    assert_eq!(env.injected(&[]), pairs(&[("G", "g")]));
    env.write(
        ".streamlit/config.toml",
        "[secrets]\nfiles = [\"project.toml\"]\n",
    );
    assert_eq!(env.injected(&[]), pairs(&[("P", "p")]));
    // A project config that does not set the list leaves the global one in charge.
    env.write(".streamlit/config.toml", "[theme]\nbase = \"dark\"\n");
    assert_eq!(env.injected(&[]), pairs(&[("G", "g")]));
}

#[test]
fn invalid_secrets_files_setting_is_an_error() {
    let env = TestEnv::new();
    let bad_list = "inject: error: .streamlit/config.toml:3: `[secrets] files` must be a list of paths, e.g. `files = [\".streamlit/secrets.toml\"]`\n";
    for text in [
        "[secrets]\n\nfiles = \"one.toml\"\n",
        "[secrets]\n\nfiles = [\"one.toml\", 1]\n",
        "[secrets]\n\nfiles = { a = \"b\" }\n",
    ] {
        env.write(".streamlit/config.toml", text);
        refused(&env, &[], bad_list);
    }
    env.write(".streamlit/config.toml", "[secrets]\nfiles = [\n");
    refused(
        &env,
        &[],
        "inject: error: .streamlit/config.toml:2:10: invalid TOML: unclosed array, expected `]` (the line is not shown: it may hold a secret)\n",
    );
    // The global config is read too.
    fs::remove_file(env.app.join(".streamlit/config.toml")).unwrap();
    let global = env.write_home(".streamlit/config.toml", "[secrets]\nfiles = 7\n");
    refused(
        &env,
        &[],
        &format!(
            "inject: error: {}:2: `[secrets] files` must be a list of paths, e.g. `files = [\".streamlit/secrets.toml\"]`\n",
            global.display()
        ),
    );
}

// ------------------------------------------------------------------ secrets directories (§2.4)

#[test]
fn secrets_directory_folders_become_sections() {
    let env = TestEnv::new();
    env.write("run/trello/api_key", "k-123\n");
    env.write("run/trello/token", "  \t t-456 \n\n");
    env.write("run/trello/api-secret", "s\n");
    env.write("run/db_password/pw", "\n  pw  \n");
    env.write("run/aws/multi", "line1\nline2\n");
    env.write("run/aws/region", "eu");
    assert_eq!(
        env.injected(&["-f", "run"]),
        pairs(&[
            ("AWS_MULTI", "line1\nline2"),
            ("AWS_REGION", "eu"),
            ("db_password", "pw"),
            ("TRELLO_API_SECRET", "s"),
            ("TRELLO_API_KEY", "k-123"),
            ("TRELLO_TOKEN", "t-456"),
        ])
    );
}

#[test]
fn secrets_directory_ignores_subfolders_and_follows_symlinks() {
    let env = TestEnv::new();
    // A Kubernetes secret volume: the files are symlinks through `..data`, itself a symlink
    // to a timestamped folder. Only `api_key` and `token` are secrets.
    let trello = env.app.join("run/trello");
    env.write("run/trello/..2024_01_01/api_key", "k\n");
    env.write("run/trello/..2024_01_01/token", "t\n");
    symlink("..2024_01_01", trello.join("..data")).unwrap();
    symlink("..data/api_key", trello.join("api_key")).unwrap();
    symlink("..data/token", trello.join("token")).unwrap();
    // One file and a subfolder: the subfolder is ignored, so the folder collapses.
    env.write("run/db/password", "pw\n");
    env.write("run/db/nested/deeper", "ignored\n");
    // A folder reached through a symlink counts as a folder.
    env.write("elsewhere/stripe/key", "sk\n");
    symlink(env.app.join("elsewhere/stripe"), env.app.join("run/stripe")).unwrap();
    assert_eq!(
        env.injected(&["-f", "run"]),
        pairs(&[
            ("db", "pw"),
            ("stripe", "sk"),
            ("TRELLO_API_KEY", "k"),
            ("TRELLO_TOKEN", "t"),
        ])
    );
}

#[test]
fn secrets_directory_merges_with_files() {
    let env = TestEnv::new();
    env.write("base.toml", "[trello]\nboard = \"b\"\n[other]\nx = \"1\"\n");
    env.write("run/trello/api_key", "k\n");
    env.write("run/trello/token", "t\n");
    assert_eq!(
        env.injected(&["-f", "base.toml", "-f", "run"]),
        pairs(&[
            ("TRELLO_API_KEY", "k"),
            ("TRELLO_TOKEN", "t"),
            ("OTHER_X", "1")
        ])
    );
}

#[test]
fn secrets_directory_in_the_default_list() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml/trello/api_key", "k\n");
    assert_eq!(env.injected(&[]), pairs(&[("trello", "k")]));
}

// ------------------------------------------------------------------ selection and composition

const SELECTION: &str = "root = \"r\"\n[trello]\napi_key = \"k\"\n[aws]\nregion = \"eu\"\n";

#[test]
fn only_selects_top_level_keys() {
    let env = TestEnv::new();
    env.write("s.toml", SELECTION);
    assert_eq!(
        env.injected(&["-f", "s.toml", "--only", "trello"]),
        pairs(&[("TRELLO_API_KEY", "k")])
    );
    assert_eq!(
        env.injected(&["-f", "s.toml", "--only", "aws", "--only", "root"]),
        pairs(&[("root", "r"), ("AWS_REGION", "eu")])
    );
    assert_eq!(
        env.injected(&["-f", "s.toml", "--only", "aws,trello"]),
        pairs(&[("TRELLO_API_KEY", "k"), ("AWS_REGION", "eu")])
    );
    assert_eq!(
        env.injected_with(&["-f", "s.toml"], &[("INJECT_ONLY", "root,aws")]),
        pairs(&[("root", "r"), ("AWS_REGION", "eu")])
    );
}

#[test]
fn only_filters_before_collisions_are_checked() {
    let env = TestEnv::new();
    env.write(
        "s.toml",
        "TRELLO_API_KEY = \"root\"\n[trello]\napi_key = \"k\"\n",
    );
    assert_eq!(
        env.injected(&["-f", "s.toml", "--only", "trello"]),
        pairs(&[("TRELLO_API_KEY", "k")])
    );
}

#[test]
fn prefix_applies_to_every_name() {
    let env = TestEnv::new();
    env.write("s.toml", SELECTION);
    let want = pairs(&[
        ("APP_root", "r"),
        ("APP_TRELLO_API_KEY", "k"),
        ("APP_AWS_REGION", "eu"),
    ]);
    assert_eq!(env.injected(&["-f", "s.toml", "--prefix", "APP_"]), want);
    assert_eq!(
        env.injected_with(&["-f", "s.toml"], &[("INJECT_PREFIX", "APP_")]),
        want
    );
    assert_eq!(
        env.injected(&["-f", "s.toml", "--prefix", "x", "--only", "trello"]),
        pairs(&[("xTRELLO_API_KEY", "k")])
    );
}

#[test]
fn a_prefix_containing_equals_is_a_usage_error() {
    let env = TestEnv::new();
    env.write("s.toml", SELECTION);
    let marker = env.root.join("ran");
    let output = env
        .cmd()
        .args(["-f", "s.toml", "--prefix", "A=", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    assert!(!marker.exists());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.lines().next(),
        Some(
            "inject: error: invalid value 'A=' for '--prefix <TEXT>': a prefix cannot contain `=`"
        ),
        "{stderr}"
    );
}

#[test]
fn the_file_wins_by_default_in_place() {
    let env = TestEnv::new();
    env.write("s.toml", SELECTION);
    let got = env.child_env_with(&["-f", "s.toml"], &[("TRELLO_API_KEY", "old")]);
    let mut want = env.env_with(&[("TRELLO_API_KEY", "k")]);
    want.extend(pairs(&[("root", "r"), ("AWS_REGION", "eu")]));
    assert_eq!(got, want);
}

#[test]
fn no_override_keeps_inherited_values() {
    let env = TestEnv::new();
    env.write("s.toml", SELECTION);
    let extra = [("TRELLO_API_KEY", "old"), ("root", "")];
    let want = pairs(&[("AWS_REGION", "eu")]);
    assert_eq!(
        env.injected_with(&["-f", "s.toml", "--no-override"], &extra),
        want
    );
    let mut extra_env = extra.to_vec();
    extra_env.push(("INJECT_NO_OVERRIDE", "true"));
    assert_eq!(env.injected_with(&["-f", "s.toml"], &extra_env), want);
}

#[test]
fn clean_starts_from_nothing_but_kept_names() {
    let env = TestEnv::new();
    env.write("s.toml", SELECTION);
    let injected = [("root", "r"), ("TRELLO_API_KEY", "k"), ("AWS_REGION", "eu")];
    // No PATH in the child: `env` is found on the default search path.
    assert_eq!(
        env.child_env(&["-f", "s.toml", "--clean"]),
        pairs(&injected)
    );
    let home = env.home.to_str().unwrap();
    let mut want = pairs(&[("HOME", home), ("PATH", PATH)]);
    want.extend(pairs(&injected));
    assert_eq!(
        env.child_env(&[
            "-f", "s.toml", "--clean", "--keep", "HOME", "--keep", "PATH", "--keep", "UNSET"
        ]),
        want
    );
    // A kept name the file also sets takes the file's value, in place.
    let mut want = pairs(&[("HOME", home), ("TRELLO_API_KEY", "k")]);
    want.extend(pairs(&[("root", "r"), ("AWS_REGION", "eu")]));
    assert_eq!(
        env.child_env_with(
            &["-f", "s.toml", "--clean", "--keep", "HOME,TRELLO_API_KEY"],
            &[("TRELLO_API_KEY", "old")]
        ),
        want
    );
}

#[test]
fn clean_without_any_source_gives_an_empty_environment() {
    let env = TestEnv::new();
    assert_eq!(env.child_env(&["--clean"]), pairs(&[]));
}

#[test]
fn keep_without_clean_is_a_usage_error() {
    let env = TestEnv::new();
    let marker = env.root.join("ran");
    let output = env
        .cmd()
        .args(["--keep", "HOME", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    assert!(output.stdout.is_empty());
    assert!(!marker.exists());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.lines().take(2).collect::<Vec<_>>(),
        [
            "inject: error: the following required arguments were not provided:",
            "  --clean"
        ],
        "{stderr}"
    );
}

// ------------------------------------------------------------------ starting the child (§6)

#[test]
fn the_exit_status_of_the_child_passes_through() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    for code in [0, 1, 2, 42, 125, 126, 127, 255] {
        env.cmd()
            .args(["--", "sh", "-c", &format!("exit {code}")])
            .assert()
            .code(code)
            .stdout("")
            .stderr("");
    }
}

#[test]
fn a_child_killed_by_a_signal_is_seen_as_killed() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    for signal in [nix::libc::SIGTERM, nix::libc::SIGKILL, nix::libc::SIGUSR1] {
        let output = env
            .std_cmd()
            .args(["--", "sh", "-c", &format!("kill -{signal} $$")])
            .output()
            .unwrap();
        assert_eq!(output.status.signal(), Some(signal), "{:?}", output.status);
        assert!(output.stderr.is_empty());
    }
}

#[test]
fn stdin_working_directory_and_output_are_the_callers() {
    let env = TestEnv::new();
    env.cmd()
        .args(["--", "sh", "-c", "read x; echo \"$x $(pwd)\"; echo err >&2"])
        .write_stdin("hi\n")
        .assert()
        .code(0)
        .stdout(format!("hi {}\n", env.app.display()))
        .stderr("err\n");
}

#[test]
fn the_umask_is_the_callers() {
    let env = TestEnv::new();
    let run = |program: &Path, args: &[&str]| {
        let mut cmd = env.std_command(program);
        cmd.args(args);
        // SAFETY: `umask` is async-signal-safe and touches no memory of the parent.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o027));
                Ok(())
            });
        }
        cmd.output().unwrap()
    };
    let want = run(Path::new(ENV), &["sh", "-c", "umask"]);
    assert_eq!(want.stdout, b"0027\n");
    let got = run(common::bin(), &["--", "sh", "-c", "umask"]);
    assert_eq!(got.stdout, want.stdout);
}

#[test]
fn command_not_found_is_127() {
    let env = TestEnv::new();
    env.cmd()
        .args(["--", "no-such-command-xyz", "arg"])
        .assert()
        .code(127)
        .stdout("")
        .stderr("inject: error: cannot run `no-such-command-xyz`: command not found in `PATH`\n");
    env.cmd()
        .args(["--", "/nonexistent/x"])
        .assert()
        .code(127)
        .stdout("")
        .stderr("inject: error: cannot run `/nonexistent/x`: no such file\n");
    env.cmd()
        .args(["--", "./missing"])
        .assert()
        .code(127)
        .stderr("inject: error: cannot run `./missing`: no such file\n");
    env.cmd()
        .args(["--", ""])
        .assert()
        .code(127)
        .stderr("inject: error: cannot run ``: command not found in `PATH`\n");
}

#[test]
fn a_missing_interpreter_is_127() {
    let env = TestEnv::new();
    env.write_mode("badinterp", "#!/nonexistent/interp\necho no\n", 0o755);
    env.cmd()
        .args(["--", "./badinterp"])
        .assert()
        .code(127)
        .stdout("")
        .stderr("inject: error: cannot run `./badinterp`: its `#!` interpreter was not found: check the first line of the script\n");
}

#[test]
fn a_missing_interpreter_found_on_path_is_127() {
    let env = TestEnv::new();
    env.write_mode("bin/badinterp", "#!/nonexistent/interp\necho no\n", 0o755);
    let path = format!("{}/bin:{PATH}", env.app.display());
    env.cmd()
        .env("PATH", &path)
        .args(["--", "badinterp"])
        .assert()
        .code(127)
        .stdout("")
        .stderr(format!("inject: error: cannot run `badinterp` (`{}/bin/badinterp`): its `#!` interpreter was not found: check the first line of the script\n", env.app.display()));
}

#[test]
fn a_file_that_is_not_executable_is_126() {
    let env = TestEnv::new();
    env.write_mode("noexec.sh", "#!/bin/sh\necho hi\n", 0o644);
    env.cmd()
        .args(["--", "./noexec.sh"])
        .assert()
        .code(126)
        .stdout("")
        .stderr("inject: error: cannot run `./noexec.sh`: permission denied: is it executable (`chmod +x`)?\n");
}

#[test]
fn a_directory_is_126() {
    let env = TestEnv::new();
    let dir = env.root.to_str().unwrap();
    env.cmd()
        .args(["--", dir])
        .assert()
        .code(126)
        .stdout("")
        .stderr(format!(
            "inject: error: cannot run `{dir}`: it is a directory\n"
        ));
}

#[test]
fn a_script_without_a_shebang_runs_under_sh() {
    let env = TestEnv::new();
    env.write_mode("noshebang", "echo \"plain $0 $# [$1] [$2]\"\n", 0o755);
    env.cmd()
        .args(["--", "./noshebang", "a b", "-x"])
        .assert()
        .code(0)
        .stdout("plain ./noshebang 2 [a b] [-x]\n")
        .stderr("");
    // Found on PATH too.
    env.write_mode("bin/plain-script", "echo \"found $1\"\nexit 3\n", 0o755);
    env.cmd()
        .env("PATH", format!("{}/bin:{PATH}", env.app.display()))
        .args(["--", "plain-script", "x"])
        .assert()
        .code(3)
        .stdout("found x\n")
        .stderr("");
}

#[test]
fn the_search_uses_the_childs_path() {
    let env = TestEnv::new();
    env.write_mode("tools/mytool", "#!/bin/sh\necho \"mytool $1\"\n", 0o755);
    let tools = format!("{}/tools", env.app.display());
    env.write("s.toml", &format!("PATH = \"{tools}\"\n"));
    // Not on inject's own PATH:
    env.cmd()
        .args(["--", "mytool"])
        .assert()
        .code(127)
        .stderr("inject: error: cannot run `mytool`: command not found in `PATH`\n");
    // Found through the injected PATH.
    env.cmd()
        .args(["-f", "s.toml", "--allow", "PATH", "--", "mytool", "arg"])
        .assert()
        .code(0)
        .stdout("mytool arg\n")
        .stderr("");
    // And the inherited PATH is no longer searched: `env` lives in /usr/bin only.
    env.cmd()
        .args(["-f", "s.toml", "--allow", "PATH", "--", "env"])
        .assert()
        .code(127)
        .stderr("inject: error: cannot run `env`: command not found in `PATH`\n");
}

#[test]
fn the_search_skips_a_file_that_cannot_be_executed() {
    let env = TestEnv::new();
    env.write_mode("first/tool", "#!/bin/sh\necho first\n", 0o644);
    env.write_mode("second/tool", "#!/bin/sh\necho second\n", 0o755);
    let app = env.app.display();
    env.cmd()
        .env("PATH", format!("{app}/first:{app}/second:{PATH}"))
        .args(["--", "tool"])
        .assert()
        .code(0)
        .stdout("second\n")
        .stderr("");
    env.cmd()
        .env("PATH", format!("{app}/first:{PATH}"))
        .args(["--", "tool"])
        .assert()
        .code(126)
        .stdout("")
        .stderr(
            "inject: error: cannot run `tool`: permission denied: is it executable (`chmod +x`)?\n",
        );
    // A directory of that name on PATH is skipped as well.
    fs::create_dir_all(env.app.join("third/tool")).unwrap();
    env.cmd()
        .env("PATH", format!("{app}/third:{app}/second"))
        .args(["--", "tool"])
        .assert()
        .code(0)
        .stdout("second\n");
}

#[test]
fn an_empty_path_entry_means_the_working_directory() {
    let env = TestEnv::new();
    env.write_mode("here", "#!/bin/sh\necho here\n", 0o755);
    env.cmd()
        .env("PATH", format!("/nonexistent::{PATH}"))
        .args(["--", "here"])
        .assert()
        .code(0)
        .stdout("here\n");
}

#[test]
fn unknown_options_are_usage_errors() {
    let env = TestEnv::new();
    let marker = env.root.join("ran");
    for args in [
        vec!["--bogus"],
        vec!["-Z"],
        vec!["--file"],
        vec!["true"],
        vec!["-q", "-v"],
    ] {
        let output = env
            .cmd()
            .args(&args)
            .arg("--")
            .arg("touch")
            .arg(&marker)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!marker.exists(), "{args:?} ran the command");
        assert!(stderr.starts_with("inject: error: "), "{args:?}: {stderr}");
    }
    let output = env.cmd().args(["--bogus", "--", "true"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).lines().next(),
        Some("inject: error: unexpected argument '--bogus' found")
    );
}

#[test]
fn help_and_version_succeed() {
    let env = TestEnv::new();
    let output = env.cmd().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stderr.is_empty());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.starts_with(
            "Run a program with the secrets of a Streamlit `secrets.toml` as environment variables.\n"
        ),
        "{help}"
    );
    for word in [
        "--file",
        "INJECT_FILE",
        "--only",
        "--prefix",
        "--allow",
        "list",
    ] {
        assert!(help.contains(word), "--help does not mention {word}");
    }
    let short = env.cmd().arg("-h").output().unwrap();
    assert_eq!(short.status.code(), Some(0));
    assert!(short.stderr.is_empty());
    assert!(short.stdout.starts_with(b"Run a program"));
    env.cmd()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(format!("inject {}\n", env!("CARGO_PKG_VERSION")))
        .stderr("");
}

#[test]
fn no_command_is_an_error() {
    let env = TestEnv::new();
    env.write("s.toml", "a = 1\n");
    let message = "inject: error: nothing to run: put the command after `--`, e.g. `inject -- streamlit run app.py` (or see `inject --help`)\n";
    for args in [&[][..], &["--"], &["-f", "s.toml"], &["-f", "s.toml", "--"]] {
        env.cmd()
            .args(args)
            .assert()
            .code(125)
            .stdout("")
            .stderr(message);
    }
}

#[test]
fn arguments_pass_through_byte_for_byte() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    env.cmd()
        .args([
            "--", "printf", "[%s]", "a b", "", "-x", "--", "$HOME", "*", "list", "-f", "--help",
            "'q'", "\\n",
        ])
        .assert()
        .code(0)
        .stdout("[a b][][-x][--][$HOME][*][list][-f][--help]['q'][\\n]")
        .stderr("");
}

#[test]
fn a_non_utf8_argument_reaches_the_child_unchanged() {
    let env = TestEnv::new();
    let bytes = b"caf\xe9 \xff\xfe\x80end";
    env.cmd()
        .args(["--", "printf", "%s"])
        .arg(common::non_utf8(bytes))
        .assert()
        .code(0)
        .stdout(&bytes[..])
        .stderr("");
    // As the program name, too: it is not found, and the message says so readably.
    env.cmd()
        .arg("--")
        .arg(common::non_utf8(b"no-\xff"))
        .assert()
        .code(127)
        .stderr("inject: error: cannot run `no-\u{fffd}`: command not found in `PATH`\n");
}

#[test]
fn a_word_after_the_separator_is_a_program_never_a_subcommand() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    env.write_mode("bin/list", "#!/bin/sh\necho \"program-list $*\"\n", 0o755);
    env.cmd()
        .env("PATH", format!("{}/bin:{PATH}", env.app.display()))
        .args(["--", "list", "--reveal"])
        .assert()
        .code(0)
        .stdout("program-list --reveal\n")
        .stderr("");
    // Without such a program, `list` after `--` is a program that is not found.
    env.cmd()
        .args(["--", "list"])
        .assert()
        .code(127)
        .stdout("")
        .stderr("inject: error: cannot run `list`: command not found in `PATH`\n");
}

#[test]
fn inject_execs_in_place() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    let output = env
        .std_command("sh")
        .args(["-c", "echo $$; exec \"$0\" -- sh -c 'echo $$; echo $PPID'"])
        .arg(common::bin())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let pids: Vec<&str> = text.lines().collect();
    assert_eq!(pids.len(), 3, "{text}");
    assert_eq!(pids[0], pids[1], "inject must exec in place, not fork");
    assert_ne!(pids[0], pids[2]);
}

#[cfg(target_os = "linux")]
#[test]
fn an_oversized_environment_is_126_and_names_the_variable() {
    let env = TestEnv::new();
    let value = "x".repeat(200_000);
    env.write("s.toml", &format!("small = \"s\"\nhuge = \"{value}\"\n"));
    let output = env
        .cmd()
        .args(["-f", "s.toml", "--", "true"])
        .output()
        .unwrap();
    let total: usize = env
        .base_env()
        .iter()
        .map(|(n, v)| n.len() + v.len() + 2)
        .sum::<usize>()
        + "small=s\0".len()
        + "huge=\0".len()
        + value.len();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "inject: error: cannot run `true`: the kernel refused the environment as too large ({total} bytes in all); the largest variable is `huge` (200005 bytes; Linux allows at most 131072 for one): shorten it or pass it as a file\n"
        )
    );
    assert_eq!(output.status.code(), Some(126));
    assert!(output.stdout.is_empty());
    assert!(!stderr.contains("xxxx"));
}

// ------------------------------------------------------------------ process state (§6.1)

/// `env` by its full path: std starts a program named by path the same way it starts
/// inject (glibc's `posix_spawn` leaves its internal real-time signals ignored in the child,
/// a `PATH` search in a changed environment forks instead), so the two compare fairly.
const ENV: &str = "/usr/bin/env";

/// `inject -- yes` into a pipe whose reader goes away: `yes` must die of SIGPIPE, as it
/// would under `env`. Rust's runtime would have left SIGPIPE ignored, so `yes` would see
/// EPIPE and exit 1 instead.
#[test]
fn sigpipe_reaches_the_child_at_its_inherited_disposition() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    let mut child = env
        .std_cmd()
        .args(["--", "yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "y\n");
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("`inject -- yes` did not stop when its reader went away");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(nix::libc::SIGPIPE), "{status:?}");
}

/// Which signals a caller blocks and ignores.
#[cfg(target_os = "linux")]
#[derive(Clone, Copy, Debug)]
enum Caller {
    /// What `std::process::Command` gives: nothing blocked, SIGPIPE at its default.
    Plain,
    /// Blocks SIGUSR1 and ignores SIGHUP and SIGPIPE.
    Odd,
}

#[cfg(target_os = "linux")]
fn run_as(env: &TestEnv, caller: Caller, program: &Path, args: &[&str]) -> std::process::Output {
    use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
    use std::os::unix::process::CommandExt;

    let mut cmd = env.std_command(program);
    cmd.args(args);
    if let Caller::Odd = caller {
        // SAFETY: runs in the forked child before exec; it only calls `sigprocmask` and
        // `signal` with SIG_IGN, both async-signal-safe, and allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                let mut blocked = SigSet::empty();
                blocked.add(Signal::SIGUSR1);
                sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;
                signal(Signal::SIGHUP, SigHandler::SigIgn)?;
                signal(Signal::SIGPIPE, SigHandler::SigIgn)?;
                Ok(())
            });
        }
    }
    cmd.output().unwrap()
}

/// `SigBlk` and `SigIgn` of `/proc/self/status` as the child sees them.
#[cfg(target_os = "linux")]
fn signal_state(env: &TestEnv, caller: Caller, through_inject: bool) -> String {
    let args = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"];
    let output = if through_inject {
        let mut all = vec!["--"];
        all.extend(args);
        run_as(env, caller, common::bin(), &all)
    } else {
        run_as(env, caller, Path::new(ENV), &args)
    };
    assert!(output.status.success(), "{caller:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[cfg(target_os = "linux")]
fn mask(state: &str, field: &str) -> u64 {
    let line = state
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:\t")))
        .unwrap_or_else(|| panic!("no {field} in {state}"));
    u64::from_str_radix(line, 16).unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn the_signal_state_is_what_env_gives() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    let bit = |signal: i32| 1u64 << (signal - 1);
    let plain = signal_state(&env, Caller::Plain, false);
    let odd = signal_state(&env, Caller::Odd, false);
    // The odd caller really is odd, so the comparison below can fail.
    assert_eq!(mask(&plain, "SigBlk"), 0, "{plain}");
    assert_eq!(
        mask(&plain, "SigIgn") & bit(nix::libc::SIGPIPE),
        0,
        "{plain}"
    );
    assert_eq!(mask(&odd, "SigBlk"), bit(nix::libc::SIGUSR1), "{odd}");
    let ignored = bit(nix::libc::SIGHUP) | bit(nix::libc::SIGPIPE);
    assert_eq!(mask(&odd, "SigIgn") & ignored, ignored, "{odd}");

    assert_eq!(
        signal_state(&env, Caller::Plain, true),
        plain,
        "plain caller"
    );
    assert_eq!(signal_state(&env, Caller::Odd, true), odd, "odd caller");
}

/// The descriptors of the child, as `ls /proc/self/fd` lists them.
#[cfg(target_os = "linux")]
fn descriptors(env: &TestEnv, inject_args: Option<&[&str]>, extra_fd: bool) -> String {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let file = fs::File::open(env.app.as_path()).unwrap();
    let raw = file.as_raw_fd();
    let mut cmd = match inject_args {
        Some(args) => {
            let mut cmd = env.std_cmd();
            cmd.args(args).arg("--");
            cmd
        }
        None => env.std_command(ENV),
    };
    cmd.args(["ls", "/proc/self/fd"]);
    if extra_fd {
        // SAFETY: in the forked child before exec; `dup2` and `fcntl` are async-signal-safe.
        // Descriptor 7 is left without close-on-exec (also when `raw` already is 7, where
        // `dup2` changes nothing): the caller hands it on on purpose.
        unsafe {
            cmd.pre_exec(move || {
                if nix::libc::dup2(raw, 7) == -1 || nix::libc::fcntl(7, nix::libc::F_SETFD, 0) == -1
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    drop(file);
    String::from_utf8(output.stdout).unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn no_descriptor_leaks_into_the_child() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n");
    env.write_home(".streamlit/secrets.toml", "B = \"1\"\n");
    env.write(".streamlit/config.toml", "[server]\nport = 1\n");
    env.write("one.toml", "C = \"1\"\n");
    env.write("two.toml", "D = \"1\"\n");
    env.write("run/trello/api_key", "k\n");
    env.write("run/trello/token", "t\n");
    env.write("run/db/pw", "p\n");
    for extra_fd in [false, true] {
        let want = descriptors(&env, None, extra_fd);
        assert_eq!(want.contains("\n7\n"), extra_fd, "{want}");
        for args in [
            &[][..],
            &["-f", "one.toml", "-f", "run", "-f", "two.toml"],
            &["--clean"],
        ] {
            assert_eq!(
                descriptors(&env, Some(args), extra_fd),
                want,
                "inject {args:?} (descriptor 7 passed: {extra_fd})"
            );
        }
    }
}

#[test]
fn inherited_bytes_that_are_not_utf8_pass_through_unchanged() {
    let env = TestEnv::new();
    env.write("s.toml", "A = \"1\"\n");
    let output = env
        .cmd()
        .env("RAW", common::non_utf8(b"\xff\xfe v"))
        .env(common::non_utf8(b"N\xe9"), "x")
        .args(["-f", "s.toml", "--", "env", "-0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let home = env.home.to_str().unwrap();
    let want = [
        format!("HOME={home}").into_bytes(),
        b"LANG=C.UTF-8".to_vec(),
        b"N\xe9=x".to_vec(),
        format!("PATH={PATH}").into_bytes(),
        b"RAW=\xff\xfe v".to_vec(),
        b"A=1".to_vec(),
    ];
    let got: Vec<&[u8]> = output.stdout.split(|b| *b == 0).collect();
    let mut want: Vec<&[u8]> = want.iter().map(Vec::as_slice).collect();
    want.push(b"");
    assert_eq!(got, want);
}

/// A fallback variable that is set but empty counts as unset, as `STREAMLIT_SECRETS_FILES`
/// does (SPEC §2.1): `ENV INJECT_FILE=` in a Dockerfile must not break the default list.
#[test]
fn empty_inject_variables_count_as_unset() {
    let env = TestEnv::new();
    env.write(".streamlit/secrets.toml", "A = \"1\"\n[t]\nk = \"v\"\n");
    let want = pairs(&[("A", "1"), ("T_K", "v")]);
    for name in [
        "INJECT_FILE",
        "INJECT_ONLY",
        "INJECT_PREFIX",
        "INJECT_ALLOW",
        "INJECT_NO_OVERRIDE",
        "INJECT_CLEAN",
        "INJECT_KEEP",
    ] {
        assert_eq!(env.injected_with(&[], &[(name, "")]), want, "{name}=");
    }
    let all = [
        ("INJECT_FILE", ""),
        ("INJECT_ONLY", ""),
        ("INJECT_PREFIX", ""),
        ("INJECT_KEEP", ""),
        ("INJECT_CLEAN", ""),
    ];
    assert_eq!(env.injected_with(&[], &all), want);
    // `list` reads the same settings.
    env.cmd()
        .envs(all)
        .args(["list"])
        .assert()
        .code(0)
        .stderr("")
        .stdout(
            "A    .streamlit/secrets.toml:1  (hidden, 1 byte)\n\
             T_K  .streamlit/secrets.toml:3  (hidden, 1 byte)\n",
        );
}

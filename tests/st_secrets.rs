//! `--st-secrets` (issue 14), black-box: the secrets file Streamlit gets, in memory. What the
//! program reads through `STREAMLIT_SECRETS_FILES` is checked byte for byte in every mode
//! (exec, init, `--mask`, `--watch`), and so is what is *not* anywhere: no file holds a value,
//! the link in the private folder resolves only inside the program, another user cannot read
//! the memory. Streamlit itself reads it in `tests/e2e/streamlit_e2e.sh`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TIMEOUT, TestEnv, lines, send, skipped, wait_until};

const SECRET: &str = "s3cr3t-Zq8wVx1L";

const SECRETS: &str = "db_user = \"admin\"\n[trello]\napi_key = \"s3cr3t-Zq8wVx1L\"\n";
const TEMPLATE: &str = "port = 0\nratio = 0.0\ndebug = false\nwhen = 1979-05-27T07:32:00Z\ntags = []\n[auth]\nclient_id = \"\"\n";

/// The program prints the path it was given, then what it reads there.
const SHOW: &str = "printf '%s\\n' \"$STREAMLIT_SECRETS_FILES\"; cat \"$STREAMLIT_SECRETS_FILES\"";

fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.write_private("s.toml", SECRETS);
    env.write("example.toml", TEMPLATE);
    std::fs::create_dir_all(env.root.join("run")).expect("mkdir");
    std::fs::set_permissions(env.root.join("run"), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    env
}

/// Only the private `XDG_RUNTIME_DIR` of this test.
fn private_run(env: &TestEnv) -> Vec<(&'static str, String)> {
    vec![(
        "XDG_RUNTIME_DIR",
        env.root.join("run").display().to_string(),
    )]
}

/// The variables the template names, as a platform sets them.
fn platform(env: &TestEnv) -> Vec<(&'static str, String)> {
    // XDG_RUNTIME_DIR first: the tests change the others by index.
    let mut vars = private_run(env);
    vars.extend([
        ("port", "8501".into()),
        ("ratio", "1e+100".into()),
        ("debug", "true".into()),
        ("when", "2026-12-03T10:00:00Z".into()),
        ("tags", "[\"a\",1,{\"b\":null}]".into()),
        ("AUTH_CLIENT_ID", "client-from-env".into()),
    ]);
    vars
}

const HANDED: &str = "db_user = \"admin\"\ntrello = { api_key = \"s3cr3t-Zq8wVx1L\" }\nport = 8501\nratio = 1e100\ndebug = true\nwhen = 2026-12-03T10:00:00Z\nauth = { client_id = \"client-from-env\" }\n";

fn inject(env: &TestEnv, vars: &[(&str, String)], args: &[&str]) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.envs(vars.iter().map(|(k, v)| (k, v)))
        .args(["-f", "s.toml", "--st-secrets"])
        .args(args);
    cmd
}

/// The link's folder for these runs: `XDG_RUNTIME_DIR/inject-UID`.
fn folder(env: &TestEnv) -> std::path::PathBuf {
    // SAFETY: `getuid` has no preconditions.
    let uid = unsafe { libc::getuid() };
    env.root.join("run").join(format!("inject-{uid}"))
}

#[test]
fn the_program_reads_the_sources_and_the_template_keys_typed() {
    let env = setup();
    let mut vars = platform(&env);
    // `tags` as JSON with a null cannot be a TOML array: set a good one for this run.
    vars[5].1 = "[\"a\",1,{\"b\":2}]".into();
    let out = inject(
        &env,
        &vars,
        &["--require-from", "example.toml", "--", "sh", "-c", SHOW],
    )
    .output()
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
    let link = folder(&env).join("secrets-fd3.toml");
    let want = format!(
        "{}\n{}",
        link.display(),
        HANDED.replace("auth =", "tags = [\"a\", 1, { b = 2 }]\nauth =")
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    // The link holds no value: it points into whoever opens it.
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("/proc/self/fd/3")
    );
    let mode = std::fs::symlink_metadata(folder(&env))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn a_variable_that_is_not_its_type_is_named_never_shown() {
    let env = setup();
    let mut vars = platform(&env);
    vars[1].1 = "80-s3cr3t".into();
    let out = inject(
        &env,
        &vars,
        &["--require-from", "example.toml", "--", "true"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "inject: error: `port` is not an integer, the type of `port` in the template (example.toml:1): set it to decimal digits, e.g. `8501`\n\
         inject: error: `tags` is not an array, the type of `tags` in the template (example.toml:5): set it to compact JSON, e.g. `[1,\"two\"]`\n"
    );
    assert_eq!(out.stdout, b"");
}

#[test]
fn missing_template_keys_are_all_listed() {
    let env = setup();
    let vars = private_run(&env);
    let out = inject(
        &env,
        &vars,
        &["--require-from", "example.toml", "--", "true"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    for name in ["port", "ratio", "debug", "when", "tags", "AUTH_CLIENT_ID"] {
        assert!(err.contains(&format!("`{name}`")), "{name}: {err}");
    }
    assert_eq!(err.lines().count(), 6, "{err}");
}

#[test]
fn nothing_to_hand_over_is_a_usage_error() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["--st-secrets", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "inject: error: `--st-secrets` has nothing to hand over: no secrets source was found and no `--require-from` template names a key; add one, or drop `--st-secrets`\n"
    );
}

#[test]
fn every_mode_hands_the_same_memory() {
    let env = setup();
    let vars = private_run(&env);
    let want = "db_user = \"admin\"\ntrello = { api_key = \"s3cr3t-Zq8wVx1L\" }\n";
    let read = "cat \"$STREAMLIT_SECRETS_FILES\"";
    for mode in [
        &["--no-init"][..],
        &["--init"],
        &["--mask"],
        &["--init", "-g"],
    ] {
        let out = inject(&env, &vars, &[mode, &["--", "sh", "-c", read]].concat())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{mode:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{mode:?}");
        let shown = if mode == ["--mask"] {
            want.replace(SECRET, "[masked:TRELLO_API_KEY]")
        } else {
            want.to_string()
        };
        assert_eq!(String::from_utf8_lossy(&out.stdout), shown, "{mode:?}");
    }
}

#[test]
fn the_program_gets_the_memory_and_no_other_descriptor() {
    let env = setup();
    let vars = private_run(&env);
    // What the program has open (`ls` adds the folder it reads), with and without.
    let script = "readlink /proc/self/fd/3; ls /proc/self/fd | wc -l";
    for mode in ["--no-init", "--init"] {
        let with = inject(&env, &vars, &[mode, "--", "sh", "-c", script])
            .output()
            .unwrap();
        let without = env
            .cmd()
            .args(["-f", "s.toml", mode, "--", "sh", "-c", script])
            .output()
            .unwrap();
        let (with, without) = (
            String::from_utf8_lossy(&with.stdout).into_owned(),
            String::from_utf8_lossy(&without.stdout).into_owned(),
        );
        let count = |text: &str| {
            text.lines()
                .last()
                .and_then(|n| n.trim().parse::<u32>().ok())
        };
        assert!(
            with.starts_with("/memfd:inject-st-secrets (deleted)\n"),
            "{mode}: {with}"
        );
        assert_eq!(
            count(&with),
            count(&without).map(|n| n + 1),
            "{mode}: {with} {without}"
        );
    }
}

/// Every regular file under `dir` that holds `needle`, at most 8 levels down.
fn holding(dir: &Path, needle: &[u8], depth: u32, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() && depth < 8 {
            holding(&path, needle, depth + 1, found);
        } else if kind.is_file()
            && entry.metadata().is_ok_and(|m| m.len() < 64 << 20)
            && std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path.display().to_string());
        }
    }
}

#[test]
fn while_the_program_runs_no_file_holds_a_value_and_no_other_user_reads_it() {
    let env = setup();
    // A value no other file can hold by chance (the tests' own sources hold SECRET), in a
    // secrets file outside every place searched.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let value = format!("v-{}-{nanos:x}-unique", std::process::id());
    let elsewhere = tempfile::tempdir().unwrap();
    let source = elsewhere.path().join("s.toml");
    std::fs::write(&source, format!("[trello]\napi_key = \"{value}\"\n")).unwrap();
    let source = source.display().to_string();
    let run = env.root.join("run");
    let mut command = Command::new(common::bin());
    command
        .env_clear()
        .envs(env.base_env())
        .env("XDG_RUNTIME_DIR", &run)
        .env("TMPDIR", env.root.join("run"))
        .current_dir(&env.app)
        .args(["-f", &source, "--st-secrets", "--", "sh", "-c"])
        .arg("echo ready; exec sleep 30")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let out = lines(child.stdout.take().unwrap());
    assert_eq!(out.recv_timeout(TIMEOUT).ok().as_deref(), Some("ready"));
    let pid = child.id();
    // The program holds it, as its descriptor 3.
    let held = std::fs::read_to_string(format!("/proc/{pid}/fd/3")).unwrap();
    assert!(held.contains(&value));
    let mut found = Vec::new();
    for dir in [Path::new("/dev/shm"), &run, &env.app, &env.home] {
        holding(dir, value.as_bytes(), 0, &mut found);
    }
    // The temporary folder and the folders in it, not deeper (it may be large).
    holding(&std::env::temp_dir(), value.as_bytes(), 7, &mut found);
    found.retain(|path| !path.starts_with(&elsewhere.path().display().to_string()));
    assert_eq!(found, Vec::<String>::new(), "files holding the value");
    // Another user: neither the program's descriptor nor the link opens the memory.
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 || common::which("setpriv").is_none() {
        skipped("root and setpriv (util-linux), to try as another user");
    } else {
        let link = folder(&env).join("secrets-fd3.toml");
        for path in [format!("/proc/{pid}/fd/3"), link.display().to_string()] {
            let other = Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "cat",
                    &path,
                ])
                .output()
                .unwrap();
            assert!(!other.status.success(), "{path}");
            assert!(!String::from_utf8_lossy(&other.stdout).contains(&value));
        }
    }
    send(pid as i32, libc::SIGTERM);
    assert!(wait_until(&mut child, Duration::from_secs(5)).is_some());
    // Afterwards only the link is left, and it holds no value.
    let mut found = Vec::new();
    holding(&run, value.as_bytes(), 0, &mut found);
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn a_change_under_watch_rewrites_the_memory() {
    let env = setup();
    let mut command = env.std_cmd();
    command
        .env("XDG_RUNTIME_DIR", env.root.join("run"))
        .args([
            "-f",
            "s.toml",
            "--st-secrets",
            "--watch",
            "-q",
            "--",
            "sh",
            "-c",
        ])
        .arg("cat \"$STREAMLIT_SECRETS_FILES\"; echo --; exec sleep 30")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    use std::os::unix::process::CommandExt;
    let mut child = command.spawn().unwrap();
    let out = lines(child.stdout.take().unwrap());
    let next = || out.recv_timeout(TIMEOUT).ok().unwrap_or_default();
    assert_eq!(next(), "db_user = \"admin\"");
    assert_eq!(next(), format!("trello = {{ api_key = \"{SECRET}\" }}"));
    assert_eq!(next(), "--");
    std::fs::write(env.app.join("s.toml"), "db_user = \"root\"\n").unwrap();
    assert_eq!(next(), "db_user = \"root\"");
    assert_eq!(next(), "--");
    send(child.id() as i32, libc::SIGTERM);
    assert_eq!(
        wait_until(&mut child, Duration::from_secs(5)).and_then(|s| s.code()),
        Some(143)
    );
}

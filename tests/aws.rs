//! `aws-sm://` and `aws-ssm://` sources (SPEC §11) against a real local AWS: moto's server on
//! 127.0.0.1, started and stopped by each test. Without moto installed the tests that need it
//! print "skipped: needs moto" and return; the network failures need no server.
#![cfg(feature = "aws")]

mod common;
mod moto;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use moto::Moto;

/// Every secret value in these tests contains this; no stderr may.
const MARK: &str = "s3cr3t";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Run inject with nothing of this process's environment but `PATH`: no AWS settings or
/// credentials leak in from the machine, and the instance metadata service is never asked.
fn inject(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let start = Instant::now();
    let output = Command::new(common::bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("inject runs");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    };
    assert!(
        !run.stderr.contains(MARK),
        "a secret value on stderr of {args:?}: {}",
        run.stderr
    );
    run
}

fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", moto::REGION.into()),
        ("AWS_ENDPOINT_URL", endpoint.into()),
    ]
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn assert_ok(run: &Run, stdout: &str) {
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    assert_eq!(run.stdout, stdout);
}

fn assert_error(run: &Run, parts: &[&str]) {
    assert_eq!(
        run.code, 125,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("inject: error: "), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    for part in parts {
        assert!(run.stderr.contains(part), "`{part}` not in: {}", run.stderr);
    }
}

/// The `source` of each variable in `inject list --format json`.
fn origins(run: &Run) -> Vec<(String, String)> {
    assert_eq!(run.code, 0, "{}", run.stderr);
    let items: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("JSON list");
    items
        .iter()
        .map(|item| {
            assert_eq!(item["line"], serde_json::Value::Null);
            (
                item["name"].as_str().unwrap_or_default().to_string(),
                item["source"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn secrets_manager_json_and_toml_merge_like_files() {
    let Some(moto) = Moto::start("secrets_manager_json_and_toml_merge_like_files") else {
        return;
    };
    moto.create_secret(
        "prod/app",
        r#"{"db_username": "admin-s3cr3t", "trello": {"api_key": "k-s3cr3t", "oauth": {"token": "t-s3cr3t"}}, "port": 8501, "ratio": 0.5, "debug": true, "tags": ["a", 1]}"#,
    );
    moto.create_secret(
        "prod/toml",
        "db_username = \"toml-s3cr3t\"\n[trello]\napi_key = \"tk-s3cr3t\"\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let env = aws_env(&moto.endpoint());
    let env = borrowed(&env);
    let env_cmd = ["--", "/usr/bin/env"];
    let run = |args: &[&str]| inject(dir.path(), &env, args);
    let with_env = |args: &[&str]| run(&[args, &env_cmd[..]].concat());

    assert_ok(
        &with_env(&["--clean", "-f", "aws-sm://prod/app"]),
        "db_username=admin-s3cr3t\nTRELLO_API_KEY=k-s3cr3t\nTRELLO_OAUTH_TOKEN=t-s3cr3t\nport=8501\nratio=0.5\ndebug=true\ntags=[\"a\",1]\n",
    );
    assert_ok(
        &with_env(&["--clean", "-f", "aws-sm://prod/toml"]),
        "db_username=toml-s3cr3t\nTRELLO_API_KEY=tk-s3cr3t\n",
    );
    // By ARN too (moto accepts any account in it).
    assert_ok(
        &with_env(&[
            "--clean",
            "-f",
            "aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/toml",
        ]),
        "db_username=toml-s3cr3t\nTRELLO_API_KEY=tk-s3cr3t\n",
    );

    // Later sources replace whole top-level keys of earlier ones (shallow), files or not.
    std::fs::write(
        dir.path().join("s.toml"),
        "db_username = \"local\"\nextra = \"e\"\n[trello]\napi_key = \"local-key\"\nlocal_only = \"l\"\n",
    )
    .unwrap();
    assert_ok(
        &with_env(&["--clean", "-f", "s.toml", "-f", "aws-sm://prod/toml"]),
        "db_username=toml-s3cr3t\nextra=e\nTRELLO_API_KEY=tk-s3cr3t\n",
    );
    assert_ok(
        &with_env(&["--clean", "-f", "aws-sm://prod/toml", "-f", "s.toml"]),
        "db_username=local\nTRELLO_API_KEY=local-key\nTRELLO_LOCAL_ONLY=l\nextra=e\n",
    );
    let mut from_variable = env.clone();
    from_variable.push(("INJECT_FILE", "aws-sm://prod/toml"));
    assert_ok(
        &inject(
            dir.path(),
            &from_variable,
            &["--clean", "--", "/usr/bin/env"],
        ),
        "db_username=toml-s3cr3t\nTRELLO_API_KEY=tk-s3cr3t\n",
    );

    assert_eq!(
        origins(&run(&[
            "-f",
            "aws-sm://prod/app",
            "list",
            "--format",
            "json"
        ])),
        [
            ("db_username", "aws-sm://prod/app#db_username"),
            ("TRELLO_API_KEY", "aws-sm://prod/app#trello.api_key"),
            ("TRELLO_OAUTH_TOKEN", "aws-sm://prod/app#trello.oauth.token"),
            ("port", "aws-sm://prod/app#port"),
            ("ratio", "aws-sm://prod/app#ratio"),
            ("debug", "aws-sm://prod/app#debug"),
            ("tags", "aws-sm://prod/app#tags"),
        ]
        .map(|(n, o)| (n.to_string(), o.to_string()))
    );
    let list = run(&["-f", "aws-sm://prod/toml", "list"]);
    assert_ok(
        &list,
        "db_username     aws-sm://prod/toml#db_username     (hidden, 11 bytes)\nTRELLO_API_KEY  aws-sm://prod/toml#trello.api_key  (hidden, 9 bytes)\n",
    );

    // `export` and `check` read the same sources.
    use std::os::unix::fs::PermissionsExt as _;
    let private = std::fs::Permissions::from_mode(0o600);
    std::fs::set_permissions(dir.path().join("s.toml"), private).unwrap();
    assert_ok(
        &run(&["-f", "aws-sm://prod/toml", "export", "--format", "shell"]),
        "export db_username='toml-s3cr3t'\nexport TRELLO_API_KEY='tk-s3cr3t'\n",
    );
    assert_ok(
        &run(&[
            "-f",
            "s.toml",
            "-f",
            "aws-sm://prod/app",
            "check",
            "--format",
            "json",
        ]),
        "{\"errors\":0,\"findings\":[],\"sources\":[\"s.toml\",\"aws-sm://prod/app\"],\"warnings\":0}\n",
    );

    // `-v` names what was read and set, never a value (the helper checks every stderr).
    let verbose = run(&["-v", "-f", "aws-sm://prod/app", "--", "true"]);
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
    assert_eq!(
        verbose.stderr,
        "inject: note: read `aws-sm://prod/app`\ninject: note: setting db_username, TRELLO_API_KEY, TRELLO_OAUTH_TOKEN, port, ratio, debug, tags\n"
    );
}

#[test]
fn secrets_manager_failures_name_the_source_and_code() {
    let Some(moto) = Moto::start("secrets_manager_failures_name_the_source_and_code") else {
        return;
    };
    moto.create_binary_secret("prod/binary", "czNjcjN0");
    moto.create_secret("prod/bad-json", r#"{"api_key": "k-s3cr3t" "b": 1}"#);
    moto.create_secret("prod/plain", "just-a-s3cr3t-token");
    moto.create_secret(
        "prod/null",
        r#"{"trello": {"api_key": null}, "x": "s3cr3t"}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let env = aws_env(&moto.endpoint());
    let env = borrowed(&env);
    let run = |source: &str| inject(dir.path(), &env, &["-v", "-f", source, "--", "true"]);

    assert_error(
        &run("aws-sm://prod/missing"),
        &[
            "`aws-sm://prod/missing`: Secrets Manager: not found (ResourceNotFoundException)",
            "`AWS_REGION`, now `us-east-1`",
        ],
    );
    assert_error(
        &run("aws-sm://prod/binary"),
        &["`aws-sm://prod/binary`: the secret holds binary data (`SecretBinary`)"],
    );
    assert_error(
        &run("aws-sm://prod/bad-json"),
        &["`aws-sm://prod/bad-json`: invalid JSON at line 1, column"],
    );
    assert_error(
        &run("aws-sm://prod/plain"),
        &[
            "aws-sm://prod/plain:1:",
            "a secret read by inject holds a JSON object (key/value pairs) or TOML text",
        ],
    );
    assert_error(
        &run("aws-sm://prod/null"),
        &["`aws-sm://prod/null`: `trello.api_key` is JSON `null`"],
    );
    // `check` reports every source that cannot be read, each at its place.
    let check = inject(
        dir.path(),
        &env,
        &[
            "-f",
            "aws-sm://prod/missing",
            "-f",
            "aws-sm://prod/binary",
            "check",
            "--format",
            "json",
        ],
    );
    assert_eq!(check.code, 1, "{}", check.stderr);
    let report: serde_json::Value = serde_json::from_str(&check.stdout).expect("JSON report");
    let findings: Vec<(&str, &str, bool)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default(),
                f["kind"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default().contains("Secret"),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            ("aws-sm://prod/missing", "source", true),
            ("aws-sm://prod/binary", "source", true)
        ]
    );
    assert!(!check.stdout.contains(MARK), "{}", check.stdout);
    // `list` reads the same way and fails the same way.
    let list = inject(dir.path(), &env, &["-f", "aws-sm://prod/missing", "list"]);
    assert_error(&list, &["ResourceNotFoundException"]);
}

#[test]
fn parameter_store_paths_become_sections_over_every_page() {
    let Some(moto) = Moto::start("parameter_store_paths_become_sections_over_every_page") else {
        return;
    };
    // 15 parameters under the path: more than one page (the API returns at most 10).
    for i in 0..12 {
        moto.put_parameter(
            &format!("/prod/app/svc{i:02}/key"),
            &format!("v{i}-s3cr3t"),
            "SecureString",
        );
    }
    moto.put_parameter("/prod/app/trello/oauth/token", "t-s3cr3t", "SecureString");
    moto.put_parameter("/prod/app/db_username", "admin-s3cr3t", "String");
    moto.put_parameter("/prod/app/trello/api_key", "k-s3cr3t", "SecureString");
    moto.put_parameter("/prod/other/outside", "o-s3cr3t", "String");
    moto.put_parameter("/prod/clash/trello", "p-s3cr3t", "String");
    moto.put_parameter("/prod/clash/trello/api_key", "c-s3cr3t", "String");
    let dir = tempfile::tempdir().unwrap();
    let env = aws_env(&moto.endpoint());
    let env = borrowed(&env);
    let run = |args: &[&str]| inject(dir.path(), &env, args);

    let mut want = String::from("db_username=admin-s3cr3t\n");
    for i in 0..12 {
        want.push_str(&format!("SVC{i:02}_KEY=v{i}-s3cr3t\n"));
    }
    want.push_str("TRELLO_API_KEY=k-s3cr3t\nTRELLO_OAUTH_TOKEN=t-s3cr3t\n");
    for source in ["aws-ssm:///prod/app/", "aws-ssm:///prod/app"] {
        assert_ok(
            &run(&["--clean", "-f", source, "--", "/usr/bin/env"]),
            &want,
        );
    }
    let listed = origins(&run(&[
        "-f",
        "aws-ssm:///prod/app/",
        "list",
        "--format",
        "json",
    ]));
    assert_eq!(listed.len(), 15);
    assert_eq!(
        listed[0],
        (
            "db_username".into(),
            "aws-ssm:///prod/app/db_username".into()
        )
    );
    assert_eq!(
        listed[14],
        (
            "TRELLO_OAUTH_TOKEN".into(),
            "aws-ssm:///prod/app/trello/oauth/token".into()
        )
    );
    assert_ok(
        &run(&[
            "--clean",
            "-f",
            "aws-ssm:///prod/nothing/",
            "--",
            "/usr/bin/env",
        ]),
        "",
    );
    assert_error(
        &run(&["-f", "aws-ssm:///prod/clash/", "--", "true"]),
        &[
            "`aws-ssm:///prod/clash/`: the parameter `/prod/clash/trello` is also the parent of `/prod/clash/trello/api_key`",
        ],
    );
    assert_error(
        &run(&["-f", "aws-ssm://prod/app/", "--", "true"]),
        &["a parameter path starts with `/`"],
    );
}

#[test]
fn access_denied_names_the_iam_action() {
    let Some(moto) = Moto::start("access_denied_names_the_iam_action") else {
        return;
    };
    moto.create_secret("prod/app", r#"{"api_key": "k-s3cr3t"}"#);
    moto.put_parameter("/prod/app/api_key", "k-s3cr3t", "SecureString");
    let (key, secret) = moto.user_without_permissions();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto.endpoint();
    let env = [
        ("AWS_ACCESS_KEY_ID", key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
        ("AWS_REGION", moto::REGION),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ];
    let run = |source: &str| inject(dir.path(), &env, &["-v", "-f", source, "--", "true"]);
    // moto answers 403 with an XML body the SDK cannot read a code from: the status stands in.
    assert_error(
        &run("aws-sm://prod/app"),
        &[
            "`aws-sm://prod/app`: Secrets Manager: access denied (HTTP 403)",
            "need `secretsmanager:GetSecretValue` on it",
            "`kms:Decrypt`",
        ],
    );
    assert_error(
        &run("aws-ssm:///prod/app/"),
        &[
            "`aws-ssm:///prod/app/`: Parameter Store: access denied (HTTP 403)",
            "need `ssm:GetParametersByPath` on it",
        ],
    );
}

/// The child gets the same descriptors as with a file source: no socket of the SDK is left.
#[cfg(target_os = "linux")]
#[test]
fn no_descriptor_is_left_to_the_child() {
    let Some(moto) = Moto::start("no_descriptor_is_left_to_the_child") else {
        return;
    };
    moto.create_secret("prod/app", r#"{"api_key": "k-s3cr3t"}"#);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), "api_key = \"k\"\n").unwrap();
    let env = aws_env(&moto.endpoint());
    let env = borrowed(&env);
    let fds = |source: &str| {
        let run = inject(
            dir.path(),
            &env,
            &["-f", source, "--", "/bin/sh", "-c", "ls /proc/self/fd"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let from_file = fds("s.toml");
    assert!(from_file.contains("2\n"), "{from_file}");
    assert_eq!(fds("aws-sm://prod/app"), from_file);
}

/// The one HTTPS client of the build, end to end: a certificate signed by a CA the system
/// store does not hold is refused; trusted through `SSL_CERT_FILE`, the call goes through.
#[test]
fn https_trusts_the_system_store_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let made = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=inject test CA",
    ]) && openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]) && openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
    ]);
    if !made {
        common::skipped("openssl: https_trusts_the_system_store_only");
        return;
    }
    let Some(moto) = Moto::start_tls(
        "https_trusts_the_system_store_only",
        &d.join("leaf.pem"),
        &d.join("leaf.key"),
    ) else {
        return;
    };
    let env = aws_env(&format!("https://localhost:{}", moto.port));
    let mut env = borrowed(&env);
    let run = inject(d, &env, &["-f", "aws-sm://prod/app", "--", "true"]);
    assert_error(
        &run,
        &[
            "cannot reach Secrets Manager",
            "invalid peer certificate: UnknownIssuer",
        ],
    );
    let ca = d.join("ca.pem");
    let ca = ca.to_string_lossy();
    env.push(("SSL_CERT_FILE", &ca));
    let run = inject(d, &env, &["-f", "aws-sm://prod/app", "--", "true"]);
    assert_error(&run, &["not found (ResourceNotFoundException)"]);
}

/// A listener that accepts connections and never answers, for as long as the test binary runs.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64).flatten() {
            held.push(stream);
        }
        // Keep the last connections open until the process ends.
        std::thread::sleep(Duration::from_secs(3600));
        drop(held);
    });
    port
}

#[test]
fn network_failures_end_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let closed = format!("http://127.0.0.1:{}", moto::free_port());
    let silent = format!("http://127.0.0.1:{}", silent_server());

    // No credentials anywhere in the chain (no variables, no ~/.aws, IMDS off).
    let run = inject(
        dir.path(),
        &[("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", &closed)],
        &["-f", "aws-sm://prod/app", "--", "true"],
    );
    assert_error(
        &run,
        &[
            "`aws-sm://prod/app`: could not get AWS credentials",
            "set `AWS_PROFILE`",
        ],
    );
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);

    let env = aws_env(&closed);
    let run = inject(
        dir.path(),
        &borrowed(&env),
        &["-f", "aws-ssm:///prod/app/", "list"],
    );
    assert_error(
        &run,
        &[
            "`aws-ssm:///prod/app/`: cannot reach Parameter Store in region `us-east-1`",
            "Connection refused",
        ],
    );
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);

    // A server that accepts and never answers: the timeout holds, by flag or by variable.
    let env = aws_env(&silent);
    let run = inject(
        dir.path(),
        &borrowed(&env),
        &["--timeout", "3", "-f", "aws-sm://prod/app", "--", "true"],
    );
    assert_error(
        &run,
        &[
            "`aws-sm://prod/app`: no answer from AWS within 3 s",
            "--timeout SECONDS",
        ],
    );
    assert!(
        run.elapsed >= Duration::from_millis(2900) && run.elapsed < Duration::from_secs(5),
        "{:?}",
        run.elapsed
    );
    let mut env = borrowed(&env);
    env.push(("INJECT_TIMEOUT", "2"));
    let run = inject(dir.path(), &env, &["-f", "aws-ssm:///prod/app/", "list"]);
    assert_error(
        &run,
        &["`aws-ssm:///prod/app/`: no answer from AWS within 2 s"],
    );
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
}

#[test]
fn the_timeout_must_be_a_positive_number_of_seconds() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "-1", "1.5", "x", "3601", ""] {
        let run = inject(
            dir.path(),
            &[],
            &[&format!("--timeout={bad}"), "--", "true"],
        );
        assert_eq!(run.code, 125, "{bad}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("a timeout is a whole number of seconds from 1 to 3600"),
            "{}",
            run.stderr
        );
    }
    let env = aws_env(&format!("http://127.0.0.1:{}", moto::free_port()));
    let run = inject(
        dir.path(),
        &borrowed(&env),
        &["-f", "aws-sm://", "--", "true"],
    );
    assert_error(&run, &["`aws-sm://`: the secret id is empty"]);
}

//! The tokio runtime that reads AWS sources is gone when `source::load` returns: the process
//! has the threads it had before, so nothing of the SDK runs on while the program is exec'd.
//! The only test of its binary, so no other test's thread is counted; it re-runs itself with
//! the AWS settings in its environment (so it needs no `unsafe` `set_var`).
#![cfg(all(feature = "aws", target_os = "linux"))]

mod common;
mod moto;

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use moto::Moto;

const CHILD: &str = "INJECT_THREADS_TEST_CHILD";

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

#[test]
fn no_thread_outlives_reading_aws_sources() {
    if std::env::var_os(CHILD).is_some() {
        return in_child();
    }
    let Some(moto) = Moto::start("no_thread_outlives_reading_aws_sources") else {
        return;
    };
    moto.create_secret("prod/app", r#"{"api_key": "k-s3cr3t"}"#);
    moto.put_parameter("/prod/app/api_key", "k-s3cr3t", "SecureString");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_thread_outlives_reading_aws_sources",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", moto::REGION)
        // A host name, so the look-up runs on tokio's blocking pool, a thread that would
        // linger for seconds if the runtime were not shut down.
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://localhost:{}", moto.port),
        )
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("threads before and after: "), "{stdout}");
}

fn in_child() {
    let home = tempfile::tempdir().unwrap();
    let lookup = |_: &str| None::<OsString>;
    let cx = inject::source::Context {
        home: Some(home.path()),
        env: &lookup,
        timeout: Duration::from_secs(15),
    };
    let before = threads();
    let sources = ["aws-sm://prod/app", "aws-ssm:///prod/app/"].map(OsString::from);
    let loaded = inject::source::load(&sources, &cx).expect("both sources read");
    let after = threads();
    println!("threads before and after: {before} {after}");
    assert_eq!(loaded.len(), 2);
    assert_eq!(after, before, "the AWS runtime left threads behind");
}

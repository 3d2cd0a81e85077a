//! The AWS sources from the outside, with or without the `aws` feature: `--timeout` in the
//! help of a build that has them, and the error that says how to get AWS support when it is
//! not built in (the default build has no `--timeout` either: its binary stays as it was).

use std::process::Command;

fn inject(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_inject"))
        .args(args)
        .env_remove("INJECT_FILE")
        .env_remove("INJECT_TIMEOUT")
        .output()
        .expect("inject runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[cfg(feature = "aws")]
#[test]
fn the_timeout_is_documented_in_the_help() {
    let (code, help, _) = inject(&["--help"]);
    assert_eq!(code, 0);
    let flag = help
        .split("\n\n")
        .find(|block| block.contains("--timeout <SECONDS>"))
        .unwrap_or_else(|| panic!("no --timeout in:\n{help}"));
    for part in ["aws-sm://", "aws-ssm://", "INJECT_TIMEOUT", "default: 15"] {
        assert!(flag.contains(part), "`{part}` not in: {flag}");
    }
}

#[cfg(not(feature = "aws"))]
#[test]
fn without_the_feature_an_aws_source_says_how_to_get_it() {
    for source in ["aws-sm://prod/app", "aws-ssm:///prod/app/"] {
        let (code, stdout, stderr) = inject(&["-f", source, "--", "true"]);
        assert_eq!((code, stdout.as_str()), (125, ""), "{stderr}");
        assert_eq!(
            stderr,
            format!(
                "inject: error: `{source}` is an AWS source, but this inject was built without AWS support: install it with `cargo install inject --features aws`\n"
            )
        );
    }
}

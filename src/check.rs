//! Findings about the sources and the repository (SPEC §7.3), never a value.
//!
//! Everything above the `probe` section is pure: errors and facts in, findings and text
//! out. The probes (a file's mode, what git says about it) are the only effects.

use std::fmt::Write as _;
use std::path::Path;

use crate::flatten::{FlattenError, Variable};
use crate::parse::ParseError;
use crate::require::{Declaration, RequireError};
use crate::source::{SourceError, TemplateError};
use crate::value::Origin;

/// What `check --format` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// One line per finding
    Human,
    /// One JSON object, for CI
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One thing `check` reports. The message is the same text a run would print.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable word for tools: `source`, `parse`, `collision`, `invalid-name`,
    /// `refused-name`, `value`, `selection`, `required`, `template`, `permissions`,
    /// `git-tracked`, `git-not-ignored`; for encrypted values `keys-tracked`, `plaintext`,
    /// `encrypted`.
    pub kind: &'static str,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl Finding {
    fn error(kind: &'static str, message: String) -> Self {
        Finding {
            severity: Severity::Error,
            kind,
            file: None,
            line: None,
            column: None,
            message,
        }
    }

    fn at(mut self, file: &str, line: Option<u32>, column: Option<u32>) -> Self {
        self.file = Some(file.to_string());
        self.line = line;
        self.column = column;
        self
    }

    fn at_origin(self, origin: &Origin) -> Self {
        self.at(&origin.source, origin.line, None)
    }
}

/// A source that could not be read or parsed.
pub fn source_error(error: &SourceError) -> Finding {
    let message = error.to_string();
    match error {
        SourceError::Parse(error) => parse_error(error, message),
        SourceError::NotFound(path)
        | SourceError::NotTomlOrDirectory(path)
        | SourceError::NameNotUtf8(path)
        | SourceError::ContentNotUtf8(path)
        | SourceError::NeedsAws(path)
        | SourceError::Io { path, .. }
        | SourceError::NotAFolder { dir: path, .. } => {
            Finding::error("source", message).at(path, None, None)
        }
        #[cfg(feature = "aws")]
        SourceError::Store(crate::store::StoreError::Toml(inner)) => parse_error(inner, message),
        #[cfg(feature = "aws")]
        SourceError::Store(error) => {
            let finding = Finding::error("source", message);
            match error.spec() {
                Some(spec) => finding.at(spec, None, None),
                None => finding,
            }
        }
    }
}

fn parse_error(error: &ParseError, message: String) -> Finding {
    let (path, line, column) = error.place();
    Finding::error("parse", message).at(path, Some(line), column)
}

/// A key that cannot become a variable.
pub fn flatten_error(error: &FlattenError) -> Finding {
    let message = error.to_string();
    match error {
        FlattenError::Collision { second_origin, .. } => {
            Finding::error("collision", message).at_origin(second_origin)
        }
        FlattenError::LeadingDigit { origin, .. } | FlattenError::BadRootKey { origin, .. } => {
            Finding::error("invalid-name", message).at_origin(origin)
        }
        FlattenError::Refused { origin, .. } => {
            Finding::error("refused-name", message).at_origin(origin)
        }
        FlattenError::Nul { origin, .. } | FlattenError::NonFiniteInArray { origin, .. } => {
            Finding::error("value", message).at_origin(origin)
        }
        FlattenError::UnknownOnly { .. } => Finding::error("selection", message),
    }
}

/// A required name that a run would not find, or a `NAME_FILE` it could not use.
pub fn require_error(error: &RequireError) -> Finding {
    let finding = Finding::error("required", error.to_string());
    let template = match error {
        RequireError::Missing { declared, .. } => declared.iter().find_map(|d| match d {
            Declaration::Template(origin) => Some(origin),
            Declaration::Flag => None,
        }),
        _ => None,
    };
    match template {
        Some(origin) => finding.at_origin(origin),
        None => finding,
    }
}

/// A `--require-from` template that could not be read or flattened.
pub fn template_error(error: &TemplateError) -> Finding {
    Finding::error("template", error.to_string())
}

/// Linux refuses one `NAME=value` string over 32 pages (`MAX_ARG_STRLEN`, NUL included).
pub const LINUX_MAX_VARIABLE: usize = 32 * 4096;

/// Variables the kernel would refuse at exec (`limit` is `None` where there is no such cap).
pub fn oversized(variables: &[Variable], limit: Option<usize>) -> Vec<Finding> {
    let Some(limit) = limit else {
        return Vec::new();
    };
    variables
        .iter()
        .filter(|v| v.name.len() + v.value.len() + 2 > limit)
        .map(|v| {
            Finding::error(
                "value",
                format!(
                    "`{}` (from `{}` at {}) is {} bytes, over the {} bytes Linux allows one variable, so the program could not start: shorten it or pass it in a file",
                    v.name,
                    v.key,
                    v.origin,
                    v.value.len(),
                    limit - v.name.len() - 2
                ),
            )
            .at_origin(&v.origin)
        })
        .collect()
}

/// A secrets file that others on the machine can read.
pub fn permissions(path: &str, mode: u32) -> Option<Finding> {
    (mode & 0o044 != 0).then(|| Finding {
        severity: Severity::Warning,
        kind: "permissions",
        file: Some(path.to_string()),
        line: None,
        column: None,
        message: format!(
            "`{path}` is readable by group or others (mode {:04o}): run `chmod 600 {path}`",
            mode & 0o7777
        ),
    })
}

/// What git says about a secrets file or directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitStatus {
    /// Not inside a git work tree, or git is not installed.
    Outside,
    Tracked,
    Ignored,
    NotIgnored,
}

pub fn git(path: &str, status: GitStatus) -> Option<Finding> {
    let (severity, kind, message) = match status {
        GitStatus::Outside | GitStatus::Ignored => return None,
        GitStatus::Tracked => (
            Severity::Error,
            "git-tracked",
            format!(
                "`{path}` is tracked by git, so its secrets are in the repository: run `git rm --cached {path}`, add it to `.gitignore`, and rotate any secret that was ever pushed"
            ),
        ),
        GitStatus::NotIgnored => (
            Severity::Warning,
            "git-not-ignored",
            format!(
                "`{path}` is in a git work tree but not ignored: add it to `.gitignore` so that it is never committed"
            ),
        ),
    };
    Some(Finding {
        severity,
        kind,
        file: Some(path.to_string()),
        line: None,
        column: None,
        message,
    })
}

pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One line per finding, then a summary line (left out with `quiet`).
pub fn human(sources: &[String], findings: &[Finding], quiet: bool) -> String {
    let mut out = String::new();
    for finding in findings {
        let _ = writeln!(out, "{}: {}", finding.severity.as_str(), finding.message);
    }
    if !quiet {
        let checked = match sources.len() {
            0 => "no secrets source found".to_string(),
            n => format!("checked {}", plural(n, "source")),
        };
        let _ = writeln!(
            out,
            "{checked}: {}, {}",
            plural(count(findings, Severity::Error), "error"),
            plural(count(findings, Severity::Warning), "warning")
        );
    }
    out
}

pub fn json(sources: &[String], findings: &[Finding]) -> String {
    #[derive(serde::Serialize)]
    struct Report<'a> {
        sources: &'a [String],
        errors: usize,
        warnings: usize,
        findings: &'a [Finding],
    }
    let report = Report {
        sources,
        errors: count(findings, Severity::Error),
        warnings: count(findings, Severity::Warning),
        findings,
    };
    // Through a `Value`, whose keys are sorted: the order `check --format json` has always had.
    let mut out = serde_json::to_value(&report)
        .map(|value| value.to_string())
        .unwrap_or_default();
    out.push('\n');
    out
}

// ---------------------------------------------------------------- probes (EFFECT)

/// The secret files of a source with their permission bits: the file itself, or every
/// regular file inside a secrets directory's folders. Unreadable entries are skipped: the
/// source's own error already says why.
#[cfg(not(unix))]
pub fn probe_modes(_path: &Path) -> Vec<(String, u32)> {
    // Windows has ACLs, not permission bits: nothing to report here.
    Vec::new()
}

#[cfg(unix)]
pub fn probe_modes(path: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.is_dir(), m.permissions().mode()))
    };
    match mode(path) {
        Some((false, bits)) => vec![(crate::source::display(path), bits)],
        Some((true, _)) => {
            let mut files = Vec::new();
            for folder in sorted_children(path) {
                for file in sorted_children(&folder) {
                    if let Some((false, bits)) = mode(&file) {
                        files.push((crate::source::display(&file), bits));
                    }
                }
            }
            files
        }
        None => Vec::new(),
    }
}

fn sorted_children(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    children.sort();
    children
}

/// Ask git, from the file's own directory, whether the file is tracked or ignored.
pub fn probe_git(path: &Path) -> GitStatus {
    let Some(name) = path.file_name() else {
        return GitStatus::Outside;
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let git = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new("git")
            // A repository's own settings must not run a program on our behalf.
            .args(["-c", "core.fsmonitor=false", "-C"])
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
    };
    let inside = git(&["rev-parse".as_ref(), "--is-inside-work-tree".as_ref()])
        .is_some_and(|o| o.status.success() && o.stdout.starts_with(b"true"));
    if !inside {
        return GitStatus::Outside;
    }
    let tracked = git(&["ls-files".as_ref(), "-z".as_ref(), "--".as_ref(), name])
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    if tracked {
        return GitStatus::Tracked;
    }
    match git(&["check-ignore".as_ref(), "-q".as_ref(), "--".as_ref(), name])
        .and_then(|o| o.status.code())
    {
        Some(0) => GitStatus::Ignored,
        Some(1) => GitStatus::NotIgnored,
        _ => GitStatus::Outside,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::KeyPath;

    fn origin(line: u32) -> Origin {
        Origin::test(line)
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let error = crate::parse::parse_toml("s.toml", b"a = 1\nb = \"x\" y\n").unwrap_err();
        let finding = source_error(&SourceError::from(error));
        assert_eq!(finding.kind, "parse");
        assert_eq!(finding.file.as_deref(), Some("s.toml"));
        assert_eq!(finding.line, Some(2));
        assert!(finding.column.is_some());
        assert_eq!(finding.severity, Severity::Error);
    }

    #[test]
    fn flatten_errors_map_to_kinds_and_places() {
        let key = KeyPath(vec!["t".into(), "k".into()]);
        let rows = [
            (
                FlattenError::Collision {
                    name: "T_K".into(),
                    first: key.clone(),
                    first_origin: origin(2),
                    second: key.clone(),
                    second_origin: origin(3),
                },
                "collision",
                Some(3),
            ),
            (
                FlattenError::Refused {
                    name: "PATH".into(),
                    key: key.clone(),
                    origin: origin(4),
                },
                "refused-name",
                Some(4),
            ),
            (
                FlattenError::LeadingDigit {
                    name: "1".into(),
                    key: key.clone(),
                    origin: origin(5),
                },
                "invalid-name",
                Some(5),
            ),
            (
                FlattenError::Nul {
                    key: key.clone(),
                    origin: origin(6),
                },
                "value",
                Some(6),
            ),
            (
                FlattenError::UnknownOnly { name: "x".into() },
                "selection",
                None,
            ),
        ];
        for (error, kind, line) in rows {
            let finding = flatten_error(&error);
            assert_eq!((finding.kind, finding.line), (kind, line), "{error}");
            assert_eq!(finding.message, error.to_string());
        }
    }

    #[test]
    fn permission_rows() {
        for (mode, warn) in [
            (0o100600, false),
            (0o100400, false),
            (0o100700, false),
            (0o100640, true),
            (0o100604, true),
            (0o100644, true),
            (0o100620, false),
        ] {
            let got = permissions("s.toml", mode);
            assert_eq!(got.is_some(), warn, "{mode:o}");
            if let Some(finding) = got {
                assert_eq!(finding.severity, Severity::Warning);
                assert!(
                    finding.message.contains("chmod 600 s.toml"),
                    "{}",
                    finding.message
                );
                assert!(finding.message.contains(&format!("{:04o}", mode & 0o7777)));
            }
        }
    }

    #[test]
    fn git_rows() {
        assert_eq!(git("s", GitStatus::Outside), None);
        assert_eq!(git("s", GitStatus::Ignored), None);
        let tracked = git("s", GitStatus::Tracked).unwrap();
        assert_eq!(tracked.severity, Severity::Error);
        assert!(tracked.message.contains("git rm --cached s"));
        assert!(tracked.message.contains(".gitignore"));
        let loose = git("s", GitStatus::NotIgnored).unwrap();
        assert_eq!(loose.severity, Severity::Warning);
        assert!(loose.message.contains(".gitignore"));
    }

    #[test]
    fn oversized_values_are_errors_on_linux_only() {
        let v = Variable {
            name: "BIG".into(),
            value: "x".repeat(LINUX_MAX_VARIABLE - 5),
            key: KeyPath(vec!["BIG".into()]),
            origin: origin(1),
        };
        assert_eq!(
            oversized(std::slice::from_ref(&v), Some(LINUX_MAX_VARIABLE)),
            vec![]
        );
        let big = Variable {
            value: "x".repeat(LINUX_MAX_VARIABLE - 4),
            ..v
        };
        let found = oversized(std::slice::from_ref(&big), Some(LINUX_MAX_VARIABLE));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.starts_with(
                "`BIG` (from `BIG` at s.toml:1) is 131068 bytes, over the 131067 bytes"
            ),
            "{}",
            found[0].message
        );
        assert_eq!(oversized(&[big], None), vec![]);
    }

    #[test]
    fn human_and_json_output() {
        let findings = vec![
            permissions("s.toml", 0o644).unwrap(),
            Finding::error("selection", "bad".into()),
        ];
        let sources = vec!["s.toml".to_string()];
        assert_eq!(
            human(&sources, &findings, false),
            "warning: `s.toml` is readable by group or others (mode 0644): run `chmod 600 s.toml`\nerror: bad\nchecked 1 source: 1 error, 1 warning\n"
        );
        assert_eq!(
            human(&[], &[], false),
            "no secrets source found: 0 errors, 0 warnings\n"
        );
        assert_eq!(human(&sources, &[], true), "");
        let data: serde_json::Value = serde_json::from_str(&json(&sources, &findings)).unwrap();
        assert_eq!(data["errors"], 1);
        assert_eq!(data["warnings"], 1);
        assert_eq!(data["sources"][0], "s.toml");
        assert_eq!(data["findings"][0]["kind"], "permissions");
        assert_eq!(data["findings"][0]["file"], "s.toml");
        assert_eq!(data["findings"][1]["severity"], "error");
        assert_eq!(data["findings"][1]["file"], serde_json::Value::Null);
    }
}

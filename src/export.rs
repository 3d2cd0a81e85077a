//! PURE: render variables in each `export` format (SPEC §7.2): names and values in, bytes out.
//!
//! Each format is written for its real consumer and read back by it in `tests/export.rs`.
//! A variable a consumer cannot read back exactly is an error that names it and says why;
//! nothing is printed then, so a partial file never reaches a deployment.

use std::fmt::Write as _;

use crate::value::json_string;

/// What `export --format` writes (SPEC §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// `.env` file: quoted only where needed, read back exactly by python-dotenv
    Dotenv,
    /// `export NAME='…'` lines for `eval` in a POSIX shell (sh, dash, bash)
    Shell,
    /// One JSON object, in file order
    Json,
    /// `docker run --env-file`: `NAME=value` lines, taken literally (no multi-line values)
    Docker,
    /// `$GITHUB_ENV`: `NAME=value`, multi-line values as a heredoc with a random delimiter
    Github,
    /// systemd `EnvironmentFile=`
    Systemd,
    /// `NAME=value` ended by NUL bytes, for `xargs -0` (e.g. `heroku config:set`)
    Nul,
}

impl std::fmt::Display for ExportFormat {
    /// The name `--format` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clap::ValueEnum as _;
        match self.to_possible_value() {
            Some(value) => f.write_str(value.get_name()),
            None => Ok(()),
        }
    }
}

/// A variable the chosen format cannot carry. Never holds the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` cannot be exported as {format}: {why}")]
pub struct ExportError {
    pub name: String,
    pub format: ExportFormat,
    pub why: String,
}

/// Render every variable, or say which ones the format cannot carry. `random` gives fresh
/// random bits for the `github` heredoc delimiters.
pub fn render(
    format: ExportFormat,
    variables: &[(&str, &str)],
    random: &mut dyn FnMut() -> u128,
) -> Result<Vec<u8>, Vec<ExportError>> {
    let mut parts = Vec::with_capacity(variables.len());
    let mut errors = Vec::new();
    for &(name, value) in variables {
        let rendered = match format {
            ExportFormat::Dotenv => dotenv(name, value),
            ExportFormat::Shell => shell(name, value),
            ExportFormat::Json => Ok(json_member(name, value)),
            ExportFormat::Docker => docker(name, value),
            ExportFormat::Github => github(name, value, random),
            ExportFormat::Systemd => systemd(name, value),
            ExportFormat::Nul => Ok(format!("{name}={value}\0")),
        };
        match rendered {
            Ok(text) => parts.push(text),
            Err(why) => errors.push(ExportError {
                name: name.to_string(),
                format,
                why,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = match format {
        ExportFormat::Json if parts.is_empty() => "{}\n".to_string(),
        ExportFormat::Json => format!("{{\n{}\n}}\n", parts.join(",\n")),
        _ => parts.concat(),
    };
    Ok(text.into_bytes())
}

// ---------------------------------------------------------------- json

/// One member of the object: objects are one member a line, in file order.
fn json_member(name: &str, value: &str) -> String {
    let mut out = String::from("  ");
    json_string(name, &mut out);
    out.push_str(": ");
    json_string(value, &mut out);
    out
}

// ---------------------------------------------------------------- dotenv

/// Python's `str.isspace()` (what python-dotenv's `\s` and `rstrip()` see): Unicode
/// White_Space plus the four information separators U+001C..U+001F.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A value every dotenv reader takes literally without quotes: no whitespace or control
/// characters, no quotes, no `#` (a comment in some readers), no `$` or backtick (expanded
/// by dotenvx and Compose).
fn dotenv_plain(value: &str) -> bool {
    !value.is_empty()
        && value.chars().all(|c| {
            !python_space(c) && !c.is_control() && !matches!(c, '\'' | '"' | '#' | '$' | '`')
        })
}

/// What python-dotenv itself reads back exactly without quotes: one line, not starting with
/// a quote, not trimmed at either end, and no whitespace before a `#` (a comment).
fn python_unquoted(value: &str) -> bool {
    let first = value.chars().next();
    let last = value.chars().next_back();
    !value.contains(['\n', '\r'])
        && !matches!(first, Some('\'' | '"'))
        && !first.is_some_and(python_space)
        && !last.is_some_and(python_space)
        && !value
            .chars()
            .zip(value.chars().skip(1))
            .any(|(before, c)| python_space(before) && c == '#')
}

fn dotenv(name: &str, value: &str) -> Result<String, String> {
    let key = dotenv_key(name)?;
    let text = if value.is_empty() || dotenv_plain(value) {
        value.to_string()
    } else if value.ends_with('\\') {
        // python-dotenv reads `\'` (or `\"`) at the end of a quoted value as an escaped quote
        // and runs on into the next line, in either quoting, so the only form left is bare.
        if !python_unquoted(value) {
            return Err(
                "its value needs quotes (it spans lines, starts with a quote, or has whitespace at an end or before a `#`) and ends with a backslash, which python-dotenv cannot read back in quotes: use `--format json` or `--format shell`".into(),
            );
        }
        value.to_string()
    } else if value.contains('\r') {
        // Python reads the file with universal newlines, turning a raw CR into LF; only
        // double quotes have an escape for it.
        let mut out = String::from("\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    } else {
        format!("'{}'", single_quoted(value))
    };
    Ok(format!("{key}={text}\n"))
}

/// The inside of a single-quoted value. python-dotenv reads `\\` and `\'` there as escapes and
/// every other backslash literally, as dotenvx and Compose read all of them but `\'`; so only
/// a backslash before a backslash or a quote is doubled, and the value means the same to
/// all of them unless it holds such a pair.
fn single_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' if matches!(chars.peek(), Some('\\' | '\'')) => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

fn dotenv_key(name: &str) -> Result<String, String> {
    if name.chars().any(|c| c.is_control()) {
        return Err("its name holds a control character, which a .env file cannot spell".into());
    }
    let bare = !name.starts_with('\'')
        && !name
            .chars()
            .any(|c| python_space(c) || matches!(c, '=' | '#'));
    if bare {
        Ok(name.to_string())
    } else if !name.contains('\'') {
        Ok(format!("'{name}'"))
    } else {
        Err("its name needs quotes in a .env file (it has whitespace or `#`) but holds a `'`, which python-dotenv cannot read in a quoted name: rename the key".into())
    }
}

// ---------------------------------------------------------------- shell

/// Read-only in bash: `export UID=…` fails there.
const BASH_READONLY: &[&str] = &[
    "BASHOPTS",
    "BASH_VERSINFO",
    "EUID",
    "PPID",
    "SHELLOPTS",
    "UID",
];

fn shell_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn shell(name: &str, value: &str) -> Result<String, String> {
    if !shell_identifier(name) {
        return Err("a shell can only export names of ASCII letters, digits and `_` that do not start with a digit: rename the key, or use another format (e.g. `--format json` or `nul`)".into());
    }
    if BASH_READONLY.contains(&name) {
        return Err(
            "bash treats this name as read-only, so `export` would fail: rename the key".into(),
        );
    }
    Ok(format!(
        "export {name}='{}'\n",
        value.replace('\'', "'\\''")
    ))
}

// ---------------------------------------------------------------- docker

/// `bufio.Scanner`'s limit in Docker's env-file reader: a longer line fails the whole file.
const DOCKER_MAX_LINE: usize = 65535;

fn docker(name: &str, value: &str) -> Result<String, String> {
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("Docker's `--env-file` refuses a name with whitespace or control characters: rename the key".into());
    }
    if name.starts_with(['#', '\u{feff}']) {
        return Err("Docker's `--env-file` reads a line starting with `#` as a comment (and drops a leading byte-order mark): rename the key".into());
    }
    if value.contains('\n') {
        return Err(format!(
            "its value spans several lines, but Docker's `--env-file` takes one `NAME=value` line per variable, with no quoting or escapes: pass it from the environment instead, e.g. `inject -- docker run -e {name} …`"
        ));
    }
    if value.ends_with('\r') {
        return Err(format!(
            "its value ends with a carriage return, which Docker's `--env-file` drops: pass it from the environment instead, e.g. `inject -- docker run -e {name} …`"
        ));
    }
    let line = name.len() + 1 + value.len();
    if line > DOCKER_MAX_LINE {
        return Err(format!(
            "its line would be {line} bytes, and Docker's `--env-file` refuses lines over {DOCKER_MAX_LINE}: pass it from the environment instead, e.g. `inject -- docker run -e {name} …`"
        ));
    }
    Ok(format!("{name}={value}\n"))
}

// ---------------------------------------------------------------- github

fn github(name: &str, value: &str, random: &mut dyn FnMut() -> u128) -> Result<String, String> {
    if name.chars().any(char::is_control) || name.contains("<<") || name.starts_with('\u{feff}') {
        return Err("the runner cannot read this name from `$GITHUB_ENV` (it holds `<<`, a control character or a leading byte-order mark): rename the key".into());
    }
    if !value.contains('\n') {
        return Ok(format!("{name}={value}\n"));
    }
    // The runner ends the value at the first line equal to the delimiter, so it must not be
    // guessable from the value, nor occur in it.
    let delimiter = loop {
        let candidate = format!("ghadelimiter_{:032x}", random());
        if !value.contains(&candidate) {
            break candidate;
        }
    };
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

// ---------------------------------------------------------------- systemd

/// U+FDD0..U+FDEF and U+xFFFE/U+xFFFF: systemd rejects them as invalid UTF-8.
fn noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xfdd0..=0xfdef).contains(&c) || c & 0xfffe == 0xfffe
}

fn systemd(name: &str, value: &str) -> Result<String, String> {
    if !shell_identifier(name) {
        return Err("systemd only takes names of ASCII letters, digits and `_` that do not start with a digit: rename the key".into());
    }
    if value.chars().any(noncharacter) {
        return Err("its value holds a Unicode noncharacter (such as U+FFFE), which systemd rejects as invalid UTF-8".into());
    }
    let plain = value.chars().all(|c| {
        !c.is_whitespace()
            && !c.is_control()
            && !matches!(c, '\'' | '"' | '\\' | '$' | '`' | '#' | ';')
    });
    let text = if plain {
        value.to_string()
    } else if !value.contains('\'') {
        // Verbatim, newlines included.
        format!("'{value}'")
    } else {
        let mut out = String::from("\"");
        for c in value.chars() {
            if matches!(c, '"' | '\\' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    };
    let mut line = String::new();
    let _ = writeln!(line, "{name}={text}");
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(format: ExportFormat, name: &str, value: &str) -> Result<String, String> {
        let mut counter = 0u128;
        let mut random = || {
            counter += 1;
            counter
        };
        render(format, &[(name, value)], &mut random)
            .map(|bytes| String::from_utf8(bytes).unwrap())
            .map_err(|errors| errors[0].to_string())
    }

    fn rows(format: ExportFormat, rows: &[(&str, &str, &str)]) {
        for (name, value, want) in rows {
            assert_eq!(
                one(format, name, value).as_deref(),
                Ok(*want),
                "{format:?} {name}={value:?}"
            );
        }
    }

    fn refused(format: ExportFormat, rows: &[(&str, &str, &str)]) {
        for (name, value, word) in rows {
            let message = one(format, name, value).unwrap_err();
            assert!(
                message.starts_with(&format!("`{name}` cannot be exported as ")),
                "{message}"
            );
            assert!(message.contains(word), "{name}={value:?}: {message}");
            if value.len() > 3 {
                assert!(!message.contains(value), "the value leaked: {message}");
            }
        }
    }

    #[test]
    fn dotenv_quotes_only_where_needed() {
        rows(
            ExportFormat::Dotenv,
            &[
                ("A", "abc", "A=abc\n"),
                ("A", "", "A=\n"),
                ("A", "héllo☃", "A=héllo☃\n"),
                ("A", "a=b=c", "A=a=b=c\n"),
                ("A", r"C:\dir\", "A=C:\\dir\\\n"),
                ("A", r"a b\", "A=a b\\\n"),
                ("A", "a b", "A='a b'\n"),
                ("A", "  a b  ", "A='  a b  '\n"),
                ("A", "a # c", "A='a # c'\n"),
                ("A", "a#c", "A='a#c'\n"),
                ("A", "$HOME `id`", "A='$HOME `id`'\n"),
                ("A", "it's \"q\"", "A='it\\'s \"q\"'\n"),
                ("A", r"x\n", "A=x\\n\n"),
                ("A", r"\'", "A='\\\\\\''\n"),
                ("A", r"a\nb c", "A='a\\nb c'\n"),
                ("A", r"a\\b c", "A='a\\\\\\b c'\n"),
                ("A", "l1\nl2", "A='l1\nl2'\n"),
                ("A", "a\rb", "A=\"a\\rb\"\n"),
                ("A", "a\r\\\"", "A=\"a\\r\\\\\\\"\"\n"),
                ("a b", "v", "'a b'=v\n"),
                ("#x", "v", "'#x'=v\n"),
                ("my-key", "v", "my-key=v\n"),
            ],
        );
        refused(
            ExportFormat::Dotenv,
            &[
                ("A", "line\nend\\", "ends with a backslash"),
                ("A", " lead\\", "ends with a backslash"),
                ("A", "x #c\\", "ends with a backslash"),
                ("a 'b'", "v", "rename the key"),
                ("a\nb", "v", "control character"),
            ],
        );
    }

    #[test]
    fn python_unquoted_follows_python_dotenv() {
        for (value, ok) in [
            ("a b\\", true),
            ("a#b\\", true),
            ("a #b\\", false),
            ("a\t#b\\", false),
            ("a\u{1f}#\\", false),
            ("'a\\", false),
            ("\"a\\", false),
            (" a\\", false),
            ("\u{a0}a\\", false),
            ("a\nb\\", false),
        ] {
            assert_eq!(python_unquoted(value), ok, "{value:?}");
        }
    }

    #[test]
    fn shell_single_quotes_everything() {
        rows(
            ExportFormat::Shell,
            &[
                ("A", "abc", "export A='abc'\n"),
                ("A", "", "export A=''\n"),
                ("A", "it's", "export A='it'\\''s'\n"),
                ("_a1", "$(id) `id` \\", "export _a1='$(id) `id` \\'\n"),
                ("A", "l1\nl2\n", "export A='l1\nl2\n'\n"),
            ],
        );
        refused(
            ExportFormat::Shell,
            &[
                ("a b", "v", "rename the key"),
                ("my-key", "v", "rename the key"),
                ("1A", "v", "do not start with a digit"),
                ("é", "v", "ASCII"),
                ("UID", "v", "read-only"),
            ],
        );
    }

    #[test]
    fn json_is_one_object_in_file_order() {
        let got = render(
            ExportFormat::Json,
            &[("Z", "1"), ("A", "l1\n\"q\"\\"), ("a b", "")],
            &mut || 0,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "{\n  \"Z\": \"1\",\n  \"A\": \"l1\\n\\\"q\\\"\\\\\",\n  \"a b\": \"\"\n}\n"
        );
        assert_eq!(render(ExportFormat::Json, &[], &mut || 0).unwrap(), b"{}\n");
    }

    #[test]
    fn nul_ends_every_pair_with_nul() {
        let got = render(ExportFormat::Nul, &[("A", "x\ny"), ("a b", "")], &mut || 0).unwrap();
        assert_eq!(got, b"A=x\ny\0a b=\0");
    }

    #[test]
    fn docker_takes_lines_literally() {
        rows(
            ExportFormat::Docker,
            &[
                ("A", "abc", "A=abc\n"),
                ("A", "", "A=\n"),
                ("A", "  a \"b\" 'c' $X #d  ", "A=  a \"b\" 'c' $X #d  \n"),
                ("A", "a\rb", "A=a\rb\n"),
                ("my-key.x", "v", "my-key.x=v\n"),
            ],
        );
        let long = "x".repeat(DOCKER_MAX_LINE - 2);
        assert!(one(ExportFormat::Docker, "A", &long).is_ok());
        let long = "x".repeat(DOCKER_MAX_LINE - 1);
        refused(
            ExportFormat::Docker,
            &[
                ("A", "l1\nl2", "spans several lines"),
                ("A", "x\r", "carriage return"),
                ("A", &long, "65536 bytes"),
                ("a b", "v", "whitespace"),
                ("a\tb", "v", "whitespace"),
                ("#a", "v", "comment"),
                ("\u{feff}a", "v", "byte-order mark"),
            ],
        );
    }

    #[test]
    fn github_uses_a_fresh_delimiter_not_in_the_value() {
        rows(
            ExportFormat::Github,
            &[
                ("A", "abc", "A=abc\n"),
                ("A", "", "A=\n"),
                ("A", "x<<y=z", "A=x<<y=z\n"),
                (
                    "A",
                    "l1\nl2",
                    "A<<ghadelimiter_00000000000000000000000000000001\nl1\nl2\nghadelimiter_00000000000000000000000000000001\n",
                ),
            ],
        );
        // The first two candidates occur in the value: the third is taken.
        let value = "ghadelimiter_00000000000000000000000000000001\nghadelimiter_00000000000000000000000000000002";
        let got = one(ExportFormat::Github, "A", value).unwrap();
        assert!(
            got.starts_with("A<<ghadelimiter_00000000000000000000000000000003\n"),
            "{got}"
        );
        refused(
            ExportFormat::Github,
            &[
                ("a<<b", "v", "rename the key"),
                ("a\nb", "v", "control character"),
            ],
        );
    }

    #[test]
    fn systemd_quotes_by_its_rules() {
        rows(
            ExportFormat::Systemd,
            &[
                ("A", "abc", "A=abc\n"),
                ("A", "", "A=\n"),
                ("A", "a b", "A='a b'\n"),
                ("A", " a\nb ", "A=' a\nb '\n"),
                ("A", "$X \\ \"q\"", "A='$X \\ \"q\"'\n"),
                (
                    "A",
                    "it's $X `c` \\ \"q\"",
                    "A=\"it's \\$X \\`c\\` \\\\ \\\"q\\\"\"\n",
                ),
                ("A", "#x;y", "A='#x;y'\n"),
                ("A", "a\rb", "A='a\rb'\n"),
            ],
        );
        refused(
            ExportFormat::Systemd,
            &[
                ("a-b", "v", "rename the key"),
                ("1A", "v", "rename the key"),
                ("A", "x\u{fffe}", "noncharacter"),
                ("A", "x\u{fdd0}", "noncharacter"),
                ("A", "x\u{10ffff}", "noncharacter"),
            ],
        );
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics_or_leaks_a_value_into_an_error(
            name in "[^=\\x00]{1,8}",
            tail in "[^\\x00]{0,12}",
        ) {
            let value = format!("Zq8wVx1L{tail}");
            for format in [
                ExportFormat::Dotenv,
                ExportFormat::Shell,
                ExportFormat::Json,
                ExportFormat::Docker,
                ExportFormat::Github,
                ExportFormat::Systemd,
                ExportFormat::Nul,
            ] {
                if let Err(errors) = render(format, &[(&name, &value)], &mut || 7) {
                    for error in errors {
                        proptest::prop_assert!(!error.to_string().contains("Zq8wVx1L"));
                    }
                }
            }
        }
    }

    #[test]
    fn every_refused_variable_is_reported() {
        let errors = render(
            ExportFormat::Shell,
            &[("a b", "1"), ("OK", "2"), ("c-d", "3")],
            &mut || 0,
        )
        .unwrap_err();
        let names: Vec<&str> = errors.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a b", "c-d"]);
    }
}

//! EFFECT: find and read the sources (SPEC §2): TOML files, secrets directories and the
//! Streamlit settings that choose them. Each source becomes a plain `Table`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use crate::value::{Entry, Origin, Table, Value};

/// A source that could not be read. Messages name the place and never quote its content.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("`{0}` does not exist: check the path given to `-f` or `INJECT_FILE`")]
    NotFound(String),
    #[error(
        "`{0}` is neither a `.toml` file nor a directory: `-f` takes a secrets TOML file or a secrets directory"
    )]
    NotTomlOrDirectory(String),
    #[error("cannot read `{path}`: {error}")]
    Io { path: String, error: io::Error },
    #[error(
        "{path}:{line}:{column}: invalid TOML: {message} (the line is not shown: it may hold a secret)"
    )]
    Syntax {
        path: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{path}:{line}: not valid UTF-8: a secrets file must be UTF-8 text")]
    NotUtf8 { path: String, line: u32 },
    #[error("{path}:{line}: the integer `{key}` does not fit in 64 bits: write it as a string")]
    IntegerRange {
        path: String,
        line: u32,
        key: String,
    },
    #[error(
        "`{entry}` is not a folder: every entry of the secrets directory `{dir}` must be a folder (a top-level key) holding one file per secret"
    )]
    NotAFolder { dir: String, entry: String },
    #[error("`{0}`: the name is not valid UTF-8: rename it")]
    NameNotUtf8(String),
    #[error("`{0}`: not valid UTF-8: a secret file must hold UTF-8 text")]
    ContentNotUtf8(String),
    #[error(
        "{path}:{line}: `[secrets] files` must be a list of paths, e.g. `files = [\".streamlit/secrets.toml\"]`"
    )]
    BadSecretsFiles { path: String, line: u32 },
    #[error(
        "`{0}` is an AWS source, but this inject was built without AWS support: install it with `cargo install inject --features aws`"
    )]
    NeedsAws(String),
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// One source that was found, read and parsed.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub table: Table,
}

/// The parts of the process that choose the default list: passed in, never read here.
pub struct Context<'a> {
    pub home: Option<&'a Path>,
    pub env: &'a dyn Fn(&str) -> Option<OsString>,
    /// How long a central store (§11) may take to answer, per source.
    pub timeout: std::time::Duration,
}

/// Read the explicit sources, or Streamlit's default list when there are none.
pub fn load(explicit: &[OsString], cx: &Context) -> Result<Vec<Loaded>, SourceError> {
    if !explicit.is_empty() {
        return explicit
            .iter()
            .map(|spec| load_explicit(spec, cx))
            .collect();
    }
    let mut loaded = Vec::new();
    for path in default_list(cx)? {
        if let Some(result) = read_default(&path) {
            loaded.push(result?);
        }
    }
    Ok(loaded)
}

/// A path of the default list: skipped (`None`) when it does not exist, as Streamlit skips
/// it; else a secrets directory or a TOML file whatever its extension.
fn read_default(path: &Path) -> Option<Result<Loaded, SourceError>> {
    match fs::metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) if error.raw_os_error() == Some(nix::libc::ENOTDIR) => None,
        Err(error) => Some(Err(io_error(path, error))),
        Ok(meta) if meta.is_dir() => Some(read_directory(path)),
        Ok(_) => Some(read_toml_file(path)),
    }
}

/// One source `load` would read, read on its own.
pub struct Attempt {
    pub path: PathBuf,
    pub result: Result<Loaded, SourceError>,
}

/// Every source `load` would read, each read on its own so that one bad source does not hide
/// the others (for `check`). Only choosing the default list itself can fail as a whole.
pub fn load_each(explicit: &[OsString], cx: &Context) -> Result<Vec<Attempt>, SourceError> {
    if !explicit.is_empty() {
        return Ok(explicit
            .iter()
            .map(|spec| Attempt {
                path: PathBuf::from(spec),
                result: load_explicit(spec, cx),
            })
            .collect());
    }
    Ok(default_list(cx)?
        .into_iter()
        .filter_map(|path| read_default(&path).map(|result| Attempt { path, result }))
        .collect())
}

fn load_explicit(spec: &OsStr, cx: &Context) -> Result<Loaded, SourceError> {
    let text = spec.to_string_lossy();
    #[cfg(feature = "aws")]
    if let Some(store) = crate::store::Spec::parse(&text) {
        return Ok(Loaded {
            path: PathBuf::from(spec),
            table: crate::aws::load(&store?, cx.timeout)?,
        });
    }
    #[cfg(not(feature = "aws"))]
    if is_remote(spec) {
        let _ = cx.timeout;
        return Err(SourceError::NeedsAws(text.into_owned()));
    }
    let path = PathBuf::from(spec);
    match fs::metadata(&path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(SourceError::NotFound(display(&path)))
        }
        Err(error) => Err(io_error(&path, error)),
        Ok(meta) if meta.is_dir() => read_directory(&path),
        Ok(meta) if meta.is_file() && path.extension() == Some(OsStr::new("toml")) => {
            read_toml_file(&path)
        }
        Ok(_) => Err(SourceError::NotTomlOrDirectory(display(&path))),
    }
}

/// Streamlit's own list (§2.1): `STREAMLIT_SECRETS_FILES`, else `[secrets] files` of the
/// config files (the project's wins over the global one, as in Streamlit), else the two
/// default paths.
pub fn default_list(cx: &Context) -> Result<Vec<PathBuf>, SourceError> {
    if let Some(files) = secrets_files_variable(cx) {
        return Ok(files);
    }
    let mut chosen = None;
    for config in &config_files(cx) {
        if let Some(files) = secrets_files_setting(config)? {
            chosen = Some(files);
        }
    }
    Ok(chosen.unwrap_or_else(|| default_paths(cx)))
}

/// Every local path whose change can change what [`load`] reads (SPEC §12): the sources,
/// the default paths whether they exist or not, and the Streamlit settings that chose them.
/// Remote sources are left out. A config file that cannot be read still names the default
/// paths, so that they stay watched while the config is being fixed.
pub fn inputs(explicit: &[OsString], cx: &Context) -> Vec<PathBuf> {
    if !explicit.is_empty() {
        return explicit
            .iter()
            .filter(|spec| !is_remote(spec))
            .map(PathBuf::from)
            .collect();
    }
    if let Some(files) = secrets_files_variable(cx) {
        return files;
    }
    let mut paths = config_files(cx);
    paths.extend(default_list(cx).unwrap_or_else(|_| default_paths(cx)));
    paths
}

/// `STREAMLIT_SECRETS_FILES`, when set and not empty: it overrides every config file.
fn secrets_files_variable(cx: &Context) -> Option<Vec<PathBuf>> {
    let files = (cx.env)("STREAMLIT_SECRETS_FILES")?;
    let files = files.to_string_lossy().into_owned();
    (!files.trim().is_empty()).then(|| files.split_whitespace().map(PathBuf::from).collect())
}

/// The global then the project config file; the later one's setting wins.
fn config_files(cx: &Context) -> Vec<PathBuf> {
    let global = cx.home.map(|home| home.join(".streamlit/config.toml"));
    global
        .into_iter()
        .chain([PathBuf::from(".streamlit/config.toml")])
        .collect()
}

/// The global then the project `secrets.toml`.
fn default_paths(cx: &Context) -> Vec<PathBuf> {
    let global = cx.home.map(|home| home.join(".streamlit/secrets.toml"));
    global
        .into_iter()
        .chain([PathBuf::from(".streamlit/secrets.toml")])
        .collect()
}

fn is_remote(spec: &OsStr) -> bool {
    let text = spec.to_string_lossy();
    text.starts_with(crate::store::SECRETS_MANAGER)
        || text.starts_with(crate::store::PARAMETER_STORE)
}

fn secrets_files_setting(config: &Path) -> Result<Option<Vec<PathBuf>>, SourceError> {
    let text = match fs::read(config) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) if error.raw_os_error() == Some(nix::libc::ENOTDIR) => return Ok(None),
        Err(error) => return Err(io_error(config, error)),
        Ok(bytes) => bytes,
    };
    let path = display(config);
    let text = utf8(&path, &text)?;
    let lines = LineIndex::new(text);
    let doc = DeTable::parse(text).map_err(|e| syntax_error(&path, &lines, &e))?;
    let Some(secrets) = doc.get_ref().get("secrets") else {
        return Ok(None);
    };
    let Some(files) = secrets.get_ref().as_table().and_then(|t| t.get("files")) else {
        return Ok(None);
    };
    let bad = || SourceError::BadSecretsFiles {
        path: path.clone(),
        line: lines.line(files.span().start),
    };
    let array = files.get_ref().as_array().ok_or_else(bad)?;
    array
        .iter()
        .map(|item| item.get_ref().as_str().map(PathBuf::from).ok_or_else(bad))
        .collect::<Result<_, _>>()
        .map(Some)
}

fn read_toml_file(path: &Path) -> Result<Loaded, SourceError> {
    let bytes = fs::read(path).map_err(|error| io_error(path, error))?;
    let name = display(path);
    let table = parse_toml(&name, &bytes)?;
    Ok(Loaded {
        path: path.to_path_buf(),
        table,
    })
}

/// Parse a TOML document into a table whose entries know their line.
pub fn parse_toml(name: &str, bytes: &[u8]) -> Result<Table, SourceError> {
    let text = utf8(name, bytes)?;
    let lines = LineIndex::new(text);
    let doc = DeTable::parse(text).map_err(|e| syntax_error(name, &lines, &e))?;
    let converter = Converter {
        source: name.into(),
        lines: &lines,
    };
    converter.table(doc.get_ref(), &mut Vec::new())
}

fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, SourceError> {
    std::str::from_utf8(bytes).map_err(|e| SourceError::NotUtf8 {
        path: name.to_string(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32,
    })
}

fn syntax_error(name: &str, lines: &LineIndex, error: &toml::de::Error) -> SourceError {
    let offset = error.span().map_or(0, |span| span.start);
    // The parser's own message is a fixed description; keep it on one line.
    let message = error
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    SourceError::Syntax {
        path: name.to_string(),
        line: lines.line(offset),
        column: lines.column(offset),
        message,
    }
}

struct Converter<'a> {
    source: Arc<str>,
    lines: &'a LineIndex<'a>,
}

impl Converter<'_> {
    fn table(&self, table: &DeTable, path: &mut Vec<String>) -> Result<Table, SourceError> {
        table
            .iter()
            .map(|(key, value)| {
                let line = self.lines.line(key.span().start);
                path.push(key.get_ref().to_string());
                let value = self.value(value.get_ref(), line, path)?;
                let key = path.pop().unwrap_or_default();
                Ok(Entry {
                    key,
                    value,
                    origin: Origin {
                        source: self.source.clone(),
                        line: Some(line),
                    },
                })
            })
            .collect()
    }

    fn value(
        &self,
        value: &DeValue,
        line: u32,
        path: &mut Vec<String>,
    ) -> Result<Value, SourceError> {
        Ok(match value {
            DeValue::String(s) => Value::String(s.to_string()),
            DeValue::Integer(i) => {
                Value::Integer(i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
                    SourceError::IntegerRange {
                        path: self.source.to_string(),
                        line,
                        key: path.join("."),
                    }
                })?)
            }
            DeValue::Float(f) => Value::Float(parse_float(f.as_str())),
            DeValue::Boolean(b) => Value::Boolean(*b),
            DeValue::Datetime(d) => {
                // TOML 1.1 may leave the seconds out; RFC 3339 may not.
                let mut d = *d;
                if let Some(time) = &mut d.time {
                    time.second.get_or_insert(0);
                }
                Value::Datetime(d.to_string())
            }
            DeValue::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| {
                        let line = self.lines.line(item.span().start);
                        self.value(item.get_ref(), line, path)
                    })
                    .collect::<Result<_, _>>()?,
            ),
            DeValue::Table(table) => Value::Table(self.table(table, path)?),
        })
    }
}

/// The parser hands over a `FromStr`-ready spelling; `nan` may carry a sign.
fn parse_float(text: &str) -> f64 {
    text.parse()
        .unwrap_or_else(|_| if text.ends_with("nan") { f64::NAN } else { 0.0 })
}

/// A secrets directory (§2.4): folders are top-level keys, the regular files in them keys.
fn read_directory(dir: &Path) -> Result<Loaded, SourceError> {
    let mut table = Table::new();
    for (name, folder) in sorted_entries(dir)? {
        let meta = fs::metadata(&folder).map_err(|e| io_error(&folder, e))?;
        if !meta.is_dir() {
            return Err(SourceError::NotAFolder {
                dir: display(dir),
                entry: display(&folder),
            });
        }
        let mut keys = Table::new();
        for (key, file) in sorted_entries(&folder)? {
            let is_file = fs::metadata(&file).map(|m| m.is_file());
            if !is_file.map_err(|e| io_error(&file, e))? {
                continue;
            }
            let bytes = fs::read(&file).map_err(|e| io_error(&file, e))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| SourceError::ContentNotUtf8(display(&file)))?;
            keys.push(Entry {
                key,
                value: Value::String(text.trim().to_string()),
                origin: Origin {
                    source: display(&file).into(),
                    line: None,
                },
            });
        }
        let entry = match <[Entry; 1]>::try_from(keys) {
            // One file: the folder's name holds the value itself.
            Ok([only]) => Entry { key: name, ..only },
            Err(keys) => Entry {
                key: name,
                value: Value::Table(keys),
                origin: Origin {
                    source: display(&folder).into(),
                    line: None,
                },
            },
        };
        table.push(entry);
    }
    Ok(Loaded {
        path: dir.to_path_buf(),
        table,
    })
}

fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, SourceError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let path = dir.join(entry.file_name());
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| SourceError::NameNotUtf8(display(&path)))?;
        entries.push((name, path));
    }
    entries.sort();
    Ok(entries)
}

fn io_error(path: &Path, error: io::Error) -> SourceError {
    SourceError::Io {
        path: display(path),
        error,
    }
}

/// A path as the user wrote it, for messages and origins.
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Byte offset -> 1-based line and column, without rescanning the text for every key.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    fn line_start(&self, offset: usize) -> (usize, usize) {
        let i = self.starts.partition_point(|&start| start <= offset).max(1) - 1;
        (i, self.starts[i])
    }

    fn line(&self, offset: usize) -> u32 {
        self.line_start(offset).0 as u32 + 1
    }

    fn column(&self, offset: usize) -> u32 {
        let (_, start) = self.line_start(offset);
        let before = self
            .text
            .get(start..offset.min(self.text.len()))
            .unwrap_or("");
        before.chars().count() as u32 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::{Options, flatten};

    fn vars(text: &str) -> Vec<(String, String)> {
        let table = parse_toml("s.toml", text.as_bytes()).unwrap();
        flatten(&table, &Options::default())
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.value))
            .collect()
    }

    fn one(text: &str) -> String {
        let all = vars(text);
        assert_eq!(all.len(), 1, "{text}: {all:?}");
        all[0].1.clone()
    }

    /// SPEC §3.2, one row per TOML spelling.
    #[test]
    fn values_from_toml_text() {
        let rows = [
            ("k = 0xff", "255"),
            ("k = 0o17", "15"),
            ("k = 0b101", "5"),
            ("k = 1_000", "1000"),
            ("k = +7", "7"),
            ("k = -9223372036854775808", "-9223372036854775808"),
            ("k = 5.0", "5.0"),
            ("k = -0.0", "-0.0"),
            ("k = 1e100", "1e+100"),
            ("k = 1e-7", "1e-07"),
            ("k = 0.30000000000000004", "0.30000000000000004"),
            ("k = 1_000.5", "1000.5"),
            ("k = inf", "inf"),
            ("k = +inf", "inf"),
            ("k = -inf", "-inf"),
            ("k = nan", "nan"),
            ("k = -nan", "nan"),
            ("k = true", "true"),
            ("k = 1979-05-27T07:32:00Z", "1979-05-27T07:32:00Z"),
            (
                "k = 1979-05-27T00:32:00.999999-07:00",
                "1979-05-27T00:32:00.999999-07:00",
            ),
            ("k = 1979-05-27T07:32:00", "1979-05-27T07:32:00"),
            ("k = 1979-05-27 07:32:00Z", "1979-05-27T07:32:00Z"),
            ("k = 1979-05-27", "1979-05-27"),
            ("k = 07:32:00", "07:32:00"),
            ("k = 07:32", "07:32:00"),
            ("k = 1979-05-27T07:32Z", "1979-05-27T07:32:00Z"),
            ("k = 07:32:00.5", "07:32:00.5"),
            ("k = \"multi\\nline\"", "multi\nline"),
            ("k = '''\nraw\\n\n'''", "raw\\n\n"),
            ("k = \"\"", ""),
            ("k = [\"a\", 1, true]", r#"["a",1,true]"#),
            (
                "k = [1979-05-27, 1.5, [], {x = 1}]",
                r#"["1979-05-27",1.5,[],{"x":1}]"#,
            ),
            ("k = [{b = 1, a = 2}]", r#"[{"b":1,"a":2}]"#),
        ];
        for (text, want) in rows {
            assert_eq!(one(text), want, "{text}");
        }
    }

    #[test]
    fn the_three_nested_forms_flatten_alike() {
        let want = vec![
            ("TRELLO_API_KEY".to_string(), "k".to_string()),
            ("TRELLO_OAUTH_TOKEN".to_string(), "t".to_string()),
        ];
        for text in [
            "trello = { api_key = \"k\", oauth = { token = \"t\" } }",
            "trello.api_key = \"k\"\ntrello.oauth.token = \"t\"",
            "[trello]\napi_key = \"k\"\n[trello.oauth]\ntoken = \"t\"",
        ] {
            assert_eq!(vars(text), want, "{text}");
        }
    }

    #[test]
    fn quoted_keys_and_arrays_of_tables() {
        assert_eq!(
            vars(
                "[my-app.\"api key\"]\n\"café.ß\" = \"v\"\n[[servers]]\nname = \"a\"\n[[servers]]\nname = \"b\""
            ),
            vec![
                ("MY_APP_API_KEY_CAF___".to_string(), "v".to_string()),
                (
                    "servers".to_string(),
                    r#"[{"name":"a"},{"name":"b"}]"#.to_string()
                ),
            ]
        );
    }

    #[test]
    fn entries_know_their_line() {
        let table = parse_toml("s.toml", b"a = 1\n\n[t]\n# c\nk = 2\n").unwrap();
        let vars = flatten(&table, &Options::default()).unwrap();
        let origins: Vec<String> = vars.iter().map(|v| v.origin.to_string()).collect();
        assert_eq!(origins, ["s.toml:1", "s.toml:5"]);
    }

    const SECRET: &str = "s3cr3t-Zq8wVx1L";

    #[test]
    fn syntax_errors_locate_but_never_quote() {
        let rows = [
            (
                format!("a = 1\nb = 2\napi_key = \"{SECRET}\" trailing\n"),
                3,
            ),
            (format!("a = 1\napi_key = \"{SECRET}\n"), 2),
            (
                format!("api_key = \"{SECRET}\"\napi_key = \"{SECRET}\"\n"),
                2,
            ),
            (format!("x = 1\n[t]\nk = \"{SECRET}\\q\"\n"), 3),
            (format!("x = \"\"\"{SECRET}\n"), 2),
            (format!("token = {SECRET}\n"), 1),
            (format!("[t]\nk = [\"{SECRET}\"\n"), 2),
            (format!("k = {{ a = \"{SECRET}\" b = 1 }}\n"), 1),
        ];
        for (text, line) in rows {
            let error = parse_toml("s.toml", text.as_bytes()).unwrap_err();
            let message = error.to_string();
            assert!(!message.contains(SECRET), "{message}");
            assert!(!message.contains('\n'), "{message}");
            assert!(
                message.starts_with(&format!("s.toml:{line}:")),
                "{text:?}: {message}"
            );
        }
    }

    #[test]
    fn out_of_range_integers_and_bad_utf8_are_errors() {
        let error = parse_toml("s.toml", b"a = 1\nn = 99999999999999999999\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "s.toml:2: the integer `n` does not fit in 64 bits: write it as a string"
        );
        let error = parse_toml("s.toml", b"a = 1\nb = \"\xff\"\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "s.toml:2: not valid UTF-8: a secrets file must be UTF-8 text"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // The parser bounds recursion itself; deeper documents are syntax errors.
        let key = vec!["a"; 5000].join(".");
        let error = parse_toml("s.toml", format!("{key} = 1").as_bytes());
        assert!(
            matches!(error, Err(SourceError::Syntax { .. })),
            "{error:?}"
        );
        let array = format!("x = {}{}", "[".repeat(5000), "]".repeat(5000));
        let error = parse_toml("s.toml", array.as_bytes());
        assert!(
            matches!(error, Err(SourceError::Syntax { .. })),
            "{error:?}"
        );
        let key = vec!["a"; 50].join(".");
        assert_eq!(
            vars(&format!("{key} = 1")),
            vec![(vec!["A"; 50].join("_"), "1".to_string())]
        );
    }

    /// What `--watch` watches (SPEC §12). The project's config is looked for in the working
    /// directory, the crate's root here, which has no `.streamlit` folder.
    #[test]
    fn inputs_are_the_sources_and_the_settings_that_chose_them() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let none = |_: &str| None;
        let cx = Context {
            home: Some(h),
            env: &none,
            timeout: std::time::Duration::ZERO,
        };
        let explicit: Vec<OsString> = ["a.toml", "aws-sm://prod/app", "/run/secrets"]
            .map(OsString::from)
            .to_vec();
        assert_eq!(
            inputs(&explicit, &cx),
            [PathBuf::from("a.toml"), PathBuf::from("/run/secrets")]
        );
        let configs = [
            h.join(".streamlit/config.toml"),
            PathBuf::from(".streamlit/config.toml"),
        ];
        let defaults = [
            h.join(".streamlit/secrets.toml"),
            PathBuf::from(".streamlit/secrets.toml"),
        ];
        let want: Vec<PathBuf> = configs.iter().chain(&defaults).cloned().collect();
        assert_eq!(inputs(&[], &cx), want, "missing files are watched too");

        std::fs::create_dir(h.join(".streamlit")).unwrap();
        std::fs::write(
            h.join(".streamlit/config.toml"),
            "[secrets]\nfiles = [\"g.toml\"]\n",
        )
        .unwrap();
        let want: Vec<PathBuf> = configs
            .iter()
            .cloned()
            .chain([PathBuf::from("g.toml")])
            .collect();
        assert_eq!(inputs(&[], &cx), want, "the config chose the files");

        std::fs::write(h.join(".streamlit/config.toml"), "[secrets\n").unwrap();
        let want: Vec<PathBuf> = configs.iter().chain(&defaults).cloned().collect();
        assert_eq!(inputs(&[], &cx), want, "a broken config: the defaults");

        let variable = |name: &str| {
            (name == "STREAMLIT_SECRETS_FILES").then(|| OsString::from(" x.toml  /y.toml "))
        };
        let cx = Context {
            home: Some(h),
            env: &variable,
            timeout: std::time::Duration::ZERO,
        };
        assert_eq!(
            inputs(&[], &cx),
            [PathBuf::from("x.toml"), PathBuf::from("/y.toml")],
            "the variable overrides every config"
        );
    }
}

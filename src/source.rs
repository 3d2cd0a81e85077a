//! EFFECT: find and read the sources (SPEC §2): TOML files, secrets directories and the
//! Streamlit settings that choose them. Each source becomes a plain `Table`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::flatten::FlattenError;
use crate::parse::{self, ParseError};
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
        "`{entry}` is not a folder: every entry of the secrets directory `{dir}` must be a folder (a top-level key) holding one file per secret"
    )]
    NotAFolder { dir: String, entry: String },
    #[error("`{0}`: the name is not valid UTF-8: rename it")]
    NameNotUtf8(String),
    #[error("`{0}`: not valid UTF-8: a secret file must hold UTF-8 text")]
    ContentNotUtf8(String),
    #[error(
        "`{0}` is an AWS source, but this inject was built without AWS support: install it with `cargo install inject --features aws`"
    )]
    NeedsAws(String),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A `--require-from` template that cannot give its names.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the template `{0}` given to `--require-from` does not exist: check the path")]
    NotFound(String),
    #[error("cannot read the template `{path}`: {error}")]
    Io { path: String, error: io::Error },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Flatten(FlattenError),
}

/// Read and parse a `--require-from` template (SPEC §5), a TOML file like the secrets.
pub fn read_template(path: &Path) -> Result<Table, TemplateError> {
    let name = display(path);
    let bytes = fs::read(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => TemplateError::NotFound(name.clone()),
        _ => TemplateError::Io {
            path: name.clone(),
            error,
        },
    })?;
    Ok(parse::parse_toml(&name, &bytes)?)
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
        Err(error) if error.kind() == io::ErrorKind::NotADirectory => None,
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
    let global = cx
        .home
        .map(|home| home.join(".streamlit").join("config.toml"));
    global
        .into_iter()
        .chain([PathBuf::from(".streamlit/config.toml")])
        .collect()
}

/// The global then the project `secrets.toml`.
fn default_paths(cx: &Context) -> Vec<PathBuf> {
    let global = cx
        .home
        .map(|home| home.join(".streamlit").join("secrets.toml"));
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
    match fs::read(config) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) if error.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(error) => Err(io_error(config, error)),
        Ok(bytes) => Ok(parse::secrets_files(&display(config), &bytes)?),
    }
}

fn read_toml_file(path: &Path) -> Result<Loaded, SourceError> {
    let bytes = fs::read(path).map_err(|error| io_error(path, error))?;
    let name = display(path);
    let table = parse::parse_toml(&name, &bytes)?;
    Ok(Loaded {
        path: path.to_path_buf(),
        table,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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

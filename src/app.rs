//! The only place that wires effects to the pure core: one [`prepare`] that reads the sources
//! and composes the program's environment for every subcommand and the launcher, then one
//! function per subcommand (`app/commands.rs`) and the launcher (`app/program.rs`).

mod commands;
mod program;
mod seal;

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::environment::{self, Composed, Pair};
use crate::error::{self, Error, ExitCode};
use crate::flatten::{self, Variable};
use crate::require::{self, RequireError, Requirement};
use crate::source::{self, TemplateError};
use crate::st_secrets;
use crate::value::Table;

/// Run the parsed command line; inject's exit status, or the error that ends it.
pub fn run(cli: &Cli) -> Result<ExitCode, Error> {
    match &cli.command {
        None => program::run(cli),
        Some(Command::List(args)) => commands::list(cli, args),
        Some(Command::Export(args)) => commands::export(cli, args),
        Some(Command::Check(args)) => commands::check(cli, args),
        Some(Command::Encrypt(args) | Command::Decrypt(args) | Command::Rotate(args)) => {
            seal::run(cli, args)
        }
        Some(Command::Completions(args)) => commands::completions(args),
        Some(Command::Man) => commands::man(),
    }
}

/// What the sources give and what the environment makes of it.
struct Prepared {
    variables: Vec<Variable>,
    /// Required names read through `NAME_FILE`.
    from_files: Vec<Variable>,
    composed: Composed,
    /// `--st-secrets`: the tree Streamlit gets, as TOML text (SPEC §14).
    st_secrets: Option<String>,
    /// The variables whose values were encrypted in their source.
    sealed: Vec<seal::Sealed>,
}

impl Prepared {
    /// What a run sets: the sources' variables less those whose inherited value
    /// `--no-override` kept, then those read through `NAME_FILE`.
    fn injected(&self) -> impl Iterator<Item = &Variable> {
        self.composed.set(&self.variables).chain(&self.from_files)
    }
}

/// Read the sources and compose the program's environment, with the required names
/// satisfied: what every start does and what `list` and `export` show. `no_source` is the
/// note a subcommand gives when no source exists (unless `-q`).
fn prepare(cli: &Cli, no_source: Option<&str>) -> Result<Prepared, Error> {
    let mut loaded = with_sources(cli, |cx| source::load(&cli.selection.files, cx))?;
    let sealed = seal::open_sources(cli, &mut loaded)?;
    // The tables are merged, not copied: from here on `loaded` only says what was read.
    let merged = flatten::merge(loaded.iter_mut().map(|l| std::mem::take(&mut l.table)));
    // `--st-secrets` hands over the tree too; otherwise its keys and texts move into the variables.
    let tree = cli.start.st_secrets.then(|| merged.clone());
    let variables = flatten::flatten_owned(merged, &options(cli)).map_err(Error::Flatten)?;
    if cli.verbose {
        if loaded.is_empty() {
            error::note(
                "note",
                "no secrets source found: the environment passes through unchanged",
            );
        }
        for source in &loaded {
            error::note("note", &format!("read `{}`", source::display(&source.path)));
        }
    }
    if let Some(note) = no_source.filter(|_| loaded.is_empty() && !cli.quiet) {
        error::note("note", &format!("no secrets source found: {note}"));
    }
    let mut composed = compose(cli, &variables);
    let (requirements, templates) = requirements(cli).map_err(Error::Template)?;
    if cfg!(windows) {
        // A required name and its `NAME_FILE`, as `resolve_required` looks them up.
        let names: Vec<OsString> = requirements
            .iter()
            .flat_map(|r| [r.name.clone(), format!("{}_FILE", r.name)])
            .map(OsString::from)
            .collect();
        environment::respell(&mut composed.env, names.iter().map(OsString::as_os_str));
    }
    let (from_files, errors) = resolve_required(&requirements, &mut composed.env);
    if !errors.is_empty() {
        return Err(Error::Require(errors));
    }
    let st_secrets = if let Some(merged) = tree {
        if loaded.is_empty() && templates.is_empty() {
            return Err(Error::Message(
                "`--st-secrets` has nothing to hand over: no secrets source was found and no `--require-from` template names a key; add one, or drop `--st-secrets`".into(),
            ));
        }
        let mut tree = st_secrets::sources_part(merged, &cli.selection.only);
        let env = &composed.env;
        let lookup = |name: &str| {
            env.iter()
                .rev()
                .find(|pair| pair.name() == name)
                .map(|pair| pair.value().to_string_lossy().into_owned())
        };
        let mut errors = Vec::new();
        for (table, leaves) in &templates {
            if let Err(more) = st_secrets::add_template(&mut tree, table, leaves, &lookup) {
                errors.extend(more);
            }
        }
        if !errors.is_empty() {
            return Err(Error::StSecrets(errors));
        }
        Some(st_secrets::to_toml(&tree))
    } else {
        None
    };
    Ok(Prepared {
        variables,
        from_files,
        composed,
        st_secrets,
        sealed,
    })
}

/// Where Streamlit's global `.streamlit` folder lives: `~`, which is `%USERPROFILE%` on
/// Windows (SPEC §18).
fn home() -> Option<PathBuf> {
    let name = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(name)
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Call `f` with what chooses and bounds the sources: `$HOME`, the environment, `--timeout`.
fn with_sources<T>(cli: &Cli, f: impl FnOnce(&source::Context) -> T) -> T {
    let home = home();
    let lookup = |name: &str| std::env::var_os(name);
    f(&source::Context {
        home: home.as_deref(),
        env: &lookup,
        timeout: cli.selection.timeout(),
    })
}

fn options(cli: &Cli) -> flatten::Options<'_> {
    flatten::Options {
        only: &cli.selection.only,
        prefix: &cli.selection.prefix,
        allow: &cli.selection.allow,
    }
}

/// The environment inject was started with, as the C runtime handed it to `main`, borrowed:
/// the program's environment points into it instead of copying it (set once by `main.rs`).
#[cfg(unix)]
static STARTED_WITH: std::sync::OnceLock<Vec<&'static std::ffi::CStr>> = std::sync::OnceLock::new();

#[cfg(unix)]
pub(crate) fn started_with(environ: Vec<&'static std::ffi::CStr>) {
    let _ = STARTED_WITH.set(environ);
}

/// inject's own environment: borrowed when `main` handed it over, else read through std.
fn inherited() -> Vec<Pair> {
    #[cfg(unix)]
    if let Some(environ) = STARTED_WITH.get() {
        return environ
            .iter()
            .copied()
            .filter_map(Pair::inherited)
            .collect();
    }
    std::env::vars_os()
        .map(|(name, value)| Pair::new(&name, &value))
        .collect()
}

fn compose(cli: &Cli, variables: &[Variable]) -> Composed {
    let mut inherited = inherited();
    let mut keep = Cow::Borrowed(&cli.environment.keep[..]);
    if cfg!(windows) {
        let names = || variables.iter().map(|v| OsStr::new(&v.name));
        // `--keep path` keeps an inherited `Path` whichever way the secrets spell it.
        for name in keep.to_mut() {
            environment::respell_name(name, names());
        }
        let kept = keep.iter().map(OsString::as_os_str);
        environment::respell(&mut inherited, names().chain(kept));
    }
    let settings = environment::Settings {
        no_override: cli.environment.no_override,
        clean: cli.environment.clean,
        keep: &keep,
    };
    environment::compose(inherited, variables, &settings)
}

/// A `--require-from` template and the variables its keys name.
type Template = (Table, Vec<Variable>);

/// The names declared by `--require` and `--require-from`, and the templates themselves, or
/// every reason a template fails.
fn requirements(cli: &Cli) -> Result<(Vec<Requirement>, Vec<Template>), Vec<TemplateError>> {
    let mut templates = Vec::new();
    let mut errors = Vec::new();
    for path in &cli.require.templates {
        match source::read_template(path.as_ref()) {
            Err(error) => errors.push(error),
            Ok(table) => {
                match require::template_names(&table, &cli.selection.prefix, &cli.selection.allow) {
                    Ok(names) => templates.push((table, names)),
                    Err(flat) => errors.extend(flat.into_iter().map(TemplateError::Flatten)),
                }
            }
        }
    }
    if errors.is_empty() {
        let names = templates.iter().flat_map(|(_, names)| names);
        Ok((require::collect(&cli.require.names, names), templates))
    } else {
        Err(errors)
    }
}

/// Read the `NAME_FILE` files the plan asks for and add their values to the environment.
/// Returns the variables read, and every reason the required names are not satisfied.
fn resolve_required(
    requirements: &[Requirement],
    env: &mut Vec<Pair>,
) -> (Vec<Variable>, Vec<RequireError>) {
    let plan = require::plan(requirements, env);
    let mut errors = plan.errors;
    let mut read = Vec::new();
    for request in &plan.reads {
        let value = std::fs::read(&request.path)
            .map_err(|error| RequireError::Unreadable {
                name: request.name.clone(),
                file_var: request.file_var.clone(),
                path: request.path.to_string_lossy().into_owned(),
                error: error.to_string(),
            })
            .and_then(|bytes| require::file_value(request, bytes));
        match value {
            Ok(value) => {
                env.push(Pair::new(request.name.as_ref(), value.as_ref()));
                read.push(require::file_variable(request, value));
            }
            Err(error) => errors.push(error),
        }
    }
    (read, errors)
}

/// Whether a variable is set to the empty string. With the environment `main` handed over, the
/// `INJECT_*` ones are found in one pass (each `getenv` would read all 10,000 of a large
/// environment); the first entry of a name counts, as for `getenv`.
fn set_but_empty() -> impl Fn(&std::ffi::OsStr) -> bool {
    #[cfg(unix)]
    let inject: Option<Vec<Pair>> = STARTED_WITH.get().map(|environ| {
        let mut seen: Vec<Pair> = Vec::new();
        let inject = environ
            .iter()
            .filter(|e| e.to_bytes().starts_with(b"INJECT_"));
        for pair in inject.copied().filter_map(Pair::inherited) {
            if !seen.iter().any(|p| p.name() == pair.name()) {
                seen.push(pair);
            }
        }
        seen
    });
    #[cfg(not(unix))]
    let inject: Option<Vec<Pair>> = None;
    move |name| match &inject {
        Some(seen) if name.as_encoded_bytes().starts_with(b"INJECT_") => seen
            .iter()
            .any(|p| p.name() == name && p.value().is_empty()),
        _ => std::env::var_os(name).is_some_and(|v| v.is_empty()),
    }
}

/// Parse the command line. An `INJECT_*` variable that is set but empty counts as unset (as
/// `STREAMLIT_SECRETS_FILES` does): `ENV INJECT_FILE=` must not mean a file named ``.
pub fn parse(args: Vec<OsString>) -> Result<Cli, Error> {
    use clap::{CommandFactory, FromArgMatches};
    let empty = set_but_empty();
    let mut command = Cli::command().mut_args(|arg| match arg.get_env() {
        Some(name) if empty(name) => arg.env(None::<&str>),
        _ => arg,
    });
    let parsed = command
        .try_get_matches_from_mut(args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
        .map_err(Error::Cli);
    // The command's tree (every subcommand with a copy of each global option) is done with,
    // and freeing it would cost a sixth of a start; inject execs or exits soon, and a long
    // run (`--watch`, `--init`) keeps this one allocation, which never grows.
    std::mem::forget(command);
    parsed
}

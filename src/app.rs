//! One function per subcommand: the only place that wires effects to the pure core.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};

use crate::check::CheckFormat;
use crate::cli::{CheckArgs, Cli, Command, CompletionsArgs, ExportArgs, ListArgs};
use crate::environment::{self, Composed, Pair};
use crate::error::{self, ExitCode};
use crate::flatten::{self, Variable};
use crate::list::ListFormat;
use crate::require::{self, RequireError, Requirement};
use crate::source::{self, Loaded};
use crate::{check, export, launch, list, mask, relay, supervise};

/// Run the parsed command line; returns the process exit status.
pub fn run(cli: &Cli) -> i32 {
    let outcome = match &cli.command {
        None => run_program(cli),
        Some(Command::List(args)) => list(cli, args),
        Some(Command::Export(args)) => export(cli, args),
        Some(Command::Check(args)) => check(cli, args),
        Some(Command::Completions(args)) => completions(args),
        Some(Command::Man) => man(),
    };
    match outcome {
        Ok(code) => code.into(),
        Err(error) => {
            error::report(&format!("{error:#}"));
            ExitCode::Failure.into()
        }
    }
}

/// The sources read and the variables they give, before the environment is composed.
struct Secrets {
    loaded: Vec<Loaded>,
    variables: Vec<Variable>,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
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

/// What a run sets: the sources' variables less those whose inherited value `--no-override`
/// kept, then those read through `NAME_FILE`.
fn injected<'a>(
    variables: &'a [Variable],
    composed: &'a Composed,
    from_files: &'a [Variable],
) -> impl Iterator<Item = &'a Variable> {
    variables
        .iter()
        .enumerate()
        .filter(|(i, _)| !composed.kept_from_env.contains(i))
        .map(|(_, v)| v)
        .chain(from_files)
}

/// Several problems as one error, one `inject: error:` line each when printed.
fn one_error_per_line(errors: &[impl std::fmt::Display]) -> anyhow::Error {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    anyhow!("{}", lines.join("\n"))
}

fn options(cli: &Cli) -> flatten::Options<'_> {
    flatten::Options {
        only: &cli.selection.only,
        prefix: &cli.selection.prefix,
        allow: &cli.selection.allow,
    }
}

fn read_secrets(cli: &Cli) -> anyhow::Result<Secrets> {
    let mut loaded = with_sources(cli, |cx| source::load(&cli.selection.files, cx))?;
    // The tables are merged, not copied: from here on `loaded` only says what was read.
    let merged = flatten::merge(loaded.iter_mut().map(|l| std::mem::take(&mut l.table)));
    let options = options(cli);
    let variables =
        flatten::flatten(&merged, &options).map_err(|errors| one_error_per_line(&errors))?;
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
    Ok(Secrets { loaded, variables })
}

fn compose(cli: &Cli, variables: &[Variable]) -> Composed {
    let inherited: Vec<Pair> = std::env::vars_os().collect();
    let settings = environment::Settings {
        no_override: cli.environment.no_override,
        clean: cli.environment.clean,
        keep: &cli.environment.keep,
    };
    environment::compose(inherited, variables, &settings)
}

fn run_program(cli: &Cli) -> anyhow::Result<ExitCode> {
    if cli.program.is_empty() {
        return Err(anyhow!(
            "nothing to run: put the command after `--`, e.g. `inject -- streamlit run app.py` (or see `inject --help`)"
        ));
    }
    if cli.watch.watch {
        // `--watch` reads the sources itself, once its watches are in place.
        return supervise(cli, None);
    }
    let prepared = prepare(cli)?;
    if cli.start.mask.is_some() {
        if cli.start.no_init {
            return Err(anyhow!(
                "`--mask` keeps inject as the program's parent, `--no-init` asks it to exec: drop one of them (or unset `INJECT_MASK`)"
            ));
        }
        return supervise(cli, Some(start_of(cli, &prepared)));
    }
    let start = &cli.start;
    if !start.no_init && (start.init || is_pid1()) {
        if cli.verbose {
            error::note(
                "note",
                "init mode: inject stays as a supervisor of the program",
            );
        }
        return supervise(cli, Some(start_of(cli, &prepared)));
    }
    Ok(launch::exec(&cli.program, &prepared.composed.env).report())
}

/// Is inject the first process of its PID namespace (a container's entry point)?
fn is_pid1() -> bool {
    nix::unistd::getpid().as_raw() == 1
}

/// Stay as the program's parent (SPEC §17): init mode, `--mask` and `--watch` are options of
/// the one supervisor. `first` is the start already prepared, `None` under `--watch`.
fn supervise(cli: &Cli, first: Option<supervise::Start>) -> anyhow::Result<ExitCode> {
    let options = supervise::Options {
        group: cli.start.group,
        // PID 1 adopts orphans anyway.
        subreaper: !is_pid1(),
        mask: cli.start.mask.map(|when| relay::Settings {
            when,
            min_len: usize::try_from(cli.start.mask_min).unwrap_or(usize::MAX),
        }),
        watch: cli.watch.watch.then_some(supervise::Restart {
            signal: cli.watch.restart_signal,
            stop_timeout: cli.watch.stop_timeout,
        }),
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let paths = || with_sources(cli, |cx| source::inputs(&cli.selection.files, cx));
    let mut compose = || prepare(cli).map(|prepared| start_of(cli, &prepared));
    let inputs = supervise::Inputs {
        first,
        compose: &mut compose,
        paths: &paths,
    };
    Ok(supervise::run(&cli.program, inputs, &options))
}

/// What one start of the program gets from what was prepared: the environment and, for
/// `--mask`, the values to hide (those read through `NAME_FILE` are secrets too).
fn start_of(cli: &Cli, prepared: &Prepared) -> supervise::Start {
    let values = if cli.start.mask.is_some() {
        mask::values_to_mask(&prepared.variables, &prepared.composed)
            .into_iter()
            .chain(
                prepared
                    .from_files
                    .iter()
                    .map(|v| (v.name.as_str(), v.value.as_bytes())),
            )
            .map(|(name, value)| (name.to_string(), value.to_vec()))
            .collect()
    } else {
        Vec::new()
    };
    supervise::Start {
        env: prepared.composed.env.clone(),
        values,
    }
}

/// What a start injects: the variables from the sources, those read through `NAME_FILE`, and
/// the composed environment.
struct Prepared {
    variables: Vec<Variable>,
    from_files: Vec<Variable>,
    composed: Composed,
}

/// Read the sources and compose the program's environment: what every start does, the
/// first one and, under `--watch`, each restart.
fn prepare(cli: &Cli) -> anyhow::Result<Prepared> {
    let secrets = read_secrets(cli)?;
    let mut composed = compose(cli, &secrets.variables);
    let from_files = satisfy_required(cli, &mut composed.env)?;
    if cli.verbose && !(secrets.variables.is_empty() && from_files.is_empty()) {
        let names: Vec<&str> = injected(&secrets.variables, &composed, &from_files)
            .map(|v| v.name.as_str())
            .collect();
        error::note("note", &format!("setting {}", names.join(", ")));
    }
    Ok(Prepared {
        variables: secrets.variables,
        from_files,
        composed,
    })
}

fn list(cli: &Cli, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let secrets = read_secrets(cli)?;
    if secrets.loaded.is_empty() && !cli.quiet {
        error::note("note", "no secrets source found: nothing would be injected");
    }
    let mut composed = compose(cli, &secrets.variables);
    let from_files = satisfy_required(cli, &mut composed.env)?;
    // An inherited value need not be UTF-8: shown lossily, but counted in real bytes.
    let inherited_value = |name: &str| -> (String, usize) {
        composed
            .env
            .iter()
            .find(|(n, _)| n == OsStr::new(name))
            .map(|(_, v)| (v.to_string_lossy().into_owned(), v.len()))
            .unwrap_or_default()
    };
    let kept: Vec<(usize, (String, usize))> = composed
        .kept_from_env
        .iter()
        .map(|&i| (i, inherited_value(&secrets.variables[i].name)))
        .collect();
    let rows: Vec<list::Row> = secrets
        .variables
        .iter()
        .enumerate()
        .map(|(i, v)| match kept.iter().find(|(k, _)| *k == i) {
            Some((_, (value, bytes))) => list::Row {
                name: &v.name,
                key: v.key.to_string(),
                origin: "env".into(),
                source: "env".into(),
                line: None,
                value,
                bytes: *bytes,
            },
            None => list::Row {
                name: &v.name,
                key: v.key.to_string(),
                origin: v.origin.to_string(),
                source: v.origin.source.to_string(),
                line: v.origin.line,
                value: &v.value,
                bytes: v.value.len(),
            },
        })
        .chain(from_files.iter().map(|v| list::Row {
            name: &v.name,
            key: v.key.to_string(),
            origin: v.origin.to_string(),
            source: v.origin.source.to_string(),
            line: None,
            value: &v.value,
            bytes: v.value.len(),
        }))
        .collect();
    let text = match args.format {
        ListFormat::Table => list::table(&rows, args.reveal),
        ListFormat::Json => list::json(&rows, args.reveal),
    };
    write_stdout(text.as_bytes())?;
    Ok(ExitCode::Success)
}

/// The names declared by `--require` and `--require-from`, or every reason a template fails.
fn requirements(cli: &Cli) -> Result<Vec<Requirement>, Vec<String>> {
    let mut templates = Vec::new();
    let mut errors = Vec::new();
    for path in &cli.require.templates {
        let name = source::display(path.as_ref());
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                errors.push(format!(
                    "the template `{name}` given to `--require-from` does not exist: check the path"
                ));
                continue;
            }
            Err(error) => {
                errors.push(format!("cannot read the template `{name}`: {error}"));
                continue;
            }
        };
        let table = match crate::parse::parse_toml(&name, &bytes) {
            Ok(table) => table,
            Err(error) => {
                errors.push(error.to_string());
                continue;
            }
        };
        match require::template_names(&table, &cli.selection.prefix, &cli.selection.allow) {
            Ok(names) => templates.push(names),
            Err(flat) => errors.extend(flat.iter().map(ToString::to_string)),
        }
    }
    if errors.is_empty() {
        Ok(require::collect(&cli.require.names, &templates))
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
                env.push((OsString::from(&request.name), OsString::from(&value)));
                read.push(require::file_variable(request, value));
            }
            Err(error) => errors.push(error),
        }
    }
    (read, errors)
}

/// The required-names gate of a run, `list` and `export`: every problem at once, or the
/// variables read from `NAME_FILE` files.
fn satisfy_required(cli: &Cli, env: &mut Vec<Pair>) -> anyhow::Result<Vec<Variable>> {
    let requirements = requirements(cli).map_err(|errors| one_error_per_line(&errors))?;
    let (read, errors) = resolve_required(&requirements, env);
    if errors.is_empty() {
        Ok(read)
    } else {
        Err(one_error_per_line(&errors))
    }
}

fn export(cli: &Cli, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal as _;
    if !args.reveal && std::io::stdout().is_terminal() {
        return Err(anyhow!(
            "refusing to print secret values to a terminal: redirect or pipe the output (e.g. `inject export --format dotenv > .env`), or pass `--reveal`"
        ));
    }
    let secrets = read_secrets(cli)?;
    if secrets.loaded.is_empty() && !cli.quiet {
        error::note("note", "no secrets source found: nothing to export");
    }
    let mut composed = compose(cli, &secrets.variables);
    let from_files = satisfy_required(cli, &mut composed.env)?;
    let variables: Vec<(&str, &str)> = injected(&secrets.variables, &composed, &from_files)
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    // Fresh random bits from the OS for the `github` heredoc delimiters. Should the OS have
    // none, each call still gives a different number, so the delimiter search ends, and the
    // export fails below instead of using a guessable delimiter.
    let mut no_random = None;
    let mut drawn = 0u128;
    let mut random = || {
        let mut bytes = [0u8; 16];
        match getrandom::fill(&mut bytes) {
            Ok(()) => u128::from_le_bytes(bytes),
            Err(error) => {
                no_random = Some(error);
                drawn += 1;
                drawn
            }
        }
    };
    let rendered = export::render(args.format, &variables, &mut random);
    if let Some(error) = no_random {
        return Err(anyhow!(
            "cannot get random bits from the operating system for the heredoc delimiter ({error}); nothing was exported"
        ));
    }
    let bytes = rendered.map_err(|errors| {
        let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.push("nothing was exported".into());
        one_error_per_line(&lines)
    })?;
    write_stdout(&bytes)?;
    Ok(ExitCode::Success)
}

fn check(cli: &Cli, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut findings = Vec::new();
    let attempts = with_sources(cli, |cx| source::load_each(&cli.selection.files, cx));
    let attempts = attempts.unwrap_or_else(|error| {
        findings.push(check::source_error(&error));
        Vec::new()
    });
    let mut sources = Vec::new();
    let mut tables = Vec::new();
    for attempt in attempts {
        let name = source::display(&attempt.path);
        match attempt.result {
            Ok(loaded) => tables.push(loaded.table),
            Err(error) => findings.push(check::source_error(&error)),
        }
        for (file, mode) in check::probe_modes(&attempt.path) {
            findings.extend(check::permissions(&file, mode));
        }
        if attempt.path.exists() {
            findings.extend(check::git(&name, check::probe_git(&attempt.path)));
        }
        sources.push(name);
    }
    let merged = flatten::merge(tables);
    let (variables, errors) = flatten::flatten_all(&merged, &options(cli));
    findings.extend(errors.iter().map(check::flatten_error));
    let limit = cfg!(target_os = "linux").then_some(check::LINUX_MAX_VARIABLE);
    findings.extend(check::oversized(&variables, limit));
    match requirements(cli) {
        Ok(requirements) => {
            let mut composed = compose(cli, &variables);
            let (_, errors) = resolve_required(&requirements, &mut composed.env);
            findings.extend(errors.iter().map(check::require_error));
        }
        Err(errors) => findings.extend(errors.into_iter().map(check::template_error)),
    }
    let text = match args.format {
        CheckFormat::Human => check::human(&sources, &findings, cli.quiet),
        CheckFormat::Json => check::json(&sources, &findings),
    };
    write_stdout(text.as_bytes())?;
    Ok(if check::has_errors(&findings) {
        ExitCode::Findings
    } else {
        ExitCode::Success
    })
}

fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory as _;
    let mut bytes = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "inject", &mut bytes);
    write_stdout(&bytes)?;
    Ok(ExitCode::Success)
}

fn man() -> anyhow::Result<ExitCode> {
    use clap::CommandFactory as _;
    let mut bytes = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut bytes)
        .context("cannot render the manual page")?;
    write_stdout(&bytes)?;
    Ok(ExitCode::Success)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

/// Parse the command line; clap's usage errors become exit status 125.
pub fn parse(args: Vec<OsString>) -> Result<Cli, i32> {
    use clap::error::ErrorKind;
    use clap::{CommandFactory, FromArgMatches};
    // An `INJECT_*` variable that is set but empty counts as unset (as
    // `STREAMLIT_SECRETS_FILES` does): `ENV INJECT_FILE=` must not mean a file named ``.
    let command = Cli::command().mut_args(|arg| match arg.get_env() {
        Some(name) if std::env::var_os(name).is_some_and(|v| v.is_empty()) => arg.env(None::<&str>),
        _ => arg,
    });
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => Ok(cli),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            Err(0)
        }
        Err(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let _ = write!(std::io::stderr().lock(), "inject: error: {text}");
            Err(ExitCode::Failure.into())
        }
    }
}

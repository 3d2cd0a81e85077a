//! One function per subcommand: the only place that wires effects to the pure core.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};

use crate::cli::{Cli, Command, ListArgs, ListFormat};
use crate::environment::{self, Composed, Pair};
use crate::error::{self, ExitCode};
use crate::flatten::{self, Variable};
use crate::source::{self, Loaded};
use crate::{launch, list};

/// Run the parsed command line; returns the process exit status.
pub fn run(cli: &Cli) -> i32 {
    let outcome = match &cli.command {
        None => run_program(cli),
        Some(Command::List(args)) => list(cli, args),
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

fn read_secrets(cli: &Cli) -> anyhow::Result<Secrets> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let lookup = |name: &str| std::env::var_os(name);
    let cx = source::Context {
        home: home.as_deref(),
        env: &lookup,
        timeout: cli.selection.timeout(),
    };
    let loaded = source::load(&cli.selection.files, &cx)?;
    let merged = flatten::merge(loaded.iter().map(|l| l.table.clone()));
    let options = flatten::Options {
        only: &cli.selection.only,
        prefix: &cli.selection.prefix,
        allow: &cli.selection.allow,
    };
    let variables = flatten::flatten(&merged, &options).map_err(|errors| {
        anyhow!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
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
    let secrets = read_secrets(cli)?;
    let composed = compose(cli, &secrets.variables);
    if cli.verbose && !secrets.variables.is_empty() {
        let names: Vec<&str> = secrets
            .variables
            .iter()
            .enumerate()
            .filter(|(i, _)| !composed.kept_from_env.contains(i))
            .map(|(_, v)| v.name.as_str())
            .collect();
        error::note("note", &format!("setting {}", names.join(", ")));
    }
    drop(secrets);
    let failure = launch::exec(&cli.program, &composed.env);
    error::report(&failure.message);
    Ok(failure.code)
}

fn list(cli: &Cli, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let secrets = read_secrets(cli)?;
    if secrets.loaded.is_empty() && !cli.quiet {
        error::note("note", "no secrets source found: nothing would be injected");
    }
    let composed = compose(cli, &secrets.variables);
    let inherited_value = |name: &str| -> String {
        composed
            .env
            .iter()
            .find(|(n, _)| n == OsStr::new(name))
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let kept: Vec<(usize, String)> = composed
        .kept_from_env
        .iter()
        .map(|&i| (i, inherited_value(&secrets.variables[i].name)))
        .collect();
    let rows: Vec<list::Row> = secrets
        .variables
        .iter()
        .enumerate()
        .map(|(i, v)| match kept.iter().find(|(k, _)| *k == i) {
            Some((_, value)) => list::Row {
                name: &v.name,
                key: Some(v.key.to_string()),
                origin: "env".into(),
                source: "env".into(),
                line: None,
                value,
            },
            None => list::Row {
                name: &v.name,
                key: Some(v.key.to_string()),
                origin: v.origin.to_string(),
                source: v.origin.source.to_string(),
                line: v.origin.line,
                value: &v.value,
            },
        })
        .collect();
    let text = match args.format {
        ListFormat::Table => list::table(&rows, args.reveal),
        ListFormat::Json => list::json(&rows, args.reveal),
    };
    write_stdout(text.as_bytes())?;
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
    use clap::Parser;
    use clap::error::ErrorKind;
    match Cli::try_parse_from(args) {
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

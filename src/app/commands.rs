//! `list`, `export`, `check`, `completions` and `man` (SPEC §7).

use std::io::Write as _;

use super::{compose, options, prepare, requirements, resolve_required, with_sources};
use crate::check::{self, CheckFormat};
use crate::cli::{CheckArgs, Cli, CompletionsArgs, ExportArgs, ListArgs};
use crate::error::{Error, ExitCode};
use crate::list::{self, ListFormat};
use crate::{export, flatten, source};

pub(super) fn list(cli: &Cli, args: &ListArgs) -> Result<ExitCode, Error> {
    let prepared = prepare(cli, Some("nothing would be injected"))?;
    let mut rows = list::rows(
        &prepared.variables,
        &prepared.composed,
        &prepared.from_files,
    );
    for row in rows.iter_mut().filter(|r| r.origin != "env") {
        row.encrypted = prepared
            .sealed
            .iter()
            .any(|(source, key)| row.source == **source && row.key == key.to_string());
    }
    let text = match args.format {
        ListFormat::Table => list::table(&rows, args.reveal),
        ListFormat::Json => list::json(&rows, args.reveal),
    };
    write_stdout(text.as_bytes())?;
    Ok(ExitCode::Success)
}

pub(super) fn export(cli: &Cli, args: &ExportArgs) -> Result<ExitCode, Error> {
    use std::io::IsTerminal as _;
    if !args.reveal && std::io::stdout().is_terminal() {
        return Err(Error::Message(
            "refusing to print secret values to a terminal: redirect or pipe the output (e.g. `inject export --format dotenv > .env`), or pass `--reveal`".into(),
        ));
    }
    let prepared = prepare(cli, Some("nothing to export"))?;
    let variables: Vec<(&str, &str)> = prepared
        .injected()
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
        return Err(Error::Message(format!(
            "cannot get random bits from the operating system for the heredoc delimiter ({error}); nothing was exported"
        )));
    }
    write_stdout(&rendered.map_err(Error::Export)?)?;
    Ok(ExitCode::Success)
}

pub(super) fn check(cli: &Cli, args: &CheckArgs) -> Result<ExitCode, Error> {
    let mut findings = Vec::new();
    let attempts = with_sources(cli, |cx| source::load_each(&cli.selection.files, cx));
    let attempts = attempts.unwrap_or_else(|error| {
        findings.push(check::source_error(&error));
        Vec::new()
    });
    let mut sources = Vec::new();
    let mut loaded = Vec::new();
    for attempt in attempts {
        let name = source::display(&attempt.path);
        // A file whose every string is encrypted is made to be committed (SPEC §15).
        let mut committable = false;
        match attempt.result {
            Ok(source) => {
                committable = super::seal::committable(&source);
                loaded.push(source);
            }
            Err(error) => findings.push(check::source_error(&error)),
        }
        for (file, mode) in check::probe_modes(&attempt.path) {
            findings.extend(check::permissions(&file, mode));
        }
        if attempt.path.exists() && !committable {
            findings.extend(check::git(&name, check::probe_git(&attempt.path)));
        }
        sources.push(name);
    }
    findings.extend(super::seal::check(cli, &mut loaded));
    let merged = flatten::merge(loaded.into_iter().map(|l| l.table));
    let (variables, errors) = flatten::flatten_all(&merged, &options(cli));
    findings.extend(errors.iter().map(check::flatten_error));
    let limit = cfg!(target_os = "linux").then_some(check::LINUX_MAX_VARIABLE);
    findings.extend(check::oversized(&variables, limit));
    match requirements(cli) {
        Ok((requirements, _)) => {
            let mut composed = compose(cli, &variables);
            let (_, errors) = resolve_required(&requirements, &mut composed.env);
            findings.extend(errors.iter().map(check::require_error));
        }
        Err(errors) => findings.extend(errors.iter().map(check::template_error)),
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

pub(super) fn completions(args: &CompletionsArgs) -> Result<ExitCode, Error> {
    use clap::CommandFactory as _;
    let mut bytes = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "inject", &mut bytes);
    write_stdout(&bytes)?;
    Ok(ExitCode::Success)
}

pub(super) fn man() -> Result<ExitCode, Error> {
    use clap::CommandFactory as _;
    let mut bytes = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut bytes)
        .map_err(|e| Error::Message(format!("cannot render the manual page: {e}")))?;
    write_stdout(&bytes)?;
    Ok(ExitCode::Success)
}

fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::Message(format!("cannot write to standard output: {e}")))
}

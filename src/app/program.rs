//! `inject -- COMMAND`: exec the program (SPEC §6.1), or stay as its parent (init mode,
//! `--mask`, `--watch`: options of the one supervisor, SPEC §17).

use super::{Prepared, prepare, with_sources};
use crate::cli::Cli;
use crate::environment::Pair;
use crate::error::{self, Error, ExitCode};
use crate::{launch, mask, source, supervise};

#[cfg(target_os = "linux")]
use crate::st_memory::Memory;
/// No memory to hand over elsewhere (`memory` says so).
#[cfg(not(target_os = "linux"))]
pub(super) enum Memory {}

#[cfg(not(target_os = "linux"))]
impl Memory {
    fn write(&self, _: &str) -> Result<(), String> {
        match *self {}
    }
    fn path(&self) -> &std::path::Path {
        match *self {}
    }
    fn hand_over(self) -> Result<(), String> {
        match self {}
    }
    fn fd(&self) -> supervise::Keep<'_> {
        match *self {}
    }
}

pub(super) fn run(cli: &Cli) -> Result<ExitCode, Error> {
    if cli.program.is_empty() {
        return Err(Error::Message(
            "nothing to run: put the command after `--`, e.g. `inject -- streamlit run app.py` (or see `inject --help`)".into(),
        ));
    }
    let memory = memory(cli)?;
    if cli.watch.watch {
        // `--watch` reads the sources itself, once its watches are in place.
        return Ok(supervise(cli, None, memory.as_ref()));
    }
    let prepared = start(cli, memory.as_ref())?;
    if cli.start.mask.is_some() {
        if cli.start.no_init {
            return Err(Error::Message(
                "`--mask` keeps inject as the program's parent, `--no-init` asks it to exec: drop one of them (or unset `INJECT_MASK`)".into(),
            ));
        }
        let first = start_of(cli, &prepared);
        return Ok(supervise(cli, Some(first), memory.as_ref()));
    }
    let start = &cli.start;
    if !start.no_init && (start.init || is_pid1()) {
        if cli.verbose {
            error::note(
                "note",
                "init mode: inject stays as a supervisor of the program",
            );
        }
        let first = start_of(cli, &prepared);
        return Ok(supervise(cli, Some(first), memory.as_ref()));
    }
    if let Some(memory) = memory {
        memory.hand_over().map_err(Error::Message)?;
    }
    launch_program(cli, &prepared)
}

/// `--st-secrets`: the memory Streamlit's secrets file lives in (SPEC §14).
#[cfg(target_os = "linux")]
fn memory(cli: &Cli) -> Result<Option<Memory>, Error> {
    if !cli.start.st_secrets {
        return Ok(None);
    }
    Memory::create().map(Some).map_err(Error::Message)
}

/// Elsewhere there is no `memfd` to hand over: a clear error, said here once.
#[cfg(not(target_os = "linux"))]
fn memory(cli: &Cli) -> Result<Option<Memory>, Error> {
    if cli.start.st_secrets {
        return Err(Error::Message(
            "`--st-secrets` is only available on Linux: drop it, and give Streamlit a secrets file"
                .into(),
        ));
    }
    Ok(None)
}

/// Replace inject with the program (SPEC §6.1); returns only when it could not.
#[cfg(unix)]
fn launch_program(cli: &Cli, prepared: &Prepared) -> Result<ExitCode, Error> {
    Err(Error::Launch(launch::exec(
        &cli.program,
        &prepared.composed.env,
    )))
}

/// No exec on Windows: start the program, wait, and end with its code (SPEC §18).
#[cfg(windows)]
fn launch_program(cli: &Cli, prepared: &Prepared) -> Result<ExitCode, Error> {
    launch::run(&cli.program, &prepared.composed.env).map_err(Error::Launch)
}

/// What every start does, the first one and, under `--watch`, each restart: prepare, name
/// what is set (`-v`), and with `--st-secrets` write the tree into the memory and name it.
fn start(cli: &Cli, memory: Option<&Memory>) -> Result<Prepared, Error> {
    let mut prepared = prepare(cli, None)?;
    if let (Some(memory), Some(text)) = (memory, &prepared.st_secrets) {
        memory.write(text).map_err(Error::Message)?;
        let env = &mut prepared.composed.env;
        env.retain(|pair| pair.name() != "STREAMLIT_SECRETS_FILES");
        env.push(Pair::new(
            "STREAMLIT_SECRETS_FILES".as_ref(),
            memory.path().as_os_str(),
        ));
    }
    if cli.verbose && !(prepared.variables.is_empty() && prepared.from_files.is_empty()) {
        let names: Vec<&str> = prepared.injected().map(|v| v.name.as_str()).collect();
        error::note("note", &format!("setting {}", names.join(", ")));
    }
    Ok(prepared)
}

/// Is inject the first process of its PID namespace (a container's entry point)?
#[cfg(unix)]
fn is_pid1() -> bool {
    nix::unistd::getpid().as_raw() == 1
}

/// Windows has no PID 1 to be: init mode is only ever asked for (`--init`).
#[cfg(not(unix))]
fn is_pid1() -> bool {
    false
}

/// Stay as the program's parent. `first` is the start already prepared, `None` under
/// `--watch`; `memory` is handed to every start.
fn supervise(cli: &Cli, first: Option<supervise::Start>, memory: Option<&Memory>) -> ExitCode {
    let options = supervise::Options {
        group: cli.start.group,
        // PID 1 adopts orphans anyway.
        subreaper: !is_pid1(),
        mask: cli.start.mask.map(|when| mask::Settings {
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
    let mut compose = || start(cli, memory).map(|prepared| start_of(cli, &prepared));
    let inputs = supervise::Inputs {
        first,
        compose: &mut compose,
        paths: &paths,
        keep: memory.map(Memory::fd),
    };
    supervise::run(&cli.program, inputs, &options)
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

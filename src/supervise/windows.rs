//! EFFECT, Windows (SPEC §18): `--mask` through pipes and `--watch`. There are no signals to
//! forward and no orphans to reap, so the one loop of Linux is not needed: the program runs in
//! its job (as without either), each masked stream gets a pipe and a thread that reads it,
//! passes it through its own [`Redactor`] and writes what is decided to inject's stream at
//! once, a thread waits for each start of the program, and one loop on a channel hears them,
//! and notify's watcher, in order.
//!
//! * The terminal rule is Linux's (`mask::routes`): a console is left to the program, a pipe
//!   or a file is masked. `--mask=always` on a console would need a pseudo-terminal, which is
//!   a clear error here; so is init mode (no PID 1).
//! * When stdout and stderr are one file (`2>&1`), the program gets one pipe for both, so the
//!   order between its two streams is kept.
//! * When inject's reader has gone (a closed pipe), inject stops reading that stream: the
//!   program's next write there fails as it would without inject.
//! * `--watch` as on Linux (`watch`: the same paths, quiet period, one-line errors, the
//!   `restarting` line, nothing when the environment is the same), but the restart ends the
//!   program's job at once: Windows has no signal that asks one program to stop, so
//!   `--restart-signal` and `--stop-timeout` do not apply. Each start gets its own relay.
//!   After Ctrl+C (which the program gets too) nothing is restarted any more.
//! * After the program ended, its output drains until each pipe ends, at most [`LINGER`] in
//!   all (a process it started may hold a pipe open for ever); a held tail is written only at
//!   the end of its stream, so of a pipe still open it is dropped, as on Linux.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle};
use std::process::Stdio;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::CompareObjectHandles;
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
};

use super::{Inputs, Options, Start};
use crate::environment;
use crate::error::{self, Error, ExitCode, LaunchError};
use crate::launch::{self, Stopper};
use crate::mask::{self, Descriptor, MaskWhen, Redactor, Routes, routes};
use crate::watch::{self, Watcher};

/// After the program ended: stop draining this long after, whatever still comes.
const LINGER: Duration = Duration::from_secs(1);
/// Bytes read from a pipe at once.
const CHUNK: usize = 64 * 1024;

/// Run the program under `--mask`, `--watch` or both; init mode is an error here.
pub fn run(command: &[OsString], inputs: Inputs<'_>, options: &Options) -> ExitCode {
    match supervise(command, inputs, options) {
        Ok(code) => code,
        Err(error) => {
            error::report(&error);
            error.code()
        }
    }
}

/// What the loop hears, from the threads around it.
enum Wake {
    /// notify queued an event.
    Changed,
    /// The program of start number `start` ended (or could not be waited for).
    Exited {
        start: u64,
        result: Result<ExitCode, LaunchError>,
    },
    /// A relayed stream ended.
    Drained,
}

fn supervise(
    command: &[OsString],
    inputs: Inputs<'_>,
    options: &Options,
) -> Result<ExitCode, Error> {
    if options.watch.is_none() && options.mask.is_none() {
        return Err(Error::Message(
            "init mode (`--init`) does not exist on Windows: drop `--init`, inject then starts the program and waits for it".into(),
        ));
    }
    let output = options.mask.map(Output::new).transpose()?;
    let (send, wakes) = mpsc::channel();
    let mut watcher = match options.watch {
        None => None,
        Some(_) => {
            let ring = send.clone();
            let mut watcher =
                Watcher::with_ring(move || drop(ring.send(Wake::Changed))).map_err(|message| {
                    Error::Message(format!(
                        "cannot watch for changes: {message}: run without `--watch`"
                    ))
                })?;
            // Watch before the first read, so that no change can fall between the two.
            watcher.update(&(inputs.paths)(), options.verbose);
            Some(watcher)
        }
    };
    let first = match inputs.first {
        Some(first) => first,
        None => (inputs.compose)()?,
    };
    let mut relays = 0;
    let mut number = 0;
    let mut stopper = begin(command, &first, output.as_ref(), &send, number, &mut relays)?;
    let mut env = first.env;
    // When to read the sources again, once they have been quiet.
    let mut due: Option<Instant> = None;
    // A restart under way: what the program starts again with once its job has ended.
    let mut next: Option<Start> = None;
    let code = loop {
        let wake = match due.filter(|_| next.is_none()) {
            Some(at) => wakes.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => wakes.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match wake {
            Ok(Wake::Changed) => {
                if watcher.as_mut().is_some_and(Watcher::changed) {
                    due = Some(Instant::now() + watch::QUIET);
                }
            }
            Ok(Wake::Drained) => relays -= 1,
            Ok(Wake::Exited { start, result }) if start == number => match next.take() {
                Some(again) if !launch::interrupted() => {
                    // A program that cannot start again (126, 127) ends inject as it would
                    // have at the first start: there is nothing left to supervise.
                    number += 1;
                    stopper = begin(command, &again, output.as_ref(), &send, number, &mut relays)?;
                    env = again.env;
                }
                _ => break result.map_err(Error::Launch)?,
            },
            Ok(Wake::Exited { .. }) => {}
            Err(RecvTimeoutError::Timeout) => {
                due = None;
                if launch::interrupted() {
                    continue;
                }
                // The watches first, then the read: a change in between is seen by one of them.
                if let Some(watcher) = &mut watcher {
                    watcher.update(&(inputs.paths)(), false);
                }
                match (inputs.compose)() {
                    Err(error) => error::report(&Error::Message(watch::one_line(&error))),
                    Ok(again) => {
                        let changes = environment::changed_names(&env, &again.env);
                        if changes.is_empty() {
                            if options.verbose {
                                error::note(
                                    "note",
                                    "the secrets changed but the environment did not: not restarting",
                                );
                            }
                        } else {
                            if !options.quiet {
                                error::note("restarting", &changes.to_string());
                            }
                            stopper.stop();
                            next = Some(again);
                        }
                    }
                }
            }
            // Cannot happen: the loop holds a sender itself.
            Err(RecvTimeoutError::Disconnected) => break ExitCode::Failure,
        }
    };
    // Drain what the program wrote, from every start.
    let deadline = Instant::now() + LINGER;
    while relays > 0 {
        match wakes.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Wake::Drained) => relays -= 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(code)
}

/// Where the program's output goes under `--mask`, decided once: inject's streams do not
/// change between starts.
struct Output {
    settings: mask::Settings,
    routes: Routes,
}

impl Output {
    fn new(settings: mask::Settings) -> Result<Output, Error> {
        let (out, err) = (std::io::stdout(), std::io::stderr());
        let stdout = descriptor(out.as_handle());
        let mut stderr = descriptor(err.as_handle());
        if let (Some(o), Some(e)) = (stdout, stderr.as_mut())
            && same_object(out.as_handle(), err.as_handle())
        {
            // `2>&1` of cmd.exe or PowerShell: one handle duplicated, a pipe as often as a file.
            e.file = o.file;
        }
        if settings.when == MaskWhen::Always
            && [stdout, stderr].iter().flatten().any(|d| d.terminal)
        {
            return Err(Error::Message(
                "`--mask=always` masks a console through a pseudo-terminal, which inject does not have on Windows: use `--mask`, which masks pipes and files and leaves the console to the program".into(),
            ));
        }
        Ok(Output {
            settings,
            routes: routes(settings.when, stdout, stderr),
        })
    }
}

/// Start the program with `start` (its output through new relays under `--mask`) and a thread
/// that waits for it and says so as start number `number`; `relays` counts the relays.
fn begin(
    command: &[OsString],
    start: &Start,
    output: Option<&Output>,
    send: &Sender<Wake>,
    number: u64,
    relays: &mut usize,
) -> Result<Stopper, Error> {
    let mut pipes = Vec::new();
    let mut out_end = None;
    let mut err_end = None;
    if let Some(output) = output {
        let values: Vec<(&str, &[u8])> = start
            .values
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice()))
            .collect();
        let build = || {
            Redactor::new(values.iter().copied(), output.settings.min_len)
                .map_err(|e| Error::Message(format!("cannot prepare `--mask`: {e}")))
        };
        let first = build()?;
        let routes = if first.is_empty() {
            Routes::default()
        } else {
            output.routes
        };
        let cannot_pipe =
            |e: std::io::Error| Error::Message(format!("cannot start `--mask`: no pipe: {e}"));
        let mut first = Some(first);
        if routes.stdout {
            let (read, write) = std::io::pipe().map_err(cannot_pipe)?;
            if routes.shared {
                err_end = Some(write.try_clone().map_err(cannot_pipe)?);
            }
            out_end = Some(write);
            pipes.push((read, Target::Stdout, first.take().map_or_else(build, Ok)?));
        }
        if routes.stderr && !routes.shared {
            let (read, write) = std::io::pipe().map_err(cannot_pipe)?;
            err_end = Some(write);
            pipes.push((read, Target::Stderr, first.take().map_or_else(build, Ok)?));
        }
    }
    let running = launch::start(command, &start.env, |builder| {
        if let Some(end) = out_end {
            builder.stdout(Stdio::from(end));
        }
        if let Some(end) = err_end {
            builder.stderr(Stdio::from(end));
        }
    })
    .map_err(Error::Launch)?;
    for (pipe, target, redactor) in pipes {
        let done = send.clone();
        *relays += 1;
        std::thread::spawn(move || {
            relay(pipe, target, redactor);
            let _ = done.send(Wake::Drained);
        });
    }
    let stopper = running.stopper();
    let done = send.clone();
    std::thread::spawn(move || {
        let result = running.wait();
        let _ = done.send(Wake::Exited {
            start: number,
            result,
        });
    });
    Ok(stopper)
}

/// inject's own stream a pipe is relayed to.
#[derive(Clone, Copy)]
enum Target {
    Stdout,
    Stderr,
}

impl Target {
    fn write_all(self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Target::Stderr => std::io::stderr().lock().write_all(bytes),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Target::Stdout => "standard output",
            Target::Stderr => "standard error",
        }
    }
}

/// Read the pipe until it ends, writing what the redactor decides as it is decided.
fn relay(mut pipe: std::io::PipeReader, target: Target, mut redactor: Redactor) {
    let mut buffer = vec![0; CHUNK];
    let mut out = Vec::new();
    let mut reported = false;
    loop {
        out.clear();
        let ended = match pipe.read(&mut buffer) {
            Ok(0) | Err(_) => {
                redactor.finish(&mut out);
                true
            }
            Ok(n) => {
                redactor.push_to(&buffer[..n], &mut |piece| out.extend_from_slice(piece));
                false
            }
        };
        if !out.is_empty() {
            match target.write_all(&out) {
                Ok(()) => {}
                // The reader went away: so does this end of the pipe, and the program's next
                // write there fails, as it would without inject.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return,
                // As the program would, carry on; the chunk is lost (disk full, …).
                Err(e) => {
                    if !reported {
                        reported = true;
                        error::report(&Error::Message(format!(
                            "cannot write the program's {} ({e}): output there is being lost",
                            target.name()
                        )));
                    }
                }
            }
        }
        if ended {
            return;
        }
    }
}

/// Whether two handles are one kernel object (Windows 10 and later).
fn same_object(a: BorrowedHandle<'_>, b: BorrowedHandle<'_>) -> bool {
    // SAFETY: two handles inject holds open; the call only compares them.
    unsafe { CompareObjectHandles(a.as_raw_handle().cast(), b.as_raw_handle().cast()) != 0 }
}

/// Whether a stream is a console, and which file it is (volume and file index), so that
/// `2>&1` is seen; `None` when the stream is not open.
fn descriptor(handle: BorrowedHandle<'_>) -> Option<Descriptor> {
    let raw = handle.as_raw_handle();
    if raw.is_null() {
        return None;
    }
    // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is a valid value, filled in below.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `raw` is inject's open standard handle and `info` a valid out-structure.
    let file = if unsafe { GetFileInformationByHandle(raw.cast(), &mut info) } != 0 {
        let index = u64::from(info.nFileIndexHigh) << 32 | u64::from(info.nFileIndexLow);
        (u64::from(info.dwVolumeSerialNumber), index)
    } else {
        // Not a file (a console, an anonymous pipe): the handle itself tells them apart.
        (u64::MAX, raw as u64)
    };
    Some(Descriptor {
        terminal: handle.is_terminal(),
        file,
    })
}

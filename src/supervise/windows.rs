//! EFFECT, Windows (SPEC §18): `--mask` through pipes. There are no signals to forward and
//! no orphans to reap, so the one loop of Linux is not needed: the program runs in its job
//! (as without `--mask`), each masked stream gets a pipe and a thread that reads it, passes
//! it through its own [`Redactor`] and writes what is decided to inject's stream at once, and
//! inject waits for the program and ends with its code.
//!
//! * The terminal rule is Linux's (`mask::routes`): a console is left to the program, a pipe
//!   or a file is masked. `--mask=always` on a console would need a pseudo-terminal, which is
//!   a clear error here; so is `--watch` (not yet available) and init mode (no PID 1).
//! * When stdout and stderr are one file (`2>&1`), the program gets one pipe for both, so the
//!   order between its two streams is kept.
//! * When inject's reader has gone (a closed pipe), inject stops reading that stream: the
//!   program's next write there fails as it would without inject.
//! * After the program ended, its output drains until each pipe ends, at most [`LINGER`] in
//!   all (a process it started may hold a pipe open for ever); a held tail is written only at
//!   the end of its stream, so of a pipe still open it is dropped, as on Linux.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::CompareObjectHandles;
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
};

use super::{Inputs, Options};
use crate::error::{self, Error, ExitCode};
use crate::launch;
use crate::mask::{Descriptor, MaskWhen, Redactor, Routes, routes};

/// After the program ended: stop draining this long after, whatever still comes.
const LINGER: Duration = Duration::from_secs(1);
/// Bytes read from a pipe at once.
const CHUNK: usize = 64 * 1024;

/// Run the program under `--mask`; every other supervising mode is an error here.
pub fn run(command: &[OsString], inputs: Inputs<'_>, options: &Options) -> ExitCode {
    match supervise(command, inputs, options) {
        Ok(code) => code,
        Err(error) => {
            error::report(&error);
            error.code()
        }
    }
}

fn supervise(
    command: &[OsString],
    inputs: Inputs<'_>,
    options: &Options,
) -> Result<ExitCode, Error> {
    if options.watch.is_some() {
        return Err(Error::Message(
            "`--watch` is not yet available on Windows: run without it, and start the program again after changing the secrets".into(),
        ));
    }
    let Some(settings) = options.mask else {
        return Err(Error::Message(
            "init mode (`--init`) does not exist on Windows: drop `--init`, inject then starts the program and waits for it".into(),
        ));
    };
    let start = match inputs.first {
        Some(start) => start,
        None => (inputs.compose)()?,
    };
    let values: Vec<(&str, &[u8])> = start
        .values
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_slice()))
        .collect();
    let build = || {
        Redactor::new(values.iter().copied(), settings.min_len)
            .map_err(|e| Error::Message(format!("cannot prepare `--mask`: {e}")))
    };
    let (out, err) = (std::io::stdout(), std::io::stderr());
    let stdout = descriptor(out.as_handle());
    let mut stderr = descriptor(err.as_handle());
    if let (Some(o), Some(e)) = (stdout, stderr.as_mut())
        && same_object(out.as_handle(), err.as_handle())
    {
        // `2>&1` of cmd.exe or PowerShell: one handle duplicated, a pipe as often as a file.
        e.file = o.file;
    }
    if settings.when == MaskWhen::Always && [stdout, stderr].iter().flatten().any(|d| d.terminal) {
        return Err(Error::Message(
            "`--mask=always` masks a console through a pseudo-terminal, which inject does not have on Windows: use `--mask`, which masks pipes and files and leaves the console to the program".into(),
        ));
    }
    let first = build()?;
    let routes = if first.is_empty() {
        Routes::default()
    } else {
        routes(settings.when, stdout, stderr)
    };
    let cannot_pipe =
        |e: std::io::Error| Error::Message(format!("cannot start `--mask`: no pipe: {e}"));
    let mut first = Some(first);
    let mut relays = Vec::new();
    let mut out_end = None;
    let mut err_end = None;
    if routes.stdout {
        let (read, write) = std::io::pipe().map_err(cannot_pipe)?;
        if routes.shared {
            err_end = Some(write.try_clone().map_err(cannot_pipe)?);
        }
        out_end = Some(write);
        relays.push((read, Target::Stdout, first.take().map_or_else(build, Ok)?));
    }
    if routes.stderr && !routes.shared {
        let (read, write) = std::io::pipe().map_err(cannot_pipe)?;
        err_end = Some(write);
        relays.push((read, Target::Stderr, first.take().map_or_else(build, Ok)?));
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
    let (done, finished) = mpsc::channel();
    let streams = relays.len();
    for (pipe, target, redactor) in relays {
        let done = done.clone();
        std::thread::spawn(move || {
            relay(pipe, target, redactor);
            let _ = done.send(());
        });
    }
    let code = running.wait().map_err(Error::Launch)?;
    let deadline = Instant::now() + LINGER;
    for _ in 0..streams {
        let left = deadline.saturating_duration_since(Instant::now());
        if finished.recv_timeout(left).is_err() {
            break;
        }
    }
    Ok(code)
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

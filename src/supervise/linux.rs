//! The one loop (see the parent module), Linux only.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFlags, PollTimeout};
use nix::unistd::Pid;

use super::{Inputs, Keep, Options, Start};
use crate::environment::{self, Pair};
use crate::error::LaunchError;
use crate::error::{self, Error, ExitCode};
use crate::process::{Child, Event, Redirect, Supervisor, wait_for};
use crate::pty::Console;
use crate::relay::{self, Relay, Stream};
use crate::watch::{self, Watcher};

/// After SIGKILL, how long the rest of a process group may take to go before the program
/// starts again anyway (a process stuck in the kernel cannot be hurried).
const KILL_GRACE: Duration = Duration::from_secs(1);

/// How often to look whether the rest of a stopping group is gone.
const GROUP_TICK: Duration = Duration::from_millis(20);

/// A restart under way: the old program is being stopped.
struct Stop {
    /// What the program starts again with.
    next: Start,
    /// When SIGKILL follows the restart signal.
    deadline: Instant,
    /// When SIGKILL was sent.
    killed: Option<Instant>,
    /// The old program's status once it was reaped.
    exited: Option<i32>,
}

/// Run the program under supervision until it ends; its status is inject's (SPEC §6.2).
pub fn run(command: &[OsString], inputs: Inputs<'_>, options: &Options) -> ExitCode {
    // First, while inject has one thread: every thread started later (notify's) inherits the
    // mask that blocks every signal, so none can be taken away from the signalfd.
    let mut supervisor = match Supervisor::new() {
        Ok(supervisor) => supervisor,
        Err(errno) => {
            error::report(&Error::Message(cannot_start(options, errno)));
            return ExitCode::Failure;
        }
    };
    if options.subreaper {
        supervisor.adopt_orphans();
    }
    let watcher = match options.watch {
        None => None,
        Some(_) => match Watcher::new() {
            Ok(mut watcher) => {
                // Watch before the first read, so that no change can fall between the two.
                watcher.update(&(inputs.paths)(), options.verbose);
                Some(watcher)
            }
            Err(message) => {
                error::report(&Error::Message(format!(
                    "cannot watch for changes: {message}: run without `--watch`"
                )));
                return ExitCode::Failure;
            }
        },
    };
    let first = match inputs.first {
        Some(first) => first,
        None => match (inputs.compose)() {
            Ok(first) => first,
            Err(error) => {
                error::report(&error);
                return ExitCode::Failure;
            }
        },
    };
    let (child, streams, master) = match spawn(
        &mut supervisor,
        command,
        options,
        &first,
        None,
        inputs.keep,
        options.verbose,
    ) {
        Ok(started) => started,
        Err(failure) => return failure.report(),
    };
    Loop {
        supervisor,
        command,
        options,
        compose: inputs.compose,
        paths: inputs.paths,
        child,
        env: first.env,
        streams,
        status: None,
        linger_until: None,
        watcher,
        due: None,
        ending: false,
        stop: None,
        console: master.map(Console::new),
        keep: inputs.keep,
    }
    .run()
}

/// What one start gives the loop: the program, its relayed streams, and the master of its
/// pty when it runs on one.
type Started = (Child, Vec<Stream>, Option<crate::pty::Master>);

/// Start the program with `start`, its output through a new relay under `--mask`. Fails with
/// exec mode's 126/127 error when it cannot be executed, 125 when no process (or pipe) can be
/// made. `modes` are the real terminal's before inject set it raw; `note` says what is
/// masked (`-v`, the first start).
fn spawn(
    supervisor: &mut Supervisor,
    command: &[OsString],
    options: &Options,
    start: &Start,
    modes: Option<&nix::sys::termios::Termios>,
    keep: Option<Keep<'_>>,
    note: bool,
) -> Result<Started, LaunchError> {
    let Some(settings) = options.mask else {
        let redirect = Redirect {
            keep,
            ..Redirect::default()
        };
        let child = supervisor.spawn(command, &start.env, &redirect)?;
        return Ok((child, Vec::new(), None));
    };
    let values: Vec<(&str, &[u8])> = start
        .values
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_slice()))
        .collect();
    let relay = Relay::open(&settings, &values, modes, note).map_err(|message| LaunchError {
        code: ExitCode::Failure,
        message,
    })?;
    let redirect = Redirect {
        keep,
        ..relay.redirect()
    };
    let child = supervisor.spawn(command, &start.env, &redirect)?;
    let (streams, master) = relay.into_streams();
    Ok((child, streams, master))
}

/// The one loop's state.
struct Loop<'a> {
    supervisor: Supervisor,
    command: &'a [OsString],
    options: &'a Options,
    compose: &'a mut dyn FnMut() -> Result<Start, Error>,
    paths: &'a dyn Fn() -> Vec<PathBuf>,
    /// The program now running (or the last one started).
    child: Child,
    /// The environment it started with.
    env: Vec<Pair>,
    /// Every relayed stream still open, of this start and of those before it.
    streams: Vec<Stream>,
    /// The program ended by itself or for a signal: its status, inject's.
    status: Option<i32>,
    /// After the program ended: stop draining its output then.
    linger_until: Option<Instant>,
    watcher: Option<Watcher>,
    /// When to read the sources again, once they have been quiet.
    due: Option<Instant>,
    /// SIGINT or SIGTERM came: the program's end is inject's, no restart any more.
    ending: bool,
    stop: Option<Stop>,
    /// `--mask=always` on a terminal: the real terminal, while the program runs on a pty.
    console: Option<Console>,
    /// `--st-secrets`: the memory every start inherits.
    keep: Option<Keep<'a>>,
}

impl Loop<'_> {
    fn run(mut self) -> ExitCode {
        let mut buffer = vec![
            0u8;
            if self.streams.is_empty() {
                0
            } else {
                relay::CHUNK
            }
        ];
        let mut pending = Vec::new();
        loop {
            self.streams.retain(|s| s.pipe().is_some());
            if self.status.is_some() && self.streams.is_empty() {
                break;
            }
            let timeout = match self.linger_until {
                Some(until) => {
                    let left = until
                        .saturating_duration_since(Instant::now())
                        .min(relay::QUIET);
                    if left.is_zero() {
                        break;
                    }
                    PollTimeout::try_from(left).unwrap_or(PollTimeout::ZERO)
                }
                None => self.next_wake().map_or(PollTimeout::NONE, |at| {
                    poll_timeout(at.saturating_duration_since(Instant::now()))
                }),
            };
            let watcher = self.watcher.as_ref().filter(|_| self.status.is_none());
            let readable = |fd| (fd, PollFlags::POLLIN);
            let mut fds: Vec<_> = watcher
                .and_then(Watcher::wake)
                .map(readable)
                .into_iter()
                .collect();
            let first_stream = fds.len();
            fds.extend(self.streams.iter().filter_map(Stream::pipe).map(readable));
            let first_key = fds.len();
            let console = self.console.as_ref().filter(|_| self.status.is_none());
            fds.extend(console.and_then(Console::keys).map(readable));
            let room = console.and_then(Console::waiting_master);
            fds.extend(room.map(|fd| (fd, PollFlags::POLLOUT)));
            let events = self.supervisor.wait(&fds, timeout);
            drop(fds);
            let events = match events {
                Ok(events) => events,
                Err(errno) => return self.give_up(errno),
            };
            if self.linger_until.is_some() && events.is_empty() {
                break;
            }
            for event in events {
                match event {
                    Event::Ready(i) if i < first_stream => {
                        if self.watcher.as_mut().is_some_and(Watcher::changed) {
                            self.due = Some(Instant::now() + watch::QUIET);
                        }
                    }
                    Event::Ready(i) if i >= first_key => {
                        if self.console.as_mut().is_some_and(Console::pass_keys) {
                            self.supervisor.forward(&self.child, libc::SIGSTOP, true);
                        }
                    }
                    Event::Ready(i) => {
                        if buffer.is_empty() {
                            buffer.resize(relay::CHUNK, 0);
                        }
                        if let Some(stream) = self.streams.get_mut(i - first_stream) {
                            stream.pump(&mut buffer, &mut pending);
                        }
                    }
                    Event::Signal(signal) if self.status.is_none() => self.signalled(signal),
                    Event::Exited { pid, code } if pid == self.child.pid => match &mut self.stop {
                        Some(stop) => stop.exited = Some(code),
                        None => self.ended(code),
                    },
                    Event::Stopped { pid } if pid == self.child.pid && self.status.is_none() => {
                        if let Some(console) = &mut self.console {
                            // Ctrl-Z on the program's pty: the job stops as a whole.
                            console.suspend();
                            self.supervisor.forward(&self.child, libc::SIGCONT, true);
                        }
                    }
                    Event::Signal(_) | Event::Exited { .. } | Event::Stopped { .. } => {}
                }
            }
            if self.status.is_none()
                && self.options.watch.is_some()
                && let Err(failure) = self.watch_step()
            {
                return failure.report();
            }
        }
        ExitCode::Child(self.status.unwrap_or_else(|| wait_for(self.child.pid)))
    }

    /// The program ended by itself or for a signal: drain what it wrote, then end with it.
    fn ended(&mut self, code: i32) {
        self.status = Some(code);
        self.linger_until = Some(Instant::now() + relay::LINGER);
    }

    /// A signal for inject: the terminal's own go to the console on a pty, the rest on.
    fn signalled(&mut self, signal: i32) {
        if let Some(console) = &mut self.console {
            match signal {
                // The pty's kernel signals the program when its size changes.
                libc::SIGWINCH => return console.resize(),
                // `fg` or `bg`: take the terminal again if it is ours, then continue.
                libc::SIGCONT => console.take(),
                // A stop for the job: the program's orphaned group would drop these, so it
                // stops with SIGSTOP, and inject follows it (`Event::Stopped`).
                libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => {
                    return self.supervisor.forward(&self.child, libc::SIGSTOP, true);
                }
                _ => {}
            }
        }
        self.forward(signal);
    }

    fn forward(&mut self, signal: i32) {
        if self.options.watch.is_some() && (signal == libc::SIGINT || signal == libc::SIGTERM) {
            self.ending = true;
        }
        // Once a stopping program was reaped its PID may be reused: only its group, which
        // cannot be reused while it has members, is safe.
        let group = self.options.group || self.stop.as_ref().is_some_and(|s| s.exited.is_some());
        self.supervisor.forward(&self.child, signal, group);
    }

    /// Signals cannot be read any more (short of a kernel out of memory): never orphan the
    /// program, never let its output through unmasked; wait for it to end.
    fn give_up(self, errno: Errno) -> ExitCode {
        let relaying = if self.options.mask.is_some() {
            ", no longer relaying the program's output"
        } else {
            ""
        };
        let restarting = if self.options.watch.is_some() {
            " nor restarting"
        } else {
            ""
        };
        error::report(&Error::Message(format!(
            "cannot read signals any more ({}): no longer forwarding them{restarting}{relaying}, waiting for the program to end",
            errno.desc()
        )));
        drop(self.streams);
        ExitCode::Child(self.status.unwrap_or_else(|| wait_for(self.child.pid)))
    }

    /// `--watch`: move a restart on, or read the sources again once they have been quiet.
    fn watch_step(&mut self) -> Result<(), LaunchError> {
        let now = Instant::now();
        if let Some(mut stop) = self.stop.take() {
            match stop.exited {
                Some(code) if self.ending => self.ended(code),
                Some(_)
                    if group_gone(self.child.pid)
                        || stop.killed.is_some_and(|at| now >= at + KILL_GRACE) =>
                {
                    // A program that cannot start again (126, 127) ends inject as it would
                    // have at the first start: there is nothing left to supervise.
                    let modes = self.console.as_ref().and_then(Console::modes);
                    let (child, streams, master) = spawn(
                        &mut self.supervisor,
                        self.command,
                        self.options,
                        &stop.next,
                        modes,
                        self.keep,
                        false,
                    )?;
                    self.child = child;
                    self.streams.extend(streams);
                    match (&mut self.console, master) {
                        (Some(console), Some(master)) => console.follow(master),
                        (console, master) => *console = master.map(Console::new).or(console.take()),
                    }
                    self.env = stop.next.env;
                }
                _ => {
                    if stop.killed.is_none() && now >= stop.deadline {
                        self.supervisor.forward(&self.child, libc::SIGKILL, true);
                        stop.killed = Some(now);
                    }
                    self.stop = Some(stop);
                }
            }
            return Ok(());
        }
        if self.ending || self.due.is_none_or(|at| now < at) {
            return Ok(());
        }
        self.due = None;
        // The watches first, then the read: a change in between is seen by one of them.
        if let Some(watcher) = &mut self.watcher {
            watcher.update(&(self.paths)(), false);
        }
        match (self.compose)() {
            Err(error) => error::report(&Error::Message(watch::one_line(&error))),
            Ok(next) => {
                let changes = environment::changed_names(&self.env, &next.env);
                if changes.is_empty() {
                    if self.options.verbose {
                        error::note(
                            "note",
                            "the secrets changed but the environment did not: not restarting",
                        );
                    }
                    return Ok(());
                }
                if !self.options.quiet {
                    error::note("restarting", &changes.to_string());
                }
                let restart = self.options.watch.map_or(libc::SIGTERM, |w| w.signal);
                let timeout = self
                    .options
                    .watch
                    .map_or(Duration::ZERO, |w| w.stop_timeout);
                self.supervisor.forward(&self.child, restart, true);
                self.stop = Some(Stop {
                    next,
                    deadline: now + timeout,
                    killed: None,
                    exited: None,
                });
            }
        }
        Ok(())
    }

    /// The next moment the loop has something to do without an event: the end of a quiet
    /// period, or the next step of a stop.
    fn next_wake(&self) -> Option<Instant> {
        let Some(stop) = &self.stop else {
            return self.due.filter(|_| !self.ending);
        };
        match (stop.exited, stop.killed) {
            // Waiting for the rest of the group: look again soon.
            (Some(_), _) => Some(Instant::now() + GROUP_TICK),
            (None, None) => Some(stop.deadline),
            // Killed: SIGCHLD will say when; meanwhile nothing to do.
            (None, Some(_)) => None,
        }
    }
}

/// Why the supervisor could not start, in the words of the mode that asked for it.
fn cannot_start(options: &Options, errno: Errno) -> String {
    let why = errno.desc();
    if options.watch.is_some() {
        format!("cannot start `--watch`: {why}: run without `--watch`")
    } else if options.mask.is_some() {
        format!("cannot start `--mask`: {why}: run without `--mask`")
    } else {
        format!("cannot start init mode: {why}: run with `--no-init` to exec the program instead")
    }
}

/// Milliseconds, rounded up so that the loop does not wake just before the moment.
fn poll_timeout(duration: Duration) -> PollTimeout {
    let millis = duration.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(millis.min(i32::MAX as u128)).unwrap_or(PollTimeout::MAX)
}

/// Has every process of the group `leader` led ended (and been reaped)?
fn group_gone(leader: Pid) -> bool {
    // SAFETY: signal 0 only asks whether the group has members that may be signalled.
    let result = unsafe { libc::kill(-leader.as_raw(), 0) };
    result != 0 && Errno::last() == Errno::ESRCH
}

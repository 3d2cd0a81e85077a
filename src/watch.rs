//! EFFECT: what `--watch` watches (SPEC §12), for development: every local source and the
//! Streamlit settings that chose them. The one loop in `supervise` reads and composes again
//! when they change, exactly as a start does; a different environment restarts the program.
//!
//! How: `notify` (inotify on Linux; never polling) watches the *directories* that hold the
//! sources, not the files, so an editor that saves by renaming a new file over the old one, or
//! by deleting and creating it, is seen like an edit in place; a secrets directory is watched
//! with everything under it. A path that does not exist yet (the default
//! `.streamlit/secrets.toml`) is watched through its nearest existing folder. Events are
//! filtered by path here, on the supervisor's thread: notify's thread only queues them and
//! rings the supervisor. Reads (inject's own included) are not changes, nor are metadata
//! changes such as the access time that a read may update.
//!
//! Everything here is the same on every platform but the ring: on Unix a byte written to a
//! pipe that the one loop in `supervise` polls with the signals ([`Watcher::new`]); on Windows
//! (ReadDirectoryChangesW) whatever the supervisor passes, a message on its channel
//! ([`Watcher::with_ring`]). On macOS the watcher builds on FSEvents, ready for a supervisor.

use std::collections::HashSet;
#[cfg(unix)]
use std::io::{self, PipeReader, Read as _, Write as _};
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher as _};

use crate::error::{self, Error};

/// Quiet time after the last change before the sources are read again: an editor's save is
/// several events (write a temporary file, rename it, change its mode).
pub const QUIET: Duration = Duration::from_millis(200);

/// A reload error as the one line `--watch` prints: the first problem, how many more, and
/// that nothing was restarted.
pub fn one_line(error: &Error) -> String {
    let problems = error.problems();
    let first = problems
        .first()
        .map_or("the secrets cannot be read", String::as_str);
    let more = match problems.len().saturating_sub(1) {
        0 => String::new(),
        n => format!(" (and {n} more)"),
    };
    format!("{first}{more}; the program keeps running with the secrets it had")
}

/// One path whose change matters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    /// A directory source: a change anywhere under it counts.
    pub tree: bool,
}

/// Does a change at `changed` matter? When it is a target, is under a directory target, or
/// is a folder on the way to a target (created, removed or renamed, which makes the target
/// appear or go). `Path::starts_with` compares whole components.
pub fn matters(targets: &[Target], changed: &Path) -> bool {
    targets
        .iter()
        .any(|t| t.path.starts_with(changed) || (t.tree && changed.starts_with(&t.path)))
}

/// Is this kind of event a change? Reads are not (inject reads the sources itself), and
/// neither are metadata changes, which a read can cause (the access time).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => false,
        _ => true,
    }
}

/// Does this event from notify call for a new read?
fn relevant(targets: &[Target], event: &notify::Result<notify::Event>) -> bool {
    match event {
        // The watcher lost track (a full queue, a failing read): read again to be sure.
        Err(_) => true,
        Ok(event) if event.need_rescan() => true,
        Ok(event) => is_change(&event.kind) && event.paths.iter().any(|p| matters(targets, p)),
    }
}

/// `path`, absolute, with the folders that exist resolved (symbolic links, `..`) and the rest
/// kept as written; the last part is never resolved, so a symbolic link stays itself. This is
/// how a watcher names a changed path (FSEvents resolves the folders).
fn resolved(path: &Path) -> PathBuf {
    let Some(name) = path.file_name() else {
        return path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    };
    match path.parent() {
        None => path.to_path_buf(),
        Some(parent) => match parent.canonicalize() {
            Ok(parent) => parent.join(name),
            Err(_) => resolved(parent).join(name),
        },
    }
}

/// A path as the user writes it: on Windows a resolved path is verbatim (`\\?\C:\…`), which
/// nobody types; the drive's form names the same file.
fn shown(path: &Path) -> String {
    let text = path.display().to_string();
    match text.strip_prefix(r"\\?\") {
        Some(rest) if cfg!(windows) && rest.as_bytes().get(1) == Some(&b':') => rest.to_string(),
        _ => text,
    }
}

/// The targets for the paths `source::inputs` gave: each as written (absolute) and, when it
/// is a symbolic link, what it points to as well, so that editing the file behind a link
/// counts too.
fn targets(paths: &[PathBuf], cwd: &Path) -> Vec<Target> {
    let mut targets = Vec::new();
    for path in paths {
        let absolute = resolved(&cwd.join(path));
        let tree = absolute.is_dir();
        if let Ok(real) = absolute.canonicalize()
            && real != absolute
        {
            targets.push(Target { path: real, tree });
        }
        targets.push(Target {
            path: absolute,
            tree,
        });
    }
    targets
}

/// The folders to watch for `targets`: each target's nearest existing folder above it, and a
/// directory target itself with everything under it. A path is watched once, with
/// everything under it when any target needs that.
fn watch_points(targets: &[Target]) -> Vec<(PathBuf, RecursiveMode)> {
    let mut points: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    let mut add =
        |path: &Path, mode: RecursiveMode| match points.iter_mut().find(|(p, _)| p == path) {
            Some((_, existing)) if mode == RecursiveMode::Recursive => *existing = mode,
            Some(_) => {}
            None => points.push((path.to_path_buf(), mode)),
        };
    for target in targets {
        if target.tree && target.path.is_dir() {
            add(&target.path, RecursiveMode::Recursive);
        }
        if let Some(folder) = target.path.ancestors().skip(1).find(|a| a.is_dir()) {
            add(folder, RecursiveMode::NonRecursive);
        }
    }
    points
}

/// notify's watcher, bridged to the supervisor's loop: notify's thread queues each event and
/// rings; the loop, woken, filters the queue.
pub struct Watcher {
    notify: notify::RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    /// Unix: the pipe's end that the loop polls.
    #[cfg(unix)]
    wake: Option<PipeReader>,
    cwd: PathBuf,
    targets: Vec<Target>,
    watched: Vec<(PathBuf, RecursiveMode)>,
    /// Folders already warned about, so that each warning is given once.
    warned: HashSet<PathBuf>,
}

impl Watcher {
    /// A watcher whose thread calls `ring` after queueing each event.
    pub fn with_ring(mut ring: impl FnMut() + Send + 'static) -> Result<Self, String> {
        let (send, events) = channel();
        let handler = move |event: notify::Result<notify::Event>| {
            if send.send(event).is_ok() {
                ring();
            }
        };
        let notify = notify::recommended_watcher(handler).map_err(|e| e.to_string())?;
        Ok(Watcher {
            notify,
            events,
            #[cfg(unix)]
            wake: None,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            targets: Vec::new(),
            watched: Vec::new(),
            warned: HashSet::new(),
        })
    }

    /// A watcher that rings by writing a byte to a pipe, whose other end is [`Watcher::wake`].
    #[cfg(unix)]
    pub fn new() -> Result<Self, String> {
        // Both ends close on exec (std sets it), so the program never inherits them.
        let (wake, mut ring) = io::pipe().map_err(|e| format!("no pipe: {e}"))?;
        for end in [wake.as_fd(), ring.as_fd()] {
            nix::fcntl::fcntl(
                end,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            )
            .map_err(|e| format!("no pipe: {}", e.desc()))?;
        }
        // A full pipe already holds a wake-up: nothing is lost.
        let mut watcher = Watcher::with_ring(move || drop(ring.write(&[1])))?;
        watcher.wake = Some(wake);
        Ok(watcher)
    }

    /// The descriptor that becomes readable when notify has queued events (of a watcher made
    /// by [`Watcher::new`]).
    #[cfg(unix)]
    pub fn wake(&self) -> Option<BorrowedFd<'_>> {
        self.wake.as_ref().map(AsFd::as_fd)
    }

    /// Watch for changes to `paths` from now on, and to nothing else.
    pub fn update(&mut self, paths: &[PathBuf], verbose: bool) {
        self.targets = targets(paths, &self.cwd);
        let wanted = watch_points(&self.targets);
        for (path, mode) in &self.watched {
            if !wanted.contains(&(path.clone(), *mode)) {
                // Fails harmlessly for a folder that is gone.
                let _ = self.notify.unwatch(path);
            }
        }
        let mut watched = Vec::with_capacity(wanted.len());
        for (path, mode) in wanted {
            // Again each time, even when watched already: a folder deleted and created again
            // under the same name is a new one, which notify does not follow by itself.
            match self.notify.watch(&path, mode) {
                Ok(()) => {
                    self.warned.remove(&path);
                    watched.push((path, mode));
                }
                Err(e) if self.warned.insert(path.clone()) => error::note(
                    "warning",
                    &format!(
                        "cannot watch `{}`: {e}: a change there goes unnoticed",
                        shown(&path)
                    ),
                ),
                Err(_) => {}
            }
        }
        self.watched = watched;
        if verbose {
            let shown: Vec<String> = self
                .targets
                .iter()
                .map(|t| format!("`{}`", shown(&t.path)))
                .collect();
            error::note("note", &format!("watching {}", shown.join(", ")));
        }
    }

    /// Empty the queue; did anything that matters change?
    pub fn changed(&mut self) -> bool {
        #[cfg(unix)]
        if let Some(mut wake) = self.wake.as_ref() {
            let mut bytes = [0u8; 256];
            while matches!(wake.read(&mut bytes), Ok(n) if n > 0) {}
        }
        let mut changed = false;
        loop {
            match self.events.try_recv() {
                Ok(event) => changed |= relevant(&self.targets, &event),
                Err(TryRecvError::Empty) => return changed,
                // notify's thread is gone: nothing will change any more.
                Err(TryRecvError::Disconnected) => return changed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};

    fn target(path: &str, tree: bool) -> Target {
        Target {
            path: PathBuf::from(path),
            tree,
        }
    }

    #[test]
    fn which_paths_matter() {
        let targets = [
            target("/p/.streamlit/secrets.toml", false),
            target("/run/secrets", true),
        ];
        let rows = [
            ("/p/.streamlit/secrets.toml", true),
            ("/p/.streamlit", true),
            ("/p", true),
            ("/", true),
            ("/p/.streamlit/secrets.toml.tmp", false),
            ("/p/.streamlit/config.toml", false),
            ("/p/.streamlit/secrets.toml/x", false),
            ("/p/.streamlitx", false),
            ("/q", false),
            ("/run/secrets", true),
            ("/run/secrets/trello/api_key", true),
            ("/run/secrets/..data", true),
            ("/run/secretsx/a", false),
            ("/run/other", false),
        ];
        for (path, want) in rows {
            assert_eq!(matters(&targets, Path::new(path)), want, "{path}");
        }
    }

    #[test]
    fn which_events_are_changes() {
        let targets = [target("/p/s.toml", false)];
        let event = |kind: EventKind, path: &str| -> notify::Result<notify::Event> {
            Ok(notify::Event::new(kind).add_path(PathBuf::from(path)))
        };
        let rows = [
            (
                event(
                    EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                    "/p/s.toml",
                ),
                true,
            ),
            (
                event(EventKind::Create(CreateKind::File), "/p/s.toml"),
                true,
            ),
            (
                event(EventKind::Remove(RemoveKind::File), "/p/s.toml"),
                true,
            ),
            (
                event(
                    EventKind::Modify(ModifyKind::Name(RenameMode::To)),
                    "/p/s.toml",
                ),
                true,
            ),
            (
                event(
                    EventKind::Modify(ModifyKind::Name(RenameMode::From)),
                    "/p/s.toml",
                ),
                true,
            ),
            (
                event(
                    EventKind::Access(AccessKind::Close(AccessMode::Write)),
                    "/p/s.toml",
                ),
                true,
            ),
            (event(EventKind::Any, "/p/s.toml"), true),
            (
                event(
                    EventKind::Access(AccessKind::Open(AccessMode::Any)),
                    "/p/s.toml",
                ),
                false,
            ),
            (
                event(
                    EventKind::Access(AccessKind::Close(AccessMode::Read)),
                    "/p/s.toml",
                ),
                false,
            ),
            (
                event(EventKind::Access(AccessKind::Read), "/p/s.toml"),
                false,
            ),
            (
                event(
                    EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
                    "/p/s.toml",
                ),
                false,
            ),
            (
                event(
                    EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                    "/p/s.toml.tmp",
                ),
                false,
            ),
            (
                event(EventKind::Create(CreateKind::File), "/p/other"),
                false,
            ),
            (
                Ok(notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan)),
                true,
            ),
            (Err(notify::Error::generic("lost")), true),
        ];
        for (event, want) in rows {
            assert_eq!(relevant(&targets, &event), want, "{event:?}");
        }
        // A rename reported with both paths counts when either is a target.
        let both = notify::Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Both)))
            .add_path(PathBuf::from("/p/s.toml.tmp"))
            .add_path(PathBuf::from("/p/s.toml"));
        assert!(relevant(&targets, &Ok(both)));
    }

    #[cfg(unix)]
    #[test]
    fn targets_and_watch_points_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("app/.streamlit")).unwrap();
        std::fs::create_dir_all(root.join("run/secrets/trello")).unwrap();
        std::fs::write(root.join("real.toml"), "a = 1").unwrap();
        std::os::unix::fs::symlink(
            root.join("real.toml"),
            root.join("app/.streamlit/secrets.toml"),
        )
        .unwrap();
        let paths = [
            PathBuf::from(".streamlit/secrets.toml"),
            PathBuf::from(".streamlit/config.toml"),
            PathBuf::from("missing/deeper/s.toml"),
            root.join("run/secrets"),
            PathBuf::from("../app/./.streamlit/../.streamlit/x.toml"),
        ];
        let got = targets(&paths, &root.join("app"));
        let want = vec![
            Target {
                path: root.join("real.toml"),
                tree: false,
            },
            Target {
                path: root.join("app/.streamlit/secrets.toml"),
                tree: false,
            },
            Target {
                path: root.join("app/.streamlit/config.toml"),
                tree: false,
            },
            Target {
                path: root.join("app/missing/deeper/s.toml"),
                tree: false,
            },
            Target {
                path: root.join("run/secrets"),
                tree: true,
            },
            Target {
                path: root.join("app/.streamlit/x.toml"),
                tree: false,
            },
        ];
        assert_eq!(got, want);
        let points = watch_points(&got);
        assert_eq!(
            points,
            vec![
                (root.clone(), RecursiveMode::NonRecursive),
                (root.join("app/.streamlit"), RecursiveMode::NonRecursive),
                (root.join("app"), RecursiveMode::NonRecursive),
                (root.join("run/secrets"), RecursiveMode::Recursive),
                (root.join("run"), RecursiveMode::NonRecursive),
            ]
        );
    }

    #[test]
    fn paths_are_shown_as_typed() {
        // Windows' side is proved under wine (tests/windows/run.sh: the `watching` note).
        let verbatim = r"\\?\C:\p\s.toml";
        let want = if cfg!(windows) {
            r"C:\p\s.toml"
        } else {
            verbatim
        };
        assert_eq!(shown(Path::new(verbatim)), want);
        assert_eq!(shown(Path::new("/p/s.toml")), "/p/s.toml");
        let share = r"\\?\UNC\server\share\s.toml";
        assert_eq!(shown(Path::new(share)), share);
    }

    #[test]
    fn a_reload_error_is_one_line_without_more() {
        let one = Error::Message("s.toml:2:5: invalid TOML: bad".into());
        assert_eq!(
            one_line(&one),
            "s.toml:2:5: invalid TOML: bad; the program keeps running with the secrets it had"
        );
        let three = Error::Flatten(
            ["first", "second", "third"]
                .map(|name| crate::flatten::FlattenError::UnknownOnly { name: name.into() })
                .to_vec(),
        );
        assert_eq!(
            one_line(&three),
            "`--only first` matches no top-level key of the secrets: check the spelling (and 2 more); the program keeps running with the secrets it had"
        );
    }
}

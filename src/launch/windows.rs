//! EFFECT, Windows (SPEC §18): there is no exec, so start the program, wait for it and end
//! with its exit code, or say why it cannot run (126, 127).
//!
//! The program is found through the child's `PATH` and `PATHEXT`, so `.exe` files and
//! `.cmd`/`.bat` shims start; std's `Command` quotes the arguments, for batch files too (as
//! `cmd.exe` reads them, since Rust 1.77.2). While inject waits, Ctrl+C and Ctrl+Break are
//! the program's: inject, on the same console, ignores them. The program runs in a job object
//! that kills its processes when inject's handle to it closes, so killing inject never leaves
//! the program running on its own. The program starts suspended and runs only once it is in
//! the job, so no process of its own starts outside.

use std::ffi::{OsStr, OsString};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use which::sys::RealSys;
use windows_sys::Win32::Foundation::{CloseHandle, FALSE, HANDLE, INVALID_HANDLE_VALUE, TRUE};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_BREAKAWAY_OK,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectExtendedLimitInformation, SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_SUSPENDED, OpenThread, ResumeThread, THREAD_SUSPEND_RESUME,
};
use windows_sys::core::BOOL;

use crate::environment::Pair;
use crate::error::{ExitCode, LaunchError};

/// Start the program with exactly this environment, wait for it, and return its exit code.
pub fn run(command: &[OsString], env: &[Pair]) -> Result<ExitCode, LaunchError> {
    start(command, env, |_| {})?.wait()
}

/// The program, running in its job. Dropping it closes the job, which ends the program.
pub struct Running {
    pub child: Child,
    shown: String,
    job: Arc<Job>,
}

/// Ends a program's job at once, from another thread than the one waiting for the program.
pub struct Stopper(Arc<Job>);

impl Stopper {
    /// End the program and every process of its job now, with exit code 1: Windows has no
    /// signal to ask a program to stop (Ctrl+C would reach every process of the console,
    /// inject's included), so `--watch` restarts the way SIGKILL would.
    pub fn stop(&self) {
        // SAFETY: `self.0.0` is the job's open handle, kept open by the `Arc`.
        unsafe { TerminateJobObject(self.0.0.as_raw_handle(), 1) };
    }
}

impl Running {
    /// What ends this program's job while another thread waits for it.
    pub fn stopper(&self) -> Stopper {
        Stopper(Arc::clone(&self.job))
    }

    /// Wait for the program and return its exit code.
    pub fn wait(mut self) -> Result<ExitCode, LaunchError> {
        let status = self.child.wait().map_err(|error| LaunchError {
            code: ExitCode::Failure,
            message: format!(
                "lost the program `{}` while waiting for it: {error}",
                self.shown
            ),
        })?;
        // On Windows every status has a code, a 32-bit one (`0xC000013A` after Ctrl+C).
        Ok(ExitCode::Child(status.code().unwrap_or(1)))
    }
}

/// Start the program with exactly this environment, in a job, ignoring Ctrl+C and Ctrl+Break
/// from now on. `stdio` may give it other standard streams (`--mask`'s pipes); the `Command`,
/// and with it inject's copies of what `stdio` handed over, is gone once this returns.
pub fn start(
    command: &[OsString],
    env: &[Pair],
    stdio: impl FnOnce(&mut Command),
) -> Result<Running, LaunchError> {
    let Some(program) = command.first() else {
        return Err(LaunchError {
            code: ExitCode::Failure,
            message:
                "nothing to run: put the command after `--`, e.g. `inject -- streamlit run app.py`"
                    .into(),
        });
    };
    let shown = program.to_string_lossy().into_owned();
    let path = find(program, env).ok_or_else(|| LaunchError {
        code: ExitCode::NotFound,
        message: format!("cannot run `{shown}`: command not found in `PATH`"),
    })?;
    let job = Job::new()?;
    ignore_console_interrupts()?;
    let mut builder = Command::new(&path);
    builder
        .args(&command[1..])
        .env_clear()
        .envs(env.iter().map(|pair| (pair.name(), pair.value())))
        .creation_flags(CREATE_SUSPENDED);
    stdio(&mut builder);
    let spawned = builder.spawn();
    drop(builder);
    let mut child = spawned.map_err(|error| cannot_start(&shown, &error))?;
    if let Err(error) = job.assign(&child).and_then(|()| resume(&child)) {
        // Not left running on its own: inject could not promise to end it.
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    Ok(Running {
        child,
        shown,
        job: Arc::new(job),
    })
}

/// The program as `PATH` and `PATHEXT` find it: a name through the child's `PATH`, a path
/// (with `\` or `/`) as given, each with the extensions of the child's `PATHEXT` when it has
/// none. The child's, not inject's: a `PATH` set from the secrets or kept by `--clean` is the
/// one the program is looked up in, as on Linux; a child without `PATHEXT` gets `cmd.exe`'s
/// default.
fn find(program: &OsStr, env: &[Pair]) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let sys = ChildSys {
        path: lookup(env, "PATH"),
        // Without one (`--clean`), the extensions `cmd.exe` tries when it has none.
        path_ext: lookup(env, "PATHEXT").or_else(|| Some(DEFAULT_PATHEXT.into())),
    };
    which::WhichConfig::new_with_sys(sys)
        .binary_name(program.to_os_string())
        .custom_cwd(cwd)
        .first_result()
        .ok()
}

/// What `cmd.exe` uses when `PATHEXT` is not set.
const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// The value of `name` in `env`, whose names are compared as Windows does, without ASCII case
/// (the variable is usually spelled `Path`).
fn lookup(env: &[Pair], name: &str) -> Option<OsString> {
    env.iter()
        .find(|pair| pair.name().eq_ignore_ascii_case(name))
        .map(|pair| pair.value().to_os_string())
}

/// The system as `which` sees it, with the child's `PATH` and `PATHEXT` in place of inject's.
struct ChildSys {
    path: Option<OsString>,
    path_ext: Option<OsString>,
}

impl which::sys::Sys for ChildSys {
    type ReadDirEntry = <RealSys as which::sys::Sys>::ReadDirEntry;
    type Metadata = <RealSys as which::sys::Sys>::Metadata;

    fn is_windows(&self) -> bool {
        true
    }
    fn current_dir(&self) -> std::io::Result<PathBuf> {
        RealSys.current_dir()
    }
    fn home_dir(&self) -> Option<PathBuf> {
        RealSys.home_dir()
    }
    fn env_split_paths(&self, paths: &OsStr) -> Vec<PathBuf> {
        RealSys.env_split_paths(paths)
    }
    fn env_path(&self) -> Option<OsString> {
        self.path.clone()
    }
    fn env_path_ext(&self) -> Option<OsString> {
        self.path_ext.clone()
    }
    fn metadata(&self, path: &Path) -> std::io::Result<Self::Metadata> {
        RealSys.metadata(path)
    }
    fn symlink_metadata(&self, path: &Path) -> std::io::Result<Self::Metadata> {
        RealSys.symlink_metadata(path)
    }
    fn read_dir(
        &self,
        path: &Path,
    ) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<Self::ReadDirEntry>>>> {
        RealSys.read_dir(path)
    }
    fn is_valid_executable(&self, path: &Path) -> std::io::Result<bool> {
        RealSys.is_valid_executable(path)
    }
}

fn cannot_start(shown: &str, error: &std::io::Error) -> LaunchError {
    let (code, message) = match error.kind() {
        std::io::ErrorKind::NotFound => (
            ExitCode::NotFound,
            format!("cannot run `{shown}`: no such file"),
        ),
        std::io::ErrorKind::PermissionDenied => (
            ExitCode::CannotExecute,
            format!("cannot run `{shown}`: permission denied"),
        ),
        // std refuses arguments that `cmd.exe` would read differently than they were given.
        std::io::ErrorKind::InvalidInput => (
            ExitCode::CannotExecute,
            format!(
                "cannot run `{shown}`: an argument cannot be passed to a batch file safely (it holds a character `cmd.exe` would reinterpret): run the program behind the shim directly"
            ),
        ),
        _ => (
            ExitCode::CannotExecute,
            format!("cannot run `{shown}`: {error}"),
        ),
    };
    LaunchError { code, message }
}

/// Ctrl+C and Ctrl+Break go to every process of the console: the program gets them and decides;
/// inject keeps waiting and ends with the program's code. A handler, not `SetConsoleCtrlHandler
/// (NULL, TRUE)`: that one would be inherited and make the program ignore them as well.
fn ignore_console_interrupts() -> Result<(), LaunchError> {
    unsafe extern "system" fn handler(event: u32) -> BOOL {
        // Closing the console, logging off, shutting down: the default, which ends inject
        // and, through the job, the program.
        if event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT {
            INTERRUPTED.store(true, Ordering::SeqCst);
            TRUE
        } else {
            FALSE
        }
    }
    // Once: every `--watch` restart starts a program, and one handler is enough.
    if HANDLING.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    // SAFETY: `handler` is a valid `extern "system"` function for the whole process's life and
    // touches nothing but its argument and an atomic.
    if unsafe { SetConsoleCtrlHandler(Some(handler), TRUE) } == 0 {
        HANDLING.store(false, Ordering::SeqCst);
        return Err(failure("cannot ignore Ctrl+C for the program's sake"));
    }
    Ok(())
}

/// inject's handler of Ctrl+C and Ctrl+Break is in place.
static HANDLING: AtomicBool = AtomicBool::new(false);
/// Ctrl+C or Ctrl+Break was pressed (the program got it too).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Was Ctrl+C or Ctrl+Break pressed since the program started? Then the program's end is
/// inject's: `--watch` restarts nothing any more, as after SIGINT on Linux.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Let the program, started suspended, run: resume its one thread. std keeps the thread's
/// handle to itself, so the thread is found by its process in a snapshot of the system's.
fn resume(child: &Child) -> Result<(), LaunchError> {
    // SAFETY: valid flags; the process id is ignored for a snapshot of threads.
    let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snapshot == INVALID_HANDLE_VALUE {
        return Err(failure("cannot start the program"));
    }
    let snapshot = Handle(snapshot);
    // SAFETY: an all-zero THREADENTRY32 is a valid value; `dwSize` is set below.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = u32::try_from(std::mem::size_of::<THREADENTRY32>()).unwrap_or(u32::MAX);
    let mut resumed = false;
    // SAFETY: `snapshot.0` is an open snapshot and `entry` a THREADENTRY32 with its size set.
    let mut more = unsafe { Thread32First(snapshot.0, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == child.id() {
            // SAFETY: a thread id from the snapshot; the handle is not inherited.
            let thread = unsafe { OpenThread(THREAD_SUSPEND_RESUME, FALSE, entry.th32ThreadID) };
            if !thread.is_null() {
                let thread = Handle(thread);
                // SAFETY: `thread.0` is open with THREAD_SUSPEND_RESUME.
                resumed |= unsafe { ResumeThread(thread.0) } != u32::MAX;
            }
        }
        // SAFETY: as for `Thread32First`.
        more = unsafe { Thread32Next(snapshot.0, &mut entry) } != 0;
    }
    if resumed {
        Ok(())
    } else {
        Err(failure("cannot start the program"))
    }
}

/// A handle inject owns and closes once.
struct Handle(HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: `self.0` is an open handle this `Handle` owns.
        unsafe { CloseHandle(self.0) };
    }
}

/// A job object for the program, whose processes are killed when its one handle, inject's,
/// closes: when inject ends, however it ends. The program's children join it as they start.
/// A program may still break away on purpose (`BREAKAWAY_OK`). std's `OwnedHandle`, which
/// may move between threads (`--watch` ends the job while a thread waits for the program).
struct Job(OwnedHandle);

impl Job {
    fn new() -> Result<Job, LaunchError> {
        // SAFETY: null security attributes (a handle not inherited) and no name are valid.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(failure("cannot create a job object for the program"));
        }
        // SAFETY: `handle` is the job just created, owned by nothing else.
        let job = Job(unsafe { OwnedHandle::from_raw_handle(handle) });
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is a valid value: no limits.
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags =
            JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
        let size = u32::try_from(std::mem::size_of_val(&limits)).unwrap_or(u32::MAX);
        // SAFETY: `job.0` is the job just created; `limits` is the structure the class names,
        // and `size` its size.
        let set = unsafe {
            SetInformationJobObject(
                job.0.as_raw_handle(),
                JobObjectExtendedLimitInformation,
                std::ptr::from_ref(&limits).cast(),
                size,
            )
        };
        if set == 0 {
            return Err(failure("cannot set up a job object for the program"));
        }
        Ok(job)
    }

    /// inject itself stays outside: a job holding inject would be inherited by every
    /// process it starts, and wine 8.0's server crashes when such a job closes.
    fn assign(&self, child: &std::process::Child) -> Result<(), LaunchError> {
        // SAFETY: `self.0` is a valid job handle and the child's handle is open while `child`
        // lives.
        if unsafe { AssignProcessToJobObject(self.0.as_raw_handle(), child.as_raw_handle().cast()) }
            == 0
        {
            return Err(failure("cannot place the program in a job object"));
        }
        Ok(())
    }
}

fn failure(what: &str) -> LaunchError {
    LaunchError {
        code: ExitCode::Failure,
        message: format!("{what}: {}", std::io::Error::last_os_error()),
    }
}

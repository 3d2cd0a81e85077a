//! EFFECT: replace inject with the program (SPEC §6.1), or say why it cannot run.
//!
//! `execve` with a search of the *child's* `PATH`, as `env` and glibc's `execvp` do it: a
//! directory entry that exists but may not be executed is remembered and the search goes on,
//! a file without `#!` runs under `/bin/sh`. Nothing here touches signal dispositions or the
//! signal mask, so the program inherits the caller's (see `main.rs` for why Rust's runtime
//! is kept out of the way).

use std::ffi::{CStr, CString, OsStr, OsString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::environment::{self, Pair};
use crate::error::{ExitCode, LaunchError};

/// glibc's default search path (`confstr(_CS_PATH)`) when the child has no `PATH`.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Exec the program with exactly this environment. Returns only on failure.
pub fn exec(command: &[OsString], env: &[Pair]) -> LaunchError {
    match Plan::new(command, env) {
        Ok(mut plan) => {
            let errno = plan.exec();
            plan.describe(errno)
        }
        Err(error) => error,
    }
}

/// Everything `execve` needs, built before the first attempt, so that [`Plan::exec`] allocates
/// nothing: init mode runs it in a forked child, where only async-signal-safe work is allowed.
pub struct Plan<'a> {
    program: &'a OsStr,
    env: &'a [Pair],
    /// The files to try in order: the program itself when it holds a `/`, else one per
    /// directory of the child's `PATH`. Empty for an empty program name.
    candidates: Vec<CString>,
    /// Owners of the strings the pointer arrays below point into.
    _strings: Vec<CString>,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    /// `sh FILE ARGS...` for a file without `#!`; slot 1 is filled in per candidate.
    shell_argv: Vec<*const c_char>,
}

impl<'a> Plan<'a> {
    pub fn new(command: &'a [OsString], env: &'a [Pair]) -> Result<Self, LaunchError> {
        let Some(program) = command.first() else {
            return Err(LaunchError {
                code: ExitCode::Failure,
                message:
                    "nothing to run: put the command after `--`, e.g. `inject -- streamlit run app.py`"
                        .into(),
            });
        };
        let name = program.as_bytes();
        let candidates = if name.is_empty() {
            Vec::new()
        } else if name.contains(&b'/') {
            vec![cstring(name)]
        } else {
            child_path(env)
                .split(|b| *b == b':')
                .map(|dir| {
                    let mut candidate = Vec::with_capacity(dir.len() + name.len() + 1);
                    if !dir.is_empty() {
                        candidate.extend_from_slice(dir);
                        candidate.push(b'/');
                    }
                    candidate.extend_from_slice(name);
                    cstring(&candidate)
                })
                .collect()
        };
        let args: Vec<CString> = command.iter().map(|a| cstring(a.as_bytes())).collect();
        let sh = cstring(b"sh");
        let argv = terminated(args.iter().map(|s| s.as_c_str()), args.len());
        // The entries are already the C strings exec takes: only the pointer array is built.
        let envp = terminated(env.iter().map(Pair::as_c_str), env.len());
        let mut shell_argv = vec![sh.as_ptr(), std::ptr::null()];
        shell_argv.extend_from_slice(&argv[1..]);
        // The pointers stay valid when the strings move into the plan: a `CString` owns a heap
        // buffer that moving it does not move (and `env` is borrowed for the plan's life).
        let mut strings = args;
        strings.push(sh);
        Ok(Plan {
            program,
            env,
            candidates,
            _strings: strings,
            argv,
            envp,
            shell_argv,
        })
    }

    /// Try the candidates as glibc's `execvp` does: a file that exists but may not be executed
    /// is remembered and the search goes on. Returns only on failure, with the errno that
    /// [`Plan::describe`] explains. Allocates nothing and takes no lock.
    pub fn exec(&mut self) -> Errno {
        if self.program.as_bytes().contains(&b'/') {
            return self.exec_file(0);
        }
        let mut denied = false;
        let mut last = Errno::ENOENT;
        for index in 0..self.candidates.len() {
            match self.exec_file(index) {
                Errno::EACCES => denied = true,
                e @ (Errno::ENOENT
                | Errno::ENOTDIR
                | Errno::ESTALE
                | Errno::ENODEV
                | Errno::ETIMEDOUT) => {
                    last = e;
                }
                other => return other,
            }
        }
        if denied { Errno::EACCES } else { last }
    }

    fn exec_file(&mut self, index: usize) -> Errno {
        let file = self.candidates[index].as_ptr();
        // SAFETY: `file` and every entry of `argv` and `envp` point to NUL-terminated strings
        // owned by `self`, and both arrays end with a null pointer.
        unsafe { libc::execve(file, self.argv.as_ptr(), self.envp.as_ptr()) };
        let errno = Errno::last();
        if errno != Errno::ENOEXEC {
            return errno;
        }
        // No `#!` and not a binary the kernel knows: a shell script, as execvp runs it.
        self.shell_argv[1] = file;
        // SAFETY: as above; `shell_argv` is `sh`, the file, the arguments, then a null pointer.
        unsafe {
            libc::execve(
                c"/bin/sh".as_ptr(),
                self.shell_argv.as_ptr(),
                self.envp.as_ptr(),
            )
        };
        Errno::last()
    }

    /// Why the program did not start, from the errno [`Plan::exec`] returned.
    pub fn describe(&self, errno: Errno) -> LaunchError {
        // A search that went on past a file it found ends in ENOENT: that file's `#!` is bad.
        let found = self
            .candidates
            .iter()
            .map(|c| Path::new(OsStr::from_bytes(c.as_bytes())))
            .find(|c| c.is_file());
        describe(self.program, errno, self.env, found)
    }
}

/// The strings' pointers and the null pointer that ends the array.
fn terminated<'s>(strings: impl Iterator<Item = &'s CStr>, len: usize) -> Vec<*const c_char> {
    let mut pointers = Vec::with_capacity(len + 1);
    pointers.extend(strings.map(CStr::as_ptr));
    pointers.push(std::ptr::null());
    pointers
}

fn child_path(env: &[Pair]) -> &[u8] {
    environment::get(env, "PATH").map_or(DEFAULT_PATH, OsStr::as_bytes)
}

/// Inherited strings never hold NUL (the kernel split them there); injected ones were checked.
fn cstring(bytes: &[u8]) -> CString {
    CString::new(bytes).unwrap_or_else(|e| {
        let end = e.nul_position();
        CString::new(&bytes[..end]).unwrap_or_default()
    })
}

fn describe(program: &OsStr, errno: Errno, env: &[Pair], found: Option<&Path>) -> LaunchError {
    let shown = program.to_string_lossy();
    let is_path = program.as_bytes().contains(&b'/');
    let (code, message) = match errno {
        Errno::ENOENT | Errno::ENOTDIR if is_path && Path::new(program).is_file() => (
            ExitCode::NotFound,
            format!(
                "cannot run `{shown}`: its `#!` interpreter was not found: check the first line of the script"
            ),
        ),
        Errno::ENOENT | Errno::ENOTDIR if is_path => (
            ExitCode::NotFound,
            format!("cannot run `{shown}`: no such file"),
        ),
        Errno::ENOENT | Errno::ENOTDIR => match found {
            Some(found) => (
                ExitCode::NotFound,
                format!(
                    "cannot run `{shown}` (`{}`): its `#!` interpreter was not found: check the first line of the script",
                    found.display()
                ),
            ),
            None => (
                ExitCode::NotFound,
                format!("cannot run `{shown}`: command not found in `PATH`"),
            ),
        },
        Errno::EACCES if is_path && Path::new(program).is_dir() => (
            ExitCode::CannotExecute,
            format!("cannot run `{shown}`: it is a directory"),
        ),
        Errno::EACCES => (
            ExitCode::CannotExecute,
            format!("cannot run `{shown}`: permission denied: is it executable (`chmod +x`)?"),
        ),
        Errno::E2BIG => (ExitCode::CannotExecute, too_big(&shown, env)),
        other => (
            ExitCode::CannotExecute,
            format!("cannot run `{shown}`: {}", other.desc()),
        ),
    };
    LaunchError { code, message }
}

/// Linux refuses one string over 128 KiB (`MAX_ARG_STRLEN`), and argv + environment over
/// about a quarter of the stack limit; name the largest variable, never its value.
fn too_big(program: &str, env: &[Pair]) -> String {
    let size = |pair: &Pair| pair.name().len() + pair.value().len();
    let total: usize = env.iter().map(|pair| size(pair) + 2).sum();
    match env.iter().max_by_key(|pair| size(pair)) {
        Some(pair) => format!(
            "cannot run `{program}`: the kernel refused the environment as too large ({total} bytes in all); the largest variable is `{}` ({} bytes; Linux allows at most 131072 for one): shorten it or pass it as a file",
            pair.name().to_string_lossy(),
            size(pair) + 1
        ),
        None => format!("cannot run `{program}`: the argument list is too large"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_variable_is_named_without_its_value() {
        let env = vec![
            Pair::new("small".as_ref(), "x".as_ref()),
            Pair::new("huge".as_ref(), "y".repeat(200_000).as_ref()),
        ];
        let message = too_big("true", &env);
        assert!(message.contains("`huge` (200005 bytes"), "{message}");
        assert!(!message.contains("yyyy"), "{message}");
    }

    #[test]
    fn path_of_the_child() {
        assert_eq!(child_path(&[]), DEFAULT_PATH);
        let env = vec![Pair::new("PATH".as_ref(), "/x".as_ref())];
        assert_eq!(child_path(&env), b"/x");
    }
}

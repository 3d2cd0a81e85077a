//! EFFECT: replace inject with the program (SPEC §6.1), or say why it cannot run.
//!
//! `execve` with a search of the *child's* `PATH`, as `env` and glibc's `execvp` do it: a
//! directory entry that exists but may not be executed is remembered and the search goes on,
//! a file without `#!` runs under `/bin/sh`. Nothing here touches signal dispositions or the
//! signal mask, so the program inherits the caller's (see `main.rs` for why Rust's runtime
//! is kept out of the way).

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::errno::Errno;

use crate::environment::Pair;
use crate::error::ExitCode;

/// glibc's default search path (`confstr(_CS_PATH)`) when the child has no `PATH`.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Why the program did not start, with the exit status that says so.
#[derive(Debug)]
pub struct LaunchError {
    pub code: ExitCode,
    pub message: String,
}

/// Exec the program with exactly this environment. Returns only on failure.
pub fn exec(command: &[OsString], env: &[Pair]) -> LaunchError {
    let Some(program) = command.first() else {
        return LaunchError {
            code: ExitCode::Failure,
            message:
                "nothing to run: put the command after `--`, e.g. `inject -- streamlit run app.py`"
                    .into(),
        };
    };
    let argv: Vec<CString> = command.iter().map(|a| cstring(a.as_bytes())).collect();
    let envp: Vec<CString> = env
        .iter()
        .map(|(name, value)| {
            let mut pair = Vec::with_capacity(name.len() + value.len() + 1);
            pair.extend_from_slice(name.as_bytes());
            pair.push(b'=');
            pair.extend_from_slice(value.as_bytes());
            cstring(&pair)
        })
        .collect();
    let errno = search_and_exec(program.as_bytes(), &argv, &envp, child_path(env));
    describe(program, errno, env)
}

fn child_path(env: &[Pair]) -> &[u8] {
    env.iter()
        .find(|(name, _)| name == "PATH")
        .map_or(DEFAULT_PATH, |(_, value)| value.as_bytes())
}

/// Inherited strings never hold NUL (the kernel split them there); injected ones were checked.
fn cstring(bytes: &[u8]) -> CString {
    CString::new(bytes).unwrap_or_else(|e| {
        let end = e.nul_position();
        CString::new(&bytes[..end]).unwrap_or_default()
    })
}

fn search_and_exec(program: &[u8], argv: &[CString], envp: &[CString], path: &[u8]) -> Errno {
    if program.is_empty() {
        return Errno::ENOENT;
    }
    if program.contains(&b'/') {
        return exec_file(&cstring(program), argv, envp);
    }
    let mut denied = false;
    let mut last = Errno::ENOENT;
    for dir in path.split(|b| *b == b':') {
        let mut candidate = Vec::with_capacity(dir.len() + program.len() + 1);
        if !dir.is_empty() {
            candidate.extend_from_slice(dir);
            candidate.push(b'/');
        }
        candidate.extend_from_slice(program);
        match exec_file(&cstring(&candidate), argv, envp) {
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

fn exec_file(file: &CString, argv: &[CString], envp: &[CString]) -> Errno {
    let Err(errno) = nix::unistd::execve(file, argv, envp);
    if errno != Errno::ENOEXEC {
        return errno;
    }
    // No `#!` and not a binary the kernel knows: a shell script, as execvp runs it.
    let mut shell_argv = vec![cstring(b"sh"), file.clone()];
    shell_argv.extend(argv.iter().skip(1).cloned());
    let Err(errno) = nix::unistd::execve(c"/bin/sh", &shell_argv, envp);
    errno
}

fn describe(program: &OsStr, errno: Errno, env: &[Pair]) -> LaunchError {
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
        // The search went on past a file it found, so say which one has the bad `#!`.
        Errno::ENOENT | Errno::ENOTDIR => match found_on_path(program.as_bytes(), env) {
            Some(found) => (
                ExitCode::NotFound,
                format!(
                    "cannot run `{shown}` (`{}`): its `#!` interpreter was not found: check the first line of the script",
                    found.to_string_lossy()
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

/// The first regular file named `program` in the child's `PATH`, as the search tried it.
fn found_on_path(program: &[u8], env: &[Pair]) -> Option<OsString> {
    if program.is_empty() {
        return None;
    }
    child_path(env).split(|b| *b == b':').find_map(|dir| {
        let mut candidate = dir.to_vec();
        if !dir.is_empty() {
            candidate.push(b'/');
        }
        candidate.extend_from_slice(program);
        let candidate = OsString::from_vec(candidate);
        Path::new(&candidate).is_file().then_some(candidate)
    })
}

/// Linux refuses one string over 128 KiB (`MAX_ARG_STRLEN`), and argv + environment over
/// about a quarter of the stack limit; name the largest variable, never its value.
fn too_big(program: &str, env: &[Pair]) -> String {
    let total: usize = env.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    match env.iter().max_by_key(|(n, v)| n.len() + v.len()) {
        Some((name, value)) => format!(
            "cannot run `{program}`: the kernel refused the environment as too large ({total} bytes in all); the largest variable is `{}` ({} bytes; Linux allows at most 131072 for one): shorten it or pass it as a file",
            name.to_string_lossy(),
            name.len() + value.len() + 1
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
            (OsString::from("small"), OsString::from("x")),
            (OsString::from("huge"), OsString::from("y".repeat(200_000))),
        ];
        let message = too_big("true", &env);
        assert!(message.contains("`huge` (200005 bytes"), "{message}");
        assert!(!message.contains("yyyy"), "{message}");
    }

    #[test]
    fn path_of_the_child() {
        assert_eq!(child_path(&[]), DEFAULT_PATH);
        let env = vec![(OsString::from("PATH"), OsString::from("/x"))];
        assert_eq!(child_path(&env), b"/x");
    }
}

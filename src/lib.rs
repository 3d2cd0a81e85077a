//! inject: run a program with the secrets of a Streamlit `secrets.toml` in its environment.
//!
//! The pure core (`value`, `flatten`, `environment`, `list`) turns tables into variables;
//! `source`, `launch` and `app` are the thin edge of effects around it.

// The one supervisor is Linux code (Windows has a smaller one for `--mask` and `--watch`):
// elsewhere what feeds it (masking, the watch, the options) is built but partly never run.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

pub(crate) mod app;
#[cfg(feature = "aws")]
pub(crate) mod aws;
pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod crypt;
pub(crate) mod edit;
pub(crate) mod environment;
pub(crate) mod error;
pub(crate) mod export;
pub(crate) mod flatten;
pub(crate) mod keys;
#[cfg(unix)]
pub(crate) mod launch;
// No exec on Windows: the same module starts the program and waits for it (SPEC §18).
#[cfg(windows)]
#[path = "launch/windows.rs"]
pub(crate) mod launch;
pub(crate) mod list;
pub(crate) mod mask;
pub(crate) mod parse;
pub(crate) mod process;
pub(crate) mod pty;
#[cfg(unix)]
pub(crate) mod relay;
pub(crate) mod require;
pub mod source;
pub(crate) mod st_memory;
pub(crate) mod st_secrets;
pub(crate) mod store;
pub(crate) mod supervise;
pub(crate) mod unseal;
pub(crate) mod value;
pub(crate) mod watch;

/// [`main`], with the environment as the C runtime handed it to `main` (Unix): it lives as long
/// as the process, and the program's environment is built from it without copying it.
#[cfg(unix)]
pub fn main_with_environ(
    args: Vec<std::ffi::OsString>,
    environ: Vec<&'static std::ffi::CStr>,
) -> i32 {
    app::started_with(environ);
    main(args)
}

/// The whole program: parse `args` (the program's name first), run, return the exit status.
/// Never panics outward.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        // The payload is not printed: it could hold anything, a value included.
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        error::report(&error::Error::Message(format!(
            "internal error{place}; this is a bug, please report it"
        )));
    }));
    let outcome =
        std::panic::catch_unwind(|| match app::parse(args).and_then(|cli| app::run(&cli)) {
            Ok(code) => code.into(),
            Err(error) => {
                error::report(&error);
                error.code().into()
            }
        });
    outcome.unwrap_or_else(|_| error::ExitCode::Failure.into())
}

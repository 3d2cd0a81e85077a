//! inject: run a program with the secrets of a Streamlit `secrets.toml` in its environment.
//!
//! The pure core (`value`, `flatten`, `environment`, `list`) turns tables into variables;
//! `source`, `launch` and `app` are the thin edge of effects around it.

pub mod app;
#[cfg(feature = "aws")]
pub mod aws;
pub mod check;
pub mod cli;
pub mod environment;
pub mod error;
pub mod export;
pub mod flatten;
pub mod init;
pub mod launch;
pub mod list;
pub mod mask;
pub mod parse;
pub mod relay;
pub mod require;
pub mod source;
pub mod store;
pub mod value;
pub mod watch;

/// The whole program: parse `args` (the program's name first), run, return the exit status.
/// Never panics outward.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        // The payload is not printed: it could hold anything, a value included.
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        error::report(&format!(
            "internal error{place}; this is a bug, please report it"
        ));
    }));
    let outcome = std::panic::catch_unwind(|| match app::parse(args) {
        Ok(cli) => app::run(&cli),
        Err(code) => code,
    });
    outcome.unwrap_or_else(|_| error::ExitCode::Failure.into())
}

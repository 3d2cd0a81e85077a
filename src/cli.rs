//! The command line, as clap derive types. Doc comments are the help text.

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand};

use crate::check::CheckFormat;
use crate::export::ExportFormat;
use crate::list::ListFormat;
use crate::mask::MaskWhen;

/// Run a program with the secrets of a Streamlit `secrets.toml` as environment variables.
///
/// `[trello] api_key = "…"` becomes `TRELLO_API_KEY`; root keys keep their name. With no
/// secrets file (production), the program runs with the environment unchanged.
#[derive(Debug, Parser)]
#[command(
    name = "inject",
    version,
    disable_help_subcommand = true,
    after_help = "Examples:\n  inject -- streamlit run app.py\n  inject -f examples/secrets.toml -- env\n  inject list\n\nExit status: the program's; 125 inject failed; 126 cannot execute; 127 not found."
)]
pub struct Cli {
    #[command(flatten)]
    pub selection: Selection,

    #[command(flatten)]
    pub environment: EnvironmentArgs,

    #[command(flatten)]
    pub start: StartArgs,

    #[command(flatten)]
    pub require: RequireArgs,

    #[command(flatten)]
    pub watch: WatchArgs,

    /// Print nothing but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say which sources were read and which names are set (never values)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// The program to run and its arguments, after `--`, passed on byte for byte
    #[arg(last = true, value_name = "COMMAND")]
    pub program: Vec<OsString>,
}

/// Which secrets, under which names.
#[derive(Debug, Args)]
pub struct Selection {
    /// Read this secrets `.toml` file or secrets directory instead of Streamlit's default
    /// list (repeatable; later sources replace whole top-level keys of earlier ones)
    #[arg(
        short,
        long = "file",
        value_name = "PATH",
        env = "INJECT_FILE",
        global = true
    )]
    pub files: Vec<OsString>,

    /// Where private keys are kept, in dotenvx's format (read after `DOTENV_PRIVATE_KEY`)
    #[arg(
        long,
        value_name = "PATH",
        env = "INJECT_KEYS_FILE",
        default_value = ".env.keys",
        global = true
    )]
    pub keys_file: std::path::PathBuf,

    /// Inject only this top-level key: a section such as `trello`, or a root key (repeatable)
    #[arg(
        long,
        value_name = "NAME",
        env = "INJECT_ONLY",
        value_delimiter = ',',
        global = true
    )]
    pub only: Vec<String>,

    /// Put TEXT in front of every injected name
    #[arg(long, value_name = "TEXT", env = "INJECT_PREFIX", default_value = "", hide_default_value = true, global = true, value_parser = parse_prefix)]
    pub prefix: String,

    /// Permit a name that inject refuses by default, such as `PATH` or `LD_PRELOAD` (repeatable)
    #[arg(
        long,
        value_name = "NAME",
        env = "INJECT_ALLOW",
        value_delimiter = ',',
        global = true
    )]
    pub allow: Vec<String>,

    /// Give up on an `aws-sm://` or `aws-ssm://` source that has not been read within SECONDS
    /// (credentials, connection and every page included)
    #[cfg(feature = "aws")]
    #[arg(
        long,
        value_name = "SECONDS",
        env = "INJECT_TIMEOUT",
        default_value = "15",
        value_parser = parse_timeout,
        global = true
    )]
    pub timeout: u64,
}

/// How the child's environment is composed.
#[derive(Debug, Args)]
pub struct EnvironmentArgs {
    /// Keep a variable that is already in the environment; skip the file's value
    #[arg(long, env = "INJECT_NO_OVERRIDE", global = true)]
    pub no_override: bool,

    /// Start from an empty environment: only the injected variables and `--keep` names
    #[arg(long, env = "INJECT_CLEAN", global = true)]
    pub clean: bool,

    /// With `--clean`, pass this inherited variable on (repeatable)
    #[arg(
        long,
        value_name = "NAME",
        env = "INJECT_KEEP",
        value_delimiter = ',',
        requires = "clean",
        global = true
    )]
    pub keep: Vec<OsString>,
}

/// How the program is started (SPEC §6.3).
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Stay as a small supervisor, like tini: forward signals to the program, reap zombies,
    /// exit with its status. Default: on exactly when inject is PID 1 (a container's
    /// entry point)
    #[arg(long, overrides_with = "no_init")]
    pub init: bool,

    /// Replace inject with the program even as PID 1
    #[arg(long, overrides_with = "init")]
    pub no_init: bool,

    /// When supervising, forward signals to the program's whole process group
    #[arg(short, long)]
    pub group: bool,

    /// Replace every injected value in the program's output with `[masked:NAME]`; inject
    /// stays as its parent. `auto` (plain `--mask`) leaves a stream that is a terminal alone;
    /// `always` masks it too
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "auto",
        env = "INJECT_MASK"
    )]
    pub mask: Option<MaskWhen>,

    /// With `--mask`, mask only values at least this many bytes long (shorter ones would
    /// hide ordinary words and numbers)
    #[arg(
        long,
        value_name = "N",
        env = "INJECT_MASK_MIN",
        default_value_t = crate::mask::DEFAULT_MIN_LEN as u32,
        value_parser = clap::value_parser!(u32).range(1..),
        requires = "mask"
    )]
    pub mask_min: u32,

    /// Hand Streamlit the secrets as a `secrets.toml` too, built in memory, for `st.secrets`
    /// and `st.login`: the sources, plus each `--require-from` template key from its
    /// variable. Nothing is written to disk (`STREAMLIT_SECRETS_FILES` names the memory);
    /// Linux only
    #[arg(long, env = "INJECT_ST_SECRETS")]
    pub st_secrets: bool,
}

/// Names the program cannot start without (SPEC §5).
#[derive(Debug, Args)]
pub struct RequireArgs {
    /// Fail before anything runs unless NAME is set (repeatable); `NAME_FILE` may name a file
    /// that holds the value
    #[arg(
        long = "require",
        value_name = "NAME",
        env = "INJECT_REQUIRE",
        value_delimiter = ',',
        global = true,
        value_parser = parse_required_name
    )]
    pub names: Vec<String>,

    /// Require every name this TOML template would give, e.g. a committed
    /// `.streamlit/secrets.example.toml` (repeatable; `--prefix` applies, `--only` does not)
    #[arg(
        long = "require-from",
        value_name = "TEMPLATE",
        env = "INJECT_REQUIRE_FROM",
        global = true
    )]
    pub templates: Vec<OsString>,
}

/// Restart on change (SPEC §12), for development.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Stay as the parent and restart the program when the secrets (or the Streamlit settings
    /// that chose them) change; Linux and Windows
    #[arg(long, conflicts_with = "no_init")]
    pub watch: bool,

    /// With `--watch`, the signal that asks the program to stop before a restart: a name
    /// (`TERM`, `SIGHUP`, `int`) or a number; it goes to the program's process group. Not on
    /// Windows, which has no signals: the program's job is ended at once
    #[arg(long, value_name = "SIG", default_value = "TERM", value_parser = parse_signal, requires = "watch")]
    pub restart_signal: i32,

    /// With `--watch`, how long the program has to stop before it is killed (SIGKILL), in
    /// seconds (fractions allowed); not on Windows
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds, requires = "watch")]
    pub stop_timeout: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `inject -- …` would set: name, source and length, values hidden
    List(ListArgs),
    /// Print the variables for another tool (values shown: never to a terminal without
    /// `--reveal`)
    Export(ExportArgs),
    /// Validate the sources and the repository's hygiene; exit 1 when there are errors
    Check(CheckArgs),
    /// Encrypt the string values of a secrets file in place (dotenvx's scheme); creates the
    /// key pair when the file has no `DOTENV_PUBLIC_KEY`
    Encrypt(SealArgs),
    /// Decrypt the `encrypted:` values of a secrets file in place
    Decrypt(SealArgs),
    /// Re-encrypt a secrets file under a new key pair (the new private key is saved first)
    Rotate(SealArgs),
    /// Print a completion script for SHELL
    Completions(CompletionsArgs),
    /// Print the manual page (roff)
    Man,
}

/// `encrypt`, `decrypt`, `rotate`: the file is `-f` (default `.streamlit/secrets.toml`).
#[derive(Debug, Args)]
pub struct SealArgs {
    /// Only the value at this key path, or every value under it, e.g. `trello.api_key` or
    /// `trello` (repeatable; default: every string value)
    #[arg(long = "key", value_name = "KEYPATH")]
    pub keys: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum)]
    pub format: ExportFormat,

    /// Print the values even when standard output is a terminal
    #[arg(long)]
    pub reveal: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show the values
    #[arg(long)]
    pub reveal: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

fn parse_prefix(text: &str) -> Result<String, String> {
    if text.contains('=') {
        Err("a prefix cannot contain `=`".into())
    } else {
        Ok(text.to_string())
    }
}

fn parse_required_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("a required name cannot be empty".into())
    } else if text.contains('=') {
        Err("a variable name cannot contain `=`".into())
    } else if text.contains('\0') {
        Err("a variable name cannot contain a NUL byte".into())
    } else {
        Ok(text.to_string())
    }
}

/// A signal by name, with or without `SIG`, in any case (`TERM`, `SIGHUP`, `int`), or by
/// number (real-time ones included on Linux).
fn parse_signal(text: &str) -> Result<i32, String> {
    let highest = if cfg!(target_os = "linux") { 64 } else { 31 };
    if let Ok(number) = text.parse::<i32>() {
        return if (1..=highest).contains(&number) {
            Ok(number)
        } else {
            Err(format!("a signal number is from 1 to {highest}"))
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    signal_number(&name).ok_or_else(|| {
        "not a signal: give a name such as `TERM`, `INT` or `HUP`, or a number".into()
    })
}

#[cfg(unix)]
fn signal_number(name: &str) -> Option<i32> {
    name.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|signal| signal as i32)
}

/// Windows has no signals: `--watch`, their only user, ends the program's job there instead
/// (the help says so). The POSIX numbers keep the option's parsing the same everywhere.
#[cfg(not(unix))]
fn signal_number(name: &str) -> Option<i32> {
    const POSIX: [(&str, i32); 8] = [
        ("SIGHUP", 1),
        ("SIGINT", 2),
        ("SIGQUIT", 3),
        ("SIGKILL", 9),
        ("SIGUSR1", 10),
        ("SIGUSR2", 12),
        ("SIGTERM", 15),
        ("SIGCONT", 18),
    ];
    POSIX
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, number)| *number)
}

/// Seconds as a non-negative decimal number (`10`, `0.5`).
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|seconds| std::time::Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| "give a number of seconds, such as `10` or `0.5`".into())
}

impl Selection {
    /// How long an AWS source may take; `--timeout` exists only in builds that have them.
    pub fn timeout(&self) -> std::time::Duration {
        #[cfg(feature = "aws")]
        return std::time::Duration::from_secs(self.timeout);
        #[cfg(not(feature = "aws"))]
        std::time::Duration::ZERO
    }
}

#[cfg(feature = "aws")]
fn parse_timeout(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(seconds @ 1..=3600) => Ok(seconds),
        _ => Err("a timeout is a whole number of seconds from 1 to 3600".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_word_after_the_separator_is_a_program() {
        let cli = Cli::try_parse_from(["inject", "--", "list", "--reveal"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.program, ["list", "--reveal"]);
        let cli = Cli::try_parse_from(["inject", "-f", "a.toml", "list"]).unwrap();
        assert!(matches!(cli.command, Some(Command::List(_))));
    }

    #[test]
    fn mask_and_watch_combine() {
        // Both are options of the one supervisor (SPEC §17).
        let cli = Cli::try_parse_from(["inject", "--mask", "--watch", "--", "x"]).unwrap();
        assert_eq!(cli.start.mask, Some(MaskWhen::Auto));
        assert!(cli.watch.watch);
    }

    #[test]
    fn mask_takes_an_optional_value_after_an_equals_sign() {
        let cli = Cli::try_parse_from(["inject", "--mask", "--", "x"]).unwrap();
        assert_eq!(
            (cli.start.mask, cli.start.mask_min),
            (Some(MaskWhen::Auto), 6)
        );
        let cli = Cli::try_parse_from(["inject", "--mask=always", "--mask-min", "3", "--", "x"]);
        let cli = cli.unwrap();
        assert_eq!(
            (cli.start.mask, cli.start.mask_min),
            (Some(MaskWhen::Always), 3)
        );
        // Without `=`, the next word is not the mask's value.
        let cli = Cli::try_parse_from(["inject", "--mask", "list"]).unwrap();
        assert!(matches!(cli.command, Some(Command::List(_))));
        let cli = Cli::try_parse_from(["inject", "--", "x"]).unwrap();
        assert_eq!(cli.start.mask, None);
        for bad in [
            &["inject", "--mask-min", "3", "--", "x"][..],
            &["inject", "--mask", "--mask-min", "0", "--", "x"],
            &["inject", "--mask=sometimes", "--", "x"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_last_of_init_and_no_init_wins() {
        let cli = Cli::try_parse_from(["inject", "--init", "--no-init", "--", "x"]).unwrap();
        assert!(!cli.start.init && cli.start.no_init);
        let cli = Cli::try_parse_from(["inject", "--no-init", "--init", "-g", "--", "x"]).unwrap();
        assert!(cli.start.init && !cli.start.no_init && cli.start.group);
    }

    #[test]
    fn restart_signals_by_name_or_number() {
        let rows = [
            ("TERM", Ok(libc::SIGTERM)),
            ("SIGTERM", Ok(libc::SIGTERM)),
            ("term", Ok(libc::SIGTERM)),
            ("SigInt", Ok(libc::SIGINT)),
            ("HUP", Ok(libc::SIGHUP)),
            ("USR2", Ok(libc::SIGUSR2)),
            ("KILL", Ok(libc::SIGKILL)),
            ("1", Ok(1)),
            ("15", Ok(15)),
            ("0", Err(())),
            ("-15", Err(())),
            ("", Err(())),
            ("SIG", Err(())),
            ("TERMINATE", Err(())),
            ("SIGSIGTERM", Err(())),
            ("99", Err(())),
        ];
        for (text, want) in rows {
            assert_eq!(parse_signal(text).map_err(|_| ()), want, "{text:?}");
        }
    }

    #[test]
    fn stop_timeouts_in_seconds() {
        use std::time::Duration;
        let rows = [
            ("10", Some(Duration::from_secs(10))),
            ("0.5", Some(Duration::from_millis(500))),
            ("0", Some(Duration::ZERO)),
            (" 2 ", Some(Duration::from_secs(2))),
            ("-1", None),
            ("nan", None),
            ("inf", None),
            ("1e30", None),
            ("ten", None),
            ("", None),
        ];
        for (text, want) in rows {
            assert_eq!(parse_seconds(text).ok(), want, "{text:?}");
        }
    }

    #[test]
    fn watch_options_need_watch_and_exclude_no_init() {
        let cli = Cli::try_parse_from(["inject", "--watch", "--", "x"]).unwrap();
        assert!(cli.watch.watch);
        assert_eq!(cli.watch.restart_signal, libc::SIGTERM);
        assert_eq!(cli.watch.stop_timeout, std::time::Duration::from_secs(10));
        let cli = Cli::try_parse_from([
            "inject",
            "--watch",
            "--restart-signal",
            "hup",
            "--stop-timeout",
            "0.5",
            "--",
            "x",
        ])
        .unwrap();
        assert_eq!(cli.watch.restart_signal, libc::SIGHUP);
        assert_eq!(
            cli.watch.stop_timeout,
            std::time::Duration::from_millis(500)
        );
        for args in [
            &["inject", "--restart-signal", "HUP", "--", "x"][..],
            &["inject", "--stop-timeout", "1", "--", "x"],
            &["inject", "--watch", "--no-init", "--", "x"],
            &["inject", "--watch", "--restart-signal", "BOGUS", "--", "x"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}

//! The command line, as clap derive types. Doc comments are the help text.

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
        value_parser = parse_seconds,
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `inject -- …` would set: name, source and length, values hidden
    List(ListArgs),
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// One aligned line per variable
    Table,
    /// A JSON array of objects, for tools
    Json,
}

fn parse_prefix(text: &str) -> Result<String, String> {
    if text.contains('=') {
        Err("a prefix cannot contain `=`".into())
    } else {
        Ok(text.to_string())
    }
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
fn parse_seconds(text: &str) -> Result<u64, String> {
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
}

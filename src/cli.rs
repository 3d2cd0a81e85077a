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

    #[command(flatten)]
    pub start: StartArgs,

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
}

/// Which of the program's output streams `--mask` relays through the redactor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MaskWhen {
    /// Standard output and error, each unless it is a terminal
    Auto,
    /// Both streams, terminals too (the program then sees a pipe, not a terminal)
    Always,
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
}

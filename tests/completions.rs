//! `inject completions SHELL` and `inject man`, generated from the clap definitions.

mod common;

use std::process::Command;

use common::{TestEnv, skipped, text, which};

#[test]
fn bash_completions_parse_and_know_the_subcommands() {
    let p = TestEnv::with_host_path();
    let out = p.run(["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let script = text(&out.stdout);
    for word in [
        "_inject()",
        "complete -F _inject",
        "export",
        "check",
        "--require-from",
    ] {
        assert!(script.contains(word), "no {word:?} in the bash script");
    }
    assert!(script.contains("dotenv shell json docker github systemd nul"));
    if which("bash").is_none() {
        return skipped("bash");
    }
    let file = p.write_private("inject.bash", &out.stdout);
    let status = Command::new("bash").arg("-n").arg(&file).status().unwrap();
    assert!(status.success(), "bash -n rejects the completion script");
    // Loaded for real, it registers the function for `inject`.
    let out = Command::new("bash")
        .args(["-c", "source \"$1\" && complete -p inject", "bash"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout).trim(),
        "complete -o bashdefault -o default -o nosort -F _inject inject"
    );
    // And it completes: `inject ex<TAB>`, `inject export --format d<TAB>`.
    for (words, want) in [
        ("inject ex", "export"),
        ("inject export --format d", "dotenv docker"),
    ] {
        let script = format!(
            "source \"$1\"; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _inject inject \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             echo \"${{COMPREPLY[*]}}\""
        );
        let out = Command::new("bash")
            .args(["-c", &script, "bash"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(
            text(&out.stdout).trim(),
            want,
            "{words}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn every_shell_gets_a_script_naming_inject() {
    let p = TestEnv::with_host_path();
    for (shell, marker) in [
        ("zsh", "#compdef inject"),
        ("fish", "complete -c inject"),
        ("elvish", "edit:completion:arg-completer[inject]"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'inject'",
        ),
    ] {
        let out = p.run(["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains(marker), "{shell}: no {marker:?}");
    }
    // The shells' own parsers, where they are installed.
    for (shell, file) in [("zsh", "_inject"), ("fish", "inject.fish")] {
        let Some(program) = which(shell) else {
            skipped(&format!("{shell} (to parse the {shell} script)"));
            continue;
        };
        let file = p.write_private(file, p.run(["completions", shell]).stdout);
        assert!(
            Command::new(program)
                .arg("-n")
                .arg(&file)
                .status()
                .unwrap()
                .success(),
            "{shell} -n rejects the script"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let p = TestEnv::with_host_path();
    let out = p.run(["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).starts_with("inject: error: invalid value 'tcsh' for '<SHELL>'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn man_is_a_roff_page_of_every_option() {
    let p = TestEnv::with_host_path();
    let out = p.run(["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH inject 1"),
        "{}",
        &page[..page.len().min(200)]
    );
    for word in [
        "\\-\\-require\\-from",
        "\\-\\-no\\-override",
        "export",
        "check",
        "completions",
    ] {
        assert!(page.contains(word), "no {word:?} in the man page");
    }
    if let Some(man) = which("man") {
        let file = p.write_private("inject.1", &out.stdout);
        let shown = Command::new(man)
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        assert!(shown.status.success(), "{}", text(&shown.stderr));
        assert!(text(&shown.stdout).contains("inject"));
    } else {
        skipped("man (to render the page)");
    }
}

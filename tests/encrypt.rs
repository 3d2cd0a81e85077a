//! Encrypted values (SPEC §15): run-time decryption, the errors that name a key path and a
//! public key and nothing secret, `encrypt`/`decrypt`/`rotate` in place, `list` and `check`,
//! and the proof against the real `dotenvx`, both ways, over more than 100 values.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{TestEnv, expect, skipped, text, toml_string, which};

/// A key pair and values that the real `dotenvx encrypt` (2.38) wrote.
const DX_PRIVATE: &str = "c5f08b635b272fc7fa760cffbd759a647b57b2ec1226288e4afc0824cd780a68";
const DX_PUBLIC: &str = "02a068442d14fdf6681a25636f3086ede5c0774967658cdf24915134885e0f28af";
const DX_HELLO: &str = "encrypted:BGZxWb9AUbaG/LYV9BXStbhVCBRQsD6t0m0ZRPFZb+BIfu1p4qVYAiLX8PzgHSGsw+UeARZYgEByIQ5KinTaPpMvt+46WdwTeEyKLIuefI4GiHkmpp9nIcjFMUjlMmieA9y2tnQL";
/// `x\y"z $HOME`, as dotenvx wrote it.
const DX_ODD: &str = "encrypted:BLmZNp5BVKpqrFs0rV46wK4Tnb3/Zspyq1VeiKtn4dkhuaHaKAvfDBstDhcWw1twU2s9Q5khn4PwBTQj2+YwbsL3Oh0r8Cf6Z6TCJBi2YuyrKlWBzau2UNJxd1rPWjFndBhhextq2pVhwJv/";
/// Another key, valid but not the file's.
const OTHER_PRIVATE: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

fn dotenvx_file() -> String {
    format!(
        "DOTENV_PUBLIC_KEY = \"{DX_PUBLIC}\"\n[trello]\napi_key = \"{DX_HELLO}\"\nodd = [\"{DX_ODD}\", 1]\n"
    )
}

fn export_json(p: &TestEnv, file: &str, env: &[(&str, &str)]) -> Output {
    p.cmd()
        .envs(env.iter().copied())
        .args(["-f", file, "export", "--format", "json"])
        .output()
        .unwrap()
}

fn keys_in(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("DOTENV_PRIVATE_KEY="))
        .map(str::to_string)
        .collect()
}

fn public_in(file: &Path) -> String {
    let table: toml::Table = fs::read_to_string(file).unwrap().parse().unwrap();
    table["DOTENV_PUBLIC_KEY"].as_str().unwrap().to_string()
}

#[test]
fn values_dotenvx_encrypted_open_from_the_variable_or_the_keys_file() {
    let p = TestEnv::new();
    p.write("s.toml", &dotenvx_file());
    let want = format!(
        "{{\n  \"DOTENV_PUBLIC_KEY\": \"{DX_PUBLIC}\",\n  \"TRELLO_API_KEY\": \"hello\",\n  \"TRELLO_ODD\": \"[\\\"x\\\\\\\\y\\\\\\\"z $HOME\\\",1]\"\n}}\n"
    );
    expect(
        &export_json(&p, "s.toml", &[("DOTENV_PRIVATE_KEY", DX_PRIVATE)]),
        0,
        &want,
        "",
    );
    let several = format!("{OTHER_PRIVATE}, {DX_PRIVATE}");
    expect(
        &export_json(&p, "s.toml", &[("DOTENV_PRIVATE_KEY", &several)]),
        0,
        &want,
        "",
    );
    p.write(
        ".env.keys",
        &format!("# s.toml\nDOTENV_PRIVATE_KEY=\"{DX_PRIVATE}\"\n"),
    );
    expect(&export_json(&p, "s.toml", &[]), 0, &want, "");
    // A variable whose keys do not open the value: the keys file is read next.
    expect(
        &export_json(&p, "s.toml", &[("DOTENV_PRIVATE_KEY", OTHER_PRIVATE)]),
        0,
        &want,
        "",
    );
    fs::rename(p.app.join(".env.keys"), p.app.join("k")).unwrap();
    expect(
        &export_json(&p, "s.toml", &[("INJECT_KEYS_FILE", "k")]),
        0,
        &want,
        "",
    );
    let out = p
        .cmd()
        .args([
            "--keys-file",
            "k",
            "-f",
            "s.toml",
            "--",
            "printenv",
            "TRELLO_API_KEY",
        ])
        .output()
        .unwrap();
    expect(&out, 0, "hello\n", "");
}

#[test]
fn no_key_wrong_key_and_tampered_values_exit_125_naming_path_and_public_key() {
    let p = TestEnv::new();
    p.write("s.toml", &dotenvx_file());
    let no_key = format!(
        "inject: error: s.toml:3: `trello.api_key` is encrypted (for the public key `{DX_PUBLIC}`) but no private key is available: set `DOTENV_PRIVATE_KEY`, or put the key in `.env.keys` (`--keys-file` names another file)\n\
         inject: error: s.toml:4: `trello.odd` is encrypted (for the public key `{DX_PUBLIC}`) but no private key is available: set `DOTENV_PRIVATE_KEY`, or put the key in `.env.keys` (`--keys-file` names another file)\n"
    );
    expect(&p.run(["-f", "s.toml", "--", "true"]), 125, "", &no_key);
    let wrong = p
        .cmd()
        .env("DOTENV_PRIVATE_KEY", OTHER_PRIVATE)
        .args(["-f", "s.toml", "--", "true"])
        .output()
        .unwrap();
    let line = |n: u32, key: &str| {
        format!(
            "inject: error: s.toml:{n}: `{key}` is encrypted for the public key `{DX_PUBLIC}` but none of the 1 private key(s) available opens it: set the right `DOTENV_PRIVATE_KEY` or keys file\n"
        )
    };
    expect(
        &wrong,
        125,
        "",
        &format!("{}{}", line(3, "trello.api_key"), line(4, "trello.odd")),
    );

    let tampered = dotenvx_file().replace("Kin", "Kim");
    assert_ne!(tampered, dotenvx_file());
    p.write("s.toml", &tampered);
    let out = p
        .cmd()
        .env("DOTENV_PRIVATE_KEY", DX_PRIVATE)
        .args(["-f", "s.toml", "list"])
        .output()
        .unwrap();
    expect(
        &out,
        125,
        "",
        &format!(
            "inject: error: s.toml:3: `trello.api_key` does not open with the private key of the public key `{DX_PUBLIC}`, the file's own: the value was changed, cut, or encrypted for another key; encrypt it again (`inject encrypt`)\n"
        ),
    );

    p.write("s.toml", &dotenvx_file());
    let bad = p
        .cmd()
        .env("DOTENV_PRIVATE_KEY", "not-a-key")
        .args(["-f", "s.toml", "--", "true"])
        .output()
        .unwrap();
    expect(
        &bad,
        125,
        "",
        "inject: error: `DOTENV_PRIVATE_KEY`: private key 1 is not a secp256k1 private key (64 hex digits, as dotenvx writes it): fix or remove it\n",
    );
    for out in [&wrong, &out, &bad] {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains(DX_PRIVATE)
                && !all.contains(OTHER_PRIVATE)
                && !all.contains("hello")
                && !all.contains("encrypted:"),
            "{all}"
        );
    }
}

#[test]
fn nothing_encrypted_reads_no_key() {
    let p = TestEnv::new();
    p.write("s.toml", "a = \"x\"\n");
    // A keys file that cannot be read and a variable that holds no key: never looked at.
    fs::create_dir(p.app.join(".env.keys")).unwrap();
    let out = p
        .cmd()
        .env("DOTENV_PRIVATE_KEY", "garbage")
        .args(["-f", "s.toml", "--", "printenv", "a"])
        .output()
        .unwrap();
    expect(&out, 0, "x\n", "");
}

const PLAIN: &str = "# the project's secrets\ndb_username = \"admin\"   # who\nport = 5432\n\n[trello]\napi_key = \"k-123\"\nnote = \"multi\\nline \\\"q\\\" é\"\nlist = [\"a\", 2, { b = \"c\" }]\n\n[empty]\nv = \"\"\n";

/// `PLAIN` with each string value replaced by what `encrypted` holds at that place.
fn layout_of(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"encrypted:") {
        out.push_str(&rest[..at]);
        out.push('E');
        let end = rest[at + 1..].find('"').unwrap() + at + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn encrypt_decrypt_rotate_in_place() {
    let p = TestEnv::new();
    let file = p.write("s.toml", PLAIN);
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let plain_export = export_json(&p, "s.toml", &[]);
    assert_eq!(plain_export.status.code(), Some(0));

    let out = p.run(["-f", "s.toml", "encrypt"]);
    let public = public_in(&file);
    expect(
        &out,
        0,
        "",
        &format!("inject: note: `s.toml`: encrypted 6 value(s) for the public key `{public}`\n"),
    );
    let encrypted = fs::read_to_string(&file).unwrap();
    let header = format!(
        "#/-------------------[DOTENV_PUBLIC_KEY]--------------------/\n#/            public-key encryption for .env files          /\n#/       [how it works](https://dotenvx.com/encryption)     /\n#/----------------------------------------------------------/\nDOTENV_PUBLIC_KEY = \"{public}\"\n\n"
    );
    assert_eq!(
        layout_of(&encrypted),
        format!(
            "{header}# the project's secrets\ndb_username = E   # who\nport = 5432\n\n[trello]\napi_key = E\nnote = E\nlist = [E, 2, {{ b = E }}]\n\n[empty]\nv = E\n"
        ),
        "byte for byte outside the values"
    );
    assert!(!encrypted.contains("admin") && !encrypted.contains("k-123"));
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
        0o640,
        "mode kept"
    );
    let keys = p.app.join(".env.keys");
    assert_eq!(
        fs::metadata(&keys).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    let first = keys_in(&keys);
    assert_eq!(first.len(), 1);
    assert!(
        fs::read_to_string(&keys)
            .unwrap()
            .starts_with("#/------------------!DOTENV_PRIVATE_KEYS!-------------------/\n")
    );
    let with_public = |out: &Output| {
        text(&out.stdout).replacen(
            "{\n",
            &format!("{{\n  \"DOTENV_PUBLIC_KEY\": \"{}\",\n", public_in(&file)),
            1,
        )
    };
    assert_eq!(
        text(&export_json(&p, "s.toml", &[]).stdout),
        with_public(&plain_export)
    );
    let list = p.run(["-f", "s.toml", "list"]);
    expect(
        &list,
        0,
        "DOTENV_PUBLIC_KEY  s.toml:5   (hidden, 66 bytes)\n\
        db_username        s.toml:8   (encrypted, 5 bytes)\n\
        port               s.toml:9   (hidden, 4 bytes)\n\
        TRELLO_API_KEY     s.toml:12  (encrypted, 5 bytes)\n\
        TRELLO_NOTE        s.toml:13  (encrypted, 17 bytes)\n\
        TRELLO_LIST        s.toml:14  (encrypted, 17 bytes)\n\
        EMPTY_V            s.toml:17  (encrypted, 0 bytes)\n",
        "",
    );
    expect(
        &p.run(["-f", "s.toml", "encrypt"]),
        0,
        "",
        &format!("inject: note: `s.toml`: encrypted 0 value(s) for the public key `{public}`\n"),
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        encrypted,
        "nothing left to encrypt"
    );

    // rotate: a new key pair, the new private key added, the values the same.
    let out = p.run(["-q", "-f", "s.toml", "rotate"]);
    expect(&out, 0, "", "");
    let rotated = fs::read_to_string(&file).unwrap();
    let new_public = public_in(&file);
    assert_ne!(new_public, public);
    assert_eq!(
        layout_of(&rotated),
        layout_of(&encrypted).replace(&public, &new_public)
    );
    let now = keys_in(&keys);
    assert_eq!((now.len(), &now[0]), (2, &first[0]));
    assert_eq!(
        text(&export_json(&p, "s.toml", &[]).stdout),
        with_public(&plain_export)
    );
    let old_only = export_json(
        &p,
        "s.toml",
        &[
            ("INJECT_KEYS_FILE", "none"),
            ("DOTENV_PRIVATE_KEY", &first[0]),
        ],
    );
    assert_eq!(
        old_only.status.code(),
        Some(125),
        "the old key no longer opens the file"
    );

    // decrypt: the original text back, under the public key's header.
    expect(
        &p.run(["-f", "s.toml", "decrypt"]),
        0,
        "",
        "inject: note: `s.toml`: decrypted 6 value(s)\n",
    );
    let header = header.replace(&public, &new_public);
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        format!("{header}{PLAIN}")
    );
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let leftovers: Vec<_> = fs::read_dir(&p.app)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn only_the_keys_named() {
    let p = TestEnv::new();
    let file = p.write("s.toml", PLAIN);
    expect(
        &p.run([
            "-q",
            "-f",
            "s.toml",
            "encrypt",
            "--key",
            "trello.api_key",
            "--key",
            "empty",
        ]),
        0,
        "",
        "",
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("db_username = \"admin\"") && text.contains("note = \"multi"));
    assert_eq!(text.matches("\"encrypted:").count(), 2);
    let check = p.cmd().args(["-f", "s.toml", "check"]).output().unwrap();
    expect(
        &check,
        0,
        "warning: `s.toml` is readable by group or others (mode 0644): run `chmod 600 s.toml`\n\
        warning: s.toml:8: `db_username` is not encrypted in a file that has a `DOTENV_PUBLIC_KEY`: run `inject encrypt -f s.toml`\n\
        warning: s.toml:13: `trello.note` is not encrypted in a file that has a `DOTENV_PUBLIC_KEY`: run `inject encrypt -f s.toml`\n\
        warning: s.toml:14: `trello.list` is not encrypted in a file that has a `DOTENV_PUBLIC_KEY`: run `inject encrypt -f s.toml`\n\
        checked 1 source: 0 errors, 4 warnings\n",
        "",
    );
    expect(
        &p.run(["-f", "s.toml", "decrypt", "--key", "nope"]),
        125,
        "",
        "inject: error: `s.toml` has no string value at `nope`: give the key path as `inject list` shows it, e.g. `trello.api_key`\n",
    );
    expect(
        &p.run(["-f", "s.toml", "rotate", "--key", "x"]),
        125,
        "",
        "inject: error: `s.toml` has no string value at `x`: give the key path as `inject list` shows it, e.g. `trello.api_key`\n",
    );
}

#[test]
fn rotate_needs_a_key_and_decrypt_writes_nothing_it_cannot_open() {
    let p = TestEnv::new();
    p.write("s.toml", "a = \"x\"\n");
    expect(
        &p.run(["-f", "s.toml", "rotate"]),
        125,
        "",
        "inject: error: `s.toml` has no `DOTENV_PUBLIC_KEY`, so there is no key to rotate: run `inject encrypt` first\n",
    );
    let file = p.write("t.toml", &dotenvx_file());
    let out = p.run(["-f", "t.toml", "decrypt"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        dotenvx_file(),
        "unchanged"
    );
    assert!(!p.app.join(".env.keys").exists());
    expect(
        &p.run(["-f", "missing.toml", "encrypt"]),
        125,
        "",
        "inject: error: `missing.toml` does not exist: check the path given to `-f` or `INJECT_FILE`\n",
    );
    let odd = p.write("n.toml", "DOTENV_PUBLIC_KEY = 1\na = \"x\"\n");
    expect(
        &p.run(["-f", "n.toml", "encrypt"]),
        125,
        "",
        "inject: error: `n.toml`: the root key `DOTENV_PUBLIC_KEY` must be a string, the file's public key: fix or remove it\n",
    );
    assert_eq!(
        fs::read_to_string(&odd).unwrap(),
        "DOTENV_PUBLIC_KEY = 1\na = \"x\"\n"
    );
    assert!(
        !p.app.join(".env.keys").exists(),
        "no key made for a file that cannot take it"
    );
}

#[test]
fn check_reports_keys_tracked_by_git_and_values_no_key_opens() {
    let Some(_) = which("git") else {
        return skipped("git");
    };
    let p = TestEnv::with_host_path();
    let git = |args: &[&str]| {
        assert!(
            Command::new("git")
                .args(args)
                .current_dir(&p.app)
                .env("HOME", &p.home)
                .output()
                .unwrap()
                .status
                .success()
        )
    };
    git(&["init", "-q"]);
    p.write_private("s.toml", dotenvx_file());
    p.write_private(".env.keys", format!("DOTENV_PRIVATE_KEY={DX_PRIVATE}\n"));
    git(&["add", "s.toml"]);
    expect(
        &p.run(["-f", "s.toml", "check"]),
        0,
        "checked 1 source: 0 errors, 0 warnings\n",
        "",
    );
    git(&["add", "-f", ".env.keys"]);
    expect(
        &p.run(["-f", "s.toml", "check"]),
        1,
        "error: the keys file `.env.keys` is tracked by git, so anyone with the repository can decrypt the secrets: run `git rm --cached .env.keys`, add it to `.gitignore`, then `inject rotate` and rotate the secrets themselves\nchecked 1 source: 1 error, 0 warnings\n",
        "",
    );
    git(&["rm", "-q", "--cached", ".env.keys"]);
    fs::write(
        p.app.join(".env.keys"),
        format!("DOTENV_PRIVATE_KEY={OTHER_PRIVATE}\n"),
    )
    .unwrap();
    p.chmod(".env.keys", 0o644);
    p.write_private("s.toml", format!("{}plain = \"p\"\n", dotenvx_file()));
    let wrong = |n: u32, key: &str| {
        format!(
            "error: s.toml:{n}: `{key}` is encrypted for the public key `{DX_PUBLIC}` but none of the 1 private key(s) available opens it: set the right `DOTENV_PRIVATE_KEY` or keys file\n"
        )
    };
    expect(
        &p.run(["-f", "s.toml", "check"]),
        1,
        &format!(
            "error: `s.toml` is tracked by git, so its secrets are in the repository: run `git rm --cached s.toml`, add it to `.gitignore`, and rotate any secret that was ever pushed\nwarning: `.env.keys` is readable by group or others (mode 0644): run `chmod 600 .env.keys`\nwarning: s.toml:5: `trello.plain` is not encrypted in a file that has a `DOTENV_PUBLIC_KEY`: run `inject encrypt -f s.toml`\n{}{}checked 1 source: 3 errors, 2 warnings\n",
            wrong(3, "trello.api_key"),
            wrong(4, "trello.odd")
        ),
        "",
    );
}

// ------------------------------------------------------------------ the real dotenvx

/// More than 100 values: the awkward ones by name (empty, multi-line, quotes, backslashes,
/// non-ASCII, 64 KiB), then 100 drawn from a palette of them. No `$`: dotenvx expands
/// `$NAME` in the values it decrypts, which is its reading of a value, not the scheme. No CR
/// where a `.env` carries the plaintext: its parser turns CRLF into LF.
fn interop_values(with_cr: bool) -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        "a",
        "multi\nline\n",
        "\n",
        "trailing backslash\\",
        "\\\\server\\share\\n not a newline",
        "double \" quote",
        "single ' quote",
        "back ` tick",
        "é ß 日本語 😀",
        "tab\tseparated",
        "  padded  ",
        "#not a comment",
        "key=value; a,b",
    ]
    .map(String::from)
    .to_vec();
    values.push(format!("{}é", "x".repeat(64 * 1024 - 2)));
    if with_cr {
        values.push("crlf\r\nline".into());
    }
    let palette = [
        "a", "Z", "0", " ", "\n", "\"", "'", "\\", "`", "é", "ß", "日", "😀", "#", "=", "\t", ",",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..100 {
        let mut value = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            value.push_str(palette[(state % palette.len() as u64) as usize]);
        }
        values.push(value);
    }
    values
}

/// A `.env` line dotenvx reads back as exactly `value`: single quotes (literal) unless the
/// value holds one, else backticks (the value's backticks becoming `b`). A quoted value that
/// ends in a backslash can make dotenv's line pattern run on to a quote of a later line, so a
/// drawn value ending in one gets an `a`; the named one (`trailing backslash\\`) stays, and
/// the check of what dotenvx read proves it safe where it is.
fn dotenv_line(name: &str, value: &str) -> (String, String) {
    let value = &if value.ends_with('\\') && !value.starts_with("trailing") {
        format!("{value}a")
    } else {
        value.to_string()
    };
    if !value.contains('\'') {
        return (format!("{name}='{value}'\n"), value.to_string());
    }
    let value = value.replace('`', "b");
    (format!("{name}=`{value}`\n"), value)
}

fn dotenvx(p: &TestEnv, dir: &Path, args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new("dotenvx");
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", &p.home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    if let Some(key) = key {
        cmd.env("DOTENV_PRIVATE_KEY", key);
    }
    let out = cmd.output().expect("run dotenvx");
    assert!(
        out.status.success(),
        "dotenvx {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_map(bytes: &[u8]) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn dotenvx_encrypts_and_inject_decrypts() {
    let Some(_) = which("dotenvx") else {
        return skipped("dotenvx (npm install -g @dotenvx/dotenvx)");
    };
    let p = TestEnv::with_host_path();
    let dir = p.root.join("dx");
    fs::create_dir(&dir).unwrap();
    let mut env = String::new();
    let mut want = serde_json::Map::new();
    let mut big = None;
    for (i, value) in interop_values(false).iter().enumerate() {
        let name = format!("K{i:03}");
        if value.len() > 60_000 {
            // `dotenvx encrypt` fails on it (its pattern for the line grows too large):
            // `dotenvx set` encrypts it alone below.
            big = Some((name.clone(), value.clone()));
            want.insert(name, value.clone().into());
            continue;
        }
        let (line, value) = dotenv_line(&name, value);
        env.push_str(&line);
        want.insert(name, value.into());
    }
    assert!(want.len() >= 100);
    fs::write(dir.join(".env"), &env).unwrap();
    // dotenvx reads the plaintext as meant, then encrypts it.
    let read = json_map(&dotenvx(&p, &dir, &["get", "--format", "json"], None).stdout);
    for (k, v) in &read {
        assert_eq!(Some(v), want.get(k), "{k}");
    }
    assert_eq!(read.len(), want.len() - 1);
    dotenvx(&p, &dir, &["encrypt"], None);
    let (name, value) = big.expect("a 64 KiB value");
    dotenvx(&p, &dir, &["set", &name, &value], None);
    let encrypted = fs::read_to_string(dir.join(".env")).unwrap();
    let mut toml = String::new();
    for line in encrypted
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line.split_once('=').unwrap();
        let value = value.trim_matches(|c| c == '"' || c == '\'' || c == '`');
        assert!(
            name == "DOTENV_PUBLIC_KEY" || value.starts_with("encrypted:"),
            "{line}"
        );
        toml.push_str(&format!("{name} = {}\n", toml_string(value)));
    }
    assert_eq!(toml.matches("encrypted:").count(), want.len());
    p.write("s.toml", &toml);
    let key = keys_in(&dir.join(".env.keys")).remove(0);
    let out = export_json(&p, "s.toml", &[("DOTENV_PRIVATE_KEY", &key)]);
    assert_eq!(text(&out.stderr), "");
    let mut got = json_map(&out.stdout);
    assert!(got.remove("DOTENV_PUBLIC_KEY").is_some());
    assert_eq!(got, want, "inject opens every value dotenvx encrypted");
    // One keys file for both: inject appends its key after dotenvx's, and dotenvx still
    // opens its `.env` with it.
    p.write("own.toml", "mine = \"m\"\n");
    let keys_file = dir.join(".env.keys");
    let keys_arg = keys_file.to_str().unwrap();
    expect(
        &p.run(["-q", "--keys-file", keys_arg, "-f", "own.toml", "encrypt"]),
        0,
        "",
        "",
    );
    assert_eq!(keys_in(&keys_file).len(), 2);
    let get = dotenvx(&p, &dir, &["get", "K001"], None);
    assert_eq!(text(&get.stdout), "a\n");
    let out = p
        .cmd()
        .args([
            "--keys-file",
            keys_arg,
            "-f",
            "own.toml",
            "--",
            "printenv",
            "mine",
        ])
        .output()
        .unwrap();
    expect(&out, 0, "m\n", "");
}

#[test]
fn inject_encrypts_and_dotenvx_decrypts() {
    let Some(_) = which("dotenvx") else {
        return skipped("dotenvx (npm install -g @dotenvx/dotenvx)");
    };
    let p = TestEnv::with_host_path();
    let values = interop_values(true);
    let mut toml = String::new();
    let mut want = serde_json::Map::new();
    for (i, value) in values.iter().enumerate() {
        toml.push_str(&format!("K{i:03} = {}\n", toml_string(value)));
        want.insert(format!("K{i:03}"), value.clone().into());
    }
    assert!(want.len() >= 100);
    let file = p.write("s.toml", &toml);
    expect(&p.run(["-q", "-f", "s.toml", "encrypt"]), 0, "", "");
    let table: toml::Table = fs::read_to_string(&file).unwrap().parse().unwrap();
    // A `.env` as dotenvx writes one, in a folder without keys: the key comes from the
    // variable, as on Heroku.
    let dir = p.root.join("dx");
    fs::create_dir(&dir).unwrap();
    let env: String = table
        .iter()
        .map(|(name, value)| {
            let value = value.as_str().unwrap();
            assert!(name == "DOTENV_PUBLIC_KEY" || value.starts_with("encrypted:"));
            format!("{name}=\"{value}\"\n")
        })
        .collect();
    fs::write(dir.join(".env"), env).unwrap();
    let key = keys_in(&p.app.join(".env.keys")).remove(0);
    let mut got = json_map(&dotenvx(&p, &dir, &["get", "--format", "json"], Some(&key)).stdout);
    assert_eq!(
        got.remove("DOTENV_PUBLIC_KEY").unwrap(),
        table["DOTENV_PUBLIC_KEY"].as_str().unwrap()
    );
    assert_eq!(got, want, "dotenvx opens every value inject encrypted");
    // And `dotenvx run` hands a program the same bytes.
    let run = dotenvx(
        &p,
        &dir,
        &["run", "-q", "--", "printenv", "K002"],
        Some(&key),
    );
    assert_eq!(text(&run.stdout), format!("{}\n", values[2]));
}

// ------------------------------------------------------------------ crash safety

/// Every step of `encrypt` and `rotate` where a kill can land between two writes: the new
/// private key appended, then made durable; the sibling file created, written, made durable;
/// the rename. Built only with the test feature `fault-injection` (`.ci/run` runs it).
#[cfg(feature = "fault-injection")]
#[test]
fn a_kill_at_any_step_leaves_a_file_that_opens_with_a_key_in_the_keys_file() {
    const STEPS: [&str; 6] = [
        "key-written",
        "key-synced",
        "temp-created",
        "temp-written",
        "temp-synced",
        "renamed",
    ];
    let plain = {
        let p = TestEnv::new();
        p.write("s.toml", PLAIN);
        let out = export_json(&p, "s.toml", &[]);
        assert_eq!(out.status.code(), Some(0));
        json_map(&out.stdout)
    };
    let mut covered = 0;
    for command in ["encrypt", "rotate"] {
        for step in STEPS {
            let p = TestEnv::new();
            let file = p.write("s.toml", PLAIN);
            fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
            if command == "rotate" {
                expect(&p.run(["-q", "-f", "s.toml", "encrypt"]), 0, "", "");
            }
            let out = p
                .cmd()
                .env("INJECT_TEST_CRASH_AT", step)
                .args(["-q", "-f", "s.toml", command])
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(86),
                "{command} did not stop at {step}"
            );
            // Only the keys file: the file opens, every value as it was.
            let opened = export_json(&p, "s.toml", &[]);
            assert_eq!(text(&opened.stderr), "", "{command} killed at {step}");
            let mut got = json_map(&opened.stdout);
            got.remove("DOTENV_PUBLIC_KEY");
            assert_eq!(got, plain, "{command} killed at {step}");
            assert_eq!(
                fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
                0o640
            );
            // And the next run finishes the job, leaving no sibling behind.
            expect(&p.run(["-q", "-f", "s.toml", command]), 0, "", "");
            let mut got = json_map(&export_json(&p, "s.toml", &[]).stdout);
            got.remove("DOTENV_PUBLIC_KEY");
            assert_eq!(got, plain, "{command} rerun after {step}");
            let names: Vec<String> = fs::read_dir(&p.app)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert!(
                names.iter().all(|n| n == "s.toml" || n == ".env.keys"),
                "{names:?}"
            );
            covered += 1;
        }
    }
    assert_eq!(covered, 12);
}

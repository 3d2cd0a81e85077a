//! PURE: find the string values of a secrets file's text and replace some of them in place
//! (SPEC §15). Replacements are spliced into the original text at the spans `toml_edit`
//! reports, so every byte outside the values changed stays as it was: comments, order,
//! blank lines, quoting of other values, line endings.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

use crate::crypt;
use crate::flatten::KeyPath;

/// One string value of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The variable it belongs to: an array's strings are all at the array's path.
    pub path: KeyPath,
    pub span: Range<usize>,
    pub value: String,
    pub line: u32,
}

/// The string values of `text`, in file order, and the root `DOTENV_PUBLIC_KEY` (kept out of
/// the values). `None` when the text is no TOML that `toml_edit` reads; callers parse it with
/// `parse::parse_toml` first, whose error says where.
pub fn strings(text: &str) -> Option<(Vec<Found>, Option<Found>)> {
    let doc = Document::parse(text).ok()?;
    let mut walk = Walk {
        text,
        path: Vec::new(),
        found: Vec::new(),
    };
    walk.table(doc.as_table())?;
    let mut public = None;
    walk.found.retain(|f| {
        let is_public = f.path.0 == [crypt::PUBLIC_KEY];
        if is_public {
            public = Some(f.clone());
        }
        !is_public
    });
    Some((walk.found, public))
}

struct Walk<'t> {
    text: &'t str,
    path: Vec<String>,
    found: Vec<Found>,
}

impl Walk<'_> {
    fn table(&mut self, table: &Table) -> Option<()> {
        for (key, item) in table.iter() {
            self.path.push(key.to_string());
            match item {
                Item::None => {}
                Item::Value(value) => self.value(value, false)?,
                Item::Table(t) => self.table(t)?,
                Item::ArrayOfTables(tables) => {
                    // One variable (compact JSON): every string in it is at the array's path.
                    let depth = self.path.len();
                    for t in tables.iter() {
                        self.flat_table(t, depth)?;
                    }
                }
            }
            self.path.pop();
        }
        Some(())
    }

    /// A table inside an array: its strings belong to the array's path (`depth` segments).
    fn flat_table(&mut self, table: &Table, depth: usize) -> Option<()> {
        let saved = self.path.split_off(depth);
        for (_, item) in table.iter() {
            match item {
                Item::Value(value) => self.value(value, true)?,
                Item::Table(t) => self.flat_table(t, depth)?,
                Item::ArrayOfTables(tables) => {
                    for t in tables.iter() {
                        self.flat_table(t, depth)?;
                    }
                }
                Item::None => {}
            }
        }
        self.path.extend(saved);
        Some(())
    }

    fn value(&mut self, value: &Value, in_array: bool) -> Option<()> {
        match value {
            Value::String(s) => {
                let span = value.span()?;
                let line = 1 + self.text.get(..span.start)?.matches('\n').count();
                self.found.push(Found {
                    path: KeyPath(self.path.clone()),
                    span,
                    value: s.value().clone(),
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                });
            }
            Value::Array(items) => {
                for item in items.iter() {
                    self.value(item, true)?;
                }
            }
            Value::InlineTable(t) => {
                for (key, item) in t.iter() {
                    if in_array {
                        self.value(item, true)?;
                    } else {
                        self.path.push(key.to_string());
                        self.value(item, false)?;
                        self.path.pop();
                    }
                }
            }
            _ => {}
        }
        Some(())
    }
}

/// Is `path` among those `--key` names (all when none is named)? A name covers itself and
/// every key under it (`--key trello` covers `trello.api_key`).
pub fn selected(path: &KeyPath, keys: &[String]) -> bool {
    if keys.is_empty() {
        return true;
    }
    let path = path.to_string();
    keys.iter()
        .any(|k| path == *k || path.starts_with(&format!("{k}.")))
}

/// `text` with each span replaced by its new text. Spans must not overlap.
pub fn splice(text: &str, mut replacements: Vec<(Range<usize>, String)>) -> String {
    replacements.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (span, new) in replacements {
        out.push_str(&text[at..span.start]);
        out.push_str(&new);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The lines put at the top of a file that gets its first key pair (root keys must come
/// before the first table): dotenvx's note, in TOML comments.
pub fn public_key_header(public: &str) -> String {
    format!(
        "#/-------------------[DOTENV_PUBLIC_KEY]--------------------/\n#/            public-key encryption for .env files          /\n#/       [how it works](https://dotenvx.com/encryption)     /\n#/----------------------------------------------------------/\n{} = \"{public}\"\n\n",
        crypt::PUBLIC_KEY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# top comment\nroot = 'r'   # trailing\nn = 1\n\n[t]\n  k = \"v\\n\"\n  i = { x = \"\"\"\nmulti\"\"\", y = 2 }\n  a = [ \"p\", 'q' ]\n[[srv]]\nname = \"s1\"\n[[srv]]\nname = \"s2\"\n[d.e]\nf = \"F\"\r\n";

    #[test]
    fn finds_every_string_with_its_variable_path() {
        let (found, public) = strings(FILE).unwrap();
        assert_eq!(public, None);
        let got: Vec<(String, &str, u32, &str)> = found
            .iter()
            .map(|f| {
                (
                    f.path.to_string(),
                    f.value.as_str(),
                    f.line,
                    &FILE[f.span.clone()],
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("root".into(), "r", 2, "'r'"),
                ("t.k".into(), "v\n", 6, "\"v\\n\""),
                ("t.i.x".into(), "multi", 7, "\"\"\"\nmulti\"\"\""),
                ("t.a".into(), "p", 9, "\"p\""),
                ("t.a".into(), "q", 9, "'q'"),
                ("srv".into(), "s1", 11, "\"s1\""),
                ("srv".into(), "s2", 13, "\"s2\""),
                ("d.e.f".into(), "F", 15, "\"F\""),
            ]
        );
    }

    #[test]
    fn splicing_keeps_every_other_byte() {
        let (found, _) = strings(FILE).unwrap();
        let replaced = splice(
            FILE,
            found
                .iter()
                .map(|f| (f.span.clone(), "\"X\"".to_string()))
                .collect(),
        );
        let want = FILE
            .replace("'r'", "\"X\"")
            .replace("\"v\\n\"", "\"X\"")
            .replace("\"\"\"\nmulti\"\"\"", "\"X\"")
            .replace("\"p\", 'q'", "\"X\", \"X\"")
            .replace("\"s1\"", "\"X\"")
            .replace("\"s2\"", "\"X\"")
            .replace("\"F\"", "\"X\"");
        assert_eq!(replaced, want);
        assert_eq!(splice(FILE, vec![]), FILE);
    }

    #[test]
    fn the_public_key_is_found_apart() {
        let text = format!(
            "{}[t]\nk = \"v\"\nDOTENV_PUBLIC_KEY = \"nested\"\n",
            public_key_header("02ab")
        );
        let (found, public) = strings(&text).unwrap();
        assert_eq!(public.unwrap().value, "02ab");
        assert_eq!(
            found.len(),
            2,
            "a nested DOTENV_PUBLIC_KEY is an ordinary value"
        );
    }

    #[test]
    fn toml_strings_round_trip() {
        for s in [
            "",
            "a",
            "q\"uo'te",
            "back\\slash\\",
            "multi\nline\r\n",
            "tab\t",
            "\u{1}\u{7f}\u{85}\u{8}\u{c}",
            "é ß 😀",
        ] {
            let text = format!("k = {}", crate::value::toml_quoted(s));
            let (found, _) = strings(&text).unwrap();
            assert_eq!(found[0].value, s, "{text}");
        }
    }

    #[test]
    fn selection_by_key_path() {
        let path = KeyPath(vec!["trello".into(), "api key".into()]);
        assert!(selected(&path, &[]));
        assert!(selected(&path, &["trello".into()]));
        assert!(selected(&path, &["trello.\"api key\"".into()]));
        assert!(!selected(&path, &["trel".into()]));
        assert!(!selected(&path, &["other".into()]));
    }
}

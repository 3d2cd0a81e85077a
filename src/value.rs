//! PURE: the secrets tree and the text each value becomes (SPEC §3.2).

use std::fmt::Write as _;
use std::sync::Arc;

/// Where a key was written: a source (file or directory entry) and, for TOML, its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub source: Arc<str>,
    pub line: Option<u32>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.source),
            None => f.write_str(&self.source),
        }
    }
}

#[cfg(test)]
impl Origin {
    /// `s.toml:LINE`, for the unit tests of the core.
    pub(crate) fn test(line: u32) -> Self {
        Origin {
            source: "s.toml".into(),
            line: Some(line),
        }
    }
}

/// A value as read from a source. Integers are already range-checked, datetimes already text.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// RFC 3339 text, as the TOML datetime prints itself.
    Datetime(String),
    Array(Vec<Value>),
    Table(Table),
}

/// A table in file order.
pub type Table = Vec<Entry>;

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    pub origin: Origin,
}

/// Why a value cannot become the text of an environment variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unrepresentable {
    /// A NUL byte cannot be part of a C string, so no variable can hold it.
    Nul,
    /// JSON has no spelling for `inf` or `nan`.
    NonFiniteInArray,
}

/// The text of a scalar or array value. Tables are flattened instead and never reach here.
pub fn to_text(value: &Value) -> Result<String, Unrepresentable> {
    Ok(match value {
        Value::String(s) if s.contains('\0') => return Err(Unrepresentable::Nul),
        Value::String(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Float(x) => python_float(*x),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.clone(),
        Value::Array(_) | Value::Table(_) => {
            let mut out = String::new();
            write_json(value, &mut out)?;
            out
        }
    })
}

/// [`to_text`], taking the value: a string's text moves instead of being copied.
pub fn into_text(value: Value) -> Result<String, Unrepresentable> {
    match value {
        Value::String(s) if s.contains('\0') => Err(Unrepresentable::Nul),
        Value::String(s) | Value::Datetime(s) => Ok(s),
        value => to_text(&value),
    }
}

/// Compact JSON, table keys in file order, floats spelled as Python spells them.
fn write_json(value: &Value, out: &mut String) -> Result<(), Unrepresentable> {
    match value {
        Value::String(s) | Value::Datetime(s) => json_string(s, out),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) if !x.is_finite() => return Err(Unrepresentable::NonFiniteInArray),
        Value::Float(x) => out.push_str(&python_float(*x)),
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        Value::Table(entries) => {
            out.push('{');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(&entry.key, out);
                out.push(':');
                write_json(&entry.value, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// The hash of a key or a variable's name in inject's own indexes (`flatten`, the parser's
/// tables): Fx, fast on short strings; the input is the user's own file.
pub fn hash(text: &str) -> u64 {
    use std::hash::BuildHasher as _;
    rustc_hash::FxBuildHasher.hash_one(text)
}

/// A JSON string literal (RFC 8259 escaping; non-ASCII stays UTF-8).
pub fn json_string(s: &str, out: &mut String) {
    quoted(s, out, false);
}

/// A TOML basic string: JSON's escapes, and DEL escaped too, as TOML wants it; the C1
/// controls (U+0080–U+009F, allowed raw) are escaped as well, so that no invisible character
/// lands in a file a person reads.
pub fn toml_string(s: &str, out: &mut String) {
    quoted(s, out, true);
}

/// [`toml_string`], as a new string.
pub fn toml_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    toml_string(s, &mut out);
    out
}

fn quoted(s: &str, out: &mut String, toml: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c < ' ' || (toml && c.is_control()) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `str(float)`: the shortest digits that read back to the same double, in fixed
/// notation when the decimal exponent is in `-4..16`, else `d.ddde±XX`.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // `{:e}` gives Rust's shortest round-trip digits, e.g. `-1.2345e-7`.
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::from(sign);
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.unsigned_abs()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: Value) -> Entry {
        Entry {
            key: key.into(),
            value,
            origin: Origin {
                source: "t.toml".into(),
                line: Some(1),
            },
        }
    }

    #[test]
    fn json_and_toml_strings_differ_only_in_del_and_c1() {
        let table: &[(&str, &str, &str)] = &[
            ("plain é", r#""plain é""#, r#""plain é""#),
            ("q\"b\\", r#""q\"b\\""#, r#""q\"b\\""#),
            ("\n\r\t\u{8}\u{c}", r#""\n\r\t\b\f""#, r#""\n\r\t\b\f""#),
            ("\u{1}\u{1f}", r#""\u0001\u001f""#, r#""\u0001\u001f""#),
            ("\u{7f}", "\"\u{7f}\"", r#""\u007f""#),
            ("\u{85}\u{9f}", "\"\u{85}\u{9f}\"", r#""\u0085\u009f""#),
            ("\u{a0}", "\"\u{a0}\"", "\"\u{a0}\""),
        ];
        for (text, json, toml) in table {
            let mut out = String::new();
            json_string(text, &mut out);
            assert_eq!(out, *json, "{text:?}");
            assert_eq!(toml_quoted(text), *toml, "{text:?}");
        }
    }

    #[test]
    fn floats_are_spelled_as_python_str() {
        let table: &[(f64, &str)] = &[
            (5.0, "5.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e100, "1e+100"),
            (1e-7, "1e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456789.125, "123456789.125"),
            (3.0e-5, "3e-05"),
            (1e-4, "0.0001"),
            (1.5e-5, "1.5e-05"),
            (-2.5e-300, "-2.5e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (12.5, "12.5"),
            (-1234.0, "-1234.0"),
        ];
        for (x, want) in table {
            assert_eq!(python_float(*x), *want, "python_float({x:?})");
        }
    }

    #[test]
    fn scalars_become_text() {
        let table = [
            (Value::String("a\nb".into()), "a\nb"),
            (Value::String(String::new()), ""),
            (Value::Integer(255), "255"),
            (Value::Integer(i64::MIN), "-9223372036854775808"),
            (Value::Boolean(true), "true"),
            (Value::Boolean(false), "false"),
            (Value::Datetime("1979-05-27".into()), "1979-05-27"),
        ];
        for (value, want) in table {
            assert_eq!(to_text(&value).as_deref(), Ok(want), "{value:?}");
        }
    }

    #[test]
    fn arrays_become_compact_json_in_file_order() {
        let array = Value::Array(vec![
            Value::String("a".into()),
            Value::Integer(1),
            Value::Boolean(true),
            Value::Float(1e100),
            Value::Datetime("07:32:00".into()),
            Value::Array(vec![]),
            Value::Table(vec![
                entry("zeta", Value::String("q\"\\\u{1}é".into())),
                entry("alpha", Value::Float(2.0)),
            ]),
        ]);
        assert_eq!(
            to_text(&array).unwrap(),
            r#"["a",1,true,1e+100,"07:32:00",[],{"zeta":"q\"\\\u0001é","alpha":2.0}]"#
        );
    }

    #[test]
    fn unrepresentable_values_are_refused() {
        assert_eq!(
            to_text(&Value::String("a\0b".into())),
            Err(Unrepresentable::Nul)
        );
        let nan = Value::Array(vec![Value::Float(1.0), Value::Float(f64::NAN)]);
        assert_eq!(to_text(&nan), Err(Unrepresentable::NonFiniteInArray));
        // A NUL inside an array is escaped by JSON, so it is representable.
        let nul = Value::Array(vec![Value::String("\0".into())]);
        assert_eq!(to_text(&nul).unwrap(), r#"["\u0000"]"#);
    }
}

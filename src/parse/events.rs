//! PURE: `toml_parser`'s events straight into inject's tree: no list of events, no `DeTable`,
//! no copy. Keys and strings are decoded once into the `String`s the tree keeps.
//!
//! This only decides whether a document is valid, and builds it when it is: when it is not,
//! `parse` asks the `toml` crate for its message, so that errors read exactly as they always
//! have.

use std::borrow::Cow;
use std::sync::Arc;

use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::{
    Event, EventKind, EventReceiver, RecursionGuard, ValidateWhitespace, parse_document,
};
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

use super::tree::{Document, Key, Rejected, Tab, assign, assign_inline};
use crate::value::{Table, Value};

/// How deep arrays and inline tables may nest, and how many dots a key may have: the `toml`
/// crate's limit, so that the same documents are refused.
const LIMIT: u32 = 80;

/// The document as inject's table, or `None` when `toml` 1.2 would refuse it (a syntax error, a
/// broken table rule, an integer that does not fit in 64 bits).
pub(super) fn build(text: &str, source: &Arc<str>) -> Option<Table> {
    let toml = Source::new(text);
    let tokens = toml.lex().into_vec();
    let mut builder = Builder {
        toml,
        source,
        line: 1,
        doc: Document::default(),
        keys: Vec::new(),
        stack: Vec::new(),
        broken: false,
    };
    let mut verdict = Verdict::default();
    {
        let mut whitespace = ValidateWhitespace::new(&mut builder, toml);
        let mut guard = RecursionGuard::new(&mut whitespace, LIMIT);
        parse_document(&tokens, &mut guard, &mut verdict);
    }
    if verdict.failed || builder.broken || !builder.stack.is_empty() {
        return None;
    }
    Some(builder.doc.end().ok()?.into_table(source))
}

/// The text of a key or string that needs no decoding, taken as it is: a bare key, or a
/// one-line string without escapes or control characters (most of a secrets file). `None`
/// leaves the rest to `toml_parser`'s decoder, which also judges it.
fn plain(raw: &str, encoding: Option<Encoding>, key: bool) -> Option<&str> {
    // Every byte is looked at, without a branch per byte: strings are short, and mostly plain.
    fn only(text: &str, allowed: impl Fn(u8) -> bool) -> bool {
        let refused = text
            .as_bytes()
            .iter()
            .fold(0u8, |any, &b| any | u8::from(!allowed(b)));
        refused == 0
    }
    match encoding {
        None if key => {
            let bare = |b: u8| b.is_ascii_alphanumeric() | (b == b'_') | (b == b'-');
            (!raw.is_empty() && only(raw, bare)).then_some(raw)
        }
        Some(Encoding::BasicString) => {
            let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
            let unescaped =
                |b: u8| ((b >= 0x20) & (b != 0x7f) & (b != b'"') & (b != b'\\')) | (b == b'\t');
            only(inner, unescaped).then_some(inner)
        }
        Some(Encoding::LiteralString) => {
            let inner = raw.strip_prefix('\'')?.strip_suffix('\'')?;
            let literal = |b: u8| ((b >= 0x20) & (b != 0x7f) & (b != b'\'')) | (b == b'\t');
            only(inner, literal).then_some(inner)
        }
        _ => None,
    }
}

/// Whether the parser or a decoder found anything wrong.
#[derive(Default)]
struct Verdict {
    failed: bool,
}

impl ErrorSink for Verdict {
    fn report_error(&mut self, _error: ParseError) {
        self.failed = true;
    }
}

/// An array or an inline table still open.
enum Frame {
    Array(Vec<Value>),
    Inline { table: Tab, keys: Vec<Key> },
}

struct Builder<'s, 'l> {
    toml: Source<'s>,
    source: &'l Arc<str>,
    /// The line being read: 1 + the newlines seen, between tokens and in multi-line strings.
    line: u32,
    doc: Document,
    /// The key being read, outside inline tables: a header's or a key/value pair's.
    keys: Vec<Key>,
    stack: Vec<Frame>,
    /// A rule was broken: the rest of the document is only parsed, not built.
    broken: bool,
}

impl<'s> Builder<'s, '_> {
    fn check(&mut self, result: Result<(), Rejected>) {
        if result.is_err() {
            self.broken = true;
        }
    }

    /// The `toml` crate refuses keys with as many dots as its nesting limit.
    fn too_deep(keys: &[Key]) -> bool {
        keys.len() > LIMIT as usize
    }

    fn header(&mut self, array: bool) {
        if self.broken {
            return;
        }
        let keys = std::mem::take(&mut self.keys);
        if !self.stack.is_empty() || Self::too_deep(&keys) {
            self.broken = true;
            return;
        }
        let result = self.doc.header(keys, array);
        self.check(result);
    }

    /// The source text of a key or scalar event; a span outside the text breaks the document.
    fn raw(&mut self, kind: EventKind, span: Span, encoding: Option<Encoding>) -> Option<Raw<'s>> {
        let raw = self.toml.get(Event::new_unchecked(kind, encoding, span));
        self.broken |= raw.is_none();
        raw
    }

    fn key(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        if self.broken {
            return;
        }
        let Some(raw) = self.raw(EventKind::SimpleKey, span, encoding) else {
            return;
        };
        let text = match plain(raw.as_str(), encoding, true) {
            Some(text) => text.to_owned(),
            None => {
                let mut text = String::new();
                raw.decode_key(&mut text, error);
                text
            }
        };
        let key = Key {
            text,
            line: self.line,
        };
        match self.stack.last_mut() {
            None => self.keys.push(key),
            Some(Frame::Inline { keys, .. }) => keys.push(key),
            Some(Frame::Array(_)) => self.broken = true,
        }
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        if self.broken {
            return;
        }
        let Some(raw) = self.raw(EventKind::Scalar, span, encoding) else {
            return;
        };
        if let Some(Encoding::MlBasicString | Encoding::MlLiteralString) = encoding {
            let newlines = memchr::memchr_iter(b'\n', raw.as_bytes()).count();
            self.line = self.line.saturating_add(newlines as u32);
        }
        if encoding.is_some() {
            // A quoted string: decoded straight into the `String` the tree keeps.
            let text = match plain(raw.as_str(), encoding, false) {
                Some(text) => text.to_owned(),
                None => {
                    let mut text = String::new();
                    let _ = raw.decode_scalar(&mut text, error);
                    text
                }
            };
            return self.value(Value::String(text));
        }
        let mut text = Cow::Borrowed("");
        let value = match raw.decode_scalar(&mut text, error) {
            ScalarKind::Boolean(b) => Some(Value::Boolean(b)),
            // Out of range: `parse` names the key, from the `toml` crate's tree.
            ScalarKind::Integer(radix) => i64::from_str_radix(&text, radix.value())
                .ok()
                .map(Value::Integer),
            ScalarKind::Float => Some(Value::Float(super::parse_float(&text))),
            ScalarKind::DateTime => super::datetime(&text).map(Value::Datetime),
            ScalarKind::String => Some(Value::String(text.into_owned())),
        };
        match value {
            Some(value) => self.value(value),
            None => self.broken = true,
        }
    }

    /// A value is complete: it goes to the array, inline table or section it was written in.
    fn value(&mut self, value: Value) {
        let result = match self.stack.last_mut() {
            None if Self::too_deep(&self.keys) => Err(Rejected),
            None => assign(&mut self.doc.body, &mut self.keys, value),
            Some(Frame::Array(items)) => {
                items.push(value);
                Ok(())
            }
            Some(Frame::Inline { keys, .. }) if Self::too_deep(keys) => Err(Rejected),
            Some(Frame::Inline { table, keys }) => assign_inline(table, keys, value),
        };
        self.check(result);
    }

    fn close(&mut self, array: bool) {
        if self.broken {
            return;
        }
        match self.stack.pop() {
            Some(Frame::Array(items)) if array => self.value(Value::Array(items)),
            Some(Frame::Inline { table, .. }) if !array => {
                self.value(Value::Table(table.into_table(self.source)));
            }
            _ => self.broken = true,
        }
    }
}

impl EventReceiver for Builder<'_, '_> {
    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.header(false);
    }
    fn array_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.header(true);
    }
    fn inline_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.stack.push(Frame::Inline {
            table: Tab::default(),
            keys: Vec::new(),
        });
        true
    }
    fn inline_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.close(false);
    }
    fn array_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.stack.push(Frame::Array(Vec::new()));
        true
    }
    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.close(true);
    }
    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        self.key(span, encoding, error);
    }
    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, error: &mut dyn ErrorSink) {
        Builder::scalar(self, span, encoding, error);
    }
    fn newline(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.line = self.line.saturating_add(1);
    }
    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.broken = true;
    }
}

//! PURE: a secret's JSON text as a table (SPEC §11). A hand-written serde visitor, not
//! `serde_json::Value`: that keeps only the last of two equal keys, and a secret whose JSON
//! repeats a key is an error here, as TOML's duplicate keys are.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{StoreError, key_origin};
use crate::flatten::KeyPath;
use crate::value::{Entry, Table, Value};

/// A JSON object as a table, keys in their written order. JSON values follow the TOML rules
/// of §3.2: integers that fit in 64 bits stay integers, every other number is a float.
pub fn json_table(spec: &str, text: &str) -> Result<Table, StoreError> {
    let json: Json = serde_json::from_str(text).map_err(|error| json_error(spec, &error))?;
    match json {
        Json::Object(members) => object(spec, members, &mut Vec::new()),
        _ => Err(StoreError::Json {
            spec: spec.to_string(),
            line: 1,
            column: 1,
            message: "expected a JSON object".into(),
        }),
    }
}

fn json_error(spec: &str, error: &serde_json::Error) -> StoreError {
    // Syntax messages are fixed texts ("expected `,` or `}`", "EOF while parsing a string");
    // a data error could quote the input, so its text is never used (our visitor takes any
    // value, so none is expected).
    let message = match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            let text = error.to_string();
            let location = format!(" at line {} column {}", error.line(), error.column());
            text.strip_suffix(&location).unwrap_or(&text).to_string()
        }
        _ => "unsupported value".to_string(),
    };
    StoreError::Json {
        spec: spec.to_string(),
        line: error.line(),
        column: error.column(),
        message,
    }
}

fn object(
    spec: &str,
    members: Vec<(String, Json)>,
    path: &mut Vec<String>,
) -> Result<Table, StoreError> {
    let mut seen = HashSet::new();
    let mut table = Table::with_capacity(members.len());
    for (key, json) in members {
        path.push(key.clone());
        if !seen.insert(key.clone()) {
            return Err(StoreError::DuplicateKey {
                spec: spec.to_string(),
                key: KeyPath(path.clone()),
            });
        }
        let value = match json {
            Json::Object(inner) => Value::Table(object(spec, inner, path)?),
            other => scalar(spec, other, path)?,
        };
        table.push(Entry {
            key,
            value,
            origin: key_origin(spec, path),
        });
        path.pop();
    }
    Ok(table)
}

/// A value that is not a section; `path` is the key it belongs to (for an array item too).
fn scalar(spec: &str, json: Json, path: &mut Vec<String>) -> Result<Value, StoreError> {
    Ok(match json {
        Json::Null => {
            return Err(StoreError::Null {
                spec: spec.to_string(),
                key: KeyPath(path.clone()),
            });
        }
        Json::Bool(b) => Value::Boolean(b),
        Json::Integer(i) => Value::Integer(i),
        Json::Float(x) => Value::Float(x),
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| match item {
                    // Tables inside arrays are never flattened, only written as JSON.
                    Json::Object(inner) => object(spec, inner, path).map(Value::Table),
                    other => scalar(spec, other, path),
                })
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(inner) => Value::Table(object(spec, inner, path)?),
    })
}

/// JSON as written: object members in order, duplicates kept so they can be reported.
#[derive(Debug)]
enum Json {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Json, E> {
        Ok(Json::Integer(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Json, E> {
        Ok(i64::try_from(u).map_or(Json::Float(u as f64), Json::Integer))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Json, E> {
        Ok(Json::Float(x))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_string()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry()? {
            members.push(member);
        }
        Ok(Json::Object(members))
    }
}

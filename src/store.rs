//! PURE: central secret stores (SPEC §11) as tables. What `aws-sm://` and `aws-ssm://` name,
//! and how a secret's text or a list of parameters becomes a `Table` that merges and flattens
//! like a file. Built with or without the `aws` feature, so a plain `cargo test` covers these
//! rules; the calls to AWS live in `aws.rs`.
// Without the `aws` feature only the tests and the two prefixes use this module.
#![cfg_attr(not(feature = "aws"), allow(dead_code))]

use std::fmt;
use std::sync::Arc;

use crate::flatten::KeyPath;
use crate::parse::{self, ParseError};
use crate::value::{Entry, Origin, Table, Value};

mod json;
pub use json::json_table;

pub const SECRETS_MANAGER: &str = "aws-sm://";
pub const PARAMETER_STORE: &str = "aws-ssm://";

/// A source that names a central store rather than a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// `aws-sm://SECRET_ID`: a secret's name or ARN.
    SecretsManager { id: String },
    /// `aws-ssm:///PATH/`: every parameter under PATH, which starts with `/` and has no
    /// trailing `/` here (except the root, `/`).
    ParameterStore { path: String },
}

impl Spec {
    /// `None` when `text` is not a store source at all (then it is a path).
    pub fn parse(text: &str) -> Option<Result<Spec, StoreError>> {
        if let Some(id) = text.strip_prefix(SECRETS_MANAGER) {
            return Some(if id.is_empty() {
                Err(StoreError::EmptySecretId(text.to_string()))
            } else {
                Ok(Spec::SecretsManager { id: id.to_string() })
            });
        }
        let path = text.strip_prefix(PARAMETER_STORE)?;
        if !path.starts_with('/') {
            return Some(Err(StoreError::RelativePath(text.to_string())));
        }
        let trimmed = path.trim_end_matches('/');
        let path = if trimmed.is_empty() { "/" } else { trimmed };
        Some(Ok(Spec::ParameterStore {
            path: path.to_string(),
        }))
    }
}

impl Spec {
    /// The IAM action a read needs.
    pub fn action(&self) -> &'static str {
        match self {
            Spec::SecretsManager { .. } => "secretsmanager:GetSecretValue",
            Spec::ParameterStore { .. } => "ssm:GetParametersByPath",
        }
    }

    pub fn service(&self) -> &'static str {
        match self {
            Spec::SecretsManager { .. } => "Secrets Manager",
            Spec::ParameterStore { .. } => "Parameter Store",
        }
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::SecretsManager { id } => write!(f, "{SECRETS_MANAGER}{id}"),
            Spec::ParameterStore { path } if path == "/" => write!(f, "{PARAMETER_STORE}/"),
            Spec::ParameterStore { path } => write!(f, "{PARAMETER_STORE}{path}/"),
        }
    }
}

/// Why a store's answer cannot become a table. Names the source and key paths, never a value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{0}`: the secret id is empty: write `aws-sm://NAME` or `aws-sm://ARN`")]
    EmptySecretId(String),
    #[error(
        "`{0}`: a parameter path starts with `/`: write it with three slashes, e.g. `aws-ssm:///prod/app/`"
    )]
    RelativePath(String),
    #[error(
        "`{spec}`: invalid JSON at line {line}, column {column}: {message} (the text is not shown: it may hold a secret)"
    )]
    Json {
        spec: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("`{spec}`: the JSON key `{key}` appears twice: remove one of them")]
    DuplicateKey { spec: String, key: KeyPath },
    #[error(
        "`{spec}`: `{key}` is JSON `null`, which no environment variable can hold: remove the key, or give it a value (`\"\"` for empty)"
    )]
    Null { spec: String, key: KeyPath },
    #[error("{detail}; a secret read by inject holds a JSON object (key/value pairs) or TOML text")]
    NeitherJsonNorToml { spec: String, detail: String },
    /// A TOML secret that parses but cannot be a table (an integer out of range).
    #[error(transparent)]
    Toml(Box<ParseError>),
    #[error(
        "`{spec}`: the secret holds binary data (`SecretBinary`): inject reads `SecretString` only; store the secret as a JSON object or TOML text"
    )]
    Binary { spec: String },
    #[error(
        "`{spec}`: the parameter `{parent}` is also the parent of `{child}`, so `{key}` would be both a value and a section: rename or delete one of them"
    )]
    ParameterCollision {
        spec: String,
        parent: String,
        child: String,
        key: KeyPath,
    },
    #[error(
        "`{spec}`: the store returned the parameter `{name}`, which is not a plain path under the one asked for: report this"
    )]
    UnexpectedName { spec: String, name: String },
    /// A failed call to the store: code, what happened, the fix (see `call_error`).
    #[error("`{spec}`: {message}")]
    Service { spec: String, message: String },
}

impl StoreError {
    /// The source as written, for a report that places each finding (`check`); `None` when
    /// a TOML secret's own error says where.
    pub fn spec(&self) -> Option<&str> {
        match self {
            StoreError::EmptySecretId(spec) | StoreError::RelativePath(spec) => Some(spec),
            StoreError::Json { spec, .. }
            | StoreError::DuplicateKey { spec, .. }
            | StoreError::Null { spec, .. }
            | StoreError::NeitherJsonNorToml { spec, .. }
            | StoreError::Binary { spec }
            | StoreError::ParameterCollision { spec, .. }
            | StoreError::UnexpectedName { spec, .. }
            | StoreError::Service { spec, .. } => Some(spec),
            StoreError::Toml(_) => None,
        }
    }
}

/// A secret's `SecretString` (§11): JSON when it starts with `{`, else TOML. Every entry's
/// origin is `SPEC#key.path`.
pub fn secret_table(spec: &str, text: &str) -> Result<Table, StoreError> {
    if text.trim_start().starts_with('{') {
        return json_table(spec, text);
    }
    let mut table = parse::parse_toml(spec, text.as_bytes()).map_err(|error| match error {
        ParseError::Syntax { .. } | ParseError::NotUtf8 { .. } => StoreError::NeitherJsonNorToml {
            spec: spec.to_string(),
            detail: error.to_string(),
        },
        other => StoreError::Toml(Box::new(other)),
    })?;
    relabel(spec, &mut table, &mut Vec::new());
    Ok(table)
}

/// TOML entries know their line; a remote secret's entries are named by key path instead.
fn relabel(spec: &str, table: &mut Table, path: &mut Vec<String>) {
    for entry in table {
        path.push(entry.key.clone());
        entry.origin = key_origin(spec, path);
        if let Value::Table(inner) = &mut entry.value {
            relabel(spec, inner, path);
        }
        path.pop();
    }
}

pub(crate) fn key_origin(spec: &str, path: &[String]) -> Origin {
    Origin {
        source: Arc::from(format!("{spec}#{}", KeyPath(path.to_vec()))),
        line: None,
    }
}

/// One parameter from Parameter Store: its full name and its (decrypted) value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub value: String,
}

/// Parameters under `path` as a table (§11): the segments after `path` are the key path
/// (`/prod/app/trello/api_key` under `/prod/app` is `trello.api_key`). Sorted by segments, so
/// the result does not depend on the order of the store's pages. Each entry's origin is the
/// parameter's own address, `aws-ssm:///prod/app/trello/api_key`.
pub fn parameters_table(
    spec: &str,
    path: &str,
    mut parameters: Vec<Parameter>,
) -> Result<Table, StoreError> {
    parameters.sort_by(|a, b| a.name.split('/').cmp(b.name.split('/')));
    let prefix = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    let mut table = Table::new();
    for parameter in parameters {
        let segments: Vec<&str> = match parameter.name.strip_prefix(&prefix) {
            Some(rest) => rest.split('/').collect(),
            None => Vec::new(),
        };
        if segments.is_empty() || segments.iter().any(|s| s.is_empty()) {
            return Err(StoreError::UnexpectedName {
                spec: spec.to_string(),
                name: parameter.name,
            });
        }
        insert(spec, &prefix, &mut table, &segments, 0, &parameter)?;
    }
    Ok(table)
}

fn insert(
    spec: &str,
    prefix: &str,
    table: &mut Table,
    segments: &[&str],
    depth: usize,
    parameter: &Parameter,
) -> Result<(), StoreError> {
    let key = segments[depth];
    let here = || KeyPath(segments[..=depth].iter().map(|s| s.to_string()).collect());
    let collision = |parent: String, child: String| StoreError::ParameterCollision {
        spec: spec.to_string(),
        parent,
        child,
        key: here(),
    };
    let last = depth + 1 == segments.len();
    let existing = table.iter_mut().find(|entry| entry.key == key);
    match (existing, last) {
        (None, true) => table.push(Entry {
            key: key.to_string(),
            value: Value::String(parameter.value.clone()),
            origin: parameter_origin(&parameter.name),
        }),
        (None, false) => {
            let mut inner = Table::new();
            insert(spec, prefix, &mut inner, segments, depth + 1, parameter)?;
            table.push(Entry {
                key: key.to_string(),
                value: Value::Table(inner),
                origin: parameter_origin(&format!("{prefix}{}", segments[..=depth].join("/"))),
            });
        }
        (Some(entry), false) => match &mut entry.value {
            Value::Table(inner) => insert(spec, prefix, inner, segments, depth + 1, parameter)?,
            _ => {
                return Err(collision(
                    parameter_name(&entry.origin),
                    parameter.name.clone(),
                ));
            }
        },
        (Some(entry), true) => {
            let child = match &entry.value {
                Value::Table(inner) => first_leaf(inner),
                _ => parameter_name(&entry.origin),
            };
            return Err(collision(parameter.name.clone(), child));
        }
    }
    Ok(())
}

fn parameter_origin(name: &str) -> Origin {
    Origin {
        source: Arc::from(format!("{PARAMETER_STORE}{name}")),
        line: None,
    }
}

fn parameter_name(origin: &Origin) -> String {
    origin
        .source
        .strip_prefix(PARAMETER_STORE)
        .unwrap_or(&origin.source)
        .to_string()
}

fn first_leaf(table: &Table) -> String {
    match table.first() {
        Some(Entry {
            value: Value::Table(inner),
            ..
        }) => first_leaf(inner),
        Some(entry) => parameter_name(&entry.origin),
        None => String::new(),
    }
}

/// Why a call to a store failed, as plain facts that `aws.rs` reads off the SDK's error.
/// Every text here comes from `Display` of errors or the service's own error message, never
/// from a response body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure<'a> {
    /// No answer in time: connect, read, attempt or the whole read.
    TimedOut { detail: Option<&'a str> },
    /// The credential chain gave no credentials.
    NoCredentials { detail: &'a str },
    /// No connection to the endpoint.
    Unreachable { detail: &'a str },
    /// The service answered with an error: its code (`None` when the SDK could not read one
    /// from the body), the HTTP status, and the service's message.
    Answered {
        code: Option<&'a str>,
        status: Option<u16>,
        message: Option<&'a str>,
    },
}

/// The call that failed: which source, in which region, with which time budget.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub spec: &'a Spec,
    pub region: &'a str,
    pub timeout: std::time::Duration,
}

/// One line that names the source, the AWS error code, and what to do; for an access error
/// the IAM action.
pub fn call_error(call: &Call, failure: Failure) -> StoreError {
    let Call {
        spec,
        region,
        timeout,
    } = *call;
    let service = spec.service();
    let parts: Vec<String> = match failure {
        Failure::TimedOut { detail } => vec![
            format!("no answer from AWS within {} s", timeout.as_secs()),
            detail.unwrap_or_default().to_string(),
            "check the network path to the endpoint (a VPC endpoint or a NAT gateway for a private subnet), or give more time with `--timeout SECONDS`".into(),
        ],
        Failure::NoCredentials { detail } => vec![
            "could not get AWS credentials".into(),
            detail.to_string(),
            "set `AWS_PROFILE`, or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, or run with an ECS task role or an instance profile".into(),
        ],
        Failure::Unreachable { detail } => vec![
            format!("cannot reach {service} in region `{region}`"),
            detail.to_string(),
            "check the network, `AWS_REGION` and `AWS_ENDPOINT_URL`".into(),
        ],
        Failure::Answered {
            code,
            status,
            message,
        } => {
            let code = code.filter(|c| !c.is_empty());
            // Without a readable code (moto, a proxy), the HTTP status stands in for it.
            let label = match (code, status) {
                (Some(code), _) => code.to_string(),
                (None, Some(status)) => format!("HTTP {status}"),
                (None, None) => "no error code".into(),
            };
            // A message without a code was not read from an AWS error: leave it out.
            let message = message
                .filter(|_| code.is_some())
                .map(|m| one_line(m).trim_end_matches('.').to_string())
                .unwrap_or_default();
            let denied =
                matches!(code, Some("AccessDeniedException" | "AccessDenied")) || status == Some(403);
            let kms = matches!(
                code,
                Some("DecryptionFailure" | "KMSAccessDeniedException" | "InvalidKeyId")
            ) || (denied && message.to_ascii_lowercase().contains("kms"));
            let rejected = matches!(
                code,
                Some(
                    "UnrecognizedClientException"
                        | "InvalidSignatureException"
                        | "ExpiredTokenException"
                        | "InvalidClientTokenId"
                        | "SignatureDoesNotMatch"
                )
            );
            let (what, fix) = if kms {
                (
                    "cannot decrypt",
                    "the credentials in use need `kms:Decrypt` on the KMS key that encrypts it"
                        .to_string(),
                )
            } else if denied {
                let key = match spec {
                    Spec::SecretsManager { .. } => "its KMS key",
                    Spec::ParameterStore { .. } => "the KMS key of its SecureString parameters",
                };
                (
                    "access denied",
                    format!(
                        "the credentials in use need `{}` on it (and `kms:Decrypt` on {key} if that is a customer-managed key)",
                        spec.action()
                    ),
                )
            } else if rejected {
                (
                    "credentials rejected",
                    "the AWS credentials in use are invalid or expired: refresh them".into(),
                )
            } else if code == Some("ResourceNotFoundException") {
                (
                    "not found",
                    format!("check the name or ARN, and the region (`AWS_REGION`, now `{region}`)"),
                )
            } else {
                ("the call failed", String::new())
            };
            vec![format!("{service}: {what} ({label})"), message, fix]
        }
    };
    let text: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    service_error(spec, &text.join(": "))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A failure that is not about the answer's content, e.g. no region.
pub fn service_error(spec: &Spec, message: &str) -> StoreError {
    StoreError::Service {
        spec: spec.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::{Options, flatten};

    const SPEC: &str = "aws-sm://prod/app";

    fn vars(table: &Table) -> Vec<(String, String, String)> {
        flatten(table, &Options::default())
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.value, v.origin.to_string()))
            .collect()
    }

    fn one_json(value: &str) -> String {
        let table = json_table(SPEC, &format!("{{\"k\": {value}}}")).unwrap();
        let all = vars(&table);
        assert_eq!(all.len(), 1, "{value}: {all:?}");
        all[0].1.clone()
    }

    #[test]
    fn specs_are_parsed() {
        let sm = |id: &str| Some(Ok(Spec::SecretsManager { id: id.into() }));
        let ssm = |path: &str| Some(Ok(Spec::ParameterStore { path: path.into() }));
        let rows: [(&str, Option<Result<Spec, StoreError>>); 7] = [
            ("aws-sm://prod/app", sm("prod/app")),
            (
                "aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/app-AbCdEf",
                sm("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/app-AbCdEf"),
            ),
            ("aws-ssm:///prod/app/", ssm("/prod/app")),
            ("aws-ssm:///prod/app", ssm("/prod/app")),
            ("aws-ssm:///", ssm("/")),
            ("secrets.toml", None),
            ("./aws-sm://x", None),
        ];
        for (text, want) in rows {
            let got = Spec::parse(text).map(|r| r.ok());
            assert_eq!(got, want.map(|r| r.ok()), "{text}");
        }
        for (text, want) in [
            ("aws-sm://", "`aws-sm://`: the secret id is empty"),
            (
                "aws-ssm://prod/app/",
                "`aws-ssm://prod/app/`: a parameter path starts with `/`",
            ),
        ] {
            let error = Spec::parse(text).unwrap().unwrap_err().to_string();
            assert!(error.starts_with(want), "{text}: {error}");
        }
        assert_eq!(
            Spec::parse("aws-ssm:///prod/app")
                .unwrap()
                .unwrap()
                .to_string(),
            "aws-ssm:///prod/app/"
        );
        assert_eq!(
            Spec::parse("aws-ssm:///").unwrap().unwrap().to_string(),
            "aws-ssm:///"
        );
    }

    /// SPEC §3.2 applied to JSON values, one row per kind.
    #[test]
    fn json_values_follow_the_toml_rules() {
        let rows = [
            (r#""k-123""#, "k-123"),
            (r#""multi\nline \u00e9""#, "multi\nline é"),
            (r#""""#, ""),
            ("8501", "8501"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("9223372036854775807", "9223372036854775807"),
            // Past i64 a number is a float, as for any other non-integer.
            ("9223372036854775808", "9.223372036854776e+18"),
            ("1e100", "1e+100"),
            ("5.0", "5.0"),
            ("0.1", "0.1"),
            ("1e-7", "1e-07"),
            ("true", "true"),
            ("false", "false"),
            (
                r#"["a", 1, true, 1.5, [], {"z": 1, "a": [2]}]"#,
                r#"["a",1,true,1.5,[],{"z":1,"a":[2]}]"#,
            ),
        ];
        for (json, want) in rows {
            assert_eq!(one_json(json), want, "{json}");
        }
    }

    #[test]
    fn a_json_object_flattens_like_a_toml_table_in_written_order() {
        let text = r#"{"db_username": "admin", "trello": {"api_key": "k", "oauth": {"token": "t"}}, "api-secret": "s"}"#;
        let table = json_table(SPEC, text).unwrap();
        assert_eq!(
            vars(&table),
            [
                ("db_username", "admin", "aws-sm://prod/app#db_username"),
                ("TRELLO_API_KEY", "k", "aws-sm://prod/app#trello.api_key"),
                (
                    "TRELLO_OAUTH_TOKEN",
                    "t",
                    "aws-sm://prod/app#trello.oauth.token"
                ),
                ("api-secret", "s", "aws-sm://prod/app#api-secret"),
            ]
            .map(|(n, v, o)| (n.to_string(), v.to_string(), o.to_string()))
        );
        assert_eq!(json_table(SPEC, "{}").unwrap(), Table::new());
        assert_eq!(json_table(SPEC, " \n{\"a\": {}}").unwrap().len(), 1);
    }

    const SECRET: &str = "s3cr3t-Zq8wVx1L";

    #[test]
    fn json_errors_name_the_key_never_the_value() {
        let rows = [
            (
                format!(r#"{{"a": "{SECRET}", "a": "x"}}"#),
                "`aws-sm://prod/app`: the JSON key `a` appears twice",
            ),
            (
                format!(r#"{{"t": {{"k": "{SECRET}", "k": 1}}}}"#),
                "`aws-sm://prod/app`: the JSON key `t.k` appears twice",
            ),
            (
                format!(r#"{{"t": {{"k": null}}, "x": "{SECRET}"}}"#),
                "`aws-sm://prod/app`: `t.k` is JSON `null`",
            ),
            (
                format!(r#"{{"list": ["{SECRET}", null]}}"#),
                "`aws-sm://prod/app`: `list` is JSON `null`",
            ),
            (
                format!(r#"{{"a": "{SECRET}" "b": 1}}"#),
                "`aws-sm://prod/app`: invalid JSON at line 1, column",
            ),
            (
                format!(r#"{{"a": "{SECRET}"#),
                "`aws-sm://prod/app`: invalid JSON at line 1, column",
            ),
            (
                format!("{{\"a\": \"{SECRET}\x01\"}}"),
                "`aws-sm://prod/app`: invalid JSON at line 1, column",
            ),
            (
                format!(r#"{{"a": {SECRET}}}"#),
                "`aws-sm://prod/app`: invalid JSON at line 1, column",
            ),
            (
                format!(r#"{{"a": 1e999, "b": "{SECRET}"}}"#),
                "`aws-sm://prod/app`: invalid JSON at line 1, column",
            ),
            (
                format!(r#"{{"a": "{SECRET}"}} trailing"#),
                "`aws-sm://prod/app`: invalid JSON at line 1, column",
            ),
            (
                format!("{}\"{SECRET}\"{}", "{\"a\":[".repeat(200), "]".repeat(200)),
                "`aws-sm://prod/app`: invalid JSON",
            ),
        ];
        for (text, want) in rows {
            let error = json_table(SPEC, &text).unwrap_err().to_string();
            assert!(error.starts_with(want), "{text}: {error}");
            assert!(!error.contains(SECRET), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn a_secret_string_is_json_or_toml() {
        let toml = "db_username = \"admin\"\n[trello]\napi_key = \"k\"\n";
        let table = secret_table(SPEC, toml).unwrap();
        assert_eq!(
            vars(&table),
            [
                ("db_username", "admin", "aws-sm://prod/app#db_username"),
                ("TRELLO_API_KEY", "k", "aws-sm://prod/app#trello.api_key"),
            ]
            .map(|(n, v, o)| (n.to_string(), v.to_string(), o.to_string()))
        );
        let json = secret_table(SPEC, "  {\"trello\": {\"api_key\": \"k\"}}").unwrap();
        assert_eq!(vars(&json)[0].2, "aws-sm://prod/app#trello.api_key");
        // A plain-text secret is neither: the error says what inject expects, not the text.
        let error = secret_table(SPEC, SECRET).unwrap_err().to_string();
        assert!(error.starts_with("aws-sm://prod/app:1:"), "{error}");
        assert!(
            error.ends_with("holds a JSON object (key/value pairs) or TOML text"),
            "{error}"
        );
        assert!(!error.contains(SECRET), "{error}");
        assert_eq!(secret_table(SPEC, "").unwrap(), Table::new());
    }

    fn parameters(names: &[&str]) -> Vec<Parameter> {
        names
            .iter()
            .map(|name| Parameter {
                name: name.to_string(),
                value: format!("v{}", name.len()),
            })
            .collect()
    }

    #[test]
    fn parameter_paths_become_key_paths() {
        let spec = "aws-ssm:///prod/app/";
        let table = parameters_table(
            spec,
            "/prod/app",
            parameters(&[
                "/prod/app/trello/oauth/token",
                "/prod/app/db_username",
                "/prod/app/trello/api_key",
                "/prod/app/trello/api-secret",
            ]),
        )
        .unwrap();
        assert_eq!(
            vars(&table),
            [
                ("db_username", "v21", "aws-ssm:///prod/app/db_username"),
                (
                    "TRELLO_API_SECRET",
                    "v27",
                    "aws-ssm:///prod/app/trello/api-secret"
                ),
                (
                    "TRELLO_API_KEY",
                    "v24",
                    "aws-ssm:///prod/app/trello/api_key"
                ),
                (
                    "TRELLO_OAUTH_TOKEN",
                    "v28",
                    "aws-ssm:///prod/app/trello/oauth/token"
                ),
            ]
            .map(|(n, v, o)| (n.to_string(), v.to_string(), o.to_string()))
        );
        let root = parameters_table("aws-ssm:///", "/", parameters(&["/a", "/s/k"])).unwrap();
        let names: Vec<String> = vars(&root).into_iter().map(|v| v.0).collect();
        assert_eq!(names, ["a", "S_K"]);
        assert_eq!(
            parameters_table(spec, "/prod/app", Vec::new()).unwrap(),
            Table::new()
        );
    }

    #[test]
    fn a_parameter_that_is_also_a_parent_is_a_collision() {
        let spec = "aws-ssm:///prod/app/";
        let want = "`aws-ssm:///prod/app/`: the parameter `/prod/app/trello` is also the parent of `/prod/app/trello/api_key`, so `trello` would be both a value and a section: rename or delete one of them";
        for names in [
            ["/prod/app/trello", "/prod/app/trello/api_key"],
            ["/prod/app/trello/api_key", "/prod/app/trello"],
        ] {
            let error = parameters_table(spec, "/prod/app", parameters(&names)).unwrap_err();
            assert_eq!(error.to_string(), want, "{names:?}");
        }
        let error = parameters_table(
            spec,
            "/prod/app",
            parameters(&["/prod/app/a/b/c", "/prod/app/a/b"]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("`/prod/app/a/b` is also the parent of `/prod/app/a/b/c`, so `a.b`"),
            "{error}"
        );
    }

    #[test]
    fn names_outside_the_path_are_refused() {
        for name in ["/other/x", "/prod/app", "/prod/app//x", "/prod/app/x/"] {
            let error = parameters_table("aws-ssm:///prod/app/", "/prod/app", parameters(&[name]));
            assert!(
                matches!(error, Err(StoreError::UnexpectedName { .. })),
                "{name}: {error:?}"
            );
        }
    }

    /// Every failure names the source, the code (or HTTP status) and the fix; access errors
    /// name the IAM action.
    #[test]
    fn call_failures_are_worded_with_code_and_action() {
        let sm = Spec::SecretsManager {
            id: "prod/app".into(),
        };
        let ssm = Spec::ParameterStore {
            path: "/prod/app".into(),
        };
        let answered = |code, status, message| Failure::Answered {
            code,
            status: Some(status),
            message,
        };
        let rows: Vec<(&Spec, Failure, &str)> = vec![
            (
                &sm,
                answered(
                    Some("AccessDeniedException"),
                    400,
                    Some(
                        "User: arn:aws:iam::1:user/app is not authorized to perform: secretsmanager:GetSecretValue.",
                    ),
                ),
                "`aws-sm://prod/app`: Secrets Manager: access denied (AccessDeniedException): User: arn:aws:iam::1:user/app is not authorized to perform: secretsmanager:GetSecretValue: the credentials in use need `secretsmanager:GetSecretValue` on it (and `kms:Decrypt` on its KMS key if that is a customer-managed key)",
            ),
            (
                &ssm,
                answered(None, 403, None),
                "`aws-ssm:///prod/app/`: Parameter Store: access denied (HTTP 403): the credentials in use need `ssm:GetParametersByPath` on it (and `kms:Decrypt` on the KMS key of its SecureString parameters if that is a customer-managed key)",
            ),
            (
                &ssm,
                answered(Some(""), 403, Some("ignored without a code")),
                "`aws-ssm:///prod/app/`: Parameter Store: access denied (HTTP 403): the credentials",
            ),
            (
                &sm,
                answered(
                    Some("DecryptionFailure"),
                    400,
                    Some("Access to KMS is not allowed"),
                ),
                "`aws-sm://prod/app`: Secrets Manager: cannot decrypt (DecryptionFailure): Access to KMS is not allowed: the credentials in use need `kms:Decrypt` on the KMS key that encrypts it",
            ),
            (
                &ssm,
                answered(
                    Some("AccessDeniedException"),
                    400,
                    Some("not authorized to perform kms:Decrypt"),
                ),
                "`aws-ssm:///prod/app/`: Parameter Store: cannot decrypt (AccessDeniedException): not authorized to perform kms:Decrypt: the credentials in use need `kms:Decrypt`",
            ),
            (
                &sm,
                answered(
                    Some("ResourceNotFoundException"),
                    400,
                    Some("Secrets Manager can't find the specified secret."),
                ),
                "`aws-sm://prod/app`: Secrets Manager: not found (ResourceNotFoundException): Secrets Manager can't find the specified secret: check the name or ARN, and the region (`AWS_REGION`, now `eu-west-1`)",
            ),
            (
                &sm,
                answered(
                    Some("UnrecognizedClientException"),
                    400,
                    Some("The security token included in the request is invalid."),
                ),
                "`aws-sm://prod/app`: Secrets Manager: credentials rejected (UnrecognizedClientException): The security token included in the request is invalid: the AWS credentials in use are invalid or expired: refresh them",
            ),
            (
                &ssm,
                answered(Some("ThrottlingException"), 400, Some("Rate exceeded")),
                "`aws-ssm:///prod/app/`: Parameter Store: the call failed (ThrottlingException): Rate exceeded",
            ),
            (
                &ssm,
                Failure::Answered {
                    code: None,
                    status: None,
                    message: None,
                },
                "`aws-ssm:///prod/app/`: Parameter Store: the call failed (no error code)",
            ),
            (
                &sm,
                Failure::TimedOut { detail: None },
                "`aws-sm://prod/app`: no answer from AWS within 15 s: check the network path",
            ),
            (
                &sm,
                Failure::TimedOut {
                    detail: Some(
                        "operation timeout (all attempts including retries) occurred after 15s",
                    ),
                },
                "`aws-sm://prod/app`: no answer from AWS within 15 s: operation timeout (all attempts including retries) occurred after 15s: check",
            ),
            (
                &ssm,
                Failure::NoCredentials {
                    detail: "no credentials found in chain",
                },
                "`aws-ssm:///prod/app/`: could not get AWS credentials: no credentials found in chain: set `AWS_PROFILE`",
            ),
            (
                &ssm,
                Failure::Unreachable {
                    detail: "tcp connect error: Connection refused (os error 111)",
                },
                "`aws-ssm:///prod/app/`: cannot reach Parameter Store in region `eu-west-1`: tcp connect error: Connection refused (os error 111): check the network, `AWS_REGION` and `AWS_ENDPOINT_URL`",
            ),
        ];
        for (spec, failure, want) in rows {
            let call = Call {
                spec,
                region: "eu-west-1",
                timeout: std::time::Duration::from_secs(15),
            };
            let message = call_error(&call, failure).to_string();
            assert!(message.starts_with(want), "{failure:?}:\n{message}\n{want}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
}

//! EFFECT (feature `aws`): read `aws-sm://` and `aws-ssm://` sources (SPEC §11) with the
//! official AWS SDK. The answer becomes a table in `store.rs`; this file only makes the calls
//! and words their failures.
//!
//! A current-thread tokio runtime exists only inside `load` and is shut down before it
//! returns, so no thread of it is alive (and no socket of it open) when the program is
//! exec'd. Every read is bounded by the timeout: the SDK gets connect, read and per-attempt
//! limits, and the whole read (credentials included) runs under one deadline.
//!
//! Error messages are built from `Display` of each error in the `source()` chain and the
//! error code only: `{:?}` and `DisplayErrorContext` of SDK errors include the raw HTTP
//! response, whose body can hold a `SecretString`.

use std::error::Error;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;

use crate::store::{self, Call, Failure, Parameter, Spec, StoreError};
use crate::value::Table;

/// Longest wait for a TCP (and TLS) connection to an endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per call, the first included: enough to ride out a throttle or a dropped packet.
const MAX_ATTEMPTS: u32 = 3;

/// Read one store source, within `timeout`.
pub fn load(spec: &Spec, timeout: Duration) -> Result<Table, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            store::service_error(spec, &format!("cannot start the AWS client: {error}"))
        })?;
    let outcome = runtime.block_on(async {
        tokio::time::timeout(timeout, read(spec, timeout))
            .await
            .unwrap_or_else(|_| {
                let call = Call {
                    spec,
                    region: "",
                    timeout,
                };
                Err(store::call_error(&call, Failure::TimedOut { detail: None }))
            })
    });
    // Joins the runtime's blocking pool (where DNS look-ups run); bounded, so a look-up stuck
    // in the resolver cannot hold inject much past its timeout.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

async fn read(spec: &Spec, timeout: Duration) -> Result<Table, StoreError> {
    let config = sdk_config(timeout).await;
    match spec {
        Spec::SecretsManager { id } => secret(spec, id, &config, timeout).await,
        Spec::ParameterStore { path } => parameters(spec, path, &config, timeout).await,
    }
}

/// The standard chain (environment, profile, web identity, ECS, IMDS) for region, credentials
/// and endpoint, with one rustls (ring) HTTPS client and bounded waits.
async fn sdk_config(timeout: Duration) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    // Several attempts fit in the budget; the deadline in `load` still bounds the total.
    let attempt = (timeout / MAX_ATTEMPTS)
        .max(Duration::from_secs(1))
        .min(timeout);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(attempt))
        .read_timeout(attempt)
        .operation_attempt_timeout(attempt)
        .operation_timeout(timeout)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .load()
        .await
}

/// The region to call: the configured one, else the one an ARN names.
fn region(spec: &Spec, config: &SdkConfig, id: Option<&str>) -> Result<Region, StoreError> {
    if let Some(region) = config.region() {
        return Ok(region.clone());
    }
    let from_arn = id
        .filter(|id| id.starts_with("arn:"))
        .and_then(|arn| arn.split(':').nth(3))
        .filter(|region| !region.is_empty());
    match from_arn {
        Some(region) => Ok(Region::new(region.to_string())),
        None => Err(store::service_error(
            spec,
            "no AWS region: set `AWS_REGION` (or `region` in the profile named by `AWS_PROFILE`)",
        )),
    }
}

async fn secret(
    spec: &Spec,
    id: &str,
    config: &SdkConfig,
    timeout: Duration,
) -> Result<Table, StoreError> {
    let region = region(spec, config, Some(id))?;
    let conf = aws_sdk_secretsmanager::config::Builder::from(config)
        .region(region.clone())
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(conf);
    let call = Call {
        spec,
        region: region.as_ref(),
        timeout,
    };
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|error| failure(&call, &error))?;
    let name = spec.to_string();
    match (output.secret_string(), output.secret_binary()) {
        (Some(text), _) => store::secret_table(&name, text),
        (None, Some(_)) => Err(StoreError::Binary { spec: name }),
        (None, None) => Err(store::service_error(
            spec,
            "the answer holds no `SecretString`: check the secret's current version",
        )),
    }
}

async fn parameters(
    spec: &Spec,
    path: &str,
    config: &SdkConfig,
    timeout: Duration,
) -> Result<Table, StoreError> {
    let region = region(spec, config, None)?;
    let conf = aws_sdk_ssm::config::Builder::from(config)
        .region(region.clone())
        .build();
    let client = aws_sdk_ssm::Client::from_conf(conf);
    let call = Call {
        spec,
        region: region.as_ref(),
        timeout,
    };
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_parameters_by_path()
            .path(path)
            .recursive(true)
            .with_decryption(true)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|error| failure(&call, &error))?;
        found.extend(page.parameters().iter().filter_map(|p| {
            Some(Parameter {
                name: p.name()?.to_string(),
                value: p.value()?.to_string(),
            })
        }));
        // Every page (at most 10 parameters each); an empty token ends the listing.
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    store::parameters_table(&spec.to_string(), path, found)
}

/// The facts of an SDK error, for `store::call_error` to word. The service's message is the
/// only text taken from an answer; a body the SDK could not read is not quoted, not even the
/// one character a JSON parse error would show.
fn failure<E>(call: &Call, error: &SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let detail = match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => chain(error),
        _ => String::new(),
    };
    let failure = match error {
        SdkError::TimeoutError(_) => Failure::TimedOut {
            detail: Some(&detail),
        },
        SdkError::DispatchFailure(f) if f.is_timeout() => Failure::TimedOut {
            detail: Some(&detail),
        },
        SdkError::DispatchFailure(_) if is_credentials(error) => {
            Failure::NoCredentials { detail: &detail }
        }
        SdkError::DispatchFailure(_) => Failure::Unreachable { detail: &detail },
        _ => Failure::Answered {
            code: error.code(),
            status: error.raw_response().map(|r| r.status().as_u16()),
            message: error.code().and(error.message()),
        },
    };
    store::call_error(call, failure)
}

/// Whether the credential chain (not the network) failed: the SDK reports it as a dispatch
/// failure whose cause is a credentials error.
fn is_credentials(error: &(dyn Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// `Display` of an error and of each cause, joined; the SDK's generic wrappers ("dispatch
/// failure", "io error") and a cause already spelled out by the previous text are left out.
/// Never `{:?}` or `DisplayErrorContext`: they include the raw response body.
fn chain(error: &(dyn Error + 'static)) -> String {
    const GENERIC: &[&str] = &[
        "dispatch failure",
        "io error",
        "other",
        "timeout",
        "timeout error",
        "service error",
        "response error",
        "construction failure",
        "unhandled error",
    ];
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = one_line(&e.to_string());
        let known = parts.last().is_some_and(|last| last.contains(&text));
        if !text.is_empty() && !known && !GENERIC.contains(&text.as_str()) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

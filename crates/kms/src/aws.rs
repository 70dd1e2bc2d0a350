//! [`AwsKms`]: the [`Kms`] trait over the AWS KMS API (cargo feature `aws`).
//!
//! # Requests
//! `GenerateDataKey` (`KeySpec=AES_256`, the encryption context), `Decrypt` (the context, and
//! the expected key id when the caller asserts one), `ReEncrypt` (source context, destination
//! key and context) and `DescribeKey`, through `aws-sdk-kms`. Every reference form S3 accepts
//! (key id, key ARN, alias name, alias ARN) is sent as written and resolved by the service; if
//! [`AwsKmsConfig::account`] names the account of the credentials, bare ids and alias names of
//! a [`Requester`] in another account are sent as ARNs in the requester's account (so they
//! resolve there, as [`Requester`] documents). Every key ARN the service returns is checked
//! with [`Requester::check_key_account`].
//!
//! # Async underneath, synchronous on top
//! The SDK is async. An `AwsKms` owns one small tokio runtime (two worker threads named
//! `s3seal-kms`, built once in [`AwsKms::new`]); each trait call spawns its request onto that
//! runtime and waits for the answer on a channel. So a synchronous caller (the engine's rayon
//! threads) never builds a runtime per call, and the calling thread is never a runtime thread
//! of ours. A caller on a worker thread of a multi-threaded tokio runtime is moved off it with
//! `block_in_place` (its runtime keeps running other tasks), never a panic. Callers inside an
//! async runtime should nevertheless reach the engine from blocking threads (`spawn_blocking`,
//! a rayon pool), as the engine's async adapter does: on a current-thread runtime's own thread
//! the wait cannot be moved off and stalls that runtime for the length of the request (tokio
//! does not tell that thread apart from its blocking pool). It never deadlocks: the request
//! runs on the `AwsKms`'s own runtime.
//!
//! # Timeouts and retries
//! Each attempt is bounded ([`AwsKmsConfig::attempt_timeout`], and a connect timeout), and so
//! is the whole operation including retries ([`AwsKmsConfig::operation_timeout`]). The SDK's
//! standard retry strategy retries throttling (`ThrottlingException`), transient errors (5xx,
//! `KMSInternalException`, `DependencyTimeoutException`, I/O errors and timeouts) and nothing
//! else, with exponential backoff and full jitter, up to [`AwsKmsConfig::max_attempts`]
//! attempts. Client errors (`NotFoundException`, `InvalidCiphertextException`, …) are returned
//! at once.
//!
//! # Errors
//! | AWS KMS | [`KmsError`] |
//! |---|---|
//! | `NotFoundException` | [`KmsError::NotFound`] |
//! | `DisabledException` | [`KmsError::Disabled`] |
//! | `KMSInvalidStateException` | [`KmsError::PendingDeletion`] if the message says so, else [`KmsError::InvalidState`] |
//! | `InvalidCiphertextException` | [`KmsError::InvalidCiphertext`] |
//! | `IncorrectKeyException` | [`KmsError::IncorrectKey`] |
//! | `AccessDeniedException` | [`KmsError::AccessDenied`] |
//! | `InvalidArnException` | [`KmsError::InvalidKeyId`] |
//! | `InvalidAliasNameException` | [`KmsError::InvalidAlias`] |
//! | `InvalidKeyUsageException`, `ValidationException` | [`KmsError::InvalidArgument`] |
//! | `ThrottlingException` (after the retries) | [`KmsError::Throttled`] |
//! | `KMSInternalException`, `DependencyTimeoutException`, `KeyUnavailableException`, any 5xx, timeouts, connection failures | [`KmsError::Unavailable`] |
//! | anything else (bad credentials, a malformed answer) | [`KmsError::Other`] with an [`AwsKmsError`] |
//!
//! # Secrets
//! Static credentials are zeroized on drop and redacted in `Debug`. Plaintext data keys are
//! copied out of the SDK's response into a [`DataKey`] and the response's buffer is zeroized;
//! copies the HTTP stack made while parsing the response are beyond reach.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{Region, StalledStreamProtectionConfig};
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyManagerType, KeyState as AwsKeyState};
use s3seal_gcm::DataKey;
use zeroize::{Zeroize, Zeroizing};

use crate::context::EncryptionContext;
use crate::error::KmsError;
use crate::key_id::{KeyIdError, KeyRef};
use crate::kms::{
    DecryptedDataKey, GeneratedDataKey, KeyMetadata, KeyState, Kms, ReEncrypted, Requester,
    RotationInfo,
};

/// Where an [`AwsKms`] gets its credentials.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AwsCredentials {
    /// The SDK's default chain: environment, shared profile files, web identity, container and
    /// instance metadata.
    #[default]
    Default,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`.
    Environment,
    /// A profile of the shared files (`~/.aws/credentials`, `~/.aws/config`); `None` is
    /// `AWS_PROFILE` or `default`.
    Profile(Option<String>),
    /// Fixed keys (zeroized on drop, redacted in `Debug`).
    Static {
        /// The access key id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: Zeroizing<String>,
        /// The session token of temporary credentials.
        session_token: Option<Zeroizing<String>>,
    },
}

impl AwsCredentials {
    /// Fixed keys.
    #[must_use]
    pub fn fixed(access_key_id: &str, secret_access_key: &str) -> Self {
        AwsCredentials::Static {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: Zeroizing::new(secret_access_key.to_owned()),
            session_token: None,
        }
    }
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwsCredentials::Default => f.write_str("Default"),
            AwsCredentials::Environment => f.write_str("Environment"),
            AwsCredentials::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
            AwsCredentials::Static { access_key_id, .. } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .finish_non_exhaustive(),
        }
    }
}

/// Settings of an [`AwsKms`].
#[derive(Debug, Clone)]
pub struct AwsKmsConfig {
    endpoint: Option<String>,
    region: Option<String>,
    credentials: AwsCredentials,
    account: Option<String>,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    operation_timeout: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for AwsKmsConfig {
    fn default() -> Self {
        AwsKmsConfig {
            endpoint: None,
            region: None,
            credentials: AwsCredentials::Default,
            account: None,
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(20),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl AwsKmsConfig {
    /// Defaults: the SDK's endpoint for the Region, the default Region and credential chains,
    /// 3 s to connect, 5 s per attempt, 20 s per operation, 4 attempts with backoff from 50 ms
    /// to 2 s.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:5000` for a KMS-API server on loopback.
    #[must_use]
    pub fn endpoint(mut self, url: &str) -> Self {
        self.endpoint = Some(url.to_owned());
        self
    }

    /// The Region (else `AWS_REGION` / the profile's; an error if none is found).
    #[must_use]
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_owned());
        self
    }

    /// Where credentials come from.
    #[must_use]
    pub fn credentials(mut self, credentials: AwsCredentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The account of the credentials (12 digits), if known. With it, bare key ids and alias
    /// names of requesters in other accounts resolve in theirs; without it, they resolve in the
    /// credentials' account, as AWS KMS itself resolves them.
    #[must_use]
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self
    }

    /// Timeout to establish a connection.
    #[must_use]
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Timeout of one attempt.
    #[must_use]
    pub fn attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = t;
        self
    }

    /// Timeout of a whole operation, retries included.
    #[must_use]
    pub fn operation_timeout(mut self, t: Duration) -> Self {
        self.operation_timeout = t;
        self
    }

    /// Attempts per operation (1 disables retries).
    #[must_use]
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Backoff before the first retry (then doubling, with full jitter) and its cap.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
}

/// An error of [`AwsKms`] outside the [`KmsError`] vocabulary (inside [`KmsError::Other`]):
/// the service's error code and message, or what went wrong on our side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AwsKmsError {
    /// The service answered with an error this crate has no variant for.
    #[error("AWS KMS error {code}: {message}")]
    Service {
        /// The error code (`UnrecognizedClientException`, …).
        code: String,
        /// The service's message.
        message: String,
    },
    /// The client could not be set up or a request could not be built or sent.
    #[error("AWS KMS client: {0}")]
    Client(String),
    /// The service's answer lacks a field or has an unexpected one.
    #[error("AWS KMS answer malformed: {0}")]
    Malformed(&'static str),
}

fn other(e: AwsKmsError) -> KmsError {
    KmsError::other(e)
}

/// A [`Kms`] over the AWS KMS API (`aws-sdk-kms`), e.g. AWS itself or a KMS-API server on
/// loopback. See the [module docs](self).
pub struct AwsKms {
    client: Client,
    runtime: Option<tokio::runtime::Runtime>,
    account: Option<String>,
    region: String,
    endpoint: Option<String>,
    wait: Duration,
}

impl fmt::Debug for AwsKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKms")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl Drop for AwsKms {
    fn drop(&mut self) {
        // Never blocks, so dropping an `AwsKms` inside an async context does not panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn context_map(c: &EncryptionContext) -> Option<HashMap<String, String>> {
    if c.is_empty() {
        None
    } else {
        Some(c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

/// The data key inside a plaintext blob of the service; the blob is zeroized.
fn data_key(plaintext: Option<Blob>) -> Result<DataKey, KmsError> {
    let mut bytes = plaintext
        .ok_or(other(AwsKmsError::Malformed("no Plaintext")))?
        .into_inner();
    let key = DataKey::from_slice(&bytes);
    bytes.zeroize();
    // A blob that holds anything but a 256-bit key is not one of ours.
    key.ok_or(KmsError::InvalidCiphertext)
}

/// The key ARN the service returned, parsed, and checked against the requester's rule.
fn checked_arn(arn: Option<String>, requester: Option<&Requester>) -> Result<String, KmsError> {
    let arn = arn.ok_or(other(AwsKmsError::Malformed("no KeyId")))?;
    let Ok(KeyRef::KeyArn(parsed)) = KeyRef::parse(&arn) else {
        return Err(other(AwsKmsError::Malformed("KeyId is not a key ARN")));
    };
    if let Some(r) = requester {
        r.check_key_account(&parsed.account, &arn)?;
    }
    Ok(arn)
}

/// Maps an SDK error onto [`KmsError`]; `key` names the key for the key-naming variants.
pub(crate) fn map_error<E>(e: SdkError<E, HttpResponse>, key: &str) -> KmsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::TimeoutError(_) => KmsError::Unavailable,
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => KmsError::Unavailable,
        // An answer that could not be read: the server went away mid-response, or a proxy
        // answered. Transient as far as we can tell.
        SdkError::ResponseError(_) => KmsError::Unavailable,
        SdkError::ServiceError(s) => map_code(
            s.err().code(),
            s.err().message(),
            key,
            s.raw().status().is_server_error(),
        ),
        // A request that could not be built or sent (no credentials, a bad endpoint URL).
        _ => other(AwsKmsError::Client(DisplayErrorContext(&e).to_string())),
    }
}

fn map_code(code: Option<&str>, message: Option<&str>, key: &str, server_side: bool) -> KmsError {
    let message = message.unwrap_or_default();
    match code.unwrap_or_default() {
        "NotFoundException" => KmsError::NotFound(key.to_owned()),
        "DisabledException" => KmsError::Disabled(key.to_owned()),
        "KMSInvalidStateException" => {
            if message.to_ascii_lowercase().contains("pending deletion") {
                KmsError::PendingDeletion(key.to_owned())
            } else {
                KmsError::InvalidState(key.to_owned())
            }
        }
        "InvalidCiphertextException" => KmsError::InvalidCiphertext,
        "IncorrectKeyException" => KmsError::IncorrectKey,
        "AccessDeniedException" => KmsError::AccessDenied(key.to_owned()),
        "InvalidArnException" => KmsError::InvalidKeyId(KeyIdError::BadArn),
        "InvalidAliasNameException" => KmsError::InvalidAlias(key.to_owned()),
        "InvalidKeyUsageException" => {
            KmsError::InvalidArgument("the KMS key cannot be used for this operation")
        }
        "ValidationException" => KmsError::InvalidArgument("the KMS request is not valid"),
        "ThrottlingException" => KmsError::Throttled,
        "KMSInternalException" | "DependencyTimeoutException" | "KeyUnavailableException" => {
            KmsError::Unavailable
        }
        code => {
            // An unknown code with a 5xx status is the service's trouble, not the request's.
            if server_side {
                KmsError::Unavailable
            } else {
                other(AwsKmsError::Service {
                    code: code.to_owned(),
                    message: message.to_owned(),
                })
            }
        }
    }
}

fn state(s: Option<&AwsKeyState>) -> KeyState {
    match s {
        Some(AwsKeyState::Enabled) => KeyState::Enabled,
        Some(AwsKeyState::PendingDeletion | AwsKeyState::PendingReplicaDeletion) => {
            KeyState::PendingDeletion
        }
        // Creating, Updating, PendingImport, Unavailable, unknown: not usable now.
        _ => KeyState::Disabled,
    }
}

fn time(t: Option<&aws_sdk_kms::primitives::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

fn metadata(m: &aws_sdk_kms::types::KeyMetadata) -> Result<KeyMetadata, KmsError> {
    let arn = checked_arn(m.arn().map(str::to_owned), None)?;
    let (account, region) = match KeyRef::parse(&arn) {
        Ok(KeyRef::KeyArn(a)) => (a.account, a.region),
        _ => return Err(other(AwsKmsError::Malformed("KeyId is not a key ARN"))),
    };
    Ok(KeyMetadata {
        arn,
        key_id: m.key_id().to_owned(),
        account,
        region,
        description: m.description().unwrap_or_default().to_owned(),
        state: state(m.key_state()),
        aws_managed: m.key_manager() == Some(&KeyManagerType::Aws),
        creation_date: time(m.creation_date()).unwrap_or(SystemTime::UNIX_EPOCH),
        deletion_date: time(m.deletion_date()),
        // DescribeKey tells neither; `ListKeyRotations` / `ListAliases` would, at a call each.
        rotation: RotationInfo {
            current_version: 1,
            last_rotated: None,
        },
        aliases: Vec::new(),
    })
}

impl AwsKms {
    /// A client for `config`: builds the runtime, resolves the Region and credentials
    /// provider. Makes no request.
    ///
    /// # Errors
    /// [`KmsError::Other`] ([`AwsKmsError::Client`]) if the runtime cannot start, no Region is
    /// configured or found, or the account is not 12 digits.
    pub fn new(config: AwsKmsConfig) -> Result<Self, KmsError> {
        if let Some(a) = &config.account {
            crate::key_id::check_account(a)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3seal-kms")
            .enable_all()
            .build()
            .map_err(|e| other(AwsKmsError::Client(format!("tokio runtime: {e}"))))?;
        let cfg = config.clone();
        let (tx, rx) = mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(Self::sdk_config(cfg).await);
        });
        let (sdk, region) = rx
            .recv()
            .map_err(|_| other(AwsKmsError::Client("client setup failed".to_owned())))??;
        Ok(AwsKms {
            client: Client::from_conf(sdk),
            runtime: Some(runtime),
            account: config.account,
            region,
            endpoint: config.endpoint,
            wait: config.operation_timeout + Duration::from_secs(5),
        })
    }

    async fn sdk_config(c: AwsKmsConfig) -> Result<(aws_sdk_kms::Config, String), KmsError> {
        let region = match c.region {
            Some(r) => r,
            None => aws_config::default_provider::region::DefaultRegionChain::builder()
                .build()
                .region()
                .await
                .map(|r| r.to_string())
                .ok_or(other(AwsKmsError::Client(
                    "no Region configured (--kms-region, AWS_REGION or a profile)".to_owned(),
                )))?,
        };
        let credentials = match c.credentials {
            AwsCredentials::Default => SharedCredentialsProvider::new(
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .region(Region::new(region.clone()))
                    .build()
                    .await,
            ),
            AwsCredentials::Environment => SharedCredentialsProvider::new(
                aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new(),
            ),
            AwsCredentials::Profile(name) => {
                let mut b = aws_config::profile::ProfileFileCredentialsProvider::builder();
                if let Some(n) = name {
                    b = b.profile_name(n);
                }
                SharedCredentialsProvider::new(b.build())
            }
            AwsCredentials::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => SharedCredentialsProvider::new(Credentials::new(
                access_key_id,
                secret_access_key.as_str(),
                session_token.as_ref().map(|t| t.as_str().to_owned()),
                None,
                "s3seal-static",
            )),
        };
        let retry = RetryConfig::standard()
            .with_max_attempts(c.max_attempts)
            .with_initial_backoff(c.initial_backoff)
            .with_max_backoff(c.max_backoff);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(c.connect_timeout)
            .operation_attempt_timeout(c.attempt_timeout)
            .operation_timeout(c.operation_timeout)
            .build();
        let mut b = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .credentials_provider(credentials)
            .retry_config(retry)
            .timeout_config(timeouts)
            // KMS answers are small JSON documents; the stall detector is for streams.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        if let Some(url) = c.endpoint {
            b = b.endpoint_url(url);
        }
        Ok((b.build(), region))
    }

    /// The Region requests go to.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The configured account of the credentials, if any.
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// Runs `fut` on the client's runtime and waits for it (see the module docs).
    fn run<T, F>(&self, fut: F) -> Result<T, KmsError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, KmsError>> + Send + 'static,
    {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let Some(rt) = &self.runtime else {
            return Err(KmsError::Unavailable);
        };
        let flavor = Handle::try_current().ok().map(|h| h.runtime_flavor());
        let (tx, rx) = mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        // The SDK's operation timeout ends the request; this only guards against a lost task.
        let wait = || {
            rx.recv_timeout(self.wait)
                .unwrap_or(Err(KmsError::Unavailable))
        };
        match flavor {
            Some(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        }
    }

    /// The reference to send for `key` on behalf of `requester` (see the module docs).
    fn wire_ref(&self, key: &KeyRef, requester: &Requester) -> String {
        let foreign = self
            .account
            .as_deref()
            .is_some_and(|a| a != requester.account());
        let arn = |resource: String| {
            format!(
                "arn:{}:kms:{}:{}:{resource}",
                partition(&self.region),
                self.region,
                requester.account()
            )
        };
        match key {
            KeyRef::KeyId(id) if foreign => arn(format!("key/{id}")),
            KeyRef::AliasName(n) if foreign => arn(format!("alias/{n}")),
            k => k.to_string(),
        }
    }

    // --- Management, for tests and tools (not part of the `Kms` trait). ---

    /// `CreateKey`: a symmetric encryption key with `description`, and its metadata.
    ///
    /// # Errors
    /// The service's error, mapped as in the module docs.
    pub fn create_key(&self, description: &str) -> Result<KeyMetadata, KmsError> {
        let c = self.client.clone();
        let d = description.to_owned();
        self.run(async move {
            let out = c
                .create_key()
                .description(d)
                .send()
                .await
                .map_err(|e| map_error(e, "new key"))?;
            metadata(
                out.key_metadata()
                    .ok_or(other(AwsKmsError::Malformed("no KeyMetadata")))?,
            )
        })
    }

    /// `CreateAlias`: `alias` (`alias/NAME`) for `key`.
    ///
    /// # Errors
    /// The service's error, mapped as in the module docs.
    pub fn create_alias(&self, alias: &str, key: &str) -> Result<(), KmsError> {
        let c = self.client.clone();
        let (alias, key) = (alias.to_owned(), key.to_owned());
        self.run(async move {
            c.create_alias()
                .alias_name(alias.clone())
                .target_key_id(key)
                .send()
                .await
                .map_err(|e| map_error(e, &alias))?;
            Ok(())
        })
    }

    /// `DisableKey`.
    ///
    /// # Errors
    /// The service's error, mapped as in the module docs.
    pub fn disable_key(&self, key: &str) -> Result<(), KmsError> {
        let c = self.client.clone();
        let key = key.to_owned();
        self.run(async move {
            c.disable_key()
                .key_id(key.clone())
                .send()
                .await
                .map_err(|e| map_error(e, &key))?;
            Ok(())
        })
    }

    /// `EnableKey`.
    ///
    /// # Errors
    /// The service's error, mapped as in the module docs.
    pub fn enable_key(&self, key: &str) -> Result<(), KmsError> {
        let c = self.client.clone();
        let key = key.to_owned();
        self.run(async move {
            c.enable_key()
                .key_id(key.clone())
                .send()
                .await
                .map_err(|e| map_error(e, &key))?;
            Ok(())
        })
    }

    /// `ScheduleKeyDeletion` after `pending_days` (7 to 30).
    ///
    /// # Errors
    /// The service's error, mapped as in the module docs.
    pub fn schedule_key_deletion(&self, key: &str, pending_days: u32) -> Result<(), KmsError> {
        let c = self.client.clone();
        let key = key.to_owned();
        let days = i32::try_from(pending_days)
            .map_err(|_| KmsError::InvalidArgument("pending window out of range"))?;
        self.run(async move {
            c.schedule_key_deletion()
                .key_id(key.clone())
                .pending_window_in_days(days)
                .send()
                .await
                .map_err(|e| map_error(e, &key))?;
            Ok(())
        })
    }

    /// `CancelKeyDeletion` (the key becomes Disabled).
    ///
    /// # Errors
    /// The service's error, mapped as in the module docs.
    pub fn cancel_key_deletion(&self, key: &str) -> Result<(), KmsError> {
        let c = self.client.clone();
        let key = key.to_owned();
        self.run(async move {
            c.cancel_key_deletion()
                .key_id(key.clone())
                .send()
                .await
                .map_err(|e| map_error(e, &key))?;
            Ok(())
        })
    }
}

impl Kms for AwsKms {
    fn generate_data_key(
        &self,
        key: &KeyRef,
        requester: &Requester,
        context: &EncryptionContext,
    ) -> Result<GeneratedDataKey, KmsError> {
        let c = self.client.clone();
        let key_id = self.wire_ref(key, requester);
        let ctx = context_map(context);
        let requester = requester.clone();
        self.run(async move {
            let out = c
                .generate_data_key()
                .key_id(key_id.clone())
                .key_spec(DataKeySpec::Aes256)
                .set_encryption_context(ctx)
                .send()
                .await
                .map_err(|e| map_error(e, &key_id))?;
            let key_arn = checked_arn(out.key_id.clone(), Some(&requester))?;
            let ciphertext_blob = out
                .ciphertext_blob
                .clone()
                .ok_or(other(AwsKmsError::Malformed("no CiphertextBlob")))?
                .into_inner();
            let plaintext = data_key(out.plaintext)?;
            Ok(GeneratedDataKey {
                plaintext,
                ciphertext_blob,
                key_arn,
            })
        })
    }

    fn decrypt(
        &self,
        blob: &[u8],
        context: &EncryptionContext,
        expected_key_arn: Option<&str>,
    ) -> Result<DecryptedDataKey, KmsError> {
        if blob.is_empty() {
            return Err(KmsError::InvalidCiphertext);
        }
        let c = self.client.clone();
        let blob = Blob::new(blob);
        let ctx = context_map(context);
        let expected = expected_key_arn.map(str::to_owned);
        self.run(async move {
            let named = expected.clone().unwrap_or_default();
            let out = c
                .decrypt()
                .ciphertext_blob(blob)
                .set_encryption_context(ctx)
                .set_key_id(expected.clone())
                .send()
                .await
                .map_err(|e| map_error(e, &named))?;
            let key_arn = checked_arn(out.key_id.clone(), None)?;
            // Checked here too, in case the service is more lenient than AWS KMS.
            if expected.is_some_and(|e| e != key_arn) {
                return Err(KmsError::IncorrectKey);
            }
            let plaintext = data_key(out.plaintext)?;
            Ok(DecryptedDataKey { plaintext, key_arn })
        })
    }

    fn re_encrypt(
        &self,
        blob: &[u8],
        source_context: &EncryptionContext,
        dest_key: &KeyRef,
        requester: &Requester,
        dest_context: &EncryptionContext,
    ) -> Result<ReEncrypted, KmsError> {
        if blob.is_empty() {
            return Err(KmsError::InvalidCiphertext);
        }
        let c = self.client.clone();
        let blob = Blob::new(blob);
        let src = context_map(source_context);
        let dst = context_map(dest_context);
        let dest = self.wire_ref(dest_key, requester);
        let requester = requester.clone();
        self.run(async move {
            let out = c
                .re_encrypt()
                .ciphertext_blob(blob)
                .set_source_encryption_context(src)
                .destination_key_id(dest.clone())
                .set_destination_encryption_context(dst)
                .send()
                .await
                .map_err(|e| map_error(e, &dest))?;
            let key_arn = checked_arn(out.key_id.clone(), Some(&requester))?;
            let source_key_arn = checked_arn(out.source_key_id.clone(), None)?;
            let ciphertext_blob = out
                .ciphertext_blob
                .ok_or(other(AwsKmsError::Malformed("no CiphertextBlob")))?
                .into_inner();
            Ok(ReEncrypted {
                ciphertext_blob,
                source_key_arn,
                key_arn,
            })
        })
    }

    fn describe_key(&self, key: &KeyRef, requester: &Requester) -> Result<KeyMetadata, KmsError> {
        let c = self.client.clone();
        let key_id = self.wire_ref(key, requester);
        let requester = requester.clone();
        self.run(async move {
            let out = c
                .describe_key()
                .key_id(key_id.clone())
                .send()
                .await
                .map_err(|e| map_error(e, &key_id))?;
            let m = metadata(
                out.key_metadata()
                    .ok_or(other(AwsKmsError::Malformed("no KeyMetadata")))?,
            )?;
            requester.check_key_account(&m.account, &m.arn)?;
            Ok(m)
        })
    }
}

//! Choosing a KMS by configuration: [`KmsSettings`] (`local` or `aws`, endpoint, Region,
//! credentials), shared by the CLI and servers so every front end accepts the same settings.
//!
//! ```json
//! {"kind": "aws", "endpoint": "http://127.0.0.1:5000", "region": "us-east-1",
//!  "credentials": "env", "account": "123456789012"}
//! ```
//!
//! `local` (the default) is the embedded [`LocalKms`]; `aws` is [`AwsKms`](crate::AwsKms)
//! (cargo feature `aws`; without it, choosing `aws` is an error that says so).

use std::str::FromStr;
use std::sync::Arc;

use crate::error::KmsError;
use crate::kms::Kms;
use crate::local::{LocalKms, LocalKmsConfig};

/// Which KMS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KmsKind {
    /// The embedded, file-backed [`LocalKms`].
    #[default]
    Local,
    /// The AWS KMS API ([`AwsKms`](crate::AwsKms)), at AWS or at `endpoint`.
    Aws,
}

impl FromStr for KmsKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "local" => Ok(KmsKind::Local),
            "aws" => Ok(KmsKind::Aws),
            _ => Err(format!("unknown KMS {s:?} (local, aws)")),
        }
    }
}

/// Where [`KmsKind::Aws`] gets credentials: `default` (the SDK's chain), `env`
/// (`AWS_ACCESS_KEY_ID`, …), `profile` or `profile:NAME` (the shared files). Fixed keys are
/// given through the library ([`AwsCredentials::fixed`](crate::AwsCredentials::fixed)), never
/// on a command line or in a settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum CredentialSource {
    /// The SDK's default chain.
    #[default]
    Default,
    /// The environment.
    Environment,
    /// A profile (`None`: `AWS_PROFILE` or `default`).
    Profile(Option<String>),
}

impl FromStr for CredentialSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(CredentialSource::Default),
            "env" | "environment" => Ok(CredentialSource::Environment),
            "profile" => Ok(CredentialSource::Profile(None)),
            _ => match s.strip_prefix("profile:") {
                Some(p) if !p.is_empty() => Ok(CredentialSource::Profile(Some(p.to_owned()))),
                _ => Err(format!(
                    "unknown credential source {s:?} (default, env, profile, profile:NAME)"
                )),
            },
        }
    }
}

impl TryFrom<String> for CredentialSource {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<CredentialSource> for String {
    fn from(c: CredentialSource) -> String {
        match c {
            CredentialSource::Default => "default".to_owned(),
            CredentialSource::Environment => "env".to_owned(),
            CredentialSource::Profile(None) => "profile".to_owned(),
            CredentialSource::Profile(Some(p)) => format!("profile:{p}"),
        }
    }
}

/// Which KMS to use and how to reach it. Serde: a JSON object with the field names below, all
/// optional; unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KmsSettings {
    /// `local` (default) or `aws`.
    pub kind: KmsKind,
    /// The AWS KMS API endpoint URL (default: AWS's for the Region).
    pub endpoint: Option<String>,
    /// The Region (default: `AWS_REGION` or the profile's).
    pub region: Option<String>,
    /// Where credentials come from.
    pub credentials: CredentialSource,
    /// The account of the credentials (12 digits), if known: the account buckets are created
    /// in; see [`AwsKmsConfig::account`](crate::AwsKmsConfig::account).
    pub account: Option<String>,
}

impl KmsSettings {
    /// Settings from JSON (a settings file).
    ///
    /// # Errors
    /// [`KmsError::InvalidArgument`] if the JSON is not a settings object.
    pub fn from_json(json: &str) -> Result<Self, KmsError> {
        serde_json::from_str(json)
            .map_err(|_| KmsError::InvalidArgument("malformed KMS settings (JSON)"))
    }

    /// Settings given on a command line override these: each `Some` replaces.
    #[must_use]
    pub fn overridden(
        mut self,
        kind: Option<KmsKind>,
        endpoint: Option<String>,
        region: Option<String>,
        credentials: Option<CredentialSource>,
        account: Option<String>,
    ) -> Self {
        self.kind = kind.unwrap_or(self.kind);
        self.endpoint = endpoint.or(self.endpoint);
        self.region = region.or(self.region);
        self.credentials = credentials.unwrap_or(self.credentials);
        self.account = account.or(self.account);
        self
    }

    /// The [`AwsKmsConfig`](crate::AwsKmsConfig) these settings describe.
    #[cfg(feature = "aws")]
    #[must_use]
    pub fn aws_config(&self) -> crate::AwsKmsConfig {
        use crate::AwsCredentials;
        let mut c = crate::AwsKmsConfig::new().credentials(match &self.credentials {
            CredentialSource::Default => AwsCredentials::Default,
            CredentialSource::Environment => AwsCredentials::Environment,
            CredentialSource::Profile(p) => AwsCredentials::Profile(p.clone()),
        });
        if let Some(e) = &self.endpoint {
            c = c.endpoint(e);
        }
        if let Some(r) = &self.region {
            c = c.region(r);
        }
        if let Some(a) = &self.account {
            c = c.account(a);
        }
        c
    }

    /// The remote KMS these settings name ([`KmsKind::Aws`]).
    ///
    /// # Errors
    /// [`KmsError::InvalidArgument`] if the kind is not remote or this build lacks the `aws`
    /// feature; [`AwsKms::new`](crate::AwsKms::new)'s errors.
    pub fn open_remote(&self) -> Result<Arc<dyn Kms>, KmsError> {
        match self.kind {
            KmsKind::Local => Err(KmsError::InvalidArgument("the local KMS is not remote")),
            #[cfg(feature = "aws")]
            KmsKind::Aws => Ok(Arc::new(crate::AwsKms::new(self.aws_config())?)),
            #[cfg(not(feature = "aws"))]
            KmsKind::Aws => Err(KmsError::InvalidArgument(
                "this build has no AWS KMS client (cargo feature `aws` of s3seal-kms)",
            )),
        }
    }

    /// The account buckets belong to with the remote KMS `kms` these settings opened: the
    /// configured [`KmsSettings::account`], else the credentials' own account, as the AWS
    /// managed key `alias/aws/s3` names it (a bare alias resolves in the caller's account).
    ///
    /// # Errors
    /// The KMS's errors when it has to be asked.
    pub fn remote_account(&self, kms: &dyn Kms) -> Result<String, KmsError> {
        if let Some(a) = &self.account {
            return Ok(a.clone());
        }
        let anyone = crate::Requester::new("000000000000").map_err(KmsError::from)?;
        Ok(kms.default_sse_kms_key(&anyone)?.account)
    }

    /// The KMS these settings name: for [`KmsKind::Local`], [`LocalKms`] opened with `local`;
    /// else [`KmsSettings::open_remote`].
    ///
    /// # Errors
    /// As [`LocalKms::open`] or [`KmsSettings::open_remote`].
    pub fn open(&self, local: LocalKmsConfig) -> Result<Arc<dyn Kms>, KmsError> {
        match self.kind {
            KmsKind::Local => Ok(Arc::new(LocalKms::open(local)?)),
            _ => self.open_remote(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_override() {
        let s = KmsSettings::from_json(
            r#"{"kind":"aws","endpoint":"http://127.0.0.1:1","region":"eu-west-1",
                "credentials":"profile:ci"}"#,
        )
        .unwrap_or_default();
        assert_eq!(s.kind, KmsKind::Aws);
        assert_eq!(
            s.credentials,
            CredentialSource::Profile(Some("ci".to_owned()))
        );
        let s = s.overridden(None, None, Some("us-east-2".to_owned()), None, None);
        assert_eq!(s.region.as_deref(), Some("us-east-2"));
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(KmsSettings::from_json("{}"), Ok(KmsSettings::default()));
        assert!(KmsSettings::from_json(r#"{"kind":"vault"}"#).is_err());
        assert!(KmsSettings::from_json(r#"{"secret":"x"}"#).is_err());
        assert!("profile:".parse::<CredentialSource>().is_err());
        assert_eq!("aws".parse(), Ok(KmsKind::Aws));
        assert!("Aws".parse::<KmsKind>().is_err());
    }
}

//! `--kms local|aws` and its companions, global options of every command, over the settings
//! file `HOME/kms.json` (`s3seal_kms::KmsSettings`: `{"kind": "aws", "endpoint": …}`); flags
//! win over the file, and without either the embedded keystore in the home is the KMS.

use std::path::Path;

use clap::Args;
use s3seal::kms::{CredentialSource, KmsKind, KmsSettings};

use crate::error::{CliError, Result};

/// The settings file in the home directory.
pub const SETTINGS_FILE: &str = "kms.json";

/// Which KMS holds the keys.
#[derive(Debug, Clone, Default, Args)]
pub struct KmsArgs {
    /// The KMS: `local` (the embedded keystore in the home; default) or `aws` (the AWS KMS
    /// API; needs a build with the `aws` feature). Default: HOME/kms.json, else local.
    #[arg(long, global = true, value_name = "KIND")]
    pub kms: Option<KmsKind>,
    /// The AWS KMS API endpoint URL, e.g. http://127.0.0.1:5000 (default: AWS's).
    #[arg(long, global = true, value_name = "URL")]
    pub kms_endpoint: Option<String>,
    /// The AWS Region (default: AWS_REGION or the profile's).
    #[arg(long, global = true, value_name = "REGION")]
    pub kms_region: Option<String>,
    /// AWS credentials: default (the SDK's chain), env, profile or profile:NAME.
    #[arg(long, global = true, value_name = "SOURCE")]
    pub kms_credentials: Option<CredentialSource>,
    /// The AWS account of the credentials (12 digits; default: asked of the KMS).
    #[arg(long, global = true, value_name = "ACCOUNT")]
    pub kms_account: Option<String>,
}

impl KmsArgs {
    /// `HOME/kms.json` (if present) overridden by the flags.
    ///
    /// # Errors
    /// The settings file cannot be read or is malformed.
    pub fn settings(&self, home: &Path) -> Result<KmsSettings> {
        let path = home.join(SETTINGS_FILE);
        let file = match std::fs::read_to_string(&path) {
            Ok(json) => KmsSettings::from_json(&json)
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => KmsSettings::default(),
            Err(source) => {
                return Err(CliError::Io {
                    what: format!("reading {}", path.display()),
                    source,
                });
            }
        };
        Ok(file.overridden(
            self.kms,
            self.kms_endpoint.clone(),
            self.kms_region.clone(),
            self.kms_credentials.clone(),
            self.kms_account.clone(),
        ))
    }
}

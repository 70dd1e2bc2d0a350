//! `s3seal bucket …`: bucket creation and PutBucketEncryption / GetBucketEncryption /
//! DeleteBucketEncryption.

use std::path::{Path, PathBuf};

use s3seal::policy::config::MAX_CONFIG_XML_LEN;
use s3seal::policy::{
    AliasPolicy, BucketKind, PolicyError, Warning, check_bucket_name, delete_bucket_encryption,
    get_bucket_encryption, put_bucket_encryption,
};

use crate::error::{CliError, Result};
use crate::fsio::read_at_most;
use crate::out::{outln, warn_line};
use crate::store::{Home, parse_kind};

/// The bucket subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BucketCommand {
    /// Creates a bucket (no default encryption: the base level, SSE-S3).
    Create {
        /// Bucket name: S3's rules (3-63 of a-z 0-9 . -, no "..", not an IP address, ...).
        bucket: String,
        /// general, directory or fsx.
        #[arg(long, default_value = "general")]
        kind: String,
    },
    /// PutBucketEncryption from an XML document or from flags.
    SetEncryption(SetEncryption),
    /// GetBucketEncryption: prints the configuration XML.
    GetEncryption {
        /// Bucket name.
        bucket: String,
    },
    /// DeleteBucketEncryption: back to the base level, SSE-S3.
    DeleteEncryption {
        /// Bucket name.
        bucket: String,
    },
}

/// `bucket set-encryption` arguments.
#[derive(Debug, clap::Args)]
pub struct SetEncryption {
    /// Bucket name.
    pub bucket: String,
    /// A ServerSideEncryptionConfiguration XML document.
    #[arg(long, conflicts_with_all = ["sse", "kms_key", "bucket_key", "block_sse_c"])]
    pub file: Option<PathBuf>,
    /// SSEAlgorithm: AES256, aws:kms or aws:kms:dsse.
    #[arg(long, value_name = "ALG", required_unless_present = "file")]
    pub sse: Option<String>,
    /// KMSMasterKeyID.
    #[arg(long, value_name = "ID")]
    pub kms_key: Option<String>,
    /// BucketKeyEnabled.
    #[arg(long)]
    pub bucket_key: bool,
    /// BlockedEncryptionTypes: SSE-C.
    #[arg(long)]
    pub block_sse_c: bool,
    /// Create the bucket with this kind if it does not exist.
    #[arg(long)]
    pub kind: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The XML document the flags stand for.
#[must_use]
pub fn config_xml(sse: &str, kms_key: Option<&str>, bucket_key: bool, block_sse_c: bool) -> String {
    let key = kms_key
        .map(|k| format!("<KMSMasterKeyID>{}</KMSMasterKeyID>", escape(k)))
        .unwrap_or_default();
    let blocked = if block_sse_c {
        "<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>"
    } else {
        ""
    };
    format!(
        "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>\
         <ApplyServerSideEncryptionByDefault><SSEAlgorithm>{}</SSEAlgorithm>{key}</ApplyServerSideEncryptionByDefault>\
         <BucketKeyEnabled>{bucket_key}</BucketKeyEnabled>{blocked}</Rule></ServerSideEncryptionConfiguration>",
        escape(sse)
    )
}

/// PutBucketEncryption with `xml` on `bucket`; prints the policy's warnings on standard error.
///
/// # Errors
/// The policy's refusals (MalformedXML, InvalidArgument, …); `NoSuchBucket`; I/O.
pub fn set_encryption(home: &Home, bucket: &str, xml: &[u8]) -> Result<()> {
    let mut b = home.bucket(bucket)?;
    let parsed = put_bucket_encryption(&b, xml, AliasPolicy::Warn)?;
    for w in &parsed.warnings {
        match w {
            Warning::AliasResolvesInRequesterAccount => {
                warn_line(format_args!(
                    "warning: a KMS alias resolves in the requester's account; prefer a key ARN"
                ));
            }
            Warning::KeyIdNotFullyQualified => {
                warn_line(format_args!(
                    "warning: a bare key id is not fully qualified; cross-account use needs a key ARN"
                ));
            }
            _ => {}
        }
    }
    b.set_encryption(parsed.encryption);
    home.save_bucket(&b)
}

/// Creates a bucket after checking its name against S3's rules for its kind.
fn create(home: &Home, name: &str, kind: BucketKind) -> Result<()> {
    check_bucket_name(name, kind)?;
    home.create_bucket(name, kind)?;
    Ok(())
}

/// Reads a configuration document, at most [`MAX_CONFIG_XML_LEN`] bytes (bounded: `/dev/zero`
/// is refused after 16 KiB).
fn read_config(path: &Path) -> Result<Vec<u8>> {
    let mut xml = Vec::new();
    if read_at_most(path, MAX_CONFIG_XML_LEN, &mut xml)? {
        return Ok(xml);
    }
    let s3 = PolicyError::XmlTooLarge.s3();
    Err(CliError::S3 {
        code: s3.code,
        message: format!(
            "{} ({} is larger than {MAX_CONFIG_XML_LEN} bytes)",
            s3.message,
            path.display()
        ),
    })
}

/// Runs a bucket subcommand.
///
/// # Errors
/// As [`set_encryption`]; `BucketAlreadyOwnedByYou`;
/// `ServerSideEncryptionConfigurationNotFoundError`.
pub fn run(home: &Home, cmd: &BucketCommand) -> Result<()> {
    match cmd {
        BucketCommand::Create { bucket, kind } => {
            create(home, bucket, parse_kind(kind)?)?;
            outln!("created bucket {bucket} ({kind}, owner {})", home.account())?;
        }
        BucketCommand::SetEncryption(a) => {
            if let Some(kind) = &a.kind {
                let kind = parse_kind(kind)?;
                match home.bucket(&a.bucket) {
                    Ok(b) if b.kind != kind => {
                        return Err(CliError::Usage(format!(
                            "bucket {} exists with another kind",
                            a.bucket
                        )));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        create(home, &a.bucket, kind)?;
                    }
                }
            }
            let xml = match (&a.file, &a.sse) {
                (Some(f), _) => read_config(f)?,
                (None, Some(sse)) => {
                    config_xml(sse, a.kms_key.as_deref(), a.bucket_key, a.block_sse_c).into_bytes()
                }
                (None, None) => return Err(CliError::Usage("give --file or --sse".to_owned())),
            };
            set_encryption(home, &a.bucket, &xml)?;
        }
        BucketCommand::GetEncryption { bucket } => {
            let b = home.bucket(bucket)?;
            outln!("{}", get_bucket_encryption(&b)?)?;
        }
        BucketCommand::DeleteEncryption { bucket } => {
            let mut b = home.bucket(bucket)?;
            delete_bucket_encryption(&mut b)?;
            home.save_bucket(&b)?;
        }
    }
    Ok(())
}

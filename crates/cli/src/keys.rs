//! `s3seal keys …`: management calls on the local keystore.

use std::time::UNIX_EPOCH;

use s3seal::kms::{KeyMetadata, KeyState};
use s3seal::policy::KeyRef;

use crate::error::{CliError, Result};
use crate::out::outln;
use crate::store::Home;

/// The keys subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Creates a customer managed key (and optionally an alias for it); prints its id and ARN.
    Create {
        /// Free-text description.
        #[arg(long, default_value = "")]
        description: String,
        /// An alias (`NAME` or `alias/NAME`) to point at the new key.
        #[arg(long)]
        alias: Option<String>,
    },
    /// Lists the keys and their aliases.
    List,
    /// Shows a key's metadata.
    Describe {
        /// Key id, key ARN, alias/NAME or alias ARN.
        key: String,
    },
    /// Points an alias at a key (creating or moving the alias).
    Alias {
        /// `NAME` or `alias/NAME`.
        alias: String,
        /// The target key.
        key: String,
    },
    /// Rotates a key's material (old blobs still decrypt).
    Rotate {
        /// The key.
        key: String,
    },
    /// Disables a key: reads and writes under it fail until enabled.
    Disable {
        /// The key.
        key: String,
    },
    /// Enables a disabled key.
    Enable {
        /// The key.
        key: String,
    },
}

fn key_ref(s: &str) -> Result<KeyRef> {
    KeyRef::parse(s).map_err(|e| CliError::S3 {
        code: "KMS.NotFoundException",
        message: format!("Invalid keyId {s}: {e}"),
    })
}

fn alias_name(a: &str) -> String {
    if a.starts_with("alias/") {
        a.to_owned()
    } else {
        format!("alias/{a}")
    }
}

fn state(s: KeyState) -> &'static str {
    match s {
        KeyState::Enabled => "Enabled",
        KeyState::Disabled => "Disabled",
        _ => "PendingDeletion",
    }
}

fn describe(m: &KeyMetadata) -> Result<()> {
    let secs = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    outln!("KeyId:        {}", m.key_id)?;
    outln!("Arn:          {}", m.arn)?;
    outln!("State:        {}", state(m.state))?;
    outln!("Description:  {}", m.description)?;
    outln!("AwsManaged:   {}", m.aws_managed)?;
    outln!("Created:      {} (unix seconds)", secs(m.creation_date))?;
    outln!("KeyVersion:   {}", m.rotation.current_version)?;
    if let Some(t) = m.rotation.last_rotated {
        outln!("LastRotated:  {} (unix seconds)", secs(t))?;
    }
    let aliases: Vec<String> = m.aliases.iter().map(|a| format!("alias/{a}")).collect();
    outln!("Aliases:      {}", aliases.join(", "))
}

/// Runs a keys subcommand.
///
/// # Errors
/// KMS errors (unknown key, reserved alias, managed key); I/O.
pub fn run(home: &Home, cmd: &KeysCommand) -> Result<()> {
    let kms = home.kms()?;
    match cmd {
        KeysCommand::Create { description, alias } => {
            let m = kms.create_key(description)?;
            if let Some(a) = alias {
                kms.create_alias(&alias_name(a), &key_ref(&m.key_id)?)?;
            }
            outln!("{}\t{}", m.key_id, m.arn)?;
        }
        KeysCommand::List => {
            for m in kms.list_keys() {
                let names: Vec<String> = m.aliases.iter().map(|a| format!("alias/{a}")).collect();
                let managed = if m.aws_managed { " (AWS managed)" } else { "" };
                outln!(
                    "{}\t{}\t{}{managed}\t{}",
                    m.key_id,
                    state(m.state),
                    names.join(","),
                    m.description
                )?;
            }
        }
        KeysCommand::Describe { key } => describe(&kms.describe(&key_ref(key)?)?)?,
        KeysCommand::Alias { alias, key } => {
            let name = alias_name(alias);
            let target = key_ref(key)?;
            let exists = kms.describe(&key_ref(&name)?).is_ok();
            if exists {
                kms.update_alias(&name, &target)?
            } else {
                kms.create_alias(&name, &target)?
            }
            outln!("{name} -> {}", kms.describe(&target)?.arn)?;
        }
        KeysCommand::Rotate { key } => {
            let m = kms.rotate_key(&key_ref(key)?)?;
            outln!(
                "{} rotated to version {}",
                m.arn,
                m.rotation.current_version
            )?;
        }
        KeysCommand::Disable { key } => {
            let m = kms.disable_key(&key_ref(key)?)?;
            outln!("{} {}", m.arn, state(m.state))?;
        }
        KeysCommand::Enable { key } => {
            let m = kms.enable_key(&key_ref(key)?)?;
            outln!("{} {}", m.arn, state(m.state))?;
        }
    }
    Ok(())
}

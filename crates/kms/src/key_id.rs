//! KMS key identifiers in the four forms S3 and KMS accept.
//!
//! > You can specify the key ID, key alias, or the Amazon Resource Name (ARN) of the KMS key.
//! > Key ID: `1234abcd-12ab-34cd-56ef-1234567890ab`;
//! > Key ARN: `arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
//! > Key Alias: `alias/alias-name`
//! > — `ServerSideEncryptionByDefault`, KMSMasterKeyID
//!
//! Alias ARNs (`arn:aws:kms:REGION:ACCOUNT:alias/NAME`) are accepted as KMS accepts them. A key id
//! is a lowercase-or-uppercase hex UUID, or a multi-Region id `mrk-` followed by 32 hex digits.
//! An alias name is `alias/` followed by 1 to 250 characters of `[A-Za-z0-9/_-]`.

use core::fmt;
use core::str::FromStr;

/// Why a string is not a KMS key identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyIdError {
    /// The string is empty.
    #[error("empty KMS key id")]
    Empty,
    /// Not a UUID or `mrk-` id.
    #[error("malformed KMS key id")]
    BadKeyId,
    /// An alias name with a bad length or characters.
    #[error("malformed KMS alias name")]
    BadAlias,
    /// An ARN that is not `arn:PARTITION:kms:REGION:ACCOUNT:key/ID` or `…:alias/NAME`.
    #[error("malformed KMS key ARN")]
    BadArn,
    /// An account id that is not 12 decimal digits.
    #[error("malformed account id")]
    BadAccount,
}

/// Checks that `account` is a 12-digit account id.
///
/// # Errors
/// [`KeyIdError::BadAccount`] otherwise.
pub fn check_account(account: &str) -> Result<(), KeyIdError> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(KeyIdError::BadAccount)
    }
}

/// A parsed `arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE` for a KMS key or alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KmsArn {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: String,
    /// The Region, e.g. `us-east-2`.
    pub region: String,
    /// The 12-digit account id.
    pub account: String,
    /// The key id (for a key ARN) or alias name without `alias/` (for an alias ARN).
    pub name: String,
}

/// A reference to a KMS key, in the form the caller wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyRef {
    /// A bare key id (UUID or `mrk-…`); resolved in the requester's account.
    KeyId(String),
    /// A full key ARN.
    KeyArn(KmsArn),
    /// `alias/NAME` (stored without the `alias/` prefix); resolved in the requester's account.
    AliasName(String),
    /// A full alias ARN.
    AliasArn(KmsArn),
}

impl KeyRef {
    /// Parses any of the four forms.
    ///
    /// # Errors
    /// A [`KeyIdError`] naming the form that was malformed.
    pub fn parse(s: &str) -> Result<KeyRef, KeyIdError> {
        if s.is_empty() {
            return Err(KeyIdError::Empty);
        }
        if let Some(rest) = s.strip_prefix("arn:") {
            return parse_arn(rest);
        }
        if let Some(name) = s.strip_prefix("alias/") {
            return check_alias(name).map(|()| KeyRef::AliasName(name.to_owned()));
        }
        check_key_id(s).map(|()| KeyRef::KeyId(s.to_owned()))
    }

    /// Whether this is an alias (name or ARN). The seed warns that an alias "resolves the key
    /// within the requester's account", which can put data under the requester's key.
    #[must_use]
    pub fn is_alias(&self) -> bool {
        matches!(self, KeyRef::AliasName(_) | KeyRef::AliasArn(_))
    }

    /// Whether the reference names its account (an ARN) rather than relying on the requester's.
    #[must_use]
    pub fn is_fully_qualified(&self) -> bool {
        matches!(self, KeyRef::KeyArn(_) | KeyRef::AliasArn(_))
    }

    /// The account named by an ARN form; `None` for bare ids and alias names.
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        match self {
            KeyRef::KeyArn(a) | KeyRef::AliasArn(a) => Some(&a.account),
            _ => None,
        }
    }
}

impl FromStr for KeyRef {
    type Err = KeyIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyRef::parse(s)
    }
}

impl fmt::Display for KmsArn {
    /// Formats as a key ARN (`…:key/ID`); alias ARNs print through [`KeyRef`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:kms:{}:{}:key/{}",
            self.partition, self.region, self.account, self.name
        )
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::KeyId(id) => f.write_str(id),
            KeyRef::KeyArn(a) => write!(f, "{a}"),
            KeyRef::AliasName(n) => write!(f, "alias/{n}"),
            KeyRef::AliasArn(a) => {
                write!(
                    f,
                    "arn:{}:kms:{}:{}:alias/{}",
                    a.partition, a.region, a.account, a.name
                )
            }
        }
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_key_id(s: &str) -> Result<(), KeyIdError> {
    if let Some(hex) = s.strip_prefix("mrk-") {
        return if hex.len() == 32 && is_hex(hex) {
            Ok(())
        } else {
            Err(KeyIdError::BadKeyId)
        };
    }
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && is_hex(g))
    {
        Ok(())
    } else {
        Err(KeyIdError::BadKeyId)
    }
}

fn check_alias(name: &str) -> Result<(), KeyIdError> {
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-');
    if (1..=250).contains(&name.len()) && name.bytes().all(ok_char) {
        Ok(())
    } else {
        Err(KeyIdError::BadAlias)
    }
}

fn parse_arn(rest: &str) -> Result<KeyRef, KeyIdError> {
    // PARTITION:kms:REGION:ACCOUNT:RESOURCE — the resource may itself contain '/' but not ':'.
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [partition, service, region, account, resource] = parts[..] else {
        return Err(KeyIdError::BadArn);
    };
    let partition_ok = partition.starts_with("aws")
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = check_account(account).is_ok();
    if !partition_ok || service != "kms" || !region_ok || !account_ok || resource.contains(':') {
        return Err(KeyIdError::BadArn);
    }
    let arn = |name: &str| KmsArn {
        partition: partition.to_owned(),
        region: region.to_owned(),
        account: account.to_owned(),
        name: name.to_owned(),
    };
    if let Some(id) = resource.strip_prefix("key/") {
        check_key_id(id).map_err(|_| KeyIdError::BadArn)?;
        Ok(KeyRef::KeyArn(arn(id)))
    } else if let Some(name) = resource.strip_prefix("alias/") {
        check_alias(name).map_err(|_| KeyIdError::BadArn)?;
        Ok(KeyRef::AliasArn(arn(name)))
    } else {
        Err(KeyIdError::BadArn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn the_four_forms_of_the_seed_parse_and_print_back() {
        for s in [
            ID,
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/alias-name",
            "arn:aws:kms:us-east-2:111122223333:alias/alias-name",
            "alias/aws/s3",
        ] {
            let k = KeyRef::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(k.to_string(), s);
        }
        assert!(KeyRef::parse("alias/x").unwrap().is_alias());
        assert_eq!(
            KeyRef::parse("arn:aws:kms:us-east-2:111122223333:alias/x")
                .unwrap()
                .account(),
            Some("111122223333")
        );
        assert!(!KeyRef::parse(ID).unwrap().is_fully_qualified());
    }

    #[test]
    fn malformed_ids_are_refused_with_their_form() {
        for (s, e) in [
            ("", KeyIdError::Empty),
            ("1234abcd-12ab-34cd-56ef-1234567890a", KeyIdError::BadKeyId),
            ("1234abcd-12ab-34cd-56ef-1234567890ag", KeyIdError::BadKeyId),
            ("not-a-key", KeyIdError::BadKeyId),
            ("alias/", KeyIdError::BadAlias),
            ("alias/has space", KeyIdError::BadAlias),
            (
                "arn:aws:s3:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                KeyIdError::BadArn,
            ),
            (
                "arn:aws:kms:us-east-2:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                KeyIdError::BadArn,
            ),
            (
                "arn:aws:kms:us-east-2:111122223333:key/nope",
                KeyIdError::BadArn,
            ),
            (
                "arn:aws:kms:us-east-2:111122223333:grant/x",
                KeyIdError::BadArn,
            ),
            ("arn:aws:kms:us-east-2", KeyIdError::BadArn),
        ] {
            assert_eq!(KeyRef::parse(s), Err(e), "{s:?}");
        }
        assert_eq!(
            KeyRef::parse(&"a".repeat(251).replacen('a', "alias/", 1)).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            KeyRef::parse(&format!("alias/{}", "a".repeat(251))),
            Err(KeyIdError::BadAlias)
        );
    }
}

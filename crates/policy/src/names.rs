//! S3's naming rules for buckets and object keys, shared by every backend (the file store, the
//! CLI, a gateway) so they refuse the same names with the same S3 error.
//!
//! General purpose buckets ("Bucket naming rules", Amazon S3 User Guide):
//!
//! * 3 to 63 characters; only lowercase letters, digits, `.` and `-`;
//! * begin and end with a letter or digit; no two adjacent periods (`..`);
//! * not formatted as an IP address (e.g. `192.168.5.4`);
//! * not starting with `xn--`, `sthree-` or `amzn-s3-demo-`;
//! * not ending with `-s3alias`, `--ol-s3`, `.mrap`, `--x-s3` or `--table-s3` (reserved for
//!   access point aliases, Object Lambda, Multi-Region Access Points, directory buckets and
//!   table buckets).
//!
//! Directory buckets: 3 to 63 characters including the suffix, only lowercase letters, digits and
//! `-` (no `.`), begin and end with a letter or digit, the same reserved prefixes, and the suffix
//! `--ZONE-ID--x-s3` (e.g. `logs--use1-az4--x-s3`). **Our decision:** a local store has no
//! Availability Zones, so a directory bucket name *without* the suffix is accepted (e.g. `dirb`);
//! a name *with* it must be well formed. FSx access points follow the general purpose rules.
//!
//! Object keys: at most [`MAX_KEY_LEN`] bytes of UTF-8 ("The name for a key is a sequence of
//! Unicode characters whose UTF-8 encoding is at most 1,024 bytes long"); `KeyTooLongError`.

use http::StatusCode;

use crate::algorithm::BucketKind;
use crate::error::S3Error;

/// Shortest bucket name.
pub const MIN_BUCKET_NAME_LEN: usize = 3;
/// Longest bucket name.
pub const MAX_BUCKET_NAME_LEN: usize = 63;
/// Longest object key, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;

/// Prefixes no bucket name may start with.
const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
/// Suffixes no bucket name may end with (`--x-s3` only general purpose buckets).
const RESERVED_SUFFIXES: [&str; 4] = ["-s3alias", "--ol-s3", ".mrap", "--table-s3"];
/// The suffix of a directory bucket's name.
const DIRECTORY_SUFFIX: &str = "--x-s3";

/// Why a bucket name or object key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Fewer than 3 or more than 63 characters.
    #[error("bucket name must be 3 to 63 characters long")]
    BucketNameLength,
    /// A character other than `a-z 0-9 . -` (or a `.` in a directory bucket name).
    #[error("bucket name may only contain lowercase letters, digits, '.' and '-'")]
    BucketNameCharacter,
    /// Does not begin or end with a letter or digit.
    #[error("bucket name must begin and end with a letter or digit")]
    BucketNameEdge,
    /// Two adjacent periods.
    #[error("bucket name must not contain '..'")]
    AdjacentPeriods,
    /// Formatted as an IP address.
    #[error("bucket name must not be formatted as an IP address")]
    IpAddress,
    /// A reserved prefix.
    #[error("bucket name must not start with {0:?}")]
    ReservedPrefix(&'static str),
    /// A reserved suffix.
    #[error("bucket name must not end with {0:?}")]
    ReservedSuffix(&'static str),
    /// A directory bucket name whose `--ZONE-ID--x-s3` suffix is malformed.
    #[error("directory bucket name must be BASE--ZONE-ID--x-s3")]
    DirectoryBucketSuffix,
    /// An empty object key.
    #[error("object key must not be empty")]
    KeyEmpty,
    /// An object key longer than 1,024 bytes of UTF-8.
    #[error("object key is longer than 1024 bytes")]
    KeyTooLong,
}

impl NameError {
    /// What S3 answers: `InvalidBucketName` for a bucket name, `KeyTooLongError` for a long key
    /// (an empty key cannot be addressed in S3 at all; we answer `InvalidArgument`).
    #[must_use]
    pub fn s3(&self) -> S3Error {
        let (code, message) = match self {
            NameError::KeyTooLong => ("KeyTooLongError", "Your key is too long."),
            NameError::KeyEmpty => ("InvalidArgument", "The object key must not be empty."),
            _ => ("InvalidBucketName", "The specified bucket is not valid."),
        };
        S3Error {
            code,
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Four dot-separated groups of digits, e.g. `192.168.5.4`.
fn looks_like_ip(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_digit()))
}

/// The rules every kind shares: length, edges, reserved prefixes and suffixes.
fn common(name: &str, dots: bool) -> Result<(), NameError> {
    let b = name.as_bytes();
    if !(MIN_BUCKET_NAME_LEN..=MAX_BUCKET_NAME_LEN).contains(&b.len()) {
        return Err(NameError::BucketNameLength);
    }
    if !b
        .iter()
        .all(|&c| is_alnum(c) || c == b'-' || (dots && c == b'.'))
    {
        return Err(NameError::BucketNameCharacter);
    }
    if !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return Err(NameError::BucketNameEdge);
    }
    if let Some(p) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Err(NameError::ReservedPrefix(p));
    }
    if let Some(s) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return Err(NameError::ReservedSuffix(s));
    }
    Ok(())
}

fn general(name: &str) -> Result<(), NameError> {
    common(name, true)?;
    if name.contains("..") {
        return Err(NameError::AdjacentPeriods);
    }
    if looks_like_ip(name) {
        return Err(NameError::IpAddress);
    }
    if name.ends_with(DIRECTORY_SUFFIX) {
        return Err(NameError::ReservedSuffix(DIRECTORY_SUFFIX));
    }
    Ok(())
}

fn directory(name: &str) -> Result<(), NameError> {
    common(name, false)?;
    let Some(rest) = name.strip_suffix(DIRECTORY_SUFFIX) else {
        // Our decision: the zone suffix is optional in a local store (see the module docs).
        return Ok(());
    };
    let (base, zone) = rest
        .rsplit_once("--")
        .ok_or(NameError::DirectoryBucketSuffix)?;
    let zone_ok = zone.split('-').count() >= 2
        && zone
            .split('-')
            .all(|g| !g.is_empty() && g.bytes().all(is_alnum));
    let base_ok = base.bytes().last().is_some_and(is_alnum);
    if zone_ok && base_ok {
        Ok(())
    } else {
        Err(NameError::DirectoryBucketSuffix)
    }
}

/// Checks a bucket name against S3's rules for `kind` (see the module docs).
///
/// # Errors
/// The first rule broken; [`NameError::s3`] is `InvalidBucketName`.
pub fn check_bucket_name(name: &str, kind: BucketKind) -> Result<(), NameError> {
    match kind {
        BucketKind::Directory => directory(name),
        _ => general(name),
    }
}

/// Checks a name that may belong to a bucket of any kind (for looking a bucket up before its kind
/// is known): valid as a general purpose bucket name, or as a directory bucket name.
///
/// # Errors
/// As [`check_bucket_name`] for a general purpose bucket.
pub fn check_bucket_name_any(name: &str) -> Result<(), NameError> {
    match general(name) {
        Err(e) if name.ends_with(DIRECTORY_SUFFIX) => directory(name).map_err(|_| e),
        r => r,
    }
}

/// Checks an object key: not empty, at most [`MAX_KEY_LEN`] bytes of UTF-8.
///
/// # Errors
/// [`NameError::KeyTooLong`] (`KeyTooLongError`), [`NameError::KeyEmpty`].
pub fn check_object_key(key: &str) -> Result<(), NameError> {
    if key.is_empty() {
        Err(NameError::KeyEmpty)
    } else if key.len() > MAX_KEY_LEN {
        Err(NameError::KeyTooLong)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GP: BucketKind = BucketKind::GeneralPurpose;
    const DIR: BucketKind = BucketKind::Directory;

    #[test]
    fn valid_general_purpose_names() {
        for n in [
            "bkt",
            "docexamplebucket1",
            "log-delivery-march-2020",
            "my-hosted-content",
            "example.com",
            "www.example.com",
            "my.example.s3.bucket",
            "1.2.3",
            "1.2.3.4.5",
            "a-b",
            &"a".repeat(63),
        ] {
            assert_eq!(check_bucket_name(n, GP), Ok(()), "{n}");
            assert_eq!(check_bucket_name_any(n), Ok(()), "{n}");
        }
    }

    #[test]
    fn length() {
        for n in ["", "a", "ab", &"a".repeat(64)] {
            assert_eq!(
                check_bucket_name(n, GP),
                Err(NameError::BucketNameLength),
                "{n}"
            );
            assert_eq!(
                check_bucket_name(n, DIR),
                Err(NameError::BucketNameLength),
                "{n}"
            );
        }
    }

    #[test]
    fn characters() {
        for n in [
            "Bucket",
            "my_bucket",
            "my bucket",
            "bucket/x",
            "buck\u{e9}t",
            "a\0b",
        ] {
            assert_eq!(
                check_bucket_name(n, GP),
                Err(NameError::BucketNameCharacter),
                "{n}"
            );
        }
        // No dots in directory bucket names.
        assert_eq!(
            check_bucket_name("a.b--use1-az4--x-s3", DIR),
            Err(NameError::BucketNameCharacter)
        );
    }

    #[test]
    fn edges() {
        for n in ["-abc", "abc-", ".abc", "abc."] {
            assert_eq!(
                check_bucket_name(n, GP),
                Err(NameError::BucketNameEdge),
                "{n}"
            );
        }
    }

    #[test]
    fn adjacent_periods() {
        assert_eq!(
            check_bucket_name("a..b", GP),
            Err(NameError::AdjacentPeriods)
        );
        assert_eq!(
            check_bucket_name_any("my..bucket"),
            Err(NameError::AdjacentPeriods)
        );
    }

    #[test]
    fn ip_address_form() {
        for n in ["192.168.5.4", "10.0.0.1", "999.999.999.999"] {
            assert_eq!(check_bucket_name(n, GP), Err(NameError::IpAddress), "{n}");
            assert_eq!(check_bucket_name_any(n), Err(NameError::IpAddress), "{n}");
        }
    }

    #[test]
    fn reserved_prefixes() {
        for (n, p) in [
            ("xn--abc", "xn--"),
            ("sthree-bucket", "sthree-"),
            ("sthree-configurator", "sthree-"),
            ("amzn-s3-demo-bucket", "amzn-s3-demo-"),
        ] {
            assert_eq!(
                check_bucket_name(n, GP),
                Err(NameError::ReservedPrefix(p)),
                "{n}"
            );
            assert_eq!(
                check_bucket_name(n, DIR),
                Err(NameError::ReservedPrefix(p)),
                "{n}"
            );
        }
    }

    #[test]
    fn reserved_suffixes() {
        for (n, s) in [
            ("bucket-s3alias", "-s3alias"),
            ("bucket--ol-s3", "--ol-s3"),
            ("bucket.mrap", ".mrap"),
            ("bucket--table-s3", "--table-s3"),
            ("bucket--use1-az4--x-s3", "--x-s3"),
        ] {
            assert_eq!(
                check_bucket_name(n, GP),
                Err(NameError::ReservedSuffix(s)),
                "{n}"
            );
        }
    }

    #[test]
    fn directory_buckets() {
        for n in [
            "dir--use1-az4--x-s3",
            "logs--usw2-lax1-az1--x-s3",
            "dirb",
            "my-dir-bucket",
        ] {
            assert_eq!(check_bucket_name(n, DIR), Ok(()), "{n}");
            assert_eq!(check_bucket_name_any(n), Ok(()), "{n}");
        }
        for n in [
            "--use1-az4--x-s3",
            "dir--x-s3",
            "dir---use1-az4--x-s3",
            "dir--use1--az4--x-s3",
            "dir--useaz4--x-s3",
            "dir--use1-az4---x-s3",
        ] {
            assert!(check_bucket_name(n, DIR).is_err(), "{n}");
            assert!(check_bucket_name_any(n).is_err(), "{n}");
        }
        assert_eq!(
            check_bucket_name("dir--x-s3", DIR),
            Err(NameError::DirectoryBucketSuffix)
        );
    }

    #[test]
    fn object_keys() {
        assert_eq!(check_object_key("k"), Ok(()));
        assert_eq!(check_object_key(&"k".repeat(1024)), Ok(()));
        assert_eq!(
            check_object_key(&"k".repeat(1025)),
            Err(NameError::KeyTooLong)
        );
        // Bytes of UTF-8, not characters: 342 three-byte characters are 1,026 bytes.
        assert_eq!(check_object_key(&"€".repeat(341)), Ok(()));
        assert_eq!(
            check_object_key(&"€".repeat(342)),
            Err(NameError::KeyTooLong)
        );
        assert_eq!(check_object_key(""), Err(NameError::KeyEmpty));
    }

    #[test]
    fn s3_codes() {
        assert_eq!(NameError::AdjacentPeriods.s3().code, "InvalidBucketName");
        assert_eq!(NameError::IpAddress.s3().status, StatusCode::BAD_REQUEST);
        assert_eq!(NameError::KeyTooLong.s3().code, "KeyTooLongError");
        assert_eq!(NameError::KeyTooLong.s3().message, "Your key is too long.");
    }
}

//! Secrets of the KMS crate (issue #18, item 7): no secret type's `Debug` prints key bytes, and
//! the keystore's secret-bearing files are created 0600 and refused, with an error that says
//! what to do, once group or others may read them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on failure"
)]

use std::fs;
use std::path::Path;

use base64::Engine as _;
use s3seal_kms::{
    EncryptionContext, KeyRef, KeystoreError, Kms, LocalKms, LocalKmsConfig, RootSecret,
    RootSecretSource,
};

/// The forms a key's bytes could be printed in: hex both cases, base64 (standard, URL-safe,
/// padded or not), and the `Debug` of the byte array.
fn renderings(bytes: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        format!("{bytes:?}"),
        format!("{:?}", &bytes[..8])
            .trim_end_matches(']')
            .to_owned(),
    ]
}

fn assert_hides(printed: &str, secret: &[u8], what: &str) {
    for r in renderings(secret) {
        assert!(
            !printed.contains(&r),
            "{what} prints key bytes ({r}): {printed}"
        );
    }
}

#[test]
fn no_secret_type_debug_prints_key_bytes() {
    let root = [0x5a_u8; 32];
    let rs = RootSecret::from_bytes(root).unwrap();
    assert_hides(&format!("{rs:?}"), &root, "RootSecret");
    assert_hides(&format!("{rs:#?}"), &root, "RootSecret");
    let src = RootSecretSource::Secret(rs.clone());
    assert_hides(&format!("{src:?}"), &root, "RootSecretSource");
    let cfg = LocalKmsConfig::new("/nonexistent").root_secret(src);
    assert_hides(&format!("{cfg:?}"), &root, "LocalKmsConfig");

    let d = tempfile::tempdir().unwrap();
    let kms =
        LocalKms::open(LocalKmsConfig::new(d.path()).root_secret(RootSecretSource::Secret(rs)))
            .unwrap();
    let k = kms.create_key("k").unwrap();
    let ctx = EncryptionContext::for_object("b", "o");
    let g = kms
        .generate_data_key(&KeyRef::parse(&k.arn).unwrap(), &kms.requester(), &ctx)
        .unwrap();
    let dk = *g.plaintext.as_bytes();
    for printed in [
        format!("{g:?}"),
        format!("{g:#?}"),
        format!("{:?}", g.plaintext),
    ] {
        assert_hides(&printed, &dk, "GeneratedDataKey");
        assert_hides(&printed, &root, "GeneratedDataKey");
    }
    let back = kms.decrypt(&g.ciphertext_blob, &ctx, None).unwrap();
    assert_eq!(back.plaintext.as_bytes(), &dk);
    assert_hides(&format!("{back:?}"), &dk, "DecryptedDataKey");
    assert_hides(&format!("{kms:?}"), &root, "LocalKms");
}

#[cfg(feature = "aws")]
#[test]
fn aws_credentials_debug_hides_the_secret_access_key() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let c = s3seal_kms::AwsCredentials::fixed("AKIDEXAMPLE", secret);
    let printed = format!("{c:?}");
    assert!(!printed.contains(secret), "{printed}");
    assert!(!printed.contains("wJalrXUtnFEMI"), "{printed}");
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

#[cfg(unix)]
#[test]
fn root_secret_and_keystore_files_are_0600_and_refused_when_others_may_read_them() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("keystore");
    let kms = LocalKms::open_dir(&d).unwrap();
    kms.create_key("k").unwrap();
    drop(kms);
    for f in [
        "root.key",
        "keystore.json",
        "keystore.generation",
        "keystore.lock",
    ] {
        assert_eq!(mode(&d.join(f)), 0o600, "{f}");
    }
    // The directory it created is private too.
    assert_eq!(mode(&d), 0o700, "keystore directory");

    for (file, m) in [
        ("root.key", 0o640),
        ("root.key", 0o644),
        ("root.key", 0o604),
        ("keystore.json", 0o640),
        ("keystore.json", 0o644),
        ("keystore.json", 0o602),
    ] {
        let p = d.join(file);
        chmod(&p, m);
        let e = LocalKms::open_dir(&d).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("chmod 600"), "{file} {m:o}: {msg}");
        match file {
            "root.key" => assert!(
                matches!(e.keystore(), Some(KeystoreError::RootSecret(_))),
                "{e:?}"
            ),
            _ => assert!(
                matches!(e.keystore(), Some(KeystoreError::Refused(_))),
                "{e:?}"
            ),
        }
        chmod(&p, 0o600);
        LocalKms::open_dir(&d).unwrap();
    }
}

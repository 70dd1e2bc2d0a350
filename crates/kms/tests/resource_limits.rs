//! Resource limits of the KMS's decoders (issue #18, item 3): the ciphertext blob (exactly 86
//! bytes), the keystore file (at most 16 MiB, checked before it is read), the root secret and
//! generation files (at most 4096 bytes read), and encryption-context JSON (proportional to
//! the text, nesting refused past serde_json's depth limit). Each hostile input is a clear
//! error; the largest allocation is measured with a counting allocator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on failure"
)]

#[allow(
    unsafe_code,
    reason = "a counting global allocator is the measuring instrument"
)]
#[path = "../../../testsupport/count_alloc.rs"]
mod count_alloc;
mod support {
    pub(crate) use super::count_alloc;
}

use std::fs;
use std::path::Path;

use s3seal_kms::{EncryptionContext, KeyRef, KeystoreError, Kms, KmsError, LocalKms};
use support::count_alloc::{MIB, exclusive, largest_allocation};

fn ctx() -> EncryptionContext {
    EncryptionContext::for_object("bkt", "obj")
}

fn keystore(dir: &Path) -> (LocalKms, KeyRef) {
    let kms = LocalKms::open_dir(dir).unwrap();
    let k = kms.create_key("k").unwrap();
    (kms, KeyRef::parse(&k.arn).unwrap())
}

#[test]
fn a_ciphertext_blob_of_any_other_length_is_refused_without_copying_it() {
    let _serial = exclusive();
    let d = tempfile::tempdir().unwrap();
    let (kms, key) = keystore(d.path());
    let g = kms
        .generate_data_key(&key, &kms.requester(), &ctx())
        .unwrap();
    for len in [0, 1, 85, 87, 6144, 64 << 20] {
        let mut blob = g.ciphertext_blob.clone();
        blob.resize(len, 0xA5);
        let (r, largest) = largest_allocation(|| kms.decrypt(&blob, &ctx(), None).map(|_| ()));
        assert_eq!(r, Err(KmsError::InvalidCiphertext), "{len}-byte blob");
        assert!(largest < 64 << 10, "{largest} bytes for a {len}-byte blob");
    }
}

#[test]
fn a_keystore_file_over_16_mib_is_refused_before_it_is_read() {
    let _serial = exclusive();
    let d = tempfile::tempdir().unwrap();
    drop(keystore(d.path()));
    let f = fs::OpenOptions::new()
        .write(true)
        .open(d.path().join("keystore.json"))
        .unwrap();
    // Sparse: 1 TiB claimed, nothing on disk.
    f.set_len(1 << 40).unwrap();
    drop(f);
    let (r, largest) = largest_allocation(|| LocalKms::open_dir(d.path()).map(|_| ()));
    let e = r.unwrap_err();
    assert!(
        matches!(e.keystore(), Some(KeystoreError::Refused(_))),
        "{e}"
    );
    assert!(e.to_string().contains("16 MiB"), "{e}");
    assert!(largest < MIB, "{largest} bytes");
}

#[test]
fn huge_root_secret_and_generation_files_are_read_only_to_4096_bytes() {
    let _serial = exclusive();
    let d = tempfile::tempdir().unwrap();
    drop(keystore(d.path()));
    for name in ["root.key", "keystore.generation"] {
        let t = tempfile::tempdir().unwrap();
        for e in fs::read_dir(d.path()).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), t.path().join(e.file_name())).unwrap();
        }
        let f = fs::OpenOptions::new()
            .write(true)
            .open(t.path().join(name))
            .unwrap();
        f.set_len(1 << 40).unwrap();
        drop(f);
        let (r, largest) = largest_allocation(|| LocalKms::open_dir(t.path()).map(|_| ()));
        assert!(r.is_err(), "{name} of 1 TiB accepted");
        assert!(largest < MIB, "{name}: {largest} bytes");
    }
}

#[test]
fn encryption_context_json_nesting_and_size_are_errors_not_aborts() {
    let _serial = exclusive();
    let deep = "[".repeat(1 << 20);
    let (r, largest) = largest_allocation(|| EncryptionContext::from_json(&deep));
    assert!(r.is_err());
    assert!(largest < MIB, "{largest} bytes");
    let nested = format!("{{\"a\":{}}}", "{\"a\":".repeat(100_000));
    let (r, largest) = largest_allocation(|| EncryptionContext::from_json(&nested));
    assert!(r.is_err());
    assert!(largest < 2 * MIB, "{largest} bytes");
}

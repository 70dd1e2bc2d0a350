//! LocalKms-specific behaviour: ARNs, blob layout, rotation, state and alias management,
//! managed keys, keystore durability and root secret. What every `Kms` must do is checked by
//! the conformance suite in tests/conformance.rs (feature `testing`).
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use s3seal_kms::{
    EncryptionContext, KeyRef, KeyState, KeystoreError, Kms, KmsError, LocalKms, LocalKmsConfig,
    Requester, RootSecret, RootSecretSource,
};

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";

fn secret() -> RootSecret {
    RootSecret::parse(&"5a".repeat(32)).unwrap()
}

fn open(dir: &std::path::Path) -> LocalKms {
    LocalKms::open(
        LocalKmsConfig::new(dir)
            .account(ACCT)
            .root_secret(RootSecretSource::Secret(secret())),
    )
    .unwrap()
}

fn kref(s: &str) -> KeyRef {
    KeyRef::parse(s).unwrap()
}

fn ctx() -> EncryptionContext {
    EncryptionContext::for_object("bkt", "obj")
}

#[test]
fn arns_carry_the_configured_partition_region_and_account() {
    // Resolution of the four reference forms is in the conformance suite (tests/conformance.rs).
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let k = kms.create_key("k").unwrap();
    assert!(
        k.arn
            .starts_with(&format!("arn:aws:kms:us-east-1:{ACCT}:key/"))
    );
}

#[test]
fn blob_tampering_in_any_field_or_truncation_fails() {
    // Context binding, IncorrectKey and Debug redaction are in the conformance suite; these
    // offsets are LocalKms's blob layout (magic, version, key id, key version, nonce, key, tag).
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let k = kms.create_key("k").unwrap();
    let mut c = ctx();
    c.insert("dept", "a");
    let g = kms
        .generate_data_key(&kref(&k.arn), &kms.requester(), &c)
        .unwrap();
    for i in [0, 5, 10, 23, 30, 50, 85] {
        let mut b = g.ciphertext_blob.clone();
        b[i] ^= 0x80;
        assert!(kms.decrypt(&b, &c, None).is_err(), "flip at {i}");
    }
    assert!(kms.decrypt(&g.ciphertext_blob[..40], &c, None).is_err());
    assert!(kms.decrypt(&[], &c, None).is_err());
}

#[test]
fn rotation_keeps_old_blobs_decryptable_across_reopen() {
    let d = tempfile::tempdir().unwrap();
    let (old, new, arn) = {
        let kms = open(d.path());
        let k = kms.create_key("rot").unwrap();
        let old = kms
            .generate_data_key(&kref(&k.arn), &kms.requester(), &ctx())
            .unwrap();
        let m = kms.rotate_key(&kref(&k.arn)).unwrap();
        assert_eq!(m.rotation.current_version, 2);
        assert!(m.rotation.last_rotated.is_some());
        let new = kms
            .generate_data_key(&kref(&k.arn), &kms.requester(), &ctx())
            .unwrap();
        assert_eq!(&old.ciphertext_blob[22..26], &[0, 0, 0, 1]);
        assert_eq!(&new.ciphertext_blob[22..26], &[0, 0, 0, 2]);
        (old, new, k.arn)
    };
    let kms = open(d.path());
    for g in [&old, &new] {
        let back = kms.decrypt(&g.ciphertext_blob, &ctx(), Some(&arn)).unwrap();
        assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
    }
}

#[test]
fn key_state_management_rules_and_persistence() {
    // What Disabled / PendingDeletion keys refuse is in the conformance suite.
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let k = kms.create_key("k").unwrap();
    let kr = kref(&k.arn);
    assert_eq!(kms.disable_key(&kr).unwrap().state, KeyState::Disabled);
    kms.enable_key(&kr).unwrap();
    assert!(kms.schedule_key_deletion(&kr, 3).is_err());
    let m = kms.schedule_key_deletion(&kr, 7).unwrap();
    assert_eq!(m.state, KeyState::PendingDeletion);
    assert!(m.deletion_date.is_some());
    assert!(matches!(
        kms.enable_key(&kr),
        Err(KmsError::InvalidState(_))
    ));
    assert_eq!(
        kms.cancel_key_deletion(&kr).unwrap().state,
        KeyState::Disabled
    );
    // State survives reopen.
    drop(kms);
    let kms = open(d.path());
    assert_eq!(kms.describe(&kr).unwrap().state, KeyState::Disabled);
}

#[test]
fn alias_management_refuses_reserved_and_duplicate_names() {
    // Resolution in the requester's account and the bucket-owner rule are in the conformance
    // suite.
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let mine = kms.create_key_in(ACCT, "owner").unwrap();
    let theirs = kms.create_key_in(OTHER, "requester").unwrap();
    kms.create_alias("alias/shared", &kref(&mine.arn)).unwrap();
    kms.create_alias("alias/shared", &kref(&theirs.arn))
        .unwrap();
    // Reserved and duplicate alias names.
    assert!(matches!(
        kms.create_alias("alias/aws/x", &kref(&mine.arn)),
        Err(KmsError::InvalidAlias(_))
    ));
    assert!(matches!(
        kms.create_alias("alias/shared", &kref(&mine.arn)),
        Err(KmsError::InvalidAlias(_))
    ));
    let k2 = kms.create_key("k2").unwrap();
    kms.update_alias("alias/shared", &kref(&k2.arn)).unwrap();
    assert_eq!(kms.describe(&kref("alias/shared")).unwrap().arn, k2.arn);
    kms.delete_alias("alias/shared").unwrap();
    assert!(kms.describe(&kref("alias/shared")).is_err());
    // The other account's alias is untouched.
    let g = kms
        .generate_data_key(
            &kref("alias/shared"),
            &Requester::new(OTHER).unwrap(),
            &ctx(),
        )
        .unwrap();
    assert_eq!(g.key_arn, theirs.arn);
}

#[test]
fn managed_keys_are_created_on_first_use_and_stable() {
    // That alias/aws/s3 is an AWS managed key, stable, and per account is in the conformance
    // suite; here: the SSE-S3 root key, the alias list, management refusals, reopen.
    let d = tempfile::tempdir().unwrap();
    let (aws, sse) = {
        let kms = open(d.path());
        let aws = kms.aws_s3_managed_key().unwrap();
        let sse = kms.sse_s3_root_key().unwrap();
        assert_ne!(aws.arn, sse.arn);
        assert!(aws.aws_managed && aws.aliases == ["aws/s3"]);
        assert!(sse.aws_managed && sse.aliases == ["s3seal/sse-s3"]);
        assert_eq!(kms.aws_s3_managed_key().unwrap().arn, aws.arn);
        assert!(matches!(
            kms.disable_key(&kref(&aws.arn)),
            Err(KmsError::InvalidState(_))
        ));
        // A generate against the alias in another account creates that account's own key.
        let other = Requester::new(OTHER).unwrap();
        let g = kms
            .generate_data_key(&kref("alias/aws/s3"), &other, &ctx())
            .unwrap();
        assert!(g.key_arn.contains(OTHER));
        (aws, sse)
    };
    let kms = open(d.path());
    assert_eq!(kms.aws_s3_managed_key().unwrap().arn, aws.arn);
    assert_eq!(kms.sse_s3_root_key().unwrap().arn, sse.arn);
    assert_eq!(kms.list_keys().len(), 3);
}

#[test]
fn a_crash_between_write_and_rename_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let arn = {
        let kms = open(d.path());
        kms.create_key("survivor").unwrap().arn
    };
    let store = d.path().join("keystore.json");
    let before = std::fs::read(&store).unwrap();
    // Simulate a crash: a half-written temp file that never got renamed.
    let tmp = d.path().join(".keystore.json.tmp-999-deadbeef");
    std::fs::write(&tmp, &before[..before.len() / 2]).unwrap();
    let kms = open(d.path());
    assert!(!tmp.exists(), "leftover temp file is cleaned up");
    assert_eq!(kms.describe(&kref(&arn)).unwrap().description, "survivor");
    kms.create_key("after").unwrap();
    assert_eq!(open(d.path()).list_keys().len(), 2);
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn a_corrupt_keystore_or_wrong_root_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    open(d.path()).create_key("k").unwrap();
    let store = d.path().join("keystore.json");
    let good = std::fs::read(&store).unwrap();
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"garbage".to_vec(),
        good[..good.len() - 10].to_vec(),
        {
            let mut g = good.clone();
            let last = g.len() - 3;
            g[last] ^= 1;
            g
        },
        {
            let mut g = good.clone();
            g[20] = b'z';
            g
        },
    ];
    for bad in cases {
        std::fs::write(&store, &bad).unwrap();
        let err = LocalKms::open(
            LocalKmsConfig::new(d.path()).root_secret(RootSecretSource::Secret(secret())),
        )
        .unwrap_err();
        assert!(
            matches!(err.keystore(), Some(KeystoreError::Corrupt(_))),
            "{err}"
        );
    }
    std::fs::write(&store, &good).unwrap();
    let wrong = RootSecret::parse(&"77".repeat(32)).unwrap();
    let err =
        LocalKms::open(LocalKmsConfig::new(d.path()).root_secret(RootSecretSource::Secret(wrong)))
            .unwrap_err();
    assert!(matches!(err.keystore(), Some(KeystoreError::Corrupt(_))));
    assert!(!err.to_string().contains("5a5a"));
}

#[test]
fn root_secret_file_is_created_private_and_required_later() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ks");
    let root = dir.join("root.key");
    let cfg = LocalKmsConfig::new(&dir).root_secret(RootSecretSource::File(root.clone()));
    let arn = LocalKms::open(cfg.clone())
        .unwrap()
        .create_key("k")
        .unwrap()
        .arn;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&root).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        LocalKms::open(cfg.clone())
            .unwrap()
            .describe(&kref(&arn))
            .unwrap()
            .arn,
        arn
    );
    std::fs::remove_file(&root).unwrap();
    assert!(matches!(
        LocalKms::open(cfg.clone()).unwrap_err().keystore(),
        Some(KeystoreError::RootSecret(_))
    ));
    std::fs::write(&root, "00".repeat(32)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(matches!(
        LocalKms::open(cfg).unwrap_err().keystore(),
        Some(KeystoreError::RootSecret(_))
    ));
    let env_only = LocalKmsConfig::new(d.path().join("e"))
        .root_secret(RootSecretSource::Env("S3SEAL_TEST_UNSET_VARIABLE".into()));
    assert!(matches!(
        LocalKms::open(env_only).unwrap_err().keystore(),
        Some(KeystoreError::RootSecret(_))
    ));
}

#[test]
fn keystore_io_errors_keep_the_os_error() {
    let d = tempfile::tempdir().unwrap();
    let not_a_dir = d.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let err = LocalKms::open(
        LocalKmsConfig::new(not_a_dir.join("ks")).root_secret(RootSecretSource::Secret(secret())),
    )
    .unwrap_err();
    let Some(KeystoreError::Io { op, error }) = err.keystore() else {
        panic!("{err:?}");
    };
    assert_eq!(*op, "create keystore dir");
    assert!(error.raw_os_error().is_some(), "{error:?}");
    // The message carries the operating system's words, not only the error kind.
    assert!(err.to_string().contains("os error"), "{err}");
    assert!(!err.is_retryable() && !err.is_key_state());
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(err.clone(), err, "a shared Other error equals itself");
}

/// Eight `LocalKms` instances on one fresh directory (each with its own in-memory state, as
/// separate processes have; the directory lock is an `flock`, which instances in one process
/// contend for as processes do) create keys and first-use SSE-S3 data keys at the same time:
/// every key survives, the managed SSE-S3 key exists once, and every blob any instance
/// returned opens in a fresh instance — and in every other racing instance.
#[test]
fn concurrent_instances_on_one_directory_lose_no_update() {
    const WRITERS: usize = 8;
    const KEYS_EACH: usize = 5;
    let d = tempfile::tempdir().unwrap();
    let sse_s3 = KeyRef::AliasName(s3seal_kms::SSE_S3_ALIAS.to_owned());
    let barrier = std::sync::Barrier::new(WRITERS);
    let (instances, results): (Vec<LocalKms>, Vec<_>) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (barrier, sse_s3, dir) = (&barrier, &sse_s3, d.path());
                s.spawn(move || {
                    barrier.wait();
                    let kms = open(dir);
                    let requester = kms.requester();
                    let blob = kms
                        .generate_data_key(sse_s3, &requester, &ctx())
                        .unwrap()
                        .ciphertext_blob;
                    let arns: Vec<String> = (0..KEYS_EACH)
                        .map(|i| kms.create_key(&format!("w{w}-{i}")).unwrap().arn)
                        .collect();
                    (kms, (blob, arns))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).unzip()
    });
    let fresh = open(d.path());
    let customer_keys: Vec<_> = fresh
        .list_keys()
        .into_iter()
        .filter(|k| !k.aws_managed)
        .collect();
    assert_eq!(
        customer_keys.len(),
        WRITERS * KEYS_EACH,
        "a key creation was lost"
    );
    let sse_s3_aliases = fresh
        .list_aliases()
        .into_iter()
        .filter(|(_, name, _)| name.ends_with(s3seal_kms::SSE_S3_ALIAS))
        .count();
    assert_eq!(
        sse_s3_aliases, 1,
        "the managed SSE-S3 key was created more than once"
    );
    let requester = fresh.requester();
    for (blob, arns) in &results {
        for arn in arns {
            assert!(customer_keys.iter().any(|k| &k.arn == arn), "{arn} lost");
        }
        fresh.decrypt(blob, &ctx(), None).unwrap();
        for other in &instances {
            other.decrypt(blob, &ctx(), None).unwrap();
            other.describe_key(&kref(&arns[0]), &requester).unwrap();
        }
    }
}

/// A temp file of a live writer is never deleted by another instance opening the directory:
/// opening waits for the lock a writer holds from its temp file to its rename.
#[test]
fn opening_never_deletes_a_live_writers_temp_file() {
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            barrier.wait();
            for i in 0..50 {
                kms.create_key(&format!("k{i}")).unwrap();
            }
        });
        let opener = s.spawn(|| {
            barrier.wait();
            for _ in 0..50 {
                drop(open(d.path()));
            }
        });
        writer.join().unwrap();
        opener.join().unwrap();
    });
    assert_eq!(open(d.path()).list_keys().len(), 50);
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn file_cfg(dir: &std::path::Path) -> LocalKmsConfig {
    LocalKmsConfig::new(dir)
        .account(ACCT)
        .root_secret(RootSecretSource::File(dir.join("root.key")))
}

/// A home that holds objects must keep its keystore: with `require_existing` a missing
/// `keystore.json` is refused and nothing is created (no directory, root secret or lock file).
#[test]
fn require_existing_refuses_a_missing_keystore_and_creates_nothing() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    let err = LocalKms::open(file_cfg(&home).require_existing(true)).unwrap_err();
    assert!(
        matches!(
            err.keystore(),
            Some(KeystoreError::Missing { generation: None })
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("keystore.json is missing"), "{msg}");
    assert!(msg.contains("holds objects"), "{msg}");
    assert!(msg.contains("restore keystore.json from backup"), "{msg}");
    assert!(!home.exists(), "nothing created");

    // root.key present (an earlier open that wrote nothing), keystore.json missing.
    drop(LocalKms::open(file_cfg(&home)).unwrap());
    let before = names_in(&home);
    assert!(before.contains(&"root.key".to_owned()), "{before:?}");
    assert!(!before.contains(&"keystore.json".to_owned()), "{before:?}");
    let err = LocalKms::open(file_cfg(&home).require_existing(true)).unwrap_err();
    assert!(matches!(
        err.keystore(),
        Some(KeystoreError::Missing { .. })
    ));
    assert_eq!(names_in(&home), before, "nothing created");

    // Once there is one, require_existing opens it.
    let arn = LocalKms::open(file_cfg(&home))
        .unwrap()
        .create_key("k")
        .unwrap()
        .arn;
    let kms = LocalKms::open(file_cfg(&home).require_existing(true)).unwrap();
    assert_eq!(kms.describe(&kref(&arn)).unwrap().description, "k");
    drop(kms);

    // A deleted keystore.json is refused even without require_existing: the generation record
    // says one was written. Nothing is recreated.
    std::fs::remove_file(home.join("keystore.json")).unwrap();
    let err = LocalKms::open(file_cfg(&home)).unwrap_err();
    assert!(
        matches!(
            err.keystore(),
            Some(KeystoreError::Missing {
                generation: Some(1)
            })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("generation 1"), "{err}");
    assert!(err.to_string().contains("accept_rollback"), "{err}");
    assert!(!home.join("keystore.json").exists());
    // Starting over on purpose: accept once, then it is an ordinary (empty) keystore.
    let kms = LocalKms::open(file_cfg(&home).accept_rollback(true)).unwrap();
    assert!(kms.list_keys().is_empty());
    kms.create_key("fresh").unwrap();
    drop(kms);
    assert_eq!(
        LocalKms::open(file_cfg(&home)).unwrap().list_keys().len(),
        1
    );
}

#[test]
fn a_missing_root_key_beside_a_keystore_says_to_restore_it() {
    let d = tempfile::tempdir().unwrap();
    LocalKms::open(file_cfg(d.path()))
        .unwrap()
        .create_key("k")
        .unwrap();
    std::fs::remove_file(d.path().join("root.key")).unwrap();
    let err = LocalKms::open(file_cfg(d.path())).unwrap_err();
    assert!(
        matches!(err.keystore(), Some(KeystoreError::RootSecret(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("restore root.key"), "{err}");
    assert!(!d.path().join("root.key").exists(), "no new root secret");
}

/// An older copy of keystore.json put back over the current one (a key created since then
/// vanishes) is refused, at open and by a running instance; `accept_rollback` takes it.
#[test]
fn a_rolled_back_keystore_is_refused_until_accepted() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("keystore.json");
    let kms = open(d.path());
    let a = kms.create_key("a").unwrap().arn;
    let old = std::fs::read(&store).unwrap(); // generation 1
    let b = kms.create_key("b").unwrap().arn; // generation 2
    std::fs::write(&store, &old).unwrap();

    let err = LocalKms::open(
        LocalKmsConfig::new(d.path())
            .account(ACCT)
            .root_secret(RootSecretSource::Secret(secret())),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.keystore(),
            Some(KeystoreError::RolledBack {
                found: 1,
                recorded: 2
            })
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("keystore.json is generation 1 but generation 2 was written"),
        "{msg}"
    );
    assert!(msg.contains("rolled back"), "{msg}");
    assert!(
        msg.contains("restore the newest backup of keystore.json"),
        "{msg}"
    );
    assert!(msg.contains("accept_rollback"), "{msg}");
    // The running instance re-reads before a change and refuses too, writing nothing.
    let err = kms.create_key("c").unwrap_err();
    assert!(
        matches!(err.keystore(), Some(KeystoreError::RolledBack { .. })),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&store).unwrap(), old);
    drop(kms);

    // The operator meant it: accept once; the keystore as found becomes the newest.
    let cfg = || {
        LocalKmsConfig::new(d.path())
            .account(ACCT)
            .root_secret(RootSecretSource::Secret(secret()))
    };
    let kms = LocalKms::open(cfg().accept_rollback(true)).unwrap();
    assert!(kms.describe(&kref(&a)).is_ok());
    assert!(matches!(
        kms.describe(&kref(&b)),
        Err(KmsError::NotFound(_))
    ));
    drop(kms);
    let kms = LocalKms::open(cfg()).unwrap();
    kms.create_key("after").unwrap();
    drop(kms);
    assert_eq!(LocalKms::open(cfg()).unwrap().list_keys().len(), 2);
    // And the old copy is a rollback again.
    std::fs::write(&store, &old).unwrap();
    assert!(matches!(
        LocalKms::open(cfg()).unwrap_err().keystore(),
        Some(KeystoreError::RolledBack {
            found: 1,
            recorded: 2
        })
    ));
}

/// A crash between writing keystore.json (generation N + 1) and keystore.generation (still N)
/// is not a rollback: the next open accepts the keystore and brings the record up to date. A
/// record that is gone is recreated the same way.
#[test]
fn a_generation_record_behind_the_keystore_is_a_crash_and_is_healed() {
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("keystore.json");
    let record = d.path().join("keystore.generation");
    let kms = open(d.path());
    kms.create_key("a").unwrap();
    let store_1 = std::fs::read(&store).unwrap();
    let record_1 = std::fs::read(&record).unwrap();
    kms.create_key("b").unwrap();
    let record_2 = std::fs::read(&record).unwrap();
    assert_ne!(record_1, record_2);
    drop(kms);

    std::fs::write(&record, &record_1).unwrap(); // the crash window
    assert_eq!(open(d.path()).list_keys().len(), 2);
    assert_eq!(std::fs::read(&record).unwrap(), record_2, "record healed");

    std::fs::remove_file(&record).unwrap(); // lost record
    assert_eq!(open(d.path()).list_keys().len(), 2);
    assert_eq!(
        std::fs::read(&record).unwrap(),
        record_2,
        "record recreated"
    );

    // The healed record still catches a rollback.
    std::fs::write(&store, &store_1).unwrap();
    assert!(matches!(
        LocalKms::open(
            LocalKmsConfig::new(d.path())
                .account(ACCT)
                .root_secret(RootSecretSource::Secret(secret()))
        )
        .unwrap_err()
        .keystore(),
        Some(KeystoreError::RolledBack {
            found: 1,
            recorded: 2
        })
    ));
}

#[test]
fn a_damaged_generation_record_is_refused_until_accepted() {
    let d = tempfile::tempdir().unwrap();
    let record = d.path().join("keystore.generation");
    open(d.path()).create_key("a").unwrap();
    let good = std::fs::read(&record).unwrap();
    let cfg = || {
        LocalKmsConfig::new(d.path())
            .account(ACCT)
            .root_secret(RootSecretSource::Secret(secret()))
    };
    // A forged lower number (no valid MAC) does not open the door to a rollback.
    let text = String::from_utf8(good.clone()).unwrap();
    let mut fields: Vec<&str> = text.split(' ').collect();
    assert_eq!(fields[2], "1", "{text}");
    fields[2] = "0";
    let forged = fields.join(" ");
    for bad in [forged.into_bytes(), b"junk\n".to_vec(), Vec::new()] {
        std::fs::write(&record, &bad).unwrap();
        let err = LocalKms::open(cfg()).unwrap_err();
        assert!(
            matches!(err.keystore(), Some(KeystoreError::Corrupt(_))),
            "{err:?}"
        );
        assert!(err.to_string().contains("keystore.generation"), "{err}");
    }
    let kms = LocalKms::open(cfg().accept_rollback(true)).unwrap();
    assert_eq!(kms.list_keys().len(), 1);
    assert_eq!(std::fs::read(&record).unwrap(), good, "record rewritten");
}

/// A root.key that is a directory or a device is named as such, before its permissions are
/// looked at (a 0755 directory used to be "accessible by group or others").
#[cfg(unix)]
#[test]
fn a_root_key_that_is_not_a_regular_file_is_named_as_such() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root.key");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = LocalKms::open(file_cfg(d.path())).unwrap_err();
    assert!(
        matches!(err.keystore(), Some(KeystoreError::RootSecret(_))),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("root.key is a directory"), "{msg}");
    assert!(!msg.contains("group or others"), "{msg}");
    std::fs::remove_dir(&root).unwrap();
    std::os::unix::fs::symlink("/dev/null", &root).unwrap();
    let err = LocalKms::open(file_cfg(d.path())).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(!d.path().join("keystore.json").exists());
}

/// Readers re-read without the lock while another instance writes: they read the generation
/// record before the keystore, so a concurrent write never looks like a rollback. (A smoke
/// test: the window a wrong order would open — a whole write landing between the reader's two
/// reads — is too narrow to hit reliably here; the argument is in `LocalKms::reload`.)
#[test]
fn rereads_during_concurrent_writes_never_see_a_rollback() {
    let d = tempfile::tempdir().unwrap();
    let writer = open(d.path());
    let reader = open(d.path());
    let missing = kref(&format!(
        "arn:aws:kms:us-east-1:{ACCT}:key/00000000-0000-4000-8000-000000000000"
    ));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..60 {
                writer.create_key(&format!("k{i}")).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        s.spawn(|| {
            let requester = reader.requester();
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                // A miss re-reads the keystore if it changed.
                match reader.describe_key(&missing, &requester) {
                    Err(KmsError::NotFound(_)) => {}
                    other => panic!("{other:?}"),
                }
            }
        });
    });
    assert_eq!(open(d.path()).list_keys().len(), 60);
}

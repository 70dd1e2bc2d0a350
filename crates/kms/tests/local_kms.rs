//! LocalKms behaviour: resolution, contexts, states, rotation, keystore durability.
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use std::sync::Arc;

use s3seal_kms::{
    EncryptionContext, FaultConfig, FaultyKms, KeyRef, KeyState, Kms, KmsError, LocalKms,
    LocalKmsConfig, Requester, RootSecret, RootSecretSource,
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
fn the_four_reference_forms_resolve_to_one_full_arn() {
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let k = kms.create_key("k").unwrap();
    kms.create_alias("alias/app", &kref(&k.key_id)).unwrap();
    let r = kms.requester();
    for s in [
        k.key_id.clone(),
        k.arn.clone(),
        "alias/app".to_owned(),
        format!("arn:aws:kms:us-east-1:{ACCT}:alias/app"),
    ] {
        let g = kms.generate_data_key(&kref(&s), &r, &ctx()).unwrap();
        assert_eq!(g.key_arn, k.arn, "{s}");
        assert_eq!(kms.describe_key(&kref(&s), &r).unwrap().arn, k.arn);
        let back = kms
            .decrypt(&g.ciphertext_blob, &ctx(), Some(&k.arn))
            .unwrap();
        assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
        assert_eq!(back.key_arn, k.arn);
    }
    assert!(
        k.arn
            .starts_with(&format!("arn:aws:kms:us-east-1:{ACCT}:key/"))
    );
    assert!(matches!(
        kms.generate_data_key(&kref("alias/nope"), &r, &ctx()),
        Err(KmsError::NotFound(_))
    ));
    assert!(matches!(
        kms.generate_data_key(&kref("1234abcd-12ab-34cd-56ef-1234567890ab"), &r, &ctx()),
        Err(KmsError::NotFound(_))
    ));
}

#[test]
fn wrong_missing_or_extra_context_and_tampering_fail() {
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let k = kms.create_key("k").unwrap();
    let mut c = ctx();
    c.insert("dept", "a");
    let g = kms
        .generate_data_key(&kref(&k.arn), &kms.requester(), &c)
        .unwrap();
    let mut wrong = c.clone();
    wrong.insert("dept", "b");
    let mut extra = c.clone();
    extra.insert("x", "");
    for bad in [ctx(), wrong, extra, EncryptionContext::new()] {
        assert_eq!(
            kms.decrypt(&g.ciphertext_blob, &bad, None).unwrap_err(),
            KmsError::InvalidCiphertext
        );
    }
    for i in [0, 5, 10, 23, 30, 50, 85] {
        let mut b = g.ciphertext_blob.clone();
        b[i] ^= 0x80;
        assert!(kms.decrypt(&b, &c, None).is_err(), "flip at {i}");
    }
    assert!(kms.decrypt(&g.ciphertext_blob[..40], &c, None).is_err());
    assert!(kms.decrypt(&[], &c, None).is_err());
    let other = kms.create_key("other").unwrap();
    assert_eq!(
        kms.decrypt(&g.ciphertext_blob, &c, Some(&other.arn))
            .unwrap_err(),
        KmsError::IncorrectKey
    );
    // The plaintext key never shows in Debug output.
    let dbg = format!("{g:?}");
    assert!(!dbg.contains(&hex::encode(g.plaintext.as_bytes())));
    assert!(dbg.contains("redacted"));
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
fn disabled_and_pending_deletion_keys_refuse_work() {
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let k = kms.create_key("k").unwrap();
    let r = kms.requester();
    let kr = kref(&k.arn);
    let g = kms.generate_data_key(&kr, &r, &ctx()).unwrap();
    assert_eq!(kms.disable_key(&kr).unwrap().state, KeyState::Disabled);
    assert!(matches!(
        kms.generate_data_key(&kr, &r, &ctx()),
        Err(KmsError::Disabled(_))
    ));
    assert!(matches!(
        kms.decrypt(&g.ciphertext_blob, &ctx(), None),
        Err(KmsError::Disabled(_))
    ));
    kms.enable_key(&kr).unwrap();
    kms.decrypt(&g.ciphertext_blob, &ctx(), None).unwrap();
    assert!(kms.schedule_key_deletion(&kr, 3).is_err());
    let m = kms.schedule_key_deletion(&kr, 7).unwrap();
    assert_eq!(m.state, KeyState::PendingDeletion);
    assert!(m.deletion_date.is_some());
    assert!(matches!(
        kms.generate_data_key(&kr, &r, &ctx()),
        Err(KmsError::PendingDeletion(_))
    ));
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
fn aliases_resolve_in_the_requesters_account_and_the_owner_rule_denies() {
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let mine = kms.create_key_in(ACCT, "owner").unwrap();
    let theirs = kms.create_key_in(OTHER, "requester").unwrap();
    kms.create_alias("alias/shared", &kref(&mine.arn)).unwrap();
    kms.create_alias("alias/shared", &kref(&theirs.arn))
        .unwrap();
    let requester = Requester::new(OTHER).unwrap();
    // The alias name resolves in the requester's account: the trap the S3 docs warn about.
    let g = kms
        .generate_data_key(&kref("alias/shared"), &requester, &ctx())
        .unwrap();
    assert_eq!(g.key_arn, theirs.arn);
    // With the bucket-owner rule, it is refused...
    let strict = requester.clone().require_bucket_owner_key(ACCT).unwrap();
    assert!(matches!(
        kms.generate_data_key(&kref("alias/shared"), &strict, &ctx()),
        Err(KmsError::AccessDenied(_))
    ));
    // ...and the owner's key by full ARN is accepted.
    let g = kms
        .generate_data_key(&kref(&mine.arn), &strict, &ctx())
        .unwrap();
    assert_eq!(g.key_arn, mine.arn);
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
    assert!(Requester::new("12").is_err());
}

#[test]
fn managed_keys_are_created_on_first_use_and_stable() {
    let d = tempfile::tempdir().unwrap();
    let (aws, sse) = {
        let kms = open(d.path());
        let aws = kms.aws_s3_managed_key().unwrap();
        let sse = kms.sse_s3_root_key().unwrap();
        assert_ne!(aws.arn, sse.arn);
        assert!(aws.aws_managed && aws.aliases == ["aws/s3"]);
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
fn re_encrypt_moves_a_data_key_without_exposing_it() {
    let d = tempfile::tempdir().unwrap();
    let kms = open(d.path());
    let a = kms.create_key("a").unwrap();
    let b = kms.create_key("b").unwrap();
    let r = kms.requester();
    let g = kms.generate_data_key(&kref(&a.arn), &r, &ctx()).unwrap();
    let c2 = EncryptionContext::for_bucket("bkt");
    let re = kms
        .re_encrypt(&g.ciphertext_blob, &ctx(), &kref(&b.arn), &r, &c2)
        .unwrap();
    assert_eq!(re.source_key_arn, a.arn);
    assert_eq!(re.key_arn, b.arn);
    let back = kms.decrypt(&re.ciphertext_blob, &c2, Some(&b.arn)).unwrap();
    assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
    assert!(
        kms.re_encrypt(&g.ciphertext_blob, &c2, &kref(&b.arn), &r, &c2)
            .is_err()
    );
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
        assert!(matches!(err, KmsError::KeystoreCorrupt(_)), "{err}");
    }
    std::fs::write(&store, &good).unwrap();
    let wrong = RootSecret::parse(&"77".repeat(32)).unwrap();
    let err =
        LocalKms::open(LocalKmsConfig::new(d.path()).root_secret(RootSecretSource::Secret(wrong)))
            .unwrap_err();
    assert!(matches!(err, KmsError::KeystoreCorrupt(_)));
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
        LocalKms::open(cfg.clone()),
        Err(KmsError::RootSecret(_))
    ));
    std::fs::write(&root, "00".repeat(32)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert!(matches!(LocalKms::open(cfg), Err(KmsError::RootSecret(_))));
    let env_only = LocalKmsConfig::new(d.path().join("e"))
        .root_secret(RootSecretSource::Env("S3SEAL_TEST_UNSET_VARIABLE".into()));
    assert!(matches!(
        LocalKms::open(env_only),
        Err(KmsError::RootSecret(_))
    ));
}

#[test]
fn faulty_kms_is_deterministic_and_counts() {
    let d = tempfile::tempdir().unwrap();
    let kms: Arc<dyn Kms> = Arc::new(open(d.path()));
    let arn = kms.sse_s3_key(&Requester::new(ACCT).unwrap()).unwrap().arn;
    let run = |seed| {
        let f = FaultyKms::new(
            kms.clone(),
            FaultConfig {
                error_rate: 0.3,
                outage: Some(10..15),
                seed,
                ..FaultConfig::default()
            },
        );
        let r = Requester::new(ACCT).unwrap();
        let outcomes: Vec<bool> = (0..50)
            .map(|_| f.generate_data_key(&kref(&arn), &r, &ctx()).is_ok())
            .collect();
        (outcomes, f.stats())
    };
    let (a, sa) = run(7);
    let (b, _) = run(7);
    let (c, _) = run(8);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a[10..15].iter().all(|ok| !ok));
    assert_eq!(sa.generate, 50);
    assert!(sa.injected >= 5 && sa.injected < 40, "{sa:?}");
    assert!(KmsError::Throttled.is_retryable() && !KmsError::InvalidCiphertext.is_retryable());
}

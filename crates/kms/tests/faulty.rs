//! FaultyKms (feature `testing`): deterministic fault injection and call counting.
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use std::sync::Arc;

use s3seal_kms::{
    EncryptionContext, FaultConfig, FaultyKms, KeyRef, Kms, KmsError, LocalKms, LocalKmsConfig,
    Requester, RootSecret, RootSecretSource,
};

const ACCT: &str = "111122223333";

fn open(dir: &std::path::Path) -> LocalKms {
    LocalKms::open(
        LocalKmsConfig::new(dir)
            .account(ACCT)
            .root_secret(RootSecretSource::Secret(
                RootSecret::parse(&"5a".repeat(32)).unwrap(),
            )),
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

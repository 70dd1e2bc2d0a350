//! The `Kms` conformance suite (`s3seal_kms::testing::conformance`) against every
//! implementation in this crate: `LocalKms`, and `FaultyKms` wrapping it with no faults.
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use std::sync::Arc;

use s3seal_kms::testing::conformance::{self, Target};
use s3seal_kms::{
    FaultyKms, KeyMetadata, KeyRef, Kms, KmsError, LocalKms, LocalKmsConfig, RootSecret,
    RootSecretSource,
};

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";

/// A fresh `LocalKms` in a temporary keystore; its management API is the admin hooks.
struct Local {
    _dir: tempfile::TempDir,
    kms: Arc<LocalKms>,
}

fn local() -> Local {
    let dir = tempfile::tempdir().unwrap();
    let kms = LocalKms::open(LocalKmsConfig::new(dir.path()).account(ACCT).root_secret(
        RootSecretSource::Secret(RootSecret::parse(&"5a".repeat(32)).unwrap()),
    ))
    .unwrap();
    Local {
        _dir: dir,
        kms: Arc::new(kms),
    }
}

fn kref(s: &str) -> Result<KeyRef, KmsError> {
    Ok(KeyRef::parse(s)?)
}

impl Target for Local {
    fn kms(&self) -> Arc<dyn Kms> {
        self.kms.clone()
    }
    fn account(&self) -> String {
        ACCT.to_owned()
    }
    fn other_account(&self) -> Option<String> {
        Some(OTHER.to_owned())
    }
    fn create_key(&self, account: &str, description: &str) -> Result<KeyMetadata, KmsError> {
        self.kms.create_key_in(account, description)
    }
    fn create_alias(&self, alias: &str, key_arn: &str) -> Result<(), KmsError> {
        self.kms.create_alias(alias, &kref(key_arn)?)
    }
    fn disable_key(&self, key_arn: &str) -> Result<(), KmsError> {
        self.kms.disable_key(&kref(key_arn)?).map(drop)
    }
    fn enable_key(&self, key_arn: &str) -> Result<(), KmsError> {
        self.kms.enable_key(&kref(key_arn)?).map(drop)
    }
    fn schedule_key_deletion(&self, key_arn: &str, pending_days: u32) -> Result<(), KmsError> {
        self.kms
            .schedule_key_deletion(&kref(key_arn)?, pending_days)
            .map(drop)
    }
    fn cancel_key_deletion(&self, key_arn: &str) -> Result<(), KmsError> {
        self.kms.cancel_key_deletion(&kref(key_arn)?).map(drop)
    }
}

/// `FaultyKms` with no faults configured, over a fresh `LocalKms` (whose hooks it uses).
struct Faulty {
    local: Local,
    kms: Arc<FaultyKms>,
}

fn faulty() -> Faulty {
    let local = local();
    let kms = Arc::new(FaultyKms::counting(local.kms.clone()));
    Faulty { local, kms }
}

impl Target for Faulty {
    fn kms(&self) -> Arc<dyn Kms> {
        self.kms.clone()
    }
    fn account(&self) -> String {
        self.local.account()
    }
    fn other_account(&self) -> Option<String> {
        self.local.other_account()
    }
    fn create_key(&self, account: &str, description: &str) -> Result<KeyMetadata, KmsError> {
        self.local.create_key(account, description)
    }
    fn create_alias(&self, alias: &str, key_arn: &str) -> Result<(), KmsError> {
        self.local.create_alias(alias, key_arn)
    }
    fn disable_key(&self, key_arn: &str) -> Result<(), KmsError> {
        self.local.disable_key(key_arn)
    }
    fn enable_key(&self, key_arn: &str) -> Result<(), KmsError> {
        self.local.enable_key(key_arn)
    }
    fn schedule_key_deletion(&self, key_arn: &str, pending_days: u32) -> Result<(), KmsError> {
        self.local.schedule_key_deletion(key_arn, pending_days)
    }
    fn cancel_key_deletion(&self, key_arn: &str) -> Result<(), KmsError> {
        self.local.cancel_key_deletion(key_arn)
    }
}

/// One `#[test]` per check, so a failure names its check and implementation.
macro_rules! suite {
    ($name:ident, $make:ident, [$($check:ident),* $(,)?]) => {
        mod $name {
            use super::*;
            $(
                #[test]
                fn $check() {
                    conformance::$check(&$make());
                }
            )*
            #[test]
            fn every_check_is_listed_here() {
                let here = [$(stringify!($check)),*];
                let all: Vec<&str> = conformance::CHECKS.iter().map(|(n, _)| *n).collect();
                assert_eq!(here.as_slice(), all.as_slice());
            }
        }
    };
}

suite!(
    local_kms,
    local,
    [
        generate_and_decrypt,
        reference_forms,
        describe,
        context_binding,
        re_encrypt,
        key_states,
        default_sse_kms_key,
        requester_accounts,
    ]
);

suite!(
    faulty_kms_without_faults,
    faulty,
    [
        generate_and_decrypt,
        reference_forms,
        describe,
        context_binding,
        re_encrypt,
        key_states,
        default_sse_kms_key,
        requester_accounts,
    ]
);

#[test]
fn run_all_passes_and_faulty_kms_forwarded_every_call() {
    let made = std::cell::RefCell::new(Vec::new());
    conformance::run_all(|| {
        let f = faulty();
        made.borrow_mut().push(f.kms.clone());
        f
    });
    let made = made.into_inner();
    assert_eq!(made.len(), conformance::CHECKS.len());
    let stats: Vec<_> = made.iter().map(|k| k.stats()).collect();
    assert!(stats.iter().all(|s| s.injected == 0), "{stats:?}");
    assert!(stats.iter().map(|s| s.generate).sum::<u64>() > 0);
    assert!(stats.iter().map(|s| s.decrypt).sum::<u64>() > 0);
    assert!(stats.iter().map(|s| s.re_encrypt).sum::<u64>() > 0);
    assert!(stats.iter().map(|s| s.describe).sum::<u64>() > 0);
}

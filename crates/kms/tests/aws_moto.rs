//! The `Kms` conformance suite against `AwsKms` talking to moto's KMS-API server on loopback
//! (`moto_server`, in a virtualenv under `target/` that the harness creates; see
//! `s3seal_kms::testing::moto`). Each check gets a fresh server.
//!
//! Where moto is more lenient than AWS KMS the test says so and checks our side:
//! - disabled and pending-deletion keys still work in moto, so `key_states` is replaced by
//!   [`key_states_as_far_as_moto_goes`] (states are reported; the refusal mapping is tested
//!   against a scripted server in `tests/aws_errors.rs`);
//! - `Decrypt` with the wrong `KeyId` is `AccessDeniedException` in moto (AWS:
//!   `IncorrectKeyException`), so `context_binding` is run up to that step by
//!   [`context_binding_and_moto_s_answer_to_a_wrong_key_id`] (our own check of the answered key
//!   is tested in `tests/aws_errors.rs`);
//! - moto marks the `alias/aws/s3` key it makes as customer managed, so `default_sse_kms_key`
//!   is replaced by [`default_sse_kms_key_as_moto_makes_it`];
//! - moto's `DisableKey`, `EnableKey`, `ScheduleKeyDeletion` and `CancelKeyDeletion` fail on a
//!   key ARN, so the admin hooks pass key ids;
//! - moto takes the account from the request, not from ARNs: one client sees one account, so
//!   `other_account` is `None` and `requester_accounts` checks the one-account part.

use std::path::Path;
use std::sync::Arc;

use s3seal_kms::testing::conformance::{self, Target};
use s3seal_kms::testing::moto::{MOTO_ACCOUNT, MotoServer};
use s3seal_kms::{AwsKms, EncryptionContext, KeyMetadata, KeyRef, KeyState, Kms, KmsError};

struct Moto {
    kms: Arc<AwsKms>,
    // Dropped after the client: the server outlives every request.
    _server: MotoServer,
}

fn moto() -> Moto {
    let server = MotoServer::start(Path::new(env!("CARGO_TARGET_TMPDIR")));
    Moto {
        kms: Arc::new(server.kms()),
        _server: server,
    }
}

fn key_id(key_arn: &str) -> &str {
    key_arn.rsplit_once("key/").map_or(key_arn, |(_, id)| id)
}

impl Target for Moto {
    fn kms(&self) -> Arc<dyn Kms> {
        self.kms.clone()
    }
    fn account(&self) -> String {
        MOTO_ACCOUNT.to_owned()
    }
    fn other_account(&self) -> Option<String> {
        None
    }
    fn create_key(&self, account: &str, description: &str) -> Result<KeyMetadata, KmsError> {
        assert_eq!(account, MOTO_ACCOUNT);
        self.kms.create_key(description)
    }
    fn create_alias(&self, alias: &str, key_arn: &str) -> Result<(), KmsError> {
        self.kms.create_alias(alias, key_arn)
    }
    // moto's DisableKey, EnableKey, ScheduleKeyDeletion and CancelKeyDeletion fail with a 500
    // on a key ARN (AWS accepts one): they are given the key id.
    fn disable_key(&self, key_arn: &str) -> Result<(), KmsError> {
        self.kms.disable_key(key_id(key_arn))
    }
    fn enable_key(&self, key_arn: &str) -> Result<(), KmsError> {
        self.kms.enable_key(key_id(key_arn))
    }
    fn schedule_key_deletion(&self, key_arn: &str, pending_days: u32) -> Result<(), KmsError> {
        self.kms
            .schedule_key_deletion(key_id(key_arn), pending_days)
    }
    fn cancel_key_deletion(&self, key_arn: &str) -> Result<(), KmsError> {
        self.kms.cancel_key_deletion(key_id(key_arn))
    }
}

#[test]
fn generate_and_decrypt() {
    conformance::generate_and_decrypt(&moto());
}

#[test]
fn reference_forms() {
    // Key id, key ARN, alias name and alias ARN; unknown ones NotFound.
    conformance::reference_forms(&moto());
}

#[test]
fn describe() {
    conformance::describe(&moto());
}

#[test]
fn re_encrypt() {
    conformance::re_encrypt(&moto());
}

/// `conformance::default_sse_kms_key`, but moto creates the `alias/aws/s3` key with
/// `KeyManager: CUSTOMER` (AWS: `AWS`; our mapping of `AWS` to `aws_managed` is checked in
/// `tests/aws_errors.rs`).
#[test]
fn default_sse_kms_key_as_moto_makes_it() {
    let t = moto();
    let kms = t.kms();
    let r = s3seal_kms::Requester::new(MOTO_ACCOUNT).unwrap();
    let m = kms.default_sse_kms_key(&r).unwrap();
    assert!(
        !m.aws_managed,
        "moto now marks alias/aws/s3 as AWS managed: run conformance::default_sse_kms_key"
    );
    assert_eq!(m.account, MOTO_ACCOUNT);
    assert_eq!(m.state, KeyState::Enabled);
    assert_eq!(kms.default_sse_kms_key(&r).unwrap().arn, m.arn);
    let g = kms
        .generate_data_key(
            &KeyRef::parse("alias/aws/s3").unwrap(),
            &r,
            &EncryptionContext::for_object("bkt", "obj"),
        )
        .unwrap();
    assert_eq!(g.key_arn, m.arn);
}

#[test]
fn requester_accounts() {
    conformance::requester_accounts(&moto());
}

#[test]
fn every_check_is_run_here_or_replaced() {
    let here = [
        "generate_and_decrypt",
        "reference_forms",
        "describe",
        "context_binding", // context_binding_and_moto_s_answer_to_a_wrong_key_id
        "re_encrypt",
        "key_states",          // key_states_as_far_as_moto_goes
        "default_sse_kms_key", // default_sse_kms_key_as_moto_makes_it
        "requester_accounts",
    ];
    let all: Vec<&str> = conformance::CHECKS.iter().map(|(n, _)| *n).collect();
    assert_eq!(here.as_slice(), all.as_slice());
}

/// `conformance::context_binding`, step for step, but for the last one (moto's deviation).
#[test]
fn context_binding_and_moto_s_answer_to_a_wrong_key_id() {
    let t = moto();
    let kms = t.kms();
    let r = s3seal_kms::Requester::new(MOTO_ACCOUNT).unwrap();
    let k = t.create_key(MOTO_ACCOUNT, "k").unwrap();
    let mut c = EncryptionContext::for_object("bkt", "obj");
    c.insert("dept", "a");
    let g = kms
        .generate_data_key(&KeyRef::parse(&k.arn).unwrap(), &r, &c)
        .unwrap();
    let mut wrong = c.clone();
    wrong.insert("dept", "b");
    let mut extra = c.clone();
    extra.insert("x", "");
    for bad in [
        EncryptionContext::for_object("bkt", "obj"), // missing pair
        wrong,
        extra,
        EncryptionContext::new(),
    ] {
        assert_eq!(
            kms.decrypt(&g.ciphertext_blob, &bad, None).unwrap_err(),
            KmsError::InvalidCiphertext,
            "{bad:?}"
        );
    }
    let n = g.ciphertext_blob.len();
    for i in [0, n / 4, n / 2, 3 * n / 4, n - 1] {
        let mut b = g.ciphertext_blob.clone();
        b[i] ^= 0x80;
        assert!(kms.decrypt(&b, &c, None).is_err(), "flip at {i}");
    }
    assert!(kms.decrypt(&g.ciphertext_blob[..n / 2], &c, None).is_err());
    assert!(kms.decrypt(&[], &c, None).is_err());
    assert_eq!(
        kms.decrypt(&g.ciphertext_blob, &c, Some(&k.arn))
            .unwrap()
            .plaintext
            .as_bytes(),
        g.plaintext.as_bytes()
    );
    let other = t.create_key(MOTO_ACCOUNT, "other").unwrap();
    // AWS KMS: IncorrectKeyException → KmsError::IncorrectKey. moto: AccessDeniedException.
    // Either way the blob does not open under the wrong key.
    let e = kms
        .decrypt(&g.ciphertext_blob, &c, Some(&other.arn))
        .unwrap_err();
    assert!(
        matches!(e, KmsError::AccessDenied(_) | KmsError::IncorrectKey),
        "{e:?}"
    );
}

/// `conformance::key_states` as far as moto implements key states: they are reported by
/// DescribeKey, but moto does not refuse cryptographic operations on disabled or
/// pending-deletion keys (AWS does; that mapping is checked in `tests/aws_errors.rs`).
#[test]
fn key_states_as_far_as_moto_goes() {
    let t = moto();
    let kms = t.kms();
    let r = s3seal_kms::Requester::new(MOTO_ACCOUNT).unwrap();
    let k = t.create_key(MOTO_ACCOUNT, "k").unwrap();
    let kr = KeyRef::parse(&k.arn).unwrap();
    let ctx = EncryptionContext::for_object("bkt", "obj");
    let g = kms.generate_data_key(&kr, &r, &ctx).unwrap();
    t.disable_key(&k.arn).unwrap();
    assert_eq!(kms.describe_key(&kr, &r).unwrap().state, KeyState::Disabled);
    // moto's leniency, asserted so that a stricter moto is noticed (then run the real check).
    assert!(
        kms.generate_data_key(&kr, &r, &ctx).is_ok(),
        "moto now refuses disabled keys: run conformance::key_states against it instead"
    );
    t.enable_key(&k.arn).unwrap();
    assert_eq!(kms.describe_key(&kr, &r).unwrap().state, KeyState::Enabled);
    t.schedule_key_deletion(&k.arn, 7).unwrap();
    let m = kms.describe_key(&kr, &r).unwrap();
    assert_eq!(m.state, KeyState::PendingDeletion);
    assert!(m.deletion_date.is_some());
    t.cancel_key_deletion(&k.arn).unwrap();
    let m = kms.describe_key(&kr, &r).unwrap();
    assert_eq!(m.state, KeyState::Disabled);
    assert_eq!(m.deletion_date, None);
    t.enable_key(&k.arn).unwrap();
    kms.decrypt(&g.ciphertext_blob, &ctx, Some(&k.arn)).unwrap();
}

/// The server stopped mid-run: requests fail as `Unavailable` (retryable) within the timeouts,
/// and work again once it is back.
#[test]
fn server_stopped_and_continued() {
    let mut t = moto();
    let kms = t.kms();
    let r = s3seal_kms::Requester::new(MOTO_ACCOUNT).unwrap();
    let k = t.create_key(MOTO_ACCOUNT, "k").unwrap();
    let kr = KeyRef::parse(&k.arn).unwrap();
    let ctx = EncryptionContext::for_bucket("bkt");
    let g = kms.generate_data_key(&kr, &r, &ctx).unwrap();
    t._server.signal("STOP");
    let start = std::time::Instant::now();
    let e = kms.generate_data_key(&kr, &r, &ctx).unwrap_err();
    assert_eq!(e, KmsError::Unavailable);
    assert!(start.elapsed() < std::time::Duration::from_secs(6));
    assert_eq!(
        kms.decrypt(&g.ciphertext_blob, &ctx, None).unwrap_err(),
        KmsError::Unavailable
    );
    t._server.signal("CONT");
    let back = kms.decrypt(&g.ciphertext_blob, &ctx, None).unwrap();
    assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
    t._server.stop();
    assert_eq!(
        kms.describe_key(&kr, &r).unwrap_err(),
        KmsError::Unavailable
    );
}

//! The [`Kms`] conformance suite: the trait's contract as executable checks, run against every
//! implementation (in this crate: [`crate::LocalKms`], and [`super::FaultyKms`] wrapping it with
//! no faults), so that a new one — e.g. a client of the AWS KMS API tested against moto — is
//! held to the same behaviour.
//!
//! An implementation takes part by implementing [`Target`]: it hands out the [`Kms`] under test
//! and performs the few administrative steps the checks need (create keys and aliases, disable,
//! enable, schedule and cancel deletion) through its own management API. Each check is a
//! public function taking a fresh target; [`run_all`] runs [`CHECKS`] with a factory. Checks
//! panic with a message naming the step that failed, like any test.
//!
//! What is checked (the contract documented on [`Kms`] and [`KmsError`]):
//! - `GenerateDataKey` / `Decrypt`: 32-byte keys, fresh per call, round trip, the full key ARN
//!   in every result, plaintext redacted in `Debug` ([`generate_and_decrypt`]);
//! - key references: key id, key ARN, alias name and alias ARN resolve to one full key ARN;
//!   unknown ones are [`KmsError::NotFound`] ([`reference_forms`]);
//! - `DescribeKey` metadata ([`describe`]);
//! - encryption-context binding: a wrong, missing or extra pair, or an altered or truncated blob,
//!   fails ([`KmsError::InvalidCiphertext`] for the context); an asserted key ARN that is not
//!   the blob's is [`KmsError::IncorrectKey`] ([`context_binding`]);
//! - `ReEncrypt` to another key and context ([`re_encrypt`]);
//! - key states: Disabled and PendingDeletion refuse generate and decrypt with
//!   [`KmsError::Disabled`] / [`KmsError::PendingDeletion`]; enabling and cancelling restore
//!   ([`key_states`]);
//! - the AWS managed key `alias/aws/s3`, created on first use ([`default_sse_kms_key`]);
//! - requester accounts: bare ids and aliases resolve in the requester's account, and
//!   [`Requester::require_bucket_owner_key`] refuses keys of other accounts with
//!   [`KmsError::AccessDenied`] ([`requester_accounts`]; needs [`Target::other_account`]).

use std::sync::Arc;
use std::time::SystemTime;

use crate::context::EncryptionContext;
use crate::error::KmsError;
use crate::key_id::KeyRef;
use crate::kms::{AWS_S3_MANAGED_ALIAS, KeyMetadata, KeyState, Kms, Requester};

/// A [`Kms`] implementation under test, with the administrative hooks the checks need.
///
/// Each check takes a fresh target (an empty key store, or fresh keys on a shared service);
/// it creates every key and alias it uses, with names unique per target.
pub trait Target {
    /// The implementation under test, as callers hold it.
    fn kms(&self) -> Arc<dyn Kms>;

    /// The account keys are created in and requests come from (12 digits).
    fn account(&self) -> String;

    /// A second account the implementation can hold keys and aliases in, if it supports more
    /// than one; without it, [`requester_accounts`] checks only what one account can show.
    fn other_account(&self) -> Option<String>;

    /// Creates an Enabled customer managed key in `account`.
    ///
    /// # Errors
    /// Whatever the implementation's management API reports.
    fn create_key(&self, account: &str, description: &str) -> Result<KeyMetadata, KmsError>;

    /// Creates `alias` (`alias/NAME`) for the key `key_arn`, in that key's account.
    ///
    /// # Errors
    /// Whatever the implementation's management API reports.
    fn create_alias(&self, alias: &str, key_arn: &str) -> Result<(), KmsError>;

    /// Disables the key `key_arn`.
    ///
    /// # Errors
    /// Whatever the implementation's management API reports.
    fn disable_key(&self, key_arn: &str) -> Result<(), KmsError>;

    /// Enables the key `key_arn`.
    ///
    /// # Errors
    /// Whatever the implementation's management API reports.
    fn enable_key(&self, key_arn: &str) -> Result<(), KmsError>;

    /// Schedules deletion of the key `key_arn` after `pending_days` (7 to 30).
    ///
    /// # Errors
    /// Whatever the implementation's management API reports.
    fn schedule_key_deletion(&self, key_arn: &str, pending_days: u32) -> Result<(), KmsError>;

    /// Cancels the scheduled deletion of the key `key_arn` (it becomes Disabled).
    ///
    /// # Errors
    /// Whatever the implementation's management API reports.
    fn cancel_key_deletion(&self, key_arn: &str) -> Result<(), KmsError>;
}

/// One check of the suite.
pub type Check = fn(&dyn Target);

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("generate_and_decrypt", generate_and_decrypt),
    ("reference_forms", reference_forms),
    ("describe", describe),
    ("context_binding", context_binding),
    ("re_encrypt", re_encrypt),
    ("key_states", key_states),
    ("default_sse_kms_key", default_sse_kms_key),
    ("requester_accounts", requester_accounts),
];

/// Runs every check in [`CHECKS`], each on a fresh target from `make`.
///
/// # Panics
/// When a check fails, naming it.
pub fn run_all<T: Target>(make: impl Fn() -> T) {
    for (name, check) in CHECKS {
        let target = make();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&target)));
        if let Err(p) = outcome {
            let why = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("conformance check {name} failed: {why}");
        }
    }
}

fn ok<T>(r: Result<T, KmsError>, step: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{step}: unexpected error {e:?}"),
    }
}

fn err<T>(r: Result<T, KmsError>, step: &str) -> KmsError {
    match r {
        Ok(_) => panic!("{step}: succeeded, expected an error"),
        Err(e) => e,
    }
}

fn kref(s: &str) -> KeyRef {
    match KeyRef::parse(s) {
        Ok(r) => r,
        Err(e) => panic!("key reference {s:?} does not parse: {e}"),
    }
}

fn requester(account: &str) -> Requester {
    match Requester::new(account) {
        Ok(r) => r,
        Err(e) => panic!("account {account:?}: {e}"),
    }
}

fn ctx() -> EncryptionContext {
    EncryptionContext::for_object("bkt", "obj")
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:alias/NAME` beside a key ARN.
fn alias_arn(key_arn: &str, account: &str, alias: &str) -> String {
    let parts: Vec<&str> = key_arn.splitn(6, ':').collect();
    assert!(parts.len() == 6, "key ARN {key_arn:?} has six fields");
    format!("arn:{}:kms:{}:{account}:{alias}", parts[1], parts[3])
}

/// Generate under a key ARN, decrypt back; fresh keys per call; ARNs in results; redaction.
pub fn generate_and_decrypt(t: &dyn Target) {
    let kms = t.kms();
    let acct = t.account();
    let r = requester(&acct);
    let k = ok(t.create_key(&acct, "conformance"), "create_key");
    let g = ok(kms.generate_data_key(&kref(&k.arn), &r, &ctx()), "generate");
    assert_eq!(g.key_arn, k.arn, "generate names the full key ARN");
    assert_eq!(g.plaintext.as_bytes().len(), 32);
    assert!(!g.ciphertext_blob.is_empty());
    let back = ok(kms.decrypt(&g.ciphertext_blob, &ctx(), None), "decrypt");
    assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
    assert_eq!(back.key_arn, k.arn, "decrypt names the full key ARN");
    let back = ok(
        kms.decrypt(&g.ciphertext_blob, &ctx(), Some(&k.arn)),
        "decrypt asserting the key",
    );
    assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
    let g2 = ok(kms.generate_data_key(&kref(&k.arn), &r, &ctx()), "generate");
    assert_ne!(
        g2.plaintext.as_bytes(),
        g.plaintext.as_bytes(),
        "fresh keys"
    );
    assert_ne!(g2.ciphertext_blob, g.ciphertext_blob, "fresh blobs");
    // The plaintext key never shows in Debug output.
    for dbg in [format!("{g:?}"), format!("{back:?}")] {
        assert!(!dbg.contains(&hex::encode(g.plaintext.as_bytes())));
        assert!(dbg.contains("redacted"), "{dbg}");
    }
}

/// The four reference forms resolve to one full key ARN; unknown ones are `NotFound`.
pub fn reference_forms(t: &dyn Target) {
    let kms = t.kms();
    let acct = t.account();
    let r = requester(&acct);
    let k = ok(t.create_key(&acct, "k"), "create_key");
    ok(t.create_alias("alias/app", &k.arn), "create_alias");
    assert!(
        matches!(KeyRef::parse(&k.arn), Ok(KeyRef::KeyArn(ref a)) if a.account == acct && a.name == k.key_id),
        "{} is a key ARN in {acct} naming key id {}",
        k.arn,
        k.key_id
    );
    for s in [
        k.key_id.clone(),
        k.arn.clone(),
        "alias/app".to_owned(),
        alias_arn(&k.arn, &acct, "alias/app"),
    ] {
        let g = ok(kms.generate_data_key(&kref(&s), &r, &ctx()), &s);
        assert_eq!(g.key_arn, k.arn, "{s}");
        assert_eq!(ok(kms.describe_key(&kref(&s), &r), &s).arn, k.arn, "{s}");
        let back = ok(kms.decrypt(&g.ciphertext_blob, &ctx(), Some(&k.arn)), &s);
        assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
        assert_eq!(back.key_arn, k.arn);
    }
    for missing in [
        "alias/nope".to_owned(),
        "1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
        alias_arn(&k.arn, &acct, "alias/nope"),
        alias_arn(&k.arn, &acct, "key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ] {
        let e = err(kms.generate_data_key(&kref(&missing), &r, &ctx()), &missing);
        assert!(matches!(e, KmsError::NotFound(_)), "{missing}: {e:?}");
        let e = err(kms.describe_key(&kref(&missing), &r), &missing);
        assert!(matches!(e, KmsError::NotFound(_)), "{missing}: {e:?}");
    }
}

/// `DescribeKey` metadata of a fresh customer managed key.
pub fn describe(t: &dyn Target) {
    let kms = t.kms();
    let acct = t.account();
    let k = ok(t.create_key(&acct, "described"), "create_key");
    let m = ok(
        kms.describe_key(&kref(&k.arn), &requester(&acct)),
        "describe",
    );
    assert_eq!(m.arn, k.arn);
    assert_eq!(m.key_id, k.key_id);
    assert_eq!(m.account, acct);
    assert_eq!(m.description, "described");
    assert_eq!(m.state, KeyState::Enabled);
    assert!(!m.aws_managed);
    assert_eq!(m.deletion_date, None);
    assert!(m.creation_date <= SystemTime::now());
    let arn = m.parsed_arn();
    assert!(
        arn.as_ref()
            .is_some_and(|a| a.region == m.region && a.account == acct),
        "{arn:?} vs region {}",
        m.region
    );
}

/// A blob opens only under exactly its context, unaltered, and only as its own key's.
pub fn context_binding(t: &dyn Target) {
    let kms = t.kms();
    let acct = t.account();
    let k = ok(t.create_key(&acct, "k"), "create_key");
    let mut c = ctx();
    c.insert("dept", "a");
    let g = ok(
        kms.generate_data_key(&kref(&k.arn), &requester(&acct), &c),
        "generate",
    );
    let mut wrong = c.clone();
    wrong.insert("dept", "b");
    let mut extra = c.clone();
    extra.insert("x", "");
    for bad in [ctx(), wrong, extra, EncryptionContext::new()] {
        assert_eq!(
            err(
                kms.decrypt(&g.ciphertext_blob, &bad, None),
                "decrypt, other context"
            ),
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
    assert!(
        kms.decrypt(&g.ciphertext_blob[..n / 2], &c, None).is_err(),
        "truncated"
    );
    assert!(kms.decrypt(&[], &c, None).is_err(), "empty");
    let other = ok(t.create_key(&acct, "other"), "create_key");
    assert_eq!(
        err(
            kms.decrypt(&g.ciphertext_blob, &c, Some(&other.arn)),
            "decrypt asserting another key"
        ),
        KmsError::IncorrectKey
    );
}

/// `ReEncrypt` moves a data key to another key and context without exposing it.
pub fn re_encrypt(t: &dyn Target) {
    let kms = t.kms();
    let acct = t.account();
    let r = requester(&acct);
    let a = ok(t.create_key(&acct, "a"), "create_key");
    let b = ok(t.create_key(&acct, "b"), "create_key");
    let g = ok(kms.generate_data_key(&kref(&a.arn), &r, &ctx()), "generate");
    let c2 = EncryptionContext::for_bucket("bkt");
    let re = ok(
        kms.re_encrypt(&g.ciphertext_blob, &ctx(), &kref(&b.arn), &r, &c2),
        "re_encrypt",
    );
    assert_eq!(re.source_key_arn, a.arn);
    assert_eq!(re.key_arn, b.arn);
    let back = ok(
        kms.decrypt(&re.ciphertext_blob, &c2, Some(&b.arn)),
        "decrypt re-encrypted",
    );
    assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
    assert_eq!(back.key_arn, b.arn);
    assert_eq!(
        err(
            kms.decrypt(&re.ciphertext_blob, &ctx(), None),
            "re-encrypted blob under the old context"
        ),
        KmsError::InvalidCiphertext
    );
    // The source context must match too.
    assert!(
        kms.re_encrypt(&g.ciphertext_blob, &c2, &kref(&b.arn), &r, &c2)
            .is_err()
    );
    // Same key, new context (a rewrap in place).
    let same = ok(
        kms.re_encrypt(&g.ciphertext_blob, &ctx(), &kref(&a.arn), &r, &c2),
        "re_encrypt to the same key",
    );
    assert_eq!(same.key_arn, a.arn);
    let back = ok(kms.decrypt(&same.ciphertext_blob, &c2, None), "decrypt");
    assert_eq!(back.plaintext.as_bytes(), g.plaintext.as_bytes());
}

/// Disabled and pending-deletion keys refuse work; enabling and cancelling restore state.
pub fn key_states(t: &dyn Target) {
    let kms = t.kms();
    let acct = t.account();
    let r = requester(&acct);
    let k = ok(t.create_key(&acct, "k"), "create_key");
    let kr = kref(&k.arn);
    let g = ok(kms.generate_data_key(&kr, &r, &ctx()), "generate");
    ok(t.disable_key(&k.arn), "disable_key");
    assert_eq!(
        ok(kms.describe_key(&kr, &r), "describe").state,
        KeyState::Disabled
    );
    let e = err(kms.generate_data_key(&kr, &r, &ctx()), "generate, disabled");
    assert!(matches!(e, KmsError::Disabled(_)), "{e:?}");
    assert!(e.is_key_state() && !e.is_retryable());
    let e = err(
        kms.decrypt(&g.ciphertext_blob, &ctx(), None),
        "decrypt, disabled",
    );
    assert!(matches!(e, KmsError::Disabled(_)), "{e:?}");
    ok(t.enable_key(&k.arn), "enable_key");
    ok(
        kms.decrypt(&g.ciphertext_blob, &ctx(), None),
        "decrypt, enabled",
    );
    ok(t.schedule_key_deletion(&k.arn, 7), "schedule_key_deletion");
    let m = ok(kms.describe_key(&kr, &r), "describe");
    assert_eq!(m.state, KeyState::PendingDeletion);
    assert!(m.deletion_date.is_some());
    let e = err(
        kms.generate_data_key(&kr, &r, &ctx()),
        "generate, pending deletion",
    );
    assert!(matches!(e, KmsError::PendingDeletion(_)), "{e:?}");
    assert!(e.is_key_state());
    let e = err(
        kms.decrypt(&g.ciphertext_blob, &ctx(), None),
        "decrypt, pending deletion",
    );
    assert!(matches!(e, KmsError::PendingDeletion(_)), "{e:?}");
    ok(t.cancel_key_deletion(&k.arn), "cancel_key_deletion");
    let m = ok(kms.describe_key(&kr, &r), "describe");
    assert_eq!(m.state, KeyState::Disabled);
    assert_eq!(m.deletion_date, None);
}

/// `alias/aws/s3` names an AWS managed key, created on first use and then stable.
pub fn default_sse_kms_key(t: &dyn Target) {
    let kms = t.kms();
    let acct = t.account();
    let r = requester(&acct);
    let m = ok(kms.default_sse_kms_key(&r), "default_sse_kms_key");
    assert!(m.aws_managed);
    assert_eq!(m.account, acct);
    assert_eq!(m.state, KeyState::Enabled);
    assert_eq!(ok(kms.default_sse_kms_key(&r), "again").arn, m.arn);
    let alias = format!("alias/{AWS_S3_MANAGED_ALIAS}");
    let g = ok(kms.generate_data_key(&kref(&alias), &r, &ctx()), &alias);
    assert_eq!(g.key_arn, m.arn);
}

/// Bare ids and aliases resolve in the requester's account; the bucket-owner rule refuses keys
/// of other accounts.
pub fn requester_accounts(t: &dyn Target) {
    assert!(Requester::new("12").is_err());
    let kms = t.kms();
    let acct = t.account();
    assert!(requester(&acct).require_bucket_owner_key("x").is_err());
    let mine = ok(t.create_key(&acct, "owner"), "create_key");
    // The rule accepts the owner's own key, by every form.
    let strict = ok(
        requester(&acct)
            .require_bucket_owner_key(&acct)
            .map_err(KmsError::from),
        "owner rule",
    );
    let g = ok(
        kms.generate_data_key(&kref(&mine.arn), &strict, &ctx()),
        "owner key",
    );
    assert_eq!(g.key_arn, mine.arn);
    let Some(other) = t.other_account() else {
        return;
    };
    let theirs = ok(t.create_key(&other, "requester"), "create_key");
    ok(t.create_alias("alias/shared", &mine.arn), "create_alias");
    ok(t.create_alias("alias/shared", &theirs.arn), "create_alias");
    let requester = requester(&other);
    // The alias name resolves in the requester's account: the trap the S3 docs warn about.
    let g = ok(
        kms.generate_data_key(&kref("alias/shared"), &requester, &ctx()),
        "alias in requester's account",
    );
    assert_eq!(g.key_arn, theirs.arn);
    // A bare key id too: the owner's key id is not found from the other account.
    let e = err(
        kms.generate_data_key(&kref(&mine.key_id), &requester, &ctx()),
        "bare id of another account's key",
    );
    assert!(matches!(e, KmsError::NotFound(_)), "{e:?}");
    // With the bucket-owner rule, it is refused...
    let strict = ok(
        requester
            .clone()
            .require_bucket_owner_key(&acct)
            .map_err(KmsError::from),
        "owner rule",
    );
    let e = err(
        kms.generate_data_key(&kref("alias/shared"), &strict, &ctx()),
        "requester's key under the owner rule",
    );
    assert!(matches!(e, KmsError::AccessDenied(_)), "{e:?}");
    let e = err(
        kms.describe_key(&kref(&theirs.arn), &strict),
        "describe under the owner rule",
    );
    assert!(matches!(e, KmsError::AccessDenied(_)), "{e:?}");
    // ...and the owner's key by full ARN is accepted.
    let g = ok(
        kms.generate_data_key(&kref(&mine.arn), &strict, &ctx()),
        "owner key by ARN",
    );
    assert_eq!(g.key_arn, mine.arn);
    // The AWS managed alias in another account is that account's own key.
    let g = ok(
        kms.generate_data_key(&kref("alias/aws/s3"), &requester, &ctx()),
        "alias/aws/s3 in the other account",
    );
    assert!(g.key_arn.contains(&other), "{}", g.key_arn);
}

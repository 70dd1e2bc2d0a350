//! [`FaultyKms`]: a [`Kms`] wrapper that injects latency, random retryable errors, timeouts
//! (a call that hangs, then fails as a remote client's timeout does), wrong answers (a
//! `GenerateDataKey` blob that does not hold its plaintext key, a `Decrypt` plaintext that is
//! not the blob's key, a corrupted `ReEncrypt` blob) and outage windows, deterministically from
//! a seed, and counts calls. For tests and benches (feature `testing`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::context::EncryptionContext;
use crate::error::KmsError;
use crate::key_id::KeyRef;
use crate::kms::{DecryptedDataKey, GeneratedDataKey, KeyMetadata, Kms, ReEncrypted, Requester};
use s3seal_gcm::DataKey;

/// What to inject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Sleep before every call.
    pub latency: Duration,
    /// Probability in `0.0..=1.0` that a call fails with [`KmsError::Throttled`] or
    /// [`KmsError::Unavailable`] (which one, by the same seeded draw).
    pub error_rate: f64,
    /// Probability that a call hangs for [`FaultConfig::timeout`] and then fails with
    /// [`KmsError::Unavailable`], as `AwsKms` reports a timed-out call. Drawn after
    /// `error_rate` (from the same draw: the two add up).
    pub timeout_rate: f64,
    /// How long a timed-out call hangs.
    pub timeout: Duration,
    /// Probability that a call succeeds with a wrong answer: `GenerateDataKey` returns a blob
    /// with one bit flipped, or the blob of another data key, or another plaintext key than
    /// its blob holds; `Decrypt` returns another plaintext key; `ReEncrypt` a blob with one bit
    /// flipped; `DescribeKey` answers truly. Drawn after `timeout_rate`.
    pub wrong_rate: f64,
    /// Calls whose index (0-based, over all operations) falls in this range fail with
    /// [`KmsError::Unavailable`]: an outage.
    pub outage: Option<core::ops::Range<u64>>,
    /// RNG seed; equal seeds give equal fault sequences for equal call orders.
    pub seed: u64,
}

/// Call and fault counters of a [`FaultyKms`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// `generate_data_key` calls (including failed ones).
    pub generate: u64,
    /// `decrypt` calls.
    pub decrypt: u64,
    /// `re_encrypt` calls.
    pub re_encrypt: u64,
    /// `describe_key` calls.
    pub describe: u64,
    /// Calls that got an injected error (including timeouts).
    pub injected: u64,
    /// Of those, timeouts.
    pub timeouts: u64,
    /// Calls that got a wrong answer.
    pub wrong: u64,
}

/// A fault-injecting, call-counting [`Kms`] wrapper.
#[derive(Debug)]
pub struct FaultyKms {
    inner: Arc<dyn Kms>,
    cfg: FaultConfig,
    calls: AtomicU64,
    generate: AtomicU64,
    decrypt: AtomicU64,
    re_encrypt: AtomicU64,
    describe: AtomicU64,
    injected: AtomicU64,
    timeouts: AtomicU64,
    wrong: AtomicU64,
}

/// What one call gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The inner KMS's answer.
    Pass,
    /// A wrong answer; the number picks which kind.
    Wrong(u64),
}

/// SplitMix64: a good 64-bit mix of a counter, so draws need no lock.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl FaultyKms {
    /// Wraps `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn Kms>, cfg: FaultConfig) -> Self {
        FaultyKms {
            inner,
            cfg,
            calls: AtomicU64::new(0),
            generate: AtomicU64::new(0),
            decrypt: AtomicU64::new(0),
            re_encrypt: AtomicU64::new(0),
            describe: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            wrong: AtomicU64::new(0),
        }
    }

    /// A pass-through wrapper that only counts calls.
    #[must_use]
    pub fn counting(inner: Arc<dyn Kms>) -> Self {
        Self::new(inner, FaultConfig::default())
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> FaultStats {
        FaultStats {
            generate: self.generate.load(Ordering::Relaxed),
            decrypt: self.decrypt.load(Ordering::Relaxed),
            re_encrypt: self.re_encrypt.load(Ordering::Relaxed),
            describe: self.describe.load(Ordering::Relaxed),
            injected: self.injected.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            wrong: self.wrong.load(Ordering::Relaxed),
        }
    }

    fn before(&self, counter: &AtomicU64) -> Result<Fate, KmsError> {
        counter.fetch_add(1, Ordering::Relaxed);
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        if !self.cfg.latency.is_zero() {
            std::thread::sleep(self.cfg.latency);
        }
        if self.cfg.outage.as_ref().is_some_and(|o| o.contains(&n)) {
            self.injected.fetch_add(1, Ordering::Relaxed);
            return Err(KmsError::Unavailable);
        }
        let draw = splitmix(self.cfg.seed ^ splitmix(n));
        #[expect(
            clippy::cast_precision_loss,
            reason = "a 53-bit uniform draw in [0, 1)"
        )]
        let u = (draw >> 11) as f64 / (1u64 << 53) as f64;
        if u < self.cfg.error_rate {
            self.injected.fetch_add(1, Ordering::Relaxed);
            return Err(if draw & 1 == 0 {
                KmsError::Throttled
            } else {
                KmsError::Unavailable
            });
        }
        if u < self.cfg.error_rate + self.cfg.timeout_rate {
            self.injected.fetch_add(1, Ordering::Relaxed);
            self.timeouts.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(self.cfg.timeout);
            return Err(KmsError::Unavailable);
        }
        if u < self.cfg.error_rate + self.cfg.timeout_rate + self.cfg.wrong_rate {
            return Ok(Fate::Wrong(splitmix(draw)));
        }
        Ok(Fate::Pass)
    }

    fn wrong(&self) {
        self.wrong.fetch_add(1, Ordering::Relaxed);
    }
}

/// `blob` with bit `pick` (mod its length) flipped.
fn flip_bit(mut blob: Vec<u8>, pick: u64) -> Vec<u8> {
    if !blob.is_empty() {
        let bits = blob.len() as u64 * 8;
        let bit = pick % bits;
        let i = usize::try_from(bit / 8).unwrap_or(0);
        blob[i] ^= 1 << (bit % 8);
    }
    blob
}

impl Kms for FaultyKms {
    fn generate_data_key(
        &self,
        key: &KeyRef,
        requester: &Requester,
        context: &EncryptionContext,
    ) -> Result<GeneratedDataKey, KmsError> {
        let fate = self.before(&self.generate)?;
        let g = self.inner.generate_data_key(key, requester, context)?;
        let Fate::Wrong(pick) = fate else {
            return Ok(g);
        };
        self.wrong();
        Ok(match pick % 3 {
            0 => GeneratedDataKey {
                ciphertext_blob: flip_bit(g.ciphertext_blob, pick >> 2),
                ..g
            },
            // The blob of another data key, beside this one's plaintext.
            1 => GeneratedDataKey {
                ciphertext_blob: self
                    .inner
                    .generate_data_key(key, requester, context)?
                    .ciphertext_blob,
                ..g
            },
            _ => GeneratedDataKey {
                plaintext: DataKey::generate().map_err(|_| KmsError::Random)?,
                ..g
            },
        })
    }

    fn decrypt(
        &self,
        blob: &[u8],
        context: &EncryptionContext,
        expected_key_arn: Option<&str>,
    ) -> Result<DecryptedDataKey, KmsError> {
        let fate = self.before(&self.decrypt)?;
        let d = self.inner.decrypt(blob, context, expected_key_arn)?;
        if fate == Fate::Pass {
            return Ok(d);
        }
        self.wrong();
        Ok(DecryptedDataKey {
            plaintext: DataKey::generate().map_err(|_| KmsError::Random)?,
            ..d
        })
    }

    fn re_encrypt(
        &self,
        blob: &[u8],
        source_context: &EncryptionContext,
        dest_key: &KeyRef,
        requester: &Requester,
        dest_context: &EncryptionContext,
    ) -> Result<ReEncrypted, KmsError> {
        let fate = self.before(&self.re_encrypt)?;
        let r = self
            .inner
            .re_encrypt(blob, source_context, dest_key, requester, dest_context)?;
        let Fate::Wrong(pick) = fate else {
            return Ok(r);
        };
        self.wrong();
        Ok(ReEncrypted {
            ciphertext_blob: flip_bit(r.ciphertext_blob, pick),
            ..r
        })
    }

    fn describe_key(&self, key: &KeyRef, requester: &Requester) -> Result<KeyMetadata, KmsError> {
        self.before(&self.describe)?;
        self.inner.describe_key(key, requester)
    }
}

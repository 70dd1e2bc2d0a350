//! The `fuzzing` feature: a deterministic random source and `arbitrary` inputs, so a storage
//! backend's fuzz campaign drives s3seal reproducibly. Never enable it in production: after
//! [`deterministic_rng`], data keys, salts, nonces and KMS key material are predictable.
//!
//! The generator is AES-256 in counter mode (a 128-bit big-endian counter from 0) under
//! `SHA-256("s3seal fuzzing rng v1" ‖ seed u64 BE)`: CSPRNG-shaped, so it never yields the
//! all-zero or repeated values a toy generator would (and that the code rightly refuses), and
//! the same seed gives the same bytes on every machine and backend.
//!
//! # Scope
//! The generator is **process-wide**: [`fill_random`](crate::fill_random) (which every s3seal
//! crate draws from) takes its bytes from it until [`os_rng`] is called. Set it before opening
//! the KMS and building the engine, from one thread, and drive the engine from one thread per
//! process (as libFuzzer does), so the order of draws — and so every byte — is reproducible.

use std::sync::{Mutex, PoisonError};

use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::Error;
use crate::format::{ChunkSize, MAX_PART_NUMBER, PartNumber};

struct Drbg {
    aes: Aes256,
    counter: u128,
    block: [u8; 16],
    used: usize,
}

impl Drbg {
    fn new(seed: u64) -> Self {
        let mut key: [u8; 32] = Sha256::new()
            .chain_update(b"s3seal fuzzing rng v1")
            .chain_update(seed.to_be_bytes())
            .finalize()
            .into();
        let aes = Aes256::new(&key.into());
        key.zeroize();
        Drbg {
            aes,
            counter: 0,
            block: [0; 16],
            used: 16,
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        for b in buf {
            if self.used == 16 {
                let mut block = aes::Block::from(self.counter.to_be_bytes());
                self.aes.encrypt_block(&mut block);
                self.block.copy_from_slice(&block);
                self.counter = self.counter.checked_add(1).ok_or(Error::Random)?;
                self.used = 0;
            }
            *b = self.block[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

static RNG: Mutex<Option<Drbg>> = Mutex::new(None);

/// From now on, every random value s3seal draws in this process comes from a generator seeded
/// with `seed`: two runs with the same seed and the same calls in the same order produce the
/// same bytes (keys, salts, object and upload ids, stored envelopes and sealed data).
/// Process-wide (see the module doc); calling it again restarts the sequence.
pub fn deterministic_rng(seed: u64) {
    *RNG.lock().unwrap_or_else(PoisonError::into_inner) = Some(Drbg::new(seed));
}

/// Back to the operating system's generator (the default).
pub fn os_rng() {
    *RNG.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// Fills `buf` from the deterministic generator if one is set; `Ok(false)` if not.
pub(crate) fn fill(buf: &mut [u8]) -> Result<bool, Error> {
    match RNG.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
        Some(rng) => rng.fill(buf).map(|()| true),
        None => Ok(false),
    }
}

impl<'a> arbitrary::Arbitrary<'a> for ChunkSize {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let log2 = u.int_in_range(ChunkSize::MIN.log2()..=ChunkSize::MAX.log2())?;
        ChunkSize::from_log2(log2).map_err(|_| arbitrary::Error::IncorrectFormat)
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(1))
    }
}

impl<'a> arbitrary::Arbitrary<'a> for PartNumber {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        PartNumber::new(u.int_in_range(0..=MAX_PART_NUMBER)?)
            .map_err(|_| arbitrary::Error::IncorrectFormat)
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (4, Some(4))
    }
}

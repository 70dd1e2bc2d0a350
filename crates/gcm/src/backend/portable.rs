//! Portable AES-256-GCM (NIST SP 800-38D) from the `aes`, `ctr` and `ghash` crates.
//!
//! Two passes over the data: CTR32-BE keystream from J0 + 1, then GHASH over
//! `AAD ‖ pad ‖ C ‖ pad ‖ len(A)₆₄ ‖ len(C)₆₄`, masked with E(K, J0). Opening hashes the
//! ciphertext first and decrypts only after the tag matched, so a forgery never produces plaintext.
//! The `aes` crate picks AES-NI / ARMv8 AES at run time; `ghash` picks PCLMULQDQ / PMULL.

use aes::Aes256;
use aes::cipher::inout::InOutBuf;
use aes::cipher::{InnerIvInit, KeyInit, StreamCipherCore};
use ctr::CtrCore;
use ctr::flavors::Ctr32BE;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use zeroize::Zeroize;

/// Expanded AES-256 key and GHASH key H = E(K, 0¹²⁸). Both zeroize on drop (crate features).
#[derive(Clone)]
pub(crate) struct Key {
    aes: Aes256,
    ghash: GHash,
}

impl Key {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        let aes = Aes256::new(key.into());
        let mut h = ghash::Block::default();
        aes::cipher::BlockCipherEncrypt::encrypt_block(&aes, &mut h);
        let ghash = GHash::new(&h);
        h.zeroize();
        Key { aes, ghash }
    }

    /// J0 = IV ‖ 0³¹ ‖ 1 (SP 800-38D §7.1 step 2, 96-bit IV); returns the CTR state at J0 + 1 and
    /// the tag mask E(K, J0).
    fn init(&self, nonce: &[u8; 12]) -> (CtrCore<&Aes256, Ctr32BE>, ghash::Block) {
        let mut j0 = ghash::Block::default();
        j0[..12].copy_from_slice(nonce);
        j0[15] = 1;
        let mut ctr = CtrCore::<&Aes256, Ctr32BE>::inner_iv_init(&self.aes, &j0);
        let mut mask = ghash::Block::default();
        ctr.write_keystream_block(&mut mask);
        (ctr, mask)
    }

    fn tag(&self, mask: &ghash::Block, aad: &[u8], ct: &[u8]) -> [u8; 16] {
        let mut g = self.ghash.clone();
        g.update_padded(aad);
        g.update_padded(ct);
        let mut lens = ghash::Block::default();
        lens[..8].copy_from_slice(&(aad.len() as u64 * 8).to_be_bytes());
        lens[8..].copy_from_slice(&(ct.len() as u64 * 8).to_be_bytes());
        g.update(&[lens]);
        let s = g.finalize();
        let mut tag = [0u8; 16];
        for (t, (a, b)) in tag.iter_mut().zip(s.iter().zip(mask.iter())) {
            *t = a ^ b;
        }
        tag
    }

    pub(crate) fn seal(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        mut buf: InOutBuf<'_, '_, u8>,
    ) -> [u8; 16] {
        let (ctr, mut mask) = self.init(nonce);
        ctr.apply_keystream_partial(buf.reborrow());
        let tag = self.tag(&mask, aad, buf.get_out());
        mask.zeroize();
        tag
    }

    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: InOutBuf<'_, '_, u8>,
        tag: &[u8; 16],
    ) -> bool {
        let (ctr, mut mask) = self.init(nonce);
        let mut expected = self.tag(&mask, aad, buf.get_in());
        mask.zeroize();
        let ok = super::tag_matches(&mut expected, tag);
        if ok {
            ctr.apply_keystream_partial(buf);
        }
        ok
    }
}

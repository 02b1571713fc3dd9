// SPDX-License-Identifier: GPL-2.0

//! SipHash with a random key (`linux/siphash.h`), for hashes an attacker
//! must not predict.

use crate::sys;

/// A secret SipHash key, drawn from the kernel's random pool.
#[derive(Clone, Copy)]
pub(crate) struct SipKey(sys::siphash_key_t);

impl SipKey {
    /// A fresh random key.
    pub(crate) fn random() -> SipKey {
        let mut key = sys::siphash_key_t { key: [0; 2] };
        // SAFETY: `key` is a plain array of the size passed; the random
        // pool may be called from any context.
        unsafe { sys::get_random_bytes((&raw mut key.key).cast(), core::mem::size_of_val(&key.key)) };
        SipKey(key)
    }

    /// The key of two words (`TCP_FASTOPEN_KEY`'s halves, little-endian).
    pub(crate) fn from_words(k0: u64, k1: u64) -> SipKey {
        SipKey(sys::siphash_key_t { key: [k0, k1] })
    }

    /// The key's two words.
    pub(crate) fn words(&self) -> [u64; 2] {
        self.0.key
    }

    /// SipHash-2-4 of one word (of 8 bytes read little-endian, as
    /// `siphash()` reads them).
    pub(crate) fn hash1(&self, a: u64) -> u64 {
        // SAFETY: the key is a valid `siphash_key_t` for the call.
        unsafe { sys::siphash_1u64(a, &self.0) }
    }

    /// SipHash-2-4 of two words.
    pub(crate) fn hash2(&self, a: u64, b: u64) -> u64 {
        // SAFETY: the key is a valid `siphash_key_t` for the call.
        unsafe { sys::siphash_2u64(a, b, &self.0) }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! SipHash with a random key (`linux/siphash.h`), for hashes an attacker
//! must not predict.

use crate::proto::conn::Endpoint;
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

    /// SipHash-2-4 of words (`siphash()` of their bytes, little-endian).
    pub(crate) fn hash_words(&self, words: &[u64]) -> u64 {
        // SAFETY: `words` is readable for its length in bytes; the key is
        // valid.
        unsafe { sys::__siphash_unaligned(words.as_ptr().cast(), core::mem::size_of_val(words), &self.0) }
    }

    /// A keyed hash of a four-tuple, for a table's bucket: two words when
    /// both addresses are IPv4, the whole addresses otherwise.
    pub(crate) fn hash_tuple(&self, local: Endpoint, remote: Endpoint) -> u64 {
        let ports = u64::from(local.port) << 16 | u64::from(remote.port);
        if local.addr.is_v4() && remote.addr.is_v4() {
            return self.hash2(u64::from(local.addr.ipv4()) << 32 | u64::from(remote.addr.ipv4()), ports);
        }
        let [l0, l1, l2, l3] = local.addr.words().map(u64::from);
        let [r0, r1, r2, r3] = remote.addr.words().map(u64::from);
        self.hash_words(&[l0 << 32 | l1, l2 << 32 | l3, r0 << 32 | r1, r2 << 32 | r3, ports])
    }
}

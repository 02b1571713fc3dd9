// SPDX-License-Identifier: GPL-2.0

//! The connection table of a namespace, the counterpart of the established
//! hash of `net/ipv4/inet_hashtables.c`: four-tuples to connections, in
//! buckets chosen by a keyed hash of the tuple (as `inet_ehashfn` keys
//! Linux's established hash), so that a peer cannot aim its connections
//! at one bucket.

use kernel::prelude::*;

use crate::net::siphash::SipKey;
use crate::proto::conn::Endpoint;

/// log2 of the number of buckets.
const BITS: u32 = 10;

/// One connection of the table.
pub(crate) struct Entry<T> {
    pub(crate) local: Endpoint,
    pub(crate) remote: Endpoint,
    pub(crate) val: T,
}

/// Four-tuples to `T`s.
pub(crate) struct ConnTable<T> {
    buckets: KVec<KVec<Entry<T>>>,
    key: SipKey,
}

impl<T> ConnTable<T> {
    /// An empty table (the buckets' vectors allocate on first use).
    pub(crate) fn new() -> Result<Self> {
        let mut buckets = KVec::with_capacity(1 << BITS, GFP_KERNEL)?;
        for _ in 0..1usize << BITS {
            buckets.push(KVec::new(), GFP_KERNEL)?;
        }
        Ok(ConnTable { buckets, key: SipKey::random() })
    }

    fn bucket(&self, local: Endpoint, remote: Endpoint) -> usize {
        let addrs = u64::from(local.addr) << 32 | u64::from(remote.addr);
        let ports = u64::from(local.port) << 16 | u64::from(remote.port);
        (self.key.hash2(addrs, ports) >> (64 - BITS)) as usize
    }

    /// The connection of a tuple.
    pub(crate) fn get(&self, local: Endpoint, remote: Endpoint) -> Option<&T> {
        let b = self.buckets.get(self.bucket(local, remote))?;
        b.iter().find(|e| e.local == local && e.remote == remote).map(|e| &e.val)
    }

    /// Adds a connection (the caller has checked the tuple is free).
    pub(crate) fn insert(&mut self, local: Endpoint, remote: Endpoint, val: T) -> Result {
        let i = self.bucket(local, remote);
        let b = self.buckets.get_mut(i).ok_or(EINVAL)?;
        b.push(Entry { local, remote, val }, GFP_ATOMIC)?;
        Ok(())
    }

    /// Takes out the connection of a tuple if `which` says it is the one.
    pub(crate) fn remove(&mut self, local: Endpoint, remote: Endpoint, which: impl Fn(&T) -> bool) -> Option<T> {
        let i = self.bucket(local, remote);
        let b = self.buckets.get_mut(i)?;
        let pos = b.iter().position(|e| e.local == local && e.remote == remote && which(&e.val))?;
        Some(b.remove(pos).ok()?.val)
    }

    /// Takes out some connection, `None` once the table is empty.
    pub(crate) fn take_any(&mut self) -> Option<Entry<T>> {
        self.buckets.iter_mut().find_map(|b| b.pop())
    }

    /// Every connection, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry<T>> {
        self.buckets.iter().flat_map(|b| b.iter())
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The connection and listener tables of a namespace, the counterparts of
//! the established and listening hashes of `net/ipv4/inet_hashtables.c`:
//! four-tuples to connections, in buckets chosen by a keyed hash of the
//! tuple (as `inet_ehashfn` keys Linux's established hash), so that a peer
//! cannot aim its connections at one bucket; and local ports to
//! listeners (as `inet_lhashfn`).

use crate::new_spinlock_bh;
use kernel::prelude::*;
use crate::net::bh::SpinLockBh;

use crate::net::siphash::SipKey;
use crate::net::SockAddr;
use crate::proto::conn::Endpoint;

/// log2 of the number of buckets.
const BITS: u32 = 10;

/// One connection of the table.
pub(crate) struct Entry<T> {
    pub(crate) local: Endpoint,
    pub(crate) remote: Endpoint,
    pub(crate) val: T,
}

/// One bucket, with its own lock (as each of Linux's established hash
/// chains has one, `inet_ehash_lockp`): a lookup only contends with
/// lookups and changes of the same bucket. Taken with softirqs off, as
/// the receive path and the timers take it in softirq; never two at once.
type Bucket<T> = Pin<KBox<SpinLockBh<KVec<Entry<T>>>>>;

/// Four-tuples to `T`s.
pub(crate) struct ConnTable<T> {
    buckets: KVec<Bucket<T>>,
    key: SipKey,
}

impl<T: Clone> ConnTable<T> {
    /// An empty table (the buckets' vectors allocate on first use).
    pub(crate) fn new() -> Result<Self> {
        let mut buckets = KVec::with_capacity(1 << BITS, GFP_KERNEL)?;
        for _ in 0..1usize << BITS {
            buckets.push(KBox::pin_init(new_spinlock_bh!(KVec::new(), "rtcp_conns"), GFP_KERNEL)?, GFP_KERNEL)?;
        }
        Ok(ConnTable { buckets, key: SipKey::random() })
    }

    fn bucket(&self, local: Endpoint, remote: Endpoint) -> Option<&Bucket<T>> {
        self.buckets.get((self.key.hash_tuple(local, remote) >> (64 - BITS)) as usize)
    }

    /// The connection of a tuple.
    pub(crate) fn get(&self, local: Endpoint, remote: Endpoint) -> Option<T> {
        let b = self.bucket(local, remote)?.lock();
        b.iter().find(|e| e.local == local && e.remote == remote).map(|e| e.val.clone())
    }

    /// Adds a connection, unless the tuple has one that `keep` says stays
    /// (`EADDRNOTAVAIL`); one it lets go makes way, and is given back.
    /// One look and change under the bucket's lock, as
    /// `__inet_check_established` checks and hashes.
    pub(crate) fn insert(&self, local: Endpoint, remote: Endpoint, val: T, keep: impl Fn(&T) -> bool) -> Result<Option<T>> {
        let mut b = self.bucket(local, remote).ok_or(EINVAL)?.lock();
        let old = b.iter().position(|e| e.local == local && e.remote == remote);
        let evicted = match old {
            Some(i) if b.get(i).is_some_and(|e| keep(&e.val)) => return Err(EADDRNOTAVAIL),
            Some(i) => Some(b.remove(i).map_err(|_| EINVAL)?.val),
            None => None,
        };
        // After an eviction the vector has room: only a push without one
        // may fail, and then nothing changed.
        b.push(Entry { local, remote, val }, GFP_ATOMIC)?;
        Ok(evicted)
    }

    /// Takes out the connection of a tuple if `which` says it is the one.
    pub(crate) fn remove(&self, local: Endpoint, remote: Endpoint, which: impl Fn(&T) -> bool) -> Option<T> {
        let mut b = self.bucket(local, remote)?.lock();
        let pos = b.iter().position(|e| e.local == local && e.remote == remote && which(&e.val))?;
        Some(b.remove(pos).ok()?.val)
    }

    /// Takes out some connection, `None` once the table is empty.
    pub(crate) fn take_any(&self) -> Option<Entry<T>> {
        self.buckets.iter().find_map(|b| b.lock().pop())
    }

    /// Calls `f` on every connection, in no particular order, one bucket
    /// locked at a time (a connection that moves meanwhile may be seen
    /// twice or not at all, as `/proc/net/tcp` may show Linux's).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Entry<T>)) {
        for b in self.buckets.iter() {
            b.lock().iter().for_each(&mut f);
        }
    }
}

/// log2 of the number of listener buckets.
const LISTEN_BITS: u32 = 8;

/// Listening addresses to `T`s, by port; within a port, in the order
/// they began to listen (an `SO_REUSEPORT` group's order).
pub(crate) struct ListenTable<T> {
    buckets: KVec<KVec<(SockAddr, T)>>,
}

impl<T> ListenTable<T> {
    /// An empty table.
    pub(crate) fn new() -> Result<Self> {
        let mut buckets = KVec::with_capacity(1 << LISTEN_BITS, GFP_KERNEL)?;
        for _ in 0..1usize << LISTEN_BITS {
            buckets.push(KVec::new(), GFP_KERNEL)?;
        }
        Ok(ListenTable { buckets })
    }

    fn bucket(port: u16) -> usize {
        usize::from(port) & ((1 << LISTEN_BITS) - 1)
    }

    /// The listeners of `port`, with their addresses.
    pub(crate) fn on_port(&self, port: u16) -> impl Iterator<Item = &(SockAddr, T)> + Clone {
        self.buckets.get(Self::bucket(port)).into_iter().flat_map(|b| b.iter()).filter(move |(a, _)| a.port == port)
    }

    /// Adds a listener, after those of its port.
    pub(crate) fn push(&mut self, addr: SockAddr, val: T) -> Result {
        let b = self.buckets.get_mut(Self::bucket(addr.port)).ok_or(EINVAL)?;
        b.push((addr, val), GFP_ATOMIC)?;
        Ok(())
    }

    /// Takes out the listener on `port` that `which` says is the one.
    pub(crate) fn remove(&mut self, port: u16, which: impl Fn(&T) -> bool) -> Option<T> {
        let b = self.buckets.get_mut(Self::bucket(port))?;
        let pos = b.iter().position(|(a, v)| a.port == port && which(v))?;
        Some(b.remove(pos).ok()?.1)
    }

    /// Every listener, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(SockAddr, T)> {
        self.buckets.iter().flat_map(|b| b.iter())
    }
}

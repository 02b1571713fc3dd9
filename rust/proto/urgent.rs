// SPDX-License-Identifier: GPL-2.0

//! Urgent data (RFC 9293 3.8.5, RFC 6093), as Linux's TCP keeps it.
//!
//! Sending: `send(MSG_OOB)` marks the end of its bytes as the urgent
//! point (`tcp_mark_urg`: `snd_up = write_seq`); until the peer
//! acknowledges it, every segment that starts before it carries URG and
//! the urgent pointer (`__tcp_transmit_skb`), which Linux points one past
//! the last urgent byte (BSD's reading, `net.ipv4.tcp_stdurg` 0).
//!
//! Receiving: a new urgent pointer (`tcp_check_urg`) names the urgent
//! byte; once it arrives (`tcp_urg`) it is kept aside as the out-of-band
//! byte (`urg_data`) for `recv(MSG_OOB)`, and a reader skips it in the
//! stream unless `SO_OOBINLINE`. Reads stop at the mark
//! (`tcp_recvmsg_locked`), `SIOCATMARK` says the reader is at it, and
//! `POLLPRI` that the byte waits.
//!
//! ```text
//!   None --URG ptr--> NotYet --byte arrives--> Valid(b) --recv(MSG_OOB)--> Read
//!     ^                                           |                         |
//!     +------------- the reader passes the mark --+-------------------------+
//! ```

use super::conn::{Conn, Outcome};
use super::segment::{Flags, Segment};
use super::seq::SeqNum;

/// What the receiver knows of the urgent byte (`tcp_sock::urg_data`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UrgData {
    /// No urgent data (0).
    #[default]
    None,
    /// An urgent pointer came; its byte has not (`TCP_URG_NOTYET`).
    NotYet,
    /// The byte came and waits for `recv(MSG_OOB)` (`TCP_URG_VALID`).
    Valid(u8),
    /// `recv(MSG_OOB)` took it; the mark is still ahead of the reader
    /// (`TCP_URG_READ`).
    Read,
}

/// What `recv(MSG_OOB)` finds ([`Urgent::recv`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OobRecv {
    /// None to read, or it is read inline: `EINVAL`.
    Invalid,
    /// The byte.
    Byte(u8),
    /// Announced, not yet arrived: `EAGAIN` (0 after the peer's FIN).
    NotYet,
}

/// How a read from the receive buffer's head meets the urgent mark
/// ([`Urgent::read_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrgRead {
    /// Bytes at the head that are not data: urgent bytes the reader
    /// skips (the one at the mark without `SO_OOBINLINE`, and older ones
    /// a newer pointer left behind). A read takes them without copying.
    pub drop: u32,
    /// The head is at the mark: a read that copied something stops
    /// before it.
    pub at_mark: bool,
    /// The most data bytes a read may take after `drop` (up to the mark).
    pub limit: u32,
}

/// A connection's urgent data, both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Urgent {
    /// Sending: one past the last urgent byte (`snd_up`) while the peer
    /// has not acknowledged it (Linux's urgent mode, `tcp_urg_mode`).
    pub snd_up: Option<SeqNum>,
    /// Receiving: the state of the urgent byte.
    pub data: UrgData,
    /// Receiving: the urgent byte's sequence number (`urg_seq`).
    pub seq: SeqNum,
    /// Receiving: urgent bytes at the reader's head that a newer urgent
    /// pointer took out of the stream (`tcp_check_urg`'s
    /// `copied_seq++`), for the reader to skip.
    pub skip: u32,
    /// `SO_OOBINLINE` (`SOCK_URGINLINE`): the urgent byte stays in the
    /// stream.
    pub inline: bool,
}

impl Urgent {
    /// `send(MSG_OOB)` queued bytes up to `write_seq` (`tcp_mark_urg`).
    pub fn mark(&mut self, write_seq: SeqNum) {
        self.snd_up = Some(write_seq);
    }

    /// Urgent mode (`tcp_urg_mode`): Nagle lets everything out, GSO
    /// carries one segment a packet (each has its own pointer).
    pub fn sending(&self) -> bool {
        self.snd_up.is_some()
    }

    /// An ACK took `SND.UNA` from `prior` to `una`: past the urgent
    /// point, urgent mode ends (`tcp_clean_rtx_queue`).
    pub fn acked(&mut self, prior: SeqNum, una: SeqNum) {
        if self.snd_up.is_some_and(|up| up.between(prior, una)) {
            self.snd_up = None;
        }
    }

    /// The urgent pointer of a segment from `seq` sent when `SND.NXT` is
    /// `snd_nxt`, if it carries URG (`__tcp_transmit_skb`): the distance
    /// to the urgent point, or 0xFFFF while the point is farther than a
    /// pointer reaches and the segment is not too old for that.
    pub fn pointer(&self, seq: SeqNum, snd_nxt: SeqNum) -> Option<u16> {
        let up = self.snd_up.filter(|up| seq.before(*up))?;
        if up.before(seq.add(0x10000)) {
            u16::try_from(up.diff(seq)).ok()
        } else if seq.add(0xFFFF).after(snd_nxt) {
            Some(0xFFFF)
        } else {
            None
        }
    }

    /// Where the reader is: the head of the receive buffer (`head`) past
    /// the bytes taken out of the stream (`copied_seq`).
    pub fn copied(&self, head: SeqNum) -> SeqNum {
        head.add(self.skip)
    }

    /// `SIOCATMARK`: urgent data is announced and the reader is at it.
    pub fn at_mark(&self, head: SeqNum) -> bool {
        self.data != UrgData::None && self.seq == self.copied(head)
    }

    /// `POLLPRI`: the urgent byte waits for `recv(MSG_OOB)`.
    pub fn pending(&self) -> bool {
        matches!(self.data, UrgData::Valid(_))
    }

    /// A segment from `seq` with the urgent pointer `ptr` (URG set) was
    /// accepted; the reader's head is `head`, everything before
    /// `rcv_nxt` has arrived (`tcp_check_urg`). True when the pointer is
    /// new: the owner gets `SIGURG`.
    pub fn check(&mut self, seq: SeqNum, ptr: u16, head: SeqNum, rcv_nxt: SeqNum) -> bool {
        // The pointer is one past the urgent byte (tcp_stdurg 0).
        let ptr = seq.add(u32::from(ptr).saturating_sub(1));
        let copied = self.copied(head);
        // Urgent data already read, or a pointer into what arrived: none
        // new.
        if copied.after(ptr) || ptr.before(rcv_nxt) {
            return false;
        }
        // An older pointer, or the same again.
        if self.data != UrgData::None && !ptr.after(self.seq) {
            return false;
        }
        // The reader sits at the old urgent byte, which has arrived: it
        // leaves the stream, so that it is not read as data.
        if self.seq == copied && self.data != UrgData::None && !self.inline && copied != rcv_nxt {
            self.skip = self.skip.saturating_add(1);
        }
        self.data = UrgData::NotYet;
        self.seq = ptr;
        true
    }

    /// The offset of the urgent byte in the payload of an accepted
    /// segment from `seq` with `len` bytes, if it waits for it and it is
    /// there (`tcp_urg`): [`Urgent::arrived`] takes it.
    pub fn in_payload(&self, seq: SeqNum, len: u32) -> Option<u32> {
        let off = self.seq.diff(seq);
        (self.data == UrgData::NotYet && off >= 0 && (off as u32) < len).then_some(off as u32)
    }

    /// The urgent byte arrived.
    pub fn arrived(&mut self, byte: u8) {
        if self.data == UrgData::NotYet {
            self.data = UrgData::Valid(byte);
        }
    }

    /// `recv(MSG_OOB)` (`tcp_recv_urg`): the byte, taken unless `peek`.
    pub fn recv(&mut self, peek: bool) -> OobRecv {
        match self.data {
            _ if self.inline => OobRecv::Invalid,
            UrgData::None | UrgData::Read => OobRecv::Invalid,
            UrgData::Valid(b) => {
                if !peek {
                    self.data = UrgData::Read;
                }
                OobRecv::Byte(b)
            }
            UrgData::NotYet => OobRecv::NotYet,
        }
    }

    /// How a read from `head`, with `avail` bytes there, meets the mark.
    pub fn read_at(&self, head: SeqNum, avail: u32) -> UrgRead {
        let mut r = UrgRead { drop: self.skip, at_mark: false, limit: u32::MAX };
        if self.data == UrgData::None {
            return r;
        }
        let copied = self.copied(head);
        let ahead = self.seq.diff(copied);
        if ahead == 0 {
            r.at_mark = true;
            if !self.inline {
                r.drop = r.drop.saturating_add(1);
            }
        } else if ahead > 0 {
            r.limit = ahead as u32;
        }
        // Only what has arrived can be skipped.
        r.drop = r.drop.min(avail);
        r
    }

    /// The reader took `n` bytes from `head` (those to drop first): past
    /// the mark, the urgent data is over.
    pub fn took(&mut self, head: SeqNum, n: u32) {
        let skipped = self.skip.min(n);
        self.skip = self.skip.saturating_sub(skipped);
        let new_head = head.add(n);
        if self.data != UrgData::None && self.copied(new_head).after(self.seq) {
            self.data = UrgData::None;
        }
    }

    /// Readable bytes of `avail` at `head` (`tcp_poll`, `tcp_inq`):
    /// without the urgent bytes to skip.
    pub fn readable(&self, head: SeqNum, avail: u32) -> u32 {
        avail.saturating_sub(self.read_at(head, avail).drop)
    }
}

impl Conn {
    /// The reader's place in the sequence space: the first byte received
    /// and not read (`copied_seq`, less the urgent bytes skipped).
    pub fn read_seq(&self) -> SeqNum {
        let end = if self.data.fin_in { self.rcv_nxt.sub(1) } else { self.rcv_nxt };
        end.sub(self.data.rx_unread)
    }

    /// `send(MSG_OOB)` queued its last byte (`tcp_mark_urg`).
    pub fn mark_urgent(&mut self) {
        self.data.urg.mark(self.data.snd_end);
    }

    /// Step six of an accepted segment, before its text (`tcp_urg`): a
    /// new urgent pointer, and where the urgent byte lies in the payload
    /// if it is there.
    pub(crate) fn urgent_in(&mut self, seg: &Segment, payload_len: u32, out: &mut Outcome) {
        let head = self.read_seq();
        if seg.flags.contains(Flags::URG) {
            out.sigurg = self.data.urg.check(seg.seq, seg.urgent, head, self.rcv_nxt);
        }
        out.urg_at = self.data.urg.in_payload(seg.seq, payload_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SeqNum = SeqNum(1000);

    #[test]
    fn pointer_is_one_past_the_urgent_byte_until_acknowledged() {
        let mut u = Urgent::default();
        assert_eq!(u.pointer(S, S), None);
        u.mark(S.add(100));
        assert!(u.sending());
        assert_eq!(u.pointer(S, S), Some(100));
        assert_eq!(u.pointer(S.add(99), S), Some(1));
        // A segment from the urgent point on carries none.
        assert_eq!(u.pointer(S.add(100), S), None);
        // Far ahead: 0xFFFF while the segment is recent.
        u.mark(S.add(0x20000));
        assert_eq!(u.pointer(S, S), Some(0xFFFF));
        assert_eq!(u.pointer(S, S.add(0x10000)), None);
        u.mark(S.add(100));
        u.acked(S, S.add(50));
        assert!(u.sending());
        u.acked(S.add(50), S.add(150));
        assert!(!u.sending());
        assert_eq!(u.pointer(S, S), None);
    }

    #[test]
    fn urgent_byte_is_kept_aside_and_skipped() {
        let mut u = Urgent::default();
        // 100 bytes with the pointer at 100: the byte at 99.
        assert!(u.check(S, 100, S, S));
        assert_eq!(u.data, UrgData::NotYet);
        assert_eq!(u.seq, S.add(99));
        assert_eq!(u.recv(false), OobRecv::NotYet);
        assert!(!u.pending());
        assert_eq!(u.in_payload(S, 99), None);
        assert_eq!(u.in_payload(S, 100), Some(99));
        u.arrived(b'!');
        assert!(u.pending());
        // A read stops before the mark.
        assert_eq!(u.read_at(S, 100), UrgRead { drop: 0, at_mark: false, limit: 99 });
        assert!(!u.at_mark(S));
        u.took(S, 99);
        assert!(u.at_mark(S.add(99)));
        // At the mark with the byte alone: nothing readable.
        assert_eq!(u.readable(S.add(99), 1), 0);
        assert_eq!(u.recv(true), OobRecv::Byte(b'!'));
        assert_eq!(u.recv(false), OobRecv::Byte(b'!'));
        assert_eq!(u.recv(false), OobRecv::Invalid);
        assert!(u.at_mark(S.add(99)));
        assert_eq!(u.read_at(S.add(99), 1), UrgRead { drop: 1, at_mark: true, limit: u32::MAX });
        u.took(S.add(99), 1);
        assert_eq!(u.data, UrgData::None);
        assert!(!u.at_mark(S.add(100)));
    }

    #[test]
    fn inline_urgent_byte_is_data() {
        let mut u = Urgent { inline: true, ..Urgent::default() };
        assert!(u.check(S, 1, S, S));
        u.arrived(b'x');
        assert_eq!(u.recv(false), OobRecv::Invalid);
        assert!(u.at_mark(S));
        assert_eq!(u.read_at(S, 5), UrgRead { drop: 0, at_mark: true, limit: u32::MAX });
        u.took(S, 5);
        assert_eq!(u.data, UrgData::None);
    }

    #[test]
    fn old_and_repeated_pointers_are_ignored() {
        let mut u = Urgent::default();
        assert!(u.check(S, 10, S, S));
        assert!(!u.check(S, 10, S, S));
        assert!(!u.check(S, 5, S, S));
        // A pointer into what already arrived.
        assert!(!u.check(S, 10, S, S.add(20)));
        // A newer one.
        assert!(u.check(S, 30, S, S));
        assert_eq!(u.seq, S.add(29));
    }

    #[test]
    fn newer_pointer_takes_the_old_byte_out_of_the_stream() {
        let mut u = Urgent::default();
        // "A" with MSG_OOB, then "B" with MSG_OOB, the reader at A.
        assert!(u.check(S, 1, S, S));
        u.arrived(b'A');
        assert!(u.check(S.add(1), 1, S, S.add(1)));
        assert_eq!(u.skip, 1);
        assert_eq!(u.seq, S.add(1));
        u.arrived(b'B');
        assert!(u.at_mark(S));
        assert_eq!(u.recv(false), OobRecv::Byte(b'B'));
        assert_eq!(u.read_at(S, 2), UrgRead { drop: 2, at_mark: true, limit: u32::MAX });
        assert_eq!(u.readable(S, 2), 0);
        u.took(S, 2);
        assert_eq!((u.data, u.skip), (UrgData::None, 0));
    }

    #[test]
    fn no_urgent_data_changes_nothing() {
        let u = Urgent::default();
        assert_eq!(u.read_at(S, 10), UrgRead { drop: 0, at_mark: false, limit: u32::MAX });
        assert!(!u.at_mark(S));
        assert!(!u.pending());
        assert_eq!(u.readable(S, 10), 10);
    }
}

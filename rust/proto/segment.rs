// SPDX-License-Identifier: GPL-2.0

//! TCP segments on the wire (RFC 9293, 3.1): parse and emit.
//!
//! [`Segment::parse`] checks every length before it reads, so no input can
//! make it panic; [`Segment::emit`] writes a header (with options and the
//! checksum over the IPv4 pseudo-header) in front of a payload.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! |                        Sequence Number                        |
//! |                    Acknowledgment Number                      |
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |           Checksum            |         Urgent Pointer        |
//! |                           [Options]                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::addr::Addr;
use super::checksum::pseudo_header;
use super::options::{Options, MAX_OPTION_LEN};
use super::seq::SeqNum;

/// The fixed part of the TCP header.
pub const HEADER_LEN: usize = 20;
/// The largest TCP header: 15 words.
pub const MAX_HEADER_LEN: usize = HEADER_LEN + MAX_OPTION_LEN;

/// The control bits of a segment (the low 8 bits of header byte 13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push.
    pub const PSH: Flags = Flags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// The urgent pointer is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN echo.
    pub const ECE: Flags = Flags(0x40);
    /// Congestion window reduced.
    pub const CWR: Flags = Flags(0x80);

    /// All bits of `f` are set in `self`.
    pub const fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }

    /// Some bit of `f` is set in `self`.
    pub const fn intersects(self, f: Flags) -> bool {
        self.0 & f.0 != 0
    }

    /// `self` with the bits of `f` added.
    #[must_use]
    pub const fn with(self, f: Flags) -> Flags {
        Flags(self.0 | f.0)
    }

    /// `self` without the bits of `f`.
    #[must_use]
    pub const fn without(self, f: Flags) -> Flags {
        Flags(self.0 & !f.0)
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, f: Flags) -> Flags {
        self.with(f)
    }
}

/// Why a segment was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its header says (or than 20 bytes).
    Truncated,
    /// A data offset below 5 words.
    BadOffset,
    /// The checksum does not verify.
    BadChecksum,
}

/// A parsed TCP segment: every header field, the options TCP understands,
/// and the payload's place in the buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (meaningful with [`Flags::ACK`]).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// The three reserved bits and the AE bit (header byte 12, low nibble).
    pub reserved: u8,
    /// Window, unscaled, as on the wire.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// The options TCP understands.
    pub options: Options,
    /// Offset of the payload in the parsed buffer (the header length).
    pub header_len: u8,
}

impl Segment {
    /// Parses the TCP segment `buf` (header and payload, nothing after it).
    /// With `addrs = Some((src, dst))` the checksum is verified over the
    /// pseudo-header of those addresses (IPv4's for v4-mapped ones).
    pub fn parse(buf: &[u8], addrs: Option<(Addr, Addr)>) -> Result<Segment, Error> {
        let Some(&[sp0, sp1, dp0, dp1, s0, s1, s2, s3, a0, a1, a2, a3, off, fl, w0, w1, _, _, u0, u1]) =
            buf.get(..HEADER_LEN)
        else {
            return Err(Error::Truncated);
        };
        let header_len = usize::from(off >> 4) * 4;
        if header_len < HEADER_LEN {
            return Err(Error::BadOffset);
        }
        let Some(opts) = buf.get(HEADER_LEN..header_len) else {
            return Err(Error::Truncated);
        };
        if let Some((src, dst)) = addrs {
            let len = u16::try_from(buf.len()).map_err(|_| Error::Truncated)?;
            if pseudo_header(src, dst, len).add_bytes(buf).finish() != 0 {
                return Err(Error::BadChecksum);
            }
        }
        Ok(Segment {
            src_port: u16::from_be_bytes([sp0, sp1]),
            dst_port: u16::from_be_bytes([dp0, dp1]),
            seq: SeqNum(u32::from_be_bytes([s0, s1, s2, s3])),
            ack: SeqNum(u32::from_be_bytes([a0, a1, a2, a3])),
            flags: Flags(fl),
            reserved: off & 0x0f,
            window: u16::from_be_bytes([w0, w1]),
            urgent: u16::from_be_bytes([u0, u1]),
            options: Options::parse(opts),
            // At most 60: fits.
            header_len: header_len as u8,
        })
    }

    /// The header length [`Segment::emit`] writes for these options.
    pub fn emit_header_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.options.len())
    }

    /// Writes the header into `buf[..emit_header_len()]`, in front of the
    /// `payload_len` bytes of payload already at `buf[emit_header_len()..]`,
    /// and fills in the checksum over the pseudo-header of `src` → `dst`.
    /// Returns the header length, or `None` if `buf` is too short for the
    /// header and payload or the segment is longer than 64 KiB.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize, src: Addr, dst: Addr) -> Option<usize> {
        self.emit_with(buf, payload_len, src, dst, false)
    }

    /// As [`Segment::emit`], but the checksum field holds only the
    /// pseudo-header's sum, for the device (or the stack, segmenting) to
    /// complete over the header and payload (`__tcp_v4_send_check`). The
    /// payload need not be in `buf` yet; only the header is written.
    pub fn emit_partial(&self, buf: &mut [u8], payload_len: usize, src: Addr, dst: Addr) -> Option<usize> {
        self.emit_with(buf, payload_len, src, dst, true)
    }

    fn emit_with(&self, buf: &mut [u8], payload_len: usize, src: Addr, dst: Addr, partial: bool) -> Option<usize> {
        let hlen = self.emit_header_len();
        let total = hlen.checked_add(payload_len)?;
        let tcp_len = u16::try_from(total).ok()?;
        let seg = buf.get_mut(..if partial { hlen } else { total })?;
        let (hdr, _) = seg.split_at_mut_checked(hlen)?;
        let (fixed, opts) = hdr.split_at_mut_checked(HEADER_LEN)?;
        let mut w = [0u8; HEADER_LEN];
        let [sp0, sp1] = self.src_port.to_be_bytes();
        let [dp0, dp1] = self.dst_port.to_be_bytes();
        let [s0, s1, s2, s3] = self.seq.0.to_be_bytes();
        let [a0, a1, a2, a3] = self.ack.0.to_be_bytes();
        let [w0, w1] = self.window.to_be_bytes();
        let [u0, u1] = self.urgent.to_be_bytes();
        // hlen <= 60, so hlen / 4 fits in the high nibble.
        let off = ((hlen / 4) as u8) << 4 | (self.reserved & 0x0f);
        w.copy_from_slice(&[
            sp0, sp1, dp0, dp1, s0, s1, s2, s3, a0, a1, a2, a3, off, self.flags.0, w0, w1, 0, 0, u0,
            u1,
        ]);
        fixed.copy_from_slice(&w);
        self.options.emit(opts);
        let pseudo = pseudo_header(src, dst, tcp_len);
        let csum = if partial { pseudo.fold() } else { pseudo.add_bytes(seg).finish() };
        seg.get_mut(16..18)?.copy_from_slice(&csum.to_be_bytes());
        Some(hlen)
    }

    /// The sequence space the segment occupies: its payload plus one for
    /// each of SYN and FIN (RFC 9293, 3.4).
    pub fn seq_len(&self, payload_len: u32) -> u32 {
        let mut n = payload_len;
        if self.flags.contains(Flags::SYN) {
            n = n.wrapping_add(1);
        }
        if self.flags.contains(Flags::FIN) {
            n = n.wrapping_add(1);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::tests::arb_options;
    use proptest::prelude::*;

    const SRC: Addr = Addr::v4(0x0a00_0001);
    const DST: Addr = Addr::v4(0x0a00_0002);

    /// A SYN laid out as Linux's TCP writes one (10.0.0.1:41518 to
    /// 10.0.0.2:80): MSS 1460, SACK-permitted, timestamps, window scale 7;
    /// the checksum is filled in by the test.
    const LINUX_SYN: [u8; 40] = [
        0xa2, 0x2e, 0x00, 0x50, 0x6f, 0x47, 0x1d, 0x15, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x14, 0x99, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x9d, 0x4c,
        0x7e, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    fn fill_checksum(raw: &mut [u8]) {
        raw[16] = 0;
        raw[17] = 0;
        let len = raw.len() as u16;
        let c = pseudo_header(SRC, DST, len).add_bytes(raw).finish();
        raw[16..18].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn parses_a_linux_syn() {
        let mut raw = LINUX_SYN;
        fill_checksum(&mut raw);
        let s = Segment::parse(&raw, Some((SRC, DST))).unwrap();
        assert_eq!(s.src_port, 41518);
        assert_eq!(s.dst_port, 80);
        assert_eq!(s.seq, SeqNum(0x6f47_1d15));
        assert_eq!(s.flags, Flags::SYN);
        assert_eq!(s.window, 64240);
        assert_eq!(s.header_len, 40);
        assert_eq!(s.options.mss, Some(1460));
        assert_eq!(s.options.wscale, Some(7));
        assert!(s.options.sack_permitted);
        assert_eq!(s.options.timestamp, Some((0x9d4c_7e0b, 0)));
        assert_eq!(s.seq_len(0), 1);
        // And RTCP writes the same bytes back.
        let mut out = [0u8; 40];
        assert_eq!(s.emit(&mut out, 0, SRC, DST), Some(40));
        assert_eq!(out, raw);
    }

    #[test]
    fn rejects_bad_checksum() {
        let mut raw = LINUX_SYN;
        fill_checksum(&mut raw);
        raw[4] ^= 1;
        assert_eq!(Segment::parse(&raw, Some((SRC, DST))), Err(Error::BadChecksum));
        // Without addresses the checksum is not looked at.
        assert!(Segment::parse(&raw, None).is_ok());
    }

    #[test]
    fn rejects_short_and_bad_offsets() {
        assert_eq!(Segment::parse(&LINUX_SYN[..19], None), Err(Error::Truncated));
        assert_eq!(Segment::parse(&LINUX_SYN[..39], None), Err(Error::Truncated));
        let mut raw = LINUX_SYN;
        raw[12] = 0x40;
        assert_eq!(Segment::parse(&raw, None), Err(Error::BadOffset));
        raw[12] = 0xf0;
        assert_eq!(Segment::parse(&raw, None), Err(Error::Truncated));
    }

    #[test]
    fn payload_is_covered_by_the_checksum() {
        let s = Segment { flags: Flags::ACK | Flags::PSH, header_len: 20, ..Segment::default() };
        let mut buf = [0u8; 25];
        buf[20..].copy_from_slice(b"hello");
        assert_eq!(s.emit(&mut buf, 5, SRC, DST), Some(20));
        assert_eq!(Segment::parse(&buf, Some((SRC, DST))), Ok(s));
        buf[24] ^= 0x20;
        assert_eq!(Segment::parse(&buf, Some((SRC, DST))), Err(Error::BadChecksum));
        assert_eq!(s.seq_len(5), 5);
    }

    #[test]
    fn ipv6_segments_are_summed_over_the_ipv6_pseudo_header() {
        let v6 = |last| Addr([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
        let s = Segment { flags: Flags::ACK | Flags::PSH, header_len: 20, ..Segment::default() };
        let mut buf = [0u8; 25];
        buf[20..].copy_from_slice(b"hello");
        assert_eq!(s.emit(&mut buf, 5, v6(1), v6(2)), Some(20));
        assert_eq!(Segment::parse(&buf, Some((v6(1), v6(2)))), Ok(s));
        assert_eq!(Segment::parse(&buf, Some((v6(1), v6(3)))), Err(Error::BadChecksum));
        assert_eq!(Segment::parse(&buf, Some((SRC, DST))), Err(Error::BadChecksum));
    }

    #[test]
    fn emit_refuses_short_buffers() {
        let s = Segment { options: Options { mss: Some(1), ..Options::default() }, ..Segment::default() };
        assert_eq!(s.emit(&mut [0u8; 23], 0, SRC, DST), None);
        assert_eq!(s.emit(&mut [0u8; 30], 7, SRC, DST), None);
        let mut big = vec![0u8; 70_000];
        assert_eq!(s.emit(&mut big, 65_600, SRC, DST), None);
    }

    fn arb_segment() -> impl Strategy<Value = Segment> {
        (any::<[u16; 4]>(), any::<[u32; 2]>(), any::<u8>(), 0u8..16, arb_options()).prop_map(
            |([src_port, dst_port, window, urgent], [seq, ack], flags, reserved, options)| {
                let mut s = Segment {
                    src_port,
                    dst_port,
                    seq: SeqNum(seq),
                    ack: SeqNum(ack),
                    flags: Flags(flags),
                    reserved,
                    window,
                    urgent,
                    options,
                    header_len: 0,
                };
                s.header_len = s.emit_header_len() as u8;
                s
            },
        )
    }

    proptest! {
        /// parse(emit(x)) == x, with the payload where the header says.
        #[test]
        fn parse_emit_roundtrip(s in arb_segment(),
                                payload in proptest::collection::vec(any::<u8>(), 0..100),
                                src: u32, dst: u32) {
            let (src, dst) = (Addr::v4(src), Addr::v4(dst));
            let hlen = s.emit_header_len();
            let mut buf = vec![0u8; hlen + payload.len()];
            buf[hlen..].copy_from_slice(&payload);
            prop_assert_eq!(s.emit(&mut buf, payload.len(), src, dst), Some(hlen));
            let p = Segment::parse(&buf, Some((src, dst)));
            prop_assert_eq!(p, Ok(s));
            prop_assert_eq!(&buf[usize::from(s.header_len)..], &payload[..]);
        }

        /// A partial checksum completed as a device does (the sum of the
        /// header and payload from the checksum field's pseudo-header sum)
        /// is the checksum `emit` writes.
        #[test]
        fn a_completed_partial_checksum_is_the_full_one(s in arb_segment(),
                                payload in proptest::collection::vec(any::<u8>(), 0..100),
                                src: u32, dst: u32) {
            let (src, dst) = (Addr::v4(src), Addr::v4(dst));
            let hlen = s.emit_header_len();
            let mut full = vec![0u8; hlen + payload.len()];
            full[hlen..].copy_from_slice(&payload);
            let mut partial = full.clone();
            prop_assert_eq!(s.emit(&mut full, payload.len(), src, dst), Some(hlen));
            prop_assert_eq!(s.emit_partial(&mut partial[..hlen], payload.len(), src, dst), Some(hlen));
            prop_assert_eq!(&partial[..16], &full[..16]);
            let done = crate::checksum::Sum::default().add_bytes(&partial).finish();
            partial[16..18].copy_from_slice(&done.to_be_bytes());
            prop_assert_eq!(partial, full);
        }

        /// No input panics, and whatever parses has a header inside the buffer.
        #[test]
        fn parse_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..80),
                              src: u32, dst: u32) {
            let (src, dst) = (Addr::v4(src), Addr::v4(dst));
            for addrs in [None, Some((src, dst))] {
                if let Ok(s) = Segment::parse(&raw, addrs) {
                    prop_assert!(usize::from(s.header_len) <= raw.len());
                    prop_assert!(s.header_len >= 20);
                }
            }
        }
    }
}

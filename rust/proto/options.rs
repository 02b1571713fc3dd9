// SPDX-License-Identifier: GPL-2.0

//! TCP options (RFC 9293 3.1, RFC 7323, RFC 2018): parse and emit.
//!
//! Parsing follows `tcp_parse_options()` in `net/ipv4/tcp_input.c`, so that
//! RTCP reads a segment the way Linux's TCP would: an option of a known kind
//! but a wrong length is ignored, unknown kinds are skipped by their length,
//! and a "silly" length (below 2, or past the end) ends the parse, keeping
//! what was read before it.
//!
//! Emitting follows `tcp_options_write()`: every option is 32-bit aligned
//! with NOPs, in Linux's order, so captures of RTCP and of Linux look alike.

/// End of option list.
pub const TCPOPT_EOL: u8 = 0;
/// No-operation (padding).
pub const TCPOPT_NOP: u8 = 1;
/// Maximum segment size.
pub const TCPOPT_MSS: u8 = 2;
/// Window scale.
pub const TCPOPT_WINDOW: u8 = 3;
/// SACK permitted.
pub const TCPOPT_SACK_PERM: u8 = 4;
/// SACK blocks.
pub const TCPOPT_SACK: u8 = 5;
/// Timestamps.
pub const TCPOPT_TIMESTAMP: u8 = 8;
/// TCP Fast Open cookie (RFC 7413).
pub const TCPOPT_FASTOPEN: u8 = 34;
/// The experimental option kind, which carried Fast Open before kind 34
/// (`TCPOPT_EXP` with `TCPOPT_FASTOPEN_MAGIC`).
pub const TCPOPT_EXP: u8 = 254;
/// The magic of an experimental Fast Open option.
pub const TCPOPT_FASTOPEN_MAGIC: u16 = 0xF989;
/// The shortest and longest Fast Open cookies (`TCP_FASTOPEN_COOKIE_MIN`,
/// `_MAX`).
pub const FASTOPEN_COOKIE_MIN: usize = 4;
/// See [`FASTOPEN_COOKIE_MIN`].
pub const FASTOPEN_COOKIE_MAX: usize = 16;

/// The largest shift a window scale option may ask for (RFC 7323, 2.3).
pub const TCP_MAX_WSCALE: u8 = 14;
/// The timestamp option's room in every segment, padded (`TCPOLEN_TSTAMP_ALIGNED`).
pub const TCPOLEN_TSTAMP_ALIGNED: u32 = 12;
/// The most SACK blocks that fit in a header.
pub const TCP_NUM_SACKS: usize = 4;
/// The most bytes of options a header can carry.
pub const MAX_OPTION_LEN: usize = 40;

/// One SACK block: `[left, right)` in sequence space, as on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SackBlock {
    /// The first sequence number of the block.
    pub left: u32,
    /// The sequence number just after the block.
    pub right: u32,
}

/// A Fast Open option (RFC 7413 4.1.1): a cookie, or none (a request for
/// one), as `struct tcp_fastopen_cookie` with a length of 0 or more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FastOpen {
    /// The cookie's bytes: the first `len`.
    pub val: [u8; FASTOPEN_COOKIE_MAX],
    /// 0 (a request) or 4 to 16, even.
    pub len: u8,
    /// Carried in the experimental option (kind 254, magic 0xF989).
    pub exp: bool,
}

impl FastOpen {
    /// The cookie's bytes.
    pub fn cookie(&self) -> &[u8] {
        self.val.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// A cookie of `bytes` (at most 16 are taken), in kind 34.
    pub fn new(bytes: &[u8]) -> FastOpen {
        let mut f = FastOpen::default();
        for (d, s) in f.val.iter_mut().zip(bytes) {
            *d = *s;
            f.len = f.len.wrapping_add(1);
        }
        f
    }

    /// Its room in a header, padded to 32 bits.
    fn room(&self) -> usize {
        let base: usize = if self.exp { 4 } else { 2 };
        (base.saturating_add(usize::from(self.len)).saturating_add(3)) & !3
    }

    /// `tcp_parse_fastopen_option`: a cookie of an even length within
    /// bounds, or a request (no cookie); an odd length is ignored, any
    /// other length leaves no cookie.
    fn parse(cookie: &[u8], exp: bool, into: &mut Option<FastOpen>) {
        let len = cookie.len();
        if len % 2 == 1 {
            return;
        }
        *into = if len == 0 || (FASTOPEN_COOKIE_MIN..=FASTOPEN_COOKIE_MAX).contains(&len) {
            Some(FastOpen { exp, ..FastOpen::new(cookie) })
        } else {
            None
        };
    }
}

/// The options of one segment that TCP understands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Maximum segment size (SYN only).
    pub mss: Option<u16>,
    /// Window scale shift as sent, before clamping to [`TCP_MAX_WSCALE`]
    /// (SYN only; a receiver clamps, RFC 7323 2.3).
    pub wscale: Option<u8>,
    /// SACK permitted (SYN only).
    pub sack_permitted: bool,
    /// Timestamps: `(TSval, TSecr)`.
    pub timestamp: Option<(u32, u32)>,
    /// SACK blocks; the first `sack_len` are valid.
    pub sack: [SackBlock; TCP_NUM_SACKS],
    /// How many of `sack` are present.
    pub sack_len: u8,
    /// TCP Fast Open (SYN and SYN-ACK only; read only there).
    pub fastopen: Option<FastOpen>,
}

impl Options {
    /// The valid SACK blocks.
    pub fn sack_blocks(&self) -> &[SackBlock] {
        let n = usize::from(self.sack_len).min(TCP_NUM_SACKS);
        self.sack.get(..n).unwrap_or(&[])
    }

    /// Parses the option bytes of a header (everything after the fixed 20
    /// bytes, up to the data offset). Never fails: see the module docs.
    pub fn parse(mut opts: &[u8]) -> Options {
        let mut o = Options::default();
        while let Some((&kind, rest)) = opts.split_first() {
            match kind {
                TCPOPT_EOL => break,
                TCPOPT_NOP => {
                    opts = rest;
                    continue;
                }
                _ => {}
            }
            let Some(&size) = rest.first() else { break };
            let size = usize::from(size);
            // "Silly options" (length below 2, where `2..size` is empty of
            // meaning) and partial options end the parse.
            let Some(body) = opts.get(2..size) else { break };
            match (kind, body) {
                (TCPOPT_MSS, &[a, b]) => o.mss = Some(u16::from_be_bytes([a, b])),
                (TCPOPT_WINDOW, &[s]) => o.wscale = Some(s),
                (TCPOPT_SACK_PERM, &[]) => o.sack_permitted = true,
                (TCPOPT_TIMESTAMP, &[a, b, c, d, e, f, g, h]) => {
                    o.timestamp = Some((
                        u32::from_be_bytes([a, b, c, d]),
                        u32::from_be_bytes([e, f, g, h]),
                    ));
                }
                (TCPOPT_SACK, body) if !body.is_empty() && body.len() % 8 == 0 => {
                    // A later SACK option replaces an earlier one whole.
                    o.sack = [SackBlock::default(); TCP_NUM_SACKS];
                    o.sack_len = 0;
                    // (`split_first_chunk` rather than `chunks_exact`, whose
                    // zip objtool cannot follow in an optimised build.)
                    let mut rest = body;
                    for slot in o.sack.iter_mut() {
                        let Some((&[a0, a1, a2, a3, b0, b1, b2, b3], tail)) = rest.split_first_chunk::<8>() else {
                            break;
                        };
                        *slot = SackBlock {
                            left: u32::from_be_bytes([a0, a1, a2, a3]),
                            right: u32::from_be_bytes([b0, b1, b2, b3]),
                        };
                        o.sack_len = o.sack_len.wrapping_add(1);
                        rest = tail;
                    }
                }
                (TCPOPT_FASTOPEN, cookie) => FastOpen::parse(cookie, false, &mut o.fastopen),
                (TCPOPT_EXP, &[m0, m1, ref cookie @ ..]) if u16::from_be_bytes([m0, m1]) == TCPOPT_FASTOPEN_MAGIC => {
                    FastOpen::parse(cookie, true, &mut o.fastopen);
                }
                // A known kind with the wrong length, or an unknown kind:
                // skipped.
                _ => {}
            }
            opts = opts.get(size..).unwrap_or(&[]);
        }
        o
    }

    /// How many bytes [`Options::emit`] writes: a multiple of 4, at most
    /// [`MAX_OPTION_LEN`].
    pub fn len(&self) -> usize {
        let mss: usize = if self.mss.is_some() { 4 } else { 0 };
        // SACK-permitted rides in the two NOPs before the timestamp when
        // both are present, as Linux writes it.
        let ts_sack_perm = match (self.timestamp.is_some(), self.sack_permitted) {
            (true, _) => 12,
            (false, true) => 4,
            (false, false) => 0,
        };
        let wscale = if self.wscale.is_some() { 4 } else { 0 };
        let fixed = mss.saturating_add(ts_sack_perm).saturating_add(wscale);
        let sacks = self.sack_blocks().len(); // at most 4
        let room = MAX_OPTION_LEN.saturating_sub(fixed).saturating_sub(4) / 8;
        let with_sacks = match sacks.min(room) {
            0 => fixed,
            n => fixed.saturating_add(4).saturating_add(n.saturating_mul(8)),
        };
        with_sacks.saturating_add(self.fastopen_room(with_sacks))
    }

    /// The Fast Open option's room after `used` bytes: none if it does
    /// not fit (`tcp_syn_options` leaves it out then).
    fn fastopen_room(&self, used: usize) -> usize {
        match self.fastopen {
            Some(f) if used.saturating_add(f.room()) <= MAX_OPTION_LEN => f.room(),
            _ => 0,
        }
    }

    /// True when no option would be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the options into `buf`, which must hold [`Options::len`]
    /// bytes; returns the bytes written. Options that do not fit in the 40
    /// bytes a header allows are left out, SACK blocks last.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let mut w = Writer { buf, at: 0 };
        if let Some(mss) = self.mss {
            let [a, b] = mss.to_be_bytes();
            w.put(&[TCPOPT_MSS, 4, a, b]);
        }
        match (self.timestamp, self.sack_permitted) {
            (Some((val, ecr)), sack_perm) => {
                let head = if sack_perm {
                    [TCPOPT_SACK_PERM, 2]
                } else {
                    [TCPOPT_NOP, TCPOPT_NOP]
                };
                let [v0, v1, v2, v3] = val.to_be_bytes();
                let [e0, e1, e2, e3] = ecr.to_be_bytes();
                w.put(&[head[0], head[1], TCPOPT_TIMESTAMP, 10, v0, v1, v2, v3, e0, e1, e2, e3]);
            }
            (None, true) => w.put(&[TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERM, 2]),
            (None, false) => {}
        }
        if let Some(ws) = self.wscale {
            w.put(&[TCPOPT_NOP, TCPOPT_WINDOW, 3, ws]);
        }
        let sacks = self.sack_blocks();
        // Only as many blocks as fit in what is left of the 40 bytes.
        let room = MAX_OPTION_LEN.saturating_sub(w.at).saturating_sub(4) / 8;
        let sacks = sacks.get(..sacks.len().min(room)).unwrap_or(&[]);
        if !sacks.is_empty() {
            // 2 + 8 * 4 = 34 at most: fits in a u8.
            let len = sacks.len().saturating_mul(8).saturating_add(2) as u8;
            w.put(&[TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, len]);
            for s in sacks {
                let [l0, l1, l2, l3] = s.left.to_be_bytes();
                let [r0, r1, r2, r3] = s.right.to_be_bytes();
                w.put(&[l0, l1, l2, l3, r0, r1, r2, r3]);
            }
        }
        // Fast Open last, its cookie padded with NOPs (`tcp_options_write`).
        if let Some(f) = self.fastopen.filter(|_| self.fastopen_room(w.at) > 0) {
            let mut opt = [TCPOPT_NOP; 4 + FASTOPEN_COOKIE_MAX];
            let head: &[u8] = if f.exp {
                let [m0, m1] = TCPOPT_FASTOPEN_MAGIC.to_be_bytes();
                &[TCPOPT_EXP, f.len.wrapping_add(4), m0, m1]
            } else {
                &[TCPOPT_FASTOPEN, f.len.wrapping_add(2)]
            };
            for (d, s) in opt.iter_mut().zip(head.iter().chain(f.cookie())) {
                *d = *s;
            }
            w.put(opt.get(..f.room()).unwrap_or(&[]));
        }
        w.at
    }
}

/// Appends whole options to a buffer; an option that does not fit is left
/// out entirely.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at.saturating_add(bytes.len());
        if end > MAX_OPTION_LEN {
            return;
        }
        // The length compared again, so that no panic path is left in the
        // code (the range's length is the same, but saturating_add hides
        // it from the compiler).
        if let Some(dst) = self.buf.get_mut(self.at..end).filter(|d| d.len() == bytes.len()) {
            dst.copy_from_slice(bytes);
            self.at = end;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn emit(o: &Options) -> Vec<u8> {
        let mut buf = [0u8; MAX_OPTION_LEN];
        let n = o.emit(&mut buf);
        assert_eq!(n, o.len());
        buf[..n].to_vec()
    }

    #[test]
    fn linux_syn_layout() {
        // The options of a SYN as tcp_options_write() lays them out: MSS
        // 1460, SACK-permitted and timestamps together, NOP + window scale.
        let o = Options {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            timestamp: Some((0x0102_0304, 0)),
            ..Options::default()
        };
        let want = [
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        assert_eq!(emit(&o), want);
        assert_eq!(Options::parse(&want), o);
    }

    #[test]
    fn sack_permitted_without_timestamps() {
        let o = Options { sack_permitted: true, ..Options::default() };
        assert_eq!(emit(&o), [1, 1, 4, 2]);
    }

    #[test]
    fn timestamps_without_sack_permitted() {
        let o = Options { timestamp: Some((5, 6)), ..Options::default() };
        assert_eq!(emit(&o), [1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6]);
    }

    #[test]
    fn unknown_options_are_skipped() {
        // kind 30 (MPTCP) with 6 bytes, then MSS.
        let raw = [30, 6, 0xaa, 0xbb, 0xcc, 0xdd, 2, 4, 0x02, 0x18];
        assert_eq!(Options::parse(&raw).mss, Some(536));
    }

    #[test]
    fn known_kind_with_wrong_length_is_ignored() {
        let raw = [2, 5, 0x05, 0xb4, 0x00, 3, 3, 9];
        let o = Options::parse(&raw);
        assert_eq!(o.mss, None);
        assert_eq!(o.wscale, Some(9));
    }

    #[test]
    fn silly_length_ends_the_parse() {
        let o = Options::parse(&[3, 3, 2, 4, 1, 0]);
        assert_eq!(o.wscale, Some(2));
        assert!(!Options::parse(&[3, 3, 2, 2, 1, 2, 4, 2]).sack_permitted);
        assert_eq!(Options::parse(&[3, 3, 2, 8, 1, 4, 2]).wscale, Some(2));
        assert_eq!(Options::parse(&[2, 0, 1, 1]), Options::default());
        assert_eq!(Options::parse(&[2]), Options::default());
    }

    #[test]
    fn eol_ends_the_parse() {
        assert_eq!(Options::parse(&[0, 2, 4, 5, 0xb4]), Options::default());
    }

    #[test]
    fn sack_blocks() {
        let raw = [1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10];
        let o = Options::parse(&raw);
        assert_eq!(
            o.sack_blocks(),
            &[SackBlock { left: 1, right: 9 }, SackBlock { left: 0xffff_fff0, right: 0x10 }]
        );
        assert_eq!(emit(&o), raw);
        // A block count that is not whole is ignored.
        assert_eq!(Options::parse(&[5, 6, 0, 0, 0, 1]).sack_len, 0);
    }

    #[test]
    fn a_second_sack_option_replaces_the_first() {
        // Found by the fuzzer: two blocks, then one.
        let raw = [5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 5, 10, 0, 0, 0, 7, 0, 0, 0, 8];
        let o = Options::parse(&raw);
        assert_eq!(o.sack_blocks(), &[SackBlock { left: 7, right: 8 }]);
        assert_eq!(o, Options::parse(&emit(&o)));
    }

    #[test]
    fn too_many_options_drop_sack_blocks_that_do_not_fit() {
        let o = Options {
            timestamp: Some((1, 2)),
            sack: [SackBlock { left: 1, right: 2 }; 4],
            sack_len: 4,
            ..Options::default()
        };
        // 12 bytes of timestamps leave room for 3 blocks (4 + 24).
        let raw = emit(&o);
        assert_eq!(raw.len(), 40);
        assert_eq!(Options::parse(&raw).sack_blocks().len(), 3);
    }

    #[test]
    fn fastopen_cookies_as_linux_lays_them_out() {
        // packetdrill's `<mss 1460,sackOK,nop,nop,FO 3021b9d889017eeb,nop,nop>`
        // as tcp_options_write() writes a SYN-ACK's cookie: after the others,
        // padded with two NOPs.
        let cookie = [0x30, 0x21, 0xb9, 0xd8, 0x89, 0x01, 0x7e, 0xeb];
        let o = Options { mss: Some(1460), sack_permitted: true, fastopen: Some(FastOpen::new(&cookie)), ..Options::default() };
        let raw = emit(&o);
        assert_eq!(raw, [2, 4, 5, 0xb4, 1, 1, 4, 2, 34, 10, 0x30, 0x21, 0xb9, 0xd8, 0x89, 0x01, 0x7e, 0xeb, 1, 1]);
        assert_eq!(Options::parse(&raw), o);
        // A request: the option without a cookie.
        let req = Options { fastopen: Some(FastOpen::default()), ..Options::default() };
        assert_eq!(emit(&req), [34, 2, 1, 1]);
        // The experimental kind.
        let exp = Options { fastopen: Some(FastOpen { exp: true, ..FastOpen::new(&cookie) }), ..Options::default() };
        let raw = emit(&exp);
        assert_eq!(raw[..4], [254, 12, 0xf9, 0x89]);
        assert_eq!(Options::parse(&raw), exp);
    }

    #[test]
    fn fastopen_lengths_as_tcp_parse_fastopen_option() {
        // Odd: ignored, an earlier cookie stays.
        assert_eq!(Options::parse(&[34, 6, 1, 2, 3, 4, 34, 5, 1, 2, 3]).fastopen.map(|f| f.len), Some(4));
        // Even but 2 or past 16: no cookie.
        assert_eq!(Options::parse(&[34, 4, 1, 2]).fastopen, None);
        assert_eq!(Options::parse(&[34, 6, 1, 2, 3, 4, 34, 4, 1, 2]).fastopen, None);
        // Another magic under kind 254 is not Fast Open.
        assert_eq!(Options::parse(&[254, 4, 0x12, 0x34]).fastopen, None);
    }

    #[test]
    fn a_fastopen_cookie_that_does_not_fit_is_left_out() {
        let o = Options {
            timestamp: Some((1, 0)),
            sack: [SackBlock { left: 1, right: 2 }; 4],
            sack_len: 1,
            fastopen: Some(FastOpen::new(&[7; 8])),
            ..Options::default()
        };
        // 24 bytes of others leave 16: an 8-byte cookie needs 12, one of
        // 16 needs 20.
        assert_eq!(emit(&o).len(), 36);
        let o = Options { fastopen: Some(FastOpen::new(&[7; 16])), ..o };
        assert_eq!(emit(&o).len(), 24);
    }

    pub(crate) fn arb_options() -> impl Strategy<Value = Options> {
        (
            any::<Option<u16>>(),
            any::<Option<u8>>(),
            any::<bool>(),
            any::<Option<(u32, u32)>>(),
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=4),
        )
            .prop_map(|(mss, wscale, sack_permitted, timestamp, blocks)| {
                let mut o = Options { mss, wscale, sack_permitted, timestamp, ..Options::default() };
                for (slot, (left, right)) in o.sack.iter_mut().zip(&blocks) {
                    *slot = SackBlock { left: *left, right: *right };
                }
                o.sack_len = blocks.len() as u8;
                o
            })
            .prop_filter("fits in 40 bytes", |o| {
                let mut buf = [0u8; MAX_OPTION_LEN];
                let n = o.emit(&mut buf);
                usize::from(o.sack_len) == Options::parse(&buf[..n]).sack_blocks().len()
            })
    }

    proptest! {
        #[test]
        fn parse_emit_roundtrip(o in arb_options()) {
            let raw = emit(&o);
            prop_assert_eq!(raw.len() % 4, 0);
            prop_assert_eq!(Options::parse(&raw), o);
        }

        #[test]
        fn parse_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            let o = Options::parse(&raw);
            prop_assert!(o.sack_blocks().len() <= TCP_NUM_SACKS);
        }
    }
}

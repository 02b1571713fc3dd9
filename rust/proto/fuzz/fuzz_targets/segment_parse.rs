// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the TCP segment parser: no input may panic, whatever parses has
//! its header inside the buffer, and re-emitting what parsed gives a
//! segment that parses to the same thing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::addr::Addr;
use proto::segment::Segment;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the family, the next 8 (IPv4) or 32 (IPv6)
    // bytes the pseudo-header addresses, IPv4's v4-mapped.
    let (addrs, seg) = match data.split_first() {
        Some((&f, rest)) if f & 1 == 0 => match rest.split_first_chunk::<8>() {
            Some((a, rest)) => {
                let src = Addr::v4(u32::from_be_bytes([a[0], a[1], a[2], a[3]]));
                let dst = Addr::v4(u32::from_be_bytes([a[4], a[5], a[6], a[7]]));
                (Some((src, dst)), rest)
            }
            None => (None, rest),
        },
        Some((_, rest)) => match rest.split_first_chunk::<32>() {
            Some((a, rest)) => {
                let src = Addr(a[..16].try_into().unwrap());
                let dst = Addr(a[16..].try_into().unwrap());
                (Some((src, dst)), rest)
            }
            None => (None, rest),
        },
        None => (None, data),
    };
    for addrs in [None, addrs] {
        let Ok(s) = Segment::parse(seg, addrs) else { continue };
        let hlen = usize::from(s.header_len);
        assert!(hlen >= 20 && hlen <= seg.len());
        let payload = &seg[hlen..];
        // Emitting writes Linux's option layout, which need not be the
        // input's; what it writes must parse back to the same segment.
        let mut out = vec![0u8; s.emit_header_len() + payload.len()];
        let at = s.emit_header_len();
        out[at..].copy_from_slice(payload);
        let (src, dst) = addrs.unwrap_or((Addr::V4_ANY, Addr::V4_ANY));
        if s.emit(&mut out, payload.len(), src, dst).is_some() {
            let again = Segment::parse(&out, Some((src, dst))).expect("emitted segment parses");
            // Linux's aligned layout may have no room for every SACK block
            // a packed input carried: the ones that fit are kept, in order,
            // and blocks are dropped only when one more would not fit.
            let kept = again.options.sack_len;
            assert!(kept <= s.options.sack_len);
            if kept < s.options.sack_len {
                assert!(usize::from(again.header_len) + 8 > 60);
            }
            let mut want = s;
            want.header_len = again.header_len;
            want.options.sack_len = kept;
            for b in want.options.sack.iter_mut().skip(usize::from(kept)) {
                *b = Default::default();
            }
            assert_eq!(again, want);
        }
    }
});

// SPDX-License-Identifier: GPL-2.0

//! The counters a segment moves, named as Linux's TCP names them in
//! `/proc/net/snmp` and `/proc/net/netstat` (`include/uapi/linux/snmp.h`,
//! `net/ipv4/proc.c`): the core says which, the glue adds them up in
//! `/proc/net/rtcp_stat`.

/// A set of counters, one bit each, in the order of [`Mib::NAMES`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mib(u16);

impl Mib {
    /// `TCP_MIB_INERRS`: a segment refused as bad (a data offset below 5,
    /// a bad checksum, a SYN on an established connection).
    pub const IN_ERRS: Mib = Mib(1 << 0);
    /// `TCP_MIB_CSUMERRORS`.
    pub const IN_CSUM_ERRORS: Mib = Mib(1 << 1);
    /// `LINUX_MIB_TCPSYNCHALLENGE`: a SYN on a synchronized connection.
    pub const SYN_CHALLENGE: Mib = Mib(1 << 2);
    /// `LINUX_MIB_TCPCHALLENGEACK`: an RFC 5961 challenge ACK sent.
    pub const CHALLENGE_ACK: Mib = Mib(1 << 3);
    /// `LINUX_MIB_TCPACKSKIPPEDCHALLENGE`: one not sent, rate-limited.
    pub const ACK_SKIPPED_CHALLENGE: Mib = Mib(1 << 4);
    /// `LINUX_MIB_PAWSESTABREJECTED`: a timestamp older than TS.Recent.
    pub const PAWS_ESTAB: Mib = Mib(1 << 5);
    /// `LINUX_MIB_TCPACKSKIPPEDPAWS`: its duplicate ACK rate-limited.
    pub const ACK_SKIPPED_PAWS: Mib = Mib(1 << 6);
    /// `LINUX_MIB_BEYOND_WINDOW`: a segment past the receive window.
    pub const BEYOND_WINDOW: Mib = Mib(1 << 7);
    /// `LINUX_MIB_TCPACKSKIPPEDSEQ`: the duplicate ACK of a segment out
    /// of the window, rate-limited.
    pub const ACK_SKIPPED_SEQ: Mib = Mib(1 << 8);
    /// `LINUX_MIB_TCPRCVQDROP`: a segment dropped, the receive buffer
    /// having no memory for it (`tcp_try_rmem_schedule` failed).
    pub const RCVQ_DROP: Mib = Mib(1 << 9);
    /// `LINUX_MIB_TCPOFODROP`: an out-of-order segment dropped, the
    /// out-of-order queue having no room for it.
    pub const OFO_DROP: Mib = Mib(1 << 10);

    /// Each counter's bit and name, as `/proc/net/snmp` or
    /// `/proc/net/netstat` names it.
    pub const NAMES: [(Mib, &'static str); 11] = [
        (Mib::IN_ERRS, "InErrs"),
        (Mib::IN_CSUM_ERRORS, "InCsumErrors"),
        (Mib::SYN_CHALLENGE, "TCPSYNChallenge"),
        (Mib::CHALLENGE_ACK, "TCPChallengeACK"),
        (Mib::ACK_SKIPPED_CHALLENGE, "TCPACKSkippedChallenge"),
        (Mib::PAWS_ESTAB, "PAWSEstab"),
        (Mib::ACK_SKIPPED_PAWS, "TCPACKSkippedPAWS"),
        (Mib::BEYOND_WINDOW, "BeyondWindow"),
        (Mib::ACK_SKIPPED_SEQ, "TCPACKSkippedSeq"),
        (Mib::RCVQ_DROP, "TCPRcvQDrop"),
        (Mib::OFO_DROP, "TCPOFODrop"),
    ];

    /// No counter.
    pub const NONE: Mib = Mib(0);

    /// Whether every counter of `other` is in the set.
    pub fn contains(self, other: Mib) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets.
    #[must_use]
    pub fn with(self, other: Mib) -> Mib {
        Mib(self.0 | other.0)
    }

    /// The set's counters in the order of [`Mib::NAMES`], by index there.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        Mib::NAMES.iter().enumerate().filter(move |(_, (m, _))| self.contains(*m)).map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_bit_each_in_order() {
        for (i, (m, _)) in Mib::NAMES.iter().enumerate() {
            assert_eq!(m.0, 1 << i);
        }
        let both = Mib::IN_ERRS.with(Mib::SYN_CHALLENGE);
        assert_eq!(both.indices().collect::<Vec<_>>(), [0, 2]);
        assert!(Mib::NONE.indices().next().is_none());
    }
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The differential wire harness (rtcp_wire.py): every scenario once with
# Linux's TCP and once with RTCP (the same Python under rtcpize), the
# peer played by scapy on the far end of a veth pair; then one KTAP test
# per scenario, and "rtcp-wire: N of M scenarios as Linux". Arguments,
# if any, are prefixes: only the scenarios whose names start with one run
# (`./rtcp_wire.sh fastopen`), and none whose name starts with one that
# has ^ in front (`./rtcp_wire.sh ^fastopen`).
#
# Needs: KSFT_DIR (RTCP's kernel tree, whose cache holds the venv with
# scapy); rtcp.ko loaded; rtcpize built.

here=$(dirname "$(readlink -f "$0")")
kdir=${KSFT_DIR%/tools/testing/selftests}
py=$(dirname "$kdir")/venv/bin/python3
rtcpize=$here/../rtcpize/rtcpize
tmp=$(mktemp -d)
# Namespaces of this run's own: the VM runs the scenarios in parts, as
# jobs side by side (selftests/rtcp_jobs).
ns_inet=rtcp-wire-inet-$$
ns_rtcp=rtcp-wire-rtcp-$$
trap 'ip netns del $ns_inet 2>/dev/null; ip netns del $ns_rtcp 2>/dev/null; rm -rf "$tmp"' EXIT

"$py" -c 'import scapy' 2>/dev/null || { echo "Bail out! no scapy in $py (scripts/deps.sh installs it)"; exit 1; }

# One namespace per recording, so that the two run at once: w0 is the
# stack under test's; w1, with no address, is the peer's wire. No
# offloads on w0, so that each segment crosses as itself.
wire_ns() {
	local ns=$1 mac
	ip netns add "$ns" || return 1
	ip -n "$ns" -batch - <<-EOF2 || return 1
		link set lo up
		link add w0 type veth peer name w1
		addr add 10.0.99.1/24 dev w0
		link set w0 up
		link set w1 up
	EOF2
	ip netns exec "$ns" ethtool -K w0 tso off gso off >/dev/null || return 1
	mac=$(ip -n "$ns" -o link show w1 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	ip -n "$ns" neigh add 10.0.99.2 lladdr "$mac" dev w0 nud permanent
}
wire_ns "$ns_inet" && wire_ns "$ns_rtcp" || exit 1
# RTCP keeps no per-destination metrics (tcp_metrics): Linux's TCP starts
# each connection afresh too, not from the round trip it cached from an
# earlier scenario's connection to the same peer.
ip netns exec "$ns_inet" sysctl -qw net.ipv4.tcp_no_metrics_save=1 || exit 1

# The recordings play a peer that must answer as a network would, before
# the stack's timers (a SYN is sent again after 1 s): on a guest busy
# with other tests they run before them (nice -20; they mostly wait).
# Both stacks are recorded at once, attempt 1 every scenario named,
# attempts 2 and 3 those that differed on every attempt before: a timer
# or a frame that a busy guest delayed is not delayed again the same way,
# a difference between the stacks is there each time (the comparison
# shows every attempt's difference).
record() { # the attempt, then what rtcp_wire.py record takes after FILE
	local attempt=$1 inet
	shift
	ip netns exec "$ns_inet" nice -n -20 "$py" "$here/rtcp_wire.py" record --attempt "$attempt" \
		"$tmp/inet-$attempt.json" "$@" &
	inet=$!
	ip netns exec "$ns_rtcp" nice -n -20 "$rtcpize" run "$py" "$here/rtcp_wire.py" record --attempt "$attempt" \
		"$tmp/rtcp-$attempt.json" "$@" || return 1
	wait $inet
}
record 1 "$@" || exit 1
recordings=("$tmp/inet-1.json" "$tmp/rtcp-1.json")
for attempt in 2 3; do
	again=$("$py" "$here/rtcp_wire.py" differing "${recordings[@]}") || exit 1
	[ -n "$again" ] || break
	echo "# attempt $attempt:" $again
	# shellcheck disable=SC2086 # one name a word
	record "$attempt" $again || exit 1
	recordings+=("$tmp/inet-$attempt.json" "$tmp/rtcp-$attempt.json")
done
# The recordings, to read after a VM run (scripts/guest.sh says where).
# (A part's are named after its prefixes.)
part=$(IFS=-; echo "${*//^/no}")
if [ -n "${RTCP_RESULTS:-}" ]; then
	for f in "${recordings[@]}"; do
		cp "$f" "$RTCP_RESULTS/wire-$(basename "$f" .json)${part:+-$part}.json"
	done
fi
"$py" "$here/rtcp_wire.py" compare "${recordings[@]}"

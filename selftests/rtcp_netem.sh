#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Data over real netdevices under netem: two network namespaces joined by
# a veth pair, netem on both ends (loss, delay, reordering, duplication,
# and a mix). Every transfer arrives intact (the sink checks each byte of
# the pattern and the count), RTCP to Linux TCP, Linux TCP to RTCP and
# RTCP to RTCP; when segments are lost, RTCP's RetransSegs counter moves.
#
# rtcp_netem.sh [CASE...] runs the cases named (clean, loss_1, loss_5,
# delay_50, delay_reorder, duplicate, mix, and over IPv6 v6_clean and
# v6_mix), all by default; two runs at
# once use namespaces of their own.
#
# Needs: KSFT_DIR, the kernel's tools/testing/selftests; rtcp.ko loaded.

set -u
A=rtcp-netem-a-$$
B=rtcp-netem-b-$$
ADDR_A=10.0.2.1
ADDR_B=10.0.2.2
ADDR6_A=fd00:2::1
ADDR6_B=fd00:2::2
# The server's address the transfers go to (the v6_ cases: IPv6's).
to=$ADDR_B
. "$(dirname "$(readlink -f "$0")")/rtcp_lib.sh"

# netem with the arguments on both ends (none: no netem). Under netem each
# skb carries one segment (gso_max_segs 1, which both stacks follow as
# Linux's TCP follows sk_gso_max_segs): netem drops, delays and duplicates
# whole skbs, so a GSO train of 40 segments would be lost or kept as one.
netem_on=
netem() {
	local segs=1
	if [ -n "$netem_on" ]; then
		tc -n "$A" qdisc del dev va root 2>/dev/null
		tc -n "$B" qdisc del dev vb root 2>/dev/null
		netem_on=
	fi
	[ $# -eq 0 ] && segs=65535
	ip -n "$A" link set va gso_max_segs "$segs" && ip -n "$B" link set vb gso_max_segs "$segs" || return 1
	[ $# -eq 0 ] && return 0
	netem_on=1
	tc -n "$A" qdisc add dev va root netem "$@" && tc -n "$B" qdisc add dev vb root netem "$@"
}

# RTCP's RetransSegs in namespace $1.
retrans() {
	ns_stat "$1" RetransSegs
}

# $4 bytes from a client of kind $1 in A to a sink of kind $2 in B on port
# $3; both must report the whole count.
transfer() {
	local client=$1 server=$2 port=$3 bytes=$4 sink_pid
	ip netns exec "$B" "$tool" sink "$server" "$to" "$port" >"$tmp/sink-$port" 2>&1 &
	sink_pid=$!
	wait_line "$tmp/sink-$port" ready || { echo "# the sink did not start"; return 1; }
	local sent="" got="" line
	if ! ip netns exec "$A" "$tool" send "$client" "$to" "$port" "$bytes" >"$tmp/send-$port" 2>&1; then
		read -r sent <"$tmp/send-$port"
		echo "# $client -> $server: the sender failed: $sent"
		kill "$sink_pid" 2>/dev/null
		wait "$sink_pid"
		sed 's/^/# sink: /' "$tmp/sink-$port"
		return 1
	fi
	wait "$sink_pid"
	read -r sent <"$tmp/send-$port"
	while read -r line; do
		[[ $line == received* ]] && got=$line
	done <"$tmp/sink-$port"
	echo "# $client -> $server: $sent; sink: $got"
	[ "$got" = "received $bytes" ]
}

# Transfers all three ways under `netem $@`; the RTCP sender in A
# retransmitted if `$lossy`.
three_ways() {
	local base=$1 bytes=$2 lossy=$3 before after
	shift 3
	netem "$@" || return 1
	before=$(retrans "$A")
	transfer rtcp inet "$base" "$bytes" || return 1
	after=$(retrans "$A")
	echo "# RTCP sender retransmitted $((after - before)) segment(s)"
	if [ "$lossy" = 1 ] && [ "$after" -le "$before" ]; then
		echo "# no retransmission despite the loss"
		return 1
	fi
	transfer inet rtcp "$((base + 1))" "$bytes" || return 1
	transfer rtcp rtcp "$((base + 2))" "$bytes" || return 1
	netem
}

# The sizes are one to two times the most a buffer grows to (1 MiB):
# enough for the windows to open fully and for losses to fall anywhere. Under the
# delays, a transfer's time is set by the round trip and the window.
test_clean() { three_ways 9000 2097152 0; }
test_loss_1() { three_ways 9010 1048576 1 loss 1%; }
test_loss_5() { three_ways 9020 1048576 1 loss 5%; }
test_delay_50() { three_ways 9060 1048576 0 delay 50ms; }
test_delay_reorder() { three_ways 9030 1048576 0 delay 25ms 5ms reorder 25% 50%; }
test_duplicate() { three_ways 9040 1048576 0 duplicate 5%; }
test_mix() { three_ways 9050 1048576 1 loss 2% duplicate 2% delay 5ms reorder 10% 50%; }
# The same over IPv6 (RTCP's IPv6 sockets, AF_INET6 TCP).
test_v6_clean() { to=$ADDR6_B three_ways 9070 2097152 0; }
test_v6_mix() { to=$ADDR6_B three_ways 9080 1048576 1 loss 2% duplicate 2% delay 5ms reorder 10% 50%; }

ktap_print_header
if ! setup; then
	ktap_skip_all "cannot set up netns and veth"
	exit "$KSFT_FAIL"
fi
cases=(clean loss_1 loss_5 delay_50 delay_reorder duplicate mix v6_clean v6_mix)
declare -A what=(
	[clean]="2 MiB over veth, all three pairings"
	[loss_1]="1 MiB under 1% loss, intact, with retransmissions"
	[loss_5]="1 MiB under 5% loss, intact, with retransmissions"
	[delay_50]="1 MiB under 50 ms delay, intact"
	[delay_reorder]="1 MiB under 25 ms delay with reordering, intact"
	[duplicate]="1 MiB under 5% duplication, intact"
	[mix]="1 MiB under loss, duplication, delay and reordering, intact"
	[v6_clean]="2 MiB over veth and IPv6, all three pairings"
	[v6_mix]="1 MiB over IPv6 under loss, duplication, delay and reordering, intact"
)
run_cases "$@"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# RTCP's IPv6 sockets over real netdevices: two network namespaces joined
# by a veth pair (MTU 1400, addresses without duplicate address detection),
# Linux's TCP (AF_INET6) on one end and RTCP on the other, both ways, and
# RTCP on both ends. A capture on the receiving side checks what went on
# the wire: the SYN offers MSS 1340 (the MTU less IPv6's 40 bytes and
# TCP's 20), SACK, timestamps and window scale, the SYN-ACK answers in
# kind. Then: a connection to a link-local address, with its scope (and
# EINVAL without one); 64 MiB each way between RTCP and Linux's TCP, every
# byte checked; and path MTU discovery through a router whose far link
# has IPv6's least MTU (1280): its ICMPv6 packet-too-big lowers the RTCP
# sender's segments, as the capture behind the router shows, and the
# transfer arrives intact.
#
# rtcp_veth6.sh [CASE...] runs the cases named (rtcp_to_linux,
# linux_to_rtcp, rtcp_to_rtcp, link_local, integrity_64m, pmtu), all by
# default; two runs at once use namespaces of their own.
#
# Needs: KSFT_DIR, the kernel's tools/testing/selftests; rtcp.ko loaded.

set -u
A=rtcp-v6-a-$$
B=rtcp-v6-b-$$
ADDR_A=10.0.16.1
ADDR_B=10.0.16.2
ADDR6_A=fd00:16::1
ADDR6_B=fd00:16::2
MTU=1400
. "$(dirname "$(readlink -f "$0")")/rtcp_lib.sh"

# The namespaces of the path MTU case: a client, a router, a server.
PA=rtcp-v6-pa-$$
PR=rtcp-v6-pr-$$
PB=rtcp-v6-pb-$$
cleanup6() {
	ip netns del "$PA" 2>/dev/null
	ip netns del "$PR" 2>/dev/null
	ip netns del "$PB" 2>/dev/null
	cleanup
}
trap cleanup6 EXIT

# Starts a capture in namespace $2 on device $3 of filter $4, decoded
# (-v) into $1.txt as it goes.
capture_start() {
	ip netns exec "$2" tcpdump -i "$3" -nn -l -v "$4" >"$1.txt" 2>"$1.log" &
	cap_pid=$!
	# tcpdump under TCG, beside the other jobs, on a busy host: a bound
	# on a hang, not on its start-up time.
	wait_line "$1.log" "listening on" 120 || { echo "# tcpdump did not start: $(cat "$1.log")"; return 1; }
}

capture_stop() {
	kill "$cap_pid" 2>/dev/null
	wait "$cap_pid" 2>/dev/null
}

# One handshake from a client of kind $1 in A to a server of kind $2 in B,
# on port $3, over IPv6; the capture must show the options both ways.
handshake() {
	local client=$1 server=$2 port=$3 pcap=$tmp/$1-$2
	capture_start "$pcap" "$B" vb "tcp port $port" || return 1
	ip netns exec "$B" "$tool" serve "$server" "$ADDR6_B" "$port" 1 >"$tmp/srv-$port" 2>&1 &
	local srv=$!
	wait_line "$tmp/srv-$port" ready 120 || { echo "# the server did not start: $(cat "$tmp/srv-$port")"; return 1; }
	ip netns exec "$A" "$tool" connect "$client" "$ADDR6_B" "$port" || return 1
	wait "$srv" || return 1
	wait_line "$pcap.txt" "> $ADDR6_B.$port: Flags [.]" || echo "# no final ACK in the capture"
	capture_stop
	check_handshake "$pcap.txt" "$ADDR6_A" "$ADDR6_B" "$port" 1340 || return 1
	grep -q "accepted $ADDR6_A:" "$tmp/srv-$port" || { echo "# the server saw: $(cat "$tmp/srv-$port")"; return 1; }
}

test_rtcp_to_linux() { handshake rtcp inet 8101; }
test_linux_to_rtcp() { handshake inet rtcp 8102; }
test_rtcp_to_rtcp() { handshake rtcp rtcp 8103; }

# A link-local server address: reached with the client's interface as
# its scope; without one, connect() is EINVAL (as AF_INET6's).
test_link_local() {
	ip -n "$A" addr add fe80::a/64 dev va nodad || return 1
	ip -n "$B" addr add fe80::b/64 dev vb nodad || return 1
	ip netns exec "$B" "$tool" serve rtcp "fe80::b%vb" 8104 1 >"$tmp/srv-ll" 2>&1 &
	local srv=$!
	wait_line "$tmp/srv-ll" ready 120 || { echo "# the server did not start: $(cat "$tmp/srv-ll")"; return 1; }
	local err
	err=$(ip netns exec "$A" "$tool" connect rtcp fe80::b 8104 2>&1)
	echo "# without a scope: $err"
	[[ $err == *"Invalid argument"* ]] || { kill "$srv"; return 1; }
	ip netns exec "$A" "$tool" connect rtcp "fe80::b%va" 8104 || { kill "$srv"; return 1; }
	wait "$srv" || return 1
	echo "# $(cat "$tmp/srv-ll" | tail -1)"
	grep -q "accepted fe80::a%vb:" "$tmp/srv-ll" || return 1
	# A listener on :: bound to no device: the SYN-ACK goes back out of
	# the device the SYN came in on, and the connection is bound to it,
	# its peer's name carrying that scope (tcp_v6_init_req's ir_iif), for
	# Linux's TCP and for RTCP alike. A second device in B with fe80::/64
	# of its own makes a lookup without the device go wrong.
	ip -n "$B" -batch - <<-EOF || return 1
		link add ll0 type dummy
		link set ll0 up
		addr add fe80::1:b/64 dev ll0 nodad
	EOF
	local kind port=8110
	for kind in inet rtcp; do
		ip netns exec "$B" "$tool" serve "$kind" :: $port 1 >"$tmp/srv-ll-$kind" 2>&1 &
		srv=$!
		wait_line "$tmp/srv-ll-$kind" ready 120 || { echo "# the server did not start: $(cat "$tmp/srv-ll-$kind")"; return 1; }
		ip netns exec "$A" "$tool" connect rtcp "fe80::b%va" $port || { kill "$srv"; return 1; }
		wait "$srv" || return 1
		echo "# $kind on [::]:$port: $(tail -1 "$tmp/srv-ll-$kind")"
		grep -q "accepted fe80::a%vb:" "$tmp/srv-ll-$kind" || return 1
		port=$((port + 1))
	done
}

# The counters of namespace $1, a "name value" line each: Linux's TCP's
# (/proc/net/snmp, /proc/net/netstat) and RTCP's (rtcp.NAME).
counters() {
	ip netns exec "$1" awk 'FNR % 2 == 1 { split($0, h) }
		FNR % 2 == 0 { for (i = 2; i <= NF; i++) print h[1] h[i], $i }' /proc/net/snmp /proc/net/netstat
	ip netns exec "$1" sed 's/^/rtcp./' /proc/net/rtcp_stat
}

# The counters that moved since file $2 was written by counters $1.
counters_moved() {
	counters "$1" | awk 'NR == FNR { was[$1] = $2; next } $2 != was[$1] { printf " %s+%d", $1, $2 - was[$1] }' "$2" -
}

# $3 bytes from a client of kind $1 in A to a sink of kind $2 in B on port
# $4, over IPv6 (or the address $5); both must report the whole count.
# The counters that moved on each side are shown (what a slow transfer
# spent its time on).
transfer() {
	local client=$1 server=$2 bytes=$3 port=$4 to=${5:-$ADDR6_B} ns_c=${6:-$A} ns_s=${7:-$B}
	counters "$ns_c" >"$tmp/counters-c-$port"
	counters "$ns_s" >"$tmp/counters-s-$port"
	ip netns exec "$ns_s" "$tool" sink "$server" "$to" "$port" >"$tmp/sink-$port" 2>&1 &
	local sink=$!
	wait_line "$tmp/sink-$port" ready 120 || { echo "# the sink did not start: $(cat "$tmp/sink-$port")"; return 1; }
	if ! ip netns exec "$ns_c" "$tool" send "$client" "$to" "$port" "$bytes" >"$tmp/send-$port" 2>&1; then
		echo "# $client -> $server: the sender failed: $(cat "$tmp/send-$port")"
		kill "$sink" 2>/dev/null
		wait "$sink"
		return 1
	fi
	wait "$sink"
	local got
	got=$(grep received "$tmp/sink-$port")
	echo "# $client -> $server: $(cat "$tmp/send-$port"); sink: $got"
	echo "# the sender's side:$(counters_moved "$ns_c" "$tmp/counters-c-$port")"
	echo "# the receiver's side:$(counters_moved "$ns_s" "$tmp/counters-s-$port")"
	[ "$got" = "received $bytes" ]
}

test_integrity_64m() {
	transfer rtcp inet 67108864 8105 && transfer inet rtcp 67108864 8106
}

# Client PA, router PR, server PB: fd00:17::/64 between PA and PR (MTU
# 1500), fd00:18::/64 between PR and PB, whose router end has MTU 1280
# (PB's own end 1500, so that PB offers MSS 1440 and only the path is
# narrower). RTCP in PA sends 1 MiB to Linux's TCP in PB; the router
# answers its first full segments with packet too big; behind the
# router (which cuts its GSO packets into segments: gso_max_segs 1) no
# packet is longer than 1280 bytes and the data segments carry 1208
# bytes (1280 less 40, 20, and 12 of timestamps).
test_pmtu() {
	printf 'netns add %s\nnetns add %s\nnetns add %s\n' "$PA" "$PR" "$PB" | ip -batch - || return 1
	ip -n "$PA" -batch - <<-EOF || return 1
		link set lo up
		link add pa type veth peer name ra netns $PR
		link set pa up
		addr add fd00:17::1/64 dev pa nodad
		route add default via fd00:17::2
	EOF
	ip -n "$PB" -batch - <<-EOF || return 1
		link set lo up
		link add pb type veth peer name rb netns $PR
		link set pb up
		addr add fd00:18::2/64 dev pb nodad
		route add default via fd00:18::1
	EOF
	ip -n "$PR" -batch - <<-EOF || return 1
		link set lo up
		link set ra up
		link set rb mtu 1280 gso_max_segs 1 up
		addr add fd00:17::2/64 dev ra nodad
		addr add fd00:18::1/64 dev rb nodad
	EOF
	ip netns exec "$PR" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	local pcap=$tmp/pmtu
	capture_start "$pcap" "$PB" pb "tcp port 8107" || return 1
	transfer rtcp inet 1048576 8107 fd00:18::2 "$PA" "$PB" || { capture_stop; return 1; }
	capture_stop
	local line longest=0 data=0 len
	while IFS= read -r line; do
		if [[ $line =~ payload\ length:\ ([0-9]+) ]]; then
			len=$((BASH_REMATCH[1] + 40))
			[ "$len" -gt "$longest" ] && longest=$len
		fi
		[[ $line == *"fd00:17::1."*" > fd00:18::2.8107: Flags [.],"*"length 1208"* ]] && data=$((data + 1))
	done <"$pcap.txt"
	local ptb
	ptb=$(ip netns exec "$PR" cat /proc/net/snmp6 | while read -r k v; do [ "$k" = Icmp6OutPktTooBigs ] && echo "$v"; done)
	echo "# behind the router: longest packet $longest bytes, $data data segments of 1208 bytes; the router sent ${ptb:-?} packet too big"
	[ "$longest" -gt 0 ] && [ "$longest" -le 1280 ] && [ "$data" -gt 0 ] && [ "${ptb:-0}" -ge 1 ]
}

ktap_print_header
if ! setup; then
	ktap_skip_all "cannot set up netns and veth"
	exit "$KSFT_FAIL"
fi
cases=(rtcp_to_linux linux_to_rtcp rtcp_to_rtcp link_local integrity_64m pmtu)
declare -A what=(
	[rtcp_to_linux]="RTCP client to Linux TCP server over IPv6 veth, options on the wire"
	[linux_to_rtcp]="Linux TCP client to RTCP server over IPv6 veth, options on the wire"
	[rtcp_to_rtcp]="RTCP to RTCP over IPv6 veth, options on the wire"
	[link_local]="a link-local server: reached with a scope, EINVAL without"
	[integrity_64m]="64 MiB each way between RTCP and Linux TCP over IPv6, intact"
	[pmtu]="ICMPv6 packet too big from a router lowers RTCP's segments (PMTU)"
)
run_cases "$@"

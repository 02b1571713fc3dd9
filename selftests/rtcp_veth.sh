#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The handshake over real netdevices: two network namespaces joined by a
# veth pair (MTU 1400), with Linux's TCP on one end and RTCP on the other,
# both ways, and RTCP on both ends. A capture on the receiving side checks
# what went on the wire: the SYN offers MSS (from the veth MTU: 1360),
# SACK, timestamps and window scale; the SYN-ACK answers in kind. Then
# netem drops the first SYNs and the handshake completes on the third,
# after the 1 s and 2 s of the backoff; then the first SYN-ACKs; then the
# final ACK.
#
# Needs: KSFT_DIR, the kernel's tools/testing/selftests; rtcp.ko loaded.

set -u
A=rtcp-veth-a
B=rtcp-veth-b
ADDR_A=10.0.1.1
ADDR_B=10.0.1.2
MTU=1400
. "$(dirname "$(readlink -f "$0")")/rtcp_lib.sh"

# Starts a capture of TCP port $2 on vb in namespace B into $1.
capture_start() {
	ip netns exec "$B" tcpdump -i vb -nn -U -w "$1" "tcp port $2" 2>"$1.log" &
	cap_pid=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Stops the capture once it holds the final ACK of port $2 (or after 5 s)
# and decodes it into $1.txt.
capture_stop() {
	for _ in $(seq 50); do
		tcpdump -r "$1" -nn 2>/dev/null | grep -q "$ADDR_A\.[0-9]* > $ADDR_B\.$2: Flags \[\.\]" && break
		sleep 0.1
	done
	kill "$cap_pid" 2>/dev/null
	wait "$cap_pid" 2>/dev/null
	tcpdump -r "$1" -nn -v 2>/dev/null >"$1.txt"
}

# Runs a server of kind $2 in namespace B on port $3 for $4 connections.
server_start() {
	ip netns exec "$B" "$tool" serve "$2" "$ADDR_B" "$3" "$4" >"$1" 2>&1 &
	srv_pid=$!
	for _ in $(seq 50); do
		grep -q ready "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# One handshake from a client of kind $1 in A to a server of kind $2 in B,
# on port $3; the capture must show the options both ways.
handshake() {
	local client=$1 server=$2 port=$3 pcap=$tmp/$1-$2.pcap
	capture_start "$pcap" "$port" || return 1
	server_start "$tmp/srv-$port" "$server" "$port" 1 || return 1
	ip netns exec "$A" "$tool" connect "$client" "$ADDR_B" "$port" || return 1
	wait "$srv_pid" || return 1
	capture_stop "$pcap" "$port"
	local syn synack
	syn=$(grep -m1 "$ADDR_A\.[0-9]* > $ADDR_B\.$port: Flags \[S\]" "$pcap.txt")
	synack=$(grep -m1 "$ADDR_B\.$port > $ADDR_A\.[0-9]*: Flags \[S\.\]" "$pcap.txt")
	echo "# SYN:     $syn"
	echo "# SYN-ACK: $synack"
	[ -n "$syn" ] && [ -n "$synack" ] || { sed 's/^/# capture: /' "$pcap.txt" "$pcap.log"; return 1; }
	for seg in "$syn" "$synack"; do
		echo "$seg" | grep -q "mss 1360" || { echo "# no MSS 1360"; return 1; }
		echo "$seg" | grep -q "sackOK" || { echo "# no SACK-permitted"; return 1; }
		echo "$seg" | grep -q "TS val" || { echo "# no timestamps"; return 1; }
		echo "$seg" | grep -q "wscale" || { echo "# no window scale"; return 1; }
	done
	# The SYN-ACK echoes the SYN's TSval.
	local tsval ecr
	tsval=$(echo "$syn" | sed -n 's/.*TS val \([0-9]*\) ecr.*/\1/p')
	ecr=$(echo "$synack" | sed -n 's/.*TS val [0-9]* ecr \([0-9]*\).*/\1/p')
	[ -n "$tsval" ] && [ "$tsval" = "$ecr" ] || { echo "# TSecr $ecr is not TSval $tsval"; return 1; }
	# The final ACK completes it.
	grep -q "$ADDR_A\.[0-9]* > $ADDR_B\.$port: Flags \[\.\]" "$pcap.txt" || { echo "# no final ACK"; return 1; }
}

test_rtcp_to_linux() { handshake rtcp inet 8001; }
test_linux_to_rtcp() { handshake inet rtcp 8002; }
test_rtcp_to_rtcp() { handshake rtcp rtcp 8003; }

# netem drops every SYN for 2 s: the SYNs at 0 s and 1 s are lost, and one
# of the retransmissions at 3 s or 7 s gets through (RTO 1 s, doubled each
# time; under TCG the loss may outlast the 3 s one). The connect time must
# fall on that schedule.
test_syn_loss_backoff() {
	server_start "$tmp/srv-8004" inet 8004 1 || return 1
	ip netns exec "$A" tc qdisc add dev va root netem loss 100% || return 1
	ip netns exec "$A" "$tool" connect rtcp "$ADDR_B" 8004 >"$tmp/conn-8004" 2>&1 &
	local conn=$!
	sleep 2
	ip netns exec "$A" tc qdisc del dev va root
	wait "$conn" || { cat "$tmp/conn-8004"; return 1; }
	wait "$srv_pid" || return 1
	local ms
	ms=$(sed -n 's/connected //p' "$tmp/conn-8004")
	echo "# connected after $ms ms"
	[ -n "$ms" ] || return 1
	local retrans
	retrans=$(ip netns exec "$A" awk '$1 == "RetransSegs" { print $2 }' /proc/net/rtcp_stat)
	echo "# RetransSegs $retrans"
	[ "${retrans:-0}" -ge 2 ] || return 1
	for at in 3000 7000; do
		[ "$ms" -ge $((at - 200)) ] && [ "$ms" -lt $((at + 800)) ] && return 0
	done
	return 1
}

# netem drops the SYN-ACKs for 2 s: the RTCP listener retransmits its
# SYN-ACK (and the Linux client its SYN) until one gets through.
test_synack_loss() {
	server_start "$tmp/srv-8005" rtcp 8005 1 || return 1
	ip netns exec "$B" tc qdisc add dev vb root netem loss 100% || return 1
	ip netns exec "$A" "$tool" connect inet "$ADDR_B" 8005 >"$tmp/conn-8005" 2>&1 &
	local conn=$!
	sleep 2
	ip netns exec "$B" tc qdisc del dev vb root
	wait "$conn" || { cat "$tmp/conn-8005"; return 1; }
	wait "$srv_pid" || return 1
	echo "# connected after $(sed -n 's/connected //p' "$tmp/conn-8005") ms"
	local retrans
	retrans=$(ip netns exec "$B" awk '$1 == "RetransSegs" { print $2 }' /proc/net/rtcp_stat)
	echo "# RetransSegs $retrans"
	[ "${retrans:-0}" -ge 1 ]
}

# netem drops every pure ACK from A for 2 s, so the final ACK of the
# handshake is lost: the client is connected, the RTCP listener's request
# waits in SYN-RECEIVED and retransmits its SYN-ACK (at 1 s and 3 s), and
# the client's ACK of the one at 3 s brings the connection to accept().
final_ack_loss() {
	local client=$1 port=$2 before after
	before=$(ip netns exec "$B" awk '$1 == "RetransSegs" { print $2 }' /proc/net/rtcp_stat)
	server_start "$tmp/srv-$port" rtcp "$port" 1 || return 1
	ip netns exec "$A" tc qdisc add dev va root handle 1: prio || return 1
	ip netns exec "$A" tc qdisc add dev va parent 1:3 handle 30: netem loss 100% || return 1
	# IPv4 (no options) carrying TCP whose flags byte is exactly ACK.
	ip netns exec "$A" tc filter add dev va parent 1: protocol ip prio 1 u32 \
		match ip protocol 6 0xff match u8 0x10 0xff at 33 flowid 1:3 || return 1
	capture_start "$tmp/fa-$port.pcap" "$port" || return 1
	local start=$(date +%s%N)
	ip netns exec "$A" "$tool" connect "$client" "$ADDR_B" "$port" 6000 >"$tmp/conn-$port" 2>&1 &
	local conn=$!
	sleep 1.5
	local waiting
	waiting=$(ip netns exec "$B" awk '$4 == "03"' /proc/net/rtcp | wc -l)
	echo "# at 1.5 s: $waiting request(s) in SYN-RECEIVED, $(grep -c accepted "$tmp/srv-$port") accepted"
	sleep 0.5
	ip netns exec "$A" tc -s qdisc show dev va | sed 's/^/# tc: /'
	ip netns exec "$A" tc qdisc del dev va root || echo "# tc del failed"
	ip netns exec "$A" tc qdisc show dev va | sed 's/^/# tc after: /'
	[ "$waiting" = 1 ] || return 1
	wait "$srv_pid" || return 1
	kill "$cap_pid"; wait "$cap_pid" 2>/dev/null
	tcpdump -r "$tmp/fa-$port.pcap" -nn -ttt 2>/dev/null | sed 's/^/# cap: /'
	local ms=$((($(date +%s%N) - start) / 1000000))
	after=$(ip netns exec "$B" awk '$1 == "RetransSegs" { print $2 }' /proc/net/rtcp_stat)
	echo "# accepted after $ms ms; the listener retransmitted $((after - before)) SYN-ACK(s)"
	wait "$conn" || { cat "$tmp/conn-$port"; return 1; }
	[ "$ms" -ge 2000 ] && [ "$((after - before))" -ge 2 ]
}

test_final_ack_loss_linux() { final_ack_loss inet 8006; }
test_final_ack_loss_rtcp() { final_ack_loss rtcp 8007; }

ktap_print_header
if ! setup; then
	ktap_skip_all "cannot set up netns and veth"
	exit "$KSFT_FAIL"
fi
ktap_set_plan 7
ktap_test_result "RTCP client to Linux TCP server over veth, options on the wire" test_rtcp_to_linux
ktap_test_result "Linux TCP client to RTCP server over veth, options on the wire" test_linux_to_rtcp
ktap_test_result "RTCP to RTCP over veth, options on the wire" test_rtcp_to_rtcp
ktap_test_result "lost SYNs are retransmitted with backoff (1 s, 2 s)" test_syn_loss_backoff
ktap_test_result "lost SYN-ACKs are retransmitted by the RTCP listener" test_synack_loss
ktap_test_result "a lost final ACK from Linux TCP: the SYN-ACK again, then accept()" test_final_ack_loss_linux
ktap_test_result "a lost final ACK from RTCP: the SYN-ACK again, then accept()" test_final_ack_loss_rtcp
ktap_finished

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
# final ACK. The losses are counted, not timed.
#
# Needs: KSFT_DIR, the kernel's tools/testing/selftests; rtcp.ko loaded.

set -u
A=rtcp-veth-a-$$
B=rtcp-veth-b-$$
ADDR_A=10.0.1.1
ADDR_B=10.0.1.2
MTU=1400
. "$(dirname "$(readlink -f "$0")")/rtcp_lib.sh"

# Starts a capture of TCP port $2 on vb in namespace B, decoded (-v) into
# $1.txt as it goes.
capture_start() {
	ip netns exec "$B" tcpdump -i vb -nn -l -v "tcp port $2" >"$1.txt" 2>"$1.log" &
	cap_pid=$!
	# tcpdump under TCG, beside the other jobs, on a busy host: a bound
	# on a hang, not on its start-up time.
	wait_line "$1.log" "listening on" 120 || { echo "# tcpdump did not start: $(cat "$1.log")"; return 1; }
}

# Stops the capture once it holds the final ACK of port $2 (or after 30 s).
capture_stop() {
	wait_line "$1.txt" "> $ADDR_B.$2: Flags [.]"
	kill "$cap_pid" 2>/dev/null
	wait "$cap_pid" 2>/dev/null
}

# Runs a server of kind $2 in namespace B on port $3 for $4 connections.
server_start() {
	ip netns exec "$B" "$tool" serve "$2" "$ADDR_B" "$3" "$4" >"$1" 2>&1 &
	srv_pid=$!
	# A bound on a hang: under TCG beside the other jobs a program's start
	# can take tens of seconds.
	wait_line "$1" ready 120 || { echo "# the server did not start: $(cat "$1")"; return 1; }
}

# One handshake from a client of kind $1 in A to a server of kind $2 in B,
# on port $3; the capture must show the options both ways.
handshake() {
	local client=$1 server=$2 port=$3 pcap=$tmp/$1-$2
	capture_start "$pcap" "$port" || return 1
	server_start "$tmp/srv-$port" "$server" "$port" 1 || return 1
	ip netns exec "$A" "$tool" connect "$client" "$ADDR_B" "$port" || return 1
	wait "$srv_pid" || return 1
	capture_stop "$pcap" "$port"
	check_handshake "$pcap.txt" "$ADDR_A" "$ADDR_B" "$port" 1360 || return 1
	# The final ACK completes it.
	wait_line "$pcap.txt" "> $ADDR_B.$port: Flags [.]" 0 || { echo "# no final ACK"; return 1; }
}

test_rtcp_to_linux() { handshake rtcp inet 8001; }
test_linux_to_rtcp() { handshake inet rtcp 8002; }
test_rtcp_to_rtcp() { handshake rtcp rtcp 8003; }

# Drops the TCP segments that leave device $2 in namespace $1 with the
# flags of $3 set (a mask of the flags byte: 0x02 SYN, 0x12 SYN-ACK) or,
# with $4 "exactly", with exactly those flags; the rest pass. netem under
# a prio qdisc does the dropping (its drops are counted: see drops).
drop_flags() {
	local ns=$1 dev=$2 flags=$3 mask=$3
	[ "${4:-}" = exactly ] && mask=0xff
	tc -n "$ns" qdisc add dev "$dev" root handle 1: prio || return 1
	tc -n "$ns" qdisc add dev "$dev" parent 1:3 handle 30: netem loss 100% || return 1
	# IPv4 (no options) carrying TCP: the flags byte is at offset 33.
	tc -n "$ns" filter add dev "$dev" parent 1: protocol ip prio 1 u32 \
		match ip protocol 6 0xff match u8 "$flags" "$mask" at 33 flowid 1:3
}

# How many segments drop_flags' netem on device $2 in namespace $1 has
# dropped.
drop_count() {
	local line netem=
	while IFS= read -r line; do
		[[ $line == "qdisc netem 30:"* ]] && netem=1
		if [ -n "$netem" ] && [[ $line =~ dropped\ ([0-9]+) ]]; then
			echo "${BASH_REMATCH[1]}"
			return
		fi
	done < <(tc -n "$1" -s qdisc show dev "$2")
}
# Waits until drop_flags' netem on device $2 in namespace $1 has dropped
# $3 segments, and prints how many it has. The bound, 300 s, is on a
# hang: CI once saw no SYN-ACK dropped within 30 s, on a guest so busy
# that the cases beside it waited 15 s between two polls (most likely the
# client had not got its SYN out yet: a program's start can take tens of
# seconds there).
drops_wait() {
	local ns=$1 dev=$2 n=$3 got=0
	local end=$((SECONDS + 300))
	while [ "$SECONDS" -lt "$end" ]; do
		got=$(drop_count "$ns" "$dev")
		[ "${got:-0}" -ge "$n" ] && break
		nap 0.5
	done
	echo "${got:-0}"
}
# drops_wait, then lets everything pass again. Counting drops, not
# waiting a fixed time, keeps the scenario the same on a slow or busy
# machine.
drops_then_pass() {
	local ns=$1 dev=$2 n=$3 got
	got=$(drops_wait "$ns" "$dev" "$n")
	tc -n "$ns" qdisc del dev "$dev" root
	echo "# $got segment(s) dropped on $dev"
	[ "${got:-0}" -ge "$n" ]
}

# When the i-th SYN retransmission leaves, in ms, with $2 linear timeouts.
syn_time() {
	local i=$1 lin=$2
	if [ "$i" -le $((lin + 1)) ]; then
		echo $((i * 1000))
	else
		echo $(((lin + 1 + 2 ** (i - lin) - 2) * 1000))
	fi
}

# The first two SYNs (at 0 s and 1 s) are lost; the retransmission at 2 s
# gets through (as Linux 7's, the first ones 1 s apart, then doubling),
# or a later one if the loss was lifted late on a busy machine. After k
# retransmissions the SYN that got through left at syn_time k: the
# connect time must fall between that and the next retransmission (a
# busy machine may be slow to wake the caller, but not slow enough to
# need another SYN unseen).
test_syn_loss_backoff() {
	local retrans0
	retrans0=$(ns_stat "$A" RetransSegs)
	server_start "$tmp/srv-8004" inet 8004 1 || return 1
	drop_flags "$A" va 0x02 || return 1
	ip netns exec "$A" "$tool" connect rtcp "$ADDR_B" 8004 >"$tmp/conn-8004" 2>&1 &
	local conn=$!
	drops_then_pass "$A" va 2 || return 1
	wait "$conn" || { cat "$tmp/conn-8004"; return 1; }
	wait "$srv_pid" || return 1
	local ms
	ms=$(sed -n 's/connected //p' "$tmp/conn-8004")
	echo "# connected after $ms ms"
	[ -n "$ms" ] || return 1
	local k
	k=$(($(ns_stat "$A" RetransSegs) - ${retrans0:-0}))
	echo "# $k SYN retransmission(s)"
	# At least the two lost; at most what syn_retries and the linear
	# timeouts allow (a busy machine lifts the loss late, and more SYNs
	# are lost: the timing below holds for any of them).
	local lin retries
	lin=$(ip netns exec "$A" cat /proc/sys/net/rtcp/syn_linear_timeouts)
	retries=$(ip netns exec "$A" cat /proc/sys/net/rtcp/syn_retries)
	[ "$k" -ge 2 ] && [ "$k" -le $((retries + lin)) ] || return 1
	# The first syn_linear_timeouts + 1 retransmissions come 1 s apart,
	# then each waits twice the last (Linux 7's tcp_retransmit_timer).
	local at next
	at=$(syn_time "$k" "$lin") next=$(syn_time $((k + 1)) "$lin")
	[ "$ms" -ge $((at - 200)) ] && [ "$ms" -lt $((next - 200)) ]
}

# The first two SYN-ACKs are lost: the RTCP listener retransmits its
# SYN-ACK (and the Linux client its SYN) until one gets through.
test_synack_loss() {
	server_start "$tmp/srv-8005" rtcp 8005 1 || return 1
	drop_flags "$B" vb 0x12 || return 1
	ip netns exec "$A" "$tool" connect inet "$ADDR_B" 8005 >"$tmp/conn-8005" 2>&1 &
	local conn=$!
	drops_then_pass "$B" vb 2 || { echo "# the client: $(cat "$tmp/conn-8005")"; return 1; }
	wait "$conn" || { cat "$tmp/conn-8005"; return 1; }
	wait "$srv_pid" || return 1
	echo "# connected after $(sed -n 's/connected //p' "$tmp/conn-8005") ms"
	local retrans
	retrans=$(ns_stat "$B" RetransSegs)
	echo "# RetransSegs $retrans"
	[ "${retrans:-0}" -ge 1 ]
}

# Every pure ACK from A is lost until two are: the final ACK of the
# handshake and the ACK of the SYN-ACK the RTCP listener sends again at
# 1 s. The client is connected (and sends nothing: it holds the
# connection until the end); the listener's request waits in
# SYN-RECEIVED meanwhile, and the client's ACK of the next SYN-ACK (at
# 3 s, or later if the loss was lifted late) brings the connection to
# accept(). The listener sends its SYN-ACK 8 times (synack_retries), not
# 5: the fifth leaves at 31 s, and on a guest busy enough its ACK can be
# lost too before the shell gets to lift the loss (a run saw it: the
# request went at 63 s and nothing came after); the eighth leaves at
# 247 s.
final_ack_loss() {
	local client=$1 port=$2 before after
	ip netns exec "$B" sysctl -qw net.rtcp.synack_retries=8 || return 1
	before=$(ns_stat "$B" RetransSegs)
	server_start "$tmp/srv-$port" rtcp "$port" 1 || return 1
	drop_flags "$A" va 0x10 exactly || return 1
	capture_start "$tmp/fa-$port" "$port" || return 1
	local start=$(date +%s%N)
	ip netns exec "$A" "$tool" connect "$client" "$ADDR_B" "$port" 600000 >"$tmp/conn-$port" 2>&1 &
	local conn=$!
	local got
	got=$(drops_wait "$A" va 2)
	local waiting
	local st _x
	waiting=0
	while read -r _x _x _x st _x; do
		[ "$st" = 03 ] && waiting=$((waiting + 1))
	done <"$(ns_proc "$B" rtcp)"
	echo "# after $got lost ACK(s): $waiting request(s) in SYN-RECEIVED"
	drops_then_pass "$A" va 2 || return 1
	[ "$waiting" = 1 ] || return 1
	# accept(): a bound on a hang (the last SYN-ACK leaves at 247 s),
	# and what went wrong if not.
	if ! wait_line "$tmp/srv-$port" accepted 400; then
		kill "$cap_pid" "$srv_pid" "$conn" 2>/dev/null
		wait "$cap_pid" "$srv_pid" "$conn" 2>/dev/null
		echo "# not accepted; the capture on vb, then B's and A's counters:"
		sed 's/^/# cap: /' "$tmp/fa-$port.txt"
		echo "# B:$(ip netns exec "$B" awk '$2 != 0 { printf " %s", $0 }' /proc/net/rtcp_stat)"
		echo "# A: $(ip netns exec "$A" nstat -asz 2>/dev/null | grep -E 'Challenge|Retrans|PAWS' | tr -s ' \n' ' ')"
		return 1
	fi
	wait "$srv_pid" || return 1
	kill "$cap_pid"; wait "$cap_pid" 2>/dev/null
	sed 's/^/# cap: /' "$tmp/fa-$port.txt"
	local ms=$((($(date +%s%N) - start) / 1000000))
	after=$(ns_stat "$B" RetransSegs)
	echo "# accepted after $ms ms; the listener retransmitted $((after - before)) SYN-ACK(s)"
	grep -q "^connected" "$tmp/conn-$port" || { cat "$tmp/conn-$port"; return 1; }
	kill "$conn"
	wait "$conn" 2>/dev/null
	[ "$ms" -ge 2000 ] && [ "$((after - before))" -ge 2 ]
}

test_final_ack_loss_linux() { final_ack_loss inet 8006; }
test_final_ack_loss_rtcp() { final_ack_loss rtcp 8007; }

ktap_print_header
if ! setup; then
	ktap_skip_all "cannot set up netns and veth"
	exit "$KSFT_FAIL"
fi
cases=(rtcp_to_linux linux_to_rtcp rtcp_to_rtcp syn_loss_backoff synack_loss final_ack_loss_linux final_ack_loss_rtcp)
declare -A what=(
	[rtcp_to_linux]="RTCP client to Linux TCP server over veth, options on the wire"
	[linux_to_rtcp]="Linux TCP client to RTCP server over veth, options on the wire"
	[rtcp_to_rtcp]="RTCP to RTCP over veth, options on the wire"
	[syn_loss_backoff]="lost SYNs are retransmitted 1 s apart, then with backoff"
	[synack_loss]="lost SYN-ACKs are retransmitted by the RTCP listener"
	[final_ack_loss_linux]="a lost final ACK from Linux TCP: the SYN-ACK again, then accept()"
	[final_ack_loss_rtcp]="a lost final ACK from RTCP: the SYN-ACK again, then accept()"
)
run_cases "$@"

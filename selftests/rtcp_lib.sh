# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# What RTCP's shell selftests share: the kselftest KTAP helpers, the test
# tool, a scratch directory, and two network namespaces joined by a veth
# pair. Set A, B (namespace names), ADDR_A, ADDR_B and optionally MTU
# before sourcing; `setup` builds the pair (va in A, vb in B, a /24), and
# everything goes when the script exits.
#
# Needs: KSFT_DIR, the kernel's tools/testing/selftests.

here=$(dirname "$(readlink -f "$0")")
. "$KSFT_DIR/kselftest/ktap_helpers.sh"

tool=$here/rtcp_tool
tmp=$(mktemp -d)

# A pause of $1 seconds that starts no program (read's timeout on a FIFO
# nobody writes to): under TCG with the debug kernel each program started
# costs a good part of a second of CPU, which the tests running beside
# this one need.
mkfifo "$tmp/nap" && exec {nap_fd}<>"$tmp/nap"
nap() { read -rt "$1" -u "$nap_fd" _ || :; }

# Waits until file $1 has a line holding the text $2, for at most $3
# seconds (default 30: a bound on a hang, not a measure of speed), with
# shell builtins only. 0, or 1 on the bound.
wait_line() {
	local file=$1 text=$2 end=$((SECONDS + ${3:-30})) line
	for (( ; ; )); do
		if [ -r "$file" ]; then
			while IFS= read -r line; do
				[[ $line == *"$text"* ]] && return 0
			done <"$file"
		fi
		[ "$SECONDS" -lt "$end" ] || return 1
		nap 0.1
	done
}

hold_a= hold_b=
cleanup() {
	kill $hold_a $hold_b 2>/dev/null
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The pair, in three programs (one ip -batch a namespace), and a process
# parked in each namespace: its /proc/PID/net is the namespace's
# /proc/net, which ns_stat and ns_proc read without starting a program.
setup() {
	printf 'netns add %s\nnetns add %s\n' "$A" "$B" | ip -batch - || return 1
	ip -n "$A" -batch - <<-EOF || return 1
		link set lo up
		link add va type veth peer name vb netns $B
		link set va mtu ${MTU:-1500} up
		addr add $ADDR_A/24 dev va
	EOF
	ip -n "$B" -batch - <<-EOF || return 1
		link set lo up
		link set vb mtu ${MTU:-1500} up
		addr add $ADDR_B/24 dev vb
	EOF
	# IPv6 too when the script names addresses for it (nodad: usable at
	# once, no duplicate address detection to wait for).
	if [ -n "${ADDR6_A:-}" ]; then
		ip -n "$A" addr add "$ADDR6_A/64" dev va nodad || return 1
		ip -n "$B" addr add "$ADDR6_B/64" dev vb nodad || return 1
	fi
	ip netns exec "$A" sleep 3600 </dev/null >/dev/null 2>&1 &
	hold_a=$!
	ip netns exec "$B" sleep 3600 </dev/null >/dev/null 2>&1 &
	hold_b=$!
	# Until `ip netns exec` has entered its namespace, /proc/PID/net is
	# this shell's: a counter read then is the wrong namespace's (on a
	# busy machine that can last seconds). -ef compares the namespace
	# inodes without starting a program.
	local end=$((SECONDS + 30))
	until [ "/proc/$hold_a/ns/net" -ef "/run/netns/$A" ] && [ "/proc/$hold_b/ns/net" -ef "/run/netns/$B" ]; do
		[ "$SECONDS" -lt "$end" ] || { echo "# the namespace holders did not start"; return 1; }
		nap 0.05
	done
}

# The /proc/net file $2 of namespace $1 (A or B).
ns_proc() {
	local pid=$hold_b
	[ "$1" = "$A" ] && pid=$hold_a
	echo "/proc/$pid/net/$2"
}

# RTCP's counter $2 (of /proc/net/rtcp_stat) in namespace $1, or nothing.
ns_stat() {
	local name val
	while read -r name val; do
		[ "$name" = "$2" ] && { echo "$val"; return; }
	done <"$(ns_proc "$1" rtcp_stat)"
}

# Checks the handshake in tcpdump's text $1 (-n -v) from $2 to $3 port
# $4: the SYN and the SYN-ACK each carry MSS $5, SACK-permitted,
# timestamps and window scale, and the SYN-ACK echoes the SYN's TSval.
# The shell's own matching: no program started.
check_handshake() {
	local text=$1 a=$2 b=$3 port=$4 mss=$5 syn="" synack="" line seg tsval="" ecr=""
	while IFS= read -r line; do
		[[ -z $syn && $line == *"$a."*" > $b.$port: Flags [S],"* ]] && syn=$line
		[[ -z $synack && $line == *"$b.$port > $a."*": Flags [S.],"* ]] && synack=$line
	done <"$text"
	echo "# SYN:     $syn"
	echo "# SYN-ACK: $synack"
	if [ -z "$syn" ] || [ -z "$synack" ]; then
		while IFS= read -r line; do echo "# capture: $line"; done <"$text"
		return 1
	fi
	for seg in "$syn" "$synack"; do
		[[ $seg == *"mss $mss"* ]] || { echo "# no MSS $mss"; return 1; }
		[[ $seg == *"sackOK"* ]] || { echo "# no SACK-permitted"; return 1; }
		[[ $seg == *"TS val"* ]] || { echo "# no timestamps"; return 1; }
		[[ $seg == *"wscale"* ]] || { echo "# no window scale"; return 1; }
	done
	[[ $syn =~ TS\ val\ ([0-9]+)\ ecr ]] && tsval=${BASH_REMATCH[1]}
	[[ $synack =~ TS\ val\ [0-9]+\ ecr\ ([0-9]+) ]] && ecr=${BASH_REMATCH[1]}
	[ -n "$tsval" ] && [ "$tsval" = "$ecr" ] || { echo "# TSecr $ecr is not TSval $tsval"; return 1; }
}

# Runs the cases named in "$@" as KTAP tests, all of the array `cases`
# (in its order) when none is named: case C runs test_C, described by
# what[C]. A name with no description ends the script before the plan.
run_cases() {
	local c
	[ $# -gt 0 ] || set -- "${cases[@]}"
	for c in "$@"; do
		[ -n "${what[$c]:-}" ] || { echo "# no case '$c'"; exit "$KSFT_FAIL"; }
	done
	ktap_set_plan $#
	for c in "$@"; do
		ktap_test_result "${what[$c]}" "test_$c"
	done
	ktap_finished
}

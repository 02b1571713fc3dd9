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

cleanup() {
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

setup() {
	ip netns add "$A" && ip netns add "$B" || return 1
	ip -n "$A" link add va type veth peer name vb netns "$B" || return 1
	ip -n "$A" link set lo up && ip -n "$B" link set lo up
	ip -n "$A" link set va mtu "${MTU:-1500}" up && ip -n "$B" link set vb mtu "${MTU:-1500}" up
	ip -n "$A" addr add "$ADDR_A/24" dev va && ip -n "$B" addr add "$ADDR_B/24" dev vb
}

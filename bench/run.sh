#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench, inside the VM (scripts/guest.sh): over veth between two
# namespaces, AF_INET then AF_RTCP in the same boot, each benchmark for
# SECONDS: bulk throughput of one stream and of eight, request/response
# latency (one byte each way on one connection), and the CRR loop
# (connect, one byte each way, close). One line per run, then the ratios
# AF_RTCP/AF_INET.
#
#   run.sh SECONDS
set -u
here=$(dirname "$(readlink -f "$0")")
secs=${1:-10}
out=$(mktemp -d)
ip netns add bench-a && ip netns add bench-b
ip -n bench-a link add va type veth peer name vb netns bench-b
ip -n bench-a link set lo up && ip -n bench-b link set lo up
ip -n bench-a link set va up && ip -n bench-b link set vb up
ip -n bench-a addr add 10.0.2.1/24 dev va && ip -n bench-b addr add 10.0.2.2/24 dev vb

echo "# over veth, $secs s each"
echo "# bulk FAMILY streams MB/s | rr FAMILY round-trips median_us p99_us |"
echo "# crr FAMILY connections conn/s median_us p99_us failed [errno:count]"
# Both servers run at once, and each benchmark runs for AF_INET then
# AF_RTCP back to back, so that neither family is always measured later
# in the boot than the other's whole set.
ip netns exec bench-b "$here/rtcp_bench" serve inet 10.0.2.2 9001 >/dev/null &
srv_inet=$!
ip netns exec bench-b "$here/rtcp_bench" serve rtcp 10.0.2.2 9002 >/dev/null &
srv_rtcp=$!
sleep 0.5
for run in "bulk $secs 1" "bulk $secs 8" "rr $secs" "crr $secs"; do
	set -- $run
	for family in inet rtcp; do
		port=9001
		[ "$family" = rtcp ] && port=9002
		ip netns exec bench-a "$here/rtcp_bench" "$1" "$family" 10.0.2.2 "$port" "${@:2}" |
			tee "$out/$1-${3:-x}-$family"
	done
done
kill "$srv_inet" "$srv_rtcp"
wait "$srv_inet" "$srv_rtcp" 2>/dev/null
ratio() {
	# $1: file stem, $2: field, $3: label
	local i r
	i=$(awk -v f="$2" '{ print $f }' "$out/$1-inet" 2>/dev/null)
	r=$(awk -v f="$2" '{ print $f }' "$out/$1-rtcp" 2>/dev/null)
	awk -v i="${i:-0}" -v r="${r:-0}" -v l="$3" \
		'BEGIN { if (i > 0) printf "ratio AF_RTCP/AF_INET %s: %.2f\n", l, r / i; else print "ratio " l ": no AF_INET figure" }'
}
ratio "bulk-1" 4 "bulk throughput, one stream"
ratio "bulk-8" 4 "bulk throughput, eight streams"
ratio "rr-x" 4 "request/response median latency"
ratio "rr-x" 5 "request/response p99 latency"
ratio "crr-x" 4 "CRR conn/s"
ratio "crr-x" 5 "CRR median"
ratio "crr-x" 6 "CRR p99"
rm -rf "$out"
ip netns del bench-a
ip netns del bench-b

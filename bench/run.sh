#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench, inside the VM (scripts/guest.sh): the CRR loop over veth
# between two namespaces, AF_INET then AF_RTCP, in the same boot; prints
# one line per family and their ratio.
#
#   run.sh SECONDS
set -u
here=$(dirname "$(readlink -f "$0")")
secs=${1:-10}
ip netns add bench-a && ip netns add bench-b
ip -n bench-a link add va type veth peer name vb netns bench-b
ip -n bench-a link set lo up && ip -n bench-b link set lo up
ip -n bench-a link set va up && ip -n bench-b link set vb up
ip -n bench-a addr add 10.0.2.1/24 dev va && ip -n bench-b addr add 10.0.2.2/24 dev vb

echo "# CRR over veth for $secs s each: family connections conn/s median_us p99_us failed [errno:count]"
port=9000
for family in inet rtcp; do
	port=$((port + 1))
	ip netns exec bench-b "$here/rtcp_bench" serve "$family" 10.0.2.2 "$port" >/dev/null &
	srv=$!
	sleep 0.5
	ip netns exec bench-a "$here/rtcp_bench" crr "$family" 10.0.2.2 "$port" "$secs" | tee "/tmp/bench-$family"
	kill "$srv"
	wait "$srv" 2>/dev/null
done
awk 'FNR == 1 { rate[FILENAME] = $3; med[FILENAME] = $4; p99[FILENAME] = $5 }
     END {
	i = "/tmp/bench-inet"; r = "/tmp/bench-rtcp"
	if (rate[i] > 0 && med[i] > 0)
		printf "ratio AF_RTCP/AF_INET: conn/s %.2f, median connect %.2f, p99 connect %.2f\n",
			rate[r] / rate[i], med[r] / med[i], p99[r] / p99[i]
     }' /tmp/bench-inet /tmp/bench-rtcp
ip netns del bench-a
ip netns del bench-b

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench, inside the VM (scripts/guest.sh): over veth between two
# namespaces, AF_INET then AF_RTCP in the same boot, each benchmark for
# SECONDS: bulk throughput of one stream and of eight, request/response
# latency (one byte each way on one connection), and the CRR loop
# (connect, one byte each way, close), and bulk and CRR again over IPv6
# (AF_INET6 against RTCP's IPv6 sockets); then nginx with wrk and iperf3,
# plain and under rtcpize. One line per run, then the ratios
# AF_RTCP/AF_INET and rtcpize/plain: with RUNS rounds of it all, one
# after the other (interleaved, so that no benchmark always runs at the
# same point of the boot), each ratio's median and range over the rounds.
#
#   run.sh SECONDS [RUNS]
#
# ONLY (make bench's BENCH_ONLY), comma-separated, runs only the
# benchmarks it names (bulk bulk8 rr crr bulk6 crr6 scale ports wrk
# iperf3) and reports only their ratios: for an A/B of one change.
set -u
here=$(dirname "$(readlink -f "$0")")
secs=${1:-10}
runs=${2:-1}
top=$(mktemp -d)
only=${ONLY:-}
# Whether benchmark $1 runs this time.
wanted() {
	[ -z "$only" ] || [[ ",$only," == *",$1,"* ]]
}
ip netns add bench-a && ip netns add bench-b
ip -n bench-a link add va type veth peer name vb netns bench-b
ip -n bench-a link set lo up && ip -n bench-b link set lo up
ip -n bench-a link set va up && ip -n bench-b link set vb up
ip -n bench-a addr add 10.0.2.1/24 dev va && ip -n bench-b addr add 10.0.2.2/24 dev vb
ip -n bench-a addr add fd00:2::1/64 dev va nodad && ip -n bench-b addr add fd00:2::2/64 dev vb nodad

# One round of every benchmark, its figures in $out.
round() {
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
	# The same over IPv6: AF_INET6 and RTCP's IPv6 sockets.
	ip netns exec bench-b "$here/rtcp_bench" serve inet fd00:2::2 9003 >/dev/null &
	srv_inet6=$!
	ip netns exec bench-b "$here/rtcp_bench" serve rtcp fd00:2::2 9004 >/dev/null &
	srv_rtcp6=$!
	sleep 0.5
	for run in "bulk $secs 1" "bulk $secs 8" "rr $secs" "crr $secs" "bulk6 $secs 1" "crr6 $secs"; do
		set -- $run
		name=$1
		[ "$1 ${3:-}" = "bulk 8" ] && name=bulk8
		wanted "$name" || continue
		for family in inet rtcp; do
			port=9001 to=10.0.2.2
			[ "$family" = rtcp ] && port=9002
			if [ "${1%6}" != "$1" ]; then
				to=fd00:2::2 port=$((port + 2))
			fi
			ip netns exec bench-a "$here/rtcp_bench" "${1%6}" "$family" "$to" "$port" "${@:2}" |
				tee "$out/$1-${3:-x}-$family"
		done
	done
	kill "$srv_inet" "$srv_rtcp" "$srv_inet6" "$srv_rtcp6"
	wait "$srv_inet" "$srv_rtcp" "$srv_inet6" "$srv_rtcp6" 2>/dev/null

	# Scale, over loopback in one namespace: SCALE_CONNS connections
	# opened and held (time, and memory per connection), then closed; and
	# how many connections two servers take from a 1,000-port ephemeral
	# range (inet_hash_connect shares a port among four-tuples).
	echo "# scale FAMILY connections setup_s conn/s KB/conn close_s | ports FAMILY connections errno"
	for family in inet rtcp; do
		port=9101
		[ "$family" = rtcp ] && port=9201
		wanted scale && ip netns exec bench-a "$here/rtcp_bench" scale "$family" 127.0.0.1 "$port" "${SCALE_CONNS:-20000}" |
			tee "$out/scale-x-$family"
		wanted ports && ip netns exec bench-a "$here/rtcp_bench" ports "$family" 127.0.0.1 $((port + 10)) |
			tee "$out/ports-x-$family"
	done

	# The tools people quote, each plain (Linux's TCP) then under rtcpize
	# (AF_RTCP), for PROG_SECS: nginx serving a 16 KiB file to wrk (2
	# threads, 8 connections) with keep-alive and with a connection per
	# request, and iperf3's one stream (selftests/rtcp_progs.sh runs them).
	. "$here/../selftests/rtcp_progs.sh"
	prog_secs=$((secs < 8 ? secs : 8))
	echo "# the tools, $prog_secs s each, plain then under rtcpize"
	echo "# wrk plain|rtcpize keepalive|close requests/s errors | iperf3 plain|rtcpize Mbit/s retransmissions"
	mkdir -p "$out/www"
	head -c 16384 /dev/urandom >"$out/www/small"
	port=8080
	for conn in keepalive close; do
		wanted wrk || continue
		for family in plain rtcpize; do
			wrap=()
			[ "$family" = rtcpize ] && wrap=("$rtcpize" run)
			nginx_conf "$out/nginx-$port" "$out/www" 10.0.2.2 "$port" "" nolog
			if nginx_start bench-b "$out/nginx-$port" 1 "$port" "${wrap[@]}"; then
				wrk_run bench-a "http://10.0.2.2:$port/small" "$prog_secs" "$conn" "$out/wrk" "${wrap[@]}"
				if wrk_summary "$out/wrk"; then
					echo "wrk $family $conn ${wrk[rps]} $((wrk[connect] + wrk[read] + wrk[write] + wrk[status] + wrk[timeout]))" |
						tee "$out/wrk-$conn-$family"
				else
					echo "wrk $family $conn: no summary"; cat "$out/wrk"
				fi
			else
				echo "nginx $family: no listener"; cat "$out/nginx-$port/error.log"
			fi
			nginx_stop
			port=$((port + 1))
		done
	done
	for family in plain rtcpize; do
		wanted iperf3 || continue
		wrap=()
		[ "$family" = rtcpize ] && wrap=("$rtcpize" run)
		iperf3_run bench-b bench-a 10.0.2.2 "$port" "$out/iperf3.json" "-t $prog_secs" "${wrap[@]}"
		if fig=$(iperf3_figures "$out/iperf3.json"); then
			read -r _ _ mbps _ _ retrans <<<"$fig"
			echo "iperf3 $family $mbps $retrans" | tee "$out/iperf3-x-$family"
		else
			echo "iperf3 $family: $fig"
		fi
		port=$((port + 1))
	done
}

ratio() {
	# $1: file stem, $2: field, $3: label; $4, $5: the files' suffixes
	# and the ratio's name (default AF_RTCP's against AF_INET's). One
	# line, and the figure alone in $top/ratios/<label> for the summary.
	local i r a=${4:-inet} b=${5:-rtcp}
	i=$(awk -v f="$2" '{ print $f }' "$out/$1-$a" 2>/dev/null)
	r=$(awk -v f="$2" '{ print $f }' "$out/$1-$b" 2>/dev/null)
	awk -v i="${i:-0}" -v r="${r:-0}" -v l="$3" -v n="${6:-AF_RTCP/AF_INET}" \
		'BEGIN { if (i > 0) printf "ratio %s %s: %.2f\n", n, l, r / i; else print "ratio " l ": no " n " figure" }'
	local key v
	key=$(echo "${6:-AF_RTCP/AF_INET} $3" | tr / %)
	mkdir -p "$top/ratios"
	[ -e "$top/ratios/$key" ] || echo "$key" >>"$top/order"
	v=$(awk -v i="${i:-0}" -v r="${r:-0}" 'BEGIN { if (i > 0) printf "%.2f", r / i }')
	[ -n "$v" ] && echo "$v" >>"$top/ratios/$key"
	touch "$top/ratios/$key"
}

# Every ratio of the round in $out.
ratios() {
	wanted bulk && ratio "bulk-1" 4 "bulk throughput, one stream"
	wanted bulk8 && ratio "bulk-8" 4 "bulk throughput, eight streams"
	wanted rr && ratio "rr-x" 4 "request/response median latency"
	wanted rr && ratio "rr-x" 5 "request/response p99 latency"
	wanted crr && ratio "crr-x" 4 "CRR conn/s"
	wanted crr && ratio "crr-x" 5 "CRR median"
	wanted crr && ratio "crr-x" 6 "CRR p99"
	wanted bulk6 && ratio "bulk6-1" 4 "IPv6 bulk throughput, one stream" inet rtcp AF_RTCP6/AF_INET6
	wanted crr6 && ratio "crr6-x" 4 "IPv6 CRR conn/s" inet rtcp AF_RTCP6/AF_INET6
	wanted scale && ratio "scale-x" 5 "connections opened per second, ${SCALE_CONNS:-20000} held"
	wanted scale && ratio "scale-x" 6 "memory per idle connection"
	wanted scale && ratio "scale-x" 7 "time to close them"
	wanted ports && ratio "ports-x" 3 "connections from a 1,000-port range"
	wanted wrk && ratio "wrk-keepalive" 4 "nginx+wrk requests/s, keep-alive" plain rtcpize rtcpize/plain
	wanted wrk && ratio "wrk-close" 4 "nginx+wrk requests/s, a connection per request" plain rtcpize rtcpize/plain
	wanted iperf3 && ratio "iperf3-x" 3 "iperf3 throughput" plain rtcpize rtcpize/plain
}

# PROFILE set: where each benchmark's time goes, instead of its figures.
# perf samples every CPU (the software clock: TCG has no PMU) while the
# benchmark runs, once for each family, and prints the share of each
# part (idle, the kernel, rtcp.ko, user space) and the functions that
# took the most samples,
# themselves and, for rtcp.ko's, under them (bench/perf_top.py names
# them from /proc/kallsyms; Rust's v0 names go through rustfilt, which
# make profile installs).
profile() {
	local run family port to data demangle=${RUSTFILT:-cat}
	ip netns exec bench-b "$here/rtcp_bench" serve inet 10.0.2.2 9001 >/dev/null &
	local srv=($!)
	ip netns exec bench-b "$here/rtcp_bench" serve rtcp 10.0.2.2 9002 >/dev/null &
	srv+=($!)
	ip netns exec bench-b "$here/rtcp_bench" serve inet fd00:2::2 9003 >/dev/null &
	srv+=($!)
	ip netns exec bench-b "$here/rtcp_bench" serve rtcp fd00:2::2 9004 >/dev/null &
	srv+=($!)
	sleep 0.5
	data=$top/perf.data
	for run in ${PROFILE//,/ }; do
		for family in inet rtcp; do
			port=9001 to=10.0.2.2
			[ "$family" = rtcp ] && port=9002
			if [ "${run%6}" != "$run" ]; then
				to=fd00:2::2 port=$((port + 2))
			fi
			set -- "${run%6}"
			case $1 in
			bulk) set -- bulk "$secs" 1 ;;
			bulk8) set -- bulk "$secs" 8 ;;
			*) set -- "$1" "$secs" ;;
			esac
			echo "# profile: $run $family"
			# No build-id cache: the guest's root is the host's, read-only.
			perf record -q -a -g -F 499 -N -o "$data" -- \
				ip netns exec bench-a "$here/rtcp_bench" "$1" "$family" "$to" "$port" "${@:2}"
			perf script -i "$data" -F ip 2>/dev/null | python3 "$here/perf_top.py" "$demangle"
		done
	done
	kill "${srv[@]}"
	wait "${srv[@]}" 2>/dev/null
}
if [ -n "${PROFILE:-}" ]; then
	profile
	rm -rf "$top"
	ip netns del bench-a
	ip netns del bench-b
	exit 0
fi

for n in $(seq "$runs"); do
	out=$top/run-$n
	mkdir -p "$out"
	[ "$runs" -gt 1 ] && echo "# round $n of $runs"
	round
	ratios
done
# The median of each ratio over the rounds, and its range.
if [ "$runs" -gt 1 ]; then
	echo "# each ratio over $runs rounds: median [least, most]"
	while read -r key; do
		sort -n "$top/ratios/$key" | awk -v l="$(echo "$key" | tr % /)" '{ v[NR] = $1 }
			END { if (NR == 0) { print "median ratio " l ": no figure"; exit }
				m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "median ratio %s: %.2f [%.2f, %.2f] of %d\n", l, m, v[1], v[NR], NR }'
	done <"$top/order"
fi
rm -rf "$top"
ip netns del bench-a
ip netns del bench-b

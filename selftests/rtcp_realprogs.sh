#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Real programs from Debian, unmodified, over RTCP under rtcpize: nginx
# serving static files with Debian's `sendfile on; tcp_nopush on;` to
# wrk, with keep-alive, with a new connection per request, and with
# `reuseport` in its listen line; iperf3 each way with -C, -M, -w and -Z.
# Each case runs once with both ends on Linux's TCP and once with both
# under rtcpize, across a veth pair, checks what arrived (wrk: no socket
# error, no status but 200, every response whole; iperf3: the test
# completes and the receiver counted what the sender sent) and that the
# connections were the family's own, and prints the figures side by side.
# The figures are never judged: the guest's speed is no test's.
#
# rtcp_realprogs.sh [CASE...] runs the cases named (nginx_keepalive,
# nginx_close, nginx_reuseport, iperf3, iperf3_reverse), all by default;
# two runs at once use namespaces of their own.
#
# Needs: KSFT_DIR; rtcp.ko loaded; rtcpize built; nginx, wrk, iperf3 and
# curl (scripts/deps.sh).

set -u
A=rtcp-rp-a-$$
B=rtcp-rp-b-$$
ADDR_A=10.0.15.1
ADDR_B=10.0.15.2
. "$(dirname "$(readlink -f "$0")")/rtcp_lib.sh"
. "$here/rtcp_progs.sh"

SECS=3
SMALL=16384
BIG=1048576
# iperf3's -w
WINDOW=262144

# The wrapper of family $1's programs, into the array wrap.
wrap_of() {
	wrap=()
	[ "$1" = rtcp ] && wrap=("$rtcpize" run)
}

# What the runs of each family are called: Linux's TCP plain, RTCP
# under rtcpize.
declare -A label=([inet]=inet [rtcp]=rtcpize)

# The figures of the two families side by side, and their ratio. $1:
# what, $2: the unit, $3 and $4: inet's and rtcpize's.
side_by_side() {
	awk -v w="$1" -v u="$2" -v i="${3:-0}" -v r="${4:-0}" 'BEGIN {
		printf "# %s: inet %s %s, rtcpize %s %s", w, i, u, r, u
		if (i > 0 && r > 0) printf " (%.2f)", r / i
		print "" }'
}

# The listeners on port $2 in B, Linux's and RTCP's, must be $3 of family
# $1's and none of the other's.
own_listeners() {
	local fam=$1 port=$2 want=$3 tcp rtcp
	tcp=$(listeners "$(ns_proc "$B" tcp)" "$port")
	rtcp=$(listeners "$(ns_proc "$B" rtcp)" "$port")
	echo "# ${label[$fam]}: $tcp Linux and $rtcp RTCP listeners on $port"
	if [ "$fam" = rtcp ]; then
		[ "$rtcp" = "$want" ] && [ "$tcp" = 0 ]
	else
		[ "$tcp" = "$want" ] && [ "$rtcp" = 0 ]
	fi
}

# RTCP's counter $2 in namespace $1 went up by at least $3 since $4 (a
# run under rtcpize), or not at all (family $5 inet).
opens_moved() {
	local ns=$1 name=$2 least=$3 before=$4 fam=$5 now
	now=$(ns_stat "$ns" "$name")
	echo "# ${label[$fam]}: RTCP's $name went from $before to $now"
	if [ "$fam" = rtcp ]; then
		[ $((now - before)) -ge "$least" ]
	else
		[ "$now" = "$before" ]
	fi
}

# What wrk (output in $1) and nginx's log ($2) say of one run: no error
# of any kind, every response a 200 and whole; with $4 "reuseport", both
# workers served. $3: family. Shell builtins only (each program started
# costs the guest a good part of a second).
wrk_ok() {
	local out=$1 log=$2 fam=$3 flags=$4 f line pid status bytes bad=0 whole=0 fail=0
	local -A workers=()
	if ! wrk_summary "$out"; then
		echo "# no summary from wrk:"
		while IFS= read -r line; do echo "# $line"; done <"$out"
		return 1
	fi
	while IFS= read -r line; do
		[[ $line == wrk-summary* ]] && echo "# ${label[$fam]}: $line"
		[[ $line == *Non-2xx* ]] && { echo "# wrk: $line"; fail=1; }
	done <"$out"
	for f in connect read write status timeout; do
		[ "${wrk[$f]}" = 0 ] || { echo "# wrk: ${wrk[$f]} $f errors"; fail=1; }
	done
	[ "${wrk[requests]}" -gt 0 ] || { echo "# wrk made no request"; return 1; }
	[ "${wrk[bytes]}" -ge $((wrk[requests] * SMALL)) ] ||
		{ echo "# wrk read ${wrk[bytes]} bytes for ${wrk[requests]} responses"; fail=1; }
	# nginx's word: a response that wrk's end cut short may be logged
	# with fewer bytes, but with no other status. The big file is curl's.
	while read -r pid status bytes; do
		[ "$bytes" = "$BIG" ] && continue
		workers[$pid]=1
		[ "$status" = 200 ] || { bad=$((bad + 1)); continue; }
		[ "$bytes" = "$SMALL" ] && whole=$((whole + 1))
	done <"$log"
	[ "$bad" = 0 ] || { echo "# nginx logged $bad responses that were not 200"; fail=1; }
	[ "$whole" -ge "${wrk[requests]}" ] ||
		{ echo "# nginx sent $whole whole responses, wrk counted ${wrk[requests]}"; fail=1; }
	if [ "$flags" = reuseport ]; then
		# Each worker has a listener of its own: both served.
		echo "# ${label[$fam]}: ${#workers[@]} workers served"
		[ "${#workers[@]}" = 2 ] || fail=1
	fi
	return "$fail"
}

# nginx in B serving wrk in A, once for each family. $1: the listen
# line's flags, $2: "close" (a new connection per request) or
# "keepalive", $3: the port of the inet run (rtcpize's is the next).
nginx_case() {
	local flags=$1 conn=$2 port=$3 fam dir want=1 opens rc least fail=0 rps=()
	[ "$flags" = reuseport ] && want=2
	if [ ! -d "$tmp/www" ]; then
		mkdir "$tmp/www"
		head -c "$SMALL" /dev/urandom >"$tmp/www/small"
		head -c "$BIG" /dev/urandom >"$tmp/www/big"
	fi
	for fam in inet rtcp; do
		wrap_of "$fam"
		dir=$tmp/nginx-$port
		nginx_conf "$dir" "$tmp/www" "$ADDR_B" "$port" "$flags" log
		opens=$(ns_stat "$B" PassiveOpens)
		if ! nginx_start "$B" "$dir" "$want" "$port" "${wrap[@]}"; then
			echo "# ${label[$fam]}: nginx did not listen on $port"
			sed 's/^/# /' "$dir/error.log" "$dir/nginx.out" 2>/dev/null
			nginx_stop
			fail=1 port=$((port + 1)) rps+=(0)
			continue
		fi
		own_listeners "$fam" "$port" "$want" || fail=1
		# The big file once, byte for byte: sendfile's pages as they
		# are (once a family: each program started costs the guest).
		if [ "$conn" = keepalive ]; then
			timeout -k 5 90 ip netns exec "$A" "${wrap[@]}" curl -s --max-time 60 \
				-o "$dir/got" "http://$ADDR_B:$port/big"
			rc=$?
			if [ "$rc" = 0 ] && cmp -s "$tmp/www/big" "$dir/got"; then
				echo "# ${label[$fam]}: curl fetched the $BIG bytes of a file, the same"
			else
				echo "# ${label[$fam]}: curl exited with $rc, or the file differs"
				fail=1
			fi
		fi
		wrk_run "$A" "http://$ADDR_B:$port/small" "$SECS" "$conn" "$dir/wrk" "${wrap[@]}"
		rc=$?
		nginx_stop
		[ "$rc" = 0 ] || { echo "# ${label[$fam]}: wrk exited with $rc"; fail=1; }
		wrk_ok "$dir/wrk" "$dir/access.log" "$fam" "$flags" || fail=1
		rps+=("${wrk[rps]:-0}")
		# Every connection wrk made (one a request when it closes
		# them).
		least=1
		[ "$conn" = close ] && least=${wrk[requests]:-1}
		opens_moved "$B" PassiveOpens "$least" "$opens" "$fam" || fail=1
		port=$((port + 1))
	done
	side_by_side "nginx+wrk ($conn${flags:+, $flags})" req/s "${rps[@]}"
	return "$fail"
}

# iperf3 from A to B, once for each family. $1: the port of the inet
# run (rtcpize's is the next), $2: the congestion control, the rest
# more arguments (-R: from B to A).
iperf3_case() {
	local port=$1 cc=$2 fam out fig sent recv mbps ccs ccr retrans opens fail=0 rates=()
	shift 2
	local args="-t $SECS -C $cc -M 1000 -w $WINDOW -Z $*"
	echo "# iperf3 $args"
	for fam in inet rtcp; do
		wrap_of "$fam"
		out=$tmp/iperf3-$port.json
		opens=$(ns_stat "$A" ActiveOpens)
		iperf3_run "$B" "$A" "$ADDR_B" "$port" "$out" "$args" "${wrap[@]}" ||
			{ echo "# ${label[$fam]}: iperf3 failed"; fail=1; }
		if ! fig=$(iperf3_figures "$out"); then
			echo "# ${label[$fam]}: iperf3: $fig"
			sed 's/^/# server: /' "$out.server"
			fail=1 port=$((port + 1)) rates+=(0)
			continue
		fi
		read -r sent recv mbps ccs ccr retrans <<<"$fig"
		echo "# ${label[$fam]}: sent $sent, received $recv bytes, $mbps Mbit/s, congestion control $ccs/$ccr, $retrans retransmissions"
		# iperf3 stops counting when the test's time is up, with bytes
		# still on their way (in the sender's buffer, in flight, in
		# the receiver's): on Linux's TCP too the receiver counts up to
		# about 1 MiB less than was sent (-w 256K; 4 * 256K is what the
		# two buffers hold by their SO_SNDBUF and SO_RCVBUF, doubled).
		# So the receiver's count is at most the sender's and short by
		# less than twice that; byte for byte the nginx cases check.
		[ "$recv" -gt 0 ] && [ "$recv" -le "$sent" ] && [ $((sent - recv)) -le $((8 * WINDOW)) ] ||
			{ echo "# the receiver's count is not the sender's"; fail=1; }
		[ "$ccs" = "$cc" ] && [ "$ccr" = "$cc" ] || { echo "# not $cc"; fail=1; }
		# The control connection and the data's.
		opens_moved "$A" ActiveOpens 2 "$opens" "$fam" || fail=1
		rates+=("$mbps")
		port=$((port + 1))
	done
	side_by_side "iperf3${*:+ $*}" Mbit/s "${rates[@]}"
	return "$fail"
}

test_nginx_keepalive() { nginx_case "" keepalive 8080; }
test_nginx_close() { nginx_case "" close 8082; }
test_nginx_reuseport() { nginx_case reuseport close 8084; }
test_iperf3() { iperf3_case 5201 reno; }
test_iperf3_reverse() { iperf3_case 5203 cubic -R; }

ktap_print_header
for p in nginx wrk iperf3 curl; do
	command -v "$p" >/dev/null || { ktap_skip_all "no $p (scripts/deps.sh installs it)"; exit "$KSFT_FAIL"; }
done
if ! setup; then
	ktap_skip_all "cannot set up netns and veth"
	exit "$KSFT_FAIL"
fi
cases=(nginx_keepalive nginx_close nginx_reuseport iperf3 iperf3_reverse)
declare -A what=(
	[nginx_keepalive]="nginx (sendfile, tcp_nopush) to wrk, keep-alive, inet and rtcpize"
	[nginx_close]="nginx (sendfile, tcp_nopush) to wrk, a connection per request, inet and rtcpize"
	[nginx_reuseport]="nginx with reuseport to wrk, a connection per request, inet and rtcpize"
	[iperf3]="iperf3 -C reno -M 1000 -w 256K -Z, inet and rtcpize"
	[iperf3_reverse]="iperf3 -R -C cubic -M 1000 -w 256K -Z, inet and rtcpize"
)
run_cases "$@"

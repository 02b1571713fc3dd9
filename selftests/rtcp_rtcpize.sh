#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rtcpize: a program run under `rtcpize run` gets AF_RTCP for its TCP
# sockets and nothing else changed; real programs (Python's http.server,
# curl) then talk over RTCP across a veth pair.
#
# Needs: KSFT_DIR; rtcp.ko loaded; rtcpize built (../rtcpize).

A=rtcp-rz-a
B=rtcp-rz-b
ADDR_A=10.0.9.1
ADDR_B=10.0.9.2
. "$(dirname "$(readlink -f "$0")")/rtcp_lib.sh"

rtcpize=$here/../rtcpize/rtcpize
py=/usr/bin/python3

# The SO_DOMAIN of the sockets a Python one-liner makes, on one line.
domains() {
	"$@" "$py" -c '
import socket as s
def dom(*a):
    try:
        return str(s.socket(*a).getsockopt(s.SOL_SOCKET, s.SO_DOMAIN))
    except OSError as e:
        return "E%d" % e.errno
print(dom(), dom(s.AF_INET, s.SOCK_STREAM | s.SOCK_NONBLOCK | s.SOCK_CLOEXEC, s.IPPROTO_TCP),
      dom(s.AF_INET, s.SOCK_DGRAM), dom(s.AF_UNIX, s.SOCK_STREAM), dom(s.AF_INET, s.SOCK_RAW, s.IPPROTO_TCP),
      dom(s.AF_INET6, s.SOCK_STREAM), dom(s.AF_INET6, s.SOCK_DGRAM))'
}

test_tcp_becomes_rtcp() {
	local got
	got=$(domains "$rtcpize" run)
	echo "# under rtcpize: $got"
	# TCP twice as AF_RTCP (46); UDP (2), AF_UNIX (1) and raw (2) as asked;
	# IPv6 TCP as AF_RTCP too, IPv6 UDP (10) as asked.
	[ "$got" = "46 46 2 1 2 46 10" ]
}

test_without_rtcpize() {
	local got
	got=$(domains env)
	echo "# without: $got"
	[ "$got" = "2 2 2 1 2 10 10" ]
}

test_usage() {
	"$rtcpize" >/dev/null 2>&1
	[ $? = 2 ] || return 1
	"$rtcpize" run >/dev/null 2>&1
	[ $? = 2 ] || return 1
	"$rtcpize" exec true >/dev/null 2>&1
	[ $? = 2 ]
}

# http.server in B and curl in A, both under rtcpize: the page arrives
# intact, the listener is RTCP's (in /proc/net/rtcp, not /proc/net/tcp),
# and each side counted its open.
test_http_over_rtcp() {
	mkdir -p "$tmp/www"
	head -c 300000 /dev/urandom >"$tmp/www/page"
	ip netns exec "$B" "$rtcpize" run "$py" -m http.server 8080 --bind "$ADDR_B" \
		--directory "$tmp/www" >"$tmp/http.log" 2>&1 &
	# Its listener within 300 s, a bound on a hang: beside six other jobs
	# under TCG, Python once had not listened after 60 s, alive and
	# silent.
	local srv=$! end=$((SECONDS + 300)) ok=
	while [ "$SECONDS" -lt "$end" ]; do
		grep -q ':1F90 00000000:0000 0A' "$(ns_proc "$B" rtcp)" && { ok=1; break; }
		kill -0 "$srv" 2>/dev/null || break
		nap 0.2
	done
	[ -n "$ok" ] || { echo "# no RTCP listener on 8080"; cat "$tmp/http.log"; kill "$srv"; return 1; }
	if grep -q ':1F90 00000000:0000 0A' "$(ns_proc "$B" tcp)"; then
		echo "# a Linux TCP listener on 8080"
		kill "$srv"
		return 1
	fi
	ip netns exec "$A" "$rtcpize" run curl -s --max-time 60 -o "$tmp/got" "http://$ADDR_B:8080/page"
	local rc=$?
	kill "$srv"
	wait "$srv" 2>/dev/null
	[ $rc = 0 ] || { echo "# curl: $rc"; return 1; }
	cmp -s "$tmp/www/page" "$tmp/got" || { echo "# the page differs"; return 1; }
	local active passive
	active=$(ns_stat "$A" ActiveOpens)
	passive=$(ns_stat "$B" PassiveOpens)
	echo "# ActiveOpens $active in A, PassiveOpens $passive in B"
	[ "${active:-0}" -ge 1 ] && [ "${passive:-0}" -ge 1 ]
}

ktap_print_header
if ! setup; then
	ktap_skip_all "cannot set up netns and veth"
	exit "$KSFT_FAIL"
fi
ktap_set_plan 4
ktap_test_result "rtcpize: TCP sockets become AF_RTCP, others stay" test_tcp_becomes_rtcp
ktap_test_result "without rtcpize the same sockets are Linux's" test_without_rtcpize
ktap_test_result "rtcpize without a command: usage, exit 2" test_usage
ktap_test_result "Python's http.server and curl over RTCP under rtcpize" test_http_over_rtcp
ktap_finished

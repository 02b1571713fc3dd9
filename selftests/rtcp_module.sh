#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rtcp.ko's lifetime: every socket holds a module reference, so rmmod is
# refused while one is open (or an orphan it left lives on) and succeeds
# once all are closed and the orphans ended; and the first
# socket(AF_RTCP, ...) loads the module through its "net-pf-46" alias.
#
# Needs: RTCP_KO, the path of the built rtcp.ko; KSFT_DIR, the kernel's
# tools/testing/selftests; rtcp.ko loaded when it starts. Leaves it loaded.

set -u
here=$(dirname "$(readlink -f "$0")")
. "$KSFT_DIR/kselftest/ktap_helpers.sh"

hold_pid=
hold_in=

# Starts rtcp_hold with $1 sockets (in netns $2 if given) and waits for it.
hold_start() {
	local n=$1 ns=${2:-} fifo
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$here/rtcp_hold" "$n" <"$fifo" >"$fifo.out" &
	else
		"$here/rtcp_hold" "$n" <"$fifo" >"$fifo.out" &
	fi
	hold_pid=$!
	exec {hold_in}>"$fifo"
	rm -f "$fifo"
	for _ in $(seq 100); do
		grep -q ready "$fifo.out" 2>/dev/null && return 0
		kill -0 "$hold_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

hold_stop() {
	exec {hold_in}>&-
	wait "$hold_pid"
}

loaded() { [ -d /sys/module/rtcp ]; }
refcnt() { cat /sys/module/rtcp/refcnt; }

test_refused_while_open() {
	hold_start 3 || return 1
	[ "$(refcnt)" -ge 3 ] || { echo "# refcnt $(refcnt) with 3 sockets open"; hold_stop; return 1; }
	if rmmod rtcp 2>/dev/null; then
		echo "# rmmod succeeded with sockets open"
		hold_stop
		return 1
	fi
	loaded || return 1
	hold_stop
}

test_refused_while_open_in_netns() {
	ip netns add rtcp-mod || return 1
	hold_start 1 rtcp-mod || { ip netns del rtcp-mod; return 1; }
	local ret=0
	rmmod rtcp 2>/dev/null && { echo "# rmmod succeeded with a socket open in a netns"; ret=1; }
	hold_stop
	ip netns del rtcp-mod
	return $ret
}

# A namespace whose last connections wait out TIME-WAIT goes when it is
# deleted, and they with it (Linux's TCP purges its TIME-WAIT socks at a
# namespace's exit): the module's references drop long before TIME-WAIT's
# 60 s would end. 40 s bounds a hang.
test_time_wait_goes_with_netns() {
	local ns=rtcp-tw port=8080 srv states ret=1
	ip netns add $ns || return 1
	ip -n $ns link set lo up
	ip netns exec $ns "$here/rtcp_tool" serve rtcp 127.0.0.1 $port 1 >/dev/null &
	srv=$!
	for _ in $(seq 100); do
		ip netns exec $ns "$here/rtcp_tool" connect rtcp 127.0.0.1 $port >/dev/null 2>&1 && break
		sleep 0.1
	done
	wait $srv
	# The client closed first: its end waits in TIME-WAIT (state 06).
	for _ in $(seq 100); do
		states=$(ip netns exec $ns awk 'NR > 1 { print $4 }' /proc/net/rtcp)
		case "$states" in *06*) break ;; esac
		sleep 0.1
	done
	case "$states" in
	*06*) ;;
	*) echo "# no connection in TIME-WAIT: states '$states'"; ip netns del $ns; return 1 ;;
	esac
	[ "$(refcnt)" -ge 1 ] || { echo "# refcnt $(refcnt) with a connection in TIME-WAIT"; ip netns del $ns; return 1; }
	ip netns del $ns
	local end=$((SECONDS + 40))
	while [ $SECONDS -lt $end ]; do
		[ "$(refcnt)" = 0 ] && { ret=0; break; }
		sleep 0.1
	done
	[ $ret = 0 ] || echo "# refcnt $(refcnt) 40 s after the namespace was deleted"
	return $ret
}

# An orphan (a connection closed with its data unacknowledged, its
# peer gone silent) holds the module until it ends: rmmod is refused
# meanwhile, and the references are all gone once it has, within the
# time Linux's tcp_orphan_retries gives its own (with TCP_RTO_MAX_MS 5 s
# set: none once the backed-off timeout reached the bound, about 11 s
# after the first timeout; 60 s bounds a hang).
test_orphan_holds_until_it_ends() {
	local ns=rtcp-orph port=8081 srv cli t0 ret=0 dir states
	dir=$(mktemp -d)
	ip netns add $ns || return 1
	ip -n $ns link set lo up
	ip netns exec $ns "$here/rtcp_tool" bulk rtcp 127.0.0.1 $port listen "$dir/s.st" 5000 >"$dir/s.out" 2>&1 &
	srv=$!
	for _ in $(seq 100); do grep -q ready "$dir/s.out" && break; sleep 0.1; done
	ip netns exec $ns "$here/rtcp_tool" bulk rtcp 127.0.0.1 $port connect "$dir/c.st" 5000 >"$dir/c.out" 2>&1 &
	cli=$!
	for _ in $(seq 300); do grep -q established "$dir/c.out" && [ -s "$dir/c.st" ] && break; sleep 0.1; done
	# The path goes silent, then the client closes: an orphan with
	# data in flight; the server's end goes with it (its reset lost).
	tc -n $ns qdisc add dev lo root netem loss 100% || ret=1
	kill -USR1 $cli
	wait $cli
	kill -KILL $srv
	wait $srv 2>/dev/null
	t0=$SECONDS
	if rmmod rtcp 2>/dev/null; then
		echo "# rmmod succeeded with an orphan alive"
		ip netns del $ns
		return 1
	fi
	states=$(ip netns exec $ns awk 'NR > 1 { print $4 }' /proc/net/rtcp)
	echo "# after close(): rmmod refused, states '$states', refcnt $(refcnt)"
	case "$states" in
	*04*) ;;
	*) echo "# no orphan in FIN-WAIT-1"; ret=1 ;;
	esac
	while [ "$(refcnt)" != 0 ] && [ $((SECONDS - t0)) -lt 60 ]; do sleep 0.1; done
	echo "# the orphan's references gone after $((SECONDS - t0)) s"
	[ "$(refcnt)" = 0 ] || { echo "# refcnt $(refcnt) 60 s after the close"; ret=1; }
	ip netns del $ns
	rm -rf "$dir"
	return $ret
}

test_unload_after_close() {
	[ "$(refcnt)" = 0 ] || { echo "# refcnt $(refcnt) with no socket open"; return 1; }
	rmmod rtcp || return 1
	! loaded
}

test_autoload() {
	local dir=/lib/modules/$(uname -r)
	# A private modules tree holding only rtcp.ko, for modprobe to find.
	mount -t tmpfs rtcp-modules /lib/modules || return 1
	mkdir -p "$dir/extra" && cp "$RTCP_KO" "$dir/extra/" || return 1
	touch "$dir/modules.order" "$dir/modules.builtin" "$dir/modules.builtin.modinfo"
	depmod || return 1
	modinfo -F alias rtcp | grep -qx net-pf-46 || { echo "# no net-pf-46 alias"; return 1; }
	loaded && { echo "# module loaded before the test"; return 1; }
	"$here/rtcp_hold" 1 </dev/null >/dev/null
	local ret=$?
	umount /lib/modules
	[ "$ret" = 0 ] && loaded
}

ktap_print_header
ktap_set_plan 6
ktap_test_result "rmmod refused while sockets are open" test_refused_while_open
ktap_test_result "rmmod refused while a socket is open in a netns" test_refused_while_open_in_netns
ktap_test_result "TIME-WAIT goes with its namespace" test_time_wait_goes_with_netns
ktap_test_result "an orphan holds the module until it ends, as tcp_orphan_retries" test_orphan_holds_until_it_ends
ktap_test_result "rmmod succeeds once all sockets are closed" test_unload_after_close
ktap_test_result "socket(AF_RTCP) autoloads the module (net-pf-46)" test_autoload
ktap_finished

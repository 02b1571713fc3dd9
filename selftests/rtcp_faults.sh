#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Faults under load (issue 17): bulk transfers run both ways at once over
# veth between two namespaces, on four connections side by side: Linux's
# TCP on both ends (the reference), RTCP on both ends, an RTCP client to
# a Linux server and a Linux client to an RTCP server. Then, in each case,
# one fault hits all four at the same moment, and what each application
# sees (the call that failed, its errno, when) is compared with what
# Linux's TCP gave its own:
#
#   peer_netns  the peer's processes die and its namespace is deleted:
#               the reset of their close, then the veth pair goes with
#               the namespace (no "unregister_netdevice: waiting");
#   link_down   the device goes down, then is deleted: both ends time out
#               (ENETUNREACH, EHOSTUNREACH or ETIMEDOUT, by timing), and
#               an orphan (a connection closed with its
#               data unacknowledged) ends within the time Linux's
#               tcp_orphan_retries gives its own;
#   route       the route to the peer is removed, then added through
#               another device (the old one black-holed), then replaced
#               back: every connection takes the new route and carries
#               on, as sk_dst_check makes Linux's do;
#   rmmod       `rmmod rtcp` during the transfers is refused (our own
#               sockets hold the module: this job shares the VM, and the
#               real unload is rtcp_module.sh's) and no byte is lost;
#   zero_window the peer stops reading, and each client closes with its
#               data unsent behind the shut window: an orphan probing
#               it, which must end no later than Linux's.
#
# Every socket has TCP_RTO_MAX_MS 1000 (on both stacks), so that a
# connection whose path is gone gives up in about 15 s rather than
# tcp_retries2's 15 minutes; the route case's, which must outlive their
# outages, 5000 (about a minute). Every wait is bounded (a bound on a hang,
# not a measure of speed); the times are printed. A time is compared
# with Linux's in the same run only with a wide margin (twice, or 5 s
# more), which a busy machine stretches for both alike.
#
# Needs: KSFT_DIR, the kernel's tools/testing/selftests; rtcp.ko loaded.

set -u
# Namespaces of its own (a name per run: a case may be run alone, beside
# another run).
A=rtcp-flt-a$$
B=rtcp-flt-b$$
ADDR_A=10.0.7.1
ADDR_B=10.0.7.2
. "$(dirname "$(readlink -f "$0")")/rtcp_lib.sh"

RTO_MAX=1000
# The four pairs: the client's family (in A), the server's (in B).
pairs=(inet:inet rtcp:rtcp rtcp:inet inet:rtcp)
# How much every end must move each way to count as carrying on.
STEP=131072

stamp() { local _us=${EPOCHREALTIME/./}; printf -v "$1" %d $((_us / 1000)); }

# Fresh namespaces for a case (the last case may have deleted some).
fresh() {
	kill $hold_a $hold_b 2>/dev/null
	wait $hold_a $hold_b 2>/dev/null
	hold_a= hold_b=
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	setup
}

# The start time of process $2 (clock ticks after boot: field 22 of
# /proc/PID/stat) into the variable named $1, without starting a program.
started() {
	local stat
	{ read -r stat <"/proc/$2/stat"; } 2>/dev/null || { printf -v "$1" %s gone; return; }
	stat=${stat##*) }
	# shellcheck disable=SC2086 # the fields, one a word
	set -- "$1" $stat
	printf -v "$1" %s "${21}"
}

# Whether process $1, started at $2 (started), still runs: a zombie has
# ended, and a pid given to another process since (were the guest to
# start more than pid_max in a run; a whole suite starts about 3,300) is
# not ours.
running() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- "$2" $stat
	[ "$2" != Z ] && [ "${21}" = "$1" ]
}

# Starts connection $1 (a name) from a client of family $2 in A to a
# server of family $3 in B at $4:$5. Its files: $tmp/$1.{a,b}.{out,st}.
declare -A apid bpid astart bstart
start_conn() {
	local n=$1 fa=$2 fb=$3 addr=$4 port=$5
	ip netns exec "$B" "$tool" bulk "$fb" "$addr" "$port" listen "$tmp/$n.b.st" $RTO_MAX >"$tmp/$n.b.out" 2>&1 &
	bpid[$n]=$!
	started "bstart[$n]" "$!"
	# (Starting a program can take long beside the other jobs: 120 s
	# bounds a hang.)
	wait_line "$tmp/$n.b.out" ready 120 || { echo "# $n: no listener: $(cat "$tmp/$n.b.out")"; return 1; }
	ip netns exec "$A" "$tool" bulk "$fa" "$addr" "$port" connect "$tmp/$n.a.st" $RTO_MAX >"$tmp/$n.a.out" 2>&1 &
	apid[$n]=$!
	started "astart[$n]" "$!"
	wait_line "$tmp/$n.a.out" established 120 && wait_line "$tmp/$n.b.out" established 120 ||
		{ echo "# $n: not connected"; cat "$tmp/$n.a.out" "$tmp/$n.b.out"; return 1; }
}

# The four pairs to $1, on ports from $2, named $3<pair>.
conns=()
start_pairs() {
	local i=0 p
	conns=()
	for p in "${pairs[@]}"; do
		start_conn "$3$p" "${p%:*}" "${p#*:}" "$1" $(($2 + i)) || return 1
		conns+=("$3$p")
		i=$((i + 1))
	done
}

# Bytes sent and received so far by the end $1 ($tmp/$1.st).
declare -A base_s base_r
moved_now() { local s=0 r=0; read -r s r <"$tmp/$1.st" 2>/dev/null; echo "${s:-0} ${r:-0}"; }
mark() {
	local e s r
	for e in "$@"; do
		s=0 r=0
		read -r s r <"$tmp/$e.st" 2>/dev/null
		base_s[$e]=${s:-0} base_r[$e]=${r:-0}
	done
}

# Waits until each end named in "$@" (after the bytes $1 and the bound
# $2 in s) has sent and received $1 more bytes since its mark; prints
# each one's time from now.
moved() {
	local bytes=$1 bound=$2 e s r t0 t left
	shift 2
	stamp t0
	local end=$((SECONDS + bound))
	left=("$@")
	while [ ${#left[@]} -gt 0 ]; do
		local still=()
		for e in "${left[@]}"; do
			s=0 r=0
			read -r s r <"$tmp/$e.st" 2>/dev/null
			s=${s:-0} r=${r:-0}
			if [ $((s - base_s[$e])) -ge "$bytes" ] && [ $((r - base_r[$e])) -ge "$bytes" ]; then
				stamp t
				echo "# $e: $((bytes / 1024)) KiB more each way after $((t - t0)) ms"
			else
				still+=("$e")
			fi
		done
		left=("${still[@]}")
		[ ${#left[@]} -eq 0 ] && break
		if [ "$SECONDS" -ge "$end" ]; then
			for e in "${left[@]}"; do
				echo "# $e: stuck at $(moved_now "$e") (from ${base_s[$e]} ${base_r[$e]}): $(tail -1 "$tmp/$e.out")"
			done
			return 1
		fi
		nap 0.2
	done
}

# The ends of the connections in "$@": NAME.a and NAME.b.
ends() { local n; for n in "$@"; do echo "$n.a" "$n.b"; done; }

# What ended end $1: "CALL ERRNO MS" of its last event (the errno
# "EOF" for an end of stream), or "running".
declare -A result
outcome() {
	local line last= call err at
	while IFS= read -r line; do
		case $line in send\ * | recv\ * | poll\ * | shutdown\ *) last=$line ;; esac
	done <"$tmp/$1.out"
	[ -n "$last" ] || { echo running; return; }
	read -r call err _ _ at <<<"$last"
	echo "$call $err $at"
}

# RTCP's sockets in both namespaces, for a test that failed.
show_socks() {
	local ns line
	for ns in "$A" "$B"; do
		[ -r "$(ns_proc "$ns" rtcp)" ] || continue
		while IFS= read -r line; do echo "# $ns: $line"; done <"$(ns_proc "$ns" rtcp)"
	done
}

# What an end $1 still running after $2 s and its peer saw: their last
# words, bytes sent and received, the sockets of both stacks, and the
# counters that are not zero.
stuck() {
	local e=$1 peer ns
	peer=${e%.?}.a
	[[ $e == *.a ]] && peer=${e%.a}.b
	echo "# $e still running after $2 s"
	# Where its process is: running, or asleep in the kernel, and where.
	local pid=${bpid[${e%.b}]:-}
	[[ $e == *.a ]] && pid=${apid[${e%.a}]:-}
	if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
		echo "# $e: pid $pid: $(grep -E '^(Name|State|PPid)' "/proc/$pid/status" | tr '\n\t' '  ')in $(cat "/proc/$pid/wchan" 2>/dev/null) (the last pid given: $(cat /proc/sys/kernel/ns_last_pid))"
		sed 's/^/#   /' "/proc/$pid/stack" 2>/dev/null
	fi
	for e in "$e" "$peer"; do
		echo "# $e: sent and received $(moved_now "$e"); its last words:"
		tail -n 3 "$tmp/$e.out" | sed 's/^/#   /'
	done
	show_socks
	for ns in "$A" "$B"; do
		ip netns exec "$ns" ss -tanoi | sed "s/^/# $ns: /"
		echo "# $ns: $(ip netns exec "$ns" awk '$2 != 0 { printf " %s", $0 }' /proc/net/rtcp_stat)"
	done
}

# Waits (at most $1 s) for the processes of the ends in "$2..." to exit.
wait_exit() {
	local bound=$1 e pid start end
	shift
	end=$((SECONDS + bound))
	for e in "$@"; do
		if [[ $e == *.a ]]; then
			pid=${apid[${e%.a}]} start=${astart[${e%.a}]}
		else
			pid=${bpid[${e%.b}]} start=${bstart[${e%.b}]}
		fi
		while running "$pid" "$start"; do
			[ "$SECONDS" -lt "$end" ] || {
				stuck "$e" "$bound"
				return 1
			}
			nap 0.2
		done
		wait "$pid" 2>/dev/null || :
	done
}

# Kills what is left of the tools (a case that failed halfway).
kill_tools() {
	local p
	for p in "${apid[@]}" "${bpid[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${apid[@]}" "${bpid[@]}"; do wait "$p" 2>/dev/null; done
	apid=() bpid=() astart=() bstart=()
}

# Checks that each end in "$3..." ended with a call failing with one of
# the errnos in $1 (a |-separated list), printing what each saw and how
# long after the fault (at $2 ms) it saw it. Sets noticed[END] (ms).
declare -A noticed
judge() {
	local allowed=$1 t0=$2 e call err at ret=0
	shift 2
	for e in "$@"; do
		read -r call err at < <(outcome "$e")
		if [ "$call" = running ]; then
			echo "# $e: still running"
			ret=1
			continue
		fi
		noticed[$e]=$((at - t0))
		echo "# $e: $call $err after ${noticed[$e]} ms"
		[[ "|$allowed|" == *"|$err|"* ]] || { echo "# $e: $err, not $allowed"; ret=1; }
	done
	return $ret
}

# Whether time $1 (RTCP's, ms) is within the margin of Linux's, $2.
within() { [ "$1" -le $(($2 * 2)) ] || [ "$1" -le $(($2 + 5000)) ]; }

# The connections whose remote port is $2 in namespace $1's /proc/net
# file $3 (tcp or rtcp), counted.
count_port() {
	local n=0 _sl _loc rem _x hex
	printf -v hex %04X "$2"
	# (The header's third field is "rem_address": no port.)
	while read -r _sl _loc rem _x; do
		[ "${rem#*:}" = "$hex" ] && n=$((n + 1))
	done <"$(ns_proc "$1" "$3")"
	echo $n
}

# Waits (at most $1 s) until each orphan named in "$2..." (NAME/PORT/FILE,
# the remote port, the /proc/net file of A it sits in) has left it;
# sets gone_at[NAME] (ms) for each, watched all at once.
declare -A gone_at
orphans_gone() {
	local end=$((SECONDS + $1)) o name port file t left
	shift
	left=("$@")
	while [ ${#left[@]} -gt 0 ]; do
		local still=()
		stamp t
		for o in "${left[@]}"; do
			IFS=/ read -r name port file <<<"$o"
			if [ "$(count_port "$A" "$port" "$file")" = 0 ]; then
				gone_at[$name]=$t
			else
				still+=("$o")
			fi
		done
		left=("${still[@]}")
		[ ${#left[@]} -eq 0 ] && break
		[ "$SECONDS" -lt "$end" ] || { echo "# orphans still there after $1 s: ${left[*]}"; return 1; }
		nap 0.2
	done
}

# 1. The peer's processes are killed and its namespace deleted. Their
# close resets what they had not read, so every end in A sees the
# reset; then B's namespace is dismantled and the veth pair with it.
case_peer_netns() {
	start_pairs "$ADDR_B" 9100 pn- || return 1
	local c e t0 t ret=0
	mark $(ends "${conns[@]}")
	moved $STEP 60 $(ends "${conns[@]}") || return 1
	stamp t0
	for c in "${conns[@]}"; do kill -KILL "${bpid[$c]}"; done
	for c in "${conns[@]}"; do wait "${bpid[$c]}" 2>/dev/null; done
	kill "$hold_b"
	wait "$hold_b" 2>/dev/null
	hold_b=
	ip netns del "$B"
	wait_exit 60 $(for c in "${conns[@]}"; do echo "$c.a"; done) || ret=1
	judge "ECONNRESET|EPIPE" "$t0" $(for c in "${conns[@]}"; do echo "$c.a"; done) || ret=1
	# The namespace goes, and with it vb and so va: no socket of either
	# stack holds it.
	local end=$((SECONDS + 60))
	while ip -n "$A" link show va >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || { echo "# va still there 60 s after B was deleted"; ret=1; break; }
		nap 0.2
	done
	stamp t
	echo "# B's namespace and the veth pair gone after $((t - t0)) ms"
	return $ret
}

# 2. The device goes down, then is deleted (and its veth peer with it):
# every end, in A and in B, retransmits into nothing until it gives up;
# RTCP's no later than Linux's by more than the margin.
# Besides, one connection of each stack is closed by its client in A
# right after the device went down, with data unacknowledged: an
# orphan, which must end no later than Linux's.
case_link_down() {
	start_pairs "$ADDR_B" 9200 ld- || return 1
	start_conn orph-inet inet inet "$ADDR_B" 9210 && start_conn orph-rtcp rtcp rtcp "$ADDR_B" 9211 ||
		return 1
	local all=("${conns[@]}" orph-inet orph-rtcp) c e t0 ret=0
	mark $(ends "${all[@]}")
	moved $STEP 60 $(ends "${all[@]}") || return 1
	stamp t0
	ip -n "$A" link set va down || return 1
	# The orphans' clients close at once, long before any end could
	# time out (about 13 s), however slow the machine is to look.
	local closed=() orph t call err at
	for orph in orph-inet orph-rtcp; do
		kill -USR1 "${apid[$orph]}"
	done
	# Down: nothing fails for a while (the connections wait for the
	# path); an end that ended, ended by its timeout, not sooner. Its
	# own clock says when, whenever this looks.
	nap 2
	for c in "${all[@]}"; do
		for e in "$c.a" "$c.b"; do
			[ "$e" = orph-inet.a ] || [ "$e" = orph-rtcp.a ] && continue
			read -r call err at < <(outcome "$e")
			[ "$call" = running ] || [ $((at - t0)) -ge 10000 ] ||
				{ echo "# $e ended $((at - t0)) ms after the link went down: $call $err"; ret=1; }
		done
	done
	wait_exit 120 orph-inet.a orph-rtcp.a || ret=1
	for orph in orph-inet orph-rtcp; do
		t=$(sed -n 's/^closed at //p' "$tmp/$orph.a.out")
		[ -n "$t" ] || { echo "# $orph: no close: $(cat "$tmp/$orph.a.out")"; return 1; }
		closed+=("$t")
	done
	ip -n "$A" link del va || return 1
	local live=($(ends "${conns[@]}") orph-inet.b orph-rtcp.b)
	# tcp_retries2 (15) with RTO_MAX 1 s: about 15 s after the last ACK.
	# A retransmission that finds no route leaves the lookup's error as
	# the soft error (inet_sk_rebuild_header), which the timeout reports
	# in place of ETIMEDOUT, and a failed ARP its ICMP host unreachable;
	# which of them an end reports depends on timing (Linux's ends gave
	# each of the three in the runs seen), so only the three pass.
	wait_exit 120 "${live[@]}" || ret=1
	judge "ENETUNREACH|EHOSTUNREACH|ETIMEDOUT" "$t0" "${live[@]}" || ret=1
	# RTCP's ends against Linux's on the same side (a or b).
	local ref
	for e in "${live[@]}"; do
		case $e in
		*rtcp*.?) ref=ld-inet:inet.${e##*.} ;;
		*) continue ;;
		esac
		[ "$e" = orph-rtcp.b ] && ref=orph-inet.b
		[ -n "${noticed[$e]:-}" ] && [ -n "${noticed[$ref]:-}" ] || continue
		within "${noticed[$e]}" "${noticed[$ref]}" ||
			{ echo "# $e: ${noticed[$e]} ms against Linux's ${noticed[$ref]} ms"; ret=1; }
	done
	# The orphans: each in its own stack's table until it ends.
	local life=()
	orphans_gone 200 orph-inet/9210/tcp orph-rtcp/9211/rtcp || ret=1
	for i in 0 1; do
		orph=orph-inet
		[ $i = 1 ] && orph=orph-rtcp
		life+=($((${gone_at[$orph]:-0} - closed[i])))
		echo "# $orph: the orphan ended ${life[i]} ms after close()"
	done
	within "${life[1]}" "${life[0]}" || { echo "# RTCP's orphan outlived Linux's"; ret=1; }
	return $ret
}

# 3. The route: the peer's address (on B's loopback) is reached through
# va; the route goes, comes back through va2 while va drops everything
# A sends, then is replaced back through va while va2 drops everything.
# Each time every connection carries on.
case_route() {
	local svc_a=10.9.7.1 svc_b=10.9.7.2 ret=0
	# Packets come in on one device and leave by the other: no reverse
	# path filter (a new namespace starts with init_net's).
	local ns
	for ns in "$A" "$B"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || return 1
	done
	ip -n "$A" -batch - <<-EOF || return 1
		link add va2 type veth peer name vb2 netns $B
		link set va2 up
		addr add 10.0.8.1/24 dev va2
		addr add $svc_a/32 dev lo
		route add $svc_b/32 via $ADDR_B dev va src $svc_a
	EOF
	ip -n "$B" -batch - <<-EOF || return 1
		link set vb2 up
		addr add 10.0.8.2/24 dev vb2
		addr add $svc_b/32 dev lo
		route add $svc_a/32 via $ADDR_A dev vb src $svc_b
	EOF
	ip netns exec "$B" sysctl -qw net.ipv4.conf.vb2.rp_filter=0 net.ipv4.conf.vb.rp_filter=0 || return 1
	ip netns exec "$A" sysctl -qw net.ipv4.conf.va2.rp_filter=0 net.ipv4.conf.va.rp_filter=0 || return 1
	# These connections must outlive the changes, however long a busy
	# machine takes to make them: RTO_MAX 5 s lets them retransmit for
	# about a minute before they give up (both stacks alike).
	local RTO_MAX=5000
	start_pairs "$svc_b" 9300 rt- || return 1
	local all=($(ends "${conns[@]}")) c
	mark "${all[@]}"
	moved $STEP 60 "${all[@]}" || return 1
	ip -n "$A" route del $svc_b/32 || return 1
	nap 1
	echo "# the route removed for 1 s; then through va2, va dropping everything"
	mark "${all[@]}"
	ip -n "$A" route add $svc_b/32 via 10.0.8.2 dev va2 src $svc_a || return 1
	tc -n "$A" qdisc add dev va root netem loss 100% || return 1
	moved $STEP 60 "${all[@]}" || ret=1
	echo "# the route replaced: through va again, va2 dropping everything"
	mark "${all[@]}"
	ip -n "$A" route replace $svc_b/32 via $ADDR_B dev va src $svc_a || return 1
	tc -n "$A" -batch - <<-EOF || return 1
		qdisc del dev va root
		qdisc add dev va2 root netem loss 100%
	EOF
	moved $STEP 60 "${all[@]}" || ret=1
	finish_all || ret=1
	return $ret
}

# Ends every connection of conns gracefully (SIGTERM: shut down, read
# to the end, wait until the peer has acknowledged all: no end leaves an
# orphan) and checks that each end received all the other sent.
finish_all() {
	local c e ret=0 sa ra sb rb
	for c in "${conns[@]}"; do kill -TERM "${apid[$c]}" "${bpid[$c]}"; done
	# A bound on a hang: each end reads all the other sent, with the VM's
	# CPUs busy (a Linux TCP pair, too, needed more than 120 s once).
	wait_exit 300 $(ends "${conns[@]}") || return 1
	for c in "${conns[@]}"; do
		read -r _ sa ra < <(grep '^done' "$tmp/$c.a.out")
		read -r _ sb rb < <(grep '^done' "$tmp/$c.b.out")
		echo "# $c: $sa bytes one way, $sb the other"
		[ -n "$sa" ] && [ -n "$sb" ] && [ "$sa" = "$rb" ] && [ "$sb" = "$ra" ] ||
			{ echo "# $c: A sent $sa received $ra, B sent $sb received $rb"; cat "$tmp/$c.a.out" "$tmp/$c.b.out"; ret=1; }
	done
	return $ret
}

# 4. rmmod during the transfers: refused (EBUSY or EWOULDBLOCK: our
# sockets hold the module, which this shared job must never unload), the
# module still there, and the transfers carry on to their end intact.
case_rmmod() {
	start_pairs "$ADDR_B" 9400 rm- || return 1
	local all=($(ends "${conns[@]}")) c ret=0 refs msg
	mark "${all[@]}"
	moved $STEP 60 "${all[@]}" || return 1
	refs=$(cat /sys/module/rtcp/refcnt)
	for c in "${conns[@]}"; do
		kill -0 "${apid[$c]}" "${bpid[$c]}" || { echo "# $c ended before rmmod"; return 1; }
	done
	# Three of the four pairs hold RTCP sockets: four sockets at least.
	[ "$refs" -ge 4 ] || { echo "# refcnt $refs with our sockets open"; return 1; }
	if msg=$(rmmod rtcp 2>&1); then
		echo "# rmmod succeeded with $refs references"
		return 1
	fi
	echo "# rmmod with $refs references: ${msg:-refused}"
	[ -d /sys/module/rtcp ] || { echo "# the module is gone"; return 1; }
	mark "${all[@]}"
	moved $STEP 60 "${all[@]}" || ret=1
	finish_all || ret=1
	return $ret
}

# 5. The peer stops reading (its processes stopped): the windows shut,
# and each client in A closes with its data unsent, an orphan probing a
# shut window that its peer answers. Linux's tcp_probe_timer ends such
# an orphan once its backed-off timeout reaches the bound (about 2.4 s
# with TCP_RTO_MAX_MS 1 s); RTCP's must end no later.
case_zero_window() {
	start_pairs "$ADDR_B" 9500 zw- || return 1
	local all=($(ends "${conns[@]}")) c e ret=0 t s r s0 r0 i
	mark "${all[@]}"
	moved $STEP 60 "${all[@]}" || return 1
	for c in "${conns[@]}"; do kill -STOP "${bpid[$c]}"; done
	# A's ends stall: what B had sent is read, A's writes no longer go.
	for c in "${conns[@]}"; do
		local end=$((SECONDS + 60)) still=0
		s0=-1 r0=-1
		while [ "$still" -lt 5 ]; do
			[ "$SECONDS" -lt "$end" ] || { echo "# $c.a still moving after 60 s"; return 1; }
			nap 0.2
			read -r s r <"$tmp/$c.a.st"
			if [ "$s" = "$s0" ] && [ "$r" = "$r0" ]; then still=$((still + 1)); else still=0; fi
			s0=$s r0=$r
		done
	done
	declare -A closed_at
	for c in "${conns[@]}"; do kill -USR1 "${apid[$c]}"; done
	wait_exit 120 $(for c in "${conns[@]}"; do echo "$c.a"; done) || return 1
	declare -A life
	local watch=() file
	i=0
	for c in "${conns[@]}"; do
		closed_at[$c]=$(sed -n 's/^closed at //p' "$tmp/$c.a.out")
		file=tcp
		[[ $c == zw-rtcp:* ]] && file=rtcp
		watch+=("$c/$((9500 + i))/$file")
		i=$((i + 1))
	done
	orphans_gone 200 "${watch[@]}" || ret=1
	for c in "${conns[@]}"; do
		life[$c]=$((${gone_at[$c]:-0} - closed_at[$c]))
		echo "# $c: the orphan ended ${life[$c]} ms after close()"
	done
	for c in zw-rtcp:rtcp zw-rtcp:inet; do
		within "${life[$c]}" "${life[zw-inet:inet]}" || { echo "# $c's orphan outlived Linux's"; ret=1; }
	done
	for c in "${conns[@]}"; do kill -CONT "${bpid[$c]}"; done
	return $ret
}

# Each case in fresh namespaces, and its tools gone when it ends (or
# when the script does).
trap 'kill_tools; cleanup' EXIT
for c in peer_netns link_down route rmmod zero_window; do
	eval "test_$c() { fresh || return 1; case_$c; local r=\$?; kill_tools; return \$r; }"
done

declare -A what=(
	[peer_netns]="the peer's namespace deleted under bulk transfers: the reset, as Linux's TCP"
	[link_down]="the device down then deleted under bulk transfers: the ends time out, orphans end, as Linux's TCP"
	[route]="the route removed and replaced under bulk transfers: the new route taken, as Linux's TCP"
	[rmmod]="rmmod during bulk transfers: refused, nothing lost"
	[zero_window]="orphans probing a shut window end as Linux's TCP ends them"
)
cases=(peer_netns link_down route rmmod zero_window)

ktap_print_header
run_cases "$@"

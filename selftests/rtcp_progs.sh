# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Real programs from Debian (nginx, wrk, iperf3; scripts/deps.sh installs
# them) as the selftests (rtcp_realprogs.sh) and the benchmark
# (bench/run.sh) run them: in network namespaces the caller made, plain
# or under a wrapper (`rtcpize run`). The guest's root is the host's,
# read-only: everything nginx writes goes under the caller's directory.
#
# Each function that starts a program takes the wrapper as its last
# arguments (none: the program as it is).

progs_here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
rtcpize=$progs_here/../rtcpize/rtcpize
# rtcp_lib.sh's nap starts no program; the benchmark has only sleep.
declare -F nap >/dev/null || nap() { sleep "$1"; }

# The listeners on port $2 in a /proc/net/{tcp,rtcp} file $1.
listeners() {
	local hex n=0 line
	hex=$(printf '%04X' "$2")
	while IFS= read -r line; do
		[[ $line == *":$hex 00000000:0000 0A "* ]] && n=$((n + 1))
	done <"$1"
	echo "$n"
}

# Waits until process $1 (in the namespace whose /proc/net it shows) has
# at least $3 listeners on port $2, Linux's and RTCP's together; 60 s at
# most (a bound on a hang). 1 if it died or the bound passed.
wait_listeners() {
	local pid=$1 port=$2 want=$3 end=$((SECONDS + 60)) n
	while [ "$SECONDS" -lt "$end" ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		n=$(( $(listeners "/proc/$pid/net/tcp" "$port") +
			$(listeners "/proc/$pid/net/rtcp" "$port" 2>/dev/null || echo 0) ))
		[ "$n" -ge "$want" ] && return 0
		nap 0.1
	done
	return 1
}

# nginx's configuration in directory $1: the static files of directory
# $2 on $3:$4, Debian's `sendfile on; tcp_nopush on;`, two workers, in
# the foreground. $5: more of the listen line (reuseport); $6: "log"
# writes each request's worker, status and bytes to $1/access.log,
# anything else logs nothing. Workers run as root: the files are the
# caller's, 0700.
nginx_conf() {
	local dir=$1 root=$2 addr=$3 port=$4 flags=$5 log="access_log off;"
	[ "$6" = log ] && log="log_format workers '\$pid \$status \$body_bytes_sent';
	access_log $dir/access.log workers;"
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<-EOF
		daemon off;
		master_process on;
		worker_processes 2;
		user root;
		pid $dir/nginx.pid;
		error_log $dir/error.log warn;
		events {
			worker_connections 1024;
		}
		http {
			include /etc/nginx/mime.types;
			default_type application/octet-stream;
			sendfile on;
			tcp_nopush on;
			$log
			client_body_temp_path $dir/body;
			proxy_temp_path $dir/proxy;
			fastcgi_temp_path $dir/fastcgi;
			uwsgi_temp_path $dir/uwsgi;
			scgi_temp_path $dir/scgi;
			server {
				listen $addr:$port $flags;
				root $root;
			}
		}
	EOF
}

# Starts nginx with the configuration in $2 in namespace $1, under the
# wrapper in the rest; its pid in nginx_pid (the master: ip netns exec
# and rtcpize exec it). Then waits for $3 listeners on port $4.
nginx_start() {
	local ns=$1 dir=$2 want=$3 port=$4
	shift 4
	ip netns exec "$ns" "$@" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
		</dev/null >>"$dir/nginx.out" 2>&1 &
	nginx_pid=$!
	wait_listeners "$nginx_pid" "$port" "$want"
}

# Stops nginx (TERM: its fast shutdown) and waits for it.
nginx_stop() {
	kill "$nginx_pid" 2>/dev/null
	wait "$nginx_pid" 2>/dev/null
}

# wrk in namespace $1 against URL $2 for $3 s, 2 threads and 8
# connections; $4 "close" sends `Connection: close` (a new connection per
# request), anything else keeps them alive. Output to file $5, ending with
# rtcp_wrk.lua's wrk-summary line; the rest is the wrapper. wrk's own
# timeout is a bound on a hang, not a measure of speed.
wrk_run() {
	local ns=$1 url=$2 secs=$3 close=$4 out=$5 hdr=()
	shift 5
	[ "$close" = close ] && hdr=(-H 'Connection: close')
	timeout -k 5 $((secs + 60)) ip netns exec "$ns" "$@" wrk -t 2 -c 8 -d "${secs}s" \
		--timeout 30s "${hdr[@]}" -s "$progs_here/rtcp_wrk.lua" "$url" </dev/null >"$out" 2>&1
}

# rtcp_wrk.lua's summary in wrk's output (file $1) into the array wrk:
# requests, bytes, seconds, rps, connect, read, write, status, timeout.
# 1 if there is none.
declare -A wrk
wrk_summary() {
	local line kv
	wrk=()
	while IFS= read -r line; do
		[[ $line == "wrk-summary "* ]] || continue
		for kv in ${line#wrk-summary }; do
			wrk[${kv%%=*}]=${kv#*=}
		done
		return 0
	done <"$1"
	return 1
}

# An iperf3 test: a one-off server in namespace $1 bound to $3 on port $4,
# the client in namespace $2 with -J, its JSON into file $5; $6 the
# client's arguments (one word list), the rest the wrapper of both ends.
iperf3_run() {
	local sns=$1 cns=$2 addr=$3 port=$4 out=$5 args=$6 srv rc
	shift 6
	ip netns exec "$sns" "$@" iperf3 -s -1 -B "$addr" -p "$port" </dev/null >"$out.server" 2>&1 &
	srv=$!
	if ! wait_listeners "$srv" "$port" 1; then
		echo "the server did not listen" >"$out"
		kill "$srv" 2>/dev/null
		wait "$srv" 2>/dev/null
		return 1
	fi
	# shellcheck disable=SC2086 # the arguments' words
	timeout -k 5 120 ip netns exec "$cns" "$@" iperf3 -c "$addr" -p "$port" -J $args \
		</dev/null >"$out" 2>&1
	rc=$?
	# A one-off server ends with its test, or never if the client failed.
	[ "$rc" = 0 ] || kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	return "$rc"
}

# iperf3's JSON in file $1, on one line: the sender's bytes, the
# receiver's, the receiver's Mbit/s, the congestion control the sender
# and the receiver read back, the sender's retransmissions (TCP_INFO);
# or "error: ..." and 1.
iperf3_figures() {
	python3 - "$1" <<-'EOF'
		import json, sys
		try:
		    j = json.load(open(sys.argv[1]))
		except (OSError, ValueError) as e:
		    print("error: no JSON from iperf3 (%s)" % e)
		    sys.exit(1)
		if "error" in j:
		    print("error: " + j["error"])
		    sys.exit(1)
		end = j["end"]
		print(end["sum_sent"]["bytes"], end["sum_received"]["bytes"],
		      "%.1f" % (end["sum_received"]["bits_per_second"] / 1e6),
		      end.get("sender_tcp_congestion", "-"), end.get("receiver_tcp_congestion", "-"),
		      end["sum_sent"].get("retransmits", "-"))
	EOF
}

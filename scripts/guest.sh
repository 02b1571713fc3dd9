#!/bin/bash
# Runs inside the VM (started by scripts/vm.sh): loads rtcp.ko, runs the
# selftests or the demo, unloads the module, collects the kernel log and a
# kmemleak scan. Everything goes to files in the shared directory $1.
#
#   guest.sh <out dir> selftests|demo|bench <kernel tree> <rtcp.ko> [bench seconds] [bench rounds]
set -u
out=$1 mode=$2 kdir=$3 ko=$4 secs=${5:-10} runs=${6:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
exec >"$out/guest.log" 2>&1
set -x
cut -d' ' -f1 /proc/uptime >"$out/up"

# A kernel that reported a bug while booting, before RTCP ran, has lockdep
# switched off by the taint: no test runs, and the report says why.
dmesg >"$out/dmesg-boot"
if ! python3 "$top/scripts/vm_report.py" --check-log "$out/dmesg-boot" >"$out/boot-tainted"; then
	exit 0
fi
rm -f "$out/boot-tainted"

mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
kmemleak=/sys/kernel/debug/kmemleak
# Leaks reported before RTCP runs are not RTCP's: scan, then forget them.
# Then no automatic scan: the one the kernel starts 60 s after boot would
# take a CPU from the tests for as long as it scans (several seconds
# under TCG); the scan after the tests is the one that counts.
if [ -w "$kmemleak" ]; then
	t0=$(date +%s%3N)
	echo scan >"$kmemleak"
	echo "$(($(date +%s%3N) - t0))" >"$out/kmemleak-first-scan"
	echo clear >"$kmemleak"
	echo scan=off >"$kmemleak"
fi

insmod "$ko"
echo "insmod $?" >"$out/module"

if [ "$mode" = selftests ]; then
	export KSFT_DIR=$kdir/tools/testing/selftests RTCP_KO=$ko
	timeout=$(sed -n 's/^timeout=//p' "$top/selftests/settings")
	cd "$top/selftests"
	t_start=$(date +%s%3N)
	# The guest's CPU time over the tests (how busy the jobs kept it).
	head -n 1 /proc/stat >"$out/cpu-before"
	# Where a job may leave files worth reading after the run (the wire
	# harness's recordings).
	export RTCP_RESULTS=$out
	# One job: its output, exit status and wall time go to files of its
	# own, since jobs run at once on one shared directory (times
	# in ms: its start since the first job began, and its length; and
	# its CPU time). Each
	# KTAP result line is also stamped into stamps-<name>, which tells how
	# long each test case took. $1: the name, the rest: the command.
	run_job() {
		local name=$1 t0 line
		shift
		t0=$(date +%s%3N)
		echo "$t0 start" >"$out/stamps-$name"
		timeout -k 10 "${timeout:-600}" "$@" 2>&1 | {
			while IFS= read -r line || [ -n "$line" ]; do
				printf '%s\n' "$line"
				case $line in
				"ok "*|"not ok "*) echo "$(date +%s%3N) $line" >>"$out/stamps-$name" ;;
				esac
			done >"$out/test-$name.log"
		}
		echo "$name ${PIPESTATUS[0]}" >"$out/rc-$name"
		echo "$name $((t0 - t_start)) $(($(date +%s%3N) - t0))" >"$out/time-$name"
		# The CPU time of the job's processes (this subshell's children:
		# the second line), which wall times of jobs running at once
		# cannot tell: the suite's length is the CPU it needs.
		times >"$out/cpu-$name"
	}
	# The "alone" jobs first, one at a time; then the "shared" ones, up
	# to $max_jobs at once, in the listed order (selftests/rtcp_jobs).
	max_jobs=$(cat "$out/jobs")
	while read -r how name cmd; do
		[ "$how" = alone ] || continue
		# shellcheck disable=SC2086 # the command's words
		run_job "$name" $cmd </dev/null
	done <"$out/tests"
	while read -r how name cmd; do
		[ "$how" = alone ] && continue
		while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do
			wait -n
		done
		# shellcheck disable=SC2086
		run_job "$name" $cmd </dev/null &
	done <"$out/tests"
	wait
	head -n 1 /proc/stat >"$out/cpu-after"
	grep '^processes' /proc/stat >"$out/forks"
	while read -r _ name _; do
		cat "$out/rc-$name" >>"$out/results" 2>/dev/null
		cat "$out/time-$name" >>"$out/times" 2>/dev/null
	done <"$out/tests"
	cd /
elif [ "$mode" = bench ]; then
	"$top/bench/run.sh" "$secs" "$runs" >"$out/bench.log" 2>&1
	echo "rtcp_bench $?" >>"$out/results"
else
	"$top/demo/rtcp_demo" >"$out/demo.log" 2>&1
	echo "rtcp_demo $?" >>"$out/results"
fi

# Unloading must work once every socket is closed (and frees everything).
# The tests' connections left in TIME-WAIT go with their namespaces; one
# left in the VM's own namespace would wait out its 60 s and hold the
# module until then: give it that long.
if [ -d /sys/module/rtcp ]; then
	t0=$(date +%s)
	for _ in $(seq 75); do
		rmmod rtcp 2>/dev/null && break
		sleep 1
	done
	rc=0
	[ -d /sys/module/rtcp ] && rc=1
	echo "rmmod $rc" >>"$out/module"
	echo "$(($(date +%s) - t0))" >"$out/rmmod-wait"
	cat /proc/net/rtcp >>"$out/module" 2>/dev/null
fi

# kmemleak reports objects older than 5 s that nothing points to: the
# tests' last objects must be that old (the wait for rmmod counts).
if [ -w "$kmemleak" ]; then
	waited=$(cat "$out/rmmod-wait" 2>/dev/null || echo 0)
	[ "$waited" -ge 6 ] || sleep $((6 - waited))
	t0=$(date +%s%3N)
	echo scan >"$kmemleak"
	echo "$(($(date +%s%3N) - t0))" >"$out/kmemleak-scan"
	cat "$kmemleak" >"$out/kmemleak"
fi
dmesg >"$out/dmesg"
echo done >"$out/done"

#!/bin/bash
# Runs inside the VM (started by scripts/vm.sh): loads rtcp.ko, runs the
# selftests or the demo, unloads the module, collects the kernel log and a
# kmemleak scan. Everything goes to files in the shared directory $1.
#
#   guest.sh <out dir> selftests|demo|bench <kernel tree> <rtcp.ko> [bench seconds]
set -u
out=$1 mode=$2 kdir=$3 ko=$4 secs=${5:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
exec >"$out/guest.log" 2>&1
set -x
: >"$out/up"

# A kernel that reported a bug while booting, before RTCP ran, has lockdep
# switched off by the taint: tell the host, which boots again.
dmesg >"$out/dmesg-boot"
if ! python3 "$top/scripts/vm_report.py" --check-log "$out/dmesg-boot" >"$out/boot-tainted"; then
	exit 0
fi
rm -f "$out/boot-tainted"

mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
kmemleak=/sys/kernel/debug/kmemleak
# Leaks reported before RTCP runs are not RTCP's: scan, then forget them.
if [ -w "$kmemleak" ]; then
	echo scan >"$kmemleak"
	echo clear >"$kmemleak"
fi

insmod "$ko"
echo "insmod $?" >"$out/module"

if [ "$mode" = selftests ]; then
	export KSFT_DIR=$kdir/tools/testing/selftests RTCP_KO=$ko
	timeout=$(sed -n 's/^timeout=//p' "$top/selftests/settings")
	cd "$top/selftests"
	while read -r t; do
		timeout -k 10 "${timeout:-600}" "./$t" >"$out/test-$t.log" 2>&1
		echo "$t $?" >>"$out/results"
	done <"$out/tests"
	cd /
elif [ "$mode" = bench ]; then
	"$top/bench/run.sh" "$secs" >"$out/bench.log" 2>&1
	echo "rtcp_bench $?" >>"$out/results"
else
	"$top/demo/rtcp_demo" >"$out/demo.log" 2>&1
	echo "rtcp_demo $?" >>"$out/results"
fi

# Unloading must work once every socket is closed (and frees everything).
# A connection RTCP closed first waits out TIME-WAIT (60 s) and holds the
# module until then, as its sock does: give them that long.
if [ -d /sys/module/rtcp ]; then
	for _ in $(seq 75); do
		rmmod rtcp 2>/dev/null && break
		sleep 1
	done
	rc=0
	[ -d /sys/module/rtcp ] && rc=1
	echo "rmmod $rc" >>"$out/module"
	cat /proc/net/rtcp >>"$out/module" 2>/dev/null
fi

# kmemleak reports objects older than 5 s that nothing points to.
if [ -w "$kmemleak" ]; then
	sleep 6
	echo scan >"$kmemleak"
	cat "$kmemleak" >"$out/kmemleak"
fi
dmesg >"$out/dmesg"
echo done >"$out/done"

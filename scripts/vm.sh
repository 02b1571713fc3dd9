#!/usr/bin/env bash
# Boot RTCP's kernel in a VM with virtme-ng, load the freshly built rtcp.ko
# and run the selftests (or the demo) inside it.
#
#   scripts/vm.sh selftests   KTAP, then "rtcp-selftests: N passed, N failed"
#   scripts/vm.sh demo        the demo's output
#   scripts/vm.sh bench       the benchmark, on the kernel without debug
#                             checks (build/bench-module/rtcp.ko)
#
# The guest shares the host's root filesystem read-only; results come back
# through a writable shared directory (build/vm-<mode>), not through vng's
# stdout or exit code, which are unreliable when virtme-ng cannot find its
# virtio-serial script ports (it then falls back to the console).
#
# The run fails if the kernel log shows a WARN, BUG, Oops, KASAN, lockdep,
# refcount or kmemleak report, or a hung netdevice unregister.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: vm.sh selftests|demo|bench}
case $mode in
selftests|demo) flavour=debug ko=$RTCP_TOP/build/module/rtcp.ko ;;
bench) flavour=bench ko=$RTCP_TOP/build/bench-module/rtcp.ko ;;
*) die "unknown mode '$mode'" ;;
esac

kdir=$("$RTCP_TOP/scripts/kernel.sh" "$flavour")
[ -f "$ko" ] || die "rtcp.ko is not built (make module)"
# virtme-ng finds virtiofsd on the PATH and shares the root over virtio-fs,
# whose page cache makes starting a program in the guest about a third
# cheaper than over 9p.
export PATH="$RTCP_CACHE/venv/bin:$RTCP_CACHE/virtiofsd/bin:$PATH"
command -v vng >/dev/null || die "virtme-ng is not installed (scripts/deps.sh)"

out=$RTCP_TOP/build/vm-$mode
rm -rf "$out"
mkdir -p "$out"

# Runs vng with a deadline; on expiry the whole process group (vng, qemu)
# is killed. $1: seconds, $2: console log, $3: a file the guest writes once
# it reaches userspace (or "-"), which must appear within BOOT_SECONDS;
# the rest: vng arguments. Returns 124 on a timeout, 125 on a boot that
# never reached userspace.
BOOT_SECONDS=240
run_vng() {
	local secs=$1 log=$2 up=$3
	shift 3
	setsid vng "$@" >"$log" 2>&1 </dev/null &
	local pid=$! t=0 rc=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$up" != - ] && [ -e "$up" ] && [ ! -e "$up.host" ]; then
			echo "$t" >"$up.host"
		fi
		if [ "$t" -ge "$secs" ]; then
			rc=124
		elif [ "$up" != - ] && [ "$t" -ge "$BOOT_SECONDS" ] && [ ! -e "$up" ]; then
			rc=125
		fi
		if [ "$rc" != 0 ]; then
			kill -KILL -- "-$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			return "$rc"
		fi
		sleep 1
		t=$((t + 1))
	done
	wait "$pid" 2>/dev/null || true
}

# KVM only where a short probe boot reaches userspace: on these machines
# /dev/kvm opens but guests hang in early boot, so TCG is the default. The
# verdict is cached per kernel build.
accel=(--disable-kvm)
probe=$RTCP_CACHE/accel-$(basename "$kdir")
if [ ! -f "$probe" ]; then
	verdict=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		log "probing KVM with a short boot"
		mkdir -p "$out/probe"
		run_vng 60 "$out/probe/console.log" - --run "$kdir/arch/x86/boot/bzImage" \
			--disable-microvm --append no5lvl --memory 1G --cpus 1 --rwdir "$out/probe" \
			--exec "echo up > $out/probe/up" || true
		[ -f "$out/probe/up" ] && verdict=kvm
	fi
	echo "$verdict" >"$probe"
fi
[ "$(cat "$probe")" = kvm ] && accel=()
log "booting $(basename "$kdir") under $(cat "$probe")"

# What the guest runs: the jobs of selftests/rtcp_jobs (when, name,
# command), and how many "shared" ones run at once (RTCP_JOBS).
# RTCP_TESTS (a space-separated list of test programs or job names)
# narrows the run while developing; `make test` runs them all but the
# "apart" ones, which run only when named (make wire).
if [ "$mode" = selftests ]; then
	make -s -C "$RTCP_TOP/selftests" KSFT_DIR="$kdir/tools/testing/selftests" list >"$out/tests"
	if [ -n "${RTCP_TESTS:-}" ]; then
		for t in $RTCP_TESTS; do
			awk -v t="$t" '$2 == t || $3 == "./" t { found = 1 } END { exit !found }' "$out/tests" ||
				die "no test program or job '$t' in selftests/rtcp_jobs"
		done
		awk -v want="$RTCP_TESTS" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) t[w[i]] = 1 }
			$2 in t || substr($3, 3) in t' "$out/tests" >"$out/tests.some"
		mv "$out/tests.some" "$out/tests"
	else
		awk '$1 != "apart"' "$out/tests" >"$out/tests.some"
		mv "$out/tests.some" "$out/tests"
	fi
	echo "${RTCP_JOBS:-7}" >"$out/jobs"
fi

# One boot. The kernel line carries no5lvl: under TCG, qemu's "max" CPU
# offers 5-level paging, and with it this kernel's identify_cpu() clears
# and refills the CPU's feature words while interrupts are on; an
# interrupt in that window finds pgtable_l5_enabled() false, so KASAN takes
# the 5-level direct map's addresses (0xff11...) for wild ones and reports
# "wild-memory-access in do_raw_spin_lock" from handle_edge_irq (and the
# taint turns lockdep off). With 4-level paging every kernel address is
# valid whichever way the bit reads. The guest's 2 GiB need no 5-level
# paging. --disable-microvm keeps the q35 machine (ACPI power-off, PCI
# virtio) that the kernel config is made for.
# The deadline, 80 min, bounds a hang, nothing else: the suite's boot takes
# about 15 min on an idle machine, 31 min with both host CPUs busy beside
# it, and this machine has run it slower still (its kernel booting in 60
# s where an idle one takes 23; 20 of the jobs done after 30 min); with
# the kernel built, the rest of CI's set-up takes a few minutes.
start=$(date +%s)
rc=0
rm -f "$out/up" "$out/up.host"
run_vng 4800 "$out/console.log" "$out/up" --run "$kdir/arch/x86/boot/bzImage" "${accel[@]}" \
	--disable-microvm --append no5lvl \
	--memory 2G --cpus 2 --rwdir "$out" --verbose \
	--exec "SCALE_CONNS=${SCALE_CONNS:-20000} ONLY=${BENCH_ONLY:-} PROFILE=${BENCH_PROFILE:-} RUSTFILT=$(command -v rustfilt || :) bash $RTCP_TOP/scripts/guest.sh $out $mode $kdir $ko ${BENCH_SECONDS:-10} ${BENCH_RUNS:-5}" || rc=$?
echo "$(( $(date +%s) - start ))" >"$out/vm-seconds"
log "VM ran for $(cat "$out/vm-seconds") s"
[ "$rc" = 124 ] && log "the VM did not finish in time; console: $out/console.log"
[ "$rc" = 125 ] && log "no userspace after $BOOT_SECONDS s; console: $out/console.log"

exec python3 "$RTCP_TOP/scripts/vm_report.py" "$out" "$mode"

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
export PATH="$RTCP_CACHE/venv/bin:$PATH"
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
			--memory 1G --cpus 1 --rwdir "$out/probe" \
			--exec "echo up > $out/probe/up" || true
		[ -f "$out/probe/up" ] && verdict=kvm
	fi
	echo "$verdict" >"$probe"
fi
[ "$(cat "$probe")" = kvm ] && accel=()
log "booting $(basename "$kdir") under $(cat "$probe")"

# What the guest runs, in order.
# RTCP_TESTS (a space-separated list of test programs) narrows the run
# while developing; `make test` runs them all.
if [ "$mode" = selftests ]; then
	make -s -C "$RTCP_TOP/selftests" KSFT_DIR="$kdir/tools/testing/selftests" list >"$out/tests"
	if [ -n "${RTCP_TESTS:-}" ]; then
		printf '%s\n' $RTCP_TESTS >"$out/tests"
	fi
fi

# This kernel, under TCG, now and then takes an interrupt in early boot and
# KASAN reports it (handle_edge_irq from cpu_detect or identify_cpu, long
# before any module exists); at times the interrupts keep coming and the
# boot never reaches userspace. The taint switches lockdep off for the rest
# of the boot, so in either case the run boots again, up to three times.
for attempt in 1 2 3; do
	start=$(date +%s)
	rc=0
	rm -f "$out/up"
	run_vng 1800 "$out/console.log" "$out/up" --run "$kdir/arch/x86/boot/bzImage" "${accel[@]}" \
		--memory 2G --cpus 2 --rwdir "$out" --verbose \
		--exec "bash $RTCP_TOP/scripts/guest.sh $out $mode $kdir $ko ${BENCH_SECONDS:-10}" || rc=$?
	log "VM ran for $(( $(date +%s) - start )) s"
	[ "$rc" = 124 ] && log "the VM did not finish in time; console: $out/console.log"
	if [ "$rc" = 125 ]; then
		log "boot $attempt: no userspace after $BOOT_SECONDS s; console saved as console.log.$attempt"
		cp "$out/console.log" "$out/console.log.$attempt"
		continue
	fi
	[ -f "$out/boot-tainted" ] || break
	log "boot $attempt: the kernel reported a bug before rtcp.ko was loaded:"
	sed 's/^/[rtcp]   /' "$out/boot-tainted" >&2
	cp "$out/dmesg-boot" "$out/dmesg-boot.$attempt"
done

exec python3 "$RTCP_TOP/scripts/vm_report.py" "$out" "$mode"

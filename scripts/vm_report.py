#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn what scripts/guest.sh left in the shared directory into KTAP, and
judge the run: every test program's own KTAP results, the module's unload,
and the kernel log (WARN, BUG, Oops, KASAN, lockdep, refcount, kmemleak,
hung netdevice unregister).

    vm_report.py <out dir> selftests|demo
    vm_report.py --check-log <file>     exit 1 if the kernel log has a report

Prints KTAP and ends with "rtcp-selftests: N passed, N failed" (selftests)
or the demo's output; exits 1 on any failure."""

import pathlib
import re
import sys

# Kernel log lines that fail a run, whatever the tests said.
BAD_LOG = [
    (re.compile(r"\bWARNING:"), "WARN"),
    (re.compile(r"\bBUG[: ]"), "BUG"),
    (re.compile(r"\bOops\b|general protection fault|Kernel panic"), "Oops"),
    (re.compile(r"KASAN"), "KASAN"),
    (re.compile(r"possible (recursive|circular) locking|inconsistent lock state|"
                r"lock held when returning|suspicious RCU usage|"
                r"sleeping function called from invalid context"), "lockdep"),
    (re.compile(r"refcount_t:"), "refcount"),
    (re.compile(r"unregister_netdevice: waiting"), "netdevice unregister hang"),
    (re.compile(r"rtcp: .*leak"), "rtcp leak"),
    (re.compile(r"kmemleak: \d+ new suspected memory leaks"), "kmemleak"),
    (re.compile(r"blocked for more than \d+ seconds|soft lockup"), "hang"),
]

RESULT = re.compile(r"^\s*(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP|XFAIL|TODO)\b.*)?$")


def read(path):
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return None


def bad_lines(log):
    bad = []
    for l in log.splitlines():
        for pat, what in BAD_LOG:
            if pat.search(l):
                bad.append(f"{what}: {l.strip()}")
                break
    return bad


def cpu_busy(out):
    """The share of the guest's CPU time that was not idle between
    cpu-before and cpu-after (the "cpu" lines of /proc/stat), in %."""
    try:
        before, after = ([int(v) for v in (read(out / f) or "").split()[1:]]
                         for f in ("cpu-before", "cpu-after"))
    except ValueError:
        return None
    if len(before) < 5 or len(after) != len(before):
        return None
    total = sum(after) - sum(before)
    idle = (after[3] + after[4]) - (before[3] + before[4])
    return 100 * (total - idle) / total if total > 0 else None


def time_summary(out):
    """Where the VM's time went, as KTAP comments: the boot, each test
    program's start, wall time (programs run at once) and CPU time, the wait for
    rmmod, the whole VM."""
    def secs(name):
        try:
            return float((read(out / name) or "").split()[0])
        except (IndexError, ValueError):
            return None

    lines = ["# where the time went (s):"]
    boot, guest_boot = secs("up.host"), secs("up")
    if boot is not None:
        lines.append(f"#   {'boot to userspace':<24} {boot:6.0f}"
                     + (f" (the guest's clock: {guest_boot:.1f})" if guest_boot is not None else ""))
    times = []
    for l in (read(out / "times") or "").splitlines():
        f = l.split()
        if len(f) == 3:
            times.append((f[0], int(f[1]) / 1000, int(f[2]) / 1000))
    def cpu(name):
        # bash's `times`: the children's user and system time, "XmY.YYYs".
        f = (read(out / f"cpu-{name}") or "").splitlines()[1:2]
        m = [re.fullmatch(r"(\d+)m([\d.]+)s", v) for v in (f[0].split() if f else [])]
        if len(m) != 2 or not all(m):
            return None
        return sum(int(x[1]) * 60 + float(x[2]) for x in m)

    cpus = {name: cpu(name) for name, _, _ in times}
    for name, start, took in times:
        c = f", CPU {cpus[name]:5.1f}" if cpus[name] is not None else ""
        lines.append(f"#   {name:<24} {took:6.1f}  (started at {start:5.1f}{c})")
    if times:
        end = max(s + t for _, s, t in times)
        lines.append(f"#   {'all tests':<24} {end:6.1f}  (the sum of their times {sum(t for _, _, t in times):.1f}"
                     + (f", of their CPU {sum(cpus.values()):.1f}" if None not in cpus.values() else "") + ")")
    busy = cpu_busy(out)
    if busy is not None:
        lines.append(f"#   {'guest CPUs busy':<24} {busy:5.0f} %  (over the tests)")
    # Past pid_max (32768 here), a pid a test still watches may name
    # another process.
    forks = (read(out / "forks") or "").split()
    if len(forks) == 2 and forks[1].isdigit():
        lines.append(f"#   {'processes started':<24} {int(forks[1]):6d}  (since boot)")
    cases = []
    for f in sorted(out.glob("stamps-*")):
        prev = None
        for l in (read(f) or "").splitlines():
            ms, _, what = l.partition(" ")
            if not ms.isdigit():
                continue
            if prev is not None and what != "start":
                name = re.sub(r"^(not )?ok \d+ ", "", what)
                cases.append(((int(ms) - prev) / 1000, f"{f.name[len('stamps-'):]}: {name}"))
            prev = int(ms)
    if cases:
        lines.append("#   the slowest test cases:")
        for took, name in sorted(cases, reverse=True)[:12]:
            lines.append(f"#     {took:6.1f}  {name}")
    wait = secs("rmmod-wait")
    if wait is not None:
        lines.append(f"#   {'rmmod waited':<24} {wait:6.0f}")
    scan = secs("kmemleak-scan")
    if scan is not None:
        lines.append(f"#   {'kmemleak scan':<24} {scan / 1000:6.1f}")
    vm = secs("vm-seconds")
    if vm is not None:
        lines.append(f"#   {'the VM':<24} {vm:6.0f}")
    return lines


def main():
    if sys.argv[1] == "--check-log":
        bad = bad_lines(read(pathlib.Path(sys.argv[2])) or "")
        print("\n".join(bad))
        sys.exit(1 if bad else 0)
    out, mode = pathlib.Path(sys.argv[1]), sys.argv[2]
    counts = {"pass": 0, "fail": 0, "skip": 0, "xfail": 0}
    lines = []
    number = 0

    def top(ok, name, directive=""):
        nonlocal number
        number += 1
        lines.append(f"{'ok' if ok else 'not ok'} {number} {name}{directive}")

    done = read(out / "done") is not None
    results = {}
    for line in (read(out / "results") or "").splitlines():
        name, _, rc = line.rpartition(" ")
        results[name] = int(rc)

    if mode == "selftests":
        programs = [l.split()[1] for l in (read(out / "tests") or "").splitlines() if l.strip()]
        for prog in programs:
            log = read(out / f"test-{prog}.log")
            rc = results.get(prog)
            own = {"pass": 0, "fail": 0, "skip": 0, "xfail": 0}
            for l in (log or "").splitlines():
                lines.append("  " + l)
                m = RESULT.match(l)
                if not m or l.startswith(" "):
                    continue
                verdict, _, directive = m.groups()
                if verdict == "not ok":
                    own["fail"] += 1
                elif directive == "SKIP":
                    own["skip"] += 1
                elif directive == "XFAIL":
                    own["xfail"] += 1
                else:
                    own["pass"] += 1
            # A program that failed or never finished without saying which
            # case failed (a crash, a timeout) counts as one failure.
            if rc is None or (rc not in (0, 4) and own["fail"] == 0):
                own["fail"] += 1
                lines.append(f"  # {prog}: exit status {rc}")
            for k in counts:
                counts[k] += own[k]
            top(rc in (0, 4) and own["fail"] == 0, f"selftests: rtcp: {prog}")
    else:
        name = "rtcp_bench" if mode == "bench" else "rtcp_demo"
        log_name = "bench.log" if mode == "bench" else "demo.log"
        print(read(out / log_name) or f"({name} left no output)")
        rc = results.get(name)
        counts["pass" if rc == 0 else "fail"] += 1
        top(rc == 0, name)

    module = (read(out / "module") or "").split("\n")
    loaded = "insmod 0" in module
    unloaded = any(l == "rmmod 0" for l in module) or not any(l.startswith("rmmod") for l in module)
    for ok, name in ((loaded, "rtcp: insmod rtcp.ko"), (unloaded, "rtcp: rmmod rtcp after the tests")):
        counts["pass" if ok else "fail"] += 1
        top(ok, name)

    log = (read(out / "dmesg") or "") + (read(out / "kmemleak") or "")
    if not done:
        # The guest never finished: the console is all there is.
        log += read(out / "console.log") or ""
    bad = bad_lines(log)
    tainted = read(out / "boot-tainted")
    if tainted:
        bad.append("the kernel reported a bug while booting, before rtcp.ko was loaded: "
                   + tainted.splitlines()[0])
    if (read(out / "kmemleak") or "").strip():
        bad.append("kmemleak: unreferenced objects (see kmemleak in " + str(out) + ")")
    clean = done and not bad
    counts["pass" if clean else "fail"] += 1
    top(clean, "rtcp: kernel log clean")
    if not done:
        lines.append(f"# the guest did not finish; see {out}/console.log and guest.log")
    for b in bad[:40]:
        lines.append("# " + b)

    print("TAP version 13")
    print(f"1..{number}")
    print("\n".join(lines))
    if mode == "selftests":
        print("\n".join(time_summary(out)))
    print(f"# Totals: pass:{counts['pass']} fail:{counts['fail']} "
          f"xfail:{counts['xfail']} xpass:0 skip:{counts['skip']} error:0")
    if mode == "selftests":
        extra = f", {counts['skip']} skipped" if counts["skip"] else ""
        print(f"rtcp-selftests: {counts['pass']} passed, {counts['fail']} failed{extra}")
    ran = counts["pass"] + counts["fail"] > 0
    sys.exit(0 if counts["fail"] == 0 and ran and done else 1)


if __name__ == "__main__":
    main()

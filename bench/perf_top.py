#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where the samples of `perf script -F ip,sym` (call chains included,
on stdin) went, with every kernel address named from /proc/kallsyms:
perf 6.1 leaves rtcp.ko's samples as bare addresses on this kernel (it
finds no module maps), so the names are looked up here.

Prints the share of each part (idle, the kernel, rtcp.ko, user space),
the functions that took the most samples themselves (self), and rtcp.ko's
functions by the samples taken anywhere under them (inclusive: what a
path of the module costs, the kernel's work it calls included).

    perf_top.py [DEMANGLER]   (rustfilt, for Rust's v0 names)
"""
import bisect
import collections
import subprocess
import sys

IDLE = {"pv_native_safe_halt", "default_idle", "native_safe_halt", "cpu_idle_poll", "poll_idle"}
SELF_TOP = 25
INCLUSIVE_TOP = 20
# For the kernel's top functions: the rtcp.ko function nearest them on
# their call chains (who in the module made the kernel do that work).
CALLERS_OF = 6
CALLERS_TOP = 3


def kallsyms():
    """The text symbols, sorted: their addresses, and (name, module)."""
    syms = []
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            addr = int(parts[0], 16)
            if addr:
                syms.append((addr, parts[2], parts[3].strip("[]") if len(parts) > 3 else "kernel"))
    syms.sort()
    return [s[0] for s in syms], [(s[1], s[2]) for s in syms]


def samples(lines):
    """Each sample's frames, innermost first, as addresses."""
    frames = []
    for line in lines:
        words = line.split()
        if not words:
            if frames:
                yield frames
            frames = []
            continue
        try:
            frames.append(int(words[0], 16))
        except ValueError:
            continue
    if frames:
        yield frames


def main():
    demangler = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "cat" else None
    addrs, names = kallsyms()

    def name(ip):
        if ip < 1 << 63:
            return ("(user space)", "user")
        i = bisect.bisect_right(addrs, ip) - 1
        return names[i] if i >= 0 else ("(unknown)", "kernel")

    total = 0
    parts = collections.Counter()
    own = collections.Counter()
    under = collections.Counter()
    callers = collections.defaultdict(collections.Counter)
    for frames in samples(sys.stdin):
        total += 1
        sym, mod = name(frames[0])
        own[(sym, mod)] += 1
        parts["idle" if sym in IDLE else mod] += 1
        if mod != "rtcp":
            nearest = next((n for n, m in map(name, frames[1:]) if m == "rtcp"), "(not under rtcp.ko)")
            callers[(sym, mod)][nearest] += 1
        seen = {name(ip) for ip in frames}
        for sym, mod in seen:
            if mod == "rtcp":
                under[sym] += 1
    if not total:
        print("# no samples")
        return
    rows = [f"# {total} samples; the parts: " + ", ".join(f"{p} {100 * n / total:.1f}%" for p, n in parts.most_common())]
    rows.append("# self")
    rows += [f"{100 * n / total:6.2f}%  {mod:8} {sym}" for (sym, mod), n in own.most_common(SELF_TOP)]
    rows.append("# the kernel's top functions, by the rtcp.ko function nearest them")
    top = [k for k, _ in own.most_common() if k[1] == "kernel" and k[0] not in IDLE][:CALLERS_OF]
    for sym, mod in top:
        by = callers[(sym, mod)]
        n = sum(by.values())
        rows.append(f"{100 * n / total:6.2f}%  {sym}: " +
                    "; ".join(f"{100 * c / n:.0f}% {caller}" for caller, c in by.most_common(CALLERS_TOP)))
    rows.append("# rtcp.ko, inclusive")
    rows += [f"{100 * n / total:6.2f}%  {sym}" for sym, n in under.most_common(INCLUSIVE_TOP)]
    text = "\n".join(rows) + "\n"
    if demangler:
        try:
            text = subprocess.run([demangler], input=text, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            pass
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Checks that a kernel tree someone built can build rtcp.ko, and prints its
# path; else says what it lacks and exits 1.
#
#   scripts/kdir.sh /path/to/linux
#
# What it needs: a tree configured and built (the module links against its
# Module.symvers and the Rust crates it compiled), with Rust, the options
# RTCP uses, and the patch that reserves AF_RTCP (scripts/patches/).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# = 1 ] || die "usage: scripts/kdir.sh KERNEL_TREE"
kdir=$1
[ -d "$kdir" ] && [ -f "$kdir/Makefile" ] && [ -d "$kdir/include/linux" ] ||
	die "KDIR=$kdir is not a kernel tree (no Makefile and include/linux/ there)"
kdir=$(cd "$kdir" && pwd)
[ -f "$kdir/.config" ] || die "KDIR=$kdir is not configured (no .config): make olddefconfig there, with the options below"

# The options RTCP needs, each with what it is for.
need=(
	"CONFIG_RUST:Rust support (RTCP is a Rust module)"
	"CONFIG_MODULES:loadable modules"
	"CONFIG_NET:networking"
	"CONFIG_INET:TCP/IP (RTCP shares its routes, ports and ISN hash)"
	"CONFIG_IPV6:IPv6 built in (RTCP's IPv6 sockets call it directly)"
	"CONFIG_NETFILTER:netfilter (RTCP receives its segments through a hook)"
	"CONFIG_PROC_FS:/proc (/proc/net/rtcp)"
	"CONFIG_SYSCTL:sysctl (net.rtcp.*)"
)
missing=()
for n in "${need[@]}"; do
	opt=${n%%:*}
	grep -qx "$opt=y" "$kdir/.config" || missing+=("$opt=y (${n#*:})")
done
if [ ${#missing[@]} -gt 0 ]; then
	printf '[rtcp] error: KDIR=%s lacks:\n' "$kdir" >&2
	printf '[rtcp]   %s\n' "${missing[@]}" >&2
	exit 1
fi

grep -Eq '^#define[[:space:]]+AF_RTCP[[:space:]]+46\b' "$kdir/include/linux/socket.h" ||
	die "KDIR=$kdir lacks the patch that reserves AF_RTCP = 46: apply $(ls "$RTCP_TOP"/scripts/patches/*.patch | head -1) and rebuild"

[ -f "$kdir/Module.symvers" ] && [ -f "$kdir/rust/libkernel.rmeta" ] ||
	die "KDIR=$kdir is not built (no Module.symvers or rust/libkernel.rmeta): build it first (make LLVM=1)"

echo "$kdir"

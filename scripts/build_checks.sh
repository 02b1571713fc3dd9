#!/usr/bin/env bash
# The build's plumbing, checked on the host (make test runs it):
# scripts/kdir.sh says what a kernel tree lacks, `make KDIR=<tree>
# modules_install` builds and installs rtcp.ko for that tree, and `make
# headers_install` installs the header. Everything goes to a scratch
# directory; RTCP's own kernel tree stands in for someone's tree.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$(scripts/kernel.sh --print debug) || die "RTCP's kernel is not built (make kernel)"
scratch=$(mktemp -d "$RTCP_TOP/build/checks.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fails=0

# expect_fail WHAT TEXT CMD...: CMD fails and says TEXT.
expect_fail() {
	local what=$1 text=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		echo "not ok: $what: succeeded"
		fails=$((fails + 1))
	elif ! grep -qF -- "$text" <<<"$out"; then
		echo "not ok: $what: no '$text' in: $out"
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}

# A fake tree: the real one's Makefile, .config and socket.h, then broken
# one way at a time.
fake=$scratch/linux
mkdir -p "$fake/include/linux" "$fake/rust"
cp "$tree/Makefile" "$tree/.config" "$fake/"
cp "$tree/include/linux/socket.h" "$fake/include/linux/"

expect_fail "not a kernel tree" "is not a kernel tree" scripts/kdir.sh "$scratch/nothing"
mv "$fake/.config" "$fake/config"
expect_fail "an unconfigured tree" "is not configured" scripts/kdir.sh "$fake"
grep -v '^CONFIG_RUST=y' "$fake/config" >"$fake/.config"
expect_fail "a tree without Rust" "CONFIG_RUST=y (Rust support" scripts/kdir.sh "$fake"
grep -v '^CONFIG_NETFILTER=y' "$fake/config" >"$fake/.config"
expect_fail "a tree without netfilter" "CONFIG_NETFILTER=y (netfilter" scripts/kdir.sh "$fake"
grep -v '^CONFIG_IPV6=y' "$fake/config" >"$fake/.config"
expect_fail "a tree without IPv6" "CONFIG_IPV6=y (IPv6" scripts/kdir.sh "$fake"
cp "$fake/config" "$fake/.config"
sed -i '/AF_RTCP/d' "$fake/include/linux/socket.h"
expect_fail "a tree without the AF_RTCP patch" "lacks the patch that reserves AF_RTCP" scripts/kdir.sh "$fake"
cp "$tree/include/linux/socket.h" "$fake/include/linux/"
expect_fail "a tree not built" "is not built" scripts/kdir.sh "$fake"
if [ "$(scripts/kdir.sh "$tree")" = "$tree" ]; then echo "ok: a built tree passes"; else echo "not ok: a built tree"; fails=$((fails + 1)); fi
expect_fail "make test with KDIR" "boot RTCP's own kernel" make -s KDIR="$tree" test

# Someone's tree: built against, installed from, depmod run. The tree
# stands in for someone's, and the module make test built for it is up to
# date in build/module, so kbuild only installs.
release=$(cat "$tree/include/config/kernel.release")
if make -s KDIR="$tree" LLVM="$LLVM_SUFFIX" MODULE_DIR=module INSTALL_MOD_PATH="$scratch/root" \
	modules_install >"$scratch/install.log" 2>&1 &&
	ko=$(find "$scratch/root/lib/modules/$release" -name rtcp.ko | head -1) && [ -n "$ko" ] &&
	grep -q 'rtcp.ko' "$scratch/root/lib/modules/$release/modules.dep" &&
	modinfo -F alias "$ko" | grep -qx net-pf-46; then
	echo "ok: make KDIR=<tree> modules_install (${ko#"$scratch/root"})"
else
	echo "not ok: make KDIR=<tree> modules_install:"
	sed 's/^/  /' "$scratch/install.log"
	fails=$((fails + 1))
fi
if make -s INSTALL_HDR_PATH="$scratch/usr" headers_install >/dev/null &&
	cmp -s include/uapi/linux/rtcp.h "$scratch/usr/include/linux/rtcp.h"; then
	echo "ok: make headers_install"
else
	echo "not ok: make headers_install"
	fails=$((fails + 1))
fi

[ "$fails" = 0 ] || die "$fails build checks failed"

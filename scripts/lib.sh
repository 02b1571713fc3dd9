# shellcheck shell=bash
# Shared settings for RTCP's scripts. Every pinned version lives here.

# The kernel: Debian's linux-source package from trixie-backports.
KERNEL_PKG=linux-source-7.3
KERNEL_DEB_VERSION=7.3.4-1~bpo13+1
KERNEL_SUITE="trixie-backports"
KERNEL_MIRROR="http://deb.debian.org/debian"

# Toolchain and tools.
LLVM_SUFFIX=-19
BINDGEN_VERSION=0.71.1
VIRTME_NG_VERSION=1.42
CARGO_FUZZ_VERSION=0.13.1
# virtio-fs for the VM's root (virtme-ng takes it over 9p when it finds
# none): the Rust daemon from crates.io, which Debian 12 does not package
# (qemu's own C virtiofsd cannot share a root without privileges).
VIRTIOFSD_VERSION=1.14.0
# scapy, for the wire harness's peer (in the same venv as virtme-ng).
SCAPY_VERSION=2.6.1

# Debian packages the build, the VM and the tests use.
DEB_PACKAGES=(
	clang-19 lld-19 llvm-19 libclang-19-dev
	make flex bison bc cpio kmod rsync xz-utils python3-venv
	libelf-dev libssl-dev
	qemu-system-x86 busybox-static
	iproute2 tcpdump ethtool
	libseccomp-dev libcap-ng-dev
	nginx wrk iperf3
)

RTCP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The cache lives outside the repo so that clones and CI runs share it. The
# VM sees the host's root read-only, except /var/cache, /var/tmp and a few
# others that virtme-ng replaces with empty tmpfs: the cache must not be
# under those (the selftests read the kernel tree's kselftest helpers).
RTCP_CACHE=${RTCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rtcp}
case $RTCP_CACHE in
/var/cache/*|/var/tmp/*|/var/log/*|/var/lib/*|/run/*)
	echo "[rtcp] RTCP_CACHE=$RTCP_CACHE is hidden inside the VM; use another path" >&2
	exit 1 ;;
esac
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${LLVM_SUFFIX}/lib}
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[rtcp] %s\n' "$*" >&2; }
die() { printf '[rtcp] error: %s\n' "$*" >&2; exit 1; }

# The key of a kernel build: the source version, the patches, the config
# fragment(s), the toolchain and the recipe. Any change gives a new build dir.
# $1: the flavour (debug or bench).
kernel_key() {
	local flavour=$1
	{
		echo "$KERNEL_PKG $KERNEL_DEB_VERSION $flavour"
		cat "$RTCP_TOP"/scripts/patches/*.patch
		cat "$RTCP_TOP"/scripts/kconfig/rtcp.config
		[ "$flavour" = debug ] || cat "$RTCP_TOP/scripts/kconfig/$flavour.config"
		sed -n '/^# --- recipe/,$p' "$RTCP_TOP/scripts/kernel.sh"
		rustc --version
		"clang$LLVM_SUFFIX" --version | head -n 1
		bindgen --version
	} | sha256sum | cut -c1-16
}

# The directory of the built kernel tree for a flavour.
kernel_dir() {
	echo "$RTCP_CACHE/kernel-$1-$(kernel_key "$1")"
}

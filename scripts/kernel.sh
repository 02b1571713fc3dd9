#!/usr/bin/env bash
# Fetch, patch, configure and build RTCP's kernel into the cache.
#
#   scripts/kernel.sh [debug|bench]          build (or reuse) and print its path
#   scripts/kernel.sh --print [debug|bench]  print the path if it is built
#
# The tree lives in $RTCP_CACHE/kernel-<flavour>-<key>, keyed by the kernel
# version, the patches, the config fragments, the toolchain and the recipe
# below, so a second run with nothing changed does no work.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

print_only=
if [ "${1:-}" = --print ]; then
	print_only=1
	shift
fi
flavour=${1:-debug}
case $flavour in debug|bench) ;; *) die "unknown kernel flavour '$flavour'" ;; esac

dir=$(kernel_dir "$flavour")
if [ -f "$dir/.rtcp-built" ]; then
	echo "$dir"
	exit 0
fi
[ -z "$print_only" ] || exit 1

# One build of a tree at a time: a second caller (another make target, a
# second shell) waits for the first and then finds the tree built.
mkdir -p "$RTCP_CACHE"
exec 9>"$dir.lock"
if ! flock -n 9; then
	log "waiting for another build of $dir"
	flock 9
fi
if [ -f "$dir/.rtcp-built" ]; then
	echo "$dir"
	exit 0
fi

# Fetch Debian's source package through a private apt configuration: the
# machine's own apt sources are left alone.
deb=$RTCP_CACHE/dl/${KERNEL_PKG}_${KERNEL_DEB_VERSION}_all.deb
if [ ! -f "$deb" ]; then
	apt=$RTCP_CACHE/apt
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$RTCP_CACHE/dl"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $KERNEL_MIRROR $KERNEL_SUITE main" \
		>"$apt/sources.list"
	opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
		-o "APT::Sandbox::User=root")
	log "fetching $KERNEL_PKG $KERNEL_DEB_VERSION from $KERNEL_SUITE"
	apt-get "${opts[@]}" -q update >&2
	(cd "$RTCP_CACHE/dl" && apt-get "${opts[@]}" -q download "$KERNEL_PKG=$KERNEL_DEB_VERSION" >&2)
fi

# --- recipe (everything below is part of the build key)
if [ ! -f "$dir/.rtcp-configured" ]; then
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	log "unpacking $KERNEL_PKG into $dir"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$KERNEL_PKG.tar.xz" |
		tar -xJ -C "$dir.tmp" --strip-components=1
	for p in "$RTCP_TOP"/scripts/patches/*.patch; do
		log "applying $(basename "$p")"
		patch -d "$dir.tmp" -p1 --quiet --forward <"$p" >&2
	done
	frags=("$RTCP_TOP/scripts/kconfig/rtcp.config")
	[ "$flavour" = debug ] || frags+=("$RTCP_TOP/scripts/kconfig/$flavour.config")
	make -C "$dir.tmp" -s LLVM="$LLVM_SUFFIX" tinyconfig >&2
	(cd "$dir.tmp" && ./scripts/kconfig/merge_config.sh -m .config "${frags[@]}" >&2)
	make -C "$dir.tmp" -s LLVM="$LLVM_SUFFIX" olddefconfig >&2
	# Every option the fragments ask for (the last fragment that names it
	# wins) must have survived olddefconfig: a dependency that silently
	# turned one off is a config bug.
	declare -A want=()
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) opt=${line%%=*} ;;
		"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
		*) continue ;;
		esac
		want[$opt]=$line
	done < <(cat "${frags[@]}")
	bad=0
	for opt in "${!want[@]}"; do
		got=$(grep -E "^(# )?$opt[= ]" "$dir.tmp/.config" || echo "# $opt is not set")
		if [ "$got" != "${want[$opt]}" ]; then
			log "config: asked '${want[$opt]}', got '$got'"
			bad=1
		fi
	done
	[ "$bad" = 0 ] || die "the config fragment does not hold; fix scripts/kconfig"
	make -C "$dir.tmp" -s LLVM="$LLVM_SUFFIX" rustavailable >&2
	touch "$dir.tmp/.rtcp-configured"
	mv "$dir.tmp" "$dir"
fi

log "building the $flavour kernel in $dir (LLVM=$LLVM_SUFFIX, $(nproc) jobs)"
start=$(date +%s)
make -C "$dir" -s LLVM="$LLVM_SUFFIX" -j"$(nproc)" bzImage modules >&2
touch "$dir/.rtcp-built"
log "kernel built in $(( $(date +%s) - start )) s"
echo "$dir"

#!/usr/bin/env bash
# Run the core's cargo-fuzz targets, each for a bounded time.
#
#   scripts/fuzz.sh [TARGET] [SECONDS]
#
# TARGET: segment_parse (the parser), conn_drive (a listener and a
# connection driven by arbitrary segments, calls and clock steps, with
# the core's invariants checked after each step), or all (the default:
# each in turn). SECONDS (default 60) bounds each target.
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer); the machine's
# stable toolchain accepts them with RUSTC_BOOTSTRAP=1. FUZZ_TARGET_DIR, if
# set, is where they build (else rust/proto/fuzz/target).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=${1:-all}
secs=${2:-60}
case $target in
all) targets="segment_parse conn_drive" ;;
segment_parse|conn_drive) targets=$target ;;
*) echo "usage: $0 [segment_parse|conn_drive|all] [SECONDS]" >&2; exit 2 ;;
esac
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
	log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
	cargo install --locked --force cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
cd "$RTCP_TOP/rust/proto"
for t in $targets; do
	log "fuzzing $t for $secs s"
	RUSTC_BOOTSTRAP=1 cargo fuzz run ${FUZZ_TARGET_DIR:+--target-dir "$FUZZ_TARGET_DIR"} "$t" -- -max_total_time="$secs"
done

#!/usr/bin/env bash
# Run the cargo-fuzz target of the segment parser for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer); the machine's
# stable toolchain accepts them with RUSTC_BOOTSTRAP=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

secs=${1:-60}
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
	log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
	cargo install --locked --force cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
cd "$RTCP_TOP/rust/proto"
RUSTC_BOOTSTRAP=1 cargo fuzz run segment_parse -- -max_total_time="$secs"

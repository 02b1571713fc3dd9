# SPDX-License-Identifier: GPL-2.0
#
# RTCP's top level. `make run` and `make test` set up everything they need
# (packages, toolchain pieces, the kernel) on first use; see README.md.
#
#   make            build rtcp.ko against the cached RTCP kernel, and rtcpize
#   make run        boot the VM, load rtcp.ko, run the AF_RTCP demo
#   make test       host cargo tests, rtcp.ko (clippy-clean), VM selftests
#   make fuzz       run the core's fuzzers (FUZZ_TARGET, default all) for FUZZ_SECONDS each
#   make wire       the differential wire harness alone (AF_RTCP's segments
#                   against AF_INET's), in one VM boot
#   make bench      the benchmarks, AF_RTCP against AF_INET (and nginx+wrk,
#                   iperf3 under rtcpize against plain), on a kernel
#                   without debug checks (BENCH_SECONDS per family,
#                   BENCH_RUNS rounds, 5: each ratio's median and range;
#                   SCALE_CONNS connections held, 20000; BENCH_ONLY,
#                   comma-separated, runs only the benchmarks it names:
#                   bulk,bulk8,rr,crr,bulk6,crr6,scale,ports,wrk,iperf3)
#   make profile    where the benchmarks' time goes: perf's top symbols for
#                   each family (BENCH_PROFILE: bulk,bulk8,rr,crr,bulk6)
#   make kernel     only fetch, patch, configure and build the kernel
#   make clean      remove build outputs (the kernel cache stays)
#
#   make KDIR=<tree>        build rtcp.ko against your own kernel tree
#                           (built, Rust enabled, with scripts/patches;
#                           LLVM=1 unless you say otherwise)
#   make modules_install    install rtcp.ko (kbuild's modules_install:
#                           INSTALL_MOD_PATH, INSTALL_MOD_DIR) and run depmod
#   make headers_install    install linux/rtcp.h under INSTALL_HDR_PATH
#                           (default /usr/local: /usr/local/include/linux/)
#
# Kbuild (not this file) describes the module; the kernel's build system
# reads it when this file calls `make -C <kernel> M=$(CURDIR)`.

SHELL := /bin/bash
LLVM_SUFFIX := -19
FUZZ_SECONDS ?= 60
FUZZ_TARGET ?= all

# The kernel the module builds against: RTCP's own (built into the cache
# on first use), or the tree KDIR names, which scripts/kdir.sh checks.
ifneq ($(KDIR),)
KSRC = $$(scripts/kdir.sh "$(KDIR)")
MODULE_DIR ?= kdir-module
LLVM ?= 1
else
KSRC = $$(scripts/kernel.sh debug)
MODULE_DIR := module
LLVM ?= $(LLVM_SUFFIX)
endif
ifneq ($(KDIR),)
ifneq ($(filter test run wire bench profile,$(MAKECMDGOALS)),)
$(error make test, run and bench boot RTCP's own kernel; KDIR= is for make and make modules_install)
endif
endif
CLIPPY ?= 1
INSTALL_HDR_PATH ?= /usr/local
# Kbuild's output goes under build/ (MO=), one directory per kernel, so that
# the source tree stays clean and the kernels' builds never mix.
KMAKE = mkdir -p $(CURDIR)/build/$(1) && $(MAKE) -C "$$kdir" M=$(CURDIR) MO=$(CURDIR)/build/$(1) \
	LLVM=$(LLVM)

all: module rtcpize

deps:
	@scripts/deps.sh

kernel: deps
	@scripts/kernel.sh debug

module: deps
	@kdir=$(KSRC) && $(call KMAKE,$(MODULE_DIR)) CLIPPY=$(CLIPPY) modules

# The build's own plumbing: KDIR checks, the installs (host, seconds).
build-checks: module
	@scripts/build_checks.sh

modules_install: module
	@kdir=$(KSRC) && $(call KMAKE,$(MODULE_DIR)) modules_install

headers_install:
	install -D -m 0644 include/uapi/linux/rtcp.h $(DESTDIR)$(INSTALL_HDR_PATH)/include/linux/rtcp.h

selftests: deps
	@kdir=$(KSRC) && $(MAKE) -C selftests KSFT_DIR="$$kdir/tools/testing/selftests"

demo: deps
	@$(MAKE) -C demo

# rtcpize run CMD: CMD's TCP sockets as AF_RTCP (a preload library).
rtcpize:
	@$(MAKE) -C rtcpize

# Cargo's output stays out of the source tree of the core, in the cache
# that scripts/lib.sh names (RTCP_CACHE): every clone shares the built
# dependencies, so a fresh clone compiles only the core itself.
RTCP_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rtcp
cargo-test: export CARGO_TARGET_DIR := $(RTCP_CACHE)/cargo
cargo-test: deps
	cd rust/proto && RUSTFLAGS="-Dwarnings" cargo test --locked
	cd rust/proto && cargo clippy --locked --all-targets -- -Dwarnings

test: cargo-test module rtcpize selftests build-checks
	@scripts/vm.sh selftests

run: module demo
	@scripts/vm.sh demo

# The differential wire harness, in a boot of its own (make test leaves it
# out: see selftests/rtcp_jobs).
wire: module rtcpize selftests
	@RTCP_TESTS=rtcp_wire.sh scripts/vm.sh selftests

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_TARGET) $(FUZZ_SECONDS)

bench: deps rtcpize
	@kdir=$$(scripts/kernel.sh bench) && $(call KMAKE,bench-module) modules
	@$(MAKE) -C bench
	@scripts/vm.sh bench

# Where the benchmarks' time goes: perf in the benchmark kernel's VM, one
# benchmark at a time for each family (BENCH_PROFILE, comma-separated:
# bulk, bulk8, rr, crr, bulk6, crr6), its top symbols printed.
profile: deps rtcpize
	@command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf
	@command -v rustfilt >/dev/null || cargo install --quiet --locked rustfilt
	@kdir=$$(scripts/kernel.sh bench) && $(call KMAKE,bench-module) modules
	@$(MAKE) -C bench
	@BENCH_PROFILE=$${BENCH_PROFILE:-bulk,bulk8,rr,crr,bulk6} scripts/vm.sh bench

clean:
	$(MAKE) -C selftests clean
	$(MAKE) -C demo clean
	$(MAKE) -C rtcpize clean
	$(MAKE) -C bench clean
	rm -rf build rust/proto/target rust/proto/fuzz/target

.PHONY: all deps kernel module modules_install headers_install selftests demo rtcpize cargo-test build-checks test run wire fuzz bench profile clean

# SPDX-License-Identifier: GPL-2.0
#
# RTCP's top level. `make run` and `make test` set up everything they need
# (packages, toolchain pieces, the kernel) on first use; see README.md.
#
#   make            build rtcp.ko against the cached RTCP kernel
#   make run        boot the VM, load rtcp.ko, run the AF_RTCP demo
#   make test       host cargo tests, rtcp.ko (clippy-clean), VM selftests
#   make fuzz       run the segment parser fuzzer for FUZZ_SECONDS
#   make bench      CRR benchmark, AF_RTCP against AF_INET, on a kernel
#                   without debug checks (BENCH_SECONDS per family)
#   make kernel     only fetch, patch, configure and build the kernel
#   make clean      remove build outputs (the kernel cache stays)
#
# Kbuild (not this file) describes the module; the kernel's build system
# reads it when this file calls `make -C <kernel> M=$(CURDIR)`.

SHELL := /bin/bash
LLVM_SUFFIX := -19
FUZZ_SECONDS ?= 60

KSRC = $$(scripts/kernel.sh debug)
# Kbuild's output goes under build/ (MO=), one directory per kernel, so that
# the source tree stays clean and the two kernels' builds never mix.
KMAKE = mkdir -p $(CURDIR)/build/$(1) && $(MAKE) -C "$$kdir" M=$(CURDIR) MO=$(CURDIR)/build/$(1) \
	LLVM=$(LLVM_SUFFIX)

all: module

deps:
	@scripts/deps.sh

kernel: deps
	@scripts/kernel.sh debug

module: deps
	@kdir=$(KSRC) && $(call KMAKE,module) CLIPPY=1 modules

selftests: deps
	@kdir=$(KSRC) && $(MAKE) -C selftests KSFT_DIR="$$kdir/tools/testing/selftests"

demo: deps
	@$(MAKE) -C demo

# Cargo's output stays out of the source tree of the core, in the cache
# that scripts/lib.sh names (RTCP_CACHE): every clone shares the built
# dependencies, so a fresh clone compiles only the core itself.
RTCP_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rtcp
cargo-test: export CARGO_TARGET_DIR := $(RTCP_CACHE)/cargo
cargo-test: deps
	cd rust/proto && RUSTFLAGS="-Dwarnings" cargo test --locked
	cd rust/proto && cargo clippy --locked --all-targets -- -Dwarnings

test: cargo-test module selftests
	@scripts/vm.sh selftests

run: module demo
	@scripts/vm.sh demo

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	@kdir=$$(scripts/kernel.sh bench) && $(call KMAKE,bench-module) modules
	@$(MAKE) -C bench
	@scripts/vm.sh bench

clean:
	$(MAKE) -C selftests clean
	$(MAKE) -C demo clean
	$(MAKE) -C bench clean
	rm -rf build rust/proto/target rust/proto/fuzz/target

.PHONY: all deps kernel module selftests demo cargo-test test run fuzz bench clean

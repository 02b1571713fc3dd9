// SPDX-License-Identifier: GPL-2.0

//! RTCP's sans-IO TCP core.
//!
//! Everything here is plain logic over bytes and numbers: no `unsafe`, no
//! allocation, no clock and no I/O. Events go in, segments and actions come
//! out. The same files are built into `rtcp.ko` (as `mod proto`, where the
//! kernel passes `--cfg MODULE`) and on the host as the `proto` cargo crate,
//! which runs the unit, property and fuzz tests.
//!
//! Nothing in this module may panic on any input: the kernel builds Rust
//! with overflow checks, and a panic is a dead machine. Arithmetic on
//! untrusted numbers is wrapping or checked, slicing goes through `get`.

#![cfg_attr(not(any(MODULE, test)), no_std)]
#![forbid(unsafe_code)]
// No arithmetic that can overflow and no indexing that can go out of bounds
// in the code that runs in the kernel (tests may do as they like).
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects, clippy::indexing_slicing))]

pub mod addr;
pub mod cc;
pub mod checksum;
pub mod conn;
pub mod cookie;
pub mod fastopen;
pub mod icmp;
pub mod input;
pub mod ipv4;
pub mod ipv6;
pub mod mib;
pub mod options;
pub mod output;
pub mod reasm;
pub mod request;
pub mod reuseport;
pub mod ring;
pub mod rtt;
pub mod rwnd;
pub mod segment;
pub mod seq;
pub mod state;
pub mod stream;
pub mod urgent;

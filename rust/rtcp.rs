// SPDX-License-Identifier: GPL-2.0

//! RTCP: TCP's connection machinery in Rust, as the `AF_RTCP` socket family.
//!
//! C header of the family: `include/uapi/linux/rtcp.h` in this repository.
//!
//! The crate has three layers (see the project's DESIGN.md):
//! - [`proto`], the sans-IO protocol core, also built on the host as a
//!   cargo crate;
//! - `net`, the safe wrappers over the kernel objects, which hold every
//!   `unsafe` of the module;
//! - the glue (`af_rtcp`) that feeds socket calls and packets to `proto`.

use kernel::prelude::*;

#[path = "proto/lib.rs"]
pub mod proto;

mod af_rtcp;
mod demux;
mod net;
mod sys;

module! {
    type: Rtcp,
    name: "rtcp",
    authors: ["RTCP developers"],
    description: "AF_RTCP: TCP implemented in Rust",
    license: "GPL",
    alias: ["net-pf-46"],
}

/// `THIS_MODULE`, for the `owner` of the C tables.
pub(crate) const THIS_MODULE: &ThisModule = kernel::module::this_module::<Rtcp>();

/// The loaded module: its registrations, dropped (unregistered) in field
/// order, the reverse of the order `init` makes them in.
struct Rtcp {
    _family: net::FamilyRegistration<af_rtcp::RtcpFamily>,
    _proto: net::ProtoRegistration<af_rtcp::RtcpProto>,
    _pernet: net::PernetRegistration,
    _port_releases: net::PortReleases,
}

impl kernel::Module for Rtcp {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let port_releases = net::PortReleases::new()?;
        let pernet = net::PernetRegistration::new(&af_rtcp::PERNET)?;
        let proto = net::ProtoRegistration::new(&af_rtcp::PROTO)?;
        let family = net::FamilyRegistration::new()?;
        pr_info!("AF_RTCP ({}) registered\n", af_rtcp::AF_RTCP);
        Ok(Rtcp { _family: family, _proto: proto, _pernet: pernet, _port_releases: port_releases })
    }
}

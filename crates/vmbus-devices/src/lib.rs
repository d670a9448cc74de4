//! Guest side of the Hyper-V synthetic device protocols over VMBus channels.
//!
//! Pure logic, no I/O: every device driver is an explicit state machine that
//! consumes [`Incoming`] packets (what the host put in the channel's inbound
//! ring) and fills an [`Output`] with [`Outgoing`] packets for the outbound
//! ring and with device events for the kernel. The VMBus transport (rings,
//! GPADLs, channel offers) lives in a separate crate; the boundary here is
//! packet payloads (sheet `hyperv-vmbus.md` §4.3) plus the pipe framing of
//! §4.6 that the mouse and synthvid channels use.
//!
//! Devices, one module each: [`keyboard`] (§6.1), [`mouse`] with the HID
//! report descriptor parser in [`hid`] (§6.2), [`synthvid`] (§6.3),
//! [`storvsc`] (§6.4) and [`netvsc`] (§6.5).
//!
//! Everything the host sends is treated as hostile: lengths, counts and
//! offsets are checked before use, nothing panics, every loop is bounded by
//! a validated count, allocations are capped, and repeated violations make a
//! driver stop (see [`budget`]).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod budget;
pub mod hid;
pub mod keyboard;
pub mod mouse;
pub mod netvsc;
pub mod output;
pub mod packet;
pub mod pipe;
pub mod protocol;
mod requests;
pub mod storvsc;
pub mod synthvid;
mod wire;

pub use output::Output;
pub use packet::{
    GpaRange, Incoming, IncomingKind, Outgoing, OutgoingKind, TransferPages, TransferRange,
};
pub use protocol::Protocol;
pub use wire::WireError;

//! A simulated Hyper-V host: SynIC, hypercalls, VMBus server, rings and
//! synthetic device back-ends, for proving Ferrite's guest drivers without
//! real Hyper-V.
//!
//! Everything follows the facts sheet `hyperv-vmbus.md`; section 8 ("Behaviour
//! a simulated host should reproduce") is the specification, sections 1–6
//! the layouts, section 9 the byte vectors the tests check.
//!
//! The host is a pure step machine ([`Host`]): guest actions are method
//! calls, device progress happens in [`Host::step`], and every effect —
//! guest memory by GPA, synthetic interrupts — goes through the embedder's
//! [`Platform`]. No threads, timers or randomness beyond hostile mode's
//! seeded [`prng::XorShift64`]. The crate shares no code with the guest
//! crates: every wire layout is defined here again, from the sheet.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod device;
mod env;
pub mod guid;
mod host;
pub mod hostile;
pub mod hv;
pub mod notes;
pub mod packet;
pub mod platform;
pub mod prng;
pub mod ring;
pub mod vmbus;
mod wire;

pub use device::{Device, DeviceError, DeviceId, DeviceIo, OfferInfo};
pub use host::{Host, HostConfig};
pub use hostile::{HostileCase, HostileConfig};
pub use hv::MsrError;
pub use notes::{Note, Notes};
pub use platform::{MemError, MemoryPlatform, Platform, SintInterrupt};
pub use vmbus::channels::{ChannelFailure, ChannelPhase};
pub use vmbus::server::Connection;

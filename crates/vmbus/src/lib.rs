//! Guest side of Hyper-V's VMBus as pure, host-tested logic.
//!
//! Everything here follows the facts sheet `docs/hyperv-vmbus.md` (section
//! numbers in each module's documentation) and touches no hardware. The
//! kernel supplies the hardware half:
//!
//! - [`synic`]: MSR numbers, hypercall codes and status values, the SIMP
//!   slot and HvPostMessage input layouts, event-flag bit helpers. The
//!   arch layer programs the MSRs and issues the hypercalls with them.
//! - [`message`]: every control message of §3, encoded and decoded byte
//!   for byte, with the GPADL splitter.
//! - [`client`]: the control plane as a pure state machine. Feed it SIMP
//!   slot payloads and requests; post the messages it returns and hand
//!   its events to drivers.
//! - [`ring`]: one direction of a channel ring over a [`ring::RingMemory`]
//!   the kernel implements on HHDM pages; validates everything the host
//!   writes.
//! - [`packet`]: packet descriptors, in-band / completion / GPA-direct /
//!   transfer-page packets, and pipe framing.
//! - [`guid`]: GUIDs and the device classes of offers; [`range`]: page
//!   ranges shared by GPADLs and GPA-direct packets.
//!
//! # Example: the first exchange
//!
//! ```
//! use vmbus::synic::{post_message_input, SynicMessage, MESSAGE_TYPE_VMBUS, SLOT_SIZE};
//! use vmbus::{Action, Client, ClientConfig, Event, Version};
//!
//! let mut client = Client::new(ClientConfig::default());
//! for action in client.connect().unwrap() {
//!     if let Action::Post { connection_id, message } = action {
//!         // The arch layer copies this block to its hypercall input page
//!         // and issues HvPostMessage (call code 0x5C).
//!         let block =
//!             post_message_input(connection_id, MESSAGE_TYPE_VMBUS, message.as_bytes()).unwrap();
//!         assert_eq!((connection_id, block[16]), (1, 14)); // INITIATE_CONTACT
//!     }
//! }
//! // On the VMBus vector: copy SIMP slot 2 out, clear it, EOM if pending.
//! let answer = [15, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
//! let slot: [u8; SLOT_SIZE] = SynicMessage::new(MESSAGE_TYPE_VMBUS, 0, &answer)
//!     .unwrap()
//!     .encode();
//! let message = SynicMessage::parse(&slot).unwrap();
//! let actions = client.on_message(message.payload());
//! assert!(matches!(
//!     actions[0],
//!     Action::Event(Event::Connected { version: Version::V6_0, .. })
//! ));
//! // actions[1] posts REQUESTOFFERS; offers arrive as Event::Offer.
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod client;
pub mod guid;
pub mod message;
pub mod packet;
pub mod range;
pub mod ring;
pub mod synic;

use core::fmt;

pub use client::{run_actions, Action, Client, ClientConfig, ConnectionMode, Event};
pub use guid::{DeviceClass, Guid};
pub use message::Version;

/// Any error of this crate, for callers that want one type (style §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmbusError {
    /// A GUID text form was malformed.
    Guid(guid::GuidError),
    /// A SynIC slot or post input was malformed.
    Synic(synic::SynicError),
    /// A control message was malformed.
    Message(message::MessageError),
    /// A page range was inconsistent.
    Range(range::RangeError),
    /// A ring packet was malformed.
    Packet(packet::PacketError),
    /// A ring's shared state was unusable, or it was full.
    Ring(ring::RingError),
    /// The client refused a request.
    Request(client::RequestError),
    /// The host broke the control protocol.
    Protocol(client::ProtocolError),
}

macro_rules! from_error {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl From<$ty> for VmbusError {
            fn from(e: $ty) -> VmbusError {
                VmbusError::$variant(e)
            }
        }
    )*};
}

from_error!(
    Guid(guid::GuidError),
    Synic(synic::SynicError),
    Message(message::MessageError),
    Range(range::RangeError),
    Packet(packet::PacketError),
    Ring(ring::RingError),
    Request(client::RequestError),
    Protocol(client::ProtocolError),
);

impl fmt::Display for VmbusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmbusError::Guid(e) => write!(f, "vmbus: {e}"),
            VmbusError::Synic(e) => write!(f, "vmbus: {e}"),
            VmbusError::Message(e) => write!(f, "vmbus: {e}"),
            VmbusError::Range(e) => write!(f, "vmbus: {e}"),
            VmbusError::Packet(e) => write!(f, "vmbus: {e}"),
            VmbusError::Ring(e) => write!(f, "vmbus: {e}"),
            VmbusError::Request(e) => write!(f, "vmbus: {e}"),
            VmbusError::Protocol(e) => write!(f, "vmbus: {e}"),
        }
    }
}

//! Synthetic mouse, SynthHID over pipe framing (sheet §6.2, §4.6).
//!
//! Sequence: PROTOCOL_REQUEST(2.0) → PROTOCOL_RESPONSE (approved) → the host
//! sends INITIAL_DEVICE_INFO with device attributes, the HID descriptor and
//! the report descriptor → the guest answers INITIAL_DEVICE_INFO_ACK and
//! sends nothing more → INPUT_REPORTs follow, decoded with the layout the
//! [`crate::hid`] parser found in the report descriptor.

mod driver;
mod error;
mod message;

pub use driver::{Mouse, MouseEvent, MouseState};
pub use error::MouseError;
pub use message::{
    DeviceAttributes, DeviceInfo, HidDescriptor, MouseMessage, ATTRIBUTES_LEN, HID_DESCRIPTOR_LEN,
    MSG_DEVICE_INFO, MSG_DEVICE_INFO_ACK, MSG_INPUT_REPORT, MSG_PROTOCOL_REQUEST,
    MSG_PROTOCOL_RESPONSE, VERSION_2_0,
};

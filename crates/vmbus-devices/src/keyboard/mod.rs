//! Synthetic keyboard (sheet §6.1): messages, scan codes and the driver.
//!
//! The channel carries raw in-band messages (no pipe header). After the
//! channel opens the guest sends PROTOCOL_REQUEST(1.0); the host answers
//! PROTOCOL_RESPONSE with bit 0 set, then sends one EVENT per keystroke. Scan
//! codes are PS/2 set 1 make codes; [`KeyEvent::to_set1`] rebuilds the byte
//! stream an i8042 would deliver, for the kernel's PS/2 input service.

mod driver;
mod error;
mod message;
mod scancode;

pub use driver::{Keyboard, KeyboardEvent, KeyboardState};
pub use error::KeyboardError;
pub use message::{
    KeyboardMessage, Leds, INFO_BREAK, INFO_E0, INFO_E1, INFO_UNICODE, MAX_MESSAGE_LEN, MSG_EVENT,
    MSG_PROTOCOL_REQUEST, MSG_PROTOCOL_RESPONSE, MSG_SET_LED_INDICATORS, VERSION_1_0,
};
pub use scancode::{KeyEvent, Set1Bytes};

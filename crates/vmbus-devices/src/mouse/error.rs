//! The mouse driver's error type.

use core::fmt;

use super::MouseState;
use crate::hid::HidError;
use crate::wire::WireError;

/// What the mouse driver refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseError {
    /// Pipe frame or message layout violated.
    Wire(WireError),
    /// The SynthHID size word claims more bytes than the pipe frame holds.
    BadSize {
        /// The size word.
        size: u32,
        /// Bytes after the SynthHID header.
        available: usize,
    },
    /// A SynthHID type this protocol does not define.
    UnknownMessage(u32),
    /// The HID descriptor in INITIAL_DEVICE_INFO is malformed.
    BadHidDescriptor,
    /// The report descriptor could not be used (fatal).
    Hid(HidError),
    /// An input report that does not fit the layout.
    BadReport(HidError),
    /// A message that does not belong in this state.
    Unexpected {
        /// Where the driver was.
        state: MouseState,
        /// The SynthHID type received.
        msg_type: u32,
    },
    /// The host answered for another version than the one requested.
    VersionMismatch(u32),
    /// The host refused SynthHID 2.0; the driver fails.
    Rejected,
    /// A packet kind other than in-band or completion.
    WrongPacketKind,
    /// A completion for an id the driver never sent or already saw.
    UnknownCompletion(u64),
    /// `start` was called twice.
    AlreadyStarted,
    /// The driver has stopped.
    Failed,
}

impl From<WireError> for MouseError {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl From<HidError> for MouseError {
    fn from(e: HidError) -> Self {
        Self::Hid(e)
    }
}

impl fmt::Display for MouseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wire(e) => write!(f, "mouse: {e}"),
            Self::BadSize { size, available } => {
                write!(
                    f,
                    "mouse: synthhid size {size} but {available} bytes follow"
                )
            }
            Self::UnknownMessage(t) => write!(f, "mouse: unknown synthhid type {t}"),
            Self::BadHidDescriptor => write!(f, "mouse: malformed HID descriptor"),
            Self::Hid(e) => write!(f, "mouse: {e}"),
            Self::BadReport(e) => write!(f, "mouse: input report: {e}"),
            Self::Unexpected { state, msg_type } => {
                write!(f, "mouse: synthhid type {msg_type} unexpected in {state:?}")
            }
            Self::VersionMismatch(v) => write!(f, "mouse: response for version {v:#x}"),
            Self::Rejected => write!(f, "mouse: protocol 2.0 refused"),
            Self::WrongPacketKind => write!(f, "mouse: packet kind not in-band/completion"),
            Self::UnknownCompletion(id) => write!(f, "mouse: completion for unknown id {id}"),
            Self::AlreadyStarted => write!(f, "mouse: already started"),
            Self::Failed => write!(f, "mouse: driver failed"),
        }
    }
}

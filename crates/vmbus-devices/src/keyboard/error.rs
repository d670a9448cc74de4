//! The keyboard driver's error type.

use core::fmt;

use super::KeyboardState;
use crate::wire::WireError;

/// What the keyboard driver refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyboardError {
    /// The payload does not fit the message layout.
    Wire(WireError),
    /// A message type this protocol does not define.
    UnknownMessage(u32),
    /// A payload longer than the 256-byte message cap.
    TooLong(usize),
    /// A message that makes no sense in this state (e.g. a keystroke before
    /// the protocol was accepted, or a guest-only message from the host).
    Unexpected {
        /// Where the driver was.
        state: KeyboardState,
        /// The message type received.
        msg_type: u32,
    },
    /// A packet kind other than in-band or completion.
    WrongPacketKind,
    /// A completion for a transaction id the driver never sent (or already
    /// saw completed).
    UnknownCompletion(u64),
    /// The host refused protocol 1.0 (status word given); the driver fails.
    Rejected {
        /// The PROTOCOL_RESPONSE status word.
        status: u32,
    },
    /// A keystroke with a make code beyond 0x7F or both E0 and E1 set.
    BadKey {
        /// The make code sent.
        make_code: u16,
        /// The info bits sent.
        info: u32,
    },
    /// The call needs the Ready state.
    NotReady,
    /// `start` was called twice.
    AlreadyStarted,
    /// The driver has stopped (rejected protocol or too many violations).
    Failed,
}

impl From<WireError> for KeyboardError {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl fmt::Display for KeyboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wire(e) => write!(f, "keyboard: {e}"),
            Self::UnknownMessage(t) => write!(f, "keyboard: unknown message type {t}"),
            Self::TooLong(n) => write!(f, "keyboard: {n}-byte message exceeds 256"),
            Self::Unexpected { state, msg_type } => {
                write!(
                    f,
                    "keyboard: message {msg_type} unexpected in state {state:?}"
                )
            }
            Self::WrongPacketKind => write!(f, "keyboard: packet kind not in-band/completion"),
            Self::UnknownCompletion(id) => write!(f, "keyboard: completion for unknown id {id}"),
            Self::Rejected { status } => write!(f, "keyboard: protocol refused ({status:#x})"),
            Self::BadKey { make_code, info } => {
                write!(f, "keyboard: bad key {make_code:#x} info {info:#x}")
            }
            Self::NotReady => write!(f, "keyboard: not ready"),
            Self::AlreadyStarted => write!(f, "keyboard: already started"),
            Self::Failed => write!(f, "keyboard: driver failed"),
        }
    }
}

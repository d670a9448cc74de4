//! The synthvid driver's error type.

use core::fmt;

use super::SynthvidState;
use crate::wire::WireError;

/// What the synthvid driver refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthvidError {
    /// Pipe frame or message layout violated.
    Wire(WireError),
    /// A message type this protocol does not define (or the host sent 11,
    /// 12, 15 or 16, which this driver never asks for).
    UnknownMessage(u32),
    /// A body whose fields are inconsistent (output count, list lengths).
    Malformed(u32),
    /// A message that does not belong in this state.
    Unexpected {
        /// Where the driver was.
        state: SynthvidState,
        /// The message type received.
        msg_type: u32,
    },
    /// VERSION_RESPONSE for another version than the one asked for.
    VersionMismatch(u32),
    /// Every version was refused; the driver fails.
    NoVersion,
    /// An ACK echoing a user_ctx the driver never sent.
    BadContext(u64),
    /// The RESOLUTION_RESPONSE list was unusable; defaults were used.
    BadResolutions,
    /// The configured VRAM is not 1 MiB aligned or empty.
    BadVram,
    /// No mode fits the VRAM.
    ModeTooLarge {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// A dirty rectangle outside the screen or empty.
    BadRect,
    /// A packet kind other than in-band.
    WrongPacketKind,
    /// The call needs the Ready state.
    NotReady,
    /// `start` was called twice.
    AlreadyStarted,
    /// The driver has stopped.
    Failed,
}

impl From<WireError> for SynthvidError {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl fmt::Display for SynthvidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wire(e) => write!(f, "synthvid: {e}"),
            Self::UnknownMessage(t) => write!(f, "synthvid: unknown message type {t}"),
            Self::Malformed(t) => write!(f, "synthvid: malformed message type {t}"),
            Self::Unexpected { state, msg_type } => {
                write!(f, "synthvid: message {msg_type} unexpected in {state:?}")
            }
            Self::VersionMismatch(v) => write!(f, "synthvid: response for version {v:#x}"),
            Self::NoVersion => write!(f, "synthvid: no protocol version accepted"),
            Self::BadContext(c) => write!(f, "synthvid: ack for unknown context {c:#x}"),
            Self::BadResolutions => write!(f, "synthvid: unusable resolution list"),
            Self::BadVram => write!(f, "synthvid: VRAM not 1 MiB aligned"),
            Self::ModeTooLarge { width, height } => {
                write!(f, "synthvid: {width}x{height} does not fit VRAM")
            }
            Self::BadRect => write!(f, "synthvid: dirty rectangle outside the screen"),
            Self::WrongPacketKind => write!(f, "synthvid: packet kind not in-band"),
            Self::NotReady => write!(f, "synthvid: not ready"),
            Self::AlreadyStarted => write!(f, "synthvid: already started"),
            Self::Failed => write!(f, "synthvid: driver failed"),
        }
    }
}

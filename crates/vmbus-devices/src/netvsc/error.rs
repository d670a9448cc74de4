//! The netvsc driver's error type.

use core::fmt;

use super::NetvscState;
use crate::wire::WireError;

/// What the netvsc driver refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetvscError {
    /// A message that does not fit its layout.
    Wire(WireError),
    /// An NVSP type this driver does not know.
    UnknownNvsp(u32),
    /// An NVSP message that does not belong here.
    UnexpectedNvsp(u32),
    /// A completion for an id that is not outstanding.
    UnknownCompletion(u64),
    /// A packet kind this driver does not take.
    WrongPacketKind,
    /// An init step answered with this NVSP status.
    InitFailed {
        /// NVSP type of the reply.
        msg_type: u32,
        /// Its status.
        status: u32,
    },
    /// No NVSP version was accepted.
    NoVersion,
    /// The receive-buffer section the host described does not fit the
    /// buffer (or is not exactly one section at offset 0).
    BadReceiveSection,
    /// The send-buffer section size is unusable.
    BadSendSection(u32),
    /// The buffer slices passed in are shorter than the configured sizes.
    BufferTooSmall,
    /// A transfer-page packet for another page set than the receive buffer.
    BadPageset(u16),
    /// A transfer-page range outside the receive section.
    RangeOutOfBuffer {
        /// Range offset.
        offset: u32,
        /// Range length.
        count: u32,
    },
    /// Too many bytes of frames in one receive packet.
    ReceiveTooLarge,
    /// An RNDIS message_length below 8 or beyond its range.
    RndisBadLength(u32),
    /// An RNDIS offset/length pair pointing outside the message.
    RndisBadOffset,
    /// An RNDIS message type that does not belong here.
    RndisUnexpected(u32),
    /// An RNDIS completion for a request id not outstanding.
    RndisRequestId(u32),
    /// An RNDIS request failed with this status.
    RndisStatus {
        /// OID (0 for INITIALIZE / SET steps).
        oid: u32,
        /// RNDIS status.
        status: u32,
    },
    /// A malformed per-packet-info record.
    BadPpi,
    /// A received frame shorter than an Ethernet header or beyond the MTU.
    BadFrameLength(u32),
    /// A frame before the device is ready.
    NotReadyForFrames,
    /// The MAC address query returned no usable address.
    BadMac,
    /// The maximum frame size reported is outside 68..=9216; the
    /// configured MTU is used instead.
    BadMtu(u32),
    /// A frame to send is empty or longer than MTU + header or a section.
    FrameTooLarge(usize),
    /// No free send section or request slot: retry after completions.
    Busy,
    /// The call needs the Ready state.
    NotReady,
    /// `start` was called twice.
    AlreadyStarted,
    /// A packet that does not belong in this state.
    Unexpected(NetvscState),
    /// The driver has stopped after a host error.
    Failed,
    /// The driver was stopped with [`super::Netvsc::stop`].
    Stopped,
}

impl From<WireError> for NetvscError {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl fmt::Display for NetvscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wire(e) => write!(f, "netvsc: {e}"),
            Self::UnknownNvsp(t) => write!(f, "netvsc: unknown NVSP type {t}"),
            Self::UnexpectedNvsp(t) => write!(f, "netvsc: unexpected NVSP type {t}"),
            Self::UnknownCompletion(id) => write!(f, "netvsc: completion for unknown id {id}"),
            Self::WrongPacketKind => write!(f, "netvsc: unexpected packet kind"),
            Self::InitFailed { msg_type, status } => {
                write!(f, "netvsc: NVSP {msg_type} status {status}")
            }
            Self::NoVersion => write!(f, "netvsc: no NVSP version accepted"),
            Self::BadReceiveSection => write!(f, "netvsc: receive section outside buffer"),
            Self::BadSendSection(s) => write!(f, "netvsc: send section size {s} unusable"),
            Self::BufferTooSmall => write!(f, "netvsc: buffer slice shorter than configured"),
            Self::BadPageset(id) => write!(f, "netvsc: transfer pages for page set {id:#x}"),
            Self::RangeOutOfBuffer { offset, count } => {
                write!(
                    f,
                    "netvsc: range {offset:#x}+{count:#x} outside receive section"
                )
            }
            Self::ReceiveTooLarge => write!(f, "netvsc: receive packet too large"),
            Self::RndisBadLength(n) => write!(f, "netvsc: RNDIS length {n} invalid"),
            Self::RndisBadOffset => write!(f, "netvsc: RNDIS offset outside message"),
            Self::RndisUnexpected(t) => write!(f, "netvsc: unexpected RNDIS type {t:#x}"),
            Self::RndisRequestId(id) => write!(f, "netvsc: RNDIS completion for id {id}"),
            Self::RndisStatus { oid, status } => {
                write!(f, "netvsc: RNDIS oid {oid:#x} failed ({status:#x})")
            }
            Self::BadPpi => write!(f, "netvsc: malformed per-packet info"),
            Self::BadFrameLength(n) => write!(f, "netvsc: frame of {n} bytes"),
            Self::NotReadyForFrames => write!(f, "netvsc: frame before ready"),
            Self::BadMac => write!(f, "netvsc: no usable MAC address"),
            Self::BadMtu(m) => write!(f, "netvsc: maximum frame size {m} out of range"),
            Self::FrameTooLarge(n) => write!(f, "netvsc: cannot send {n}-byte frame"),
            Self::Busy => write!(f, "netvsc: no free send section"),
            Self::NotReady => write!(f, "netvsc: not ready"),
            Self::AlreadyStarted => write!(f, "netvsc: already started"),
            Self::Unexpected(s) => write!(f, "netvsc: packet unexpected in {s:?}"),
            Self::Failed => write!(f, "netvsc: driver failed"),
            Self::Stopped => write!(f, "netvsc: driver stopped"),
        }
    }
}

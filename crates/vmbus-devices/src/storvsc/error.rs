//! The storvsc driver's error types.

use core::fmt;

use super::{Sense, SrbStatus, StorvscState};
use crate::wire::WireError;

/// Why one SCSI request failed (carried in
/// [`super::StorvscEvent::Completed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoError {
    /// The host or the device reported failure.
    Scsi {
        /// srb_status from the reply.
        srb_status: SrbStatus,
        /// SCSI status byte.
        scsi_status: u8,
        /// NTSTATUS of the vstor packet.
        ntstatus: u32,
        /// Sense data, when the reply carried valid autosense.
        sense: Option<Sense>,
    },
    /// The completion itself was malformed (see the returned error).
    BadReply,
}

/// What the storvsc driver refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorvscError {
    /// A packet that does not fit the vstor layout.
    Wire(WireError),
    /// A completion shorter than the 64 bytes the host must send (§6.4).
    ShortReply(usize),
    /// A completion whose operation is not COMPLETE_IO.
    NotCompleteIo(u32),
    /// A completion for an id that is not outstanding.
    UnknownCompletion(u64),
    /// An unsolicited in-band operation this driver does not handle.
    UnexpectedOperation(u32),
    /// A packet kind other than in-band or completion.
    WrongPacketKind,
    /// An init step failed with this NTSTATUS.
    InitFailed {
        /// Operation of the failed step.
        operation: u32,
        /// NTSTATUS.
        status: u32,
    },
    /// No protocol version was accepted.
    NoVersion,
    /// QUERY_PROPERTIES gave a useless max_transfer_bytes.
    BadProperties(u32),
    /// No device at the configured target/LUN.
    NoDevice,
    /// The device is not a direct-access block device.
    NotADisk {
        /// Peripheral qualifier.
        qualifier: u8,
        /// Peripheral device type.
        device_type: u8,
    },
    /// Disk probing failed (INQUIRY, TEST UNIT READY or READ CAPACITY).
    ProbeFailed(IoError),
    /// READ CAPACITY gave an impossible block size or count.
    BadCapacity {
        /// Last LBA reported.
        last_lba: u64,
        /// Block length reported.
        block_len: u32,
    },
    /// The scratch buffer is missing, too small, or the slice given to
    /// `handle` is shorter than it.
    BadScratch,
    /// A request that does not fit the disk or the transfer limit.
    BadRequest,
    /// The request table is full.
    Busy,
    /// The call needs the Ready state.
    NotReady,
    /// `start` was called twice.
    AlreadyStarted,
    /// A packet that does not belong in this state.
    Unexpected(StorvscState),
    /// The driver has stopped.
    Failed,
}

impl From<WireError> for StorvscError {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl fmt::Display for StorvscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wire(e) => write!(f, "storvsc: {e}"),
            Self::ShortReply(n) => write!(f, "storvsc: {n}-byte completion, need 64"),
            Self::NotCompleteIo(op) => write!(f, "storvsc: completion with operation {op}"),
            Self::UnknownCompletion(id) => write!(f, "storvsc: completion for unknown id {id}"),
            Self::UnexpectedOperation(op) => write!(f, "storvsc: unexpected operation {op}"),
            Self::WrongPacketKind => write!(f, "storvsc: unexpected packet kind"),
            Self::InitFailed { operation, status } => {
                write!(
                    f,
                    "storvsc: init operation {operation} failed ({status:#x})"
                )
            }
            Self::NoVersion => write!(f, "storvsc: no protocol version accepted"),
            Self::BadProperties(m) => write!(f, "storvsc: max transfer {m:#x} unusable"),
            Self::NoDevice => write!(f, "storvsc: no device at target/LUN"),
            Self::NotADisk {
                qualifier,
                device_type,
            } => write!(
                f,
                "storvsc: device type {device_type:#x}/{qualifier} is not a disk"
            ),
            Self::ProbeFailed(e) => write!(f, "storvsc: disk probe failed: {e:?}"),
            Self::BadCapacity {
                last_lba,
                block_len,
            } => write!(f, "storvsc: bad capacity {last_lba:#x} x {block_len}"),
            Self::BadScratch => write!(f, "storvsc: scratch buffer unusable"),
            Self::BadRequest => write!(f, "storvsc: request outside disk or limits"),
            Self::Busy => write!(f, "storvsc: request table full"),
            Self::NotReady => write!(f, "storvsc: not ready"),
            Self::AlreadyStarted => write!(f, "storvsc: already started"),
            Self::Unexpected(s) => write!(f, "storvsc: packet unexpected in {s:?}"),
            Self::Failed => write!(f, "storvsc: driver failed"),
        }
    }
}

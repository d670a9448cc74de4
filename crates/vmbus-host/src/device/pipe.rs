//! Named-pipe message framing used by the mouse and synthvid (sheet §4.6).
//!
//! Every in-band payload starts with `u32 type (1 = DATA), u32 size`, size
//! counting the bytes after this 8-byte header. Pipe devices accept only
//! in-band packets (OpenVMM's `vmbus_async` pipe).

use alloc::vec::Vec;

use super::DeviceError;
use crate::packet::{InKind, InPacket, TYPE_COMPLETION, TYPE_GPA_DIRECT, TYPE_XFER_PAGES};
use crate::wire::{u32_at, Builder};

/// Pipe message type DATA.
pub(crate) const PIPE_DATA: u32 = 1;
/// Largest pipe payload (§4.6).
pub(crate) const MAX_PIPE_PAYLOAD: usize = 16384;

/// The transport type number of a packet (for error reports).
pub(crate) fn kind_number(k: &InKind) -> u16 {
    match k {
        InKind::Inband => crate::packet::TYPE_INBAND,
        InKind::XferPages => TYPE_XFER_PAGES,
        InKind::GpaDirect(_) => TYPE_GPA_DIRECT,
        InKind::Completion => TYPE_COMPLETION,
    }
}

/// Requires an in-band packet; returns its payload.
pub(crate) fn inband(p: &InPacket) -> Result<&[u8], DeviceError> {
    match p.kind {
        InKind::Inband => Ok(&p.payload),
        ref k => Err(DeviceError::UnexpectedPacket(kind_number(k))),
    }
}

/// Unwraps one pipe DATA message of at most `max` bytes.
pub(crate) fn unwrap(p: &InPacket, max: usize) -> Result<&[u8], DeviceError> {
    let b = inband(p)?;
    let ty = u32_at(b, 0).ok_or(DeviceError::BadPipeHeader)?;
    let size = u32_at(b, 4).ok_or(DeviceError::BadPipeHeader)? as usize;
    if ty != PIPE_DATA || size > MAX_PIPE_PAYLOAD || size > b.len() - 8 {
        return Err(DeviceError::BadPipeHeader);
    }
    if size > max {
        return Err(DeviceError::TooLong(size as u32));
    }
    Ok(&b[8..8 + size])
}

/// Wraps `body` in a pipe DATA header.
pub(crate) fn wrap(body: &[u8]) -> Vec<u8> {
    Builder::new()
        .u32(PIPE_DATA)
        .u32(body.len() as u32)
        .bytes(body)
        .finish()
}

//! Pipe framing of named-pipe channels (mouse, synthvid), sheet §4.6.
//!
//! Every in-band payload on such a channel starts with `u32 type, u32 size`
//! where size counts the bytes after this 8-byte header. The keyboard
//! channel has no pipe header.

use alloc::vec::Vec;

use super::PacketError;

/// Size of the pipe header.
pub const PIPE_HEADER_SIZE: usize = 8;
/// Longest pipe payload.
pub const MAX_PIPE_PAYLOAD: usize = 16384;

/// Pipe message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PipeType {
    /// 1: a whole message.
    Data = 1,
    /// 2: part of a message; the size word's high half counts bytes
    /// already consumed.
    Partial = 2,
    /// 3: set up GPA-direct (OpenVMM).
    SetupGpaDirect = 3,
    /// 4: tear down GPA-direct (OpenVMM).
    TeardownGpaDirect = 4,
    /// 5: message indication complete (MSVM).
    IndicationComplete = 5,
}

impl PipeType {
    fn from_u32(v: u32) -> Option<PipeType> {
        Some(match v {
            1 => PipeType::Data,
            2 => PipeType::Partial,
            3 => PipeType::SetupGpaDirect,
            4 => PipeType::TeardownGpaDirect,
            5 => PipeType::IndicationComplete,
            _ => return None,
        })
    }
}

/// A received pipe message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipeMessage<'a> {
    /// The pipe message type.
    pub kind: PipeType,
    /// For [`PipeType::Partial`]: bytes already consumed; else 0.
    pub consumed: u16,
    /// The bytes after the header, exactly `size` of them.
    pub data: &'a [u8],
}

/// The pipe header for a DATA message of `len` bytes.
pub fn data_header(len: usize) -> Result<[u8; PIPE_HEADER_SIZE], PacketError> {
    if len > MAX_PIPE_PAYLOAD {
        return Err(PacketError::PipeSize(len.min(u32::MAX as usize) as u32));
    }
    let mut h = [0; PIPE_HEADER_SIZE];
    h[0..4].copy_from_slice(&(PipeType::Data as u32).to_le_bytes());
    h[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(h)
}

/// `data` framed as one DATA pipe message.
pub fn encode_data(data: &[u8]) -> Result<Vec<u8>, PacketError> {
    let header = data_header(data.len())?;
    let mut v = Vec::with_capacity(PIPE_HEADER_SIZE + data.len());
    v.extend_from_slice(&header);
    v.extend_from_slice(data);
    Ok(v)
}

/// Parses the pipe header at the start of an in-band payload. `payload`
/// may carry ring padding after the message; it is ignored.
pub fn parse(payload: &[u8]) -> Result<PipeMessage<'_>, PacketError> {
    let header = payload
        .get(..PIPE_HEADER_SIZE)
        .ok_or(PacketError::Truncated {
            needed: PIPE_HEADER_SIZE,
            got: payload.len(),
        })?;
    let raw_type = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let size_word = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let kind = PipeType::from_u32(raw_type).ok_or(PacketError::PipeType(raw_type))?;
    let (size, consumed) = match kind {
        PipeType::Partial => (size_word & 0xFFFF, (size_word >> 16) as u16),
        _ => (size_word, 0),
    };
    let rest = &payload[PIPE_HEADER_SIZE..];
    if size as usize > MAX_PIPE_PAYLOAD || size as usize > rest.len() {
        return Err(PacketError::PipeSize(size));
    }
    Ok(PipeMessage {
        kind,
        consumed,
        data: &rest[..size as usize],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_padding() {
        let mut framed = encode_data(&[1, 2, 3]).unwrap();
        framed.extend_from_slice(&[0; 5]); // ring padding
        let m = parse(&framed).unwrap();
        assert_eq!(m.kind, PipeType::Data);
        assert_eq!(m.data, &[1, 2, 3]);
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse(&[1, 0, 0, 0]).is_err());
        assert_eq!(
            parse(&[1, 0, 0, 0, 4, 0, 0, 0, 9, 9, 9]),
            Err(PacketError::PipeSize(4))
        );
        assert_eq!(
            parse(&[9, 0, 0, 0, 0, 0, 0, 0]),
            Err(PacketError::PipeType(9))
        );
        assert!(data_header(MAX_PIPE_PAYLOAD + 1).is_err());
        let huge = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(parse(&huge), Err(PacketError::PipeSize(u32::MAX)));
    }

    #[test]
    fn partial_splits_size_word() {
        let m = parse(&[2, 0, 0, 0, 2, 0, 7, 0, 0xaa, 0xbb]).unwrap();
        assert_eq!(m.kind, PipeType::Partial);
        assert_eq!(m.consumed, 7);
        assert_eq!(m.data, &[0xaa, 0xbb]);
    }
}

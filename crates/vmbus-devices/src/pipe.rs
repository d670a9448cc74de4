//! Named-pipe message framing used by the mouse and synthvid channels (§4.6).
//!
//! Every in-band payload on a pipe-mode channel starts with an 8-byte header:
//! `u32 type` (1 = DATA) and `u32 size`, the number of bytes that follow.

use alloc::vec::Vec;

use crate::wire::{self, Put, WireError};

/// Pipe header type DATA.
pub const PIPE_DATA: u32 = 1;
/// Size of the pipe header.
pub const PIPE_HEADER_LEN: usize = 8;
/// Largest pipe payload (§4.6).
pub const PIPE_MAX_PAYLOAD: usize = 16384;

/// Frames `body` as one DATA pipe message.
pub fn encode(body: &[u8]) -> Result<Vec<u8>, WireError> {
    if body.len() > PIPE_MAX_PAYLOAD {
        return Err(WireError::TooLong {
            len: body.len(),
            max: PIPE_MAX_PAYLOAD,
        });
    }
    let mut out = Vec::with_capacity(PIPE_HEADER_LEN + body.len());
    out.put_u32(PIPE_DATA);
    out.put_u32(body.len() as u32);
    out.extend_from_slice(body);
    Ok(out)
}

/// Returns the `size` bytes a DATA pipe message carries; the ring padding
/// after them is ignored. Any other pipe type, or a size beyond the packet or
/// the 16384-byte cap, is an error.
pub fn decode(payload: &[u8]) -> Result<&[u8], WireError> {
    let ptype = wire::u32_at(payload, 0)?;
    let size = wire::u32_at(payload, 4)?;
    if ptype != PIPE_DATA {
        return Err(WireError::BadPipeType(ptype));
    }
    let available = payload.len() - PIPE_HEADER_LEN;
    if size as usize > available || size as usize > PIPE_MAX_PAYLOAD {
        return Err(WireError::BadPipeSize { size, available });
    }
    Ok(&payload[PIPE_HEADER_LEN..PIPE_HEADER_LEN + size as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let framed = encode(&[9, 8, 7]).unwrap();
        assert_eq!(framed, [1, 0, 0, 0, 3, 0, 0, 0, 9, 8, 7]);
        let mut padded = framed.clone();
        padded.resize(16, 0);
        assert_eq!(decode(&padded).unwrap(), &[9, 8, 7]);
        let mut bad = framed.clone();
        bad[0] = 2;
        assert_eq!(decode(&bad), Err(WireError::BadPipeType(2)));
        let mut long = framed;
        long[4] = 4;
        assert!(matches!(decode(&long), Err(WireError::BadPipeSize { .. })));
        assert!(decode(&[1, 0, 0]).is_err());
        assert!(encode(&[0; PIPE_MAX_PAYLOAD + 1]).is_err());
    }
}

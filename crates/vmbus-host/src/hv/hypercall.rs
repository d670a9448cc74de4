//! Decoding of the hypercall control value and input blocks (§1.4–§1.6).

use alloc::vec::Vec;

use super::status;
use super::synic::MAX_PAYLOAD;
use crate::platform::Platform;
use crate::wire::{u16_at, u32_at};

/// Control bit 16: fast call (§1.4).
const FAST: u64 = 1 << 16;
/// Every control bit a simple (non-rep, no variable header, not nested)
/// call may set: the call code and the fast bit (§1.4).
const SIMPLE_CALL_BITS: u64 = 0xFFFF | FAST;

/// A decoded control value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Control {
    /// Call code (bits 15:0).
    pub code: u16,
    /// Fast form (bit 16).
    pub fast: bool,
}

/// Decodes `control`, refusing rep counts, variable headers, the nested
/// bit and reserved bits: neither call this host serves uses them.
pub(crate) fn decode_control(control: u64) -> Result<Control, u16> {
    if control & !SIMPLE_CALL_BITS != 0 {
        return Err(status::INVALID_HYPERCALL_INPUT);
    }
    Ok(Control {
        code: (control & 0xFFFF) as u16,
        fast: control & FAST != 0,
    })
}

/// The HvPostMessage input block (§1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PostInput {
    /// Connection id, bits 23:0 (31:24 reserved and ignored).
    pub connection_id: u32,
    /// message_type (VMBus uses 1).
    pub message_type: u32,
    /// payload_size bytes of payload.
    pub payload: Vec<u8>,
}

/// Size of the HvPostMessage input block (§1.5).
pub(crate) const POST_INPUT_SIZE: usize = 256;

/// The GPA must be 8-byte aligned and the block must not cross a page
/// (§1.4; Linux uses a page-aligned per-CPU page).
fn check_block(gpa: u64, len: u64) -> Result<(), u16> {
    if !gpa.is_multiple_of(8) || (gpa & 0xFFF) + len > 4096 {
        return Err(status::INVALID_ALIGNMENT);
    }
    Ok(())
}

/// Reads and validates the HvPostMessage input block at `gpa`.
pub(crate) fn read_post_input(mem: &dyn Platform, gpa: u64) -> Result<PostInput, u16> {
    check_block(gpa, POST_INPUT_SIZE as u64)?;
    let mut b = [0u8; POST_INPUT_SIZE];
    mem.read_guest(gpa, &mut b)
        .map_err(|_| status::INVALID_PARAMETER)?;
    parse_post_input(&b)
}

/// Validates a 256-byte HvPostMessage input block.
pub(crate) fn parse_post_input(b: &[u8]) -> Result<PostInput, u16> {
    let conn = u32_at(b, 0).ok_or(status::INVALID_PARAMETER)?;
    let reserved = u32_at(b, 4).ok_or(status::INVALID_PARAMETER)?;
    let message_type = u32_at(b, 8).ok_or(status::INVALID_PARAMETER)?;
    let size = u32_at(b, 12).ok_or(status::INVALID_PARAMETER)? as usize;
    // message_type 0 means "empty slot"; 0x8000_0000 and up belong to the
    // hypervisor (TLFS message types).
    if reserved != 0 || message_type == 0 || message_type & 0x8000_0000 != 0 {
        return Err(status::INVALID_PARAMETER);
    }
    if size > MAX_PAYLOAD {
        return Err(status::INVALID_PARAMETER);
    }
    let payload = b
        .get(16..16 + size)
        .ok_or(status::INVALID_PARAMETER)?
        .to_vec();
    Ok(PostInput {
        connection_id: conn & 0x00FF_FFFF,
        message_type,
        payload,
    })
}

/// The HvSignalEvent input (§1.6): (connection id, flag number).
pub(crate) fn signal_input(mem: &dyn Platform, fast: bool, rdx: u64) -> Result<(u32, u16), u16> {
    let b = if fast {
        rdx.to_le_bytes()
    } else {
        check_block(rdx, 8)?;
        let mut b = [0u8; 8];
        mem.read_guest(rdx, &mut b)
            .map_err(|_| status::INVALID_PARAMETER)?;
        b
    };
    let conn = u32_at(&b, 0).unwrap_or(0);
    let flag = u16_at(&b, 4).unwrap_or(0);
    let reserved = u16_at(&b, 6).unwrap_or(0);
    if reserved != 0 {
        return Err(status::INVALID_PARAMETER);
    }
    Ok((conn & 0x00FF_FFFF, flag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_values() {
        assert_eq!(
            decode_control(0x5C),
            Ok(Control {
                code: 0x5C,
                fast: false
            })
        );
        assert_eq!(
            decode_control(0x1005D),
            Ok(Control {
                code: 0x5D,
                fast: true
            })
        );
        // rep count 1, variable header, nested bit: all refused.
        for c in [
            0x5C | 1 << 32,
            0x5C | 1 << 17,
            0x5C | 1 << 31,
            0x5C | 1 << 63,
        ] {
            assert_eq!(decode_control(c), Err(status::INVALID_HYPERCALL_INPUT));
        }
    }

    #[test]
    fn post_input_of_sheet_9_1() {
        // §9.1: connection id 4, message type 1, payload size 0x28.
        let mut b = [0u8; 256];
        b[..16].copy_from_slice(&[4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x28, 0, 0, 0]);
        b[16] = 0x0e;
        let p = parse_post_input(&b).unwrap();
        assert_eq!(
            (p.connection_id, p.message_type, p.payload.len()),
            (4, 1, 40)
        );
        b[12] = 241;
        assert_eq!(parse_post_input(&b), Err(status::INVALID_PARAMETER));
    }

    #[test]
    fn alignment() {
        assert_eq!(check_block(0x1004, 8), Err(status::INVALID_ALIGNMENT));
        assert_eq!(check_block(0x1F08, 256), Err(status::INVALID_ALIGNMENT));
        assert_eq!(check_block(0x1F00, 256), Ok(()));
    }
}

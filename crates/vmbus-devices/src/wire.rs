//! Bounds-checked little-endian field access and the framing error type.

use alloc::vec::Vec;
use core::fmt;

/// A packet, pipe frame or range list that does not fit its layout
/// (sheet §4.3, §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// `need` bytes were required but only `have` were there.
    Truncated {
        /// Bytes the layout needs.
        need: usize,
        /// Bytes that arrived.
        have: usize,
    },
    /// A length beyond a fixed cap.
    TooLong {
        /// The length found or asked for.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A ring packet type this crate does not handle (only 6, 7, 9, 11).
    BadPacketType(u16),
    /// offset8 / len8 inconsistent with each other or the packet.
    BadPacketHeader,
    /// A packet flag other than bit 0 (completion requested).
    BadFlags(u16),
    /// A GPA or transfer-page range whose offset, count or page list does
    /// not add up.
    BadRange,
    /// More ranges than the layout holds or the cap allows.
    TooManyRanges(u32),
    /// A pipe header type other than 1 (DATA).
    BadPipeType(u32),
    /// A pipe header size beyond the packet or the 16384-byte cap.
    BadPipeSize {
        /// The size word of the pipe header.
        size: u32,
        /// Bytes that follow the pipe header in the packet.
        available: usize,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { need, have } => {
                write!(f, "truncated: need {need} bytes, have {have}")
            }
            Self::TooLong { len, max } => write!(f, "length {len} exceeds cap {max}"),
            Self::BadPacketType(t) => write!(f, "unsupported packet type {t:#x}"),
            Self::BadPacketHeader => write!(f, "inconsistent packet offset8/len8"),
            Self::BadFlags(fl) => write!(f, "unsupported packet flags {fl:#x}"),
            Self::BadRange => write!(f, "malformed page range"),
            Self::TooManyRanges(n) => write!(f, "too many ranges ({n})"),
            Self::BadPipeType(t) => write!(f, "pipe header type {t} is not DATA"),
            Self::BadPipeSize { size, available } => {
                write!(f, "pipe size {size} but {available} bytes follow")
            }
        }
    }
}

/// Returns `buf[off..off + len]` or a [`WireError::Truncated`].
pub(crate) fn slice(buf: &[u8], off: usize, len: usize) -> Result<&[u8], WireError> {
    let end = off.checked_add(len).ok_or(WireError::Truncated {
        need: usize::MAX,
        have: buf.len(),
    })?;
    buf.get(off..end).ok_or(WireError::Truncated {
        need: end,
        have: buf.len(),
    })
}

/// Fixed-size array at `off`.
pub(crate) fn array<const N: usize>(buf: &[u8], off: usize) -> Result<[u8; N], WireError> {
    let s = slice(buf, off, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    Ok(out)
}

/// u8 at `off`.
pub(crate) fn u8_at(buf: &[u8], off: usize) -> Result<u8, WireError> {
    Ok(array::<1>(buf, off)?[0])
}

/// Little-endian u16 at `off`.
pub(crate) fn u16_at(buf: &[u8], off: usize) -> Result<u16, WireError> {
    Ok(u16::from_le_bytes(array(buf, off)?))
}

/// Little-endian u32 at `off`.
pub(crate) fn u32_at(buf: &[u8], off: usize) -> Result<u32, WireError> {
    Ok(u32::from_le_bytes(array(buf, off)?))
}

/// Little-endian i32 at `off`.
pub(crate) fn i32_at(buf: &[u8], off: usize) -> Result<i32, WireError> {
    Ok(i32::from_le_bytes(array(buf, off)?))
}

/// Little-endian u64 at `off`.
pub(crate) fn u64_at(buf: &[u8], off: usize) -> Result<u64, WireError> {
    Ok(u64::from_le_bytes(array(buf, off)?))
}

/// Requires `buf` to hold at least `need` bytes.
pub(crate) fn need(buf: &[u8], need: usize) -> Result<(), WireError> {
    if buf.len() < need {
        Err(WireError::Truncated {
            need,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Appending little-endian fields to a message under construction.
pub(crate) trait Put {
    /// Appends one byte.
    fn put_u8(&mut self, v: u8);
    /// Appends a little-endian u16.
    fn put_u16(&mut self, v: u16);
    /// Appends a little-endian u32.
    fn put_u32(&mut self, v: u32);
    /// Appends a little-endian i32.
    fn put_i32(&mut self, v: i32);
    /// Appends a little-endian u64.
    fn put_u64(&mut self, v: u64);
    /// Appends `n` zero bytes.
    fn put_zeros(&mut self, n: usize);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let b = [1u8, 2, 3, 4, 5];
        assert_eq!(u32_at(&b, 0), Ok(0x0403_0201));
        assert_eq!(u32_at(&b, 1), Ok(0x0504_0302));
        assert_eq!(
            u32_at(&b, 2),
            Err(WireError::Truncated { need: 6, have: 5 })
        );
        assert!(slice(&b, usize::MAX, 2).is_err());
        assert!(u64_at(&b, 0).is_err());
    }
}

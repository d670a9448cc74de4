//! Little-endian field access for the wire layouts of the facts sheet.
//!
//! Every multi-byte field on the wire is little-endian (sheet, "Conventions").
//! Readers return `None` past the end instead of panicking, so a short guest
//! message can never take the host down.

use alloc::vec::Vec;

/// Reads a `u8` at `off`, or `None` when `b` is too short.
pub(crate) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// Reads a little-endian `u16` at `off`.
pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// Reads a little-endian `u32` at `off`.
pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a little-endian `u64` at `off`.
pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Reads a big-endian `u16` (SCSI CDB fields are big-endian).
pub(crate) fn be16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Reads a big-endian `u32`.
pub(crate) fn be32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a big-endian `u64`.
pub(crate) fn be64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_be_bytes(a))
}

/// Writes `v` little-endian at `off` if it fits; silently does nothing else.
pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

/// Writes a little-endian `u32` at `off` if it fits.
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

/// Copies `src` to `b[off..]` if it fits.
pub(crate) fn put(b: &mut [u8], off: usize, src: &[u8]) {
    if let Some(end) = off.checked_add(src.len()) {
        if let Some(dst) = b.get_mut(off..end) {
            dst.copy_from_slice(src);
        }
    }
}

/// An append-only little-endian message builder.
#[derive(Debug, Default, Clone)]
pub(crate) struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    /// An empty builder.
    pub(crate) fn new() -> Self {
        Builder { buf: Vec::new() }
    }

    /// Appends one byte.
    pub(crate) fn u8(mut self, v: u8) -> Self {
        self.buf.push(v);
        self
    }

    /// Appends a little-endian `u16`.
    pub(crate) fn u16(mut self, v: u16) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a little-endian `u32`.
    pub(crate) fn u32(mut self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a little-endian `u64`.
    pub(crate) fn u64(mut self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends raw bytes.
    pub(crate) fn bytes(mut self, v: &[u8]) -> Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// Appends `n` zero bytes.
    pub(crate) fn zeros(mut self, n: usize) -> Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }

    /// Zero-pads to at least `n` bytes.
    pub(crate) fn pad_to(mut self, n: usize) -> Self {
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        self
    }

    /// The finished bytes.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_stop_at_the_end() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Some(0x0302));
        assert_eq!(u32_at(&b, 0), None);
        assert_eq!(u64_at(&b, usize::MAX), None);
        assert_eq!(be16_at(&b, 0), Some(0x0102));
    }

    #[test]
    fn builder_is_little_endian() {
        let v = Builder::new()
            .u16(0x0102)
            .u32(0x03040506)
            .pad_to(8)
            .finish();
        assert_eq!(v, [2, 1, 6, 5, 4, 3, 0, 0]);
    }
}

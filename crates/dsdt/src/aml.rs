//! The few AML encodings the `\_S5` reader needs: PkgLength and integers.
//!
//! Grammar references are to the ACPI Specification 6.4, §20.2 "AML Grammar
//! Definition". Every read goes through [`Reader`], which checks bounds.

use crate::DsdtError;

/// `NameOp` (§20.2.5.1 Namespace Modifier Objects Encoding).
pub const NAME_OP: u8 = 0x08;
/// `PackageOp` (§20.2.5.4 Expression Opcodes Encoding).
pub const PACKAGE_OP: u8 = 0x12;
/// `VarPackageOp` (§20.2.5.4).
pub const VAR_PACKAGE_OP: u8 = 0x13;
/// `RootChar` '\' (§20.2.2 Name Objects Encoding).
pub const ROOT_CHAR: u8 = b'\\';
/// `ParentPrefixChar` '^' (§20.2.2).
pub const PARENT_PREFIX: u8 = b'^';
/// `ZeroOp` (§20.2.3 Data Objects Encoding).
const ZERO_OP: u8 = 0x00;
/// `OneOp` (§20.2.3).
const ONE_OP: u8 = 0x01;
/// `BytePrefix`: one byte of data follows (§20.2.3).
const BYTE_PREFIX: u8 = 0x0A;
/// `WordPrefix`: two bytes, little-endian (§20.2.3).
const WORD_PREFIX: u8 = 0x0B;
/// `DWordPrefix`: four bytes (§20.2.3).
const DWORD_PREFIX: u8 = 0x0C;
/// `QWordPrefix`: eight bytes (§20.2.3).
const QWORD_PREFIX: u8 = 0x0E;
/// `OnesOp`: all bits set (§20.2.3).
const ONES_OP: u8 = 0xFF;

/// A bounds-checked cursor over `bytes[pos..end]`.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Reads stop here; the slice may go on (a package inside a table).
    end: usize,
    /// Returned when a read would cross `end`.
    past_end: DsdtError,
}

impl<'a> Reader<'a> {
    /// Reads `bytes[pos..]`; running off the slice is [`DsdtError::Truncated`].
    pub fn new(bytes: &'a [u8], pos: usize) -> Self {
        Self {
            bytes,
            pos,
            end: bytes.len(),
            past_end: DsdtError::Truncated,
        }
    }

    /// Narrows reads to end at `end` (which must lie inside the slice), and
    /// makes crossing it `err`.
    pub fn limit(&mut self, end: usize, err: DsdtError) -> Result<(), DsdtError> {
        if end > self.bytes.len() {
            return Err(DsdtError::Truncated);
        }
        if end < self.pos {
            return Err(DsdtError::BadPackage);
        }
        self.end = end;
        self.past_end = err;
        Ok(())
    }

    /// The next byte.
    pub fn byte(&mut self) -> Result<u8, DsdtError> {
        if self.pos >= self.end {
            return Err(self.past_end);
        }
        let b = self
            .bytes
            .get(self.pos)
            .copied()
            .ok_or(DsdtError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// `n` (≤ 8) bytes as a little-endian integer (AML data is LE, §20.2.3).
    fn le(&mut self, n: usize) -> Result<u64, DsdtError> {
        let mut v = 0u64;
        for i in 0..n {
            v |= u64::from(self.byte()?) << (8 * i);
        }
        Ok(v)
    }

    /// A PkgLength (§20.2.4 Package Length Encoding): bits 7-6 of the lead
    /// byte count the bytes that follow (0-3). With none, bits 5-0 are the
    /// length; otherwise bits 3-0 are its low nibble and each following byte
    /// adds 8 bits above (shifts 4, 12, 20). Bits 5-4 of a multi-byte lead
    /// byte are reserved and ignored, as ACPICA does. The length counts the
    /// PkgLength bytes themselves. Returns the offset one past the package.
    pub fn pkg_end(&mut self) -> Result<usize, DsdtError> {
        let start = self.pos;
        let lead = self.byte()?;
        let follow = usize::from(lead >> 6);
        let mut len = if follow == 0 {
            u32::from(lead & 0x3F)
        } else {
            u32::from(lead & 0x0F)
        };
        for i in 0..follow {
            len |= u32::from(self.byte()?) << (4 + 8 * i);
        }
        // The length must at least cover its own encoding (at most 28 bits,
        // so no overflow even on 32-bit targets).
        let len = usize::try_from(len).map_err(|_| DsdtError::BadPackage)?;
        if len < 1 + follow {
            return Err(DsdtError::BadPackage);
        }
        start.checked_add(len).ok_or(DsdtError::BadPackage)
    }

    /// A constant integer: `ComputationalData` of the Zero, One, Ones or
    /// Byte/Word/DWord/QWord forms (§20.2.3). Anything else is
    /// [`DsdtError::BadPackage`].
    pub fn integer(&mut self) -> Result<u64, DsdtError> {
        match self.byte()? {
            ZERO_OP => Ok(0),
            ONE_OP => Ok(1),
            ONES_OP => Ok(u64::MAX),
            BYTE_PREFIX => self.le(1),
            WORD_PREFIX => self.le(2),
            DWORD_PREFIX => self.le(4),
            QWORD_PREFIX => self.le(8),
            _ => Err(DsdtError::BadPackage),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_of(bytes: &[u8]) -> Result<usize, DsdtError> {
        Reader::new(bytes, 0).pkg_end()
    }

    #[test]
    fn pkg_length_one_byte() {
        assert_eq!(end_of(&[0x06]), Ok(6));
        assert_eq!(end_of(&[0x3F]), Ok(0x3F));
    }

    #[test]
    fn pkg_length_multi_byte() {
        // 0x4A 0x05: nibble 0xA, then 0x05 << 4 = 0x5A.
        assert_eq!(end_of(&[0x4A, 0x05]), Ok(0x5A));
        // Reserved bits 5-4 of the lead byte are ignored.
        assert_eq!(end_of(&[0x7A, 0x05]), Ok(0x5A));
        assert_eq!(end_of(&[0x81, 0x02, 0x03]), Ok(0x3021));
        assert_eq!(end_of(&[0xC1, 0x02, 0x03, 0x04]), Ok(0x0403021));
        assert_eq!(end_of(&[0xCF, 0xFF, 0xFF, 0xFF]), Ok(0x0FFF_FFFF));
    }

    #[test]
    fn pkg_length_too_short_or_cut() {
        assert_eq!(end_of(&[0x00]), Err(DsdtError::BadPackage));
        assert_eq!(end_of(&[0x40, 0x00]), Err(DsdtError::BadPackage));
        assert_eq!(end_of(&[]), Err(DsdtError::Truncated));
        assert_eq!(end_of(&[0xC1, 0x02, 0x03]), Err(DsdtError::Truncated));
    }

    #[test]
    fn integers() {
        let cases: &[(&[u8], u64)] = &[
            (&[0x00], 0),
            (&[0x01], 1),
            (&[0xFF], u64::MAX),
            (&[0x0A, 0x05], 5),
            (&[0x0B, 0x34, 0x12], 0x1234),
            (&[0x0C, 0x78, 0x56, 0x34, 0x12], 0x1234_5678),
            (&[0x0E, 1, 2, 3, 4, 5, 6, 7, 8], 0x0807_0605_0403_0201),
        ];
        for (bytes, value) in cases {
            assert_eq!(Reader::new(bytes, 0).integer(), Ok(*value), "{bytes:x?}");
            for cut in 0..bytes.len() {
                let r = Reader::new(&bytes[..cut], 0).integer();
                assert_eq!(r, Err(DsdtError::Truncated));
            }
        }
        assert_eq!(
            Reader::new(&[0x0D], 0).integer(),
            Err(DsdtError::BadPackage)
        );
    }
}

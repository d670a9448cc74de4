//! The few AML encodings the readers need: PkgLength, integers, names and
//! buffers.
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
/// `MethodOp` (§20.2.5.2 Named Objects Encoding).
pub const METHOD_OP: u8 = 0x14;
/// `ExtOpPrefix` (§20.2.3).
pub const EXT_OP_PREFIX: u8 = 0x5B;
/// `DeviceOp` after [`EXT_OP_PREFIX`] (§20.2.5.2).
pub const DEVICE_OP: u8 = 0x82;
/// `ReturnOp` (§20.2.5.3 Statement Opcodes Encoding).
pub const RETURN_OP: u8 = 0xA4;
/// `BufferOp` (§20.2.5.4).
const BUFFER_OP: u8 = 0x11;
/// `DualNamePrefix`: two NameSegs follow (§20.2.2).
const DUAL_NAME_PREFIX: u8 = 0x2E;
/// `MultiNamePrefix`: a count, then that many NameSegs (§20.2.2).
const MULTI_NAME_PREFIX: u8 = 0x2F;
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
#[derive(Clone)]
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

    /// Where the next read is.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `to` (at or after the cursor, inside the limit).
    pub fn skip_to(&mut self, to: usize) -> Result<(), DsdtError> {
        if to > self.end {
            return Err(self.past_end);
        }
        if to < self.pos {
            return Err(DsdtError::BadPackage);
        }
        self.pos = to;
        Ok(())
    }

    /// The next byte, not consumed.
    pub fn peek(&self) -> Result<u8, DsdtError> {
        if self.pos >= self.end {
            return Err(self.past_end);
        }
        self.bytes
            .get(self.pos)
            .copied()
            .ok_or(DsdtError::Truncated)
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

    /// The head of a `DefPackage` or `DefVarPackage` (§20.2.5.4:
    /// `PackageOp PkgLength NumElements` or `VarPackageOp PkgLength
    /// VarNumElements`, the count a constant): reads are then limited to
    /// the package. Returns its end and element count.
    pub fn package(&mut self) -> Result<(usize, u64), DsdtError> {
        let op = self.byte()?;
        if op != PACKAGE_OP && op != VAR_PACKAGE_OP {
            return Err(DsdtError::BadPackage);
        }
        let end = self.pkg_end()?;
        self.limit(end, DsdtError::BadPackage)?;
        let count = if op == PACKAGE_OP {
            u64::from(self.byte()?)
        } else {
            self.integer()?
        };
        Ok((end, count))
    }

    /// A NameString (§20.2.2: an optional `RootChar` or run of
    /// `ParentPrefixChar`s, then a NameSeg, a dual or multi name path, or
    /// `NullName`). Returns its last NameSeg (`None` for `NullName`); the
    /// scope it names is not resolved.
    pub fn name_string(&mut self) -> Result<Option<[u8; 4]>, DsdtError> {
        if self.peek()? == ROOT_CHAR {
            self.byte()?;
        } else {
            while self.peek()? == PARENT_PREFIX {
                self.byte()?;
            }
        }
        let segments = match self.peek()? {
            ZERO_OP => {
                self.byte()?;
                return Ok(None);
            }
            DUAL_NAME_PREFIX => {
                self.byte()?;
                2
            }
            MULTI_NAME_PREFIX => {
                self.byte()?;
                self.byte()?
            }
            _ => 1,
        };
        if segments == 0 {
            return Err(DsdtError::BadPackage);
        }
        let mut last = [0u8; 4];
        for _ in 0..segments {
            last = self.name_seg()?;
        }
        Ok(Some(last))
    }

    /// A NameSeg: a lead character `A`-`Z` or `_`, then three of
    /// `A`-`Z`, `0`-`9`, `_` (§20.2.2).
    fn name_seg(&mut self) -> Result<[u8; 4], DsdtError> {
        let mut seg = [0u8; 4];
        for (i, c) in seg.iter_mut().enumerate() {
            *c = self.byte()?;
            if !is_name_char(*c, i == 0) {
                return Err(DsdtError::BadPackage);
            }
        }
        Ok(seg)
    }

    /// A `DefBuffer` (§20.2.5.4: `BufferOp PkgLength BufferSize ByteList`)
    /// with a constant size: the bytes it holds. A size past the
    /// initializer is cut to it (the rest would be zeros).
    pub fn buffer(&mut self) -> Result<&'a [u8], DsdtError> {
        if self.byte()? != BUFFER_OP {
            return Err(DsdtError::BadPackage);
        }
        let end = self.pkg_end()?;
        if end > self.end {
            return Err(self.past_end);
        }
        let size = self.integer()?;
        let start = self.pos;
        let data = self.bytes.get(start..end).ok_or(DsdtError::Truncated)?;
        let len = usize::try_from(size).map_or(data.len(), |s| s.min(data.len()));
        self.pos = end;
        Ok(&data[..len])
    }
}

/// Where the NameString that ends with the NameSeg at `at` starts, if it
/// is a single segment, plain or after one `RootChar` or a run of
/// `ParentPrefixChar`s (§20.2.2 `NameString := <RootChar NamePath> |
/// <PrefixPath NamePath>`).
pub fn name_start(aml: &[u8], at: usize) -> usize {
    let before = |i: usize| i.checked_sub(1).and_then(|j| aml.get(j).copied());
    let mut start = at;
    if before(start) == Some(ROOT_CHAR) {
        start -= 1;
    } else {
        while before(start) == Some(PARENT_PREFIX) {
            start -= 1;
        }
    }
    start
}

/// Whether the NameSeg at `at` is the name a `NameOp` declares.
pub fn declared(aml: &[u8], at: usize) -> bool {
    name_start(aml, at)
        .checked_sub(1)
        .is_some_and(|i| aml.get(i) == Some(&NAME_OP))
}

/// Whether `c` may stand in a NameSeg (`lead`: as its first character).
pub fn is_name_char(c: u8, lead: bool) -> bool {
    c.is_ascii_uppercase() || c == b'_' || (!lead && c.is_ascii_digit())
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

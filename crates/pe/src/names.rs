//! Name limits: bounded string reads and the per-image name budget.
//!
//! Import and export tables hold names by RVA, and nothing stops a file
//! from pointing thousands of entries at one long string. Each entry gets
//! its own `String` (a [`crate::PeFile`] owns its data), so without limits
//! a 180 KB file would make [`crate::parse`] copy about a gigabyte. Two
//! limits stop that: every name is checked against its own cap before it
//! is read to its end, and the bytes copied for one image are charged to
//! a budget of its file length plus [`NAME_BUDGET_SLACK`].

use alloc::string::{String, ToString};

use crate::error::PeError;

/// Longest imported or exported symbol name, in bytes: MSVC's limit on a
/// decorated name (4096 since Visual Studio 2017; compiler warning C4503
/// reports truncation past it).
pub const MAX_SYMBOL_NAME: usize = 4096;

/// Longest DLL name (in an import descriptor or the export directory), in
/// bytes: the 255-character limit on a file name in NTFS and FAT long names.
pub const MAX_DLL_NAME: usize = 255;

/// Longest forwarder string (`dll.Name` or `dll.#ordinal`, PE/COFF spec
/// §6.3.2): a DLL name, the dot and a symbol name.
pub const MAX_FORWARDER: usize = MAX_DLL_NAME + 1 + MAX_SYMBOL_NAME;

/// Name bytes an image may own beyond its file length. A well-formed file
/// stores each of its names once, so its names never add up to more than
/// the file itself; only entries sharing one string can, and this slack
/// leaves room for a linker that shares a few short ones.
pub const NAME_BUDGET_SLACK: usize = 64 << 10;

/// Bytes of names one image may still copy.
pub(crate) struct NameBudget {
    left: usize,
    limit: usize,
}

impl NameBudget {
    /// The budget for a file of `file_len` bytes.
    pub fn new(file_len: usize) -> Self {
        let limit = file_len.saturating_add(NAME_BUDGET_SLACK);
        Self { left: limit, limit }
    }

    /// Charges `len` bytes, or refuses when the budget is spent.
    pub fn charge(&mut self, len: usize) -> Result<(), PeError> {
        self.left = self
            .left
            .checked_sub(len)
            .ok_or(PeError::NamesTooLarge { limit: self.limit })?;
        Ok(())
    }

    /// Charges `raw` and copies it into a `String` (it must be UTF-8).
    pub fn take(&mut self, raw: &[u8], what: &'static str, rva: u32) -> Result<String, PeError> {
        let text = core::str::from_utf8(raw).map_err(|_| PeError::BadName { what, rva })?;
        self.charge(raw.len())?;
        Ok(text.to_string())
    }
}

/// Refuses a NUL-terminated string at `data[offset..]` with more than
/// `limit` bytes before its NUL, looking at no more than `limit + 1` bytes.
/// A string that is out of range or unterminated passes: the table reader
/// that reads it next reports that with its own error.
pub(crate) fn check_len(
    data: &[u8],
    offset: usize,
    limit: usize,
    what: &'static str,
    rva: u32,
) -> Result<(), PeError> {
    let Some(tail) = data.get(offset..) else {
        return Ok(());
    };
    let window = &tail[..tail.len().min(limit.saturating_add(1))];
    if window.len() > limit && !window.contains(&0) {
        return Err(PeError::NameTooLong { what, rva, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_len_looks_only_at_the_window() {
        let data = b"abc\0defgh";
        assert_eq!(check_len(data, 0, 3, "n", 0), Ok(()));
        assert!(matches!(
            check_len(data, 0, 2, "n", 7),
            Err(PeError::NameTooLong {
                rva: 7,
                limit: 2,
                ..
            })
        ));
        // Unterminated but short, or out of range: left to the reader.
        assert_eq!(check_len(data, 4, 8, "n", 0), Ok(()));
        assert_eq!(check_len(data, 99, 8, "n", 0), Ok(()));
        assert!(check_len(data, 4, 4, "n", 0).is_err());
    }

    #[test]
    fn budget_refuses_past_its_limit() {
        let mut b = NameBudget::new(10);
        let limit = 10 + NAME_BUDGET_SLACK;
        assert_eq!(b.take(b"ok", "n", 0).as_deref(), Ok("ok"));
        assert_eq!(b.charge(limit - 2), Ok(()));
        assert_eq!(b.charge(1), Err(PeError::NamesTooLarge { limit }));
        assert_eq!(
            NameBudget::new(0).take(b"\xff", "n", 3),
            Err(PeError::BadName { what: "n", rva: 3 })
        );
    }
}

//! Sections: where they sit in the file and in memory, and their protection.

use alloc::string::String;
use object::pe;

/// Page protection for a mapped range. x86-64 cannot map execute-only or
/// write-only pages; the kernel adds read where needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Protection {
    /// `IMAGE_SCN_MEM_READ`.
    pub read: bool,
    /// `IMAGE_SCN_MEM_WRITE`.
    pub write: bool,
    /// `IMAGE_SCN_MEM_EXECUTE`.
    pub execute: bool,
}

impl Protection {
    /// Read-only, the protection of the headers.
    pub const READ_ONLY: Protection = Protection {
        read: true,
        write: false,
        execute: false,
    };

    /// Protection from section characteristics (PE/COFF spec §4.1, "Section
    /// Flags": MEM_EXECUTE 0x20000000, MEM_READ 0x40000000, MEM_WRITE
    /// 0x80000000).
    pub fn from_characteristics(characteristics: u32) -> Protection {
        let has = |flag: pe::SectionFlags| characteristics & flag.0 != 0;
        Protection {
            read: has(pe::IMAGE_SCN_MEM_READ),
            write: has(pe::IMAGE_SCN_MEM_WRITE),
            execute: has(pe::IMAGE_SCN_MEM_EXECUTE),
        }
    }
}

/// One validated section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Name from the section header (up to 8 bytes, NULs trimmed).
    pub name: String,
    /// RVA of the first byte; a multiple of `SectionAlignment`.
    pub rva: u32,
    /// Bytes in memory: `VirtualSize`, or `SizeOfRawData` when that is 0.
    pub virtual_size: u32,
    /// File offset of the data (`PointerToRawData`).
    pub raw_offset: u32,
    /// Bytes copied from the file: `SizeOfRawData` capped at
    /// `virtual_size`. The rest of the section is zero (bss).
    pub raw_size: u32,
    /// The raw `Characteristics` field.
    pub characteristics: u32,
    /// Page protection derived from `characteristics`.
    pub protection: Protection,
}

impl Section {
    /// File byte range copied into memory at `rva`.
    pub fn raw_range(&self) -> core::ops::Range<usize> {
        let start = self.raw_offset as usize;
        start..start.saturating_add(self.raw_size as usize)
    }

    /// RVA one past the last byte in memory.
    pub fn end(&self) -> u64 {
        u64::from(self.rva) + u64::from(self.virtual_size)
    }

    /// Whether `rva` lies inside the section in memory.
    pub fn contains(&self, rva: u32) -> bool {
        rva >= self.rva && u64::from(rva) < self.end()
    }
}

/// Reads RVA ranges of an image straight from its file, through the
/// validated section table.
pub(crate) struct FileView<'a> {
    pub file: &'a [u8],
    pub size_of_headers: u32,
    pub sections: &'a [Section],
}

impl<'a> FileView<'a> {
    /// The file bytes backing `len` bytes at `rva`, if they lie inside the
    /// headers or inside one section's file data.
    pub fn bytes(&self, rva: u32, len: u64) -> Option<&'a [u8]> {
        let end = u64::from(rva).checked_add(len)?;
        let len = usize::try_from(len).ok()?;
        if end <= u64::from(self.size_of_headers) {
            return self.file.get(rva as usize..)?.get(..len);
        }
        let (data, section_rva) = self.section_data(rva)?;
        let offset = (rva - section_rva) as usize;
        data.get(offset..)?.get(..len)
    }

    /// The whole file data of the section containing `rva` and that
    /// section's RVA (what `object`'s table readers expect).
    pub fn section_data(&self, rva: u32) -> Option<(&'a [u8], u32)> {
        let section = self
            .sections
            .iter()
            .find(|s| rva >= s.rva && rva - s.rva < s.raw_size)?;
        Some((self.file.get(section.raw_range())?, section.rva))
    }

    /// A NUL-terminated string at `rva`, without the NUL.
    pub fn c_str(&self, rva: u32) -> Option<&'a str> {
        let (data, section_rva) = self.section_data(rva)?;
        let tail = data.get((rva - section_rva) as usize..)?;
        let nul = tail.iter().position(|&b| b == 0)?;
        core::str::from_utf8(tail.get(..nul)?).ok()
    }
}

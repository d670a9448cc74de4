//! Lay an image out in memory at a base, relocate it, list its page ranges.

use alloc::vec::Vec;

use crate::error::PeError;
use crate::file::PeFile;
use crate::relocs;
use crate::section::Protection;
use crate::{page_align_up, PAGE_SIZE};

/// A page-aligned range of an image to map with one protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRange {
    /// RVA of the first page (a multiple of [`PAGE_SIZE`]).
    pub rva: u32,
    /// Length in bytes (a non-zero multiple of [`PAGE_SIZE`]).
    pub len: u32,
    /// How to map it. A range with no access at all maps nothing.
    pub protection: Protection,
}

/// An image as it sits in memory at `base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedImage {
    /// Virtual address of RVA 0 (page aligned).
    pub base: u64,
    /// `SizeOfImage` bytes: headers, sections, zeroed bss and gaps, with
    /// relocations applied and (after [`crate::bind`]) the IAT filled.
    pub memory: Vec<u8>,
    /// What to map: the headers read-only, then each section, in ascending
    /// RVA order, disjoint. Pages of `memory` not listed stay unmapped.
    pub pages: Vec<PageRange>,
    /// Absolute entry point, if the image has one.
    pub entry: Option<u64>,
    /// How many relocation sites were patched (0 at the preferred base).
    pub relocations_applied: usize,
}

impl PeFile {
    /// Lays the image out at `base`. `file` must be the buffer given to
    /// [`crate::parse`]. Relocates when `base` differs from
    /// [`PeFile::preferred_base`].
    pub fn load(&self, file: &[u8], base: u64) -> Result<LoadedImage, PeError> {
        if file.len() as u64 != self.file_len {
            return Err(PeError::FileMismatch {
                parsed_len: self.file_len,
                given_len: file.len() as u64,
            });
        }
        let size = self.size_of_image;
        if !base.is_multiple_of(u64::from(PAGE_SIZE)) || base.checked_add(size.into()).is_none() {
            return Err(PeError::BadBase { base, size });
        }
        if base != self.preferred_base && self.relocs_stripped {
            return Err(PeError::NotRelocatable {
                preferred: self.preferred_base,
                base,
            });
        }
        let mut memory = Vec::new();
        memory
            .try_reserve_exact(size as usize)
            .map_err(|_| PeError::OutOfMemory { bytes: size })?;
        memory.resize(size as usize, 0);

        let headers = self.size_of_headers as usize;
        copy(&mut memory, "headers", 0, file.get(..headers))?;
        for section in &self.sections {
            let src = file.get(section.raw_range());
            copy(&mut memory, &section.name, section.rva, src)?;
        }

        let delta = base.wrapping_sub(self.preferred_base);
        let mut relocations_applied = 0;
        if delta != 0 {
            relocs::apply(&mut memory, &self.reloc_sites, delta)?;
            relocations_applied = self.reloc_sites.len();
        }

        Ok(LoadedImage {
            base,
            memory,
            pages: self.page_ranges(),
            entry: self.entry_rva.map(|rva| base + u64::from(rva)),
            relocations_applied,
        })
    }

    /// Headers read-only, then each non-empty section per its flags, each
    /// rounded up to whole pages. Parsing guarantees these are disjoint and
    /// inside `SizeOfImage` (sections start on page boundaries, headers end
    /// before the first section, `SizeOfImage` is page aligned).
    pub fn page_ranges(&self) -> Vec<PageRange> {
        let mut pages = Vec::with_capacity(self.sections.len() + 1);
        let mut push = |rva: u32, bytes: u32, protection| {
            let len = page_align_up(bytes).min(u64::from(self.size_of_image.saturating_sub(rva)));
            if len != 0 {
                pages.push(PageRange {
                    rva,
                    len: len as u32,
                    protection,
                });
            }
        };
        push(0, self.size_of_headers, Protection::READ_ONLY);
        for section in &self.sections {
            push(section.rva, section.virtual_size, section.protection);
        }
        pages
    }
}

/// Copies `src` to `memory[rva..]`. Parsing rules both failures out; they
/// are reported, not assumed away.
fn copy(memory: &mut [u8], name: &str, rva: u32, src: Option<&[u8]>) -> Result<(), PeError> {
    let size_of_image = u32::try_from(memory.len()).unwrap_or(u32::MAX);
    let err = || PeError::SectionOutsideImage {
        section: name.into(),
        end: u64::from(rva) + src.map_or(0, |s| s.len() as u64),
        size_of_image,
    };
    let src = src.ok_or_else(err)?;
    let start = rva as usize;
    memory
        .get_mut(start..start.saturating_add(src.len()))
        .ok_or_else(err)?
        .copy_from_slice(src);
    Ok(())
}

//! `parse` and `PeFile`: a validated image description that owns its data.

use alloc::vec::Vec;

use crate::error::PeError;
use crate::exports::{parse_exports, Exports};
use crate::headers::parse_headers;
use crate::imports::{parse_imports, ImportDll};
use crate::names::NameBudget;
use crate::relocs::parse_relocs;
use crate::section::{FileView, Section};
use crate::tls::{parse_tls, TlsInfo};

/// A validated PE32+ image. It owns everything it reports, so the file
/// buffer is only needed again by [`PeFile::load`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeFile {
    pub(crate) file_len: u64,
    pub(crate) is_dll: bool,
    pub(crate) relocs_stripped: bool,
    pub(crate) preferred_base: u64,
    pub(crate) size_of_image: u32,
    pub(crate) size_of_headers: u32,
    pub(crate) entry_rva: Option<u32>,
    pub(crate) sections: Vec<Section>,
    pub(crate) imports: Vec<ImportDll>,
    pub(crate) exports: Option<Exports>,
    pub(crate) has_relocations: bool,
    pub(crate) reloc_sites: Vec<u32>,
    pub(crate) tls: Option<TlsInfo>,
}

/// Parses and validates a PE32+ AMD64 image (see the crate docs for every
/// rule). Never panics; any malformation is a [`PeError`].
pub fn parse(file: &[u8]) -> Result<PeFile, PeError> {
    let headers = parse_headers(file)?;
    let view = FileView {
        file,
        size_of_headers: headers.size_of_headers,
        sections: &headers.sections,
    };
    let size = headers.size_of_image;
    let mut budget = NameBudget::new(file.len());
    let imports = match headers.import {
        Some((rva, _)) => parse_imports(&view, rva, size, &mut budget)?,
        None => Vec::new(),
    };
    let exports = match headers.export {
        Some((rva, len)) => Some(parse_exports(&view, rva, len, size, &mut budget)?),
        None => None,
    };
    let reloc_sites = match headers.base_reloc {
        Some((rva, len)) => parse_relocs(&view, rva, len, size)?,
        None => Vec::new(),
    };
    let tls = match headers.tls {
        Some((rva, _)) => Some(parse_tls(&view, rva, headers.preferred_base, size)?),
        None => None,
    };
    Ok(PeFile {
        file_len: file.len() as u64,
        is_dll: headers.is_dll,
        relocs_stripped: headers.relocs_stripped,
        preferred_base: headers.preferred_base,
        size_of_image: size,
        size_of_headers: headers.size_of_headers,
        entry_rva: headers.entry_rva,
        sections: headers.sections,
        imports,
        exports,
        has_relocations: headers.base_reloc.is_some(),
        reloc_sites,
        tls,
    })
}

impl PeFile {
    /// Whether `IMAGE_FILE_DLL` is set.
    pub fn is_dll(&self) -> bool {
        self.is_dll
    }

    /// `ImageBase`: where the image runs without relocation.
    pub fn preferred_base(&self) -> u64 {
        self.preferred_base
    }

    /// `SizeOfImage`: bytes of address space the image occupies.
    pub fn size_of_image(&self) -> u32 {
        self.size_of_image
    }

    /// `SizeOfHeaders`: bytes of headers copied to RVA 0.
    pub fn size_of_headers(&self) -> u32 {
        self.size_of_headers
    }

    /// Entry point RVA, inside an executable section. Always `Some` for an
    /// EXE; `None` for a DLL without an entry point.
    pub fn entry_rva(&self) -> Option<u32> {
        self.entry_rva
    }

    /// The sections, in ascending RVA order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// Imports, one entry per import descriptor.
    pub fn imports(&self) -> &[ImportDll] {
        &self.imports
    }

    /// The export table, if there is one.
    pub fn exports(&self) -> Option<&Exports> {
        self.exports.as_ref()
    }

    /// Whether the image has a base relocation directory.
    pub fn has_relocations(&self) -> bool {
        self.has_relocations
    }

    /// Whether `IMAGE_FILE_RELOCS_STRIPPED` pins the image to its base.
    pub fn relocs_stripped(&self) -> bool {
        self.relocs_stripped
    }

    /// RVAs patched by DIR64 relocations, sorted and non-overlapping.
    pub fn relocation_sites(&self) -> &[u32] {
        &self.reloc_sites
    }

    /// Static TLS, if the image has a TLS directory (never with callbacks).
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }
}

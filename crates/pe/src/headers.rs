//! DOS, COFF and optional headers and the section table, validated.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use object::pe;
use object::read::ReadRef;
use object::LittleEndian as LE;

use crate::error::{Directory, PeError};
use crate::section::{Protection, Section};
use crate::{MAX_IMAGE_SIZE, MAX_SECTIONS, PAGE_SIZE};

/// Bytes of the PE32+ optional header before the data directories
/// (PE/COFF spec §3.4: 24 standard + 88 Windows-specific bytes).
const OPTIONAL_HEADER64_SIZE: u64 = 112;
/// Size of one data directory entry (PE/COFF spec §3.4.3).
const DATA_DIRECTORY_SIZE: u64 = 8;
/// Size of one section header (PE/COFF spec §4).
const SECTION_HEADER_SIZE: u64 = 40;
/// Directories beyond this index are reserved (PE/COFF spec §3.4.3).
const MAX_DIRECTORIES: usize = 16;

/// A data directory entry: RVA and size, `None` when the RVA is 0.
pub(crate) type DirEntry = Option<(u32, u32)>;

/// Everything the later stages need from the headers.
pub(crate) struct Headers {
    pub is_dll: bool,
    pub relocs_stripped: bool,
    pub preferred_base: u64,
    pub size_of_image: u32,
    pub size_of_headers: u32,
    pub entry_rva: Option<u32>,
    pub sections: Vec<Section>,
    pub export: DirEntry,
    pub import: DirEntry,
    pub base_reloc: DirEntry,
    pub tls: DirEntry,
}

fn read<'a, T: object::pod::Pod>(
    file: &'a [u8],
    offset: u64,
    what: &'static str,
) -> Result<&'a T, PeError> {
    file.read_at::<T>(offset).map_err(|()| PeError::Truncated {
        what,
        offset,
        size: core::mem::size_of::<T>() as u64,
        file_len: file.len() as u64,
    })
}

/// Parses and validates every header field the loader relies on.
pub(crate) fn parse_headers(file: &[u8]) -> Result<Headers, PeError> {
    let file_len = file.len() as u64;
    // PE/COFF spec §2: the MS-DOS stub starts with "MZ"; e_lfanew at 0x3c.
    let dos: &pe::ImageDosHeader = read(file, 0, "DOS header")?;
    let magic = dos.e_magic.get(LE);
    if magic != pe::IMAGE_DOS_SIGNATURE {
        return Err(PeError::BadDosSignature(magic));
    }
    let nt_offset = dos.e_lfanew.get(LE);
    // PE/COFF spec §3: "PE\0\0" at e_lfanew.
    let signature: &object::U32<LE> = read(file, nt_offset.into(), "PE signature")?;
    if signature.get(LE) != pe::IMAGE_NT_SIGNATURE {
        return Err(PeError::BadPeSignature {
            offset: nt_offset,
            found: signature.get(LE),
        });
    }
    let coff_offset = u64::from(nt_offset) + 4;
    let coff: &pe::ImageFileHeader = read(file, coff_offset, "COFF file header")?;
    // PE/COFF spec §3.3.1: IMAGE_FILE_MACHINE_AMD64 = 0x8664.
    let machine = coff.machine.get(LE).0;
    if machine != pe::IMAGE_FILE_MACHINE_AMD64.0 {
        return Err(PeError::WrongMachine(machine));
    }
    // PE/COFF spec §3.3.2: IMAGE_FILE_EXECUTABLE_IMAGE 0x0002, _DLL 0x2000,
    // _RELOCS_STRIPPED 0x0001.
    let characteristics = coff.characteristics.get(LE).0;
    if characteristics & pe::IMAGE_FILE_EXECUTABLE_IMAGE.0 == 0 {
        return Err(PeError::NotAnImage { characteristics });
    }
    let opt_offset = coff_offset + 20;
    let opt: &pe::ImageOptionalHeader64 = read(file, opt_offset, "PE32+ optional header")?;
    // PE/COFF spec §3.4.1: 0x20b marks PE32+.
    let opt_magic = opt.magic.get(LE);
    if opt_magic != pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC {
        return Err(PeError::BadOptionalMagic(opt_magic));
    }
    let opt_size = coff.size_of_optional_header.get(LE);
    let dir_count = opt.number_of_rva_and_sizes.get(LE);
    let needed = OPTIONAL_HEADER64_SIZE + u64::from(dir_count) * DATA_DIRECTORY_SIZE;
    if u64::from(opt_size) < needed {
        return Err(PeError::OptionalHeaderTooSmall {
            size: opt_size,
            needed,
        });
    }
    let dirs: &[pe::ImageDataDirectory] = file
        .read_slice_at(
            opt_offset + OPTIONAL_HEADER64_SIZE,
            (dir_count as usize).min(MAX_DIRECTORIES),
        )
        .map_err(|()| PeError::Truncated {
            what: "data directories",
            offset: opt_offset + OPTIONAL_HEADER64_SIZE,
            size: u64::from(dir_count.min(16)) * DATA_DIRECTORY_SIZE,
            file_len,
        })?;

    let count = coff.number_of_sections.get(LE);
    if count > MAX_SECTIONS {
        return Err(PeError::TooManySections { count });
    }
    let table_offset = opt_offset + u64::from(opt_size);
    let table: &[pe::ImageSectionHeader] =
        file.read_slice_at(table_offset, count.into())
            .map_err(|()| PeError::Truncated {
                what: "section table",
                offset: table_offset,
                size: u64::from(count) * SECTION_HEADER_SIZE,
                file_len,
            })?;
    let table_end = table_offset + u64::from(count) * SECTION_HEADER_SIZE;

    // PE/COFF spec §3.4.2: SectionAlignment >= FileAlignment; FileAlignment
    // a power of two from 512 to 64K; SizeOfImage a multiple of
    // SectionAlignment. Page-sized sections are our own requirement.
    let section_alignment = opt.section_alignment.get(LE);
    if section_alignment == 0 || !section_alignment.is_multiple_of(PAGE_SIZE) {
        return Err(PeError::BadSectionAlignment(section_alignment));
    }
    let file_alignment = opt.file_alignment.get(LE);
    if !file_alignment.is_power_of_two()
        || !(512..=0x1_0000).contains(&file_alignment)
        || file_alignment > section_alignment
    {
        return Err(PeError::BadFileAlignment {
            file_alignment,
            section_alignment,
        });
    }
    let size_of_image = opt.size_of_image.get(LE);
    if size_of_image > MAX_IMAGE_SIZE {
        return Err(PeError::ImageTooLarge(size_of_image));
    }
    if !size_of_image.is_multiple_of(section_alignment) {
        return Err(PeError::SizeOfImageUnaligned {
            size_of_image,
            section_alignment,
        });
    }

    let sections = parse_sections(table, file_len, section_alignment, size_of_image)?;

    let size_of_headers = opt.size_of_headers.get(LE);
    let first_rva = sections.first().map_or(u64::MAX, |s| u64::from(s.rva));
    let max = file_len.min(first_rva).min(u64::from(size_of_image));
    if u64::from(size_of_headers) < table_end || u64::from(size_of_headers) > max {
        return Err(PeError::BadSizeOfHeaders {
            size_of_headers,
            min: table_end,
            max,
        });
    }

    let is_dll = characteristics & pe::IMAGE_FILE_DLL.0 != 0;
    let entry = opt.address_of_entry_point.get(LE);
    let entry_rva = match entry {
        0 if is_dll => None,
        0 => return Err(PeError::NoEntryPoint),
        rva => {
            let ok = sections
                .iter()
                .any(|s| s.protection.execute && s.contains(rva));
            if !ok {
                return Err(PeError::EntryNotExecutable { rva });
            }
            Some(rva)
        }
    };

    let dir = |index: usize, which: Directory| -> Result<DirEntry, PeError> {
        let Some(d) = dirs.get(index) else {
            return Ok(None);
        };
        let (rva, size) = (d.virtual_address.get(LE), d.size.get(LE));
        if rva == 0 {
            return Ok(None);
        }
        if u64::from(rva) + u64::from(size) > u64::from(size_of_image) {
            return Err(PeError::DirectoryOutsideImage {
                directory: which,
                rva,
                size,
            });
        }
        Ok(Some((rva, size)))
    };
    // PE/COFF spec §3.4.3: directory indices.
    if dir(
        pe::IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT,
        Directory::DelayImport,
    )?
    .is_some()
    {
        return Err(PeError::DelayLoadUnsupported);
    }
    Ok(Headers {
        is_dll,
        relocs_stripped: characteristics & pe::IMAGE_FILE_RELOCS_STRIPPED.0 != 0,
        preferred_base: opt.image_base.get(LE),
        size_of_image,
        size_of_headers,
        entry_rva,
        export: dir(pe::IMAGE_DIRECTORY_ENTRY_EXPORT, Directory::Export)?,
        import: dir(pe::IMAGE_DIRECTORY_ENTRY_IMPORT, Directory::Import)?,
        base_reloc: dir(pe::IMAGE_DIRECTORY_ENTRY_BASERELOC, Directory::BaseReloc)?,
        tls: dir(pe::IMAGE_DIRECTORY_ENTRY_TLS, Directory::Tls)?,
        sections,
    })
}

fn section_name(raw: &[u8; 8]) -> String {
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..len]).into_owned()
}

fn parse_sections(
    table: &[pe::ImageSectionHeader],
    file_len: u64,
    section_alignment: u32,
    size_of_image: u32,
) -> Result<Vec<Section>, PeError> {
    let mut sections: Vec<Section> = Vec::with_capacity(table.len());
    for header in table {
        let name = section_name(&header.name);
        let rva = header.virtual_address.get(LE);
        let raw_len = header.size_of_raw_data.get(LE);
        let raw_offset = header.pointer_to_raw_data.get(LE);
        let virtual_size = match header.virtual_size.get(LE) {
            0 => raw_len,
            size => size,
        };
        let characteristics = header.characteristics.get(LE).0;
        let protection = Protection::from_characteristics(characteristics);
        if protection.write && protection.execute {
            return Err(PeError::WritableAndExecutable { section: name });
        }
        if !rva.is_multiple_of(section_alignment) {
            return Err(PeError::SectionMisaligned { section: name, rva });
        }
        if raw_len != 0 && u64::from(raw_offset) + u64::from(raw_len) > file_len {
            return Err(PeError::SectionOutsideFile {
                section: name,
                offset: raw_offset,
                size: raw_len,
                file_len,
            });
        }
        let section = Section {
            rva,
            virtual_size,
            raw_offset: if raw_len == 0 { 0 } else { raw_offset },
            raw_size: raw_len.min(virtual_size),
            characteristics,
            protection,
            name,
        };
        if section.end() > u64::from(size_of_image) {
            return Err(PeError::SectionOutsideImage {
                end: section.end(),
                size_of_image,
                section: section.name,
            });
        }
        if let Some(prev) = sections.last() {
            if u64::from(section.rva) < prev.end() || section.rva <= prev.rva {
                return Err(PeError::SectionsOverlap {
                    first: prev.name.to_owned(),
                    first_end: prev.end(),
                    second: section.name,
                    second_rva: section.rva,
                });
            }
        }
        sections.push(section);
    }
    Ok(sections)
}

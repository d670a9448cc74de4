//! Base relocations: validate the `.reloc` blocks, then patch DIR64 sites.

use alloc::vec::Vec;

use object::endian::U16;
use object::pe;
use object::read::ReadRef;
use object::LittleEndian as LE;

use crate::error::{Directory, PeError};
use crate::section::FileView;

/// Size of a block header: page RVA and SizeOfBlock (PE/COFF spec §6.6.1).
const BLOCK_HEADER_SIZE: u32 = 8;
/// Bytes patched by an `IMAGE_REL_BASED_DIR64` relocation (spec §6.6.2).
const DIR64_SIZE: u64 = 8;

/// Reads every block of the directory at `rva` and returns the DIR64 sites,
/// sorted, each inside the image and none overlapping another.
pub(crate) fn parse_relocs(
    view: &FileView<'_>,
    rva: u32,
    size: u32,
    size_of_image: u32,
) -> Result<Vec<u32>, PeError> {
    let data = view
        .bytes(rva, size.into())
        .ok_or(PeError::DirectoryNotInFile {
            directory: Directory::BaseReloc,
            rva,
            size: size.into(),
        })?;
    let mut sites = Vec::new();
    let mut offset: u32 = 0;
    while (offset as usize) < data.len() {
        let remaining = (data.len() - offset as usize) as u64;
        let header = data
            .read_at::<pe::ImageBaseRelocation>(offset.into())
            .map_err(|()| PeError::RelocBlockTruncated {
                offset,
                needed: BLOCK_HEADER_SIZE.into(),
                remaining,
            })?;
        let block_size = header.size_of_block.get(LE);
        // Spec §6.6.1: each block starts on a 32-bit boundary.
        if block_size < BLOCK_HEADER_SIZE || !block_size.is_multiple_of(4) {
            return Err(PeError::RelocBlockBadSize {
                offset,
                size: block_size,
            });
        }
        if u64::from(block_size) > remaining {
            return Err(PeError::RelocBlockTruncated {
                offset,
                needed: block_size.into(),
                remaining,
            });
        }
        let page_rva = header.virtual_address.get(LE);
        if page_rva >= size_of_image {
            return Err(PeError::RelocBlockOutsideImage { offset, page_rva });
        }
        let count = ((block_size - BLOCK_HEADER_SIZE) / 2) as usize;
        let entries: &[U16<LE>] = data
            .read_slice_at(u64::from(offset) + u64::from(BLOCK_HEADER_SIZE), count)
            .map_err(|()| PeError::RelocBlockTruncated {
                offset,
                needed: block_size.into(),
                remaining,
            })?;
        for entry in entries {
            // Spec §6.6.2: type in the high 4 bits, page offset in the low 12.
            let entry = entry.get(LE);
            let kind = entry >> 12;
            let site = u64::from(page_rva) + u64::from(entry & 0xfff);
            let site_rva = u32::try_from(site).unwrap_or(u32::MAX);
            match pe::BaseRelocationType(kind) {
                pe::IMAGE_REL_BASED_ABSOLUTE => {}
                pe::IMAGE_REL_BASED_DIR64 => {
                    if site + DIR64_SIZE > u64::from(size_of_image) {
                        return Err(PeError::RelocOutsideImage {
                            rva: site_rva,
                            size_of_image,
                        });
                    }
                    sites.push(site_rva);
                }
                _ => {
                    return Err(PeError::UnsupportedRelocation {
                        rva: site_rva,
                        kind,
                    })
                }
            }
        }
        // Cannot overflow: block_size <= remaining <= data.len() - offset.
        offset += block_size;
    }
    sites.sort_unstable();
    for pair in sites.windows(2) {
        if let [first, second] = *pair {
            if u64::from(second) < u64::from(first) + DIR64_SIZE {
                return Err(PeError::RelocOverlap { first, second });
            }
        }
    }
    Ok(sites)
}

/// Adds `delta` (new base minus preferred base, modulo 2^64) to the 64-bit
/// value at each site of `memory`.
pub(crate) fn apply(memory: &mut [u8], sites: &[u32], delta: u64) -> Result<(), PeError> {
    let size_of_image = u32::try_from(memory.len()).unwrap_or(u32::MAX);
    for &site in sites {
        let start = site as usize;
        let slot: &mut [u8; 8] = memory
            .get_mut(start..start.saturating_add(8))
            .and_then(|s| s.try_into().ok())
            .ok_or(PeError::RelocOutsideImage {
                rva: site,
                size_of_image,
            })?;
        let value = u64::from_le_bytes(*slot).wrapping_add(delta);
        *slot = value.to_le_bytes();
    }
    Ok(())
}

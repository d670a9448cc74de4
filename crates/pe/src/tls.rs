//! The TLS directory: accepted without callbacks, described by RVAs.

use object::pe::ImageTlsDirectory64;
use object::read::ReadRef;
use object::LittleEndian as LE;

use crate::error::{Directory, PeError};
use crate::section::FileView;

/// Size of `IMAGE_TLS_DIRECTORY64` (PE/COFF spec §6.7.1).
const TLS_DIRECTORY_SIZE: u64 = 40;

/// Static TLS of an image, as RVAs so it holds at any load base. To support
/// it the kernel allocates `template_end - template_start + zero_fill` bytes
/// per thread, copies the template from the loaded image, zeroes the rest,
/// writes the module's TLS index (0 for the only TLS module) at `index_rva`
/// and points the TEB's `ThreadLocalStoragePointer` (gs:0x58) at an array
/// whose slot for that index holds the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// RVA of the initialised TLS template.
    pub template_start: u32,
    /// RVA one past the template.
    pub template_end: u32,
    /// RVA of the 32-bit slot that receives the TLS index.
    pub index_rva: u32,
    /// Zero bytes that follow the template in each thread's block.
    pub zero_fill: u32,
    /// `Characteristics` (alignment flags).
    pub characteristics: u32,
}

/// Reads the TLS directory; refuses callbacks.
pub(crate) fn parse_tls(
    view: &FileView<'_>,
    rva: u32,
    preferred_base: u64,
    size_of_image: u32,
) -> Result<TlsInfo, PeError> {
    let bytes = view
        .bytes(rva, TLS_DIRECTORY_SIZE)
        .ok_or(PeError::DirectoryNotInFile {
            directory: Directory::Tls,
            rva,
            size: TLS_DIRECTORY_SIZE,
        })?;
    let dir =
        bytes
            .read_at::<ImageTlsDirectory64>(0)
            .map_err(|()| PeError::DirectoryNotInFile {
                directory: Directory::Tls,
                rva,
                size: TLS_DIRECTORY_SIZE,
            })?;
    // The directory holds virtual addresses at the preferred base
    // (spec §6.7.1); `len` bytes from there must be inside the image.
    let to_rva = |va: u64, len: u64| -> Result<u32, PeError> {
        va.checked_sub(preferred_base)
            .filter(|r| r.saturating_add(len) <= u64::from(size_of_image))
            .and_then(|r| u32::try_from(r).ok())
            .ok_or(PeError::BadTls { va })
    };
    let callbacks_va = dir.address_of_call_backs.get(LE);
    if callbacks_va != 0 {
        let callbacks_rva = to_rva(callbacks_va, 8)?;
        // A null first entry is an empty list; an array in bss reads as 0.
        let first = view
            .bytes(callbacks_rva, 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes);
        if first != 0 {
            return Err(PeError::TlsCallbacksUnsupported { callbacks_va });
        }
    }
    let start_va = dir.start_address_of_raw_data.get(LE);
    let end_va = dir.end_address_of_raw_data.get(LE);
    let template_start = to_rva(start_va, 0)?;
    let template_end = to_rva(end_va, 0)?;
    if template_end < template_start {
        return Err(PeError::BadTls { va: end_va });
    }
    Ok(TlsInfo {
        template_start,
        template_end,
        index_rva: to_rva(dir.address_of_index.get(LE), 4)?,
        zero_fill: dir.size_of_zero_fill.get(LE),
        characteristics: dir.characteristics.get(LE),
    })
}

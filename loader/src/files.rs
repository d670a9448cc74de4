//! Reading files from the volume the loader was started from (§10 step 1).

use crate::error::LoaderError;
use crate::memory::{phys_bytes, Tracker};
use alloc::vec::Vec;
use handoff::memmap::MemType;
use handoff::responses::media;
use handoff::PAGE_SIZE;
use uefi::boot::{self, OpenProtocolAttributes, OpenProtocolParams, ScopedProtocol};
use uefi::proto::device_path::{DevicePath, DeviceSubType, DeviceType};
use uefi::proto::loaded_image::LoadedImage;
use uefi::proto::media::file::{File, FileAttribute, FileInfo, FileMode, RegularFile};
use uefi::proto::media::fs::SimpleFileSystem;
use uefi::{CString16, Status};

/// A file read whole into tracked pages.
#[derive(Debug, Clone, Copy)]
pub struct LoadedFile {
    /// Physical address (page-aligned).
    pub phys: u64,
    /// Size in bytes.
    pub size: u64,
}

/// The boot volume plus what we know about its medium.
pub struct BootVolume {
    fs: ScopedProtocol<SimpleFileSystem>,
    /// `limine_file.media_type` (§5).
    pub media_type: u32,
    /// 1-based partition index, 0 if unknown (§5).
    pub partition: u32,
}

impl BootVolume {
    /// Opens the file system of the device the loader image came from.
    pub fn open() -> Result<Self, LoaderError> {
        let image = boot::image_handle();
        let fs = boot::get_image_file_system(image)
            .map_err(LoaderError::firmware("opening the boot volume"))?;
        let (media_type, partition) = medium(image).unwrap_or((media::GENERIC, 0));
        Ok(Self {
            fs,
            media_type,
            partition,
        })
    }

    fn open_file(&mut self, path: &str) -> Result<(RegularFile, u64), Status> {
        let uefi_path: alloc::string::String = path
            .chars()
            .map(|c| if c == '/' { '\\' } else { c })
            .collect();
        let name =
            CString16::try_from(uefi_path.as_str()).map_err(|_| Status::INVALID_PARAMETER)?;
        let mut root = self.fs.open_volume().map_err(|e| e.status())?;
        let handle = root
            .open(&name, FileMode::Read, FileAttribute::empty())
            .map_err(|e| e.status())?;
        let mut file = handle.into_regular_file().ok_or(Status::NOT_FOUND)?;
        let info = file.get_boxed_info::<FileInfo>().map_err(|e| e.status())?;
        Ok((file, info.file_size()))
    }

    /// Reads a small file into a `Vec`; `Ok(None)` if it does not exist.
    pub fn read_optional(&mut self, path: &str) -> Result<Option<Vec<u8>>, Status> {
        let (mut file, size) = match self.open_file(path) {
            Ok(found) => found,
            Err(Status::NOT_FOUND) => return Ok(None),
            Err(status) => return Err(status),
        };
        let size = usize::try_from(size).map_err(|_| Status::BAD_BUFFER_SIZE)?;
        let mut buf = alloc::vec![0u8; size];
        read_all(&mut file, &mut buf)?;
        Ok(Some(buf))
    }

    /// Reads a whole file into fresh tracked pages of type `ty`.
    pub fn load(
        &mut self,
        path: &str,
        ty: MemType,
        tracker: &mut Tracker,
    ) -> Result<LoadedFile, Status> {
        let (mut file, size) = self.open_file(path)?;
        let pages = size.div_ceil(PAGE_SIZE).max(1);
        let anywhere = ty == MemType::KernelAndModules;
        let phys = tracker
            .alloc(pages, ty, anywhere)
            .map_err(|_| Status::OUT_OF_RESOURCES)?;
        let len = usize::try_from(size).map_err(|_| Status::BAD_BUFFER_SIZE)?;
        // SAFETY: `phys` is a fresh tracked allocation of ≥ `len` bytes.
        let buf = unsafe { phys_bytes(phys, len) };
        read_all(&mut file, buf)?;
        Ok(LoadedFile { phys, size })
    }
}

fn read_all(file: &mut RegularFile, mut buf: &mut [u8]) -> Result<(), Status> {
    while !buf.is_empty() {
        let n = file.read(buf).map_err(|e| e.status())?;
        if n == 0 {
            return Err(Status::END_OF_FILE);
        }
        buf = &mut buf[n..];
    }
    Ok(())
}

/// Media type and partition number from the boot device's device path.
fn medium(image: uefi::Handle) -> Option<(u32, u32)> {
    let loaded = boot::open_protocol_exclusive::<LoadedImage>(image).ok()?;
    let device = loaded.device()?;
    let params = OpenProtocolParams {
        handle: device,
        agent: image,
        controller: None,
    };
    // SAFETY: GetProtocol does not take ownership; we only read the
    // device path while the device (our boot volume) stays connected.
    let path =
        unsafe { boot::open_protocol::<DevicePath>(params, OpenProtocolAttributes::GetProtocol) }
            .ok()?;
    let mut result = (media::GENERIC, 0);
    for node in path.node_iter() {
        if node.device_type() != DeviceType::MEDIA {
            continue;
        }
        match node.sub_type() {
            DeviceSubType::MEDIA_CD_ROM => result.0 = media::OPTICAL,
            DeviceSubType::MEDIA_HARD_DRIVE => {
                // HARDDRIVE_DEVICE_PATH: PartitionNumber is the first
                // field after the 4-byte header (UEFI 2.10 §10.3.5.1).
                let data = node.data();
                if let Some(b) = data.get(..4) {
                    result.1 = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            _ => {}
        }
    }
    Some(result)
}

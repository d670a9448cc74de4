//! Firmware facts gathered while boot services run (§10 step 7).

use crate::console::say;
use crate::error::Optional;
use crate::memory::phys_bytes;
use alloc::vec::Vec;
use handoff::acpi::{self, IoApic, Rsdp};
use handoff::framebuffer::{GopFormat, PixelLayout};
use uefi::boot::{self, OpenProtocolAttributes, OpenProtocolParams};
use uefi::proto::console::gop::{GraphicsOutput, PixelFormat};
use uefi::system;
use uefi::table::cfg::ConfigTableEntry;

/// The GOP framebuffer of the current mode.
#[derive(Debug, Clone, Copy)]
pub struct Gop {
    /// Physical base of the pixels.
    pub base: u64,
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Bytes per scanline.
    pub pitch: u64,
    /// Channel layout.
    pub layout: PixelLayout,
}

impl Gop {
    /// Bytes the framebuffer spans (§6: `pitch * height`).
    pub fn len(&self) -> u64 {
        self.pitch * self.height
    }
}

/// Reads the current GOP mode; `None` (with a log line) if there is no
/// usable linear framebuffer.
pub fn framebuffer() -> Option<Gop> {
    let handle = match boot::get_handle_for_protocol::<GraphicsOutput>() {
        Ok(h) => h,
        Err(e) => {
            say!("no GOP ({:?}): booting without a framebuffer", e.status());
            return None;
        }
    };
    let params = OpenProtocolParams {
        handle,
        agent: boot::image_handle(),
        controller: None,
    };
    // SAFETY: GetProtocol leaves the console driver in charge of the GOP;
    // we only read the current mode and framebuffer address.
    let gop = unsafe {
        boot::open_protocol::<GraphicsOutput>(params, OpenProtocolAttributes::GetProtocol)
    };
    let mut gop = match gop {
        Ok(g) => g,
        Err(e) => {
            say!(
                "cannot open GOP ({:?}): booting without a framebuffer",
                e.status()
            );
            return None;
        }
    };
    let info = gop.current_mode_info();
    let format = match info.pixel_format() {
        PixelFormat::Rgb => GopFormat::Rgb,
        PixelFormat::Bgr => GopFormat::Bgr,
        PixelFormat::Bitmask => match info.pixel_bitmask() {
            Some(m) => GopFormat::Bitmask {
                red: m.red,
                green: m.green,
                blue: m.blue,
                reserved: m.reserved,
            },
            None => GopFormat::BltOnly,
        },
        PixelFormat::BltOnly => GopFormat::BltOnly,
    };
    let layout = match PixelLayout::from_gop(format) {
        Ok(l) => l,
        Err(e) => {
            say!(
                "{}: booting without a framebuffer",
                Optional::Framebuffer(e)
            );
            return None;
        }
    };
    let (width, height) = info.resolution();
    let base = gop.frame_buffer().as_mut_ptr() as u64;
    Some(Gop {
        base,
        width: width as u64,
        height: height as u64,
        pitch: layout.pitch(info.stride() as u64),
        layout,
    })
}

/// Physical address of a configuration table with `guid`.
fn config_table(guid: uefi::Guid) -> Option<u64> {
    system::with_config_table(|tables: &[ConfigTableEntry]| {
        tables
            .iter()
            .find(|t| t.guid == guid)
            .map(|t| t.address as u64)
    })
}

/// The RSDP: ACPI 2.0 table if its checksums hold, else ACPI 1.0.
pub fn rsdp() -> Option<(u64, Rsdp)> {
    for (guid, len) in [
        (ConfigTableEntry::ACPI2_GUID, acpi::RSDP_V2_LEN),
        (ConfigTableEntry::ACPI_GUID, acpi::RSDP_V1_LEN),
    ] {
        let Some(addr) = config_table(guid) else {
            continue;
        };
        // SAFETY: the firmware published an RSDP of at least `len` bytes
        // here; it is identity-mapped and we only read it.
        let bytes = unsafe { phys_bytes(addr, len) };
        match Rsdp::parse(bytes) {
            Ok(r) => return Some((addr, r)),
            Err(e) => say!("RSDP at {addr:#x} rejected: {}", Optional::Acpi(e)),
        }
    }
    None
}

/// SMBIOS 2.x and 3.x entry points (physical, 0 if absent).
pub fn smbios() -> (u64, u64) {
    (
        config_table(ConfigTableEntry::SMBIOS_GUID).unwrap_or(0),
        config_table(ConfigTableEntry::SMBIOS3_GUID).unwrap_or(0),
    )
}

/// Physical address of the EFI system table.
pub fn system_table() -> u64 {
    uefi::table::system_table_raw().map_or(0, |p| p.as_ptr() as u64)
}

/// UNIX seconds from `GetTime` (time zone ignored; 0 on failure, §5).
pub fn unix_time() -> i64 {
    uefi::runtime::get_time()
        .ok()
        .and_then(|t| {
            handoff::time::unix_seconds(
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
        })
        .unwrap_or(0)
}

/// Reads a whole ACPI table at `phys`, checking signature and checksum.
fn table(phys: u64, signature: &[u8; 4]) -> Option<&'static [u8]> {
    // SAFETY: `phys` comes from a checksummed RSDP/XSDT; ACPI tables are
    // identity-mapped firmware memory that we only read.
    let header = unsafe { phys_bytes(phys, acpi::SDT_HEADER_LEN) };
    let (sig, len) = acpi::sdt_header(header)?;
    if &sig != signature {
        return None;
    }
    // SAFETY: as above; `len` is the table's own length field.
    let whole = unsafe { phys_bytes(phys, len as usize) };
    acpi::check_table(whole, signature).ok()?;
    Some(whole)
}

/// The ACPI table with `signature` listed in the XSDT (or RSDT), if its
/// checksum holds.
pub fn acpi_table(rsdp: &Rsdp, signature: &[u8; 4]) -> Option<&'static [u8]> {
    let (root, wide) = if rsdp.xsdt != 0 {
        (table(rsdp.xsdt, b"XSDT")?, true)
    } else {
        (table(u64::from(rsdp.rsdt), b"RSDT")?, false)
    };
    acpi::root_entries(root, wide).find_map(|addr| table(addr, signature))
}

/// I/O APICs listed in the MADT (for masking, §10 step 12).
pub fn io_apics(madt: Option<&[u8]>) -> Vec<IoApic> {
    match madt {
        Some(madt) => acpi::madt_io_apics(madt).collect(),
        None => {
            say!("no readable MADT: IO APICs stay as the firmware left them");
            Vec::new()
        }
    }
}

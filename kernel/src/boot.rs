//! Limine requests and a safe, copied-out view of the loader's answers.
#![deny(unsafe_code)]

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use limine::memory_map::EntryType;

use limine::request::{
    BootloaderInfoRequest, DateAtBootRequest, ExecutableAddressRequest, ExecutableFileRequest,
    FirmwareTypeRequest, FramebufferRequest, HhdmRequest, MemoryMapRequest, ModuleRequest,
    MpRequest, PagingModeRequest, RequestsEndMarker, RequestsStartMarker, RsdpRequest,
    StackSizeRequest,
};
use limine::BaseRevision;

/// Stack the loader should give us (we switch to our own at once, but a
/// generous loader stack keeps a debug build safe until then).
const LOADER_STACK_SIZE: u64 = 256 * 1024;

/// The requests, between the start and end markers (limine-protocol.md §3).
/// `link_section` is the only "unsafe" attribute here: the linker script
/// keeps these sections together in file-backed data.
#[allow(unsafe_code)]
mod requests {
    use super::*;

    // Requests sit between the start and end markers (limine-protocol.md §3);
    // the linker script keeps the three sections together in file-backed data.
    #[used]
    #[link_section = ".requests_start_marker"]
    static START_MARKER: RequestsStartMarker = RequestsStartMarker::new();

    /// Base revision 2: boots on Limine 8.x, on current Limine and on our loader
    /// (limine-protocol.md §11).
    #[used]
    #[link_section = ".requests"]
    pub static BASE_REVISION: BaseRevision = BaseRevision::with_revision(2);

    #[used]
    #[link_section = ".requests"]
    pub(super) static BOOTLOADER_INFO: BootloaderInfoRequest = BootloaderInfoRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static FIRMWARE_TYPE: FirmwareTypeRequest = FirmwareTypeRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static STACK_SIZE: StackSizeRequest =
        StackSizeRequest::new().with_size(LOADER_STACK_SIZE);
    #[used]
    #[link_section = ".requests"]
    pub(super) static HHDM: HhdmRequest = HhdmRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static MEMORY_MAP: MemoryMapRequest = MemoryMapRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static FRAMEBUFFER: FramebufferRequest = FramebufferRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static RSDP: RsdpRequest = RsdpRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static EXECUTABLE_FILE: ExecutableFileRequest = ExecutableFileRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static EXECUTABLE_ADDRESS: ExecutableAddressRequest =
        ExecutableAddressRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static MODULES: ModuleRequest = ModuleRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static DATE_AT_BOOT: DateAtBootRequest = DateAtBootRequest::new();
    #[used]
    #[link_section = ".requests"]
    pub(super) static PAGING_MODE: PagingModeRequest = PagingModeRequest::new();
    /// Start the other CPUs, in x2APIC mode where the CPU has it
    /// (limine-protocol.md §5, §8); they park until the kernel sends them.
    #[used]
    #[link_section = ".requests"]
    pub(super) static MP: MpRequest = MpRequest::new().with_flags(limine::mp::RequestFlags::X2APIC);

    #[used]
    #[link_section = ".requests_end_marker"]
    static END_MARKER: RequestsEndMarker = RequestsEndMarker::new();
}
pub use requests::BASE_REVISION;
use requests::*;

/// Memory-map regions and their Limine types (limine-protocol.md §6): the
/// frame allocator's types, so the map needs no conversion.
pub use frames::{Region, RegionKind as MemoryKind};

/// The framebuffer the loader set up (limine-protocol.md §5).
#[derive(Clone, Copy, Debug)]
pub struct FramebufferInfo {
    /// HHDM-virtual address of the first pixel.
    pub address: u64,
    pub width: u64,
    pub height: u64,
    /// Bytes per scanline.
    pub pitch: u64,
    pub bpp: u16,
    /// (size, shift) of the red, green and blue channels.
    pub red: (u8, u8),
    pub green: (u8, u8),
    pub blue: (u8, u8),
}

/// A file the loader handed over (the kernel itself or a module), owned by
/// the kernel: it stays valid after bootloader memory is reclaimed.
#[derive(Clone, Debug)]
pub struct BootFile {
    /// Path on the boot volume.
    pub path: String,
    /// Command line / string the config gave it.
    pub cmdline: String,
    /// Contents: module data stays where the loader put it (memory the
    /// kernel never reuses); the kernel file is copied to the heap.
    pub data: Cow<'static, [u8]>,
    /// Physical address the loader placed it at.
    pub phys: u64,
}

impl BootFile {
    /// The last component of its path (`/boot/x.wad` gives `x.wad`).
    pub fn file_name(&self) -> &str {
        self.path.rsplit(['/', '\\']).next().unwrap_or("")
    }
}

/// The loader's answers as they are at entry: borrowed from loader memory,
/// valid until bootloader-reclaimable memory is reused. Memory management
/// reads it to start; [`BootInfo`] is the owned copy for everything after.
#[derive(Clone, Copy)]
pub struct Handoff {
    pub hhdm_offset: Option<u64>,
    memory_map: Option<&'static [&'static limine::memory_map::Entry]>,
    pub framebuffer: Option<FramebufferInfo>,
    /// (physical, virtual) base of the kernel image.
    pub kernel_address: Option<(u64, u64)>,
    /// The other CPUs, parked in loader memory until sent on.
    pub mp: Option<MpInfo>,
}

/// The loader's MP answer (limine-protocol.md §5): every CPU it started,
/// the bootstrap CPU included.
#[derive(Clone, Copy)]
pub struct MpInfo {
    /// Whether the loader put the CPUs in x2APIC mode.
    pub x2apic: bool,
    /// The bootstrap CPU's APIC id.
    pub bsp_lapic_id: u32,
    /// One entry a CPU; valid until bootloader memory is reclaimed.
    pub cpus: &'static [&'static limine::mp::Cpu],
}

impl Handoff {
    /// Whether the loader accepted our base revision (limine-protocol.md §2).
    pub fn base_revision_supported() -> bool {
        BASE_REVISION.is_supported()
    }

    /// Reads the responses memory management needs. Each one is optional.
    pub fn read() -> Self {
        let framebuffer = FRAMEBUFFER
            .get_response()
            .and_then(|r| r.framebuffers().next())
            .map(|fb| FramebufferInfo {
                address: fb.addr() as u64,
                width: fb.width(),
                height: fb.height(),
                pitch: fb.pitch(),
                bpp: fb.bpp(),
                red: (fb.red_mask_size(), fb.red_mask_shift()),
                green: (fb.green_mask_size(), fb.green_mask_shift()),
                blue: (fb.blue_mask_size(), fb.blue_mask_shift()),
            });
        Self {
            hhdm_offset: HHDM.get_response().map(|r| r.offset()),
            memory_map: MEMORY_MAP.get_response().map(|r| r.entries()),
            framebuffer,
            kernel_address: EXECUTABLE_ADDRESS
                .get_response()
                .map(|r| (r.physical_base(), r.virtual_base())),
            mp: MP.get_response().map(|r| MpInfo {
                x2apic: r.flags().contains(limine::mp::ResponseFlags::X2APIC),
                bsp_lapic_id: r.bsp_lapic_id(),
                cpus: r.cpus(),
            }),
        }
    }

    /// The memory map, in the loader's order (empty if none was given).
    pub fn memory_map(&self) -> impl Iterator<Item = Region> + Clone + '_ {
        self.memory_map
            .unwrap_or(&[])
            .iter()
            .map(|e| Region::from_limine(e.base, e.length, limine_type(e.entry_type)))
    }
}

/// Everything the kernel uses from the loader, owned by the kernel.
#[derive(Clone)]
pub struct BootInfo {
    /// Loader name and version (bootloader info response).
    pub loader: Option<(String, String)>,
    /// Firmware type number (2 = UEFI 64-bit).
    pub firmware_type: Option<u64>,
    pub hhdm_offset: Option<u64>,
    /// The memory map as the loader gave it.
    pub memory_map: Vec<Region>,
    pub framebuffer: Option<FramebufferInfo>,
    /// RSDP address as the loader reported it (HHDM-virtual at revision 2).
    pub rsdp: Option<u64>,
    pub kernel_file: Option<BootFile>,
    /// (physical, virtual) base of the kernel image.
    pub kernel_address: Option<(u64, u64)>,
    /// Boot modules, in the loader's order.
    pub modules: Vec<BootFile>,
    /// UNIX seconds at boot.
    pub boot_time: Option<u64>,
    /// Paging mode the loader enabled (0 = 4-level).
    pub paging_mode: Option<u64>,
    /// Whether the stack-size request was answered.
    pub stack_size_answered: bool,
}

static INFO: spin::Once<BootInfo> = spin::Once::new();

/// The published boot information (None before [`BootInfo::publish`]).
pub fn info() -> Option<&'static BootInfo> {
    INFO.get()
}

fn owned_str(s: &core::ffi::CStr) -> String {
    String::from_utf8_lossy(s.to_bytes()).into_owned()
}

fn boot_file(f: &limine::file::File, copy: bool) -> BootFile {
    let data = crate::mm::hhdm::loader_file(f.addr() as u64, f.size());
    let hhdm = crate::mm::hhdm::offset();
    BootFile {
        path: owned_str(f.path()),
        cmdline: owned_str(f.string()),
        data: if copy {
            Cow::Owned(data.to_vec())
        } else {
            Cow::Borrowed(data)
        },
        phys: (f.addr() as u64).wrapping_sub(hhdm),
    }
}

impl BootInfo {
    /// The revision a newer loader says it used (Limine 8.2 does not say).
    pub fn loaded_revision() -> Option<u64> {
        BASE_REVISION.loaded_revision()
    }

    /// Copies every response out of loader memory (needs the heap). The
    /// kernel file is copied; module contents stay in place.
    pub fn collect(handoff: &Handoff) -> Self {
        Self {
            loader: BOOTLOADER_INFO
                .get_response()
                .map(|r| (String::from(r.name()), String::from(r.version()))),
            firmware_type: FIRMWARE_TYPE
                .get_response()
                .map(|r| firmware_number(r.firmware_type())),
            hhdm_offset: handoff.hhdm_offset,
            memory_map: handoff.memory_map().collect(),
            framebuffer: handoff.framebuffer,
            rsdp: RSDP.get_response().map(|r| r.address() as u64),
            kernel_file: EXECUTABLE_FILE
                .get_response()
                .map(|r| boot_file(r.file(), true)),
            kernel_address: handoff.kernel_address,
            modules: MODULES
                .get_response()
                .map(|r| r.modules().iter().map(|f| boot_file(f, false)).collect())
                .unwrap_or_default(),
            boot_time: DATE_AT_BOOT.get_response().map(|r| r.timestamp().as_secs()),
            paging_mode: PAGING_MODE.get_response().map(|r| paging_number(r.mode())),
            stack_size_answered: STACK_SIZE.get_response().is_some(),
        }
    }

    /// The RSDP's physical address: base revision 2 reports an HHDM
    /// address (Limine protocol, RSDP feature), later revisions a
    /// physical one; either is accepted.
    pub fn rsdp(&self) -> Option<u64> {
        let rsdp = self.rsdp?;
        match self.hhdm_offset {
            Some(offset) if rsdp >= offset => Some(rsdp - offset),
            _ => Some(rsdp),
        }
    }

    /// Publishes the kernel's copy of the boot information for the rest of
    /// its life (programs are started from its modules).
    pub fn publish(self) -> &'static Self {
        INFO.call_once(|| self)
    }

    /// The kernel's part of the command line: the words before a `--`
    /// ("" if there is no command line).
    pub fn cmdline(&self) -> &str {
        handoff::cmdline::split_init_args(self.full_cmdline()).0
    }

    /// init's command line: everything after a `--` word (as Linux does),
    /// "" if there is none.
    pub fn init_args(&self) -> &str {
        handoff::cmdline::split_init_args(self.full_cmdline()).1
    }

    /// The whole command line the loader gave.
    pub fn full_cmdline(&self) -> &str {
        self.kernel_file.as_ref().map_or("", |f| f.cmdline.as_str())
    }

    /// The module whose string (config `module_cmdline`) is `name`.
    pub fn module(&self, name: &str) -> Option<&BootFile> {
        self.modules.iter().find(|m| m.cmdline == name)
    }
}

fn firmware_number(t: limine::firmware_type::FirmwareType) -> u64 {
    use limine::firmware_type::FirmwareType;
    match t {
        FirmwareType::X86_BIOS => 0,
        FirmwareType::UEFI_32 => 1,
        FirmwareType::UEFI_64 => 2,
        _ => 3,
    }
}

fn paging_number(m: limine::paging::Mode) -> u64 {
    if m == limine::paging::Mode::FOUR_LEVEL {
        0
    } else {
        1
    }
}

/// The raw Limine type number of an entry (the crate keeps it private).
fn limine_type(t: EntryType) -> u64 {
    const KNOWN: [EntryType; 8] = [
        EntryType::USABLE,
        EntryType::RESERVED,
        EntryType::ACPI_RECLAIMABLE,
        EntryType::ACPI_NVS,
        EntryType::BAD_MEMORY,
        EntryType::BOOTLOADER_RECLAIMABLE,
        EntryType::EXECUTABLE_AND_MODULES,
        EntryType::FRAMEBUFFER,
    ];
    KNOWN
        .iter()
        .position(|k| *k == t)
        .map_or(u64::MAX, |i| i as u64)
}

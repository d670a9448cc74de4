//! Builds every response and links it into its request (§5, §10 step 10).

use crate::arena::{hhdm, Arena};
use crate::console::say;
use crate::error::LoaderError;
use crate::files::LoadedFile;
use crate::firmware::Gop;
use handoff::elf::LoadPlan;
use handoff::modules::ModuleToLoad;
use handoff::requests::{self, Feature, FoundRequest, ScanResult};
use handoff::responses::{
    revision, ArrayResponse, BootloaderInfoResponse, EmptyResponse, ExecutableAddressResponse,
    File, FirmwareTypeResponse, SmbiosResponse, ValueResponse, FIRMWARE_UEFI64,
};
use handoff::HHDM_OFFSET;

/// Name and version we report (§5 bootloader info).
const NAME: &str = "Ferrite loader";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything gathered before the responses are built.
pub struct Facts<'a> {
    /// The raw kernel file.
    pub kernel: LoadedFile,
    /// Its volume path.
    pub kernel_path: &'a str,
    /// Kernel command line.
    pub cmdline: &'a str,
    /// `media_type` for files from the boot volume.
    pub media_type: u32,
    /// Partition index of the boot volume.
    pub partition: u32,
    /// Loaded modules in response order.
    pub modules: &'a [(ModuleToLoad, LoadedFile)],
    /// The kernel's load plan.
    pub plan: &'a LoadPlan,
    /// Physical base of the loaded image.
    pub image_phys: u64,
    /// GOP framebuffer, if any.
    pub gop: Option<Gop>,
    /// RSDP physical address, if any.
    pub rsdp: Option<u64>,
    /// SMBIOS 32/64 entry points (physical, 0 if absent).
    pub smbios: (u64, u64),
    /// EFI system table (physical).
    pub system_table: u64,
    /// UNIX seconds at boot.
    pub boot_time: i64,
    /// The prepared MP start, if the kernel sent the MP request.
    pub mp: Option<&'a crate::mp::Prepared>,
}

/// Responses completed after ExitBootServices, and the entry point.
pub struct Pending {
    /// Physical address of the memory map response, if requested.
    pub memmap: Option<u64>,
    /// Physical address of the EFI memory map response, if requested.
    pub efi_memmap: Option<u64>,
    /// Where the MP response lives, completed once the APs are up.
    pub mp: Option<crate::mp::Slots>,
    /// Where the kernel starts (ELF entry or entry point request).
    pub entry: u64,
}

fn file(
    f: &Facts<'_>,
    arena: &mut Arena,
    loaded: LoadedFile,
    path: &str,
    cmdline: &str,
) -> Result<u64, LoaderError> {
    let file = File {
        address: hhdm(loaded.phys),
        size: loaded.size,
        path: arena.put_str(path)?,
        cmdline: arena.put_str(cmdline)?,
        media_type: f.media_type,
        partition_index: f.partition,
        ..File::default()
    };
    Ok(hhdm(arena.put(file)?))
}

/// Serves every request we know; returns the work left for after
/// ExitBootServices.
pub fn serve(
    f: &Facts<'_>,
    image: &mut [u8],
    scan: &ScanResult,
    arena: &mut Arena,
) -> Result<Pending, LoaderError> {
    let mut pending = Pending {
        memmap: None,
        efi_memmap: None,
        mp: None,
        entry: f.plan.entry,
    };
    for req in &scan.requests {
        let Some(feature) = req.feature else {
            say!(
                "request {:#x}:{:#x} unknown, left unanswered",
                req.id[0],
                req.id[1]
            );
            continue;
        };
        match answer(f, image, req, feature, arena, &mut pending)? {
            Some(phys) => {
                requests::set_response(image, req, hhdm(phys))?;
                say!("request {} (rev {}) answered", feature.name(), req.revision);
            }
            None => say!(
                "request {} (rev {}) left unanswered",
                feature.name(),
                req.revision
            ),
        }
    }
    Ok(pending)
}

/// Builds one response; `None` leaves the request unanswered.
fn answer(
    f: &Facts<'_>,
    image: &[u8],
    req: &FoundRequest,
    feature: Feature,
    arena: &mut Arena,
    pending: &mut Pending,
) -> Result<Option<u64>, LoaderError> {
    let value = |arena: &mut Arena, value: u64| arena.put(ValueResponse { revision: 0, value });
    let phys = match feature {
        Feature::BootloaderInfo => {
            let r = BootloaderInfoResponse {
                revision: 0,
                name: arena.put_str(NAME)?,
                version: arena.put_str(VERSION)?,
            };
            arena.put(r)?
        }
        Feature::FirmwareType => arena.put(FirmwareTypeResponse {
            revision: 0,
            firmware_type: FIRMWARE_UEFI64,
        })?,
        Feature::StackSize | Feature::EntryPoint => {
            if feature == Feature::EntryPoint {
                pending.entry = requests::field(image, req, 48)?;
                say!("entry point request: entry {:#x}", pending.entry);
            }
            arena.put(EmptyResponse { revision: 0 })?
        }
        Feature::Hhdm => value(arena, HHDM_OFFSET)?,
        // Only 4-level paging; min_mode > 0 was refused earlier.
        Feature::PagingMode => value(arena, 0)?,
        Feature::DateAtBoot => value(arena, f.boot_time as u64)?,
        Feature::EfiSystemTable => value(arena, hhdm(f.system_table))?,
        Feature::Rsdp => match f.rsdp {
            Some(rsdp) => value(arena, hhdm(rsdp))?,
            None => return Ok(None),
        },
        Feature::Smbios => match f.smbios {
            (0, 0) => return Ok(None),
            (a, b) => arena.put(SmbiosResponse {
                revision: 0,
                entry_32: if a == 0 { 0 } else { hhdm(a) },
                entry_64: if b == 0 { 0 } else { hhdm(b) },
            })?,
        },
        Feature::ExecutableAddress => arena.put(ExecutableAddressResponse {
            revision: 0,
            physical_base: f.image_phys + (f.plan.min_vaddr - f.plan.base_vaddr),
            virtual_base: f.plan.min_vaddr,
        })?,
        Feature::ExecutableFile => {
            let file = file(f, arena, f.kernel, f.kernel_path, f.cmdline)?;
            value(arena, file)?
        }
        Feature::Modules => {
            if f.modules.is_empty() {
                return Ok(None);
            }
            let mut ptrs = alloc::vec::Vec::with_capacity(f.modules.len());
            for (m, loaded) in f.modules {
                ptrs.push(file(f, arena, *loaded, &m.path, &m.cmdline)?);
            }
            let items = arena.put_pointers(&ptrs)?;
            arena.put(ArrayResponse {
                revision: revision::MODULES,
                count: ptrs.len() as u64,
                items,
            })?
        }
        Feature::Framebuffer => match f.gop {
            Some(gop) => framebuffer(arena, &gop)?,
            None => return Ok(None),
        },
        Feature::MemoryMap => {
            let phys = arena.put(ArrayResponse::default())?;
            pending.memmap = Some(phys);
            phys
        }
        Feature::EfiMemoryMap => {
            let phys = arena.put(handoff::responses::EfiMemoryMapResponse::default())?;
            pending.efi_memmap = Some(phys);
            phys
        }
        Feature::Mp => match f.mp {
            Some(mp) => {
                let (phys, slots) = mp.reserve(arena)?;
                pending.mp = Some(slots);
                phys
            }
            None => return Ok(None),
        },
        Feature::ExecutableCmdline | Feature::DeviceTree => return Ok(None),
    };
    Ok(Some(phys))
}

/// Framebuffer response at revision 1 with the current mode as its only
/// video mode (§10 step 7).
fn framebuffer(arena: &mut Arena, gop: &Gop) -> Result<u64, LoaderError> {
    let mode = gop.layout.video_mode(gop.width, gop.height, gop.pitch);
    let mode_ptr = hhdm(arena.put(mode)?);
    let mut fb = gop
        .layout
        .framebuffer(hhdm(gop.base), gop.width, gop.height, gop.pitch);
    fb.mode_count = 1;
    fb.modes = arena.put_pointers(&[mode_ptr])?;
    let fb_ptr = hhdm(arena.put(fb)?);
    let items = arena.put_pointers(&[fb_ptr])?;
    arena.put(ArrayResponse {
        revision: revision::FRAMEBUFFER,
        count: 1,
        items,
    })
}

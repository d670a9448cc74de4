//! Ferrite UEFI loader: boots a kernel via the Limine protocol (base rev 2).
//!
//! Implements the subset of the Limine boot protocol described in
//! `limine-protocol.md` (§10 is the step list followed here). All pure
//! logic lives in the host-tested `handoff` crate; this crate talks to the
//! firmware and the hardware.
#![no_std]
#![no_main]

extern crate alloc;

mod address_space;
mod ap_trampoline;
mod arena;
mod console;
mod cpu;
mod error;
mod files;
mod firmware;
mod interrupts;
mod ipi;
mod memory;
mod mp;
#[cfg(feature = "mp-check")]
mod mp_check;
mod respond;
mod serial;
mod trampoline;

use alloc::vec::Vec;
use console::say;
use core::fmt::Write;
use error::LoaderError;
use files::{BootVolume, LoadedFile};
use handoff::config::{self, CONFIG_PATHS};
use handoff::elf;
use handoff::memmap::{self, MemType, UefiRegion};
use handoff::modules::{self, ModuleToLoad};
use handoff::requests::{self, Feature, Handshake};
use handoff::responses::{ArrayResponse, EfiMemoryMapResponse, MemmapEntry, GDT, GDT_LIMIT};
use handoff::{HHDM_OFFSET, PAGE_SIZE};
use memory::{phys_bytes, Tracker};
use uefi::boot::{self, MemoryType};
use uefi::mem::memory_map::MemoryMap;
use uefi::Status;

/// Smallest entry stack (§8).
const MIN_STACK: u64 = 64 * 1024;
/// Spare memory map entries on top of the estimate (§10 step 8).
const MEMMAP_SLACK: usize = 128;

#[uefi::entry]
fn main() -> Status {
    match run() {
        Ok(never) => match never {},
        Err(e) => console::fatal(&e),
    }
}

/// Reads a config from the first §9 path that exists.
fn read_config(volume: &mut BootVolume) -> Result<Vec<u8>, LoaderError> {
    for path in CONFIG_PATHS {
        match volume.read_optional(path) {
            Ok(Some(bytes)) => {
                say!("config found at {path} ({} bytes)", bytes.len());
                return Ok(bytes);
            }
            Ok(None) => {}
            Err(status) => {
                return Err(LoaderError::File {
                    role: "config",
                    path: path.into(),
                    status,
                })
            }
        }
    }
    Err(LoaderError::NoConfig)
}

fn run() -> Result<core::convert::Infallible, LoaderError> {
    say!(
        "Ferrite loader {} (Limine protocol, base revision 2)",
        env!("CARGO_PKG_VERSION")
    );
    // The firmware's 5-minute watchdog would reset a slow boot.
    let _ = boot::set_watchdog_timer(0, 0x10000, None);
    let mut volume = BootVolume::open()?;
    let config_bytes = read_config(&mut volume)?;
    let entry = config::parse(&config_bytes)?;
    say!(
        "booting entry \"{}\": kernel {}",
        entry.name,
        entry.kernel_path
    );
    if !entry.cmdline.is_empty() {
        say!("kernel cmdline: {}", entry.cmdline);
    }
    let mut tracker = Tracker::default();

    // §10 step 3: the kernel file, kept for the executable file response.
    let kernel = volume
        .load(
            entry.kernel_path,
            MemType::BootloaderReclaimable,
            &mut tracker,
        )
        .map_err(|status| LoaderError::File {
            role: "kernel",
            path: entry.kernel_path.into(),
            status,
        })?;
    say!("kernel file: {} bytes at {:#x}", kernel.size, kernel.phys);
    let kernel_len = usize::try_from(kernel.size).map_err(|_| LoaderError::TooLarge("kernel"))?;
    // SAFETY: `load` filled this tracked allocation; nothing else aliases it.
    let kernel_file = unsafe { phys_bytes(kernel.phys, kernel_len) };

    // §10 step 4: validate and load the ELF.
    let plan = elf::plan(kernel_file)?;
    for seg in plan.segments() {
        let f = seg.flags;
        say!(
            "segment {}: {:#x}..{:#x} file {:#x} {}{}{}",
            seg.index,
            seg.vaddr,
            seg.end(),
            seg.filesz,
            if f & elf::PF_R != 0 { 'r' } else { '-' },
            if f & elf::PF_W != 0 { 'w' } else { '-' },
            if f & elf::PF_X != 0 { 'x' } else { '-' },
        );
    }
    let image_phys =
        tracker.alloc_aligned(plan.pages(), plan.align, MemType::KernelAndModules, false)?;
    let image_len =
        usize::try_from(plan.image_size).map_err(|_| LoaderError::TooLarge("kernel image"))?;
    // SAFETY: fresh tracked allocation of `image_len` bytes.
    let image = unsafe { phys_bytes(image_phys, image_len) };
    plan.copy_segments(kernel_file, image)?;
    say!(
        "kernel image: {:#x} bytes at phys {:#x}, entry {:#x}",
        plan.image_size,
        image_phys,
        plan.entry
    );

    // §10 step 5: requests and the base revision handshake.
    let scan_len =
        usize::try_from(plan.scan_size).map_err(|_| LoaderError::TooLarge("kernel image"))?;
    let scan = requests::scan(&image[..scan_len])?;
    say!(
        "requests: {} found (start marker {}, end marker {})",
        scan.requests.len(),
        if scan.saw_start_marker {
            "seen"
        } else {
            "missing"
        },
        if scan.saw_end_marker {
            "seen"
        } else {
            "missing"
        },
    );
    match requests::handshake(image, scan.base_revision)? {
        Handshake::Supported => say!("base revision 2 requested: supported"),
        Handshake::Newer(n) => {
            say!("base revision {n} requested: booting as revision 2 (tag left unsupported)")
        }
    }
    if let Some(req) = scan.get(Feature::PagingMode).filter(|r| r.revision >= 1) {
        let min_mode = requests::field(image, &req, 64)?;
        if min_mode > 0 {
            return Err(LoaderError::PagingMode { min_mode });
        }
    }
    say!("paging mode: 4-level");

    // §10 step 6: modules.
    let wanted = modules::collect(image, &plan, scan.get(Feature::Modules).as_ref(), &entry)?;
    let mut loaded: Vec<(ModuleToLoad, LoadedFile)> = Vec::new();
    for m in wanted {
        match volume.load(&m.path, MemType::KernelAndModules, &mut tracker) {
            Ok(file) => {
                say!(
                    "module {}: {} bytes at {:#x} \"{}\"",
                    m.path,
                    file.size,
                    file.phys,
                    m.cmdline
                );
                loaded.push((m, file));
            }
            Err(Status::NOT_FOUND) if !m.required => {
                say!("optional module {} not found, skipped", m.path);
            }
            Err(status) => {
                return Err(LoaderError::File {
                    role: "module",
                    path: m.path,
                    status,
                })
            }
        }
    }

    // §10 step 7: firmware data.
    let gop = firmware::framebuffer();
    if let Some(g) = &gop {
        say!(
            "framebuffer: {}x{} bpp {} pitch {} at {:#x}",
            g.width,
            g.height,
            g.layout.bpp,
            g.pitch,
            g.base
        );
    }
    let rsdp = firmware::rsdp();
    let madt = rsdp
        .as_ref()
        .and_then(|(_, r)| firmware::acpi_table(r, b"APIC"));
    let io_apics = match &rsdp {
        Some((addr, r)) => {
            say!("RSDP at {addr:#x} (ACPI revision {})", r.revision);
            firmware::io_apics(madt)
        }
        None => {
            say!("no RSDP: RSDP request left unanswered");
            Vec::new()
        }
    };
    for a in &io_apics {
        say!(
            "IO APIC {} at {:#x} (GSI base {})",
            a.id,
            a.address,
            a.gsi_base
        );
    }

    // §10 step 8: everything that must exist after ExitBootServices.
    let stack_req = scan
        .get(Feature::StackSize)
        .map(|r| requests::field(image, &r, 48))
        .transpose()?
        .unwrap_or(0);
    let stack_size = handoff::align_up(stack_req.max(MIN_STACK), PAGE_SIZE)
        .ok_or(LoaderError::TooLarge("stack"))?;
    let stack = tracker.alloc(
        stack_size / PAGE_SIZE,
        MemType::BootloaderReclaimable,
        false,
    )?;
    say!("stack: {:#x} bytes", stack_size);
    let gdt_page = tracker.alloc(1, MemType::BootloaderReclaimable, false)?;
    write_gdt(gdt_page);
    // The MP request: CPUs, AP stacks, the real-mode page (§5, §8).
    let mut mp = match scan.get(Feature::Mp) {
        Some(req) => {
            let flags = requests::field(image, &req, 48)?;
            let dmar = rsdp
                .as_ref()
                .and_then(|(_, r)| firmware::acpi_table(r, b"DMAR"));
            mp::prepare(flags, madt, dmar, stack_size, &mut tracker)?
        }
        None => None,
    };
    #[cfg(feature = "mp-check")]
    let check_records =
        mp_check::Records::new(&mut tracker, mp.as_ref().map_or(0, mp::Prepared::cpu_count))?;

    let strings: usize = loaded
        .iter()
        .map(|(m, _)| m.path.len() + m.cmdline.len() + 64)
        .sum();
    let arena_bytes = 16 * 1024
        + (loaded.len() as u64 + 1) * 256
        + strings as u64
        + mp.as_ref().map_or(0, mp::Prepared::arena_bytes);
    let mut arena = arena::Arena::new(&mut tracker, arena_bytes)?;
    let facts = respond::Facts {
        kernel,
        kernel_path: entry.kernel_path,
        cmdline: entry.cmdline,
        media_type: volume.media_type,
        partition: volume.partition,
        modules: &loaded,
        plan: &plan,
        image_phys,
        gop,
        rsdp: rsdp.map(|(addr, _)| addr),
        smbios: firmware::smbios(),
        system_table: firmware::system_table(),
        boot_time: firmware::unix_time(),
        mp: mp.as_ref(),
    };
    let pending = respond::serve(&facts, image, &scan, &mut arena)?;

    // §10 step 9: page tables.
    let snapshot =
        boot::memory_map(MemoryType::LOADER_DATA).map_err(LoaderError::firmware("GetMemoryMap"))?;
    let high_regions: Vec<(u64, u64)> = snapshot
        .entries()
        .filter(|d| {
            memmap::in_hhdm(d.ty.0) && d.phys_start + d.page_count * PAGE_SIZE > 0x1_0000_0000
        })
        .map(|d| (d.phys_start.max(0x1_0000_0000), d.page_count * PAGE_SIZE))
        .collect();
    let firmware_entries = snapshot.len();
    drop(snapshot);
    let nx = cpu::has_nx();
    let layout = address_space::Layout {
        plan: &plan,
        image_phys,
        gop,
        high_regions: &high_regions,
        trampoline: trampoline::code_range(),
        ap_page: mp.as_ref().and_then(mp::Prepared::page),
        nx,
    };
    let pml4 = address_space::build(&mut tracker, &layout)?;
    say!(
        "page tables built (PML4 at {pml4:#x}, NX {})",
        if nx { "on" } else { "off" }
    );
    if let Some(mp) = mp.as_mut() {
        mp.set_tables(pml4, gdt_page + GDTR_OFFSET, nx);
    }

    // The memory map buffer: pointer array then entries, allocated last.
    let capacity = firmware_entries + 3 * (tracker.list().len() + 2) + MEMMAP_SLACK;
    let memmap_bytes = capacity as u64 * (8 + core::mem::size_of::<MemmapEntry>() as u64);
    let memmap_buf = tracker.alloc(
        memmap_bytes.div_ceil(PAGE_SIZE),
        MemType::BootloaderReclaimable,
        false,
    )?;
    let tracked: Vec<_> = tracker.list().to_vec();
    say!(
        "memory map: {} firmware entries, {} tracked allocations, room for {}",
        firmware_entries,
        tracked.len(),
        capacity
    );
    let entry_point = pending.entry;
    let args = trampoline::HandoffArgs {
        entry: entry_point,
        stack_top: HHDM_OFFSET + stack + stack_size,
        pml4,
        hhdm: HHDM_OFFSET,
        gdtr: gdt_page + GDTR_OFFSET,
    };
    say!("exiting boot services; kernel entry {entry_point:#x}");

    // §10 step 11: no firmware calls, no allocation from here on.
    drop(volume);
    // SAFETY: no protocol or pool allocation is used after this point:
    // the volume and GOP scopes are closed, our data lives in pages we
    // allocated, and the remaining Vecs are only read, never freed.
    let final_map = unsafe { boot::exit_boot_services(None) };
    // SAFETY: masking maskable interrupts is always sound here.
    unsafe { core::arch::asm!("cli", options(nomem, nostack)) };
    interrupts::mask_all(&io_apics);

    // §10 step 13: the Limine memory map.
    let firmware_regions = final_map.entries().map(|d| UefiRegion {
        ty: d.ty.0,
        base: d.phys_start,
        pages: d.page_count,
    });
    let fb_range = gop.map(|g| (g.base, g.len()));
    let entries_phys = memmap_buf + 8 * capacity as u64;
    // SAFETY: the tracked memory map buffer holds `capacity` pointers
    // followed by `capacity` entries; 8-aligned (page base), ours alone.
    let entries =
        unsafe { core::slice::from_raw_parts_mut(entries_phys as *mut MemmapEntry, capacity) };
    let count = match memmap::build(firmware_regions, &tracked, fb_range, entries) {
        Ok(n) => n,
        Err(e) => halt_with(format_args!("loader: error: {e}")),
    };
    #[cfg(feature = "mp-check")]
    if let Some(mp) = &mp {
        mp_check::memmap_types(&entries[..count], mp.places());
    }
    if let Some(resp) = pending.memmap {
        for i in 0..count {
            let ptr = HHDM_OFFSET + entries_phys + 24 * i as u64;
            // SAFETY: slot `i` < capacity of the pointer array.
            unsafe { (memmap_buf as *mut u64).add(i).write(ptr) };
        }
        let r = ArrayResponse {
            revision: 0,
            count: count as u64,
            items: HHDM_OFFSET + memmap_buf,
        };
        // SAFETY: `resp` is the arena slot reserved for this response.
        unsafe { (resp as *mut ArrayResponse).write(r) };
    }
    if let Some(resp) = pending.efi_memmap {
        let meta = final_map.meta();
        let r = EfiMemoryMapResponse {
            revision: 0,
            memmap: HHDM_OFFSET + final_map.buffer().as_ptr() as u64,
            memmap_size: meta.map_size as u64,
            desc_size: meta.desc_size as u64,
            desc_version: u64::from(meta.desc_version),
        };
        // SAFETY: `resp` is the arena slot reserved for this response.
        unsafe { (resp as *mut EfiMemoryMapResponse).write(r) };
    }
    // The UEFI map buffer stays alive (loader data) for the kernel.
    core::mem::forget(final_map);

    // The APs, last: every table they use is final now (§8 "MP").
    if let (Some(mp), Some(slots)) = (mp.as_mut(), pending.mp) {
        mp.start(&slots);
        #[cfg(feature = "mp-check")]
        mp.check(&slots, &check_records, pml4, gdt_page, nx);
    }

    let _ = writeln!(
        serial::Com1,
        "loader: {count} memory map entries; jumping to kernel entry {entry_point:#x}"
    );
    // SAFETY: boot services are gone, interrupts are off and masked, and
    // `args` describes the tables built above (kernel, HHDM covering the
    // stack/GDT/PML4, identity-mapped trampoline).
    unsafe { trampoline::enter_kernel(&args) }
}

/// Offset of the GDTR image inside the GDT page.
const GDTR_OFFSET: u64 = 64;

/// Writes the §8 GDT at the start of `page` and its GDTR at +64.
fn write_gdt(page: u64) {
    // SAFETY: `page` is a fresh tracked page; we write 56 + 10 bytes.
    let bytes = unsafe { phys_bytes(page, PAGE_SIZE as usize) };
    for (i, d) in GDT.iter().enumerate() {
        bytes[8 * i..8 * i + 8].copy_from_slice(&d.to_le_bytes());
    }
    let off = GDTR_OFFSET as usize;
    bytes[off..off + 2].copy_from_slice(&GDT_LIMIT.to_le_bytes());
    bytes[off + 2..off + 10].copy_from_slice(&(HHDM_OFFSET + page).to_le_bytes());
}

/// After ExitBootServices: report on COM1 and halt forever.
fn halt_with(msg: core::fmt::Arguments<'_>) -> ! {
    let _ = writeln!(serial::Com1, "{msg}");
    loop {
        // SAFETY: interrupts are disabled; `hlt` just parks the CPU.
        unsafe { core::arch::asm!("hlt", options(nomem, nostack)) };
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    halt_with(format_args!("loader: panic (bug): {info}"))
}

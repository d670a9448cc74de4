//! The boot banner: what the loader handed over, for a person to read.
#![forbid(unsafe_code)]

use crate::boot::{BootInfo, MemoryKind};

/// Logs the banner.
pub fn print(info: &BootInfo) {
    let mut brand = [0u8; 48];
    log::info!(
        "Ferrite {} ({}) on {}",
        env!("CARGO_PKG_VERSION"),
        if cfg!(feature = "milestones") {
            "milestone kernel"
        } else {
            "kernel"
        },
        crate::arch::cpu::brand_string(&mut brand)
    );
    match &info.loader {
        Some((name, version)) => log::info!("loader: {name} {version}"),
        None => log::warn!("loader: no bootloader-info response"),
    }
    match BootInfo::loaded_revision() {
        Some(rev) => log::info!("base revision 2 accepted (loader reports revision {rev})"),
        None => log::info!("base revision 2 accepted"),
    }
    if let Some(fw) = info.firmware_type {
        let name = match fw {
            0 => "BIOS",
            1 => "UEFI (32-bit)",
            2 => "UEFI (64-bit)",
            _ => "other",
        };
        log::info!("firmware: {name}");
    }
    if let Some(kernel) = &info.kernel_file {
        log::info!(
            "kernel file: {} ({} bytes), cmdline \"{}\"",
            kernel.path,
            kernel.data.len(),
            kernel.cmdline
        );
    }
    if let Some((phys, virt)) = info.kernel_address {
        log::info!("kernel image: virtual {virt:#x} at physical {phys:#x}");
    }
    let k = crate::mm::layout::kernel();
    log::info!(
        "kernel layout: {} KiB; text {:#x}, rodata {:#x}, data {:#x}, boot stack {:#x}..{:#x} \
         (guard page {:#x})",
        (k.image.end - k.image.start) >> 10,
        k.text.start,
        k.rodata.start,
        k.data.start,
        k.boot_stack.start,
        k.boot_stack.end,
        k.boot_stack_guard.start
    );
    match info.paging_mode {
        Some(0) => log::info!("paging: 4-level"),
        Some(mode) => log::warn!("paging: mode {mode} (expected 4-level)"),
        None => log::info!("paging: no paging-mode response (4-level assumed)"),
    }
    if !info.stack_size_answered {
        log::warn!("loader did not answer the stack-size request");
    }
    match info.hhdm_offset {
        Some(offset) => log::info!("HHDM offset {offset:#x}"),
        None => log::error!("no HHDM response"),
    }
    memory_summary(info);
    match info.framebuffer {
        Some(fb) => log::info!(
            "framebuffer: {}x{} {} bpp, pitch {}, at {:#x}",
            fb.width,
            fb.height,
            fb.bpp,
            fb.pitch,
            fb.address
        ),
        None => log::warn!("framebuffer: none (screen console off)"),
    }
    match info.rsdp {
        Some(rsdp) => log::info!("ACPI RSDP at {rsdp:#x}"),
        None => log::warn!("no ACPI RSDP"),
    }
    for (i, module) in info.modules.iter().enumerate() {
        log::info!(
            "module {}: {} ({} bytes) \"{}\"",
            i + 1,
            module.path,
            module.data.len(),
            module.cmdline
        );
    }
    if info.modules.is_empty() {
        log::info!("modules: none");
    }
    if let Some(secs) = info.boot_time {
        log::info!("boot time: {secs} (UNIX seconds)");
    }
}

fn memory_summary(info: &BootInfo) {
    let mut bytes = [0u64; MemoryKind::ALL.len()];
    for region in &info.memory_map {
        bytes[region.kind.index()] += region.length;
    }
    log::info!(
        "memory map: {} entries; usable {} MiB, bootloader-reclaimable {} MiB, \
         kernel+modules {} KiB, ACPI {} KiB, reserved {} MiB",
        info.memory_map.len(),
        bytes[MemoryKind::Usable.index()] >> 20,
        bytes[MemoryKind::BootloaderReclaimable.index()] >> 20,
        bytes[MemoryKind::ExecutableAndModules.index()] >> 10,
        (bytes[MemoryKind::AcpiReclaimable.index()] + bytes[MemoryKind::AcpiNvs.index()]) >> 10,
        bytes[MemoryKind::Reserved.index()] >> 20,
    );
    for region in &info.memory_map {
        log::debug!(
            "  {:#014x}..{:#014x} {}",
            region.base,
            region.base + region.length,
            region.kind.name()
        );
    }
}

/// Logs what memory management set up.
pub fn memory(report: &crate::mm::MmReport, reclaimed: u64) {
    let s = &report.space;
    log::info!(
        "mm: frame bitmap {} KiB at {:#x}; kernel PML4 at {:#x}",
        report.bitmap.0 >> 10,
        report.bitmap.1,
        s.pml4
    );
    log::info!(
        "mm: HHDM covers {} MiB with {} x 1 GiB, {} x 2 MiB, {} x 4 KiB pages; kernel image {} pages \
         (W^X){}; the image's HHDM alias read-only",
        s.hhdm_bytes >> 20,
        s.hhdm_pages[2],
        s.hhdm_pages[1],
        s.hhdm_pages[0],
        s.kernel_pages,
        if s.framebuffer_wc { "; framebuffer write-combining" } else { "" },
    );
    if let Some(f) = crate::mm::frame_alloc::stats() {
        log::info!(
            "mm: reclaimed {} KiB of loader memory; frames: {} MiB total, {} MiB free, {} KiB used",
            reclaimed >> 10,
            f.total >> 20,
            f.free >> 20,
            f.used >> 10
        );
    }
}

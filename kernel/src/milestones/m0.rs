//! M0 checks: boot hand-off, serial, CPU tables, fault handling.
#![forbid(unsafe_code)]

use super::{detail, ensure, Check, Context, Outcome};
use crate::arch::{cpu, exceptions, probe, tables, tsc};
use crate::boot::{BootInfo, Handoff, MemoryKind};
use crate::mm::{hhdm, layout};

/// The string the host runner gives its test module in limine.conf, and the
/// text the module starts with.
const TEST_MODULE_STRING: &str = "m0-test-module";
const TEST_MODULE_TEXT: &[u8] = b"Ferrite M0 test module";

/// M0, in order.
pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M0",
        name: "serial",
        run: serial,
    },
    Check {
        milestone: "M0",
        name: "base_revision",
        run: base_revision,
    },
    Check {
        milestone: "M0",
        name: "gdt_tss",
        run: gdt_tss,
    },
    Check {
        milestone: "M0",
        name: "idt",
        run: idt,
    },
    Check {
        milestone: "M0",
        name: "ist_stacks",
        run: ist_stacks,
    },
    Check {
        milestone: "M0",
        name: "boot_stack",
        run: boot_stack,
    },
    Check {
        milestone: "M0",
        name: "tsc",
        run: tsc_calibrated,
    },
    Check {
        milestone: "M0",
        name: "hhdm",
        run: hhdm_sane,
    },
    Check {
        milestone: "M0",
        name: "memory_map",
        run: memory_map,
    },
    Check {
        milestone: "M0",
        name: "framebuffer",
        run: framebuffer,
    },
    Check {
        milestone: "M0",
        name: "kernel_file",
        run: kernel_file,
    },
    Check {
        milestone: "M0",
        name: "modules",
        run: modules,
    },
    Check {
        milestone: "M0",
        name: "int3",
        run: int3,
    },
    Check {
        milestone: "M0",
        name: "page_fault_read",
        run: page_fault_read,
    },
    Check {
        milestone: "M0",
        name: "page_fault_write",
        run: page_fault_write,
    },
    Check {
        milestone: "M0",
        name: "gp_fault",
        run: gp_fault,
    },
];

fn serial(ctx: &Context<'_>) -> Outcome {
    ensure!(ctx.serial.present, "COM1 did not answer");
    ensure!(ctx.serial.loopback_ok, "COM1 failed its loopback test");
    Ok(detail!("COM1 present, loopback test passed"))
}

fn base_revision(_: &Context<'_>) -> Outcome {
    ensure!(
        Handoff::base_revision_supported(),
        "loader did not accept revision 2"
    );
    Ok(detail!(
        "revision 2 accepted, loader reports {:?}",
        BootInfo::loaded_revision()
    ))
}

fn gdt_tss(_: &Context<'_>) -> Outcome {
    let t = tables::snapshot();
    ensure!(
        t.gdtr == t.gdt_expected,
        "GDTR {:x?} is not our GDT {:x?}",
        t.gdtr,
        t.gdt_expected
    );
    ensure!(
        t.cs == t.expected_cs,
        "CS {:#x}, expected {:#x}",
        t.cs,
        t.expected_cs
    );
    ensure!(
        t.tr == t.expected_tr,
        "TR {:#x}, expected {:#x}",
        t.tr,
        t.expected_tr
    );
    Ok(detail!(
        "GDTR base {:#x} limit {:#x}, CS {:#x}, TR {:#x}",
        t.gdtr.0,
        t.gdtr.1,
        t.cs,
        t.tr
    ))
}

fn idt(_: &Context<'_>) -> Outcome {
    let t = tables::snapshot();
    ensure!(t.idt_expected.0 != 0, "IDT not built");
    ensure!(
        t.idtr == t.idt_expected,
        "IDTR {:x?} is not our IDT {:x?}",
        t.idtr,
        t.idt_expected
    );
    ensure!(
        t.idtr.1 == 4095,
        "IDT limit {:#x}, expected 256 gates",
        t.idtr.1
    );
    Ok(detail!(
        "IDTR base {:#x} limit {:#x}, 32 exception gates",
        t.idtr.0,
        t.idtr.1
    ))
}

fn ist_stacks(_: &Context<'_>) -> Outcome {
    let t = tables::snapshot();
    for (i, top) in t.ist.iter().enumerate() {
        ensure!(
            *top != 0 && top % 16 == 0,
            "IST{} top {:#x} unusable",
            i + 1,
            top
        );
    }
    ensure!(
        t.ist[0] != t.ist[1] && t.ist[1] != t.ist[2] && t.ist[0] != t.ist[2],
        "IST stacks overlap"
    );
    for (gate, want) in t.fatal_gates.iter().zip(tables::FATAL_GATE_IST) {
        ensure!(
            gate.1 == want,
            "gate uses IST{} instead of IST{}",
            gate.1,
            want
        );
    }
    Ok(detail!("#DF on IST1, NMI on IST2, #MC on IST3"))
}

fn boot_stack(_: &Context<'_>) -> Outcome {
    let k = layout::kernel();
    let rsp = cpu::stack_pointer();
    ensure!(
        k.boot_stack.contains(&rsp),
        "RSP {rsp:#x} outside the boot stack {:x?}",
        k.boot_stack
    );
    ensure!(
        k.boot_stack_guard.end == k.boot_stack.start,
        "guard page not right below the stack"
    );
    Ok(detail!(
        "RSP {rsp:#x} in {:#x}..{:#x}, guard page at {:#x}",
        k.boot_stack.start,
        k.boot_stack.end,
        k.boot_stack_guard.start
    ))
}

fn tsc_calibrated(_: &Context<'_>) -> Outcome {
    let hz = tsc::frequency();
    ensure!(hz > 1_000_000, "TSC frequency {hz} Hz is implausible");
    let a = tsc::nanos_since_boot();
    let b = tsc::nanos_since_boot();
    ensure!(b >= a, "clock went backwards");
    Ok(detail!("{} MHz", hz / 1_000_000))
}

fn hhdm_sane(ctx: &Context<'_>) -> Outcome {
    let Some(offset) = ctx.info.hhdm_offset else {
        return Err(detail!("no HHDM response"));
    };
    ensure!(
        offset >= 0xffff_8000_0000_0000,
        "offset {offset:#x} not in the higher half"
    );
    ensure!(offset % 4096 == 0, "offset {offset:#x} not page aligned");
    // The same kernel bytes must read back through the HHDM alias.
    let Some((phys_base, virt_base)) = ctx.info.kernel_address else {
        return Err(detail!("no executable address response"));
    };
    let text = layout::kernel().text.start;
    let alias = hhdm::phys_to_virt(phys_base + (text - virt_base));
    for i in 0..256 {
        let direct =
            probe::read_u8(text + i).map_err(|f| detail!("kernel text unreadable: {f:?}"))?;
        let via = probe::read_u8(alias + i)
            .map_err(|f| detail!("HHDM alias {alias:#x} unreadable: {f:?}"))?;
        ensure!(
            direct == via,
            "byte {i} differs: {direct:#x} vs {via:#x} at HHDM {alias:#x}"
        );
    }
    Ok(detail!(
        "offset {offset:#x}; kernel text reads back through its HHDM alias {alias:#x}"
    ))
}

fn memory_map(ctx: &Context<'_>) -> Outcome {
    let n = ctx.info.memory_map.len();
    ensure!(n > 0, "no memory map");
    let mut previous_base = 0;
    let mut usable = 0;
    let mut last_exclusive_end = 0; // end of the last usable/reclaimable entry
    for (i, r) in ctx.info.memory_map.iter().enumerate() {
        ensure!(r.length > 0, "entry {i} is empty");
        ensure!(
            i == 0 || r.base >= previous_base,
            "entry {i} at {:#x} out of order",
            r.base
        );
        previous_base = r.base;
        if matches!(
            r.kind,
            MemoryKind::Usable | MemoryKind::BootloaderReclaimable
        ) {
            ensure!(
                r.base % 4096 == 0 && r.length % 4096 == 0,
                "{} entry {i} at {:#x}+{:#x} not page aligned",
                r.kind.name(),
                r.base,
                r.length
            );
            ensure!(
                r.base >= last_exclusive_end,
                "entry {i} at {:#x} overlaps the previous usable entry",
                r.base
            );
            last_exclusive_end = r.base + r.length;
        }
        if r.kind == MemoryKind::Usable {
            ensure!(r.base >= 4096, "page 0 reported usable");
            usable += r.length;
        }
    }
    ensure!(usable >= 16 << 20, "only {} KiB usable", usable >> 10);
    Ok(detail!(
        "{n} entries, sorted; usable entries aligned and disjoint; {} MiB usable",
        usable >> 20
    ))
}

fn framebuffer(ctx: &Context<'_>) -> Outcome {
    let Some(fb) = ctx.info.framebuffer else {
        return Err(detail!("no framebuffer response"));
    };
    ensure!(
        fb.width > 0 && fb.height > 0,
        "empty mode {}x{}",
        fb.width,
        fb.height
    );
    ensure!(fb.bpp == 32, "{} bpp", fb.bpp);
    ensure!(fb.pitch >= fb.width * 4, "pitch {} < width*4", fb.pitch);
    let hhdm = ctx.info.hhdm_offset.unwrap_or(0);
    ensure!(
        fb.address >= hhdm,
        "framebuffer {:#x} not an HHDM address",
        fb.address
    );
    Ok(detail!(
        "{}x{} {} bpp pitch {} at {:#x}",
        fb.width,
        fb.height,
        fb.bpp,
        fb.pitch,
        fb.address
    ))
}

fn kernel_file(ctx: &Context<'_>) -> Outcome {
    let Some(file) = &ctx.info.kernel_file else {
        return Err(detail!("no executable file response"));
    };
    ensure!(
        file.data.starts_with(b"\x7fELF"),
        "{} does not start with the ELF magic",
        file.path
    );
    ensure!(
        file.path.starts_with('/'),
        "path '{}' is not absolute",
        file.path
    );
    Ok(detail!(
        "{} ({} bytes, ELF), cmdline \"{}\"",
        file.path,
        file.data.len(),
        file.cmdline
    ))
}

fn modules(ctx: &Context<'_>) -> Outcome {
    let count = ctx.info.modules.len();
    let Some(module) = ctx.info.module(TEST_MODULE_STRING) else {
        return Err(detail!(
            "{count} modules, none with string '{TEST_MODULE_STRING}'"
        ));
    };
    ensure!(
        module.phys % 4096 == 0,
        "module at {:#x} not page aligned",
        module.phys
    );
    ensure!(
        module.data.starts_with(TEST_MODULE_TEXT),
        "module {} has unexpected contents",
        module.path
    );
    Ok(detail!(
        "{count} modules; {} ({} bytes) has the expected contents",
        module.path,
        module.data.len()
    ))
}

fn int3(_: &Context<'_>) -> Outcome {
    let before = exceptions::breakpoint_count();
    cpu::breakpoint();
    let after = exceptions::breakpoint_count();
    ensure!(after == before + 1, "breakpoint count {before} -> {after}");
    Ok(detail!("#BP caught and resumed"))
}

fn page_fault_read(_: &Context<'_>) -> Outcome {
    let guard = layout::kernel().boot_stack_guard.start + 0x123;
    let recovered = exceptions::recovered_count();
    match probe::read_u8(guard) {
        Ok(v) => Err(detail!("read of the guard page {guard:#x} returned {v:#x}")),
        Err(f) => {
            ensure!(f.vector == 14, "vector {} instead of #PF", f.vector);
            ensure!(
                f.address == guard,
                "CR2 {:#x}, expected {guard:#x}",
                f.address
            );
            let code = exceptions::PageFaultCode::decode(f.error_code.into());
            ensure!(
                !code.present && !code.write && !code.user && !code.fetch,
                "error code {:#x}: {code}",
                f.error_code
            );
            ensure!(
                exceptions::recovered_count() == recovered + 1,
                "fault not counted as recovered"
            );
            Ok(detail!(
                "#PF CR2 {:#x} error {:#x} ({code}), recovered",
                f.address,
                f.error_code
            ))
        }
    }
}

fn page_fault_write(_: &Context<'_>) -> Outcome {
    // Rodata is mapped read-only by every loader and CR0.WP is set
    // (limine-protocol.md §7, §8), so a supervisor write must fault.
    let target = layout::kernel().rodata.start + 0x40;
    let before = probe::read_u8(target).map_err(|f| detail!("rodata unreadable: {f:?}"))?;
    match probe::rewrite_u8(target) {
        Ok(_) => Err(detail!("write to read-only {target:#x} did not fault")),
        Err(f) => {
            ensure!(f.vector == 14, "vector {} instead of #PF", f.vector);
            ensure!(
                f.address == target,
                "CR2 {:#x}, expected {target:#x}",
                f.address
            );
            let code = exceptions::PageFaultCode::decode(f.error_code.into());
            ensure!(
                code.present && code.write && !code.user && !code.fetch,
                "error code {:#x}: {code}",
                f.error_code
            );
            let after = probe::read_u8(target).map_err(|f| detail!("rodata unreadable: {f:?}"))?;
            ensure!(before == after, "read-only byte changed");
            Ok(detail!(
                "#PF CR2 {:#x} error {:#x} ({code}), recovered",
                f.address,
                f.error_code
            ))
        }
    }
}

fn gp_fault(_: &Context<'_>) -> Outcome {
    let non_canonical = 0x8000_0000_0000_0000u64;
    match probe::read_u8(non_canonical) {
        Ok(_) => Err(detail!("non-canonical read succeeded")),
        Err(f) => {
            ensure!(f.vector == 13, "vector {} instead of #GP", f.vector);
            Ok(detail!(
                "#GP error {:#x} on a non-canonical address, recovered",
                f.error_code
            ))
        }
    }
}

/// Recurses until the boot stack runs into its guard page. The #PF cannot
/// be delivered on the exhausted stack, so the CPU raises #DF, which runs on
/// IST1 and reports the overflow.
pub fn overflow_the_stack() -> ! {
    log::info!("overflowing the boot stack on purpose");
    let depth = recurse(0);
    log::error!("recursion returned {depth}; the stack did not overflow");
    super::exit(super::Exit::Failure);
    cpu::halt_forever()
}

#[allow(unconditional_recursion)]
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 256];
    frame[(depth % 256) as usize] = depth as u8;
    core::hint::black_box(&mut frame);
    recurse(depth + 1) + u64::from(frame[0])
}

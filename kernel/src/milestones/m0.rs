//! M0 checks: boot hand-off, serial, CPU tables, fault handling.
#![forbid(unsafe_code)]

use super::{detail, ensure, Check, Context, Detail, Outcome};
use crate::arch::{cpu, exceptions, probe, tables, tsc};
use crate::boot::{BootInfo, Handoff, MemoryKind};
use crate::mm::{hhdm, kernel_space, layout};
use core::ops::Range;
use paging::Flags;

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

/// The vectors with their own IST stack and the slot each must use: #DF on
/// IST1, NMI on IST2, #MC on IST3. Written out here, not taken from the IDT
/// builder, so a change there cannot move the expectation with it.
const IST_GATES: [(&str, u64, u64); 3] = [("#DF", 8, 1), ("NMI", 2, 2), ("#MC", 18, 3)];

/// Most pages a kernel stack may have before the walk down from its top
/// gives up looking for the guard page below it.
const MAX_STACK_PAGES: u64 = 64;

const PAGE: u64 = 4096;

/// Reads `len` (at most 8) bytes at `addr` as a little-endian number, through
/// the fault-catching probe.
fn read_le(addr: u64, len: u64) -> Result<u64, Detail> {
    let mut value = 0;
    for i in 0..len {
        let byte = probe::read_u8(addr + i).map_err(|f| detail!("{addr:#x} unreadable: {f:?}"))?;
        value |= u64::from(byte) << (8 * i);
    }
    Ok(value)
}

/// The TSS the CPU uses: the base in the 16-byte system descriptor that TR
/// selects in the GDT that GDTR points at (Intel SDM Vol. 3A §7.2.3,
/// Figure 7-4: base 15:0 in bytes 2–3, 23:16 in byte 4, 31:24 in byte 7,
/// 63:32 in bytes 8–11; type 0xB = busy 64-bit TSS once TR is loaded).
fn tss_base(gdtr: (u64, u16), tr: u16) -> Result<u64, Detail> {
    let offset = u64::from(tr & !7);
    ensure!(
        offset + 15 <= u64::from(gdtr.1),
        "TR {tr:#x} beyond the GDT limit {:#x}",
        gdtr.1
    );
    let d = gdtr.0 + offset;
    let access = read_le(d + 5, 1)?;
    ensure!(
        access & 0x8f == 0x8b,
        "descriptor {tr:#x} is not a present busy 64-bit TSS (access {access:#x})"
    );
    Ok(read_le(d + 2, 3)? | (read_le(d + 7, 1)? << 24) | (read_le(d + 8, 4)? << 32))
}

/// Walks down from a stack top: every mapped page is writable and NX, and
/// the walk must reach an unmapped page (the guard). Returns the mapped
/// range.
fn guarded_stack(top: u64) -> Result<Range<u64>, Detail> {
    ensure!(top != 0 && top.is_multiple_of(16), "top {top:#x} unusable");
    probe::rewrite_u8(top - 8).map_err(|f| detail!("top-8 of {top:#x} not writable: {f:?}"))?;
    let mut page = (top - 8) & !(PAGE - 1);
    let mut pages = 0;
    while let Some(t) = kernel_space::translate(page) {
        ensure!(
            t.flags.contains(Flags::WRITABLE | Flags::NO_EXECUTE),
            "page {page:#x} below top {top:#x} is mapped {:?}, not as stack: no guard page",
            t.flags
        );
        pages += 1;
        ensure!(
            pages <= MAX_STACK_PAGES,
            "no unmapped guard page within {} KiB below top {top:#x}",
            (MAX_STACK_PAGES * PAGE) >> 10
        );
        page -= PAGE;
    }
    ensure!(pages > 0, "top {top:#x} is not mapped");
    Ok(page + PAGE..top)
}

fn ist_stacks(_: &Context<'_>) -> Outcome {
    // GDTR, IDTR and TR as the CPU holds them (SGDT, SIDT, STR).
    let t = tables::snapshot();
    // IDT gate: 16 bytes per vector; byte 4 bits 2:0 = IST, byte 5 bit 7 =
    // present (Intel SDM Vol. 3A §6.14.1, Figure 6-8).
    let text = layout::kernel().text;
    for (i, (name, vector, want)) in IST_GATES.into_iter().enumerate() {
        let gate = t.idtr.0 + 16 * vector;
        ensure!(
            16 * vector + 15 <= u64::from(t.idtr.1),
            "{name} gate beyond the IDT limit {:#x}",
            t.idtr.1
        );
        let attrs = read_le(gate + 4, 2)?;
        ensure!(
            attrs & 0x8000 != 0,
            "{name} gate (vector {vector}) not present"
        );
        ensure!(
            attrs & 7 == want,
            "{name} gate (vector {vector}) uses IST{} instead of IST{want} (the IDT builder asked for IST{})",
            attrs & 7,
            tables::FATAL_GATE_IST[i]
        );
        // Offset 15:0 in bytes 0–1, 31:16 in bytes 6–7, 63:32 in bytes 8–11.
        let handler =
            read_le(gate, 2)? | (read_le(gate + 6, 2)? << 16) | (read_le(gate + 8, 4)? << 32);
        ensure!(
            handler == t.fatal_gates[i].0 && text.contains(&handler),
            "{name} gate points at {handler:#x}, not its stub {:#x} in kernel text",
            t.fatal_gates[i].0
        );
    }
    // 64-bit TSS: IST1 at offset 0x24, then 8 bytes per slot (Intel SDM
    // Vol. 3A §7.7, Figure 7-11).
    let tss = tss_base(t.gdtr, t.tr)?;
    let mut stacks = [0..0, 0..0, 0..0];
    for (slot, stack) in (1..=3u64).zip(stacks.iter_mut()) {
        let top = read_le(tss + 0x24 + 8 * (slot - 1), 8)?;
        *stack = guarded_stack(top).map_err(|e| detail!("IST{slot}: {}", e.text))?;
    }
    for (i, a) in stacks.iter().enumerate() {
        for (j, b) in stacks.iter().enumerate().skip(i + 1) {
            ensure!(
                a.end <= b.start || b.end <= a.start,
                "IST{} {a:x?} and IST{} {b:x?} overlap",
                i + 1,
                j + 1
            );
        }
    }
    Ok(detail!(
        "IDT (SIDT): #DF IST1, NMI IST2, #MC IST3; TSS at {tss:#x} (via TR): IST1–3 tops {:#x}, {:#x}, {:#x}, each {} KiB over an unmapped guard page, disjoint",
        stacks[0].end,
        stacks[1].end,
        stacks[2].end,
        (stacks[0].end - stacks[0].start) >> 10
    ))
}

fn boot_stack(_: &Context<'_>) -> Outcome {
    let k = layout::kernel();
    let rsp = cpu::stack_pointer();
    ensure!(
        k.boot_stack.contains(&rsp),
        "RSP {rsp:#x} outside the boot stack {:x?}",
        k.boot_stack
    );
    for page in k.boot_stack.clone().step_by(PAGE as usize) {
        let t = kernel_space::translate(page)
            .ok_or_else(|| detail!("boot stack page {page:#x} not mapped"))?;
        ensure!(
            t.flags.contains(Flags::WRITABLE),
            "boot stack page {page:#x} not writable"
        );
        ensure!(
            t.flags.contains(Flags::NO_EXECUTE),
            "boot stack page {page:#x} executable"
        );
    }
    // The page right below the stack's lowest page, and the guard range the
    // fault path names: both must be holes.
    let below = k.boot_stack.start - PAGE;
    ensure!(
        kernel_space::translate(below).is_none(),
        "page {below:#x} below the boot stack is mapped: no guard"
    );
    for page in k.boot_stack_guard.clone().step_by(PAGE as usize) {
        ensure!(
            kernel_space::translate(page).is_none(),
            "boot stack guard page {page:#x} is mapped"
        );
    }
    Ok(detail!(
        "RSP {rsp:#x} in {:#x}..{:#x} ({} KiB in use), every page R+W+NX; page below ({below:#x}) unmapped",
        k.boot_stack.start,
        k.boot_stack.end,
        (k.boot_stack.end - rsp) >> 10
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

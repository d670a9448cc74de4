//! M1 checks: frames, the kernel's page tables, the heap, guarded stacks.
#![forbid(unsafe_code)]

use super::{detail, ensure, skip, Check, Context, Outcome};
use crate::arch::{exceptions::PageFaultCode, paging as arch_paging, probe, tables};
use crate::boot::MemoryKind;
use crate::mm::frame_alloc::{self, OwnedFrames};
use crate::mm::stack::KernelStack;
use crate::mm::{heap, hhdm, kernel_space, kva, layout, MmError};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::AtomicU8;
use frames::FrameState;
use paging::{CacheType, Flags, PageSize};

/// M1, in order.
pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M1",
        name: "frames_stats",
        run: frames_stats,
    },
    Check {
        milestone: "M1",
        name: "frames_roundtrip",
        run: frames_roundtrip,
    },
    Check {
        milestone: "M1",
        name: "frames_contiguous",
        run: frames_contiguous,
    },
    Check {
        milestone: "M1",
        name: "frames_bad_free",
        run: frames_bad_free,
    },
    Check {
        milestone: "M1",
        name: "paging_kernel_segments",
        run: paging_kernel_segments,
    },
    Check {
        milestone: "M1",
        name: "paging_write_text_faults",
        run: paging_write_text_faults,
    },
    Check {
        milestone: "M1",
        name: "paging_exec_data_faults",
        run: paging_exec_data_faults,
    },
    Check {
        milestone: "M1",
        name: "paging_hhdm_covers_memory_map",
        run: paging_hhdm_covers,
    },
    Check {
        milestone: "M1",
        name: "paging_framebuffer_wc",
        run: paging_framebuffer_wc,
    },
    Check {
        milestone: "M1",
        name: "paging_4k",
        run: paging_4k,
    },
    Check {
        milestone: "M1",
        name: "paging_2m",
        run: paging_2m,
    },
    Check {
        milestone: "M1",
        name: "paging_1g",
        run: paging_1g,
    },
    Check {
        milestone: "M1",
        name: "paging_protect",
        run: paging_protect,
    },
    Check {
        milestone: "M1",
        name: "heap_sizes_and_alignments",
        run: heap_sizes,
    },
    Check {
        milestone: "M1",
        name: "heap_large",
        run: heap_large,
    },
    Check {
        milestone: "M1",
        name: "heap_fragmentation",
        run: heap_fragmentation,
    },
    Check {
        milestone: "M1",
        name: "heap_collections",
        run: heap_collections,
    },
    Check {
        milestone: "M1",
        name: "kernel_stack_guard",
        run: kernel_stack_guard,
    },
    Check {
        milestone: "M1",
        name: "ist_stacks_guarded",
        run: ist_stacks_guarded,
    },
];

fn mm(e: MmError) -> super::Detail {
    detail!("{e}")
}

fn frames_stats(ctx: &Context<'_>) -> Outcome {
    let s = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    // The memory map as the kernel copied it from the loader, summed here
    // independently of the allocator.
    let (mut listed, mut usable, mut loader) = (0u64, 0u64, 0u64);
    for r in &ctx.info.memory_map {
        listed += r.length;
        match r.kind {
            MemoryKind::Usable => usable += r.length,
            MemoryKind::BootloaderReclaimable => loader += r.length,
            _ => {}
        }
    }
    ensure!(
        s.total == listed,
        "allocator counts {} bytes of memory map, the boot map lists {listed}",
        s.total
    );
    ensure!(
        s.reclaimable == 0,
        "{} bytes still reclaimable after reclaim",
        s.reclaimable
    );
    ensure!(
        ctx.reclaimed == loader,
        "reclaim returned {} bytes, the map lists {loader} bootloader-reclaimable",
        ctx.reclaimed
    );
    // Usable and reclaimed entries are page aligned, disjoint and above
    // page 0 (M0 memory_map), so the allocator must manage exactly their
    // bytes: no more, no fewer.
    let managed = s.free + s.used;
    ensure!(
        managed == usable + loader,
        "allocator manages {managed} bytes (free + used), the map lists {usable} usable + {loader} reclaimed"
    );
    // One frame out moves exactly 4096 bytes from free to used; its free
    // moves them back.
    let f = frame_alloc::alloc().map_err(mm)?;
    let taken = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    let freed = frame_alloc::free(f).map_err(mm);
    let back = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    freed?;
    ensure!(
        taken.free + 4096 == s.free && taken.used == s.used + 4096,
        "alloc of {f:#x} moved free {} -> {}, used {} -> {}",
        s.free,
        taken.free,
        s.used,
        taken.used
    );
    ensure!(
        back == s,
        "free of {f:#x} did not restore: {s:?} -> {back:?}"
    );
    Ok(detail!(
        "managed {} KiB = map's usable {} KiB + reclaimed {} KiB (of {} MiB listed); alloc/free move free by one frame",
        managed >> 10,
        usable >> 10,
        loader >> 10,
        listed >> 20
    ))
}

fn in_usable_memory(ctx: &Context<'_>, phys: u64) -> bool {
    ctx.info.memory_map.iter().any(|r| {
        matches!(
            r.kind,
            MemoryKind::Usable | MemoryKind::BootloaderReclaimable
        ) && (r.base..r.base + r.length).contains(&phys)
    })
}

fn frames_roundtrip(ctx: &Context<'_>) -> Outcome {
    let before = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    let mut got = Vec::with_capacity(2000);
    for _ in 0..2000 {
        got.push(frame_alloc::alloc().map_err(mm)?);
    }
    for &f in &got {
        ensure!(f % 4096 == 0 && f != 0, "frame {f:#x} misaligned or zero");
        ensure!(
            in_usable_memory(ctx, f),
            "frame {f:#x} outside usable memory"
        );
        ensure!(
            frame_alloc::state(f) == Some(FrameState::Used),
            "frame {f:#x} not marked used"
        );
    }
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    ensure!(sorted.len() == got.len(), "a frame was handed out twice");
    for f in got {
        frame_alloc::free(f).map_err(mm)?;
    }
    let after = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    ensure!(
        after == before,
        "stats did not return to the baseline: {before:?} -> {after:?}"
    );
    Ok(detail!(
        "2000 distinct frames in usable memory, all freed, stats back to baseline"
    ))
}

fn frames_contiguous(_: &Context<'_>) -> Outcome {
    let before = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    for (count, align) in [(16usize, 64 << 10), (512, 2 << 20), (3, 4096)] {
        let run = OwnedFrames::new(count, align).map_err(mm)?;
        ensure!(
            run.phys() % align == 0,
            "{count} frames at {:#x} not {align:#x}-aligned",
            run.phys()
        );
        for i in 0..count as u64 {
            let f = run.phys() + i * 4096;
            ensure!(
                frame_alloc::state(f) == Some(FrameState::Used),
                "frame {f:#x} of the run not used"
            );
        }
        ensure!(run.bytes().iter().all(|&b| b == 0), "run not zeroed");
    }
    let after = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    ensure!(after == before, "stats did not return to the baseline");
    Ok(detail!(
        "runs of 16 (64 KiB-aligned), 512 (2 MiB-aligned) and 3 frames, contiguous and freed"
    ))
}

fn frames_bad_free(ctx: &Context<'_>) -> Outcome {
    let f = frame_alloc::alloc().map_err(mm)?;
    frame_alloc::free(f).map_err(mm)?;
    let double = frame_alloc::free(f);
    ensure!(
        matches!(
            double,
            Err(MmError::Frames(frames::FrameError::DoubleFree { .. }))
        ),
        "double free: {double:?}"
    );
    let unaligned = frame_alloc::free(f + 8);
    ensure!(unaligned.is_err(), "unaligned free accepted");
    let kernel = ctx.info.kernel_address.map_or(0, |(phys, _)| phys);
    let reserved = frame_alloc::free(kernel);
    ensure!(reserved.is_err(), "free of a kernel-image frame accepted");
    let far = frame_alloc::free(1 << 50);
    ensure!(far.is_err(), "free of a frame outside memory accepted");
    Ok(detail!(
        "double, unaligned, kernel-image and out-of-range frees all rejected"
    ))
}

fn paging_kernel_segments(ctx: &Context<'_>) -> Outcome {
    let k = layout::kernel();
    let cases = [
        ("text", k.text.start, false, true),
        ("rodata", k.rodata.start, false, false),
        ("data", k.data.start, true, false),
        ("boot stack", k.boot_stack.start, true, false),
    ];
    for (name, virt, writable, executable) in cases {
        let t = kernel_space::translate(virt)
            .ok_or_else(|| detail!("{name} at {virt:#x} not mapped"))?;
        ensure!(
            t.flags.contains(Flags::WRITABLE) == writable,
            "{name} writable = {}",
            !writable
        );
        ensure!(
            t.flags.contains(Flags::NO_EXECUTE) != executable,
            "{name} executable = {}",
            !executable
        );
        ensure!(t.flags.contains(Flags::GLOBAL), "{name} not global");
    }
    ensure!(
        kernel_space::translate(k.boot_stack_guard.start).is_none(),
        "boot stack guard page is mapped"
    );
    let root = kernel_space::root().unwrap_or(0);
    ensure!(
        root == ctx.mm.space.pml4,
        "kernel PML4 {root:#x} is not the one built at boot"
    );
    ensure!(
        arch_paging::current_root() == root,
        "CR3 {:#x} is not the kernel PML4 {root:#x}",
        arch_paging::current_root()
    );
    Ok(detail!("CR3 = kernel PML4 {root:#x}; text R+X, rodata R, data and stack R+W+NX, all global; guard unmapped"))
}

fn expect_pf(result: Result<u8, probe::ProbeFault>, at: u64, want: (bool, bool, bool)) -> Outcome {
    match result {
        Ok(_) => Err(detail!("access to {at:#x} did not fault")),
        Err(f) => {
            ensure!(f.vector == 14, "vector {} instead of #PF", f.vector);
            ensure!(f.address == at, "CR2 {:#x}, expected {at:#x}", f.address);
            let c = PageFaultCode::decode(f.error_code.into());
            ensure!(
                (c.present, c.write, c.fetch) == want && !c.user,
                "error code {:#x}: {c}",
                f.error_code
            );
            Ok(detail!(
                "#PF CR2 {:#x} error {:#x} ({c})",
                f.address,
                f.error_code
            ))
        }
    }
}

fn paging_write_text_faults(_: &Context<'_>) -> Outcome {
    let target = layout::kernel().text.start + 0x100;
    expect_pf(probe::rewrite_u8(target), target, (true, true, false))
}

/// A `ret` in writable, non-executable data.
static RET_IN_DATA: AtomicU8 = AtomicU8::new(0xc3);

fn paging_exec_data_faults(_: &Context<'_>) -> Outcome {
    let addr = RET_IN_DATA.as_ptr() as u64;
    // exec_ret needs a lone `ret` there: read it through the mapping the
    // fetch will use (a precondition of the probe, not the verdict).
    let byte = probe::read_u8(addr).map_err(|f| detail!("{addr:#x} unreadable: {f:?}"))?;
    ensure!(
        byte == 0xc3,
        "probe byte at {addr:#x} is {byte:#x}, not ret"
    );
    match probe::exec_ret(addr) {
        Ok(()) => Err(detail!("code in data at {addr:#x} executed")),
        Err(f) => expect_pf(Err(f), addr, (true, false, true)),
    }
}

fn paging_hhdm_covers(ctx: &Context<'_>) -> Outcome {
    let mut checked = 0;
    for r in &ctx.info.memory_map {
        if matches!(r.kind, MemoryKind::Reserved | MemoryKind::BadMemory) && r.base >= 1 << 32 {
            continue; // revision-2 HHDM: only 0–4 GiB and RAM-like regions
        }
        for phys in [r.base, r.base + r.length - 1] {
            let t = kernel_space::translate(hhdm::phys_to_virt(phys))
                .ok_or_else(|| detail!("HHDM misses {phys:#x} ({})", r.kind.name()))?;
            ensure!(t.phys == phys, "HHDM maps {phys:#x} to {:#x}", t.phys);
            ensure!(
                t.flags.contains(Flags::NO_EXECUTE),
                "HHDM page of {phys:#x} is executable"
            );
        }
        checked += 1;
    }
    Ok(detail!(
        "{checked} memory-map regions reachable through the HHDM, none executable"
    ))
}

fn paging_framebuffer_wc(ctx: &Context<'_>) -> Outcome {
    let fb = ctx
        .info
        .framebuffer
        .ok_or_else(|| detail!("no framebuffer"))?;
    let t = kernel_space::translate(fb.address).ok_or_else(|| detail!("framebuffer not mapped"))?;
    let cache = t.flags.cache_type_with(arch_paging::PAT_VALUE);
    ensure!(
        cache == Some(CacheType::WriteCombining),
        "framebuffer cache type {cache:?}"
    );
    Ok(detail!(
        "framebuffer at {:#x} is write-combining (PAT index {})",
        fb.address,
        t.flags.pat_index()
    ))
}

/// Maps `frames` at a fresh kernel virtual range with `size` pages, checks
/// translation and contents, unmaps, and checks the access then faults.
fn map_roundtrip(size: PageSize, run: &mut OwnedFrames) -> Result<u64, super::Detail> {
    let bytes = size.bytes();
    for (i, b) in run.bytes_mut().iter_mut().enumerate().step_by(4093) {
        *b = (i % 251) as u8 | 1;
    }
    let virt = kva::alloc(bytes, bytes).map_err(mm)?;
    let flags = Flags::WRITABLE | Flags::NO_EXECUTE;
    kernel_space::map(virt, run.phys(), size, flags).map_err(mm)?;
    let result = (|| {
        let t = kernel_space::translate(virt + bytes - 1).ok_or_else(|| detail!("not mapped"))?;
        ensure!(
            t.phys == run.phys() + bytes - 1 && t.size == size,
            "translation {t:?}"
        );
        for offset in (0..bytes).step_by(4093 * 16) {
            let via_map = probe::read_u8(virt + offset).map_err(|f| detail!("read fault {f:?}"))?;
            ensure!(
                via_map == run.bytes()[offset as usize],
                "byte {offset:#x} differs through the mapping"
            );
        }
        probe::rewrite_u8(virt + bytes / 2).map_err(|f| detail!("write fault {f:?}"))?;
        Ok(())
    })();
    let unmapped = kernel_space::unmap(virt).map_err(mm);
    let _ = kva::free(virt, bytes);
    result?;
    let (phys, got_size) = unmapped?;
    ensure!(
        phys == run.phys() && got_size == size,
        "unmap returned {phys:#x} {got_size:?}"
    );
    ensure!(
        kernel_space::translate(virt).is_none(),
        "still mapped after unmap"
    );
    expect_pf(probe::read_u8(virt + 8), virt + 8, (false, false, false))?;
    Ok(virt)
}

fn paging_4k(_: &Context<'_>) -> Outcome {
    let mut run = OwnedFrames::new(1, 4096).map_err(mm)?;
    let virt = map_roundtrip(PageSize::Size4K, &mut run)?;
    Ok(detail!(
        "4 KiB page at {virt:#x}: map, translate, read/write, unmap, fault"
    ))
}

fn paging_2m(_: &Context<'_>) -> Outcome {
    let mut run = OwnedFrames::new(512, 2 << 20).map_err(mm)?;
    let virt = map_roundtrip(PageSize::Size2M, &mut run)?;
    Ok(detail!(
        "2 MiB page at {virt:#x} over frames {:#x}: map, translate, read/write, unmap, fault",
        run.phys()
    ))
}

fn paging_1g(_: &Context<'_>) -> Outcome {
    if !arch_paging::has_huge_pages() {
        return skip(detail!(
            "CPU has no 1 GiB pages (CPUID.80000001H:EDX bit 26); the kernel uses 2 MiB pages instead"
        ));
    }
    // A read-only 1 GiB alias of physical 0–1 GiB (RAM exists there).
    let virt = kva::alloc(1 << 30, 1 << 30).map_err(mm)?;
    kernel_space::map(virt, 0, PageSize::Size1G, Flags::NO_EXECUTE).map_err(mm)?;
    let result = (|| {
        let probe_phys = layout::kernel().text.start; // any RAM byte: use the HHDM to compare
        let phys = kernel_space::translate(probe_phys)
            .ok_or_else(|| detail!("text not mapped"))?
            .phys;
        ensure!(phys < 1 << 30, "kernel above 1 GiB; pick another byte");
        let t =
            kernel_space::translate(virt + phys).ok_or_else(|| detail!("1 GiB page not mapped"))?;
        ensure!(
            t.phys == phys && t.size == PageSize::Size1G,
            "translation {t:?}"
        );
        let a = probe::read_u8(virt + phys).map_err(|f| detail!("read fault {f:?}"))?;
        let b =
            probe::read_u8(hhdm::phys_to_virt(phys)).map_err(|f| detail!("read fault {f:?}"))?;
        ensure!(a == b, "1 GiB alias reads {a:#x}, HHDM reads {b:#x}");
        expect_pf(
            probe::rewrite_u8(virt + phys),
            virt + phys,
            (true, true, false),
        )?;
        Ok(())
    })();
    let unmapped = kernel_space::unmap(virt).map_err(mm);
    let _ = kva::free(virt, 1 << 30);
    result?;
    ensure!(
        unmapped?.1 == PageSize::Size1G,
        "unmapped a different page size"
    );
    ensure!(
        kernel_space::translate(virt).is_none(),
        "still mapped after unmap"
    );
    Ok(detail!(
        "1 GiB read-only page at {virt:#x}: translate, read, write faults, unmap"
    ))
}

fn paging_protect(_: &Context<'_>) -> Outcome {
    let run = OwnedFrames::new(1, 4096).map_err(mm)?;
    let virt = kva::alloc(4096, 4096).map_err(mm)?;
    kernel_space::map(
        virt,
        run.phys(),
        PageSize::Size4K,
        Flags::WRITABLE | Flags::NO_EXECUTE,
    )
    .map_err(mm)?;
    let result = (|| {
        probe::rewrite_u8(virt).map_err(|f| detail!("writable page faulted {f:?}"))?;
        kernel_space::protect(virt, Flags::NO_EXECUTE).map_err(mm)?;
        expect_pf(probe::rewrite_u8(virt), virt, (true, true, false))?;
        kernel_space::protect(virt, Flags::WRITABLE | Flags::NO_EXECUTE).map_err(mm)?;
        probe::rewrite_u8(virt).map_err(|f| detail!("re-enabled write faulted {f:?}"))?;
        Ok(())
    })();
    let _ = kernel_space::unmap(virt);
    let _ = kva::free(virt, 4096);
    result?;
    Ok(detail!(
        "write allowed, revoked (#PF present+write), restored; TLB flushed each time"
    ))
}

#[repr(align(16))]
struct A16([u8; 16]);
#[repr(align(64))]
struct A64([u8; 64]);
#[repr(align(4096))]
struct A4096([u8; 4096]);

fn heap_sizes(_: &Context<'_>) -> Outcome {
    let before = heap::stats();
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    for size in [
        1usize, 2, 3, 7, 8, 15, 16, 31, 64, 100, 255, 1000, 4096, 4097, 65536, 200_000,
    ] {
        let block: Vec<u8> = (0..size).map(|i| (i * 31 + size) as u8).collect();
        blocks.push(block);
    }
    let a16: Box<A16> = Box::new(A16([1; 16]));
    let a64: Box<A64> = Box::new(A64([2; 64]));
    let a4096: Vec<A4096> = (0..3).map(|_| A4096([3; 4096])).collect();
    ensure!(
        (&*a16 as *const A16 as usize).is_multiple_of(16),
        "16-byte alignment broken"
    );
    ensure!(
        (&*a64 as *const A64 as usize).is_multiple_of(64),
        "64-byte alignment broken"
    );
    ensure!(
        (a4096.as_ptr() as usize).is_multiple_of(4096),
        "4096-byte alignment broken"
    );
    for block in &blocks {
        let size = block.len();
        ensure!(
            block
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i * 31 + size) as u8),
            "block of {size} corrupted"
        );
    }
    ensure!(
        a16.0 == [1; 16] && a64.0 == [2; 64] && a4096.iter().all(|p| p.0 == [3; 4096]),
        "aligned blocks corrupted"
    );
    drop((blocks, a16, a64, a4096));
    let after = heap::stats();
    ensure!(
        after.allocated == before.allocated,
        "allocated bytes {} -> {}",
        before.allocated,
        after.allocated
    );
    Ok(detail!(
        "16 sizes (1 B – 195 KiB) and alignments 16/64/4096 intact; counters back to {} bytes",
        after.allocated
    ))
}

fn heap_large(_: &Context<'_>) -> Outcome {
    let before = heap::stats();
    let size = 8 << 20;
    let mut big: Vec<u8> = Vec::new();
    big.try_reserve_exact(size)
        .map_err(|e| detail!("8 MiB reservation failed: {e}"))?;
    big.resize(size, 0);
    for (i, b) in big.iter_mut().enumerate().step_by(4096) {
        *b = (i >> 12) as u8;
    }
    ensure!(
        big.iter()
            .enumerate()
            .step_by(4096)
            .all(|(i, &b)| b == (i >> 12) as u8),
        "8 MiB block corrupted"
    );
    let grown = heap::stats().claimed - before.claimed;
    drop(big);
    let failed_before = heap::stats().failed_growths;
    let mut impossible: Vec<u8> = Vec::new();
    let refused = impossible.try_reserve_exact(1 << 40).is_err();
    ensure!(refused, "a 1 TiB reservation succeeded");
    ensure!(
        heap::stats().failed_growths > failed_before,
        "the refusal did not come from a failed growth"
    );
    Ok(detail!(
        "8 MiB block (heap grew by {} KiB from frames); 1 TiB try_reserve fails with an error",
        grown >> 10
    ))
}

/// Block size of the heap-growth check.
const BLOCK: usize = 64 << 10;

/// A 64 KiB heap block (fallible, so a refused growth is a FAIL, not the
/// allocation-error panic) filled with a byte that names it.
fn heap_block(i: usize) -> Result<Vec<u8>, super::Detail> {
    let mut v = Vec::new();
    v.try_reserve_exact(BLOCK)
        .map_err(|e| detail!("64 KiB block {i}: {e}"))?;
    v.resize(BLOCK, block_byte(i));
    Ok(v)
}

fn block_byte(i: usize) -> u8 {
    (i % 251) as u8 + 1
}

/// Every block still holds its own byte (an overlap would overwrite one)
/// and every page of it is mapped onto a frame the frame allocator has
/// handed out. Block `first + k` is `blocks[k]`; `None` is a freed one.
fn heap_blocks_sound(blocks: &[Option<Vec<u8>>], first: usize) -> Result<(), super::Detail> {
    for (k, b) in blocks.iter().enumerate() {
        let Some(b) = b else { continue };
        let i = first + k;
        let start = b.as_ptr() as u64;
        ensure!(
            b.iter().all(|&x| x == block_byte(i)),
            "block {i} at {start:#x} corrupted"
        );
        for virt in (start..start + BLOCK as u64).step_by(4096) {
            let t = kernel_space::translate(virt)
                .ok_or_else(|| detail!("block {i}: {virt:#x} not mapped"))?;
            let state = frame_alloc::state(t.phys);
            ensure!(
                state == Some(FrameState::Used),
                "block {i} at {virt:#x} lies on frame {:#x} in state {state:?}",
                t.phys & !0xfff
            );
        }
    }
    Ok(())
}

/// Blocks the heap-fragmentation check puts in memory the heap grew by.
const NEW_BLOCKS: usize = 16;

fn heap_fragmentation(_: &Context<'_>) -> Outcome {
    let before = heap::stats();
    // Fill what the heap holds with 64 KiB blocks until one makes it grow:
    // it must within `limit` blocks, since no more than `room` bytes fit.
    // Nothing else allocates from here on: the lists are reserved up front
    // and blocks are freed in place.
    let room = before.claimed - before.allocated as u64;
    let limit = room as usize / BLOCK + 2;
    let mut old: Vec<Option<Vec<u8>>> = Vec::new();
    let mut new: Vec<Option<Vec<u8>>> = Vec::new();
    old.try_reserve_exact(limit)
        .and_then(|()| new.try_reserve_exact(NEW_BLOCKS))
        .map_err(|e| detail!("block lists: {e}"))?;
    loop {
        ensure!(
            old.len() < limit,
            "{limit} blocks ({} KiB) allocated, yet the heap, which had {} KiB free, never grew",
            (limit * BLOCK) >> 10,
            room >> 10
        );
        let block = heap_block(old.len())?;
        if heap::stats().claimed > before.claimed {
            new.push(Some(block));
            break;
        }
        old.push(Some(block));
    }
    let filled = old.len();
    // More blocks in new memory, growing the heap as often as it takes.
    let mut growths = 1;
    while new.len() < NEW_BLOCKS {
        let claimed = heap::stats().claimed;
        new.push(Some(heap_block(filled + new.len())?));
        growths += usize::from(heap::stats().claimed > claimed);
    }
    let full = heap::stats();
    let grown = full.claimed - before.claimed;
    ensure!(
        grown.is_multiple_of(4096) && grown >= ((NEW_BLOCKS - 1) * BLOCK) as u64,
        "heap grew by {grown} bytes for {NEW_BLOCKS} blocks of 64 KiB"
    );
    ensure!(
        full.allocations == before.allocations + 2 + filled + NEW_BLOCKS,
        "{} live allocations, expected {} + 2 lists + {} blocks",
        full.allocations,
        before.allocations,
        filled + NEW_BLOCKS
    );
    heap_blocks_sound(&old, 0)?;
    heap_blocks_sound(&new, filled)?;
    // Every other new block freed: holes between live blocks.
    for slot in new.iter_mut().skip(1).step_by(2) {
        *slot = None;
    }
    let holed = heap::stats();
    ensure!(
        holed.fragments > full.fragments,
        "freeing every other of {NEW_BLOCKS} blocks left {} fragments (was {})",
        holed.fragments,
        full.fragments
    );
    heap_blocks_sound(&new, filled)?;
    // All freed: the holes merge with their neighbours, at most one free
    // fragment per growth more than before.
    new.iter_mut().for_each(|slot| *slot = None);
    let freed = heap::stats();
    ensure!(
        freed.fragments < holed.fragments && freed.fragments <= full.fragments + growths,
        "all {NEW_BLOCKS} blocks freed: {} fragments (holed {}, full {}, {growths} growths): not coalesced",
        freed.fragments,
        holed.fragments,
        full.fragments
    );
    // The freed memory is the heap's again: the same blocks fit without
    // growing it.
    for (k, slot) in new.iter_mut().enumerate() {
        *slot = Some(heap_block(filled + k)?);
    }
    let reused = heap::stats();
    ensure!(
        reused.claimed == full.claimed,
        "{NEW_BLOCKS} blocks again grew the heap by {} bytes: freed memory was not reused",
        reused.claimed - full.claimed
    );
    heap_blocks_sound(&new, filled)?;
    drop((old, new));
    let end = heap::stats();
    ensure!(
        end.allocated == before.allocated && end.allocations == before.allocations,
        "allocated {} bytes in {} -> {} bytes in {}",
        before.allocated,
        before.allocations,
        end.allocated,
        end.allocations
    );
    Ok(detail!(
        "{} KiB free took {filled} blocks of 64 KiB; {NEW_BLOCKS} more grew the heap by {} KiB ({growths} growths), on used frames, intact; every other freed: {} -> {} fragments, all freed: {}; refilled without growth",
        room >> 10,
        grown >> 10,
        full.fragments,
        holed.fragments,
        freed.fragments
    ))
}

fn heap_collections(_: &Context<'_>) -> Outcome {
    let mut map: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for i in 0..5000u64 {
        map.entry(i % 97).or_default().push(i * i);
    }
    let total: u64 = map.values().flatten().sum();
    let expected: u64 = (0..5000u64).map(|i| i * i).sum();
    ensure!(total == expected, "BTreeMap<Vec> sum {total} != {expected}");
    let mut text = String::new();
    for (k, v) in map.iter().take(10) {
        text.push_str(&alloc::format!("{k}:{} ", v.len()));
    }
    ensure!(text.starts_with("0:52 1:52"), "formatted '{text}'");
    let s = heap::stats();
    Ok(detail!(
        "BTreeMap of 97 Vecs over 5000 values, String formatting; heap {} KiB claimed, {} live allocations",
        s.claimed >> 10,
        s.allocations
    ))
}

fn kernel_stack_guard(_: &Context<'_>) -> Outcome {
    let frames_before = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    let kva_before = kva::free_bytes();
    {
        let stack = KernelStack::new(4, "milestone test stack").map_err(mm)?;
        probe::rewrite_u8(stack.top() - 8).map_err(|f| detail!("stack top not writable: {f:?}"))?;
        let guard = stack.guard().start + 0x800;
        expect_pf(probe::read_u8(guard), guard, (false, false, false))?;
        let owner = layout::guard_page_owner(guard);
        ensure!(
            owner == Some("milestone test stack"),
            "guard page owner {owner:?}"
        );
    }
    let frames_after = frame_alloc::stats().ok_or_else(|| detail!("no frame allocator"))?;
    ensure!(
        frames_after.used == frames_before.used,
        "stack frames leaked"
    );
    ensure!(
        kva::free_bytes() == kva_before,
        "stack virtual range leaked"
    );
    Ok(detail!(
        "guard-page hit is a #PF the fault path names as a stack overflow; stack freed"
    ))
}

fn ist_stacks_guarded(_: &Context<'_>) -> Outcome {
    let t = tables::snapshot();
    for (i, top) in t.ist.iter().enumerate() {
        ensure!(
            (kva::BASE..kva::BASE + kva::SIZE).contains(top),
            "IST{} top {top:#x} not in a guarded stack",
            i + 1
        );
        let guard = top - (crate::mm::stack::IST_PAGES + 1) * 4096;
        ensure!(
            layout::guard_page_owner(guard).is_some(),
            "no guard page below IST{}",
            i + 1
        );
        ensure!(
            kernel_space::translate(guard).is_none(),
            "IST{} guard page mapped",
            i + 1
        );
    }
    Ok(detail!(
        "#DF, NMI and #MC stacks each have an unmapped guard page"
    ))
}

//! M3 checks: ACPI, interrupt controllers, timers (threads follow).
#![forbid(unsafe_code)]

use super::Detail;
use super::{detail, ensure, Check, Context, Outcome};
use crate::arch::{lapic, pic};
use crate::sync::SpinLock;
use crate::task::{priority, sched, Entry, Thread};
use crate::{acpi, irq, time};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

/// M3, in order.
pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M3",
        name: "acpi_tables",
        run: acpi_tables,
    },
    Check {
        milestone: "M3",
        name: "pics_masked",
        run: pics_masked,
    },
    Check {
        milestone: "M3",
        name: "ioapic_routing",
        run: ioapic_routing,
    },
    Check {
        milestone: "M3",
        name: "tsc_vs_reference",
        run: tsc_vs_reference,
    },
    Check {
        milestone: "M3",
        name: "lapic_timer_rate",
        run: lapic_timer_rate,
    },
    Check {
        milestone: "M3",
        name: "threads_share_the_cpu",
        run: threads_share_the_cpu,
    },
    Check {
        milestone: "M3",
        name: "exit_wakes_joiners_despite_ticks",
        run: exit_wakes_joiners_despite_ticks,
    },
    Check {
        milestone: "M3",
        name: "priority_preempts",
        run: priority_preempts,
    },
    Check {
        milestone: "M3",
        name: "sleep_blocks",
        run: sleep_blocks,
    },
    Check {
        milestone: "M3",
        name: "ring3_spin_is_preempted_and_killed",
        run: ring3_spin_is_preempted_and_killed,
    },
    Check {
        milestone: "M3",
        name: "user_output_is_tagged",
        run: user_output_is_tagged,
    },
    Check {
        milestone: "M3",
        name: "commit_limit_gives_no_memory",
        run: commit_limit_gives_no_memory,
    },
    Check {
        milestone: "M3",
        name: "memory_exhaustion_is_survivable",
        run: memory_exhaustion_is_survivable,
    },
    Check {
        milestone: "M3",
        name: "m3_tests_program",
        run: m3_tests_program,
    },
    Check {
        milestone: "M3",
        name: "spawn_exit_cycles_leak_nothing",
        run: spawn_exit_cycles_leak_nothing,
    },
];

/// The stress scenario (`test=stress`, its own boot).
pub const STRESS: &[Check] = &[Check {
    milestone: "M3",
    name: "stress_survives_and_leaks_nothing",
    run: stress,
}];

/// How long the stress program runs.
const STRESS_MS: u64 = 4000;

fn run_stress_program(ctx: &Context<'_>, ms: u64) -> Result<u32, Detail> {
    let mut process =
        crate::pe::spawn_program(ctx.info, "m3-tests.exe", false).map_err(|e| detail!("{e}"))?;
    let mut args = alloc::string::String::new();
    use core::fmt::Write;
    let _ = write!(args, "stress {ms}");
    process.set_cmdline(args);
    let p = crate::task::run(process);
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    ensure!(exit.fault.is_none(), "the stress parent {exit}");
    Ok(exit.code)
}

/// m3-tests.exe keeps six children alive for four seconds, each with
/// threads that sleep, wait with time-outs, set events, yield, create
/// threads, take and free memory, exit, call ExitProcess or fault at
/// random, while the parent terminates some of them: the kernel must not
/// panic or hang, and afterwards frames (less what the heap grew by), heap
/// bytes and allocations, and kernel ranges are where they were.
fn stress(ctx: &Context<'_>) -> Outcome {
    // A short first run fills the image cache and the heap's free lists.
    run_stress_program(ctx, 200)?;
    let before = usage();
    let claimed_before = crate::mm::heap::stats().claimed;
    let (switches_before, preempted_before) = sched::stats();
    let demand_before = crate::arch::exceptions::demand_fault_count();
    let started = run_stress_program(ctx, STRESS_MS)?;
    let (switches, preempted) = sched::stats();
    let after = usage();
    let grew = crate::mm::heap::stats().claimed - claimed_before;
    ensure!(started >= 20, "only {started} children were started");
    ensure!(
        after.heap_bytes == before.heap_bytes
            && after.heap_allocations == before.heap_allocations
            && after.kva_free == before.kva_free
            && frames_balance(&before, &after, grew),
        "after {after:?} (heap grew {grew}), before {before:?}"
    );
    Ok(detail!(
        "{started} children over {STRESS_MS} ms: {} switches ({} preemptions), {} demand faults; frames, heap and kernel ranges as before",
        switches - switches_before,
        preempted - preempted_before,
        crate::arch::exceptions::demand_fault_count() - demand_before
    ))
}

/// What the leak checks compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Usage {
    pub(super) free_frames: u64,
    pub(super) heap_bytes: usize,
    pub(super) heap_allocations: usize,
    pub(super) kva_free: u64,
    /// Page-table frames of kernel-half mappings (they stay once made:
    /// the heap's growth may take one).
    pub(super) kernel_tables: u64,
}

/// Whether the frames all came back: what is free now, plus what the heap
/// grew by (`grew` bytes) and the page-table frames kernel mappings took
/// meanwhile (or less what they gave back), is what was free before.
pub(super) fn frames_balance(before: &Usage, after: &Usage, grew: u64) -> bool {
    let tables = after.kernel_tables as i64 - before.kernel_tables as i64;
    after.free_frames as i64 + grew as i64 + tables * 4096 == before.free_frames as i64
}

pub(super) fn usage() -> Usage {
    let heap = crate::mm::heap::stats();
    Usage {
        free_frames: free_frames(),
        heap_bytes: heap.allocated,
        heap_allocations: heap.allocations,
        kva_free: crate::mm::kva::free_bytes(),
        kernel_tables: crate::mm::kernel_space::table_frames(),
    }
}

/// 2000 starts of exit0.exe (each a process with its address space, main
/// thread, kernel stack and handles), each waited for and dropped: frames,
/// heap bytes, heap allocations and kernel virtual ranges end exactly
/// where they were after the first.
fn spawn_exit_cycles_leak_nothing(ctx: &Context<'_>) -> Outcome {
    const CYCLES: u32 = 2000;
    let once = |i: u32| -> Result<(), Detail> {
        let process = crate::pe::spawn_program(ctx.info, "exit0.exe", false)
            .map_err(|e| detail!("start {i}: {e}"))?;
        let p = crate::task::run(process);
        let exit = p.exit_status();
        ensure!(
            exit.is_some_and(|e| e.code == 0 && e.fault.is_none()),
            "start {i}: {exit:?}"
        );
        Ok(())
    };
    once(0)?;
    let before = usage();
    let t0 = time::now_ns();
    for i in 1..=CYCLES {
        once(i)?;
    }
    let ms = (time::now_ns() - t0) / 1_000_000;
    let after = usage();
    ensure!(
        after == before,
        "after {CYCLES} cycles {after:?}, before {before:?}"
    );
    Ok(detail!(
        "{CYCLES} spawn/exit cycles in {ms} ms; frames, heap ({} allocations) and kernel ranges unchanged",
        after.heap_allocations
    ))
}

/// Runs m3-tests.exe, whose checks land in M3 (threads, waits, events,
/// handles, demand paging, pipes, termination, two CPU-bound processes)
/// and which prints the M3 benchmarks; then checks that everything it and
/// its children took came back.
fn m3_tests_program(ctx: &Context<'_>) -> Outcome {
    let frames_before = free_frames();
    let heap_before = crate::mm::heap::stats();
    let kva_before = crate::mm::kva::free_bytes();
    let demand_before = crate::arch::exceptions::demand_fault_count();
    super::set_user_milestone("M3");
    // The first start fills the image cache; measure the leak baseline
    // with the programs it keeps already loaded.
    let process =
        crate::pe::spawn_program(ctx.info, "m3-tests.exe", false).map_err(|e| detail!("{e}"))?;
    let p = crate::task::run(process);
    super::set_user_milestone("M2");
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    drop(p);
    let frames_after = free_frames();
    let heap_after = crate::mm::heap::stats();
    let kva_after = crate::mm::kva::free_bytes();
    ensure!(
        exit.code == 0 && exit.fault.is_none(),
        "m3-tests.exe {exit}"
    );
    ensure!(
        kva_after == kva_before,
        "kernel ranges: {} bytes not returned",
        kva_before.abs_diff(kva_after)
    );
    let demand = crate::arch::exceptions::demand_fault_count() - demand_before;
    ensure!(
        demand >= 16384,
        "only {demand} demand-zero faults (page_fault alone takes 16384)"
    );
    Ok(detail!(
        "m3-tests.exe passed after {demand} demand-zero faults; frames {} KiB, heap {} allocations / {} bytes apart from the image cache and heap growth",
        (frames_before as i64 - frames_after as i64) / 1024,
        heap_after.allocations as i64 - heap_before.allocations as i64,
        heap_after.allocated as i64 - heap_before.allocated as i64
    ))
}

/// Machine code as a process (one image at 0x400000) with `commit_limit`.
fn code_process(
    name: &str,
    code: &[u8],
    commit_limit: u64,
) -> Result<crate::task::Process, Detail> {
    use crate::mm::user_space::Access;
    use crate::task::{Image, Process};
    let pages = alloc::vec![Some(Access::EXECUTE); code.len().div_ceil(4096)];
    let image = Image {
        name,
        base: 0x40_0000,
        memory: code,
        pages: &pages,
    };
    let mut process = Process::new(name, &[image], 0x40_0000).map_err(|e| detail!("{e}"))?;
    process.set_commit_limit(commit_limit);
    Ok(process)
}

/// Runs machine code as a process; returns it after it ended.
fn run_code(name: &str, code: &[u8], commit_limit: u64) -> Result<crate::task::Process, Detail> {
    Ok(crate::task::run(code_process(name, code, commit_limit)?))
}

/// Starts machine code as a process.
fn spawn_code(
    name: &str,
    code: &[u8],
    commit_limit: u64,
) -> Result<(Arc<Thread>, crate::task::SharedProcess), Detail> {
    crate::task::spawn(code_process(name, code, commit_limit)?).map_err(|e| detail!("{e}"))
}

/// Fills the heap's free space with 64 KiB blocks until it has to grow
/// once; returns the growth in bytes, or the blocks taken if it could not.
fn grow_heap_once() -> Result<u64, usize> {
    let start = crate::mm::heap::stats().claimed;
    let mut blocks: alloc::vec::Vec<alloc::vec::Vec<u8>> = alloc::vec::Vec::new();
    if blocks.try_reserve(4096).is_err() {
        return Err(0);
    }
    let result = loop {
        let grown = crate::mm::heap::stats().claimed - start;
        if grown > 0 {
            break Ok(grown);
        }
        if blocks.len() == blocks.capacity() {
            break Err(blocks.len());
        }
        let mut block = alloc::vec::Vec::new();
        if block.try_reserve_exact(64 << 10).is_err() {
            break Err(blocks.len());
        }
        blocks.push(block);
    };
    drop(blocks);
    result
}

fn free_frames() -> u64 {
    crate::mm::frame_alloc::stats().map_or(0, |s| s.free)
}

/// A program allocating 64 KiB at a time under a 1 MiB commit limit gets
/// 16 allocations, then `NoMemory`; its memory comes back at exit.
fn commit_limit_gives_no_memory(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let code = [
        0x45, 0x31, 0xf6,                   // xor r14d, r14d
        0xbf, 0, 0, 1, 0,                   // loop: mov edi, 0x10000
        0xbe, 3, 0, 0, 0,                   // mov esi, READ|WRITE
        0xb8, 7, 0, 0, 0,                   // mov eax, ALLOCATE_PAGES
        0x0f, 0x05,                         // syscall
        0x48, 0x85, 0xc0,                   // test rax, rax
        0x78, 0x05,                         // js fail
        0x49, 0xff, 0xc6,                   // inc r14
        0xeb, 0xe5,                         // jmp loop
        0x48, 0xf7, 0xd8,                   // fail: neg rax
        0x41, 0xc1, 0xe6, 0x08,             // shl r14d, 8
        0x44, 0x09, 0xf0,                   // or eax, r14d
        0x89, 0xc7,                         // mov edi, eax
        0xb8, 1, 0, 0, 0,                   // mov eax, EXIT_PROCESS
        0x0f, 0x05,                         // syscall
    ];
    let before = free_frames();
    let p = run_code("commit", &code, 1 << 20)?;
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    let committed = p.committed();
    drop(p);
    let after = free_frames();
    ensure!(exit.fault.is_none(), "the program {exit}");
    ensure!(
        exit.code == (16 << 8) | abi::Error::NoMemory as u32,
        "exit code {:#x}: {} allocations, error {} (expected 16 and NoMemory = {})",
        exit.code,
        exit.code >> 8,
        exit.code & 0xff,
        abi::Error::NoMemory as u32
    );
    ensure!(committed == 1 << 20, "committed {committed} bytes at exit");
    ensure!(
        after == before,
        "{} frames not returned",
        before.abs_diff(after) / 4096
    );
    Ok(detail!(
        "16 x 64 KiB under a 1 MiB limit, then NoMemory; all frames back"
    ))
}

/// A program with no commit limit takes every frame it can (1 MiB at a
/// time, then single pages), then asks DEBUG_WRITE for 16 KiB starting
/// 100 bytes before the end of its one code page: it gets NoMemory and
/// BadPointer (the whole range is checked first, nothing is allocated), the kernel keeps running
/// on its reserve (heap, scheduler, this check), and teardown returns
/// every frame without allocating.
fn memory_exhaustion_is_survivable(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let code = [
        0x41, 0xbc, 0, 0, 0x10, 0,          //  0 mov r12d, 0x100000
        0x45, 0x31, 0xf6,                   //  6 xor r14d, r14d
        0x44, 0x89, 0xe7,                   //  9 loop: mov edi, r12d
        0xbe, 3, 0, 0, 0,                   // 12 mov esi, READ|WRITE
        0xb8, 7, 0, 0, 0,                   // 17 mov eax, ALLOCATE_PAGES
        0x0f, 0x05,                         // 22 syscall
        0x48, 0x85, 0xc0,                   // 24 test rax, rax
        0x78, 0x11,                         // 27 js fail
        0x49, 0x89, 0xc5,                   // 29 mov r13, rax
        0x41, 0x81, 0xfc, 0, 0x10, 0, 0,    // 32 cmp r12d, 0x1000
        0x75, 0xe0,                         // 39 jne loop
        0x49, 0xff, 0xc6,                   // 41 inc r14
        0xeb, 0xdb,                         // 44 jmp loop
        0x41, 0x81, 0xfc, 0, 0x10, 0, 0,    // 46 fail: cmp r12d, 0x1000
        0x74, 0x08,                         // 53 je done
        0x41, 0xbc, 0, 0x10, 0, 0,          // 55 mov r12d, 0x1000
        0xeb, 0xca,                         // 61 jmp loop
        0x48, 0x89, 0xc3,                   // 63 done: mov rbx, rax
        0xbf, 0x9c, 0x0f, 0x40, 0,          // 66 mov edi, 0x400f9c: 100 bytes before the end of the code page
        0xbe, 0, 0x40, 0, 0,                // 69 mov esi, 0x4000
        0xb8, 3, 0, 0, 0,                   // 74 mov eax, DEBUG_WRITE
        0x0f, 0x05,                         // 79 syscall
        0x48, 0xf7, 0xd8,                   // 81 neg rax
        0xc1, 0xe0, 0x08,                   // 84 shl eax, 8
        0x48, 0xf7, 0xdb,                   // 87 neg rbx
        0x09, 0xd8,                         // 90 or eax, ebx
        0x41, 0xc1, 0xe6, 0x10,             // 92 shl r14d, 16
        0x44, 0x09, 0xf0,                   // 96 or eax, r14d
        0x41, 0x89, 0xc7,                   // 99 mov r15d, eax
        0xbf, 0x2c, 0x01, 0, 0,             // mov edi, 300
        0xb8, 6, 0, 0, 0,                   // mov eax, SLEEP
        0x0f, 0x05,                         // syscall
        0x44, 0x89, 0xff,                   // mov edi, r15d
        0xb8, 1, 0, 0, 0,                   // mov eax, EXIT_PROCESS
        0x0f, 0x05,                         // syscall
    ];
    let before = free_frames();
    let heap_failures = crate::mm::heap::stats().failed_growths;
    let (thread, shared) = spawn_code("exhaust", &code, u64::MAX)?;
    // Wait until the program holds everything but the kernel reserve (it
    // then sleeps 300 ms), and make the heap grow meanwhile.
    let reserve = crate::mm::frame_alloc::KERNEL_RESERVE_FRAMES * 4096;
    let deadline = time::now_ns() + 10_000_000_000;
    let exhausted = || free_frames() <= reserve + (64 << 12);
    // A sample taken while a 1 MiB allocation is failing sees its pages,
    // which it gives back a moment later: the end state is the one that
    // holds across 20 ms (the program sleeps 300 ms in it).
    while time::now_ns() < deadline {
        if exhausted() {
            sched::sleep_ns(20_000_000).map_err(|e| detail!("{e}"))?;
            if exhausted() {
                break;
            }
        }
        sched::sleep_ns(5_000_000).map_err(|e| detail!("{e}"))?;
    }
    let exhausted_free = free_frames();
    let grew = grow_heap_once();
    sched::join(&thread);
    drop(thread);
    let p = crate::task::reclaim(shared).ok_or_else(|| detail!("the process is still shared"))?;
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    let committed = p.committed();
    drop(p);
    let after = free_frames();
    ensure!(
        exhausted_free <= reserve + (64 << 12),
        "the program never exhausted memory ({} KiB stayed free)",
        exhausted_free >> 10
    );
    let grew = grew.map_err(|n| {
        detail!("the heap could not grow while user memory was exhausted (after {n} blocks)")
    })?;
    ensure!(exit.fault.is_none(), "the program {exit}");
    let (alloc_err, write_err) = (exit.code & 0xff, (exit.code >> 8) & 0xff);
    ensure!(
        alloc_err == abi::Error::NoMemory as u32 && write_err == abi::Error::BadPointer as u32,
        "exit code {:#x}: allocation error {alloc_err}, DEBUG_WRITE error {write_err}",
        exit.code
    );
    let left = crate::mm::frame_alloc::KERNEL_RESERVE_FRAMES * 4096;
    ensure!(
        committed + left * 2 >= before,
        "the program committed only {} KiB of {} KiB free",
        committed >> 10,
        before >> 10
    );
    // The heap keeps what it grew by (it never shrinks), plus at most two
    // page-table frames for its window; everything else must be back.
    let kept = before.saturating_sub(after);
    ensure!(
        after <= before && kept >= grew && kept <= grew + 2 * 4096,
        "{} KiB not returned (the heap grew by {} KiB)",
        kept >> 10,
        grew >> 10
    );
    Ok(detail!(
        "committed {} MiB ({} single pages at the end), then NoMemory; DEBUG_WRITE past the end: BadPointer; with {} KiB free the heap grew by {} KiB from the reserve ({} failed growths); every other frame back",
        committed >> 20,
        exit.code >> 16,
        exhausted_free >> 10,
        grew >> 10,
        crate::mm::heap::stats().failed_growths - heap_failures
    ))
}

/// What the forging program prints: protocol lines of its own, and an
/// unterminated line that kernel output follows.
const FORGERY: &[u8] = b"CHECK M3 forged_by_user ok\nBENCH name=forged iters=1 cycles_per_op=1 ns_per_op=1\nmilestones: 999 passed, 0 failed\npartial line";

/// A program prints protocol lines through DEBUG_WRITE; the kernel tags
/// every line it starts (`u<pid>| `), so the host judge never takes them
/// for kernel lines (tests/tests/milestones.rs looks for the tagged text
/// and would see an unexpected M3 check if the tag were missing).
fn user_output_is_tagged(_: &Context<'_>) -> Outcome {
    use crate::mm::user_space::Access;
    use crate::task::{Image, Process};
    let len = FORGERY.len() as u32;
    let [l0, l1, l2, l3] = len.to_le_bytes();
    #[rustfmt::skip]
    let mut code = alloc::vec![
        0x48, 0x8d, 0x3d, 21, 0, 0, 0,   // lea rdi, [rip + 21] ; the text
        0xbe, l0, l1, l2, l3,            // mov esi, len
        0xb8, 3, 0, 0, 0,                // mov eax, DEBUG_WRITE
        0x0f, 0x05,                      // syscall
        0x31, 0xff,                      // xor edi, edi
        0xb8, 1, 0, 0, 0,                // mov eax, EXIT_PROCESS
        0x0f, 0x05,                      // syscall
    ];
    code.extend_from_slice(FORGERY);
    let image = Image {
        name: "forger",
        base: 0x40_0000,
        memory: &code,
        pages: &[Some(Access::EXECUTE)],
    };
    let process = Process::new("forger", &[image], 0x40_0000).map_err(|e| detail!("{e}"))?;
    let p = crate::task::run(process);
    let exit = p.exit_status().ok_or_else(|| detail!("no exit status"))?;
    ensure!(exit.code == 0 && exit.fault.is_none(), "forger {exit}");
    ensure!(
        p.output().as_bytes() == FORGERY,
        "the kernel recorded {:?}",
        p.output()
    );
    log::info!("after the forger's unterminated line");
    Ok(detail!(
        "process {} printed {} bytes of would-be protocol lines, each tagged u{}|",
        p.id(),
        FORGERY.len(),
        p.id()
    ))
}

static SPIN_UNTIL: AtomicU64 = AtomicU64::new(0);
static SPINS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static HIGH_RAN_AT: AtomicU64 = AtomicU64::new(0);

/// Counts until the deadline without ever yielding or blocking.
fn spinner(slot: u64) {
    while time::now_ns() < SPIN_UNTIL.load(Ordering::Relaxed) {
        SPINS[slot as usize % 2].fetch_add(1, Ordering::Relaxed);
    }
}

/// Starts `f(arg)` as a kernel thread at `prio`, pinned to CPU `pin` if
/// given.
pub(super) fn kthread(
    name: &'static str,
    f: fn(u64),
    arg: u64,
    prio: u8,
    pin: Option<usize>,
) -> Result<Arc<Thread>, Detail> {
    let t = Thread::new(name, None, Entry::Kernel(f, arg), prio).map_err(|e| detail!("{e}"))?;
    if let Some(cpu) = pin {
        sched::set_affinity(&t, 1 << cpu).map_err(|e| detail!("affinity: {e:?}"))?;
    }
    sched::start(t.clone()).map_err(|e| detail!("{e}"))?;
    Ok(t)
}

/// Two CPU-bound kernel threads that never yield, both on one CPU, both
/// make progress while this thread waits for them: only preemption can do
/// that.
fn threads_share_the_cpu(_: &Context<'_>) -> Outcome {
    SPINS[0].store(0, Ordering::Relaxed);
    SPINS[1].store(0, Ordering::Relaxed);
    SPIN_UNTIL.store(time::now_ns() + 200_000_000, Ordering::Relaxed);
    let (_, preempted_before) = sched::stats();
    let here = Some(sched::cpu_number());
    let a = kthread("spin-a", spinner, 0, priority::NORMAL, here)?;
    let b = kthread("spin-b", spinner, 1, priority::NORMAL, here)?;
    sched::join(&a);
    sched::join(&b);
    let (_, preempted_after) = sched::stats();
    let (x, y) = (
        SPINS[0].load(Ordering::Relaxed),
        SPINS[1].load(Ordering::Relaxed),
    );
    let (ta, tb) = (a.ticks(), b.ticks());
    ensure!(x > 0 && y > 0, "spinner counts {x} and {y}: one never ran");
    // Each ran for a good share of the ticks the CPU took in the 200 ms,
    // not one after the other finished (the first would otherwise take
    // the whole window). Shares, not counts: a virtual CPU that the host
    // runs only part of the time takes fewer ticks.
    let total = ta + tb;
    ensure!(
        total >= 40 && ta * 4 >= total && tb * 4 >= total,
        "CPU ticks {ta} and {tb}: the CPU was not shared"
    );
    ensure!(
        preempted_after > preempted_before + 4,
        "only {} preemptions",
        preempted_after - preempted_before
    );
    Ok(detail!(
        "spinners counted {x} and {y} in {ta} and {tb} ticks; {} preemptions",
        preempted_after - preempted_before
    ))
}

static JOINED: AtomicU64 = AtomicU64::new(0);
static HIGH_WOKE: AtomicU64 = AtomicU64::new(0);

fn exits_at_once(_: u64) {}

fn high_sleeper(_: u64) {
    let _ = sched::sleep_ns(1_000_000);
    HIGH_WOKE.store(1, Ordering::Relaxed);
}

/// Joins the thread the check put in `THREAD_TO_JOIN`.
fn joiner(_: u64) {
    let target = THREAD_TO_JOIN.lock().clone();
    if let Some(t) = target {
        sched::join(&t);
        JOINED.store(1, Ordering::Relaxed);
    }
}

static THREAD_TO_JOIN: SpinLock<Option<Arc<Thread>>> = SpinLock::new(None);

/// A thread that exits while a tick makes a higher-priority sleeper
/// runnable must still wake its joiner. The exit is slowed (5 ms between
/// Dead and the wake-ups, a milestone-kernel switch) so that the sleeper's
/// 1 ms timer fires inside it: before the exit path kept interrupts off,
/// that preempted the dead thread for good and the joiner slept for ever.
fn exit_wakes_joiners_despite_ticks(_: &Context<'_>) -> Outcome {
    JOINED.store(0, Ordering::Relaxed);
    HIGH_WOKE.store(0, Ordering::Relaxed);
    let here = Some(sched::cpu_number());
    let exiting = Thread::new(
        "slow-exit",
        None,
        Entry::Kernel(exits_at_once, 0),
        priority::NORMAL,
    )
    .map_err(|e| detail!("{e}"))?;
    sched::set_affinity(&exiting, 1 << sched::cpu_number()).map_err(|e| detail!("{e:?}"))?;
    *THREAD_TO_JOIN.lock() = Some(exiting.clone());
    let j = kthread("joiner", joiner, 0, priority::NORMAL, here)?;
    let h = kthread("high-sleeper", high_sleeper, 0, priority::HIGH, here)?;
    sched::set_slow_exit(true);
    sched::start(exiting.clone()).map_err(|e| detail!("{e}"))?;
    let deadline = time::now_ns() + 1_000_000_000;
    while JOINED.load(Ordering::Relaxed) == 0 && time::now_ns() < deadline {
        let _ = sched::sleep_ns(5_000_000);
    }
    sched::set_slow_exit(false);
    let joined = JOINED.load(Ordering::Relaxed) == 1;
    let woke = HIGH_WOKE.load(Ordering::Relaxed) == 1;
    *THREAD_TO_JOIN.lock() = None;
    ensure!(
        joined,
        "the joiner was never woken after the thread exited (sleeper woke: {woke})"
    );
    sched::join(&j);
    sched::join(&h);
    Ok(detail!(
        "joined within 1 s although a HIGH sleeper's timer fired during the (slowed) exit"
    ))
}

fn mark_high(_: u64) {
    HIGH_RAN_AT.store(time::now_ns(), Ordering::Relaxed);
}

/// A higher-priority thread made ready runs before the (never yielding)
/// thread that started it continues for long: within two ticks.
fn priority_preempts(_: &Context<'_>) -> Outcome {
    HIGH_RAN_AT.store(0, Ordering::Relaxed);
    let started = time::now_ns();
    let high = kthread("high", mark_high, 0, priority::HIGH, None)?;
    while HIGH_RAN_AT.load(Ordering::Relaxed) == 0 && time::now_ns() < started + 100_000_000 {
        core::hint::spin_loop();
    }
    let ran = HIGH_RAN_AT.load(Ordering::Relaxed);
    sched::join(&high);
    ensure!(
        ran != 0,
        "the high-priority thread did not run within 100 ms"
    );
    let after = ran.saturating_sub(started);
    // One tick is 1 ms; the margin is for a host that starves QEMU
    // (without preemption it would not run at all while we spin).
    ensure!(
        after < 20_000_000,
        "it ran {after} ns after it was made ready"
    );
    Ok(detail!(
        "a HIGH thread preempted its NORMAL creator after {} us",
        after / 1000
    ))
}

fn sleeper(ms: u64) {
    let _ = sched::sleep_ns(ms * 1_000_000);
}

/// A kernel thread sleeping 50 ms wakes after 50–60 ms by the reference
/// clock, and the CPU went elsewhere meanwhile (the waiter blocked too).
fn sleep_blocks(_: &Context<'_>) -> Outcome {
    let reference = time::reference().ok_or_else(|| detail!("no reference clock"))?;
    let (switches_before, _) = sched::stats();
    // No sleep may be short; the upper bound is judged on the best of up
    // to three, since a starved vCPU thread wakes late (63 ms once, with
    // four vCPUs and a CPU hog on two host cores).
    let mut tries = 0;
    let (t, ns) = loop {
        tries += 1;
        let r0 = reference.counter();
        let t = kthread("sleeper", sleeper, 50, priority::NORMAL, None)?;
        sched::join(&t);
        let ns = reference.nanos_between(r0, reference.counter());
        ensure!(
            ns >= 50_000_000,
            "Sleep(50) took only {} us by {}",
            ns / 1000,
            reference.name()
        );
        if ns < 60_000_000 || tries == 3 {
            break (t, ns);
        }
    };
    let (switches_after, _) = sched::stats();
    ensure!(
        ns < 60_000_000,
        "Sleep(50) took {} us by {} (the best of {tries})",
        ns / 1000,
        reference.name()
    );
    ensure!(
        t.ticks() < 5,
        "the sleeper used {} ticks of CPU: it did not block",
        t.ticks()
    );
    Ok(detail!(
        "Sleep(50) took {} us by {} (try {tries}); {} switches, sleeper used {} ticks",
        ns / 1000,
        reference.name(),
        switches_after - switches_before,
        t.ticks()
    ))
}

/// `jmp $` in ring 3 is preempted (this thread keeps running) and ends
/// when asked to.
fn ring3_spin_is_preempted_and_killed(_: &Context<'_>) -> Outcome {
    use crate::mm::user_space::Access;
    use crate::task::{Image, Process};
    let code = [0xebu8, 0xfe]; // jmp $
    let image = Image {
        name: "spin",
        base: 0x40_0000,
        memory: &code,
        pages: &[Some(Access::EXECUTE)],
    };
    let process = Process::new("spin", &[image], 0x40_0000).map_err(|e| detail!("{e}"))?;
    let (thread, process) = crate::task::spawn(process).map_err(|e| detail!("{e}"))?;
    sched::sleep_ns(100_000_000).map_err(|e| detail!("{e}"))?;
    let ticks = thread.ticks();
    let still_running = thread.exit_code().is_none();
    thread.request_exit(0xdead);
    let code = sched::join(&thread);
    let status = process.lock().exit_status();
    ensure!(still_running, "the spinning program ended by itself");
    // Half the CPU would be 50; leave room for a starved host.
    ensure!(ticks >= 20, "it got only {ticks} ticks in 100 ms");
    ensure!(code == 0xdead, "exit code {code:#x}");
    ensure!(
        status.is_some_and(|s| s.code == 0xdead),
        "process status {status:?}"
    );
    Ok(detail!(
        "jmp $ ran {ticks} ticks while this thread slept 100 ms, then ended with {code:#x}"
    ))
}

fn acpi_tables(_: &Context<'_>) -> Outcome {
    let p = acpi::platform().ok_or_else(|| detail!("ACPI tables were not parsed"))?;
    for sig in [b"FACP", b"APIC", b"HPET"] {
        ensure!(
            p.tables.iter().any(|t| t == sig),
            "table {} missing from the XSDT/RSDT",
            core::str::from_utf8(sig).unwrap_or("?")
        );
    }
    ensure!(!p.cpus.is_empty(), "the MADT lists no enabled CPU");
    ensure!(
        p.cpus.contains(&lapic::id()),
        "this CPU's APIC id {} is not in the MADT {:?}",
        lapic::id(),
        p.cpus
    );
    ensure!(!p.io_apics.is_empty(), "the MADT lists no I/O APIC");
    ensure!(
        p.lapic_address & 0xfff == 0 && p.lapic_address != 0,
        "LAPIC address {:#x}",
        p.lapic_address
    );
    // QEMU's q35 routes the PIT (IRQ 0) to GSI 2 (an override).
    let (gsi0, _) = irq::isa_gsi(p, 0);
    ensure!(
        gsi0 == 2,
        "IRQ 0 maps to GSI {gsi0}, expected the override to 2"
    );
    let hpet = p.hpet.ok_or_else(|| detail!("no HPET"))?;
    let (pm1a, _) = p.pm1_control;
    ensure!(pm1a.is_some(), "the FADT has no PM1a control block");
    let s5 = p.s5.ok_or_else(|| detail!("no \\_S5 in the DSDT"))?;
    Ok(detail!(
        "rev {}, {} tables, {} CPU(s), {} I/O APIC(s), {} overrides (IRQ0→GSI{gsi0}), HPET {hpet:#x}, PM1a {:#x}, S5 SLP_TYP {}/{}",
        p.revision,
        p.tables.len(),
        p.cpus.len(),
        p.io_apics.len(),
        p.overrides.len(),
        pm1a.unwrap_or(0),
        s5.slp_typ_a,
        s5.slp_typ_b
    ))
}

fn pics_masked(ctx: &Context<'_>) -> Outcome {
    let report = ctx
        .platform
        .irq
        .ok_or_else(|| detail!("interrupts were not brought up"))?;
    let now = pic::masks();
    ensure!(
        report.pic_masks == (0xff, 0xff) && now == (0xff, 0xff),
        "PIC masks {:#04x?} after masking, {now:#04x?} now",
        report.pic_masks
    );
    Ok(detail!(
        "both 8259s remapped to {:#x}/{:#x} and masked; LAPIC {:?}, {} spurious so far",
        pic::PIC1_VECTOR,
        pic::PIC2_VECTOR,
        report.lapic,
        irq::spurious()
    ))
}

fn ioapic_routing(_: &Context<'_>) -> Outcome {
    let p = acpi::platform().ok_or_else(|| detail!("no ACPI"))?;
    // Route ISA IRQ 7 (the parallel port, which q35 does not have; the
    // keyboard's IRQ 1 belongs to the i8042 driver since M4) through its
    // GSI, read the entry back, then mask it again.
    let (gsi, trigger) = irq::isa_gsi(p, 7);
    let before = irq::redirection(gsi).ok_or_else(|| detail!("GSI {gsi} has no I/O APIC"))?;
    ensure!(
        before & (1 << 16) != 0,
        "GSI {gsi} was not masked at start: {before:#x}"
    );
    let vector = irq::allocate_vector(|_| {}).map_err(|e| detail!("{e}"))?;
    let routed = irq::route(gsi, vector, trigger);
    irq::free(vector);
    routed.map_err(|e| detail!("{e}"))?;
    let routed = irq::redirection(gsi).unwrap_or(0);
    irq::mask(gsi);
    let after = irq::redirection(gsi).unwrap_or(0);
    ensure!(
        routed & 0xff == u64::from(vector) && routed & (1 << 16) == 0,
        "routed entry {routed:#x}"
    );
    ensure!(
        routed >> 56 == u64::from(lapic::id()),
        "destination {} is not this CPU ({})",
        routed >> 56,
        lapic::id()
    );
    ensure!(after & (1 << 16) != 0, "mask did not stick: {after:#x}");
    Ok(detail!(
        "GSI {gsi} routed to allocated vector {vector:#x} ({routed:#x}) and masked again; {} timer interrupts so far",
        irq::count(irq::TIMER_VECTOR)
    ))
}

/// The TSC clock (`time::now_ns`) against the reference over 50 ms.
fn tsc_vs_reference(ctx: &Context<'_>) -> Outcome {
    let reference = time::reference().ok_or_else(|| detail!("no reference clock"))?;
    let t = ctx
        .platform
        .time
        .ok_or_else(|| detail!("timers not set up"))?;
    // Each clock reading is bracketed by two reference reads and taken
    // again when the bracket is wider than 100 µs (the host held the vCPU
    // up in between), as in `lapic_timer_rate`.
    let (r0, n0) = reference.bracketed(100_000, time::now_ns);
    reference.delay(50_000_000);
    let (r1, n1) = reference.bracketed(100_000, time::now_ns);
    let by_ref = reference.nanos_between(r0, r1);
    let by_tsc = n1 - n0;
    let error_ppm = by_tsc.abs_diff(by_ref) * 1_000_000 / by_ref.max(1);
    ensure!(
        error_ppm < 10_000,
        "over {by_ref} ns of {} the TSC clock counted {by_tsc} ns ({error_ppm} ppm off)",
        reference.name()
    );
    Ok(detail!(
        "{} ns by {} vs {by_tsc} ns by the TSC ({error_ppm} ppm); TSC {} MHz (PIT estimate {} MHz)",
        by_ref,
        reference.name(),
        t.tsc_hz.1 / 1_000_000,
        t.tsc_hz.0 / 1_000_000
    ))
}

/// The LAPIC timer's rate against the reference clock: the periodic tick
/// is paused, the counter runs masked from its maximum for 100 ms of the
/// reference, and the counts it took must make `tick_count` one tick of
/// `1 / TICK_HZ` within 2 %. Delivered tick interrupts over a window
/// before that are counted too; TCG may drop ticks the host had no time
/// to deliver, so they only need to be most of them.
fn lapic_timer_rate(ctx: &Context<'_>) -> Outcome {
    let reference = time::reference().ok_or_else(|| detail!("no reference clock"))?;
    let t = ctx
        .platform
        .time
        .ok_or_else(|| detail!("timers not set up"))?;
    ensure!(
        crate::arch::cpu::interrupts_enabled(),
        "interrupts are off in the milestone kernel"
    );
    ensure!(
        lapic::timer_lvt() & 0xff == u32::from(irq::TIMER_VECTOR)
            && lapic::timer_lvt() & (1 << 16) == 0,
        "LVT timer {:#x} is not the unmasked periodic tick",
        lapic::timer_lvt()
    );
    // Ticks delivered in a 100 ms window: the best of up to three, since
    // a starved vCPU thread coalesces ticks (see the bound below).
    let mut delivered = 0;
    let mut expected = 1;
    for _ in 0..3 {
        let k0 = time::ticks();
        let r0 = reference.counter();
        reference.delay(100_000_000);
        let got = time::ticks() - k0;
        let window = reference.nanos_between(r0, reference.counter());
        let want = (time::TICK_HZ * window / 1_000_000_000).max(1);
        if got * expected >= delivered * want {
            (delivered, expected) = (got, want);
        }
        if delivered * 4 >= expected {
            break;
        }
    }
    // Each reading of the LAPIC counter is bracketed by two reference
    // reads; a bracket wider than 100 µs means the host descheduled the
    // vCPU in between (QEMU without icount), so that reading is taken
    // again (a loaded host once put a 14 ms gap there: 13.7 % off).
    let (counted, ns) = crate::arch::cpu::without_interrupts(|| {
        lapic::timer_start_masked(u32::MAX);
        let (r0, c0) = reference.bracketed(100_000, lapic::timer_current);
        reference.delay(100_000_000);
        let (r1, c1) = reference.bracketed(100_000, lapic::timer_current);
        let ns = reference.nanos_between(r0, r1);
        lapic::timer_periodic(irq::TIMER_VECTOR, t.tick_count);
        (u64::from(c0.saturating_sub(c1)), ns)
    });
    // Ticks per second the programmed count gives, in thousandths.
    let rate_milli = counted * 1_000_000_000_000 / u64::from(t.tick_count).max(1) / ns.max(1);
    let off = rate_milli.abs_diff(time::TICK_HZ * 1000) * 1000 / (time::TICK_HZ * 1000);
    ensure!(
        off <= 20,
        "the counter took {counted} counts in {ns} ns of {}: {}.{:03} Hz for a {} Hz tick ({}.{}% off)",
        reference.name(),
        rate_milli / 1000,
        rate_milli % 1000,
        time::TICK_HZ,
        off / 10,
        off % 10
    );
    // Delivery is only a sanity bound: the counter's rate above is the
    // measurement. Without icount QEMU raises a periodic tick when its
    // vCPU thread gets the host CPU, and on a loaded host about half the
    // ticks of a 100 ms window were seen to coalesce (and 86 % once, with
    // four vCPUs and a CPU hog on two host cores: hence the best of three).
    ensure!(
        delivered * 4 >= expected,
        "only {delivered} of {expected} tick interrupts arrived"
    );
    Ok(detail!(
        "tick of {} counts = {}.{:03} Hz by {} ({}.{}% off from {} Hz); {delivered} of {expected} interrupts delivered",
        t.tick_count,
        rate_milli / 1000,
        rate_milli % 1000,
        reference.name(),
        off / 10,
        off % 10,
        time::TICK_HZ
    ))
}

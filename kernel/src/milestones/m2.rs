//! M2 checks: ring 3, system calls, isolation, PE programs with runtime.dll.
#![forbid(unsafe_code)]

use super::{detail, ensure, Check, Context, Detail, Outcome};
use crate::arch::cpu;
use crate::mm::user_space::{is_user_mapped, Access};
use crate::task::{self, ExitStatus, Image, Process};
use abi::status;

/// M2, in order.
pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M2",
        name: "user_protection",
        run: user_protection,
    },
    Check {
        milestone: "M2",
        name: "ring3_syscall_exit",
        run: ring3_syscall_exit,
    },
    Check {
        milestone: "M2",
        name: "ring3_exit_thread",
        run: ring3_exit_thread,
    },
    Check {
        milestone: "M2",
        name: "ring3_flags_do_not_leak",
        run: ring3_flags_do_not_leak,
    },
    Check {
        milestone: "M2",
        name: "ring3_fpu_state_is_clean",
        run: ring3_fpu_state_is_clean,
    },
    Check {
        milestone: "M2",
        name: "ring3_fault_does_not_leak",
        run: ring3_fault_does_not_leak,
    },
    Check {
        milestone: "M2",
        name: "ring3_bad_pointer",
        run: ring3_bad_pointer,
    },
    Check {
        milestone: "M2",
        name: "fixups_refuse_kernel_addresses",
        run: fixups_refuse_kernel_addresses,
    },
    Check {
        milestone: "M2",
        name: "user_copy_faults_come_back",
        run: user_copy_faults_come_back,
    },
    Check {
        milestone: "M2",
        name: "ring3_kernel_read_faults",
        run: ring3_kernel_read_faults,
    },
    Check {
        milestone: "M2",
        name: "ring3_isolation",
        run: ring3_isolation,
    },
    Check {
        milestone: "M2",
        name: "ring3_fault_kinds",
        run: ring3_fault_kinds,
    },
    Check {
        milestone: "M2",
        name: "pe_rejects_broken",
        run: pe_rejects_broken,
    },
    Check {
        milestone: "M2",
        name: "pe_hello_runs",
        run: pe_hello_runs,
    },
    Check {
        milestone: "M2",
        name: "pe_m2_tests_relocated",
        run: pe_m2_tests_relocated,
    },
    Check {
        milestone: "M2",
        name: "pe_fault_programs",
        run: pe_fault_programs,
    },
    Check {
        milestone: "M2",
        name: "user_fault_names_the_function",
        run: user_fault_names_the_function,
    },
];

/// Where the hand-assembled test programs are placed.
const CODE_BASE: u64 = 0x40_0000;

fn user_protection(_: &Context<'_>) -> Outcome {
    let has = cpu::user_protection_active();
    ensure!(
        has.smep && has.smap && has.umip,
        "CR4: {has:?} (QEMU -cpu max has all three)"
    );
    Ok(detail!("SMEP, SMAP and UMIP on"))
}

/// Runs a few bytes of machine code as a process; returns it after exit.
fn run_code(name: &str, code: &[u8]) -> Result<Process, Detail> {
    let image = Image {
        name,
        base: CODE_BASE,
        memory: code,
        pages: &[Some(Access::EXECUTE)],
    };
    let process = Process::new(name, &[image], CODE_BASE).map_err(|e| detail!("{name}: {e}"))?;
    Ok(task::run(process))
}

fn exit_of(p: &Process) -> Result<ExitStatus, Detail> {
    p.exit_status()
        .ok_or_else(|| detail!("{} has no exit status", p.name()))
}

/// Fails unless `p` exited by itself (no fault) with `code`.
fn expect_code(p: &Process, code: u32) -> Result<(), Detail> {
    let exit = exit_of(p)?;
    ensure!(
        exit == ExitStatus { code, fault: None },
        "{} {exit}, expected code {code:#x}",
        p.name()
    );
    Ok(())
}

fn ring3_syscall_exit(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let code = [
        0x31, 0xc0,                   // xor eax, eax        ; NOP
        0x0f, 0x05,                   // syscall
        0x48, 0x89, 0xc7,             // mov rdi, rax        ; 0 if NOP worked
        0x83, 0xc7, 0x2a,             // add edi, 42
        0xb8, 0x01, 0, 0, 0,          // mov eax, EXIT_PROCESS
        0x0f, 0x05,                   // syscall
        0x0f, 0x0b,                   // ud2                 ; never reached
    ];
    // A first run fills whatever the kernel keeps for reuse (spare thread
    // stacks); the second must give back every frame it took.
    expect_code(&run_code("exit42", &code)?, 42)?;
    let before = crate::mm::frame_alloc::stats().map(|s| s.used);
    let p = run_code("exit42", &code)?;
    expect_code(&p, 42)?;
    drop(p);
    let after = crate::mm::frame_alloc::stats().map(|s| s.used);
    ensure!(
        before == after,
        "process teardown leaked frames: {before:?} -> {after:?}"
    );
    Ok(detail!("IRETQ to ring 3, NOP syscall, EXIT_PROCESS(42) reached the kernel; teardown freed every frame"))
}

fn ring3_exit_thread(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let code = [
        0xbf, 0x07, 0, 0, 0,          // mov edi, 7
        0xb8, 0x02, 0, 0, 0,          // mov eax, EXIT_THREAD
        0x0f, 0x05,                   // syscall
        0x0f, 0x0b,                   // ud2                 ; never reached
    ];
    let p = run_code("exitthread", &code)?;
    expect_code(&p, 7)?;
    Ok(detail!(
        "EXIT_THREAD(7) of the only thread ended the process with code 7"
    ))
}

/// RFLAGS bits (Intel SDM Vol. 1 §3.4.3).
const NT: u64 = 0x4000;
const AC: u64 = 0x4_0000;
const DF: u64 = 0x400;
const IOPL: u64 = 0x3000;

/// `pushfq; or qword [rsp], bits; popfq`: sets RFLAGS bits in ring 3.
fn set_flags(bits: u64) -> [u8; 10] {
    let [b0, b1, b2, b3] = (bits as u32).to_le_bytes();
    [0x9c, 0x48, 0x81, 0x0c, 0x24, b0, b1, b2, b3, 0x9d]
}

fn ring3_flags_do_not_leak(_: &Context<'_>) -> Outcome {
    use crate::fault::entry_flags::{self, Entry};
    // POPFQ in ring 3 sets NT, AC and DF; its IOPL bits are ignored at
    // CPL 3 (Intel SDM Vol. 2B, POPF). The kernel records its own RFLAGS
    // at the top of the system-call dispatcher and of the user-fault path
    // whenever the ring-3 RFLAGS it saved have one of them.
    #[rustfmt::skip]
    let calls = [
        0x31, 0xc0,                                       // xor eax, eax   ; NOP
        0x0f, 0x05,                                       // syscall
        0xbf, 0x05, 0, 0, 0,                              // mov edi, 5
        0xb8, 0x01, 0, 0, 0,                              // mov eax, EXIT_PROCESS
        0x0f, 0x05,                                       // syscall
    ];
    let _ = entry_flags::take(Entry::Syscall);
    let _ = entry_flags::take(Entry::Fault);
    let all = NT | AC | DF;
    let code: alloc::vec::Vec<u8> = set_flags(all | IOPL)
        .iter()
        .chain(&calls)
        .copied()
        .collect();
    let p = run_code("flags", &code)?;
    expect_code(&p, 5)?;
    let (user, kernel) = entry_flags::take(Entry::Syscall);
    ensure!(
        user & all == all && user & IOPL == 0,
        "the program's RFLAGS at its system calls were {user:#x}, not NT|AC|DF with IOPL 0"
    );
    ensure!(
        kernel & (all | IOPL) == 0,
        "kernel RFLAGS {kernel:#x} in the system-call dispatcher (ring 3 had {user:#x})"
    );
    let syscall = kernel;
    // The same flags, then a fault instead of a system call: first without
    // DF, so that a leaked AC or NT is reported by a kernel that still
    // works (kernel code with DF set copies memory backwards).
    let mut fault = 0;
    for bits in [NT | AC, all] {
        let code: alloc::vec::Vec<u8> = set_flags(bits | IOPL)
            .iter()
            .chain(&[0x0f, 0x0b])
            .copied()
            .collect();
        let p = run_code("flags-ud2", &code)?;
        ensure!(
            exit_of(&p)?.code == status::ILLEGAL_INSTRUCTION,
            "exit {}",
            exit_of(&p)?
        );
        let (user, kernel) = entry_flags::take(Entry::Fault);
        ensure!(
            user & all == bits && user & IOPL == 0,
            "the program's RFLAGS at its fault were {user:#x}, not {bits:#x} with IOPL 0"
        );
        ensure!(
            kernel & (all | IOPL) == 0,
            "kernel RFLAGS {kernel:#x} in the user-fault path (ring 3 had {user:#x})"
        );
        fault |= kernel;
    }
    // And the next entry into ring 3 still works (an IRETQ with NT set faults).
    let p = run_code(
        "after-flags",
        &[0x31, 0xff, 0xb8, 0x01, 0, 0, 0, 0x0f, 0x05],
    )?;
    expect_code(&p, 0)?;
    Ok(detail!(
        "ring 3 with NT|AC|DF (IOPL ignored): kernel RFLAGS {syscall:#x} in the dispatcher, {fault:#x} in the fault path"
    ))
}

/// Layout of the FPU test page: code at 0, a message at 0x700, the image
/// to compare with at 0x800 and its compare mask (0xFF = compare) at 0xA00.
const FPU_MESSAGE: usize = 0x700;
const FPU_IMAGE: usize = 0x800;
const FPU_MASK: usize = 0xa00;
/// The writer's entry: FXRSTOR64 the image, DEBUG_WRITE "dirty\n", sleep
/// 200 ms, then the comparison.
#[rustfmt::skip]
const FPU_WRITER: [u8; 44] = [
    0x4c, 0x8d, 0x05, 0xf9, 0x07, 0x00, 0x00,   // lea r8, [rip + image]
    0x49, 0x0f, 0xae, 0x08,                     // fxrstor64 [r8]
    0xb8, 0x03, 0x00, 0x00, 0x00,               // mov eax, DEBUG_WRITE
    0x48, 0x8d, 0x3d, 0xe9, 0x06, 0x00, 0x00,   // lea rdi, [rip + message]
    0xbe, 0x06, 0x00, 0x00, 0x00,               // mov esi, 6
    0x0f, 0x05,                                 // syscall
    0xb8, 0x06, 0x00, 0x00, 0x00,               // mov eax, SLEEP
    0xbf, 0xc8, 0x00, 0x00, 0x00,               // mov edi, 200
    0x0f, 0x05,                                 // syscall
    0xeb, 0x1b,                                 // jmp compare (0x47)
];
/// At 0x40, the reader's entry and (from 0x47) the comparison: FXSAVE64
/// into a zeroed 512-byte buffer, compare it with the image under the
/// mask, exit with bit i set for each 16-byte row i that differs.
const FPU_READER_AT: usize = 0x40;
#[rustfmt::skip]
const FPU_READER: [u8; 84] = [
    0x4c, 0x8d, 0x05, 0xb9, 0x07, 0x00, 0x00,   // lea r8, [rip + image]
    0x48, 0x83, 0xe4, 0xf0,                     // compare: and rsp, -16
    0x48, 0x81, 0xec, 0x00, 0x02, 0x00, 0x00,   // sub rsp, 512
    0x48, 0x89, 0xe7,                           // mov rdi, rsp
    0xb9, 0x40, 0x00, 0x00, 0x00,               // mov ecx, 64
    0x31, 0xc0,                                 // xor eax, eax
    0xf3, 0x48, 0xab,                           // rep stosq
    0x48, 0x0f, 0xae, 0x04, 0x24,               // fxsave64 [rsp]
    0x31, 0xff,                                 // xor edi, edi
    0x31, 0xc9,                                 // xor ecx, ecx
    0x8a, 0x04, 0x0c,                           // 1: mov al, [rsp + rcx]
    0x41, 0x32, 0x04, 0x08,                     // xor al, [r8 + rcx]
    0x41, 0x22, 0x84, 0x08, 0x00, 0x02, 0x00, 0x00, // and al, [r8 + rcx + 512]
    0x74, 0x08,                                 // jz 2f
    0x89, 0xc8,                                 // mov eax, ecx
    0xc1, 0xe8, 0x04,                           // shr eax, 4
    0x0f, 0xab, 0xc7,                           // bts edi, eax
    0xff, 0xc1,                                 // 2: inc ecx
    0x81, 0xf9, 0x00, 0x02, 0x00, 0x00,         // cmp ecx, 512
    0x72, 0xdd,                                 // jb 1b
    0xb8, 0x01, 0x00, 0x00, 0x00,               // mov eax, EXIT_PROCESS
    0x0f, 0x05,                                 // syscall
    0x0f, 0x0b,                                 // ud2
];

/// An FXSAVE image (Intel SDM Vol. 1 §10.5.1, Table 10-2, 64-bit layout):
/// the clean state a new thread must start with (FCW 0x037F, MXCSR
/// 0x1F80, everything else zero), or with `dirty` a state with every
/// register and control field changed: FCW 0x0C7F (single precision,
/// round toward zero), FSW 0x2900 (TOP 5, C0), all eight tags valid,
/// MXCSR 0xFF80 (flush to zero, round toward zero), and a distinct
/// non-zero byte in each of the 10 bytes of ST0-7/MM0-7 and the 16 of
/// XMM0-15. FOP, FIP and FDP stay zero in both: a program sets them only
/// by running x87 instructions, and whether FXSAVE reports them then
/// depends on the CPU (SDM Vol. 1 §8.1.8 on FOP/FDP deprecation).
fn fxsave_image(dirty: bool) -> [u8; 512] {
    let mut a = [0u8; 512];
    let (fcw, fsw, ftw, mxcsr) = if dirty {
        (0x0c7fu16, 0x2900u16, 0xffu8, 0xff80u32)
    } else {
        (0x037f, 0, 0, 0x1f80)
    };
    a[0..2].copy_from_slice(&fcw.to_le_bytes());
    a[2..4].copy_from_slice(&fsw.to_le_bytes());
    a[4] = ftw;
    a[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    a[28..32].copy_from_slice(&0xffffu32.to_le_bytes()); // MXCSR_MASK
    if dirty {
        let registers = (0..8)
            .flat_map(|r| 32 + 16 * r..32 + 16 * r + 10)
            .chain(160..416);
        for i in registers {
            a[i] = (i as u8).wrapping_mul(37) | 0x80;
        }
    }
    a
}

/// Which bytes of an FXSAVE image the FPU checks compare: all of the
/// 416 bytes of state, except MXCSR_MASK (bytes 28-31, which the CPU fills
/// with the MXCSR bits it supports, whatever was restored); not bytes
/// 416-511 (reserved and software-available: no state; FXSAVE does not
/// write 464-511).
fn fxsave_mask() -> [u8; 512] {
    let mut m = [0u8; 512];
    m[..416].fill(0xff);
    m[28..32].fill(0);
    m
}

/// The FPU test page, comparing against the `dirty` or the clean image.
fn fpu_page(dirty: bool) -> alloc::vec::Vec<u8> {
    let mut page = alloc::vec![0u8; 4096];
    page[..FPU_WRITER.len()].copy_from_slice(&FPU_WRITER);
    page[FPU_READER_AT..FPU_READER_AT + FPU_READER.len()].copy_from_slice(&FPU_READER);
    page[FPU_MESSAGE..FPU_MESSAGE + 6].copy_from_slice(b"dirty\n");
    page[FPU_IMAGE..FPU_IMAGE + 512].copy_from_slice(&fxsave_image(dirty));
    page[FPU_MASK..FPU_MASK + 512].copy_from_slice(&fxsave_mask());
    page
}

/// A process of the FPU test page entered at `entry` (an offset).
fn fpu_process(name: &str, page: &[u8], entry: usize) -> Result<Process, Detail> {
    let image = Image {
        name,
        base: CODE_BASE,
        memory: page,
        pages: &[Some(Access::EXECUTE)],
    };
    Process::new(name, &[image], CODE_BASE + entry as u64).map_err(|e| detail!("{name}: {e}"))
}

/// Names the 16-byte rows of an FXSAVE image set in `rows`.
fn fxsave_rows(rows: u32) -> alloc::string::String {
    use core::fmt::Write;
    let mut out = alloc::string::String::new();
    for row in (0..32).filter(|r| rows & (1 << r) != 0) {
        let sep = if out.is_empty() { "" } else { ", " };
        let _ = match row {
            0 => write!(out, "{sep}FCW/FSW/FTW/FOP/FIP"),
            1 => write!(out, "{sep}FDP/MXCSR"),
            2..=9 => write!(out, "{sep}ST{}", row - 2),
            10..=25 => write!(out, "{sep}XMM{}", row - 10),
            _ => write!(out, "{sep}row {row}"),
        };
    }
    out
}

fn ring3_fpu_state_is_clean(_: &Context<'_>) -> Outcome {
    // Process A loads a dirty state into every x87/MMX/SSE register and
    // control field, says so, and sleeps; meanwhile a fresh process B
    // compares its whole FXSAVE image with the clean one.
    let dirty = fpu_page(true);
    let clean = fpu_page(false);
    let writer = fpu_process("fpu-writer", &dirty, 0)?;
    let (thread, shared) = task::spawn(writer).map_err(|e| detail!("fpu-writer: {e}"))?;
    let deadline = crate::time::now_ns() + 5_000_000_000;
    while !shared.lock().output().contains("dirty") {
        ensure!(
            crate::time::now_ns() < deadline,
            "fpu-writer never loaded its state"
        );
        task::sched::sleep_ns(1_000_000).map_err(|e| detail!("{e}"))?;
    }
    let reader = task::run(fpu_process("fpu-reader", &clean, FPU_READER_AT)?);
    let seen_live = exit_of(&reader)?;
    task::sched::join(&thread);
    drop(thread);
    let writer = task::reclaim(shared).ok_or_else(|| detail!("fpu-writer still referenced"))?;
    let kept = exit_of(&writer)?;
    // And once more after A is gone.
    let reader = task::run(fpu_process("fpu-reader", &clean, FPU_READER_AT)?);
    let seen_after = exit_of(&reader)?;
    let clean_exit = |e: ExitStatus| e.fault.is_none() && e.code == 0;
    ensure!(
        clean_exit(seen_live),
        "a new process, while another slept with a dirty FPU state, saw {} ({seen_live})",
        fxsave_rows(seen_live.code)
    );
    ensure!(
        clean_exit(kept),
        "the dirty process lost {} across its sleep ({kept})",
        fxsave_rows(kept.code)
    );
    ensure!(
        clean_exit(seen_after),
        "a new process after the dirty one ended saw {} ({seen_after})",
        fxsave_rows(seen_after.code)
    );
    Ok(detail!(
        "whole FXSAVE image (x87/MMX, XMM0-15, FCW, FSW, FTW, MXCSR) clean in a new process while another slept dirty and after it ended; the sleeper kept its own"
    ))
}

fn ring3_fault_does_not_leak(_: &Context<'_>) -> Outcome {
    // Warm up once (first-use allocations), then compare.
    drop(run_code("leak-warmup", &[0x0f, 0x0b])?);
    let heap = crate::mm::heap::stats();
    let frames = crate::mm::frame_alloc::stats().map(|s| s.used);
    for _ in 0..3 {
        drop(run_code("leak-ud2", &[0x0f, 0x0b])?);
    }
    let heap_after = crate::mm::heap::stats();
    ensure!(
        heap_after.allocations == heap.allocations && heap_after.allocated == heap.allocated,
        "heap {} allocations / {} bytes -> {} / {}",
        heap.allocations,
        heap.allocated,
        heap_after.allocations,
        heap_after.allocated
    );
    ensure!(
        crate::mm::frame_alloc::stats().map(|s| s.used) == frames,
        "frames leaked"
    );
    Ok(detail!(
        "three faulting processes left heap ({} allocations) and frames as they were",
        heap.allocations
    ))
}

fn ring3_bad_pointer(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let code = [
        0xb8, 0x03, 0, 0, 0,                                  // mov eax, DEBUG_WRITE
        0x48, 0xbf, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff,          // mov rdi, 0xffff800000000000
        0xbe, 0x10, 0, 0, 0,                                  // mov esi, 16
        0x0f, 0x05,                                           // syscall
        0x48, 0x89, 0xc7,                                     // mov rdi, rax
        0xb8, 0x01, 0, 0, 0,                                  // mov eax, EXIT_PROCESS
        0x0f, 0x05,                                           // syscall
    ];
    let p = run_code("badptr", &code)?;
    let want = abi::encode(Err(abi::Error::BadPointer)) as u32;
    expect_code(&p, want)?;
    Ok(detail!(
        "DEBUG_WRITE from a kernel address returned BadPointer to ring 3, no kernel fault"
    ))
}

fn ring3_kernel_read_faults(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let code = [
        0x48, 0xa1, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff,   // mov rax, [0xffffffff80000000]
        0xbf, 0xad, 0x0b, 0, 0,                               // mov edi, 0xbad
        0xb8, 0x01, 0, 0, 0,                                  // mov eax, EXIT_PROCESS
        0x0f, 0x05,                                           // syscall
    ];
    let p = run_code("kread", &code)?;
    let exit = exit_of(&p)?;
    ensure!(exit.code == status::ACCESS_VIOLATION, "exit {exit}");
    ensure!(
        matches!(exit.fault, Some((14, 0xffff_ffff_8000_0000, _))),
        "fault {:?}",
        exit.fault
    );
    Ok(detail!(
        "reading kernel text from ring 3: #PF, process ended with ACCESS_VIOLATION, kernel running"
    ))
}

fn ring3_isolation(_: &Context<'_>) -> Outcome {
    let probe = abi::testing::ISOLATION_PROBE_ADDRESS;
    // Process A owns a page at the probe address.
    let ret = [0xc3u8];
    let image = Image {
        name: "owner",
        base: CODE_BASE,
        memory: &ret,
        pages: &[Some(Access::EXECUTE)],
    };
    let mut owner = Process::new("owner", &[image], CODE_BASE).map_err(|e| detail!("{e}"))?;
    owner
        .space_mut()
        .map_page(probe, b"secret of process A", Access::READ_WRITE)
        .map_err(|e| detail!("{e}"))?;
    ensure!(
        is_user_mapped(owner.space(), probe),
        "owner's page not mapped"
    );
    // Process B reads the same address.
    let [a0, a1, a2, a3] = (probe as u32).to_le_bytes();
    #[rustfmt::skip]
    let code = [
        0x8b, 0x04, 0x25, a0, a1, a2, a3,                     // mov eax, [probe]
        0xbf, 0xad, 0x0b, 0, 0,                               // mov edi, 0xbad
        0xb8, 0x01, 0, 0, 0,                                  // mov eax, EXIT_PROCESS
        0x0f, 0x05,                                           // syscall
    ];
    let image = Image {
        name: "peek",
        base: CODE_BASE,
        memory: &code,
        pages: &[Some(Access::EXECUTE)],
    };
    let peeker = Process::new("peek", &[image], CODE_BASE).map_err(|e| detail!("{e}"))?;
    // Asked before it runs: an ended process's space is already freed.
    ensure!(
        !is_user_mapped(peeker.space(), probe),
        "the page leaked into process B"
    );
    let peeker = task::run(peeker);
    let exit = exit_of(&peeker)?;
    ensure!(exit.code == status::ACCESS_VIOLATION, "process B {exit}");
    ensure!(
        matches!(exit.fault, Some((14, a, _)) if a == probe),
        "fault {:?}",
        exit.fault
    );
    Ok(detail!(
        "process B faulted reading {probe:#x}, which only process A maps"
    ))
}

/// Whether a fault's `vector` is the `expected` one. A stack access at a
/// non-canonical address raises #SS (12; Intel SDM Vol. 3A §6.15); QEMU's
/// TCG raises #GP (13) for every non-canonical address instead, so 13
/// stands for 12 there (the status must be the same either way).
fn vector_is(expected: u8, vector: u8) -> bool {
    vector == expected || (expected == 12 && vector == 13)
}

fn ring3_fault_kinds(_: &Context<'_>) -> Outcome {
    // A CLI in the last byte of the only code page: the kernel's decoder
    // must read what is mapped, not 15 bytes or nothing.
    let mut cli_at_end = alloc::vec![0u8; 4096];
    cli_at_end[..5].copy_from_slice(&[0xe9, 0xfa, 0x0f, 0, 0]); // jmp 0xfff
    cli_at_end[4095] = 0xfa;
    #[rustfmt::skip]
    let cases: [(&str, &[u8], u32, u8); 9] = [
        ("ud2", &[0x0f, 0x0b], status::ILLEGAL_INSTRUCTION, 6),
        ("div0", &[0x31, 0xc9, 0xf7, 0xf1], status::INTEGER_DIVIDE_BY_ZERO, 0), // xor ecx,ecx; div ecx
        ("cli", &[0xfa], status::PRIVILEGED_INSTRUCTION, 13),
        ("int3", &[0xcc], status::BREAKPOINT, 3),
        // REX.W SYSRET, and OUT DX, AX behind 66 and a CS override.
        ("rex-sysret", &[0x48, 0x0f, 0x07], status::PRIVILEGED_INSTRUCTION, 13),
        ("prefixed-out", &[0x66, 0x2e, 0xef], status::PRIVILEGED_INSTRUCTION, 13),
        ("cli-page-end", &cli_at_end, status::PRIVILEGED_INSTRUCTION, 13),
        // DS: mov rax, [0x8000000000000000]: #GP, but nothing privileged.
        (
            "noncanonical",
            &[0x3e, 0x48, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0x80],
            status::ACCESS_VIOLATION,
            13,
        ),
        // mov rsp, 0x800000001000; push rax: a non-canonical stack access.
        (
            "stack-noncanonical",
            &[0x48, 0xbc, 0x00, 0x10, 0, 0, 0, 0x80, 0, 0, 0x50],
            status::ACCESS_VIOLATION,
            12,
        ),
    ];
    for (name, code, want, vector) in cases {
        let p = run_code(name, code)?;
        let exit = exit_of(&p)?;
        ensure!(
            exit.code == want,
            "{name}: {exit}, expected status {want:#x}"
        );
        ensure!(
            exit.fault.is_some_and(|f| vector_is(vector, f.0)),
            "{name}: fault {:?}, expected vector {vector}",
            exit.fault
        );
    }
    Ok(detail!(
        "#UD, #DE, #GP (cli; REX.W sysret; 66 2E out; cli in a page's last byte; a non-canonical load), a non-canonical push (#SS; #GP under TCG) and #BP in ring 3 each ended only their process"
    ))
}

fn fixups_refuse_kernel_addresses(_: &Context<'_>) -> Outcome {
    use crate::arch::exceptions::{fixup_accepts, fixup_sites};
    // The dispatcher resumes a kernel fault at a fixup only if
    // `fixup_accepts` says so. Taking a refused one for real would stop the
    // kernel, so this asks the rule itself, for every `.extable` site: a
    // #PF at a user address is always the user's; a #PF at a kernel
    // address only a probe's (M0's page-fault checks take those for
    // real), never a user copy's.
    let user = abi::testing::ISOLATION_PROBE_ADDRESS;
    let kernel = 0xffff_ffff_8000_0000;
    let (mut probes, mut copies) = (0, 0);
    for rip in fixup_sites() {
        ensure!(
            fixup_accepts(rip, 14, user),
            "fixup at {rip:#x} refuses a #PF at user address {user:#x}"
        );
        if fixup_accepts(rip, 14, kernel) {
            probes += 1;
        } else {
            copies += 1;
            ensure!(
                !fixup_accepts(rip, 13, 0) && !fixup_accepts(rip, 14, 0),
                "user-copy fixup at {rip:#x} accepts a #GP or a #PF at 0"
            );
        }
    }
    ensure!(
        copies > 0,
        "all {probes} fixup sites accept a #PF at kernel address {kernel:#x}"
    );
    ensure!(probes > 0, "no fixup site is a probe's");
    Ok(detail!(
        "{copies} user-copy fixup sites take only a #PF at a user address; {probes} probe sites take any"
    ))
}

fn user_copy_faults_come_back(_: &Context<'_>) -> Outcome {
    use crate::mm::user_copy::{check_mapped, read_checked_part, read_rows_checked_part};
    // The copies behind every system call, made on a user address that
    // nothing maps here (the checks before them are skipped on purpose):
    // each must fault, resume at its fixup and say BadPointer. Lengths
    // take the 8-byte path and, from AVX_MIN on, the YMM one.
    let addr = abi::testing::ISOLATION_PROBE_ADDRESS;
    ensure!(
        check_mapped(addr, 8192, false).is_err(),
        "{addr:#x} is mapped in the milestone thread's address space"
    );
    let mut buf = alloc::vec![0u8; 8192];
    let before = crate::arch::exceptions::recovered_count();
    let avx_min = crate::arch::user_copy::AVX_MIN;
    let lengths = [7, 64, avx_min, 4096 + 13];
    for len in lengths {
        let r = read_checked_part(addr, &mut buf[..len]);
        ensure!(
            r == Err(abi::Error::BadPointer),
            "a {len}-byte copy from {addr:#x} gave {r:?}"
        );
    }
    let rows = read_rows_checked_part(addr, 4096, &mut buf, 2048, 1024, 4);
    ensure!(
        rows == Err(abi::Error::BadPointer),
        "4 rows of 1024 bytes from {addr:#x} gave {rows:?}"
    );
    let recovered = crate::arch::exceptions::recovered_count() - before;
    let copies = lengths.len() as u64 + 1;
    ensure!(
        recovered >= copies,
        "{recovered} faults resumed at a fixup, not {copies}"
    );
    ensure!(
        buf.iter().all(|&b| b == 0),
        "a refused copy wrote into the kernel buffer"
    );
    Ok(detail!(
        "copies of {lengths:?} bytes and 4 rows of 1024 from unmapped {addr:#x} each came back BadPointer through a fixup ({recovered} recovered; {} path from {avx_min} bytes)",
        if crate::arch::fpu::avx() { "YMM" } else { "8-byte" }
    ))
}

use crate::pe::{spawn, Placement, SpawnError};
use ::pe::PeError;

/// How far from its preferred base m2-tests.exe is loaded.
const RELOCATION_OFFSET: u64 = 0x1000_0000;

fn pe_rejects_broken(ctx: &Context<'_>) -> Outcome {
    type Want = fn(&PeError) -> bool;
    let cases: [(&str, &str, Want); 4] = [
        ("broken-truncated.exe", "truncated", |e| {
            matches!(e, PeError::Truncated { .. })
        }),
        ("broken-magic.exe", "bad DOS signature", |e| {
            matches!(e, PeError::BadDosSignature(_))
        }),
        ("broken-missing-dll.exe", "missing DLL", |e| {
            matches!(e, PeError::MissingDll(_))
        }),
        ("broken-missing-export.exe", "missing export", |e| {
            matches!(e, PeError::MissingExport { .. })
        }),
    ];
    let mut seen = alloc::vec::Vec::new();
    for (name, what, want) in cases {
        match spawn(ctx.info, name, Placement::Preferred) {
            Ok(_) => return Err(detail!("{name} was accepted")),
            Err(SpawnError::Pe(e)) if want(&e) => seen.push(alloc::format!("{name}: {e}")),
            Err(e) => return Err(detail!("{name}: expected {what}, got {e}")),
        }
    }
    for line in &seen {
        log::info!("rejected as expected: {line}");
    }
    Ok(detail!(
        "truncated, bad magic, missing DLL and missing export each refused with their own error"
    ))
}

fn pe_hello_runs(ctx: &Context<'_>) -> Outcome {
    let (process, plan) =
        spawn(ctx.info, "hello.exe", Placement::Preferred).map_err(|e| detail!("{e}"))?;
    ensure!(
        plan.modules.len() == 2,
        "{} modules loaded, expected hello.exe + runtime.dll",
        plan.modules.len()
    );
    let p = task::run(process);
    expect_code(&p, 0)?;
    ensure!(
        p.output().contains("Hello from hello.exe"),
        "output was {:?}",
        p.output()
    );
    let images = p.images().len();
    Ok(detail!(
        "hello.exe + runtime.dll ({images} images) printed through runtime.dll and exited 0"
    ))
}

fn pe_m2_tests_relocated(ctx: &Context<'_>) -> Outcome {
    let (process, plan) = spawn(
        ctx.info,
        "m2-tests.exe",
        Placement::ProgramShifted(RELOCATION_OFFSET),
    )
    .map_err(|e| detail!("{e}"))?;
    let exe = &plan.modules[0];
    ensure!(
        exe.image.base == exe.pe.preferred_base() + RELOCATION_OFFSET,
        "m2-tests.exe at {:#x}",
        exe.image.base
    );
    ensure!(
        exe.image.relocations_applied > 0,
        "no relocation was applied"
    );
    let relocations = exe.image.relocations_applied;
    let p = task::run(process);
    expect_code(&p, 0)?;
    Ok(detail!(
        "m2-tests.exe loaded {RELOCATION_OFFSET:#x} above its preferred base ({relocations} relocations) and passed"
    ))
}

/// `m2-tests.exe fault` writes to an unmapped page three calls deep: the
/// fault's user call stack names the three functions, innermost first,
/// each in m2-tests.exe (from its COFF symbol table), and goes on into the
/// Init library's entry below them.
fn user_fault_names_the_function(ctx: &Context<'_>) -> Outcome {
    let mut process =
        crate::pe::spawn_program(ctx.info, "m2-tests.exe", false).map_err(|e| detail!("{e}"))?;
    process.set_cmdline("fault".into());
    let p = task::run(process);
    let exit = exit_of(&p)?;
    ensure!(
        exit.code == status::ACCESS_VIOLATION && exit.fault.is_some_and(|f| f.0 == 14),
        "m2-tests.exe fault: {exit}, expected a #PF with status {:#x}",
        status::ACCESS_VIOLATION
    );
    let stack = p.fault_stack();
    let mut from = 0;
    for function in [
        "m2_tests::fault::inner+",
        "m2_tests::fault::middle+",
        "m2_tests::fault::outer+",
    ] {
        let at = stack[from..]
            .iter()
            .position(|l| l.contains(" m2-tests.exe+") && l.contains(function))
            .ok_or_else(|| {
                detail!(
                    "{function} is not in the call stack (after frame {from}): {}",
                    stack.join(" | ")
                )
            })?;
        from += at + 1;
    }
    ensure!(
        stack.len() > from,
        "the walk stopped at outer: {}",
        stack.join(" | ")
    );
    Ok(detail!(
        "{} frames, inner/middle/outer named from m2-tests.exe's symbol table",
        stack.len()
    ))
}

fn pe_fault_programs(ctx: &Context<'_>) -> Outcome {
    // Where the #PF (or #SS) must have been: (what, test on the address).
    type Where = fn(u64, &abi::ProcessInfo) -> bool;
    let anywhere: (&str, Where) = ("-", |_, _| true);
    let zero: (&str, Where) = ("0", |a, _| a == 0);
    let cases: [(&str, u32, u8, (&str, Where)); 9] = [
        ("fault-pf.exe", status::ACCESS_VIOLATION, 14, zero),
        ("fault-gp.exe", status::PRIVILEGED_INSTRUCTION, 13, anywhere),
        ("fault-ud.exe", status::ILLEGAL_INSTRUCTION, 6, anywhere),
        ("fault-de.exe", status::INTEGER_DIVIDE_BY_ZERO, 0, anywhere),
        (
            "fault-kread.exe",
            status::ACCESS_VIOLATION,
            14,
            ("0xffffffff80000000", |a, _| a == 0xffff_ffff_8000_0000),
        ),
        ("fault-ss.exe", status::ACCESS_VIOLATION, 12, zero),
        (
            "fault-sysret.exe",
            status::PRIVILEGED_INSTRUCTION,
            13,
            anywhere,
        ),
        // The last page of the stack reservation, or the one below it.
        (
            "fault-stack.exe",
            status::STACK_OVERFLOW,
            14,
            ("the stack's guard", |a, i| {
                let bottom = i.stack_top - i.stack_size;
                (bottom - 4096..bottom + 4096).contains(&a)
            }),
        ),
        // 64 KiB below RSP: inside the reservation, above its guard page.
        (
            "fault-skip.exe",
            status::ACCESS_VIOLATION,
            14,
            ("the stack reservation above its guard", |a, i| {
                (i.stack_top - i.stack_size + 4096..i.stack_top).contains(&a)
            }),
        ),
    ];
    let mut stack_fault = 0;
    for (name, want, vector, (place, at)) in cases {
        let (process, _) =
            spawn(ctx.info, name, Placement::Preferred).map_err(|e| detail!("{name}: {e}"))?;
        let info = process.info();
        let p = task::run(process);
        let exit = exit_of(&p)?;
        ensure!(
            exit.code == want
                && matches!(exit.fault, Some((v, a, _)) if vector_is(vector, v) && at(a, &info)),
            "{name}: {exit}, expected status {want:#x}, vector {vector}, address {place}"
        );
        if vector == 12 {
            stack_fault = exit.fault.map_or(0, |f| f.0);
        }
    }
    // fault-peek.exe reads a page that only another live process maps.
    let (mut owner, _) =
        spawn(ctx.info, "hello.exe", Placement::Preferred).map_err(|e| detail!("{e}"))?;
    let probe = abi::testing::ISOLATION_PROBE_ADDRESS;
    owner
        .space_mut()
        .map_page(probe, b"secret", Access::READ_WRITE)
        .map_err(|e| detail!("{e}"))?;
    let (peek, _) =
        spawn(ctx.info, "fault-peek.exe", Placement::Preferred).map_err(|e| detail!("{e}"))?;
    ensure!(
        peek.root() != owner.root(),
        "the two processes share a PML4"
    );
    let p = task::run(peek);
    let exit = exit_of(&p)?;
    ensure!(
        exit.code == status::ACCESS_VIOLATION
            && matches!(exit.fault, Some((14, a, _)) if a == probe),
        "fault-peek.exe {exit}, expected a #PF at {probe:#x}"
    );
    let (stack_fault, _) = crate::arch::exceptions::vector_name(stack_fault);
    Ok(detail!("faults.exe as #PF at 0, #GP (cli, REX.W sysret), #UD, #DE, kernel read at its address, non-canonical push ({stack_fault}), stack overflow, a skipped stack page and cross-process peek at the probe address: each ended only itself"))
}

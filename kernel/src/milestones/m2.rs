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

fn ring3_flags_do_not_leak(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let code = [
        0x9c,                                             // pushfq
        0x48, 0x81, 0x0c, 0x24, 0x00, 0x40, 0x04, 0x00,   // or qword [rsp], NT|AC
        0x9d,                                             // popfq
        0xbf, 0x05, 0, 0, 0,                              // mov edi, 5
        0xb8, 0x01, 0, 0, 0,                              // mov eax, EXIT_PROCESS
        0x0f, 0x05,                                       // syscall
    ];
    let p = run_code("flags", &code)?;
    expect_code(&p, 5)?;
    let after_syscall = cpu::rflags();
    // The same flags, then a fault instead of a system call.
    let mut faulting = code;
    faulting[10..].copy_from_slice(&[
        0x0f, 0x0b, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
    ]);
    let p = run_code("flags-ud2", &faulting)?;
    ensure!(
        exit_of(&p)?.code == status::ILLEGAL_INSTRUCTION,
        "exit {}",
        exit_of(&p)?
    );
    let after_fault = cpu::rflags();
    const NT_AC: u64 = 0x4000 | 0x4_0000;
    ensure!(
        after_syscall & NT_AC == 0,
        "kernel RFLAGS {after_syscall:#x} after the exit call"
    );
    ensure!(
        after_fault & NT_AC == 0,
        "kernel RFLAGS {after_fault:#x} after the fault"
    );
    // And the next entry into ring 3 still works (an IRETQ with NT set faults).
    let p = run_code(
        "after-flags",
        &[0x31, 0xff, 0xb8, 0x01, 0, 0, 0, 0x0f, 0x05],
    )?;
    expect_code(&p, 0)?;
    Ok(detail!(
        "NT and AC set in ring 3 stay there: kernel RFLAGS {after_syscall:#x} / {after_fault:#x}"
    ))
}

fn ring3_fpu_state_is_clean(_: &Context<'_>) -> Outcome {
    #[rustfmt::skip]
    let writer = [
        0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // mov rax, 0x1122334455667788
        0x66, 0x48, 0x0f, 0x6e, 0xc0,                               // movq xmm0, rax
        0x66, 0x48, 0x0f, 0x6e, 0xf8,                               // movq xmm7, rax
        0x31, 0xff,                                                 // xor edi, edi
        0xb8, 0x01, 0, 0, 0,                                        // mov eax, EXIT_PROCESS
        0x0f, 0x05,                                                 // syscall
    ];
    #[rustfmt::skip]
    let reader = [
        0x66, 0x48, 0x0f, 0x7e, 0xc7,                               // movq rdi, xmm0
        0x66, 0x48, 0x0f, 0x7e, 0xf8,                               // movq rax, xmm7
        0x48, 0x09, 0xc7,                                           // or rdi, rax
        0x48, 0x89, 0xf8,                                           // mov rax, rdi
        0x48, 0xc1, 0xe8, 0x20,                                     // shr rax, 32
        0x09, 0xc7,                                                 // or edi, eax
        0xb8, 0x01, 0, 0, 0,                                        // mov eax, EXIT_PROCESS
        0x0f, 0x05,                                                 // syscall
    ];
    let p = run_code("sse-writer", &writer)?;
    ensure!(exit_of(&p)?.code == 0, "writer {}", exit_of(&p)?);
    let p = run_code("sse-reader", &reader)?;
    let exit = exit_of(&p)?;
    ensure!(
        exit == ExitStatus {
            code: 0,
            fault: None
        },
        "the next process saw XMM bits {:#x}",
        exit.code
    );
    Ok(detail!(
        "XMM0/XMM7 written by one process read as zero in the next"
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
    let peeker = run_code("peek", &code)?;
    let exit = exit_of(&peeker)?;
    ensure!(
        !is_user_mapped(peeker.space(), probe),
        "the page leaked into process B"
    );
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

fn ring3_fault_kinds(_: &Context<'_>) -> Outcome {
    let cases: [(&str, &[u8], u32, u8); 4] = [
        ("ud2", &[0x0f, 0x0b], status::ILLEGAL_INSTRUCTION, 6),
        (
            "div0",
            &[0x31, 0xc9, 0xf7, 0xf1],
            status::INTEGER_DIVIDE_BY_ZERO,
            0,
        ), // xor ecx,ecx; div ecx
        ("cli", &[0xfa], status::PRIVILEGED_INSTRUCTION, 13),
        ("int3", &[0xcc], status::BREAKPOINT, 3),
    ];
    for (name, code, want, vector) in cases {
        let p = run_code(name, code)?;
        let exit = exit_of(&p)?;
        ensure!(
            exit.code == want,
            "{name}: {exit}, expected status {want:#x}"
        );
        ensure!(
            exit.fault.map(|f| f.0) == Some(vector),
            "{name}: fault {:?}",
            exit.fault
        );
    }
    Ok(detail!(
        "#UD, #DE, #GP (cli) and #BP in ring 3 each ended only their process"
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

fn pe_fault_programs(ctx: &Context<'_>) -> Outcome {
    let cases = [
        ("fault-pf.exe", status::ACCESS_VIOLATION, 14),
        ("fault-gp.exe", status::PRIVILEGED_INSTRUCTION, 13),
        ("fault-ud.exe", status::ILLEGAL_INSTRUCTION, 6),
        ("fault-de.exe", status::INTEGER_DIVIDE_BY_ZERO, 0),
        ("fault-kread.exe", status::ACCESS_VIOLATION, 14),
    ];
    for (name, want, vector) in cases {
        let (process, _) =
            spawn(ctx.info, name, Placement::Preferred).map_err(|e| detail!("{name}: {e}"))?;
        let p = task::run(process);
        let exit = exit_of(&p)?;
        ensure!(
            exit.code == want && exit.fault.map(|f| f.0) == Some(vector),
            "{name}: {exit}"
        );
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
        exit.code == status::ACCESS_VIOLATION,
        "fault-peek.exe {exit}"
    );
    Ok(detail!("faults.exe as #PF, #GP, #UD, #DE, kernel read and cross-process peek: each ended only itself"))
}

//! Fault-tolerant memory probes: a fault inside them returns an error.
//!
//! Each probe's access instruction has an entry in `.extable`; when it
//! faults, the exception dispatcher resumes at the fixup with the fault's
//! vector, error code and CR2 in RAX/RDX (see `exceptions.rs`). The same
//! mechanism will carry the checked user-memory copies.

use super::exceptions::PROBE_FAULT;
use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

global_asm!(
    ".section .text.probe, \"ax\"",
    // The memory probes' instructions lie between these two labels (one
    // section of one asm block, so nothing else lands in between).
    ".global ferrite_probe_access_start",
    "ferrite_probe_access_start:",
    ".global ferrite_probe_read_u8",
    "ferrite_probe_read_u8:",
    "    xor edx, edx",
    "2:  movzx eax, byte ptr [rdi]",
    "3:  ret",
    ".global ferrite_probe_read_u32",
    "ferrite_probe_read_u32:",
    "    xor edx, edx",
    "7:  mov eax, dword ptr [rdi]",
    "9:  ret",
    ".global ferrite_probe_rewrite_u8",
    "ferrite_probe_rewrite_u8:",
    "    xor edx, edx",
    "4:  movzx eax, byte ptr [rdi]",
    "5:  mov byte ptr [rdi], al",
    "6:  ret",
    ".global ferrite_probe_access_end",
    "ferrite_probe_access_end:",
    // Execute probe: call the target; if the fetch faults, the dispatcher
    // restores RSP from EXEC_PROBE_RSP and resumes at 8: (see exec_fixup).
    ".global ferrite_probe_exec",
    "ferrite_probe_exec:",
    "    mov [rip + {rsp}], rsp",
    "    mov [rip + {target}], rdi",
    "    call rdi",
    "    xor eax, eax",
    "    xor edx, edx",
    "8:  mov qword ptr [rip + {target}], 0",
    "    ret",
    ".global ferrite_probe_exec_fixup",
    "ferrite_probe_exec_fixup = 8b",
    ".section .extable, \"a\"",
    "    .quad 2b, 3b",
    "    .quad 7b, 9b",
    "    .quad 4b, 6b",
    "    .quad 5b, 6b",
    rsp = sym EXEC_PROBE_RSP,
    target = sym EXEC_PROBE_TARGET,
);

/// Target of the execute probe in progress (0 when none).
static EXEC_PROBE_TARGET: AtomicU64 = AtomicU64::new(0);
/// RSP at the start of the execute probe in progress.
static EXEC_PROBE_RSP: AtomicU64 = AtomicU64::new(0);

/// If a kernel fault at `rip` is the execute probe's fetch, where to resume
/// (RIP, RSP).
pub(super) fn exec_fixup(rip: u64) -> Option<(u64, u64)> {
    let target = EXEC_PROBE_TARGET.load(Ordering::Relaxed);
    if target == 0 || rip != target {
        return None;
    }
    Some((
        ferrite_probe_exec_fixup as *const () as u64,
        EXEC_PROBE_RSP.load(Ordering::Relaxed),
    ))
}

/// Whether `rip` is one of the memory probes' accesses ([`read_u8`],
/// [`rewrite_u8`]): those may fault on any address, kernel ones included,
/// and take their fixup for it.
pub(super) fn is_probe_access(rip: u64) -> bool {
    let start = ferrite_probe_access_start as *const () as u64;
    let end = ferrite_probe_access_end as *const () as u64;
    (start..end).contains(&rip)
}

/// RAX:RDX as returned by the probe routines (SysV returns a 16-byte
/// aggregate of two integers in RAX:RDX).
#[repr(C)]
struct ProbeReturn {
    rax: u64,
    rdx: u64,
}

extern "C" {
    fn ferrite_probe_read_u8(addr: u64) -> ProbeReturn;
    fn ferrite_probe_read_u32(addr: u64) -> ProbeReturn;
    fn ferrite_probe_rewrite_u8(addr: u64) -> ProbeReturn;
    fn ferrite_probe_exec(addr: u64) -> ProbeReturn;
    fn ferrite_probe_exec_fixup();
    fn ferrite_probe_access_start();
    fn ferrite_probe_access_end();
}

/// A fault taken by a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeFault {
    /// Exception vector (14 for #PF, 13 for #GP, ...).
    pub vector: u8,
    /// The CPU's error code.
    pub error_code: u32,
    /// CR2 at the fault (the faulting linear address for #PF).
    pub address: u64,
}

fn decode(ret: ProbeReturn) -> Result<u8, ProbeFault> {
    if ret.rax & PROBE_FAULT != 0 {
        Err(ProbeFault {
            vector: ret.rax as u8,
            error_code: (ret.rax >> 8) as u32,
            address: ret.rdx,
        })
    } else {
        Ok(ret.rax as u8)
    }
}

/// Reads one byte at `addr`; a fault (unmapped, non-canonical, ...) comes
/// back as an error instead of taking the kernel down.
///
/// Do not point it at device memory: a read there may have side effects.
pub fn read_u8(addr: u64) -> Result<u8, ProbeFault> {
    // SAFETY: the routine only loads one byte through a raw address the
    // compiler knows nothing about (no Rust reference is formed); a fault is
    // turned into an error by its `.extable` fixup.
    decode(unsafe { ferrite_probe_read_u8(addr) })
}

/// Reads the 32-bit word at `addr` (a load of 4 bytes; a fault comes back
/// as an error). The value is zero-extended, so bit 63 of the result word
/// only ever means a fault.
pub fn read_u32(addr: u64) -> Result<u32, ProbeFault> {
    // SAFETY: as for `read_u8`: one load through a raw address, its fault
    // turned into an error by the `.extable` fixup.
    let ret = unsafe { ferrite_probe_read_u32(addr) };
    if ret.rax & PROBE_FAULT != 0 {
        return Err(ProbeFault {
            vector: ret.rax as u8,
            error_code: (ret.rax >> 8) as u32,
            address: ret.rdx,
        });
    }
    Ok(ret.rax as u32)
}

/// Reads the byte at `addr` and writes the same value back: tests whether a
/// write is allowed without changing memory. Returns the byte.
///
/// Only for single-threaded self-checks on normal memory: a concurrent
/// writer to the same byte could lose its update in between.
pub fn rewrite_u8(addr: u64) -> Result<u8, ProbeFault> {
    // SAFETY: the routine stores back exactly the byte it just loaded, so
    // memory contents are unchanged; faults on either access resume at the
    // fixup and come back as an error.
    decode(unsafe { ferrite_probe_rewrite_u8(addr) })
}

/// Calls the code at `addr`, which must hold a lone `ret` (0xC3): tests
/// whether that page is executable. A fetch fault comes back as an error;
/// `Ok` means the CPU executed the byte.
pub fn exec_ret(addr: u64) -> Result<(), ProbeFault> {
    if read_u8(addr)? != 0xc3 {
        return Err(ProbeFault {
            vector: 0xff,
            error_code: 0,
            address: addr,
        });
    }
    // If the fetch faults, the dispatcher resumes at the probe's fixup with
    // the probe's own stack pointer. The probe clobbers only RAX, RDX, RDI.
    // SAFETY: the target is a lone `ret` (checked above): if it runs, it
    // returns at once without touching anything.
    decode(unsafe { ferrite_probe_exec(addr) }).map(|_| ())
}

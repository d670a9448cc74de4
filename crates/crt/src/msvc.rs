//! What the MSVC target's code generator expects from a C runtime.
//!
//! - `__chkstk`: called with RAX = the size of a new stack frame over 4 KiB
//!   before the caller subtracts it from RSP. It touches every page of the
//!   frame from the top down, so a frame can never step over the guard page
//!   below the stack. It follows MSVC's convention: only R10, R11 and the
//!   flags change (RAX is preserved: the caller subtracts it next).
//! - `_fltused`: the symbol every object that uses floating point refers to.
//! - `__CxxFrameHandler3`: the SEH personality routine named in the unwind
//!   tables of the prebuilt `core` (built with panic=unwind). Our images
//!   are panic=abort and Ferrite has no unwinder, so it is never called; the
//!   stub only satisfies the reference, and traps if it ever is called.

use core::arch::naked_asm;

/// Stack probe for frames over one page (MSVC convention, see above).
///
/// # Safety
/// Only for compiler-generated calls in a function prologue.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __chkstk() {
    naked_asm!(
        // R10 = the caller's RSP (ours + the return address), R11 = bytes.
        "lea r10, [rsp + 8]",
        "mov r11, rax",
        "2:",
        "cmp r11, 0x1000",
        "jb 3f",
        "sub r10, 0x1000",
        "test qword ptr [r10], r10",
        "sub r11, 0x1000",
        "jmp 2b",
        "3:",
        "sub r10, r11",
        "test qword ptr [r10], r10",
        "ret",
    );
}

/// Referenced by every object file that uses floating point.
#[unsafe(no_mangle)]
#[used]
pub static _fltused: i32 = 0;

/// Personality routine referenced by `core`'s unwind tables; never called
/// (see the module docs). Traps with `ud2`.
///
/// # Safety
/// Not meant to be called.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __CxxFrameHandler3() {
    naked_asm!("ud2");
}

//! The variadic entry points: trampolines to the `va_list` variants.
//!
//! Win64 passes the first four arguments in RCX, RDX, R8, R9 and reserves
//! 32 bytes of "home space" for them just above the return address, where
//! the stack arguments follow (and variadic doubles are also passed in the
//! integer registers). Spilling the register arguments into their home
//! slots therefore lays every argument out as consecutive 8-byte slots: a
//! `va_list` is the address of the first variadic one. Each trampoline
//! spills the registers that can hold variadic arguments and tail-jumps to
//! its `v` variant with that address in place of the `...`.

use crate::file::vfprintf;
use crate::stdio::{vprintf, vsnprintf, vsprintf, vsscanf};
use core::arch::naked_asm;

/// `int printf(const char *fmt, ...)`.
///
/// # Safety
/// As for [`vprintf`]: the arguments must match the format.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn printf() {
    naked_asm!(
        // [rsp] = return address, [rsp+8..40) = home slots of RCX..R9.
        "mov [rsp + 16], rdx",
        "mov [rsp + 24], r8",
        "mov [rsp + 32], r9",
        "lea rdx, [rsp + 16]",
        "jmp {v}",
        v = sym vprintf,
    );
}

/// `int snprintf(char *buf, size_t n, const char *fmt, ...)`.
///
/// # Safety
/// As for [`vsnprintf`].
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn snprintf() {
    naked_asm!(
        "mov [rsp + 32], r9",
        "lea r9, [rsp + 32]",
        "jmp {v}",
        v = sym vsnprintf,
    );
}

/// `int sprintf(char *buf, const char *fmt, ...)`.
///
/// # Safety
/// As for [`vsprintf`].
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sprintf() {
    naked_asm!(
        "mov [rsp + 24], r8",
        "mov [rsp + 32], r9",
        "lea r8, [rsp + 24]",
        "jmp {v}",
        v = sym vsprintf,
    );
}

/// `int fprintf(FILE *f, const char *fmt, ...)`.
///
/// # Safety
/// As for [`vfprintf`].
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fprintf() {
    naked_asm!(
        "mov [rsp + 24], r8",
        "mov [rsp + 32], r9",
        "lea r8, [rsp + 24]",
        "jmp {v}",
        v = sym vfprintf,
    );
}

/// `int sscanf(const char *s, const char *fmt, ...)`.
///
/// # Safety
/// As for [`vsscanf`].
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sscanf() {
    naked_asm!(
        "mov [rsp + 24], r8",
        "mov [rsp + 32], r9",
        "lea r8, [rsp + 24]",
        "jmp {v}",
        v = sym vsscanf,
    );
}

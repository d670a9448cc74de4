//! Kernel entry: switch to the guarded boot stack and call `kmain`.

use core::arch::global_asm;

// The loader jumps here with RSP on its own stack in bootloader-reclaimable
// memory (limine-protocol.md §8). Move to the kernel's boot stack at once, so
// nothing depends on loader memory and a stack overflow hits the guard page
// below `__boot_stack_bottom` (see linker.ld). RBP = 0 ends backtraces.
global_asm!(
    ".section .text.kernel_entry, \"ax\"",
    ".global kernel_entry",
    "kernel_entry:",
    "    lea rsp, [rip + __boot_stack_top]",
    "    xor ebp, ebp",
    "    call {kmain}",
    "2:  cli",
    "    hlt",
    "    jmp 2b",
    kmain = sym crate::kmain,
);

//! Benchmark markers: 7-byte NOPs that bracket a timed loop for an
//! instruction-counting run (benchmarks.md, "Markers").

use core::arch::asm;

/// Begin marker `0f 1f 80 <0x4d420000 | ID>` (`nop dword ptr [rax + disp32]`).
#[inline(always)]
pub fn mark_begin<const ID: u8>() {
    // SAFETY: `nopl disp32(%rax)` is a NOP; it reads no memory and changes
    // no register or flag. The disp32 bytes are little-endian: ID, 0, 'B', 'M'.
    unsafe {
        asm!(
            ".byte 0x0f, 0x1f, 0x80, {id}, 0x00, 0x42, 0x4d",
            id = const ID,
            options(nomem, nostack, preserves_flags)
        )
    };
}

/// End marker `0f 1f 81 <0x4d420000 | ID>` (`nop dword ptr [rcx + disp32]`).
#[inline(always)]
pub fn mark_end<const ID: u8>() {
    // SAFETY: as in `mark_begin`, with `(%rcx)`.
    unsafe {
        asm!(
            ".byte 0x0f, 0x1f, 0x81, {id}, 0x00, 0x42, 0x4d",
            id = const ID,
            options(nomem, nostack, preserves_flags)
        )
    };
}

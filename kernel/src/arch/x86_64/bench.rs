//! Benchmark markers: 7-byte NOPs that bracket a timed loop for an
//! instruction-counting run (benchmarks.md, "Markers").

use core::arch::asm;

macro_rules! marker {
    ($modrm:literal, $id:expr, $($n:literal),*) => {
        match $id {
            $(
                // SAFETY: `nopl disp32(%rax)`/`(%rcx)` is a NOP; it reads no
                // memory and changes no register or flag.
                $n => unsafe {
                    asm!(
                        concat!(".byte 0x0f, 0x1f, ", $modrm),
                        concat!(".long 0x4d42", "00", stringify!($n)),
                        options(nomem, nostack, preserves_flags)
                    )
                },
            )*
            _ => {}
        }
    };
}

/// Begin marker `0f 1f 80 <0x4d420000 | id>` for benchmark ids 0..=9.
#[inline(always)]
pub fn mark_begin(id: u32) {
    marker!("0x80", id, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
}

/// End marker `0f 1f 81 <0x4d420000 | id>` for benchmark ids 0..=9.
#[inline(always)]
pub fn mark_end(id: u32) {
    marker!("0x81", id, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
}

//! Kernel-internal benchmarks, printed as BENCH lines (benchmarks.md).
#![forbid(unsafe_code)]

use crate::arch::{bench, cpu};
use crate::mm::frame_alloc;
use alloc::boxed::Box;
use core::hint::black_box;

/// Times `iters` runs of `op` after a 1% warm-up, between the begin/end
/// markers of benchmark `ID`, and prints the BENCH line.
fn measure<const ID: u8>(name: &str, iters: u64, mut op: impl FnMut()) {
    crate::milestones::raw_line(format_args!("INFO bench={name} mark_id={ID}\n"));
    for _ in 0..iters.div_ceil(100) {
        op();
    }
    let start = cpu::rdtsc();
    bench::mark_begin::<ID>();
    for _ in 0..iters {
        op();
    }
    bench::mark_end::<ID>();
    let ticks = cpu::rdtsc() - start;
    crate::milestones::bench_line(name, iters, ticks);
}

/// Benchmarks 8 (`frame_alloc`) and 9 (`heap_alloc`).
pub fn kernel_benchmarks() {
    let mut failures = 0u64;
    measure::<8>("frame_alloc", 100_000, || match frame_alloc::alloc() {
        Ok(frame) => {
            if frame_alloc::free(black_box(frame)).is_err() {
                failures += 1;
            }
        }
        Err(_) => failures += 1,
    });
    if failures > 0 {
        log::error!("bench: frame_alloc saw {failures} failed operations");
    }
    measure::<9>("heap_alloc", 100_000, || {
        let block = black_box(Box::new([0u8; 64]));
        drop(block);
    });
}

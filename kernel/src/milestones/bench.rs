//! Kernel-internal benchmarks, printed as BENCH lines (benchmarks.md).
#![forbid(unsafe_code)]

use crate::arch::{bench, cpu};
use crate::mm::frame_alloc;
use alloc::boxed::Box;
use core::hint::black_box;

/// Times `iters` runs of `op` after a 1% warm-up, between the begin/end
/// markers of benchmark `ID`, and prints the BENCH line.
pub(super) fn measure<const ID: u8>(name: &str, iters: u64, mut op: impl FnMut()) {
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

/// Benchmarks 21 (`blk_read_seq`) and 22 (`file_read_seq`), when there is
/// a disk and a FAT volume with a file of at least 64 KiB in `/data`:
/// - `blk_read_seq`: one operation reads 1 MiB from the first disk
///   through the block layer in 256 KiB requests, front to back (wrapping
///   at the end); 64 operations, 64 MiB.
/// - `file_read_seq`: one operation reads 1 MiB of that file through the
///   FAT layer in 64 KiB pieces (wrapping at its end); 16 operations.
///
/// MiB/s is 10^9 / `ns_per_op` × 1.048576.
pub fn storage_benchmarks() {
    const MIB: usize = 1 << 20;
    let Some(disk) = crate::disk::list().into_iter().next() else {
        log::info!("bench: no disk; blk_read_seq and file_read_seq skipped");
        return;
    };
    let mut buf = alloc::vec![0u8; 256 << 10];
    let per_request = (buf.len() / disk.sector_size() as usize) as u64;
    let mut lba = 0;
    let mut errors = 0u32;
    measure::<21>("blk_read_seq", 64, || {
        for _ in 0..MIB / buf.len() {
            if lba + per_request > disk.sectors() {
                lba = 0;
            }
            errors += u32::from(disk.read(lba, &mut buf).is_err());
            lba += per_request;
        }
    });
    let file = crate::fs::volumes::list().into_iter().find_map(|v| {
        let mut fs = v.fs.lock();
        let entries = fs.read_dir("/data").ok()?;
        let big = entries
            .iter()
            .filter(|e| !e.is_dir && e.size >= 64 << 10)
            .max_by_key(|e| e.size)?;
        let f = fs.open(&alloc::format!("/data/{}", big.name)).ok()?;
        drop(fs);
        Some((v, f))
    });
    let Some((volume, f)) = file else {
        log::info!("bench: no file of 64 KiB in a volume's /data; file_read_seq skipped");
        return;
    };
    let mut at = 0u64;
    let piece = &mut buf[..64 << 10];
    measure::<22>("file_read_seq", 16, || {
        let mut fs = volume.fs.lock();
        let mut left = MIB;
        while left > 0 {
            let want = left.min(piece.len());
            match fs.read_at(&f, at, &mut piece[..want]) {
                Ok(0) => at = 0,
                Ok(n) => {
                    at += n as u64;
                    left -= n;
                }
                Err(_) => {
                    errors += 1;
                    break;
                }
            }
        }
    });
    if errors > 0 {
        log::error!("bench: {errors} failed reads in the storage benchmarks");
    }
}

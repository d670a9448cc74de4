//! M6: disks (so far: the virtio-blk driver, the block layer, partitions).
//!
//! The suite attaches a raw image the host runner made
//! (tests/src/disk.rs): every sector is stamped with [`MAGIC`], its LBA,
//! the disk's sector count and bytes that follow from the LBA. The checks
//! read the whole disk through the block layer and check every stamp,
//! refuse bad requests, and write the last sectors with a second pattern
//! that the host finds in the image file after QEMU has powered off.
//!
//! The suite also attaches a GPT disk, an MBR disk with logical partitions
//! and a disk whose GPT is damaged in both copies, each of its own size.
//! `partition_tables` prints every disk's table as `DISK` and `PART`
//! lines, which the host compares with what its own (independent) GPT and
//! MBR writers put there; the damaged disk must be reported, and the host
//! checks that it was left as it was.

use super::{detail, ensure, Check, Context, Outcome};
use crate::disk::{self, Disk};
use alloc::sync::Arc;
use alloc::vec;
use block::BlockError;

/// The M6 checks of the suite.
pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M6",
        name: "virtio_blk_disk",
        run: virtio_blk_disk,
    },
    Check {
        milestone: "M6",
        name: "disk_reads_whole_pattern",
        run: disk_reads_whole_pattern,
    },
    Check {
        milestone: "M6",
        name: "disk_writes_reach_the_image",
        run: disk_writes_reach_the_image,
    },
    Check {
        milestone: "M6",
        name: "partition_tables",
        run: partition_tables,
    },
];

/// The stamp of every sector of the host's pattern disk.
const MAGIC: &[u8; 8] = b"FRPATTRN";
/// The stamp of the sectors the kernel writes.
const WRITTEN: &[u8; 8] = b"FRWRITTN";
/// Sectors the write check writes, at the end of the disk.
const WRITE_SECTORS: u64 = 64;
const SECTOR: usize = 512;

/// Byte `j` of pattern sector `lba` (after its 24-byte stamp).
fn pattern_byte(lba: u64, j: usize) -> u8 {
    (lba.wrapping_mul(31) as u8).wrapping_add(j as u8)
}

/// Byte `j` of written sector `lba`.
fn written_byte(lba: u64, j: usize) -> u8 {
    (lba.wrapping_mul(7) as u8).wrapping_add(j as u8) ^ 0x5a
}

/// What is wrong with `sector` as pattern sector `lba` of a disk of
/// `count` sectors (`stamp`, `byte` say which pattern), if anything.
fn stamp_problem(
    sector: &[u8],
    lba: u64,
    count: u64,
    stamp: &[u8; 8],
    byte: fn(u64, usize) -> u8,
) -> Option<alloc::string::String> {
    let word = |at: usize| u64::from_le_bytes(sector[at..at + 8].try_into().unwrap_or([0; 8]));
    if &sector[..8] != stamp {
        return Some(alloc::format!("sector {lba}: no stamp"));
    }
    if word(8) != lba || word(16) != count {
        return Some(alloc::format!(
            "sector {lba} is stamped as {} of {}",
            word(8),
            word(16)
        ));
    }
    (24..SECTOR)
        .find(|&j| sector[j] != byte(lba, j))
        .map(|j| alloc::format!("sector {lba}: byte {j} differs"))
}

/// The host's pattern disk.
fn pattern_disk() -> Option<Arc<Disk>> {
    disk::list().into_iter().find(|d| {
        let mut first = vec![0u8; d.sector_size() as usize];
        d.read(0, &mut first).is_ok() && first.starts_with(MAGIC)
    })
}

fn virtio_blk_disk(_: &Context<'_>) -> Outcome {
    let disks = disk::list();
    ensure!(!disks.is_empty(), "no disk was found");
    let d = pattern_disk().ok_or_else(|| detail!("no disk holds the host's pattern"))?;
    ensure!(
        d.sector_size() as usize == SECTOR,
        "{} has {}-byte sectors",
        d.name(),
        d.sector_size()
    );
    let mut first = vec![0u8; SECTOR];
    d.read(0, &mut first).map_err(|e| detail!("{e}"))?;
    let stamped = u64::from_le_bytes(first[16..24].try_into().unwrap_or([0; 8]));
    ensure!(
        stamped == d.sectors(),
        "the device reports {} sectors, the image was made with {stamped}",
        d.sectors()
    );
    Ok(detail!(
        "{} disk(s); {} is the pattern disk: {} sectors of {} bytes",
        disks.len(),
        d.name(),
        d.sectors(),
        d.sector_size()
    ))
}

fn disk_reads_whole_pattern(_: &Context<'_>) -> Outcome {
    let d = pattern_disk().ok_or_else(|| detail!("no pattern disk"))?;
    let count = d.sectors();
    // Requests of 400 sectors (200 KiB): each crosses the driver's 64 KiB
    // buffer several times and ends inside it.
    let step = 400u64;
    let mut buf = vec![0u8; step as usize * SECTOR];
    let t0 = crate::time::now_ns();
    let mut lba = 0;
    // The written check changes the last sectors; read up to them.
    let end = count - WRITE_SECTORS;
    while lba < end {
        let n = step.min(end - lba);
        let part = &mut buf[..n as usize * SECTOR];
        d.read(lba, part)
            .map_err(|e| detail!("reading sectors {lba}+{n}: {e}"))?;
        for (i, sector) in part.chunks(SECTOR).enumerate() {
            if let Some(p) = stamp_problem(sector, lba + i as u64, count, MAGIC, pattern_byte) {
                return Err(detail!("{p}"));
            }
        }
        lba += n;
    }
    let ms = (crate::time::now_ns() - t0) / 1_000_000;
    let mut one = vec![0u8; SECTOR];
    ensure!(
        matches!(d.read(count, &mut one), Err(BlockError::OutOfRange { .. })),
        "a read past the end was not refused"
    );
    ensure!(
        matches!(
            d.read(count - 1, &mut buf[..2 * SECTOR]),
            Err(BlockError::OutOfRange { .. })
        ),
        "a read running over the end was not refused"
    );
    ensure!(
        matches!(d.read(0, &mut one[..100]), Err(BlockError::BadLength(100))),
        "a partial-sector read was not refused"
    );
    ensure!(
        matches!(
            d.read(u64::MAX, &mut one),
            Err(BlockError::OutOfRange { .. })
        ),
        "a read at LBA 2^64-1 was not refused"
    );
    Ok(detail!(
        "{end} sectors read in {step}-sector requests and every stamp checked ({ms} ms); reads past the end and of part of a sector refused"
    ))
}

fn disk_writes_reach_the_image(_: &Context<'_>) -> Outcome {
    let d = pattern_disk().ok_or_else(|| detail!("no pattern disk"))?;
    let count = d.sectors();
    let first = count - WRITE_SECTORS;
    let mut data = vec![0u8; WRITE_SECTORS as usize * SECTOR];
    for (i, sector) in data.chunks_mut(SECTOR).enumerate() {
        let lba = first + i as u64;
        sector[..8].copy_from_slice(WRITTEN);
        sector[8..16].copy_from_slice(&lba.to_le_bytes());
        sector[16..24].copy_from_slice(&count.to_le_bytes());
        for (j, b) in sector.iter_mut().enumerate().skip(24) {
            *b = written_byte(lba, j);
        }
    }
    d.write(first, &data).map_err(|e| detail!("writing: {e}"))?;
    d.flush().map_err(|e| detail!("flushing: {e}"))?;
    let mut back = vec![0u8; data.len()];
    d.read(first, &mut back)
        .map_err(|e| detail!("reading back: {e}"))?;
    for (i, sector) in back.chunks(SECTOR).enumerate() {
        if let Some(p) = stamp_problem(sector, first + i as u64, count, WRITTEN, written_byte) {
            return Err(detail!("read back: {p}"));
        }
    }
    ensure!(
        matches!(
            d.write(count, &data[..SECTOR]),
            Err(BlockError::OutOfRange { .. })
        ),
        "a write past the end was not refused"
    );
    Ok(detail!(
        "sectors {first}..{count} written, flushed and read back (the host checks the image after power-off)"
    ))
}

fn partition_tables(_: &Context<'_>) -> Outcome {
    let mut tables = 0;
    let mut errors = 0;
    for d in disk::list() {
        match d.table() {
            Some(Ok(t)) => {
                tables += 1;
                super::raw_line(format_args!(
                    "DISK {} sectors={} scheme={:?} partitions={}\n",
                    d.name(),
                    d.sectors(),
                    disk::scheme_name(&t.scheme),
                    t.partitions.len()
                ));
                for p in &t.partitions {
                    super::raw_line(format_args!(
                        "PART {} {} first={} count={} type={} name={:?}\n",
                        d.name(),
                        p.index,
                        p.first_lba,
                        p.sector_count,
                        disk::type_name(&p.kind),
                        p.name
                    ));
                }
            }
            Some(Err(e)) => {
                errors += 1;
                super::raw_line(format_args!(
                    "DISK {} sectors={} error={:?}\n",
                    d.name(),
                    d.sectors(),
                    alloc::format!("{e}")
                ));
            }
            None => return Err(detail!("{} was never scanned", d.name())),
        }
    }
    ensure!(tables > 0, "no disk has a partition table");
    Ok(detail!(
        "{tables} partition table(s), {errors} disk(s) without one (the host compares the DISK and PART lines)"
    ))
}

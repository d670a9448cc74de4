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
        name: "hostile_disks_are_refused",
        run: super::m6_hostile::hostile_disks_are_refused,
    },
    Check {
        milestone: "M6",
        name: "hostile_network_devices_are_refused",
        run: super::m6_hostile::hostile_network_devices_are_refused,
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
    Check {
        milestone: "M6",
        name: "intx_disk_completes_by_interrupt",
        run: intx_disk_completes_by_interrupt,
    },
    Check {
        milestone: "M6",
        name: "intx_stuck_line_is_masked",
        run: intx_stuck_line_is_masked,
    },
    Check {
        milestone: "M6",
        name: "fat_volumes_list_and_read",
        run: fat_volumes_list_and_read,
    },
    Check {
        milestone: "M6",
        name: "fat_writes_survive",
        run: fat_writes_survive,
    },
    Check {
        milestone: "M6",
        name: "dhcp_lease",
        run: super::m6_net::dhcp_lease,
    },
    Check {
        milestone: "M6",
        name: "ping_the_gateway",
        run: super::m6_net::ping_the_gateway,
    },
    Check {
        milestone: "M6",
        name: "echo_for_the_host",
        run: super::m6_net::echo_for_the_host,
    },
    Check {
        milestone: "M6",
        name: "m6_user_checks",
        run: m6_user_checks,
    },
];

/// Runs `m3-tests.exe disk`, whose checks (disk files through the C
/// runtime from ring 3) land in M6.
fn m6_user_checks(ctx: &Context<'_>) -> Outcome {
    super::user_checks(ctx, "m3-tests.exe", "disk", "M6")
}

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
    let (by_interrupt, by_time) = crate::drivers::virtio_blk::wakes();
    let interrupts_before = crate::drivers::virtio_blk::interrupts();
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
    let (woken, timeouts) = crate::drivers::virtio_blk::wakes();
    let (woken, timeouts) = (woken - by_interrupt, timeouts - by_time);
    let interrupts = crate::drivers::virtio_blk::interrupts() - interrupts_before;
    // The requests of one read are in flight together and one interrupt
    // may complete several, but each read's last completion raises the
    // queue's MSI-X vector before the next read starts (a request may
    // complete before its thread looks, so the wake-ups are only
    // reported). Polled, the count is 0.
    let calls = end.div_ceil(step);
    ensure!(
        interrupts >= calls / 2,
        "only {interrupts} completion interrupt(s) for {calls} reads ({woken} wake-up(s) by one, {timeouts} by time)"
    );
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
        "{end} sectors read {step} at a time (64 KiB requests, up to 4 in flight) and every stamp checked ({ms} ms; {interrupts} completion interrupts; the thread was woken {woken} time(s) by one, {timeouts} by time); reads past the end and of part of a sector refused"
    ))
}

/// The suite attaches one disk without MSI-X (`vectors=0`): its
/// requests must complete through its legacy INTx line, routed by the
/// DSDT's `_PRT`, and not by polling.
fn intx_disk_completes_by_interrupt(_: &Context<'_>) -> Outcome {
    use crate::drivers::virtio;
    let lines = virtio::intx_lines();
    let line = lines
        .first()
        .ok_or_else(|| detail!("no VirtIO device interrupts through INTx"))?;
    let name = line
        .devices
        .first()
        .ok_or_else(|| detail!("GSI {} has no device", line.gsi))?;
    let d = disk::list()
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or_else(|| detail!("{name} on GSI {} is no disk", line.gsi))?;
    let entry = crate::irq::redirection(line.gsi)
        .ok_or_else(|| detail!("no I/O APIC serves GSI {}", line.gsi))?;
    // Redirection entry: vector in bits 7-0, level in bit 15, mask 16.
    ensure!(
        entry & 0xFF == u64::from(line.vector) && entry & 1 << 16 == 0,
        "GSI {}'s redirection entry {entry:#x} is not vector {:#x} unmasked",
        line.gsi,
        line.vector
    );
    let claimed = line.claimed;
    let taken = crate::irq::count(line.vector);
    // One sector at a time: each read waits for its own completion.
    const READS: u64 = 32;
    let mut whole = vec![0u8; READS as usize * SECTOR];
    let mut one = vec![0u8; SECTOR];
    for i in 0..READS {
        d.read(i, &mut one)
            .map_err(|e| detail!("{name}: sector {i}: {e}"))?;
        whole[i as usize * SECTOR..][..SECTOR].copy_from_slice(&one);
    }
    let mut again = vec![0u8; whole.len()];
    d.read(0, &mut again)
        .map_err(|e| detail!("{name}: sectors 0+{READS}: {e}"))?;
    ensure!(
        again == whole,
        "{name}: one read of {READS} sectors differs from {READS} reads of one"
    );
    let after = virtio::intx_lines()
        .into_iter()
        .find(|l| l.gsi == line.gsi)
        .ok_or_else(|| detail!("GSI {} was taken down", line.gsi))?;
    let claimed = after.claimed - claimed;
    let taken = crate::irq::count(line.vector) - taken;
    ensure!(
        claimed >= READS,
        "{name}: {claimed} claimed interrupt(s) on GSI {} for {} reads ({taken} taken)",
        line.gsi,
        READS + 1
    );
    ensure!(
        crate::irq::redirection(line.gsi).is_some_and(|e| e & 1 << 16 == 0),
        "GSI {} was masked",
        line.gsi
    );
    Ok(detail!(
        "{name} on GSI {} ({}-triggered), vector {:#x}: {} reads, {claimed} interrupt(s) claimed by its ISR status, {taken} taken",
        line.gsi,
        if entry & 1 << 15 != 0 { "level" } else { "edge" },
        line.vector,
        READS + 1
    ))
}

/// The INTx disk's line, as if its device asserted it with nothing
/// pending (the handler reads no ISR status, so the line stays up): the
/// line must be masked after `UNCLAIMED_LIMIT` interrupts and the disk
/// go on by polling; once the handler reads the status again and the
/// line is routed anew, completions are claimed again.
fn intx_stuck_line_is_masked(_: &Context<'_>) -> Outcome {
    use crate::drivers::virtio;
    let line = virtio::intx_lines()
        .into_iter()
        .next()
        .ok_or_else(|| detail!("no VirtIO device interrupts through INTx"))?;
    let name = line.devices.first().cloned().unwrap_or_default();
    let d = disk::list()
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or_else(|| detail!("{name} on GSI {} is no disk", line.gsi))?;
    let masked = |gsi: u32| crate::irq::redirection(gsi).is_some_and(|e| e & 1 << 16 != 0);
    let taken = crate::irq::count(line.vector);
    let mut one = vec![0u8; SECTOR];
    virtio::intx_deafen(Some(line.gsi)).map_err(|e| detail!("{e}"))?;
    let t0 = crate::time::now_ns();
    let stuck = d.read(1, &mut one);
    let ms = (crate::time::now_ns() - t0) / 1_000_000;
    let storm = crate::irq::count(line.vector) - taken;
    let was_masked = masked(line.gsi);
    // A second read while masked: polled.
    let polled = d.read(2, &mut one);
    let rearmed = virtio::intx_deafen(None);
    stuck.map_err(|e| detail!("{name}: the read on the stuck line failed: {e}"))?;
    polled.map_err(|e| detail!("{name}: the read on the masked line failed: {e}"))?;
    rearmed.map_err(|e| detail!("routing GSI {} again: {e}", line.gsi))?;
    ensure!(
        was_masked,
        "GSI {} was not masked ({storm} interrupts taken)",
        line.gsi
    );
    ensure!(
        storm >= u64::from(virtio::UNCLAIMED_LIMIT),
        "GSI {} was masked after only {storm} interrupts",
        line.gsi
    );
    let claimed = |gsi: u32| {
        virtio::intx_lines()
            .into_iter()
            .find(|l| l.gsi == gsi)
            .map_or(0, |l| l.claimed)
    };
    let before = claimed(line.gsi);
    d.read(3, &mut one)
        .map_err(|e| detail!("{name}: the read after the line came back failed: {e}"))?;
    ensure!(
        !masked(line.gsi) && claimed(line.gsi) > before,
        "GSI {} claims no interrupt after it was routed again",
        line.gsi
    );
    Ok(detail!(
        "GSI {} stuck: masked after {storm} unclaimed interrupts, the read done in {ms} ms and the next by polling; routed again, its interrupts are claimed",
        line.gsi
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

/// FNV-1a, 64 bits: the hash the host compares file contents by.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Most directories and files a walk visits.
const WALK_LIMIT: usize = 512;

/// Prints a `FILE` line for every file below `dir` of `v` (bounded).
fn walk(
    v: &crate::fs::volumes::Mounted,
    fs: &mut fat::Volume<crate::fs::volumes::VolumeDevice>,
    dir: &str,
    depth: usize,
    seen: &mut usize,
) -> Result<(), super::Detail> {
    let entries = fs
        .read_dir(dir)
        .map_err(|e| detail!("{}: listing '{dir}': {e}", v.name))?;
    for e in entries {
        *seen += 1;
        ensure!(
            *seen <= WALK_LIMIT,
            "{}: more than {WALK_LIMIT} entries",
            v.name
        );
        let path = if dir == "/" {
            alloc::format!("/{}", e.name)
        } else {
            alloc::format!("{dir}/{}", e.name)
        };
        if e.is_dir {
            ensure!(depth < 8, "{}: directories nested too deep", v.name);
            walk(v, fs, &path, depth + 1, seen)?;
        } else {
            let data = fs
                .read_file(&path)
                .map_err(|e| detail!("{}: reading '{path}': {e}", v.name))?;
            ensure!(
                data.len() as u64 == u64::from(e.size),
                "{}: '{path}' read {} bytes of {}",
                v.name,
                data.len(),
                e.size
            );
            super::raw_line(format_args!(
                "FILE {} {:?} size={} fnv={:016x}\n",
                v.name,
                path,
                data.len(),
                fnv1a(&data)
            ));
        }
    }
    Ok(())
}

fn fat_volumes_list_and_read(_: &Context<'_>) -> Outcome {
    let volumes = crate::fs::volumes::list();
    ensure!(!volumes.is_empty(), "no FAT volume was mounted");
    let mut files = 0;
    for v in &volumes {
        let mut fs = v.fs.lock();
        super::raw_line(format_args!(
            "VOLUME {} label={:?} type={:?}\n",
            v.name,
            v.label,
            fs.fat_type()
        ));
        let mut seen = 0;
        walk(v, &mut fs, "/", 0, &mut seen)?;
        files += seen;
    }
    Ok(detail!(
        "{} volume(s), {files} entries listed and every file read (the host compares the FILE lines)",
        volumes.len()
    ))
}

/// The file the kernel writes on each volume labelled `FERRITE*`, and
/// its contents (the host reads it back after power-off).
const WRITTEN_FILE: &str = "/made by the kernel/Kernel Wrote This File.txt";

/// The contents the kernel writes on volume `name`: 20000 bytes, so the
/// file takes several clusters.
fn written_contents(name: &str) -> alloc::vec::Vec<u8> {
    let line = alloc::format!("Ferrite wrote this on {name}.\n");
    line.bytes().cycle().take(20_000).collect()
}

fn fat_writes_survive(_: &Context<'_>) -> Outcome {
    let mut written = 0;
    for v in crate::fs::volumes::list() {
        if !v.label.starts_with("FERRITE") {
            continue;
        }
        let mut fs = v.fs.lock();
        let free_before = fs.free_clusters().map_err(|e| detail!("{}: {e}", v.name))?;
        fs.create_dir("/made by the kernel")
            .map_err(|e| detail!("{}: creating a directory: {e}", v.name))?;
        let data = written_contents(&v.name);
        fs.write_file(WRITTEN_FILE, &data)
            .map_err(|e| detail!("{}: writing: {e}", v.name))?;
        fs.flush()
            .map_err(|e| detail!("{}: flushing: {e}", v.name))?;
        let back = fs
            .read_file(WRITTEN_FILE)
            .map_err(|e| detail!("{}: reading back: {e}", v.name))?;
        ensure!(back == data, "{}: the file read back differs", v.name);
        let free_after = fs.free_clusters().map_err(|e| detail!("{}: {e}", v.name))?;
        ensure!(
            free_after < free_before,
            "{}: {free_before} free clusters before, {free_after} after",
            v.name
        );
        written += 1;
    }
    ensure!(written > 0, "no FERRITE volume to write on");
    Ok(detail!(
        "a directory and a {}-byte file with long names written on {written} volume(s), flushed and read back (the host reads them after power-off)",
        20_000
    ))
}

//! A disk from the fuzzer (512-byte sectors) through the partition reader,
//! with the table's promises checked on every success.
#![no_main]

use block::MemDisk;
use libfuzzer_sys::fuzz_target;
use partitions::{crc32, read_table};

fn le32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

fn le64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

/// Rewrites the CRCs of any GPT header at LBA 1 or the last LBA (and of its
/// entry array, where that lies on the disk), so the fuzzer reaches the
/// checks behind them.
fn reseal(disk: &mut [u8]) {
    let last = disk.len() / 512 - 1;
    for lba in [1, last] {
        let at = lba * 512;
        if lba == 0 || &disk[at..at + 8] != b"EFI PART" {
            continue;
        }
        let array = le64(disk, at + 72)
            .checked_mul(512)
            .zip((le32(disk, at + 80) as u64).checked_mul(u64::from(le32(disk, at + 84))))
            .and_then(|(start, len)| Some((start, start.checked_add(len)?)))
            .filter(|&(_, end)| end <= disk.len() as u64);
        if let Some((start, end)) = array {
            let crc = crc32(&disk[start as usize..end as usize]);
            disk[at + 88..at + 92].copy_from_slice(&crc.to_le_bytes());
        }
        let size = (le32(disk, at + 12) as usize).clamp(20, 512);
        disk[at + 16..at + 20].fill(0);
        let crc = crc32(&disk[at..at + size]);
        disk[at + 16..at + 20].copy_from_slice(&crc.to_le_bytes());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    bytes.resize(data.len().next_multiple_of(512), 0);
    // MBR boot code byte 0 is never parsed: its low bit asks for resealing.
    if bytes.len() >= 1024 && bytes[0] & 1 == 1 {
        reseal(&mut bytes);
    }
    let sectors = (bytes.len() / 512) as u64;
    let mut disk = MemDisk::new(512, bytes);
    disk.read_only = true;
    let Ok(table) = read_table(&mut disk) else {
        return;
    };
    // The promises of `Table::partitions`: ascending indices, non-empty,
    // past LBA 0, inside the disk, no overlaps.
    for w in table.partitions.windows(2) {
        assert!(w[0].index < w[1].index);
    }
    let mut ranges: Vec<(u64, u64)> = table
        .partitions
        .iter()
        .map(|p| {
            assert!(p.sector_count >= 1 && p.first_lba >= 1);
            let end = p.first_lba.checked_add(p.sector_count).unwrap();
            assert!(end <= sectors);
            assert_eq!(p.last_lba(), end - 1);
            (p.first_lba, end)
        })
        .collect();
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0);
    }
    assert!(disk.flushes == 0);
});

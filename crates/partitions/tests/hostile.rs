//! Random disks and mutated real tables: never a panic, a write or a broken
//! promise about the partitions returned.

mod common;

use block::{BlockDevice, MemDisk};
use common::{gpt_image, Watched};
use partitions::{read_table, Table};
use proptest::prelude::*;
use std::sync::OnceLock;

/// What [`read_table`] promises of a table it returns.
fn check(t: &Table, disk_sectors: u64) {
    for w in t.partitions.windows(2) {
        assert!(w[0].index < w[1].index, "not in index order: {t:?}");
    }
    let mut ranges: Vec<_> = t
        .partitions
        .iter()
        .map(|p| {
            assert!(p.sector_count >= 1, "empty: {p:?}");
            assert!(p.first_lba >= 1, "over LBA 0: {p:?}");
            let end = p.first_lba.checked_add(p.sector_count).unwrap();
            assert!(end <= disk_sectors, "past the end: {p:?}");
            (p.first_lba, end)
        })
        .collect();
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlap: {t:?}");
    }
}

fn run(sector: u32, bytes: Vec<u8>) {
    let mut disk = Watched::new(MemDisk::new(sector, bytes));
    if let Ok(t) = read_table(&mut disk) {
        check(&t, disk.sector_count());
    }
    assert!(disk.largest_read <= 4096.max(sector as usize));
}

fn gpt_512() -> &'static Vec<u8> {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| gpt_image(512, 4 << 20).0)
}

/// A signed MBR whose entries and EBRs come from the fuzzer's bytes.
fn mbr_from(entries: &[u8], ebr: &[u8]) -> Vec<u8> {
    let mut image = vec![0u8; 64 * 512];
    image[446..446 + entries.len()].copy_from_slice(entries);
    image[510] = 0x55;
    image[511] = 0xAA;
    for lba in 1..64 {
        let at = lba * 512;
        image[at + 446..at + 446 + ebr.len()].copy_from_slice(ebr);
        image[at + 510] = 0x55;
        image[at + 511] = 0xAA;
    }
    image
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_disks_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..8192),
                                big in any::<bool>()) {
        run(if big { 4096 } else { 512 }, bytes);
    }

    #[test]
    fn mutated_gpt_images_never_panic(
        edits in prop::collection::vec((0usize..(40 * 512), any::<u8>(), any::<bool>()), 1..8),
    ) {
        let mut image = gpt_512().clone();
        let len = image.len();
        for (at, value, at_end) in edits {
            // Near LBA 0..40 (MBR, primary header, array) or the backup.
            let at = if at_end { len - 1 - at } else { at };
            image[at] = value;
        }
        run(512, image);
    }

    #[test]
    fn mutated_gpt_images_with_resealed_crcs_never_panic(
        field in 0usize..92, value in any::<u64>(), backup in any::<bool>(),
    ) {
        // Damage a header field but keep its CRC right, so the checks past
        // the CRC see hostile values.
        let mut image = gpt_512().clone();
        let lba = if backup { common::backup_lba(&image, 512) } else { 1 };
        let at = common::header_at(512, lba);
        let end = (at + field + 8).min(at + 92);
        image[at + field..end].copy_from_slice(&value.to_le_bytes()[..end - at - field]);
        if !(16..20).contains(&field) {
            common::reseal_header(&mut image, at);
        }
        run(512, image);
    }

    #[test]
    fn hostile_mbr_entries_and_ebrs_never_panic(
        entries in prop::collection::vec(any::<u8>(), 64),
        ebr in prop::collection::vec(any::<u8>(), 32),
        small in prop::collection::vec((0u8..4, 0u8..64), 0..12),
    ) {
        let mut entries = entries;
        // Mostly sane status bytes and small LBAs so the chain gets walked.
        for slot in 0..4 {
            entries[16 * slot] &= 0x80;
        }
        let mut ebr = ebr;
        for (i, (field, v)) in small.into_iter().enumerate() {
            let buf = if i % 2 == 0 { &mut entries[..] } else { &mut ebr[..] };
            let base = 16 * (usize::from(field) % (buf.len() / 16));
            buf[base + 8..base + 12].copy_from_slice(&u32::from(v).to_le_bytes());
            buf[base + 12..base + 16].copy_from_slice(&u32::from(v / 2).to_le_bytes());
            buf[base + 4] = [0x05, 0x0F, 0x85, 0x83][usize::from(field)];
        }
        run(512, mbr_from(&entries, &ebr));
    }
}

//! GPT images written by the `gpt` crate, read back, then damaged.

mod common;

use block::MemDisk;
use common::*;
use partitions::{
    read_table, GptProblem, GptSource, Guid, Partition, PartitionError, PartitionType, Scheme,
};

const MIB: usize = 1 << 20;

fn read(sector: u32, image: Vec<u8>) -> Result<partitions::Table, PartitionError> {
    let mut disk = Watched::new(MemDisk::new(sector, image));
    read_table(&mut disk)
}

fn source_and_other(t: &partitions::Table) -> (GptSource, Option<GptProblem>) {
    match t.scheme {
        Scheme::Gpt { source, other, .. } => (source, other),
        Scheme::Mbr { .. } => panic!("read as MBR"),
    }
}

#[test]
fn a_table_written_by_the_gpt_crate_reads_the_same_at_512_and_4096() {
    for sector in [512u32, 4096] {
        let (image, theirs) = gpt_image(sector, 8 * MIB);
        let t = read(sector, image).unwrap();
        let Scheme::Gpt {
            source,
            disk_guid,
            other,
            protective_mbr,
        } = t.scheme
        else {
            panic!("read as MBR");
        };
        assert_eq!(
            (source, other, protective_mbr),
            (GptSource::Primary, None, true)
        );
        assert_eq!(
            disk_guid.to_string(),
            theirs.guid().to_string().to_uppercase()
        );
        let expected: Vec<_> = theirs
            .partitions()
            .values()
            .filter(|p| p.is_used())
            .collect();
        assert_eq!(t.partitions.len(), 3);
        assert_eq!(expected.len(), 3);
        for ((ours, theirs), want) in t.partitions.iter().zip(expected).zip(wanted()) {
            assert_eq!(ours.first_lba, theirs.first_lba);
            assert_eq!(ours.last_lba(), theirs.last_lba);
            assert_eq!(ours.sector_count * u64::from(sector), want.bytes);
            assert_eq!(ours.name, want.name);
            assert_eq!(ours.attributes, want.flags);
            assert_eq!(
                ours.bootable,
                want.flags & Partition::LEGACY_BIOS_BOOTABLE != 0
            );
            let PartitionType::Gpt(kind) = ours.kind else {
                panic!("an MBR type in a GPT")
            };
            assert_eq!(kind.to_string(), want.kind.guid.to_string().to_uppercase());
            assert_eq!(
                ours.unique.unwrap().to_string(),
                theirs.part_guid.to_string().to_uppercase()
            );
        }
        assert_eq!(
            t.partitions.iter().map(|p| p.index).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let PartitionType::Gpt(esp) = t.partitions[0].kind else {
            unreachable!()
        };
        assert_eq!(esp, Guid::EFI_SYSTEM);
    }
}

#[test]
fn a_broken_primary_header_crc_falls_back_to_the_backup() {
    for sector in [512u32, 4096] {
        let (mut image, _) = gpt_image(sector, 8 * MIB);
        let good = read(sector, image.clone()).unwrap().partitions;
        image[header_at(sector, 1) + HEADER_CRC] ^= 1;
        let t = read(sector, image).unwrap();
        let (source, other) = source_and_other(&t);
        assert_eq!(source, GptSource::Backup);
        assert!(
            matches!(other, Some(GptProblem::HeaderCrc { .. })),
            "{other:?}"
        );
        assert_eq!(t.partitions, good);
    }
}

#[test]
fn a_broken_primary_entry_array_falls_back_to_the_backup() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    let good = read(sector, image.clone()).unwrap().partitions;
    // A byte of the first entry's name: the header stays sound.
    let at = entry_at(&image, sector, header_at(sector, 1), 0) + 60;
    image[at] ^= 0x40;
    let t = read(sector, image).unwrap();
    let (source, other) = source_and_other(&t);
    assert_eq!(source, GptSource::Backup);
    assert!(
        matches!(other, Some(GptProblem::ArrayCrc { .. })),
        "{other:?}"
    );
    assert_eq!(t.partitions, good);
}

#[test]
fn a_missing_backup_is_reported_while_the_primary_is_used() {
    let sector = 4096;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    let at = header_at(sector, backup_lba(&image, sector));
    image[at..at + sector as usize].fill(0);
    let t = read(sector, image).unwrap();
    assert_eq!(
        source_and_other(&t),
        (GptSource::Primary, Some(GptProblem::NoSignature))
    );
    assert_eq!(t.partitions.len(), 3);
}

#[test]
fn copies_that_disagree_are_reported() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    let at = header_at(sector, backup_lba(&image, sector));
    // Rename the backup's first partition and reseal it: both sound, unequal.
    let e = entry_at(&image, sector, at, 0) + 56;
    image[e] = b'X';
    reseal_array(&mut image, sector, at);
    let t = read(sector, image).unwrap();
    assert_eq!(
        source_and_other(&t),
        (GptSource::Primary, Some(GptProblem::Mismatch))
    );
    assert_eq!(t.partitions[0].name, "EFI system");
}

#[test]
fn both_copies_broken_is_an_error_naming_both() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    image[header_at(sector, 1) + HEADER_CRC] ^= 1;
    let backup = header_at(sector, backup_lba(&image, sector));
    let e = entry_at(&image, sector, backup, 1) + 32;
    image[e] ^= 1;
    match read(sector, image) {
        Err(PartitionError::BadGpt {
            primary: GptProblem::HeaderCrc { .. },
            backup: GptProblem::ArrayCrc { .. },
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_header_claiming_2_pow_31_entries_is_refused_without_reading_them() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    for lba in [1, backup_lba(&image, sector)] {
        let at = header_at(sector, lba);
        image[at + ENTRY_COUNT..at + ENTRY_COUNT + 4].copy_from_slice(&(1u32 << 31).to_le_bytes());
        reseal_header(&mut image, at);
    }
    let mut disk = Watched::new(MemDisk::new(sector, image));
    assert_eq!(
        read_table(&mut disk),
        Err(PartitionError::BadGpt {
            primary: GptProblem::EntryCount(1 << 31),
            backup: GptProblem::EntryCount(1 << 31),
        })
    );
    // LBA 0 and the two headers, one sector each.
    assert_eq!((disk.reads, disk.largest_read), (3, 512));
}

#[test]
fn the_entry_array_is_streamed_one_sector_at_a_time() {
    let (image, _) = gpt_image(512, 8 * MIB);
    let mut disk = Watched::new(MemDisk::new(512, image));
    read_table(&mut disk).unwrap();
    assert_eq!(disk.largest_read, 512);
}

/// Rewrites entry `slot`'s first/last LBA in both copies and reseals them.
fn set_range(image: &mut [u8], sector: u32, slot: usize, first: u64, last: u64) {
    for lba in [1, backup_lba(image, sector)] {
        let at = header_at(sector, lba);
        let e = entry_at(image, sector, at, slot);
        image[e + 32..e + 40].copy_from_slice(&first.to_le_bytes());
        image[e + 40..e + 48].copy_from_slice(&last.to_le_bytes());
        reseal_array(image, sector, at);
    }
}

#[test]
fn a_partition_past_the_disk_end_is_refused() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    let end = backup_lba(&image, sector) + 10;
    set_range(&mut image, sector, 2, 4000, end);
    match read(sector, image) {
        Err(PartitionError::BadGpt {
            primary:
                GptProblem::EntryRange {
                    index: 3,
                    first: 4000,
                    last,
                },
            backup: GptProblem::EntryRange { index: 3, .. },
        }) if last == end => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn reversed_and_overlapping_entries_are_refused() {
    let sector = 512;
    let (image, _) = gpt_image(sector, 8 * MIB);
    let mut reversed = image.clone();
    set_range(&mut reversed, sector, 0, 3000, 2999);
    assert!(matches!(
        read(sector, reversed),
        Err(PartitionError::BadGpt {
            primary: GptProblem::EntryRange { index: 1, .. },
            ..
        })
    ));
    let t = read(sector, image.clone()).unwrap();
    let mut overlapping = image;
    let (first, last) = (t.partitions[1].first_lba, t.partitions[1].last_lba());
    set_range(&mut overlapping, sector, 2, last, last + 100);
    assert_eq!(
        read(sector, overlapping).unwrap_err(),
        PartitionError::BadGpt {
            primary: GptProblem::EntryOverlap { a: 2, b: 3 },
            backup: GptProblem::EntryOverlap { a: 2, b: 3 },
        }
    );
    assert!(first < last);
}

#[test]
fn a_gpt_without_a_protective_mbr_is_still_read() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    image[..512].fill(0);
    let t = read(sector, image).unwrap();
    assert!(matches!(
        t.scheme,
        Scheme::Gpt {
            protective_mbr: false,
            source: GptSource::Primary,
            ..
        }
    ));
    assert_eq!(t.partitions.len(), 3);
}

#[test]
fn a_grown_disk_finds_the_backup_at_the_alternate_lba() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    image.resize(16 * MIB, 0);
    let t = read(sector, image).unwrap();
    assert_eq!(source_and_other(&t), (GptSource::Primary, None));
}

#[test]
fn a_truncated_disk_is_refused_as_its_partitions_may_not_fit() {
    let sector = 512;
    let (mut image, _) = gpt_image(sector, 8 * MIB);
    image.truncate(4 * MIB);
    match read(sector, image) {
        Err(PartitionError::BadGpt {
            primary: GptProblem::UsableRange { .. },
            backup: GptProblem::NoSignature,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn blank_disks_have_no_table() {
    for sector in [512, 4096] {
        assert_eq!(
            read(sector, vec![0; 64 * sector as usize]),
            Err(PartitionError::NoTable)
        );
        assert_eq!(
            read(sector, vec![0; sector as usize]),
            Err(PartitionError::NoTable)
        );
        assert_eq!(read(sector, Vec::new()), Err(PartitionError::NoTable));
    }
    assert_eq!(
        read(1024 + 512, vec![0; 4608]),
        Err(PartitionError::SectorSize(1536))
    );
}

#[test]
fn errors_read_well() {
    let e = PartitionError::BadGpt {
        primary: GptProblem::HeaderCrc {
            stored: 1,
            computed: 2,
        },
        backup: GptProblem::NoSignature,
    };
    assert_eq!(
        e.to_string(),
        "bad GPT: primary: header CRC 0x00000001, computed 0x00000002; \
         backup: no \"EFI PART\" signature"
    );
}

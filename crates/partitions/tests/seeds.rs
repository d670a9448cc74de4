//! Writes small GPT and MBR images for the fuzzer to start from
//! (fuzz/run.sh seeds the `partitions` target with them), and checks
//! they read.

use block::MemDisk;
use mbrman::{MBRPartitionEntry, BOOT_INACTIVE, CHS, MBR};
use partitions::read_table;
use std::io::Cursor;
use std::path::PathBuf;

fn small_gpt() -> Vec<u8> {
    let bytes = 128 << 10;
    let mut dev = Cursor::new(vec![0u8; bytes]);
    gpt::mbr::ProtectiveMBR::with_lb_size((bytes / 512 - 1) as u32)
        .overwrite_lba0(&mut dev)
        .unwrap();
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .create_from_device(dev, None)
        .unwrap();
    for (name, kind) in [
        ("esp", gpt::partition_types::EFI),
        ("data", gpt::partition_types::BASIC),
        ("root", gpt::partition_types::LINUX_FS),
    ] {
        disk.add_partition(name, 8 << 10, kind, 0, None).unwrap();
    }
    let mut image = disk.write().unwrap().into_inner();
    image[0] |= 1; // the fuzz target's "reseal CRCs" flag (boot code byte)
    image
}

fn small_mbr() -> Vec<u8> {
    let mut cur = Cursor::new(vec![0u8; 64 * 512]);
    let mut mbr = MBR::new_from(&mut cur, 512, [9; 4]).unwrap();
    mbr.align = 1;
    let entry = |sys, starting_lba, sectors| MBRPartitionEntry {
        boot: BOOT_INACTIVE,
        first_chs: CHS::empty(),
        sys,
        last_chs: CHS::empty(),
        starting_lba,
        sectors,
    };
    mbr[1] = entry(0x0C, 2, 10);
    mbr[2] = entry(0x05, 16, 40);
    mbr.push(0x83, 16, 10).unwrap();
    mbr.push(0x82, 30, 20).unwrap();
    mbr.write_into(&mut cur).unwrap();
    cur.into_inner()
}

#[test]
fn seed_images_for_the_fuzzer_read_and_are_written() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("partitions-seeds");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, image, count) in [("gpt.img", small_gpt(), 3), ("mbr.img", small_mbr(), 3)] {
        let t = read_table(&mut MemDisk::new(512, image.clone())).unwrap();
        assert_eq!(t.partitions.len(), count, "{name}: {t:?}");
        std::fs::write(dir.join(name), image).unwrap();
    }
}

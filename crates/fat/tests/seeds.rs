//! Writes small FAT12/16/32 images for the `fat` fuzz target to start from
//! (fuzz/run.sh seeds it with target/tmp/fat-seeds/*.img), and checks them.

mod common;

use block::MemDisk;
use common::*;
use fat::{FatType, Volume};
use std::path::PathBuf;

#[test]
fn fuzz_seeds_are_written_and_mount() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fat-seeds");
    std::fs::create_dir_all(&dir).unwrap();
    let shapes = [
        (FatType::Fat12, 256 << 10, "fat12"),
        (FatType::Fat16, 3 << 20, "fat16"),
        (FatType::Fat32, 34 << 20, "fat32"),
    ];
    for (t, bytes, name) in shapes {
        let mut img = format(t, bytes, 512);
        let mut tree = Tree::new();
        tree.insert("/sub".into(), None);
        tree.insert("/sub/A Long Name.txt".into(), Some(noise(1500, 1)));
        tree.insert("/README.TXT".into(), Some(b"hello".to_vec()));
        tree.insert("/freedoom1.wad".into(), Some(noise(6000, 3)));
        with_fatfs(&mut img, |fs| fatfs_write(fs, &tree));
        // The fuzz target reads zeros past its input: keep only the bytes
        // up to the last sector that holds anything.
        let used = img.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        let seed = &img[..used.next_multiple_of(512)];
        assert!(seed.len() <= 1 << 20, "{name}: {} bytes", seed.len());
        std::fs::write(dir.join(format!("{name}.img")), seed).unwrap();
        let mut padded = seed.to_vec();
        padded.resize(bytes, 0);
        let mut vol = Volume::mount(MemDisk::new(512, padded)).unwrap();
        assert_eq!(vol.fat_type(), t);
        assert_eq!(our_tree(&mut vol).unwrap(), tree);
    }
}

//! Corrupt volumes: clear errors, no writes on a failed mount, no panics.

mod common;

use block::{BlockError, MemDisk};
use common::*;
use fat::{Corruption, FatError, FatType, Volume};
use proptest::prelude::*;
use std::sync::OnceLock;

/// (reserved sectors, sectors per FAT, number of FATs) from the BPB.
fn fat_geometry(img: &[u8]) -> (usize, usize, usize) {
    let u16_at = |at: usize| u16::from_le_bytes([img[at], img[at + 1]]) as usize;
    let fat16 = u16_at(22);
    let per_fat = if fat16 != 0 {
        fat16
    } else {
        u32::from_le_bytes(img[36..40].try_into().unwrap()) as usize
    };
    (u16_at(14), per_fat, img[16] as usize)
}

/// Sets FAT entry `n` to `v` in every FAT copy.
fn set_fat(img: &mut [u8], t: FatType, n: u32, v: u32) {
    let (reserved, per_fat, fats) = fat_geometry(img);
    for copy in 0..fats {
        let base = (reserved + copy * per_fat) * 512;
        let n = n as usize;
        match t {
            FatType::Fat12 => {
                let at = base + n + n / 2;
                let old = u16::from_le_bytes([img[at], img[at + 1]]);
                let new = if n.is_multiple_of(2) {
                    old & 0xF000 | v as u16 & 0xFFF
                } else {
                    old & 0x000F | (v as u16) << 4
                };
                img[at..at + 2].copy_from_slice(&new.to_le_bytes());
            }
            FatType::Fat16 => {
                img[base + n * 2..base + n * 2 + 2].copy_from_slice(&(v as u16).to_le_bytes())
            }
            FatType::Fat32 => img[base + n * 4..base + n * 4 + 4].copy_from_slice(&v.to_le_bytes()),
        }
    }
}

/// A volume with a 5-cluster file `/five.bin` and a directory `/dir`;
/// returns the image and their first clusters.
fn sample(t: FatType) -> (Vec<u8>, u32, u32) {
    let (_, bytes, cluster) = SHAPES.into_iter().find(|s| s.0 == t).unwrap();
    let mut img = format(t, bytes, cluster);
    let mut tree = Tree::new();
    tree.insert("/dir".into(), None);
    tree.insert("/dir/inner.txt".into(), Some(b"inner".to_vec()));
    tree.insert("/five.bin".into(), Some(noise(cluster as usize * 5, 5)));
    with_fatfs(&mut img, |fs| fatfs_write(fs, &tree));
    let (file, dir) = with_ours(&mut img, |vol| {
        (
            vol.stat("/five.bin").unwrap().first_cluster,
            vol.stat("/dir").unwrap().first_cluster,
        )
    });
    (img, file, dir)
}

/// Mounts `img` and runs `f`; asserts nothing was written.
fn read_only<R>(img: &[u8], f: impl FnOnce(&mut Volume<&mut MemDisk>) -> R) -> R {
    let mut disk = MemDisk::new(512, img.to_vec());
    let r = {
        let mut vol = Volume::mount(&mut disk).unwrap();
        let r = f(&mut vol);
        vol.unmount().unwrap();
        r
    };
    assert!(disk.bytes() == img, "a failed call wrote to the volume");
    r
}

fn corrupt(c: Corruption) -> FatError {
    FatError::Corrupt(c)
}

#[test]
fn broken_chains_are_reported_and_left_alone() {
    for t in [FatType::Fat12, FatType::Fat16, FatType::Fat32] {
        let (img, file, dir) = sample(t);
        let end = match t {
            FatType::Fat12 => 0xFFF,
            FatType::Fat16 => 0xFFFF,
            FatType::Fat32 => 0x0FFF_FFFF,
        };
        let cases = [
            (file + 4, file, corrupt(Corruption::ChainTooLong)),
            (
                file + 1,
                end - 0x10,
                corrupt(Corruption::ClusterOutOfRange(end - 0x10)),
            ),
            (
                file + 1,
                0,
                corrupt(Corruption::FreeClusterInChain(file + 1)),
            ),
            (
                file + 1,
                end - 8,
                corrupt(Corruption::BadClusterInChain(file + 1)),
            ),
            (file + 2, end, corrupt(Corruption::ChainTooShort)),
        ];
        for (n, v, want) in cases {
            let mut bad = img.clone();
            set_fat(&mut bad, t, n, v);
            read_only(&bad, |vol| {
                assert_eq!(vol.read_file("/five.bin"), Err(want), "{t:?}");
                assert_eq!(vol.open("/five.bin").unwrap_err(), want);
                assert_eq!(vol.remove("/five.bin"), Err(want));
                assert_eq!(vol.write_file("/five.bin", b"new"), Err(want));
                assert_eq!(vol.read_file("/dir/inner.txt").unwrap(), b"inner");
            });
        }
        // A directory whose chain loops onto itself.
        let mut bad = img.clone();
        set_fat(&mut bad, t, dir, dir);
        read_only(&bad, |vol| {
            let e = corrupt(Corruption::DirectoryTooLong);
            assert_eq!(vol.read_dir("/dir"), Err(e));
            assert_eq!(vol.write_file("/dir/x", b"x"), Err(e));
            assert_eq!(vol.remove("/dir"), Err(e));
        });
        // A file longer than its chain, by its directory entry.
        let mut bad = img.clone();
        set_fat(&mut bad, t, file + 4, file + 5);
        set_fat(&mut bad, t, file + 5, end);
        read_only(&bad, |vol| {
            assert_eq!(
                vol.read_file("/five.bin"),
                Err(corrupt(Corruption::ChainTooLong))
            );
        });
    }
}

#[test]
fn a_bad_bpb_fails_the_mount_without_writing() {
    let (img, _, _) = sample(FatType::Fat16);
    let (img32, _, _) = sample(FatType::Fat32);
    let cases: [(&[u8], usize, &[u8], FatError); 10] = [
        (&img, 13, &[0], corrupt(Corruption::SectorsPerCluster(0))),
        (&img, 13, &[3], corrupt(Corruption::SectorsPerCluster(3))),
        (&img, 11, &[0, 0], corrupt(Corruption::BytesPerSector(0))),
        (
            &img,
            11,
            &[0, 4],
            corrupt(Corruption::SectorSizeMismatch {
                bpb: 1024,
                device: 512,
            }),
        ),
        (&img, 16, &[0], corrupt(Corruption::NoFats)),
        (&img, 14, &[0, 0], corrupt(Corruption::NoReservedSectors)),
        (&img, 510, &[0, 0], corrupt(Corruption::NoBootSignature)),
        (&img, 22, &[1, 0], corrupt(Corruption::FatTooSmall)),
        (
            &img32,
            44,
            &[0, 0, 0, 0],
            corrupt(Corruption::RootCluster(0)),
        ),
        (
            &img32,
            32,
            &[0, 0, 0, 0x40],
            corrupt(Corruption::TotalSectors(0x4000_0000)),
        ),
    ];
    for (base, at, bytes, want) in cases {
        let mut bad = base.to_vec();
        bad[at..at + bytes.len()].copy_from_slice(bytes);
        let mut disk = MemDisk::new(512, bad.clone());
        assert_eq!(Volume::mount(&mut disk).err(), Some(want), "offset {at}");
        assert!(disk.bytes() == &bad[..], "a failed mount wrote");
        assert_eq!(disk.flushes, 0);
    }
    assert!(Volume::mount(MemDisk::new(512, vec![0; 4096])).is_err());
    assert!(Volume::mount(MemDisk::new(512, Vec::new())).is_err());
}

#[test]
fn reading_writes_nothing_and_read_only_disks_refuse_writes() {
    let (img, _, _) = sample(FatType::Fat32);
    read_only(&img, |vol| {
        our_tree(vol).unwrap();
        vol.free_clusters().unwrap();
    });
    let mut disk = MemDisk::new(512, img.clone());
    disk.read_only = true;
    let mut vol = Volume::mount(&mut disk).unwrap();
    assert_eq!(vol.read_file("/dir/inner.txt").unwrap(), b"inner");
    assert_eq!(
        vol.write_file("/x", b"x"),
        Err(FatError::Io(BlockError::ReadOnly))
    );
}

#[test]
fn every_fat_copy_is_written() {
    for (t, bytes, cluster) in SHAPES {
        let mut img = format(t, bytes, cluster);
        with_ours(&mut img, |vol| {
            vol.write_file("/big", &noise(100_000, 6)).unwrap();
            vol.create_dir("/d").unwrap();
            vol.write_file("/d/small", b"s").unwrap();
            vol.remove("/d/small").unwrap();
        });
        let (reserved, per_fat, fats) = fat_geometry(&img);
        assert_eq!(fats, 2);
        let fat =
            |i: usize| &img[(reserved + i * per_fat) * 512..(reserved + (i + 1) * per_fat) * 512];
        assert!(fat(0) == fat(1), "{t:?}: the FAT copies differ");
    }
}

/// Mounts, walks every directory (bounded), reads every file, writes one
/// file and reads it back, then renames what it found: errors are fine,
/// panics and hangs are not.
fn exercise(img: Vec<u8>) {
    let mut disk = MemDisk::new(512, img);
    let Ok(mut vol) = Volume::mount(&mut disk) else {
        return;
    };
    let _ = (vol.label().len(), vol.free_clusters());
    let mut stack = vec![(String::new(), 0)];
    let mut visited = 0;
    let (mut a_file, mut a_dir) = (None, None);
    while let Some((dir, depth)) = stack.pop() {
        visited += 1;
        let Ok(entries) = vol.read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = format!("{dir}/{}", e.name);
            if e.is_dir {
                a_dir.get_or_insert_with(|| path.clone());
            } else {
                a_file.get_or_insert_with(|| path.clone());
            }
            if e.is_dir && depth < 6 && visited < 200 {
                stack.push((path, depth + 1));
            } else if !e.is_dir {
                let _ = vol.read_file(&path);
            }
        }
    }
    let data = noise(3000, 11);
    if vol.write_file("/fuzzed new file.bin", &data).is_ok() {
        assert_eq!(vol.read_file("/fuzzed new file.bin").unwrap(), data);
    }
    if let Some(f) = a_file {
        let _ = vol.rename(&f, "/fuzz renamed.bin");
        let _ = vol.read_file("/fuzz renamed.bin");
    }
    if let Some(d) = a_dir {
        let _ = vol.rename(&d, "/fuzz renamed dir");
        let _ = vol.rename("/fuzzed new file.bin", "/fuzz renamed dir/in.bin");
        let _ = vol.read_dir("/fuzz renamed dir");
    }
    let _ = vol.flush();
}

fn small_image(t: FatType, bytes: usize) -> Vec<u8> {
    let mut img = format(t, bytes, 512);
    let mut tree = Tree::new();
    tree.insert("/sub".into(), None);
    tree.insert("/sub/deeper".into(), None);
    tree.insert("/sub/deeper/A Long Name.txt".into(), Some(noise(1500, 1)));
    tree.insert("/sub/x.bin".into(), Some(noise(700, 2)));
    tree.insert("/README.TXT".into(), Some(b"hello".to_vec()));
    tree.insert("/freedoom1.wad".into(), Some(noise(9000, 3)));
    with_fatfs(&mut img, |fs| fatfs_write(fs, &tree));
    img
}

/// The base images, made once: FAT12, FAT16, FAT32.
fn base(i: usize) -> &'static [u8] {
    static IMAGES: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    &IMAGES.get_or_init(|| {
        [
            small_image(FatType::Fat12, 256 << 10),
            small_image(FatType::Fat16, 3 << 20),
            small_image(FatType::Fat32, 34 << 20),
        ]
    })[i]
}

/// Bytes up to the first data clusters, where the metadata is.
fn metadata_len(img: &[u8]) -> usize {
    let (reserved, per_fat, fats) = fat_geometry(img);
    let root = u16::from_le_bytes([img[17], img[18]]) as usize * 32;
    ((reserved + per_fat * fats) * 512 + root + 16 * 1024).min(img.len())
}

fn mutations(img: &[u8]) -> impl Strategy<Value = Vec<(usize, u8)>> {
    // Mostly the metadata (boot sector, FATs, root, the first
    // directories), sometimes anywhere.
    let front = (0..metadata_len(img), any::<u8>());
    let anywhere = (0..img.len(), any::<u8>());
    prop::collection::vec(prop_oneof![4 => front, 1 => anywhere], 1..24)
}

fn mutate(img: &[u8], muts: &[(usize, u8)]) -> Vec<u8> {
    let mut img = img.to_vec();
    for &(at, b) in muts {
        img[at] = b;
    }
    img
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn mutated_fat12_images_never_panic(muts in mutations(base(0))) {
        exercise(mutate(base(0), &muts));
    }

    #[test]
    fn mutated_fat16_images_never_panic(muts in mutations(base(1))) {
        exercise(mutate(base(1), &muts));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn mutated_fat32_images_never_panic(muts in mutations(base(2))) {
        exercise(mutate(base(2), &muts));
    }
}

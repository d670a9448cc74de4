//! This crate against the independent `fatfs`, both ways, on FAT12/16/32.

mod common;

use common::*;
use fat::{FatError, SeekFrom};

#[test]
fn volumes_written_by_fatfs_read_back_identically() {
    for (t, bytes, cluster) in SHAPES {
        let mut img = format(t, bytes, cluster);
        let tree = sample_tree();
        with_fatfs(&mut img, |fs| fatfs_write(fs, &tree));
        let fatfs_free = with_fatfs(&mut img, |fs| fs.stats().unwrap().free_clusters());
        with_ours(&mut img, |vol| {
            assert_eq!(vol.fat_type(), t);
            assert_eq!(vol.cluster_size(), cluster);
            assert_eq!(vol.label(), "FERRITE");
            assert_eq!(our_tree(vol).unwrap(), tree, "{t:?}");
            assert_eq!(vol.free_clusters().unwrap(), fatfs_free, "{t:?}");
            // Lookups ignore case, and find short names too.
            let mixed = vol.read_file("mixedcase.txt").unwrap();
            assert_eq!(mixed, b"mixed");
            assert_eq!(vol.read_file("/MIXEDCASE.TXT").unwrap(), mixed);
            let short = vol.stat("/MixedCase.Txt").unwrap().short_name;
            assert_eq!(vol.read_file(&short.to_lowercase()).unwrap(), mixed);
            assert_eq!(
                vol.read_file("/A/B/C/../c/./D/E/F/DEEP FILE.BIN").unwrap(),
                noise(5000, 2)
            );
            assert_eq!(vol.read_file("/nope"), Err(FatError::NotFound));
            assert_eq!(vol.read_file("/a/b"), Err(FatError::IsADirectory));
            assert_eq!(vol.read_dir("/README.TXT"), Err(FatError::NotADirectory));
            assert!(vol.stat("/").unwrap().is_dir);
        });
    }
}

#[test]
fn volumes_written_here_read_back_in_fatfs() {
    for (t, bytes, cluster) in SHAPES {
        let mut img = format(t, bytes, cluster);
        let mut tree = sample_tree();
        let ours_free = with_ours(&mut img, |vol| {
            for (path, data) in &tree {
                match data {
                    None => vol.create_dir(path).unwrap(),
                    Some(d) => vol.write_file(path, d).unwrap(),
                }
            }
            assert_eq!(vol.create_dir("/a"), Err(FatError::Exists));
            assert_eq!(vol.write_file("/a", b"x"), Err(FatError::IsADirectory));
            assert_eq!(
                vol.write_file("/no/such/dir/f", b"x"),
                Err(FatError::NotFound)
            );
            assert_eq!(vol.write_file("/bad?name", b"x"), Err(FatError::BadName));
            assert_eq!(
                vol.write_file(&"n".repeat(256), b"x"),
                Err(FatError::NameTooLong)
            );
            // Overwrite to shorter, longer, empty; one name in another case.
            vol.write_file("/freedoom1.wad", &noise(1000, 9)).unwrap();
            vol.write_file("/a/b/c/d/e/f/DEEP FILE.BIN", &noise(90_000, 8))
                .unwrap();
            vol.write_file("/A Long Name With Spaces.txt", b"").unwrap();
            vol.write_file("/empty", &noise(3000, 7)).unwrap();
            // Remove a file and an empty directory; a full one refuses.
            vol.remove("/many/entry number 005 with a long name")
                .unwrap();
            vol.remove("/empty dir").unwrap();
            assert_eq!(vol.remove("/many"), Err(FatError::DirectoryNotEmpty));
            assert_eq!(vol.remove("/empty dir"), Err(FatError::NotFound));
            vol.free_clusters().unwrap()
        });
        tree.insert("/freedoom1.wad".into(), Some(noise(1000, 9)));
        tree.insert("/a/b/c/d/e/f/deep file.bin".into(), Some(noise(90_000, 8)));
        tree.insert("/A Long Name With Spaces.txt".into(), Some(Vec::new()));
        tree.insert("/empty".into(), Some(noise(3000, 7)));
        tree.remove("/many/entry number 005 with a long name");
        tree.remove("/empty dir");
        with_fatfs(&mut img, |fs| {
            assert_eq!(fatfs_tree(fs), tree, "{t:?}");
            assert_eq!(fs.stats().unwrap().free_clusters(), ours_free, "{t:?}");
            let short = fs.root_dir().open_file("FREEDO~1.WAD").expect("short name");
            drop(short);
        });
        // And we read our own writing the same way.
        with_ours(&mut img, |vol| assert_eq!(our_tree(vol).unwrap(), tree));
    }
}

#[test]
fn a_full_volume_says_no_space_and_changes_nothing() {
    for (t, bytes, cluster) in SHAPES {
        let mut img = format(t, bytes, cluster);
        let chunk = noise(cluster as usize * 300 + 17, 3);
        let written = with_ours(&mut img, |vol| {
            vol.create_dir("/fill").unwrap();
            let mut n = 0;
            loop {
                match vol.write_file(&format!("/fill/part {n}"), &chunk) {
                    Ok(()) => n += 1,
                    Err(FatError::NoSpace) => break n,
                    Err(e) => panic!("{t:?}: {e}"),
                }
            }
        });
        // Once more on a fresh mount: the refused write leaves every byte.
        let before = img.clone();
        let mut disk = block::MemDisk::new(512, img);
        let mut vol = fat::Volume::mount(&mut disk).unwrap();
        assert!(vol.free_clusters().unwrap() < 301, "{t:?}");
        assert_eq!(
            vol.write_file("/fill/one more", &chunk),
            Err(FatError::NoSpace)
        );
        assert_eq!(
            vol.write_file("/fill/part 0", &[chunk.clone(), chunk.clone()].concat()),
            Err(FatError::NoSpace)
        );
        let _ = vol.into_inner();
        assert!(
            disk.bytes() == &before[..],
            "{t:?}: NoSpace wrote something"
        );
        img = disk.into_bytes();
        // A small file still fits in what is left.
        let free = with_ours(&mut img, |vol| {
            vol.write_file("/last", b"fits").unwrap();
            vol.free_clusters().unwrap()
        });
        assert!(written > 0);
        with_fatfs(&mut img, |fs| {
            let tree = fatfs_tree(fs);
            assert_eq!(tree.len(), written + 2);
            assert!(tree
                .values()
                .flatten()
                .filter(|d| d.len() > 4)
                .all(|d| *d == chunk));
            assert_eq!(fs.stats().unwrap().free_clusters(), free);
        });
    }
}

#[test]
fn handles_read_write_and_seek() {
    for (t, bytes, cluster) in SHAPES {
        let mut img = format(t, bytes, cluster);
        let expect = with_ours(&mut img, |vol| {
            let mut f = vol.create_file("/handle test.bin").unwrap();
            assert!(f.is_empty());
            let part = noise(10_000, 4);
            assert_eq!(vol.write(&mut f, &part).unwrap(), part.len());
            // Past the end: the gap reads as zeros.
            f.seek(SeekFrom::Current(5000)).unwrap();
            vol.write(&mut f, b"tail").unwrap();
            // Inside: overwrite a span across a cluster boundary.
            vol.write_at(&mut f, cluster as u64 - 3, b"XXXXXX").unwrap();
            let mut expect = part.clone();
            expect.resize(15_000, 0);
            expect.extend_from_slice(b"tail");
            expect[cluster as usize - 3..cluster as usize + 3].copy_from_slice(b"XXXXXX");
            assert_eq!(f.len(), expect.len() as u64);
            let mut g = vol.open("/HANDLE TEST.BIN").unwrap();
            let mut buf = vec![0u8; 777];
            let mut got = Vec::new();
            loop {
                let n = vol.read(&mut g, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, expect);
            assert_eq!(g.seek(SeekFrom::End(-4)).unwrap(), expect.len() as u64 - 4);
            assert_eq!(vol.read(&mut g, &mut buf).unwrap(), 4);
            assert_eq!(&buf[..4], b"tail");
            assert_eq!(
                g.seek(SeekFrom::Current(-20_000)),
                Err(FatError::InvalidSeek)
            );
            assert_eq!(vol.open("/").unwrap_err(), FatError::IsADirectory);
            // One file, one id, whatever the spelling; another file, another.
            assert_eq!(g.id(), f.id());
            vol.create_dir("/sub").unwrap();
            vol.write_file("/sub/handle test.bin", b"x").unwrap();
            let other = vol.open("/sub/handle test.bin").unwrap();
            let third = vol.create_file("/third").unwrap();
            assert_ne!(other.id(), f.id());
            assert_ne!(third.id(), f.id());
            assert_ne!(third.id(), other.id());
            expect
        });
        with_fatfs(&mut img, |fs| {
            let tree = fatfs_tree(fs);
            assert_eq!(
                tree["/handle test.bin"].as_deref(),
                Some(&expect[..]),
                "{t:?}"
            );
        });
    }
}

#[test]
fn a_full_fixed_root_says_directory_full() {
    let mut img = format(fat::FatType::Fat16, 16 << 20, 2048);
    with_ours(&mut img, |vol| {
        let mut n = 0;
        let err = loop {
            match vol.write_file(&format!("/F{n}.TXT"), b"") {
                Ok(()) => n += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, FatError::DirectoryFull);
        // fatfs formats 512 root entries, one of them the volume label.
        assert_eq!(n, 511);
        // Subdirectories still grow.
        assert_eq!(vol.create_dir("/d"), Err(FatError::DirectoryFull));
        vol.remove("/F0.TXT").unwrap();
        // One free slot: enough for an 8.3 name, not for a long one.
        assert_eq!(vol.create_dir("/sub"), Err(FatError::DirectoryFull));
        vol.create_dir("/SUB").unwrap();
        for i in 0..600 {
            vol.write_file(&format!("/sub/file {i}"), b"").unwrap();
        }
    });
    with_fatfs(&mut img, |fs| {
        assert_eq!(fatfs_tree(fs).len(), 510 + 1 + 600)
    });
}

#[test]
fn entries_carry_the_time_set() {
    let mut img = format(fat::FatType::Fat12, 2 << 20, 512);
    with_ours(&mut img, |vol| {
        vol.set_time(fat::Timestamp {
            year: 2024,
            month: 5,
            day: 17,
            hour: 13,
            minute: 45,
            second: 30,
        });
        vol.write_file("/stamped.txt", b"t").unwrap();
    });
    with_fatfs(&mut img, |fs| {
        let e = fs
            .root_dir()
            .iter()
            .map(|e| e.unwrap())
            .find(|e| e.file_name() == "stamped.txt")
            .unwrap();
        let m = e.modified();
        assert_eq!((m.date.year, m.date.month, m.date.day), (2024, 5, 17));
        assert_eq!((m.time.hour, m.time.min, m.time.sec), (13, 45, 30));
    });
}

/// A label of more than 8 characters is one name of up to 11, with no
/// dot (it is not an 8.3 name); both the BPB copy and the root
/// directory's volume entry, as fatfs writes them.
#[test]
fn labels_longer_than_eight_characters_have_no_dot() {
    for t in [fatfs::FatType::Fat12, fatfs::FatType::Fat32] {
        let bytes = if t == fatfs::FatType::Fat32 {
            40 << 20
        } else {
            2 << 20
        };
        let mut c = std::io::Cursor::new(vec![0u8; bytes]);
        fatfs::format_volume(
            &mut c,
            fatfs::FormatVolumeOptions::new()
                .fat_type(t)
                .bytes_per_cluster(512)
                .volume_label(*b"FERRITE32 X"),
        )
        .unwrap();
        let vol = fat::Volume::mount(block::MemDisk::new(512, c.into_inner())).unwrap();
        assert_eq!(vol.label(), "FERRITE32 X");
    }
}

/// The names fatfs lists in directory `path` (without `.` and `..`).
fn fatfs_names(fs: &fatfs::FileSystem<&mut std::io::Cursor<Vec<u8>>>, path: &str) -> Vec<String> {
    let dir = if path.is_empty() {
        fs.root_dir()
    } else {
        fs.root_dir()
            .open_dir(path)
            .expect("fatfs opens the directory")
    };
    let mut names: Vec<String> = dir
        .iter()
        .map(|e| e.expect("fatfs lists").file_name())
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    names
}

#[test]
fn renames_move_entries_and_fatfs_agrees() {
    for (t, bytes, cluster) in SHAPES {
        let mut img = format(t, bytes, cluster);
        let mut tree = sample_tree();
        with_fatfs(&mut img, |fs| fatfs_write(fs, &tree));
        let before = with_fatfs(&mut img, |fs| fs.stats().unwrap().free_clusters());
        let save = noise(7000, 11);
        let ours_free = with_ours(&mut img, |vol| {
            // In one directory: 8.3 to long, long to 8.3, a change of case.
            vol.rename("/README.TXT", "/read me renamed.txt").unwrap();
            vol.rename("/A Long Name With Spaces.txt", "/SHORT.TXT")
                .unwrap();
            vol.rename("/MixedCase.Txt", "/mixedcase.txt").unwrap();
            vol.rename("/mixedcase.txt", "/mixedcase.txt").unwrap();
            // Across directories, a file and two directories (one to the
            // root, one into another directory).
            vol.rename("/a/b/c/d/e/f/deep file.bin", "/many/moved up.bin")
                .unwrap();
            vol.rename("/a/b/c", "/c moved").unwrap();
            vol.rename("/empty dir", "/a/b/empty dir moved").unwrap();
            // Over a file: the old one's clusters are free again.
            vol.write_file("/doomsav0.tmp", &save).unwrap();
            vol.rename("/doomsav0.tmp", "/freedoom1.wad").unwrap();
            // What is refused changes nothing.
            assert_eq!(vol.rename("/a", "/a/b/x"), Err(FatError::IntoItself));
            assert_eq!(vol.rename("/a", "/a/x"), Err(FatError::IntoItself));
            assert_eq!(vol.rename("/nope", "/x"), Err(FatError::NotFound));
            assert_eq!(vol.rename("/empty", "/no/dir/x"), Err(FatError::NotFound));
            assert_eq!(vol.rename("/many", "/a"), Err(FatError::Exists));
            assert_eq!(vol.rename("/empty", "/a"), Err(FatError::Exists));
            assert_eq!(vol.rename("/a", "/empty"), Err(FatError::Exists));
            assert_eq!(vol.rename("/", "/x"), Err(FatError::BadName));
            assert_eq!(vol.rename("/empty", "/bad?name"), Err(FatError::BadName));
            assert_eq!(vol.rename("/empty", "/"), Err(FatError::BadName));
            vol.free_clusters().unwrap()
        });
        let mv = |tree: &mut Tree, from: &str, to: &str| {
            let moved: Vec<String> = tree
                .keys()
                .filter(|k| *k == from || k.starts_with(&format!("{from}/")))
                .cloned()
                .collect();
            for k in moved {
                let v = tree.remove(&k).unwrap();
                tree.insert(format!("{to}{}", &k[from.len()..]), v);
            }
        };
        mv(&mut tree, "/README.TXT", "/read me renamed.txt");
        mv(&mut tree, "/A Long Name With Spaces.txt", "/SHORT.TXT");
        mv(&mut tree, "/MixedCase.Txt", "/mixedcase.txt");
        mv(
            &mut tree,
            "/a/b/c/d/e/f/deep file.bin",
            "/many/moved up.bin",
        );
        mv(&mut tree, "/a/b/c", "/c moved");
        mv(&mut tree, "/empty dir", "/a/b/empty dir moved");
        tree.insert("/freedoom1.wad".into(), Some(save.clone()));
        let wad_clusters = 300_000u32.div_ceil(cluster);
        let save_clusters = 7000u32.div_ceil(cluster);
        assert_eq!(ours_free, before + wad_clusters - save_clusters, "{t:?}");
        with_fatfs(&mut img, |fs| {
            assert_eq!(fatfs_tree(fs), tree, "{t:?}");
            assert_eq!(fs.stats().unwrap().free_clusters(), ours_free, "{t:?}");
            // The moved directories' `..` name their new parents.
            let root = fatfs_names(fs, "");
            assert_eq!(fatfs_names(fs, "c moved/.."), root, "{t:?}");
            assert_eq!(
                fatfs_names(fs, "a/b/empty dir moved/.."),
                fatfs_names(fs, "a/b"),
                "{t:?}"
            );
            assert!(root.contains(&"mixedcase.txt".to_string()), "{root:?}");
            assert!(!root.contains(&"MixedCase.Txt".to_string()), "{root:?}");
        });
        with_ours(&mut img, |vol| assert_eq!(our_tree(vol).unwrap(), tree));
    }
}

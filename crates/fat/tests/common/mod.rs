//! Test helpers: volumes formatted and checked by the independent `fatfs`.
#![allow(dead_code)]

use block::{BlockDevice, MemDisk};
use fat::{FatError, FatType, Volume};
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

/// A file system tree: path → `None` for a directory, file contents else.
pub type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// One volume shape per FAT type: (type, image bytes, cluster bytes).
pub const SHAPES: [(FatType, usize, u32); 3] = [
    (FatType::Fat12, 2 << 20, 512),
    (FatType::Fat16, 16 << 20, 2048),
    (FatType::Fat32, 40 << 20, 512),
];

fn fatfs_type(t: FatType) -> fatfs::FatType {
    match t {
        FatType::Fat12 => fatfs::FatType::Fat12,
        FatType::Fat16 => fatfs::FatType::Fat16,
        FatType::Fat32 => fatfs::FatType::Fat32,
    }
}

/// A freshly formatted image.
pub fn format(t: FatType, bytes: usize, cluster: u32) -> Vec<u8> {
    let mut c = Cursor::new(vec![0u8; bytes]);
    let opts = fatfs::FormatVolumeOptions::new()
        .fat_type(fatfs_type(t))
        .bytes_per_cluster(cluster)
        .volume_label(*b"FERRITE    ");
    fatfs::format_volume(&mut c, opts).expect("fatfs formats");
    c.into_inner()
}

/// Runs `f` on the image mounted by fatfs, then unmounts it.
pub fn with_fatfs<R>(
    img: &mut Vec<u8>,
    f: impl FnOnce(&fatfs::FileSystem<&mut Cursor<Vec<u8>>>) -> R,
) -> R {
    let mut c = Cursor::new(std::mem::take(img));
    let r = {
        let fs = fatfs::FileSystem::new(&mut c, fatfs::FsOptions::new()).expect("fatfs mounts");
        let r = f(&fs);
        fs.unmount().expect("fatfs unmounts");
        r
    };
    *img = c.into_inner();
    r
}

/// Runs `f` on the image mounted by this crate, then unmounts it.
pub fn with_ours<R>(img: &mut Vec<u8>, f: impl FnOnce(&mut Volume<&mut MemDisk>) -> R) -> R {
    let mut disk = MemDisk::new(512, std::mem::take(img));
    let r = {
        let mut vol = Volume::mount(&mut disk).expect("fat mounts");
        let r = f(&mut vol);
        vol.unmount().expect("fat unmounts");
        r
    };
    *img = disk.into_bytes();
    r
}

/// Deterministic pseudo-random bytes.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// fatfs's view of the whole tree.
pub fn fatfs_tree(fs: &fatfs::FileSystem<&mut Cursor<Vec<u8>>>) -> Tree {
    fn walk(dir: fatfs::Dir<&mut Cursor<Vec<u8>>>, prefix: &str, out: &mut Tree) {
        for e in dir.iter() {
            let e = e.expect("fatfs lists");
            let name = e.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let path = format!("{prefix}/{name}");
            if e.is_dir() {
                out.insert(path.clone(), None);
                walk(e.to_dir(), &path, out);
            } else {
                let mut data = Vec::new();
                e.to_file().read_to_end(&mut data).expect("fatfs reads");
                assert_eq!(data.len() as u64, e.len());
                out.insert(path, Some(data));
            }
        }
    }
    let mut out = Tree::new();
    walk(fs.root_dir(), "", &mut out);
    out
}

/// This crate's view of the whole tree.
pub fn our_tree<D: BlockDevice>(vol: &mut Volume<D>) -> Result<Tree, FatError> {
    fn walk<D: BlockDevice>(
        vol: &mut Volume<D>,
        path: &str,
        out: &mut Tree,
    ) -> Result<(), FatError> {
        for e in vol.read_dir(path)? {
            let p = format!("{path}/{}", e.name);
            if e.is_dir {
                out.insert(p.clone(), None);
                walk(vol, &p, out)?;
            } else {
                let data = vol.read_file(&p)?;
                assert_eq!(data.len(), e.size as usize);
                out.insert(p, Some(data));
            }
        }
        Ok(())
    }
    let mut out = Tree::new();
    walk(vol, "", &mut out)?;
    Ok(out)
}

/// Writes `tree` with fatfs (directories first: BTreeMap order does it).
pub fn fatfs_write(fs: &fatfs::FileSystem<&mut Cursor<Vec<u8>>>, tree: &Tree) {
    let root = fs.root_dir();
    for (path, data) in tree {
        let p = path.trim_start_matches('/');
        match data {
            None => {
                root.create_dir(p).expect("fatfs creates a directory");
            }
            Some(d) => {
                let mut f = root.create_file(p).expect("fatfs creates a file");
                f.truncate().unwrap();
                f.write_all(d).expect("fatfs writes");
            }
        }
    }
}

/// A tree with the shapes that matter: long names, spaces, Unicode,
/// case, depth, a many-cluster file, an empty file, a many-entry directory.
pub fn sample_tree() -> Tree {
    let mut t = Tree::new();
    let mut file = |p: &str, d: Vec<u8>| t.insert(p.to_string(), Some(d));
    file("/freedoom1.wad", noise(300_000, 1));
    file(
        "/A Long Name With Spaces.txt",
        b"spaces and a long name\n".to_vec(),
    );
    file("/MixedCase.Txt", b"mixed".to_vec());
    file("/README.TXT", b"a plain 8.3 name".to_vec());
    file("/empty", Vec::new());
    file("/\u{dc}nic\u{f6}de \u{2603}.txt", b"snow".to_vec());
    file("/a/b/c/d/e/f/deep file.bin", noise(5000, 2));
    for i in 0..70 {
        file(
            &format!("/many/entry number {i:03} with a long name"),
            noise(i * 37, i as u32),
        );
    }
    for d in [
        "/a",
        "/a/b",
        "/a/b/c",
        "/a/b/c/d",
        "/a/b/c/d/e",
        "/a/b/c/d/e/f",
        "/many",
        "/empty dir",
    ] {
        t.insert(d.to_string(), None);
    }
    t
}

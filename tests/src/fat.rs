//! Writes a FAT boot volume (the EFI system partition image) from files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// One file to put on the volume: its path there (`/`-separated, no
/// leading `/`) and its contents.
pub struct VolumeFile {
    /// Destination path on the volume, e.g. `EFI/BOOT/BOOTX64.EFI`.
    pub path: String,
    /// File contents.
    pub data: Vec<u8>,
}

impl VolumeFile {
    /// Reads `source` from disk for `path` on the volume.
    pub fn from_disk(path: &str, source: &Path) -> io::Result<Self> {
        let data = fs::read(source).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot read {}: {e}", source.display()))
        })?;
        Ok(Self {
            path: path.to_string(),
            data,
        })
    }

    /// A file with the given contents.
    pub fn new(path: &str, data: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.to_string(),
            data: data.into(),
        }
    }
}

/// Collects every file below `dir` (recursively) as volume files.
pub fn files_from_dir(dir: &Path) -> io::Result<Vec<VolumeFile>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<VolumeFile>) -> io::Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path.strip_prefix(root).map_err(io::Error::other)?;
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.push(VolumeFile::from_disk(&rel, &path)?);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Writes a FAT image at `image` holding `files`. The size is the contents
/// plus slack, at least 34 MiB so that the volume is FAT32, which every
/// UEFI firmware reads.
pub fn write_volume(image: &Path, files: &[VolumeFile]) -> io::Result<()> {
    write_labelled_volume(image, files, "FERRITE", 34 << 20)
}

/// Writes a FAT32 image at `image` holding `files`, labelled `label` (at
/// most 11 characters), of the contents plus slack and at least
/// `min_bytes` (at least 34 MiB: FAT32's smallest with 512-byte
/// clusters).
pub fn write_labelled_volume(
    image: &Path,
    files: &[VolumeFile],
    label: &str,
    min_bytes: u64,
) -> io::Result<()> {
    if label.len() > 11 {
        return Err(io::Error::other(format!(
            "label '{label}' is over 11 bytes"
        )));
    }
    let mut raw = [b' '; 11];
    raw[..label.len()].copy_from_slice(label.as_bytes());
    let content: u64 = files.iter().map(|f| f.data.len() as u64 + 4096).sum();
    let size = (content * 5 / 4 + (8 << 20)).max(min_bytes.max(34 << 20));
    let size = size.div_ceil(1 << 20) << 20;
    if let Some(parent) = image.parent() {
        fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(image)?;
    file.set_len(size)?;
    let mut file = file;
    fatfs::format_volume(
        &mut file,
        fatfs::FormatVolumeOptions::new()
            .fat_type(fatfs::FatType::Fat32)
            .volume_label(raw),
    )?;
    let fs = fatfs::FileSystem::new(file, fatfs::FsOptions::new())?;
    let root = fs.root_dir();
    for f in files {
        let parts: Vec<&str> = f.path.split('/').filter(|p| !p.is_empty()).collect();
        let Some((name, dirs)) = parts.split_last() else {
            return Err(io::Error::other(format!("empty volume path '{}'", f.path)));
        };
        let mut dir = root.clone();
        for d in dirs {
            dir = match dir.open_dir(d) {
                Ok(existing) => existing,
                Err(_) => dir.create_dir(d)?,
            };
        }
        let mut out = dir.create_file(name)?;
        out.truncate()?;
        out.write_all(&f.data)?;
        out.flush()?;
    }
    drop(root);
    fs.unmount()?;
    Ok(())
}

/// Reads a file back from a FAT image (for tests of this module).
pub fn read_file(image: &Path, path: &str) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = File::open(image)?;
    let fs = fatfs::FileSystem::new(file, fatfs::FsOptions::new())?;
    let mut f = fs.root_dir().open_file(path)?;
    let mut data = Vec::new();
    f.read_to_end(&mut data)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_through_a_volume() {
        let dir = std::env::temp_dir().join(format!("ferrite-fat-{}", std::process::id()));
        let image = dir.join("v.img");
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let files = vec![
            VolumeFile::new("EFI/BOOT/BOOTX64.EFI", b"MZ loader".to_vec()),
            VolumeFile::new("limine.conf", b"timeout: 0\n".to_vec()),
            VolumeFile::new("boot/kernel.elf", big.clone()),
        ];
        write_volume(&image, &files).unwrap();
        assert_eq!(
            read_file(&image, "EFI/BOOT/BOOTX64.EFI").unwrap(),
            b"MZ loader"
        );
        assert_eq!(read_file(&image, "boot/kernel.elf").unwrap(), big);
        assert!(read_file(&image, "boot/missing").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

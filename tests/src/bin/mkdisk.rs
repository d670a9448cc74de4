//! Makes the data disk `make qemu` attaches: `mkdisk <image> [file...]`
//! writes a FAT32 volume labelled DATA holding a README.TXT and each file
//! in its root (by its file name). An image that exists is left alone, so
//! files put on it are never lost to a rebuild.

use ferrite_tests::fat::{write_labelled_volume, VolumeFile};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What the disk says about itself.
const README: &str = "\
This is Ferrite's data disk (target/disk.img), volume label DATA.
Programs see it as /disk/DATA/<path> (or by its disk name, /disk/vda/...).
Put files on it with mtools while QEMU is not running:
  mcopy -i target/disk.img myfile.txt ::/
  mdir -i target/disk.img ::/
Delete target/disk.img to get a fresh one at the next make qemu.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((image, sources)) = args.split_first() else {
        eprintln!("usage: mkdisk <image> [file...]");
        return ExitCode::from(2);
    };
    let image = PathBuf::from(image);
    if image.exists() {
        println!("mkdisk: {} exists; left as it is", image.display());
        return ExitCode::SUCCESS;
    }
    let mut files = vec![VolumeFile::new("README.TXT", README)];
    for s in sources {
        let path = Path::new(s);
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            eprintln!("mkdisk: error: '{s}' has no file name");
            return ExitCode::FAILURE;
        };
        match VolumeFile::from_disk(name, path) {
            Ok(f) => files.push(f),
            Err(e) => {
                eprintln!("mkdisk: error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // Room for what is put on it later: at least 64 MiB.
    match write_labelled_volume(&image, &files, "DATA", 64 << 20) {
        Ok(()) => {
            println!(
                "mkdisk: {} (FAT32, label DATA) with {} files",
                image.display(),
                files.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = std::fs::remove_file(&image);
            eprintln!("mkdisk: error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! Packs a directory into a FAT boot volume: `mkimage <dir> <image>`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, image] = args.as_slice() else {
        eprintln!("usage: mkimage <directory> <image>");
        return ExitCode::from(2);
    };
    let (dir, image) = (PathBuf::from(dir), PathBuf::from(image));
    let result = ferrite_tests::fat::files_from_dir(&dir)
        .and_then(|files| ferrite_tests::fat::write_volume(&image, &files).map(|()| files.len()));
    match result {
        Ok(n) => {
            println!(
                "mkimage: {} files from {} -> {}",
                n,
                dir.display(),
                image.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mkimage: error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! Disk images for the M6 checks: the pattern disk the suite attaches.
//!
//! Every sector of the pattern disk is stamped: `FRPATTRN`, its LBA and
//! the disk's sector count (little-endian u64s), then bytes that follow
//! from the LBA (kernel/src/milestones/m6.rs reads and checks them). The
//! kernel writes the last [`WRITE_SECTORS`] sectors with a second
//! pattern; [`check_written`] finds it in the image after QEMU exits.

use std::path::{Path, PathBuf};

/// Sectors of the pattern disk (8 MiB).
pub const SECTORS: u64 = 16384;
/// Sectors the kernel writes, at the end.
pub const WRITE_SECTORS: u64 = 64;
const SECTOR: usize = 512;

fn stamp(sector: &mut [u8], magic: &[u8; 8], lba: u64, count: u64) {
    sector[..8].copy_from_slice(magic);
    sector[8..16].copy_from_slice(&lba.to_le_bytes());
    sector[16..24].copy_from_slice(&count.to_le_bytes());
}

/// The pattern disk's bytes.
pub fn pattern(sectors: u64) -> Vec<u8> {
    let mut image = vec![0u8; sectors as usize * SECTOR];
    for (lba, sector) in image.chunks_mut(SECTOR).enumerate() {
        let lba = lba as u64;
        stamp(sector, b"FRPATTRN", lba, sectors);
        for (j, b) in sector.iter_mut().enumerate().skip(24) {
            *b = ((lba.wrapping_mul(31)) as u8).wrapping_add(j as u8);
        }
    }
    image
}

/// Writes a fresh pattern disk for boot `name`; returns its path.
pub fn pattern_disk(name: &str) -> Result<PathBuf, String> {
    let path = crate::images::scratch_dir().join(format!("{name}-disk.img"));
    std::fs::write(&path, pattern(SECTORS)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// QEMU arguments that attach `disk` as a virtio-blk device.
pub fn virtio_args(disk: &Path) -> Vec<String> {
    vec![
        "-drive".into(),
        format!("file={},format=raw,if=none,id=vd0", disk.display()),
        "-device".into(),
        "virtio-blk-pci,drive=vd0".into(),
    ]
}

/// Checks that the image holds what the kernel wrote at its end, and the
/// host's pattern everywhere else.
pub fn check_written(disk: &Path) -> Result<(), String> {
    let image = std::fs::read(disk).map_err(|e| format!("{}: {e}", disk.display()))?;
    let sectors = (image.len() / SECTOR) as u64;
    let original = pattern(sectors);
    let first = sectors - WRITE_SECTORS;
    for (lba, sector) in image.chunks(SECTOR).enumerate() {
        let lba = lba as u64;
        let want: Vec<u8> = if lba < first {
            original[lba as usize * SECTOR..][..SECTOR].to_vec()
        } else {
            let mut s = vec![0u8; SECTOR];
            stamp(&mut s, b"FRWRITTN", lba, sectors);
            for (j, b) in s.iter_mut().enumerate().skip(24) {
                *b = ((lba.wrapping_mul(7)) as u8).wrapping_add(j as u8) ^ 0x5a;
            }
            s
        };
        if sector != want.as_slice() {
            return Err(format!(
                "sector {lba} of {} is not what the kernel wrote (or left)",
                disk.display()
            ));
        }
    }
    Ok(())
}

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

/// One partition as the host's writer put it: (index, first LBA, sectors,
/// type as the kernel prints it, name).
pub type Expected = (u32, u64, u64, String, String);

/// A disk the suite attaches besides the pattern disk, and what the
/// kernel must say about it.
pub struct TableDisk {
    /// The image file.
    pub path: PathBuf,
    /// Its sectors (each disk has its own size, so the host can tell which
    /// `vdX` it is).
    pub sectors: u64,
    /// The partitions, or `None` for a disk the kernel must refuse.
    pub partitions: Option<Vec<Expected>>,
    /// The image as made: the kernel only reads these disks, so the file
    /// must still hold exactly this after the run.
    pub bytes: Vec<u8>,
}

/// A GPT disk of 12288 sectors written by the `gpt` crate, with three
/// partitions; the expectations come from `gpt` reading it back.
fn gpt_disk(path: &Path, sectors: u64) -> Result<Vec<Expected>, String> {
    use gpt::partition_types::{BASIC, EFI, LINUX_FS};
    let err = |e: &dyn std::fmt::Display| format!("gpt: {e}");
    let mut dev = std::io::Cursor::new(vec![0u8; sectors as usize * SECTOR]);
    gpt::mbr::ProtectiveMBR::with_lb_size((sectors - 1) as u32)
        .overwrite_lba0(&mut dev)
        .map_err(|e| err(&e))?;
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .create_from_device(dev, None)
        .map_err(|e| err(&e))?;
    for (name, bytes, kind) in [
        ("EFI system", 1u64 << 20, EFI),
        ("ferrite data", 3 << 20, BASIC),
        ("root", 1 << 20, LINUX_FS),
    ] {
        disk.add_partition(name, bytes, kind, 0, None)
            .map_err(|e| err(&e))?;
    }
    let image = disk.write().map_err(|e| err(&e))?.into_inner();
    std::fs::write(path, &image).map_err(|e| format!("{}: {e}", path.display()))?;
    let reread = gpt::GptConfig::new()
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .open_from_device(std::io::Cursor::new(image))
        .map_err(|e| err(&e))?;
    Ok(reread
        .partitions()
        .iter()
        .map(|(&i, p)| {
            (
                i,
                p.first_lba,
                p.last_lba - p.first_lba + 1,
                p.part_type_guid.guid.to_string().to_uppercase(),
                p.name.clone(),
            )
        })
        .collect())
}

/// An MBR disk written by `mbrman`: two primaries and an extended
/// partition with two logicals; the expectations come from `mbrman`
/// reading it back.
fn mbr_disk(path: &Path, sectors: u64) -> Result<Vec<Expected>, String> {
    use mbrman::{MBRPartitionEntry, BOOT_ACTIVE, BOOT_INACTIVE, CHS, MBR};
    let err = |e: &dyn std::fmt::Display| format!("mbrman: {e}");
    let entry = |boot, sys, starting_lba, sectors| MBRPartitionEntry {
        boot,
        first_chs: CHS::empty(),
        sys,
        last_chs: CHS::empty(),
        starting_lba,
        sectors,
    };
    let mut cur = std::io::Cursor::new(vec![0u8; sectors as usize * SECTOR]);
    let mut mbr =
        MBR::new_from(&mut cur, SECTOR as u32, [0x46, 0x52, 0x54, 0x45]).map_err(|e| err(&e))?;
    mbr.align = 1;
    mbr[1] = entry(BOOT_ACTIVE, 0x0c, 2048, 2048);
    mbr[2] = entry(BOOT_INACTIVE, 0x83, 4096, 1024);
    mbr[3] = entry(BOOT_INACTIVE, 0x0f, 5120, 4096);
    mbr.push(0x06, 5120, 2048).map_err(|e| err(&e))?;
    mbr.push(0x83, 7200, 1000).map_err(|e| err(&e))?;
    mbr.write_into(&mut cur).map_err(|e| err(&e))?;
    let image = cur.into_inner();
    std::fs::write(path, &image).map_err(|e| format!("{}: {e}", path.display()))?;
    let reread =
        MBR::read_from(&mut std::io::Cursor::new(image), SECTOR as u32).map_err(|e| err(&e))?;
    Ok(reread
        .iter()
        .filter(|(_, p)| p.is_used() && !p.is_extended())
        .map(|(i, p)| {
            (
                i as u32,
                u64::from(p.starting_lba),
                u64::from(p.sectors),
                format!("mbr:{:#04x}", p.sys),
                String::new(),
            )
        })
        .collect())
}

/// The partition disks of boot `name`: GPT, MBR, and a GPT whose header
/// CRCs are broken in both copies.
pub fn table_disks(name: &str) -> Result<Vec<TableDisk>, String> {
    let dir = crate::images::scratch_dir();
    let gpt_path = dir.join(format!("{name}-gpt.img"));
    let mbr_path = dir.join(format!("{name}-mbr.img"));
    let bad_path = dir.join(format!("{name}-badgpt.img"));
    let gpt = gpt_disk(&gpt_path, 12288)?;
    let mbr = mbr_disk(&mbr_path, 10240)?;
    gpt_disk(&bad_path, 14336)?;
    let mut bad = std::fs::read(&bad_path).map_err(|e| e.to_string())?;
    // The header CRC (offset 16 of the header) of the primary at LBA 1
    // and of the backup at the last LBA.
    for lba in [1usize, 14335] {
        bad[lba * SECTOR + 16] ^= 0xff;
    }
    std::fs::write(&bad_path, &bad).map_err(|e| e.to_string())?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    Ok(vec![
        TableDisk {
            bytes: read(&gpt_path)?,
            path: gpt_path,
            sectors: 12288,
            partitions: Some(gpt),
        },
        TableDisk {
            bytes: read(&mbr_path)?,
            path: mbr_path,
            sectors: 10240,
            partitions: Some(mbr),
        },
        TableDisk {
            bytes: bad,
            path: bad_path,
            sectors: 14336,
            partitions: None,
        },
    ])
}

/// QEMU arguments that attach every disk of `disks` after the pattern
/// disk (`vd1`, `vd2`, ...).
pub fn table_args(disks: &[TableDisk]) -> Vec<String> {
    disks
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            [
                "-drive".to_string(),
                format!(
                    "file={},format=raw,if=none,id=vd{}",
                    d.path.display(),
                    i + 1
                ),
                "-device".to_string(),
                format!("virtio-blk-pci,drive=vd{}", i + 1),
            ]
        })
        .collect()
}

/// Compares the kernel's `DISK`/`PART` lines in `serial` with `disks`.
pub fn check_tables(serial: &str, disks: &[TableDisk]) -> Result<(), String> {
    let text = crate::transcript::clean(serial);
    let field = |line: &str, key: &str| -> Option<String> {
        let at = line.find(&format!(" {key}="))? + key.len() + 2;
        let rest = &line[at..];
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            Some(quoted[..end].to_string())
        } else {
            Some(rest.split_whitespace().next()?.to_string())
        }
    };
    let mut problems = Vec::new();
    for d in disks {
        let want_sectors = format!("sectors={}", d.sectors);
        let Some(line) = text
            .lines()
            .find(|l| l.starts_with("DISK ") && l.split_whitespace().any(|w| w == want_sectors))
        else {
            problems.push(format!("no DISK line for {}", d.path.display()));
            continue;
        };
        let name = line.split_whitespace().nth(1).unwrap_or("");
        match &d.partitions {
            None => {
                if field(line, "error").is_none() {
                    problems.push(format!(
                        "{name} ({}): not refused: {line}",
                        d.path.display()
                    ));
                }
            }
            Some(want) => {
                let got: Vec<Expected> = text
                    .lines()
                    .filter(|l| l.starts_with(&format!("PART {name} ")))
                    .filter_map(|l| {
                        Some((
                            l.split_whitespace().nth(2)?.parse().ok()?,
                            field(l, "first")?.parse().ok()?,
                            field(l, "count")?.parse().ok()?,
                            field(l, "type")?,
                            field(l, "name")?,
                        ))
                    })
                    .collect();
                if &got != want {
                    problems.push(format!(
                        "{name} ({}): the kernel read {got:?}, the writer made {want:?}",
                        d.path.display()
                    ));
                }
            }
        }
    }
    for d in disks {
        match std::fs::read(&d.path) {
            Ok(now) if now == d.bytes => {}
            Ok(_) => problems.push(format!("{} was written to", d.path.display())),
            Err(e) => problems.push(format!("{}: {e}", d.path.display())),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

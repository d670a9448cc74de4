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

/// Files as the host put them on a volume: (path, contents).
pub type Files = Vec<(String, Vec<u8>)>;

/// A FAT volume the host formatted on a partition, and its files.
pub struct FatVolume {
    /// Partition index on its disk.
    pub index: u32,
    /// Byte offset of the partition in the image.
    pub offset: usize,
    /// Its size in bytes.
    pub bytes: usize,
    /// The label (the kernel writes on every `FERRITE*` volume).
    pub label: String,
    /// "Fat12", "Fat16" or "Fat32", as the kernel prints it.
    pub fat_type: &'static str,
    /// Every file the host put there.
    pub files: Files,
}

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
    /// The FAT volumes on it.
    pub volumes: Vec<FatVolume>,
    /// The image as made.
    pub bytes: Vec<u8>,
    /// Byte ranges of the image the kernel must leave as they were (a
    /// refused table, a volume it must not mount).
    pub untouched: Vec<std::ops::Range<usize>>,
}

/// The files the host puts on every FAT volume: long names, a directory,
/// a multi-cluster file and an empty one.
fn volume_files(label: &str) -> Files {
    let mut sample = Vec::with_capacity(300_000);
    let mut x: u32 = 0x1234_5678 ^ label.len() as u32;
    while sample.len() < 300_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        sample.extend_from_slice(&x.to_le_bytes());
    }
    vec![
        (
            "/readme.txt".into(),
            format!("The {label} volume, made by the host.\n").into_bytes(),
        ),
        (
            "/A Long File Name With Spaces.txt".into(),
            b"long names work\n".to_vec(),
        ),
        ("/data/freedoom-sample.bin".into(), sample),
        ("/data/empty.txt".into(), Vec::new()),
    ]
}

/// Where FERRITE32 holds a copy of m3-tests.exe, which ring 3 starts
/// (user/m3-tests/src/disk_writes.rs).
pub const DISK_PROGRAM: &str = "/programs/Disk Copy Of M3 Tests.exe";

/// A fresh FAT volume of `bytes` with [`volume_files`], by `fatfs`.
fn fat_volume(t: fatfs::FatType, bytes: usize, label: &str) -> Result<(Vec<u8>, Files), String> {
    use std::io::Write;
    let err = |e: std::io::Error| format!("fatfs: {e}");
    let mut raw = [b' '; 11];
    raw[..label.len()].copy_from_slice(label.as_bytes());
    let mut cur = std::io::Cursor::new(vec![0u8; bytes]);
    fatfs::format_volume(
        &mut cur,
        fatfs::FormatVolumeOptions::new()
            .fat_type(t)
            .bytes_per_cluster(512)
            .volume_label(raw),
    )
    .map_err(err)?;
    let mut files = volume_files(label);
    if label == "FERRITE32" {
        let exe = crate::images::build_user()?.m3_tests;
        let bytes = std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
        files.push((DISK_PROGRAM.into(), bytes));
    }
    {
        let fs = fatfs::FileSystem::new(&mut cur, fatfs::FsOptions::new()).map_err(err)?;
        let root = fs.root_dir();
        root.create_dir("data").map_err(err)?;
        root.create_dir("programs").map_err(err)?;
        for (path, data) in &files {
            let mut f = root.create_file(&path[1..]).map_err(err)?;
            f.write_all(data).map_err(err)?;
        }
    }
    Ok((cur.into_inner(), files))
}

/// Copies a volume into `image` at `lba`.
fn place(image: &mut [u8], lba: u64, volume: &[u8]) -> usize {
    let at = lba as usize * SECTOR;
    image[at..at + volume.len()].copy_from_slice(volume);
    at
}

/// What [`gpt_disk`] made: the partitions, the FAT volumes, the ranges
/// the kernel must leave alone.
type GptParts = (Vec<Expected>, Vec<FatVolume>, Vec<std::ops::Range<usize>>);

/// A GPT disk written by the `gpt` crate: an EFI system partition whose
/// FAT boot sector is broken (the kernel must not mount it, nor write
/// it), a FAT32 data partition and a Linux one. The expectations come
/// from `gpt` reading it back.
fn gpt_disk(path: &Path, sectors: u64, with_volumes: bool) -> Result<GptParts, String> {
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
    let data_bytes: u64 = if with_volumes { 36 << 20 } else { 3 << 20 };
    for (name, bytes, kind) in [
        ("EFI system", 1u64 << 20, EFI),
        ("ferrite data", data_bytes, BASIC),
        ("root", 1 << 20, LINUX_FS),
    ] {
        disk.add_partition(name, bytes, kind, 0, None)
            .map_err(|e| err(&e))?;
    }
    let mut image = disk.write().map_err(|e| err(&e))?.into_inner();
    let reread = gpt::GptConfig::new()
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .open_from_device(std::io::Cursor::new(image.clone()))
        .map_err(|e| err(&e))?;
    let expected: Vec<Expected> = reread
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
        .collect();
    let mut volumes = Vec::new();
    let mut untouched = Vec::new();
    if with_volumes {
        let (_, efi_first, efi_count, _, _) = expected[0];
        let (mut efi, _) =
            fat_volume(fatfs::FatType::Fat12, efi_count as usize * SECTOR, "BROKEN")?;
        // Bytes per sector (BPB offset 11) 0: no FAT volume.
        efi[11] = 0;
        efi[12] = 0;
        let at = place(&mut image, efi_first, &efi);
        untouched.push(at..at + efi.len());
        let (_, first, count, _, _) = expected[1];
        let (vol, files) = fat_volume(fatfs::FatType::Fat32, count as usize * SECTOR, "FERRITE32")?;
        let offset = place(&mut image, first, &vol);
        volumes.push(FatVolume {
            index: 2,
            offset,
            bytes: vol.len(),
            label: "FERRITE32".into(),
            fat_type: "Fat32",
            files,
        });
    }
    std::fs::write(path, &image).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((expected, volumes, untouched))
}

/// An MBR disk written by `mbrman`: a FAT16 primary, a Linux primary and
/// an extended partition with a FAT12 and a Linux logical; the
/// expectations come from `mbrman` reading it back.
fn mbr_disk(path: &Path, sectors: u64) -> Result<(Vec<Expected>, Vec<FatVolume>), String> {
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
    mbr[1] = entry(BOOT_ACTIVE, 0x06, 2048, 8192);
    mbr[2] = entry(BOOT_INACTIVE, 0x83, 10240, 2048);
    mbr[3] = entry(BOOT_INACTIVE, 0x0f, 12288, 8192);
    mbr.push(0x06, 12288, 4096).map_err(|e| err(&e))?;
    mbr.push(0x83, 16400, 1000).map_err(|e| err(&e))?;
    mbr.write_into(&mut cur).map_err(|e| err(&e))?;
    let mut image = cur.into_inner();
    let reread = MBR::read_from(&mut std::io::Cursor::new(image.clone()), SECTOR as u32)
        .map_err(|e| err(&e))?;
    let expected: Vec<Expected> = reread
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
        .collect();
    let mut volumes = Vec::new();
    for (index, t, label, name) in [
        (1u32, fatfs::FatType::Fat16, "FERRITE16", "Fat16"),
        (5, fatfs::FatType::Fat12, "FERRITE12", "Fat12"),
    ] {
        let &(_, first, count, _, _) = expected
            .iter()
            .find(|e| e.0 == index)
            .ok_or_else(|| format!("mbrman lost partition {index}"))?;
        let (vol, files) = fat_volume(t, count as usize * SECTOR, label)?;
        let offset = place(&mut image, first, &vol);
        volumes.push(FatVolume {
            index,
            offset,
            bytes: vol.len(),
            label: label.into(),
            fat_type: name,
            files,
        });
    }
    std::fs::write(path, &image).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((expected, volumes))
}

/// The partition disks of boot `name`: GPT (with a FAT32 volume and a
/// broken one), MBR (FAT16 and FAT12 volumes), and a GPT whose header
/// CRCs are broken in both copies.
pub fn table_disks(name: &str) -> Result<Vec<TableDisk>, String> {
    let dir = crate::images::scratch_dir();
    let gpt_path = dir.join(format!("{name}-gpt.img"));
    let mbr_path = dir.join(format!("{name}-mbr.img"));
    let bad_path = dir.join(format!("{name}-badgpt.img"));
    let (gpt, gpt_volumes, gpt_untouched) = gpt_disk(&gpt_path, 81920, true)?;
    let (mbr, mbr_volumes) = mbr_disk(&mbr_path, 32768)?;
    gpt_disk(&bad_path, 14336, false)?;
    let mut bad = std::fs::read(&bad_path).map_err(|e| e.to_string())?;
    // The header CRC (offset 16 of the header) of the primary at LBA 1
    // and of the backup at the last LBA.
    for lba in [1usize, 14335] {
        bad[lba * SECTOR + 16] ^= 0xff;
    }
    std::fs::write(&bad_path, &bad).map_err(|e| e.to_string())?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let bad_len = bad.len();
    Ok(vec![
        TableDisk {
            bytes: read(&gpt_path)?,
            path: gpt_path,
            sectors: 81920,
            partitions: Some(gpt),
            volumes: gpt_volumes,
            untouched: gpt_untouched,
        },
        TableDisk {
            bytes: read(&mbr_path)?,
            path: mbr_path,
            sectors: 32768,
            partitions: Some(mbr),
            volumes: mbr_volumes,
            untouched: Vec::new(),
        },
        TableDisk {
            bytes: bad,
            path: bad_path,
            sectors: 14336,
            partitions: None,
            volumes: Vec::new(),
            untouched: std::iter::once(0..bad_len).collect(),
        },
    ])
}
/// The table disk (index into [`table_disks`]: the MBR one) that QEMU
/// attaches without MSI-X (`vectors=0`), so that its requests complete
/// through its legacy INTx line.
pub const INTX_DISK: usize = 1;

/// QEMU arguments that attach every disk of `disks` after the pattern
/// disk (`vd1`, `vd2`, ...); disk [`INTX_DISK`] has no MSI-X.
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
                format!(
                    "virtio-blk-pci,drive=vd{}{}",
                    i + 1,
                    if i == INTX_DISK { ",vectors=0" } else { "" }
                ),
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
            Ok(now) => {
                for r in &d.untouched {
                    if now.get(r.clone()) != d.bytes.get(r.clone()) {
                        problems.push(format!("{} bytes {r:?} were written to", d.path.display()));
                    }
                }
            }
            Err(e) => problems.push(format!("{}: {e}", d.path.display())),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// FNV-1a, 64 bits (what the kernel prints per file).
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The file the kernel writes on each `FERRITE*` volume, and its
/// contents for the volume it calls `name`.
pub const KERNEL_FILE: &str = "made by the kernel/Kernel Wrote This File.txt";

/// The file `m3-tests.exe disk` writes on FERRITE32 from ring 3
/// (user/m3-tests/src/disk_writes.rs), and what it holds.
pub const RING3_FILE: &str = "from ring 3/Written By A Program.txt";
/// The file `m3-tests.exe disk` renames a draft onto, and the draft's bytes
/// (user/m3-tests/src/disk_writes.rs, `DRAFT_BYTES`).
pub const RING3_SAVED: &str = "from ring 3/Saved Game.dsg";
const RING3_SAVED_BYTES: &[u8] = b"a draft saved under a new name by rename()\n";

/// The bytes of [`RING3_FILE`], by the program's recipe: a header line
/// and 500 lines through `fprintf`, 100000 bytes through `fwrite`, then
/// an append through `fputs` and `fputc`.
pub fn ring3_contents() -> Vec<u8> {
    let mut out = b"Ferrite ring 3 wrote this file: 500 lines, then 100000 bytes.\n".to_vec();
    for i in 0..500 {
        out.extend_from_slice(format!("line {i:04}: the quick brown fox\n").as_bytes());
    }
    out.extend((0..100_000usize).map(|k| (k * 7 + k / 256) as u8));
    out.extend_from_slice(b"appended after reopening\n!");
    out
}

fn kernel_contents(name: &str) -> Vec<u8> {
    format!("Ferrite wrote this on {name}.\n")
        .bytes()
        .cycle()
        .take(20_000)
        .collect()
}

/// Compares the kernel's `VOLUME` and `FILE` lines with the volumes the
/// host made, then reads each volume back with `fatfs` from the image
/// files (QEMU has exited): the host's files must be intact and the
/// kernel's file there with its contents.
pub fn check_volumes(serial: &str, disks: &[TableDisk]) -> Result<(), String> {
    use std::collections::BTreeSet;
    use std::io::Read;
    let text = crate::transcript::clean(serial);
    let mut problems = Vec::new();
    for d in disks {
        let image = std::fs::read(&d.path).map_err(|e| format!("{}: {e}", d.path.display()))?;
        for v in &d.volumes {
            let label = format!("label={:?}", v.label);
            let Some(line) = text
                .lines()
                .find(|l| l.starts_with("VOLUME ") && l.split_whitespace().any(|w| w == label))
            else {
                problems.push(format!("no VOLUME line for {}", v.label));
                continue;
            };
            let name = line.split_whitespace().nth(1).unwrap_or("").to_string();
            if !line.ends_with(&format!("type={}", v.fat_type)) {
                problems.push(format!("{name}: {line}, expected type={}", v.fat_type));
            }
            let got: BTreeSet<String> = text
                .lines()
                .filter(|l| l.starts_with(&format!("FILE {name} ")))
                .map(|l| l[format!("FILE {name} ").len()..].to_string())
                .collect();
            let want: BTreeSet<String> = v
                .files
                .iter()
                .map(|(p, data)| format!("{p:?} size={} fnv={:016x}", data.len(), fnv1a(data)))
                .collect();
            if got != want {
                problems.push(format!(
                    "{name}: the kernel read {got:?}, the host wrote {want:?}"
                ));
            }
            // After power-off, through fatfs.
            let mut cur = std::io::Cursor::new(image[v.offset..v.offset + v.bytes].to_vec());
            let fs = match fatfs::FileSystem::new(&mut cur, fatfs::FsOptions::new()) {
                Ok(fs) => fs,
                Err(e) => {
                    problems.push(format!("{name}: fatfs cannot mount it after the run: {e}"));
                    continue;
                }
            };
            let read = |path: &str| -> Result<Vec<u8>, String> {
                let mut data = Vec::new();
                fs.root_dir()
                    .open_file(path)
                    .and_then(|mut f| f.read_to_end(&mut data))
                    .map_err(|e| format!("{name}: fatfs reading '{path}': {e}"))?;
                Ok(data)
            };
            for (path, data) in &v.files {
                match read(&path[1..]) {
                    Ok(now) if &now == data => {}
                    Ok(_) => problems.push(format!("{name}: '{path}' changed")),
                    Err(e) => problems.push(e),
                }
            }
            match read(KERNEL_FILE) {
                Ok(now) if now == kernel_contents(&name) => {}
                Ok(now) => problems.push(format!(
                    "{name}: the kernel's file holds {} bytes, not what it wrote",
                    now.len()
                )),
                Err(e) => problems.push(e),
            }
            if v.label == "FERRITE32" {
                match read(RING3_FILE) {
                    Ok(now) if now == ring3_contents() => {}
                    Ok(now) => problems.push(format!(
                        "{name}: '{RING3_FILE}' holds {} bytes, not what ring 3 wrote ({})",
                        now.len(),
                        ring3_contents().len()
                    )),
                    Err(e) => problems.push(e),
                }
                match read(RING3_SAVED) {
                    Ok(now) if now == RING3_SAVED_BYTES => {}
                    Ok(now) => problems.push(format!(
                        "{name}: '{RING3_SAVED}' holds {:?}, not the renamed draft",
                        String::from_utf8_lossy(&now)
                    )),
                    Err(e) => problems.push(e),
                }
                // What the program deleted is gone.
                let dir = fs.root_dir().open_dir("from ring 3");
                let left: Vec<String> = dir
                    .map(|d| {
                        d.iter()
                            .filter_map(Result::ok)
                            .map(|e| e.file_name())
                            .collect()
                    })
                    .unwrap_or_default();
                let want = [".", "..", "Written By A Program.txt", "Saved Game.dsg"];
                if left.iter().map(String::as_str).ne(want) {
                    problems.push(format!(
                        "{name}: 'from ring 3' holds {left:?}, not {want:?}"
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

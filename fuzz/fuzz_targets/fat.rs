//! A FAT volume from the fuzzer: mount, walk, read every file, write one.
//!
//! The input is the volume's first bytes; the device reads zeros past them
//! up to the sector count the BPB claims (at most 64 MiB), so a small
//! input can stand for a FAT16 or FAT32 volume. Writes are kept aside.
#![no_main]

use block::{check_range, BlockDevice, BlockError};
use fat::{SeekFrom, Volume};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

/// The largest volume the device stands for (sectors).
const MAX_SECTORS: u64 = 1 << 17;

struct Sparse<'a> {
    base: &'a [u8],
    written: BTreeMap<u64, Vec<u8>>,
    sectors: u64,
}

impl BlockDevice for Sparse<'_> {
    fn sector_size(&self) -> u32 {
        512
    }
    fn sector_count(&self) -> u64 {
        self.sectors
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_range(512, self.sectors, lba, buf.len())?;
        for (i, chunk) in buf.chunks_exact_mut(512).enumerate() {
            let s = lba + i as u64;
            match self.written.get(&s) {
                Some(w) => chunk.copy_from_slice(w),
                None => {
                    let at = (s as usize * 512).min(self.base.len());
                    let from = &self.base[at..(at + 512).min(self.base.len())];
                    chunk[..from.len()].copy_from_slice(from);
                    chunk[from.len()..].fill(0);
                }
            }
        }
        Ok(())
    }
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        check_range(512, self.sectors, lba, buf.len())?;
        for (i, chunk) in buf.chunks_exact(512).enumerate() {
            self.written.insert(lba + i as u64, chunk.to_vec());
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let claimed = match data.get(19..36) {
        Some(b) => match u16::from_le_bytes([b[0], b[1]]) {
            0 => u64::from(u32::from_le_bytes([b[13], b[14], b[15], b[16]])),
            n => u64::from(n),
        },
        None => 0,
    };
    let sectors = (data.len().div_ceil(512) as u64).max(claimed.min(MAX_SECTORS));
    let dev = Sparse {
        base: data,
        written: BTreeMap::new(),
        sectors,
    };
    let Ok(mut vol) = Volume::mount(dev) else {
        return;
    };
    let _ = (vol.label().len(), vol.fat_type(), vol.free_clusters());
    // Every directory, bounded (a corrupt volume may link a directory
    // into itself under another name).
    let mut stack = vec![(String::new(), 0)];
    let mut visited = 0;
    while let Some((dir, depth)) = stack.pop() {
        visited += 1;
        let Ok(entries) = vol.read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = format!("{dir}/{}", e.name);
            if e.is_dir && depth < 8 && visited < 256 {
                stack.push((path, depth + 1));
            } else if !e.is_dir {
                let whole = vol.read_file(&path);
                if let (Ok(whole), Ok(mut f)) = (&whole, vol.open(&path)) {
                    // The handle reads the same bytes in odd-sized pieces.
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1000];
                    while let Ok(n @ 1..) = vol.read(&mut f, &mut buf) {
                        got.extend_from_slice(&buf[..n]);
                    }
                    assert_eq!(&got, whole);
                    assert_eq!(f.seek(SeekFrom::End(0)), Ok(whole.len() as u64));
                }
            }
        }
    }
    // A write reads back, then goes away again.
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    if vol.write_file("/fuzz written file.bin", &data).is_ok() {
        assert_eq!(
            vol.read_file("/FUZZ WRITTEN FILE.BIN").as_deref(),
            Ok(&data[..])
        );
        // A rename keeps the contents under the new name only.
        if vol
            .rename("/fuzz written file.bin", "/fuzz renamed.bin")
            .is_ok()
        {
            assert_eq!(vol.read_file("/fuzz renamed.bin").as_deref(), Ok(&data[..]));
            assert!(vol.read_file("/fuzz written file.bin").is_err());
        }
        let _ = vol.remove("/fuzz renamed.bin");
        let _ = vol.remove("/fuzz written file.bin");
    }
    if vol.create_dir("/fuzz dir").is_ok() {
        assert_eq!(vol.read_dir("/fuzz dir").map(|e| e.len()), Ok(0));
        let _ = vol.rename("/fuzz dir", "/fuzz dir moved");
    }
    let _ = vol.flush();
});

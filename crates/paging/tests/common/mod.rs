//! Test doubles: a `Vec<u8>` physical memory and a counting frame source.
#![allow(dead_code)]

use std::collections::BTreeSet;

use paging::{FrameSource, PhysMem};

/// Physical memory `0..len`, initially filled with garbage so that tests
/// notice tables that were not zeroed.
pub struct VecMem {
    bytes: Vec<u8>,
}

impl VecMem {
    pub fn new(len: usize) -> Self {
        VecMem {
            bytes: vec![0xa5; len],
        }
    }
}

impl PhysMem for VecMem {
    fn read_u64(&self, phys: u64) -> u64 {
        assert_eq!(phys % 8, 0, "unaligned read {phys:#x}");
        let i = phys as usize;
        u64::from_le_bytes(self.bytes[i..i + 8].try_into().unwrap())
    }

    fn write_u64(&mut self, phys: u64, value: u64) {
        assert_eq!(phys % 8, 0, "unaligned write {phys:#x}");
        let i = phys as usize;
        self.bytes[i..i + 8].copy_from_slice(&value.to_le_bytes());
    }
}

/// Hands out frames from `base..base + count * 4096` and checks that only
/// outstanding frames come back.
pub struct CountingFrames {
    free: Vec<u64>,
    pub outstanding: BTreeSet<u64>,
    /// Allocations still allowed before reporting exhaustion.
    pub budget: usize,
}

impl CountingFrames {
    pub fn new(base: u64, count: u64) -> Self {
        CountingFrames {
            free: (0..count).rev().map(|i| base + i * 4096).collect(),
            outstanding: BTreeSet::new(),
            budget: usize::MAX,
        }
    }

    pub fn in_use(&self) -> usize {
        self.outstanding.len()
    }
}

impl FrameSource for CountingFrames {
    fn alloc_table_frame(&mut self) -> Option<u64> {
        if self.budget == 0 {
            return None;
        }
        let f = self.free.pop()?;
        self.budget -= 1;
        self.outstanding.insert(f);
        Some(f)
    }

    fn free_table_frame(&mut self, phys: u64) {
        assert!(
            self.outstanding.remove(&phys),
            "freed {phys:#x} twice or never allocated"
        );
        self.free.push(phys);
    }
}

/// Memory for 1024 frames; table frames come from 0x1000 upwards.
pub fn setup() -> (VecMem, CountingFrames) {
    (VecMem::new(1024 * 4096), CountingFrames::new(0x1000, 1023))
}

/// The raw entry for `virt` at `level` (0 = PML4), walked independently of
/// the crate: returns `None` once an entry on the way is not present.
pub fn raw_entry(mem: &VecMem, pml4: u64, virt: u64, level: usize) -> Option<u64> {
    let mut table = pml4;
    for l in 0..=level {
        let index = (virt >> (39 - 9 * l)) & 511;
        let e = mem.read_u64(table + index * 8);
        if l == level {
            return Some(e);
        }
        if e & 1 == 0 {
            return None;
        }
        table = e & 0x000f_ffff_ffff_f000;
    }
    None
}

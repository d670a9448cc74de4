//! The file allocation table: entries, chains, allocation ([`Fat`]).
//!
//! Entry formats are fatgen103 §4: FAT12 packs two 12-bit entries into
//! three bytes (an entry may straddle two sectors), FAT16 entries are 16
//! bits, FAT32 entries are the low 28 bits of 32 (the top 4 are kept on
//! write). One FAT sector is cached; a dirty one is written to every FAT
//! copy (only the active one when FAT32 mirroring is off) when another is
//! needed and at the end of each volume call ([`Fat::write_back`]).

use crate::bpb::{FatType, Layout};
use crate::chain::Chain;
use crate::error::{Corruption, FatError};
use alloc::vec;
use alloc::vec::Vec;
use block::BlockDevice;

/// What a FAT entry says about its cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Free,
    Next(u32),
    Bad,
    End,
}

pub(crate) struct Fat {
    kind: FatType,
    start: u64,
    sectors: u64,
    copies: u32,
    active: Option<u32>,
    max_cluster: u32,
    cached: Option<u64>,
    cache: Vec<u8>,
    dirty: bool,
    /// Free clusters, once counted (the FSInfo figure is only a hint).
    pub free: Option<u32>,
    /// Where the next search for a free cluster starts.
    pub next_free: u32,
    /// Whether clusters were allocated or freed since the last FSInfo update.
    pub changed: bool,
}

impl Fat {
    pub fn new(l: &Layout) -> Self {
        Self {
            kind: l.fat_type,
            start: l.fat_start,
            sectors: l.fat_sectors,
            copies: l.num_fats,
            active: l.active_fat,
            max_cluster: l.max_cluster(),
            cached: None,
            cache: vec![0; l.bytes_per_sector as usize],
            dirty: false,
            free: None,
            next_free: 2,
            changed: false,
        }
    }

    fn load<D: BlockDevice>(&mut self, dev: &mut D, sector: u64) -> Result<(), FatError> {
        if self.cached == Some(sector) {
            return Ok(());
        }
        self.write_back(dev)?;
        if sector >= self.sectors {
            return Err(Corruption::FatTooSmall.into());
        }
        let fat = u64::from(self.active.unwrap_or(0));
        self.cached = None;
        dev.read(self.start + fat * self.sectors + sector, &mut self.cache)?;
        self.cached = Some(sector);
        Ok(())
    }

    /// Writes the cached sector to the FAT copies if it changed.
    pub fn write_back<D: BlockDevice>(&mut self, dev: &mut D) -> Result<(), FatError> {
        if let (true, Some(sector)) = (self.dirty, self.cached) {
            for fat in 0..self.copies {
                if self.active.is_some_and(|a| a != fat) {
                    continue;
                }
                dev.write(
                    self.start + u64::from(fat) * self.sectors + sector,
                    &self.cache,
                )?;
            }
        }
        self.dirty = false;
        Ok(())
    }

    fn byte<D: BlockDevice>(&mut self, dev: &mut D, at: u64) -> Result<&mut u8, FatError> {
        let size = self.cache.len() as u64;
        self.load(dev, at / size)?;
        Ok(&mut self.cache[(at % size) as usize])
    }

    /// Loads the sector holding FAT byte `at`; returns its index there.
    fn entry_at<D: BlockDevice>(&mut self, dev: &mut D, at: u64) -> Result<usize, FatError> {
        let size = self.cache.len() as u64;
        self.load(dev, at / size)?;
        Ok((at % size) as usize)
    }

    fn raw<D: BlockDevice>(&mut self, dev: &mut D, n: u32) -> Result<u32, FatError> {
        let n64 = u64::from(n);
        Ok(match self.kind {
            FatType::Fat12 => {
                let at = n64 + n64 / 2;
                let pair =
                    u32::from(*self.byte(dev, at)?) | u32::from(*self.byte(dev, at + 1)?) << 8;
                if n.is_multiple_of(2) {
                    pair & 0xFFF
                } else {
                    pair >> 4
                }
            }
            // 16- and 32-bit entries never straddle a sector.
            FatType::Fat16 => {
                let i = self.entry_at(dev, n64 * 2)?;
                u32::from(u16::from_le_bytes([self.cache[i], self.cache[i + 1]]))
            }
            FatType::Fat32 => {
                let i = self.entry_at(dev, n64 * 4)?;
                let b = &self.cache[i..i + 4];
                u32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
        })
    }

    fn set_raw<D: BlockDevice>(&mut self, dev: &mut D, n: u32, v: u32) -> Result<(), FatError> {
        let n64 = u64::from(n);
        match self.kind {
            FatType::Fat12 => {
                let at = n64 + n64 / 2;
                let (lo, hi) = if n.is_multiple_of(2) {
                    let hi = *self.byte(dev, at + 1)? & 0xF0;
                    (v as u8, hi | (v >> 8) as u8 & 0x0F)
                } else {
                    let lo = *self.byte(dev, at)? & 0x0F;
                    (lo | (v << 4) as u8, (v >> 4) as u8)
                };
                *self.byte(dev, at)? = lo;
                self.dirty = true;
                *self.byte(dev, at + 1)? = hi;
            }
            FatType::Fat16 => {
                let i = self.entry_at(dev, n64 * 2)?;
                self.cache[i..i + 2].copy_from_slice(&(v as u16).to_le_bytes());
            }
            FatType::Fat32 => {
                let i = self.entry_at(dev, n64 * 4)?;
                let old = u32::from_le_bytes([
                    self.cache[i],
                    self.cache[i + 1],
                    self.cache[i + 2],
                    self.cache[i + 3],
                ]);
                let v = old & 0xF000_0000 | v & 0x0FFF_FFFF;
                self.cache[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        self.dirty = true;
        Ok(())
    }

    /// The entry for cluster `n` (a data cluster).
    pub fn get<D: BlockDevice>(&mut self, dev: &mut D, n: u32) -> Result<Entry, FatError> {
        let v = self.raw(dev, n)?;
        let (bad, end) = match self.kind {
            FatType::Fat12 => (0xFF7, 0xFF8),
            FatType::Fat16 => (0xFFF7, 0xFFF8),
            FatType::Fat32 => (0x0FFF_FFF7, 0x0FFF_FFF8),
        };
        let v = if self.kind == FatType::Fat32 {
            v & 0x0FFF_FFFF
        } else {
            v
        };
        Ok(match v {
            0 => Entry::Free,
            v if v == bad => Entry::Bad,
            v if v >= end => Entry::End,
            v if (2..=self.max_cluster).contains(&v) => Entry::Next(v),
            v => return Err(Corruption::ClusterOutOfRange(v).into()),
        })
    }

    /// Sets the entry for cluster `n`.
    pub fn set<D: BlockDevice>(&mut self, dev: &mut D, n: u32, e: Entry) -> Result<(), FatError> {
        let v = match e {
            Entry::Free => 0,
            Entry::Next(c) => c,
            Entry::Bad => 0x0FFF_FFF7,
            Entry::End => 0x0FFF_FFFF,
        };
        let v = match self.kind {
            FatType::Fat12 => v & 0xFFF,
            FatType::Fat16 => v & 0xFFFF,
            FatType::Fat32 => v,
        };
        self.set_raw(dev, n, v)
    }

    /// Walks the chain from `first`, refusing one of more than `limit`
    /// clusters (and never walking more steps than the volume has clusters).
    pub fn walk<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        first: u32,
        limit: u32,
    ) -> Result<Chain, FatError> {
        let mut chain = Chain::default();
        if !(2..=self.max_cluster).contains(&first) {
            return Err(Corruption::ClusterOutOfRange(first).into());
        }
        let limit = limit.min(self.max_cluster - 1);
        let mut c = first;
        loop {
            if chain.len() >= limit {
                return Err(Corruption::ChainTooLong.into());
            }
            chain.push(c);
            c = match self.get(dev, c)? {
                Entry::End => return Ok(chain),
                Entry::Next(n) => n,
                Entry::Free => return Err(Corruption::FreeClusterInChain(c).into()),
                Entry::Bad => return Err(Corruption::BadClusterInChain(c).into()),
            };
        }
    }

    /// Counts the free clusters (once; later calls return the count kept).
    pub fn count_free<D: BlockDevice>(&mut self, dev: &mut D) -> Result<u32, FatError> {
        if let Some(n) = self.free {
            return Ok(n);
        }
        let width = match self.kind {
            FatType::Fat12 => 0,
            FatType::Fat16 => 2,
            FatType::Fat32 => 4,
        };
        let mut n = 0;
        let mut c = 2;
        while c <= self.max_cluster {
            if width == 0 {
                n += u32::from(self.raw(dev, c)? == 0);
                c += 1;
                continue;
            }
            // A sector's worth of 16- or 32-bit entries at once.
            let i = self.entry_at(dev, u64::from(c) * width as u64)?;
            let here = ((self.cache.len() - i) / width) as u32;
            let here = here.min(self.max_cluster - c + 1);
            let bytes = &self.cache[i..i + here as usize * width];
            n += bytes
                .chunks_exact(width)
                .filter(|e| {
                    e.iter()
                        .zip([0xFF, 0xFF, 0xFF, 0x0F])
                        .all(|(b, m)| b & m == 0)
                })
                .count() as u32;
            c += here;
        }
        self.free = Some(n);
        Ok(n)
    }

    /// Finds `n` free clusters without writing anything: [`FatError::NoSpace`]
    /// if there are fewer.
    pub fn find_free<D: BlockDevice>(&mut self, dev: &mut D, n: u32) -> Result<Vec<u32>, FatError> {
        if n > self.count_free(dev)? {
            return Err(FatError::NoSpace);
        }
        let mut found = Vec::new();
        let span = self.max_cluster - 1;
        let start = self.next_free.clamp(2, self.max_cluster) - 2;
        for i in 0..span {
            if found.len() as u32 == n {
                break;
            }
            let c = 2 + (start + i) % span;
            if self.raw(dev, c)? & 0x0FFF_FFFF == 0 {
                found.push(c);
            }
        }
        if (found.len() as u32) < n {
            // The count kept was wrong; correct it.
            self.free = None;
            return Err(FatError::NoSpace);
        }
        Ok(found)
    }

    /// Links `new` (found by [`Fat::find_free`]) as a chain, then hangs it
    /// after `tail` if there is one.
    pub fn link<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        new: &[u32],
        tail: Option<u32>,
    ) -> Result<(), FatError> {
        let Some(&head) = new.first() else {
            return Ok(());
        };
        for (i, &c) in new.iter().enumerate() {
            let next = new.get(i + 1).map_or(Entry::End, |&n| Entry::Next(n));
            self.set(dev, c, next)?;
        }
        if let Some(t) = tail {
            self.set(dev, t, Entry::Next(head))?;
        }
        self.free = self.free.map(|f| f.saturating_sub(new.len() as u32));
        self.changed = true;
        if let Some(&last) = new.last() {
            self.next_free = if last >= self.max_cluster {
                2
            } else {
                last + 1
            };
        }
        Ok(())
    }

    /// Marks `clusters` free.
    pub fn release<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        clusters: &[u32],
    ) -> Result<(), FatError> {
        for &c in clusters {
            self.set(dev, c, Entry::Free)?;
        }
        self.free = self.free.map(|f| f.saturating_add(clusters.len() as u32));
        self.changed = true;
        Ok(())
    }
}

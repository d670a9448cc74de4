//! Byte ranges of a cluster chain or the fixed root, to and from sectors.

use crate::chain::Chain;
use crate::dir::{Dir, DirRef, Region, MAX_ENTRIES};
use crate::error::{Corruption, FatError};
use crate::Volume;
use alloc::vec;
use block::BlockDevice;

/// The largest single device transfer (bytes).
const MAX_TRANSFER: u64 = 64 * 1024;

/// A byte-addressed stretch of the volume.
#[derive(Clone, Copy)]
pub(crate) enum Span<'a> {
    Fixed { lba: u64, sectors: u64 },
    Chain(&'a Chain),
}

impl Region {
    pub fn span(&self) -> Span<'_> {
        match self {
            Self::Fixed { lba, sectors } => Span::Fixed {
                lba: *lba,
                sectors: *sectors,
            },
            Self::Chain(c) => Span::Chain(c),
        }
    }
}

impl<D: BlockDevice> Volume<D> {
    /// The sector holding byte `off` of `span`, and how many bytes from
    /// that sector's start on are contiguous on disk.
    fn locate(&self, span: Span<'_>, off: u64) -> Option<(u64, u64)> {
        let bps = u64::from(self.layout.bytes_per_sector);
        match span {
            Span::Fixed { lba, sectors } => {
                let s = off / bps;
                (s < sectors).then(|| (lba + s, (sectors - s) * bps))
            }
            Span::Chain(chain) => {
                let cs = u64::from(self.layout.cluster_size());
                let (c, run) = chain.locate(u32::try_from(off / cs).ok()?)?;
                let s = off % cs / bps;
                let lba = self.layout.cluster_lba(c) + s;
                Some((lba, u64::from(run) * cs - s * bps))
            }
        }
    }

    /// Reads `buf.len()` bytes of `span` from byte `off`.
    pub(crate) fn read_span(
        &mut self,
        span: Span<'_>,
        off: u64,
        buf: &mut [u8],
    ) -> Result<(), FatError> {
        let bps = u64::from(self.layout.bytes_per_sector);
        let mut done = 0usize;
        while done < buf.len() {
            let at = off + done as u64;
            let (lba, contiguous) = self.locate(span, at).ok_or(Corruption::ChainTooShort)?;
            let within = (at % bps) as usize;
            let left = (buf.len() - done) as u64;
            if within == 0 && left >= bps {
                let n = (left / bps * bps).min(contiguous).min(MAX_TRANSFER) as usize;
                self.dev.read(lba, &mut buf[done..done + n])?;
                done += n;
            } else {
                let mut sector = vec![0u8; bps as usize];
                self.dev.read(lba, &mut sector)?;
                let n = (bps as usize - within).min(left as usize);
                buf[done..done + n].copy_from_slice(&sector[within..within + n]);
                done += n;
            }
        }
        Ok(())
    }

    /// Writes `data` into `span` from byte `off` (`None`: that many zeros).
    pub(crate) fn write_span(
        &mut self,
        span: Span<'_>,
        off: u64,
        data: Data<'_>,
    ) -> Result<(), FatError> {
        let bps = u64::from(self.layout.bytes_per_sector);
        let len = data.len();
        let zeros = vec![0u8; MAX_TRANSFER.min(len as u64) as usize];
        let mut done = 0usize;
        while done < len {
            let at = off + done as u64;
            let (lba, contiguous) = self.locate(span, at).ok_or(Corruption::ChainTooShort)?;
            let within = (at % bps) as usize;
            let left = (len - done) as u64;
            if within == 0 && left >= bps {
                let n = (left / bps * bps).min(contiguous).min(MAX_TRANSFER) as usize;
                match data {
                    Data::Bytes(b) => self.dev.write(lba, &b[done..done + n])?,
                    Data::Zeros(_) => self.dev.write(lba, &zeros[..n])?,
                }
                done += n;
            } else {
                let mut sector = vec![0u8; bps as usize];
                self.dev.read(lba, &mut sector)?;
                let n = (bps as usize - within).min(left as usize);
                match data {
                    Data::Bytes(b) => {
                        sector[within..within + n].copy_from_slice(&b[done..done + n])
                    }
                    Data::Zeros(_) => sector[within..within + n].fill(0),
                }
                self.dev.write(lba, &sector)?;
                done += n;
            }
        }
        Ok(())
    }

    /// The largest chain a directory may have.
    pub(crate) fn dir_cluster_limit(&self) -> u32 {
        let max = (MAX_ENTRIES * crate::dir::ENTRY) as u32;
        max.div_ceil(self.layout.cluster_size()).max(1)
    }

    /// Where directory `at` lies.
    pub(crate) fn dir_region(&mut self, at: DirRef) -> Result<Region, FatError> {
        let first = match at {
            DirRef::Root if !self.is_fat32() => {
                return Ok(Region::Fixed {
                    lba: self.layout.root_start,
                    sectors: self.layout.root_sectors,
                })
            }
            DirRef::Root => self.layout.root_cluster,
            DirRef::Cluster(c) => c,
        };
        let limit = self.dir_cluster_limit();
        match self.fat.walk(&mut self.dev, first, limit) {
            Err(FatError::Corrupt(Corruption::ChainTooLong)) => {
                Err(Corruption::DirectoryTooLong.into())
            }
            r => Ok(Region::Chain(r?)),
        }
    }

    /// Reads directory `at` whole.
    pub(crate) fn open_dir(&mut self, at: DirRef) -> Result<Dir, FatError> {
        let region = self.dir_region(at)?;
        let len = match &region {
            Region::Fixed { .. } => u64::from(self.layout.root_entries) * 32,
            Region::Chain(c) => u64::from(c.len()) * u64::from(self.layout.cluster_size()),
        };
        let mut bytes = vec![0u8; len as usize];
        self.read_span(region.span(), 0, &mut bytes)?;
        Ok(Dir { at, region, bytes })
    }

    /// Writes bytes `range` of directory `dir` back.
    pub(crate) fn write_dir(
        &mut self,
        dir: &Dir,
        range: core::ops::Range<usize>,
    ) -> Result<(), FatError> {
        let bytes = dir
            .bytes
            .get(range.clone())
            .ok_or(Corruption::ChainTooShort)?;
        self.write_span(dir.region.span(), range.start as u64, Data::Bytes(bytes))
    }
}

/// What [`Volume::write_span`] writes.
#[derive(Clone, Copy)]
pub(crate) enum Data<'a> {
    Bytes(&'a [u8]),
    Zeros(usize),
}

impl Data<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Zeros(n) => *n,
        }
    }
}

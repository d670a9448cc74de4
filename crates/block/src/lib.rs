//! Block devices: what the partition and file-system layers read and write.
//!
//! A [`BlockDevice`] is a run of equal sectors addressed by LBA. The
//! kernel's disks (virtio-blk now, Hyper-V storvsc later) are
//! [`RequestQueue`]s, whose requests complete later, made block devices by
//! [`Blocking`], which waits for each completion; [`MemDisk`] is one in
//! memory for host tests, and [`Window`] presents a range of another
//! device (a partition) as a device of its own. Every access is bounds-checked here
//! once, so the layers above can trust `sector_count`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

mod queue;
pub use queue::{Blocking, Progress, Request, RequestQueue, Tag, Wait};

/// Why a block access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// The range lies (partly) past the end of the device.
    OutOfRange {
        /// First sector asked for.
        lba: u64,
        /// Sectors asked for.
        count: u64,
    },
    /// The buffer is not a whole number of sectors.
    BadLength(usize),
    /// The device refuses writes.
    ReadOnly,
    /// The device reported an error (its driver logged the details).
    Device,
    /// The device has no room for another request now.
    Busy,
    /// The device did not complete a request in time (it has been reset).
    TimedOut,
    /// The device has been taken out of service after an error.
    Failed,
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange { lba, count } => {
                write!(f, "sectors {lba}+{count} lie past the end of the device")
            }
            Self::BadLength(n) => write!(f, "a buffer of {n} bytes is not whole sectors"),
            Self::ReadOnly => f.write_str("the device is read-only"),
            Self::Device => f.write_str("the device reported an error"),
            Self::Busy => f.write_str("the device has no room for another request"),
            Self::TimedOut => f.write_str("the device did not complete a request in time"),
            Self::Failed => f.write_str("the device has been taken out of service"),
        }
    }
}

/// A device of `sector_count` sectors of `sector_size` bytes.
pub trait BlockDevice {
    /// Bytes per sector (512 or 4096 in practice).
    fn sector_size(&self) -> u32;
    /// Number of sectors.
    fn sector_count(&self) -> u64;
    /// Reads `buf.len() / sector_size` sectors from `lba` on.
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError>;
    /// Writes `buf.len() / sector_size` sectors from `lba` on.
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError>;
    /// Makes every completed write durable.
    fn flush(&mut self) -> Result<(), BlockError>;
}

impl<D: BlockDevice + ?Sized> BlockDevice for &mut D {
    fn sector_size(&self) -> u32 {
        (**self).sector_size()
    }
    fn sector_count(&self) -> u64 {
        (**self).sector_count()
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        (**self).read(lba, buf)
    }
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        (**self).write(lba, buf)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        (**self).flush()
    }
}

/// Checks an access of `len` bytes at `lba` against a device of `count`
/// sectors of `size` bytes; returns the sectors it covers.
pub fn check_range(size: u32, count: u64, lba: u64, len: usize) -> Result<u64, BlockError> {
    let size = u64::from(size.max(1));
    if !(len as u64).is_multiple_of(size) {
        return Err(BlockError::BadLength(len));
    }
    let sectors = len as u64 / size;
    match lba.checked_add(sectors) {
        Some(end) if end <= count => Ok(sectors),
        _ => Err(BlockError::OutOfRange {
            lba,
            count: sectors,
        }),
    }
}

/// A disk in memory (host tests, and images built in memory).
#[derive(Clone, Debug)]
pub struct MemDisk {
    sector_size: u32,
    bytes: Vec<u8>,
    /// Writes refused when set.
    pub read_only: bool,
    /// Flushes seen.
    pub flushes: u64,
}

impl MemDisk {
    /// A disk holding `bytes` (cut to whole sectors).
    pub fn new(sector_size: u32, mut bytes: Vec<u8>) -> Self {
        let whole = bytes.len() - bytes.len() % sector_size.max(1) as usize;
        bytes.truncate(whole);
        Self {
            sector_size: sector_size.max(1),
            bytes,
            read_only: false,
            flushes: 0,
        }
    }

    /// The disk's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn span(&self, lba: u64, len: usize) -> Result<core::ops::Range<usize>, BlockError> {
        check_range(self.sector_size, self.sector_count(), lba, len)?;
        let start = lba as usize * self.sector_size as usize;
        Ok(start..start + len)
    }
}

impl BlockDevice for MemDisk {
    fn sector_size(&self) -> u32 {
        self.sector_size
    }
    fn sector_count(&self) -> u64 {
        self.bytes.len() as u64 / u64::from(self.sector_size)
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let span = self.span(lba, buf.len())?;
        buf.copy_from_slice(&self.bytes[span]);
        Ok(())
    }
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let span = self.span(lba, buf.len())?;
        self.bytes[span].copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        self.flushes += 1;
        Ok(())
    }
}

/// Sectors `first .. first + count` of `inner`, as a device of their own
/// (a partition).
#[derive(Debug)]
pub struct Window<D> {
    inner: D,
    first: u64,
    count: u64,
}

impl<D: BlockDevice> Window<D> {
    /// The window, or an error if it does not lie inside `inner`.
    pub fn new(inner: D, first: u64, count: u64) -> Result<Self, BlockError> {
        match first.checked_add(count) {
            Some(end) if end <= inner.sector_count() => Ok(Self {
                inner,
                first,
                count,
            }),
            _ => Err(BlockError::OutOfRange { lba: first, count }),
        }
    }

    /// The device inside.
    pub fn into_inner(self) -> D {
        self.inner
    }
}

impl<D: BlockDevice> BlockDevice for Window<D> {
    fn sector_size(&self) -> u32 {
        self.inner.sector_size()
    }
    fn sector_count(&self) -> u64 {
        self.count
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_range(self.sector_size(), self.count, lba, buf.len())?;
        self.inner.read(self.first + lba, buf)
    }
    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        check_range(self.sector_size(), self.count, lba, buf.len())?;
        self.inner.write(self.first + lba, buf)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_stays_inside_its_range() {
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i / 512) as u8).collect();
        let mut w = Window::new(MemDisk::new(512, bytes), 2, 4).unwrap();
        let mut buf = [0u8; 1024];
        w.read(1, &mut buf).unwrap();
        assert!(buf[..512].iter().all(|&b| b == 3) && buf[512..].iter().all(|&b| b == 4));
        assert_eq!(
            w.read(3, &mut buf),
            Err(BlockError::OutOfRange { lba: 3, count: 2 })
        );
        assert_eq!(
            w.read(u64::MAX, &mut buf[..512]).unwrap_err(),
            BlockError::OutOfRange {
                lba: u64::MAX,
                count: 1
            }
        );
        assert!(Window::new(MemDisk::new(512, vec![0; 4096]), 6, 3).is_err());
    }

    #[test]
    fn partial_sectors_and_read_only_disks_are_refused() {
        let mut d = MemDisk::new(512, vec![0; 2048]);
        assert_eq!(d.read(0, &mut [0u8; 100]), Err(BlockError::BadLength(100)));
        d.read_only = true;
        assert_eq!(d.write(0, &[0u8; 512]), Err(BlockError::ReadOnly));
    }
}

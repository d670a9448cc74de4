//! Open files: [`File`] handles with positioned and sequential I/O.
//!
//! A handle is plain data (no borrow of the volume), so a kernel can keep
//! handles in a table beside one locked [`Volume`]. It caches the file's
//! chain; the volume does not track handles, so two handles writing one
//! file, or a handle to a removed file, see stale state.

use crate::chain::Chain;
use crate::dir::DirRef;
use crate::error::FatError;
use crate::io::{Data, Span};
use crate::Volume;
use block::BlockDevice;

/// Where [`File::seek`] counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekFrom {
    /// From the start.
    Start(u64),
    /// From the end.
    End(i64),
    /// From the current position.
    Current(i64),
}

/// Names a file on its volume while it exists: the directory entry that
/// holds it. Handles of one file have one id, so a kernel can tell which
/// handles share a file (the volume does not track them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dir: DirRef,
    slot: usize,
}

/// An open file.
#[derive(Clone, Debug)]
pub struct File {
    dir: DirRef,
    slot: usize,
    chain: Chain,
    size: u32,
    pos: u64,
}

impl File {
    /// The file's size in bytes.
    pub fn len(&self) -> u64 {
        u64::from(self.size)
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Which file this is (see [`FileId`]).
    pub fn id(&self) -> FileId {
        FileId {
            dir: self.dir,
            slot: self.slot,
        }
    }

    /// The position the next [`Volume::read`] or [`Volume::write`] uses.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves the position (past the end is allowed: a write there fills
    /// the gap with zeros); [`FatError::InvalidSeek`] before the start.
    pub fn seek(&mut self, to: SeekFrom) -> Result<u64, FatError> {
        let pos = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or(FatError::InvalidSeek)?;
        self.pos = pos;
        Ok(pos)
    }
}

impl<D: BlockDevice> Volume<D> {
    /// Opens the file at `path`.
    pub fn open(&mut self, path: &str) -> Result<File, FatError> {
        let (parent, f) = self.lookup(path)?.ok_or(FatError::IsADirectory)?;
        if f.is_dir() {
            return Err(FatError::IsADirectory);
        }
        let chain = self.file_chain(&f)?;
        Ok(File {
            dir: parent.at,
            slot: f.slot,
            chain,
            size: f.size,
            pos: 0,
        })
    }

    /// Creates the file at `path` empty (or truncates it), and opens it.
    pub fn create_file(&mut self, path: &str) -> Result<File, FatError> {
        self.write_file(path, &[])?;
        self.open(path)
    }

    /// Reads from `offset` into `buf`; returns the bytes read (0 at or
    /// past the end).
    pub fn read_at(&mut self, f: &File, offset: u64, buf: &mut [u8]) -> Result<usize, FatError> {
        let left = f.len().saturating_sub(offset);
        let n = (buf.len() as u64).min(left) as usize;
        self.read_span(Span::Chain(&f.chain), offset, &mut buf[..n])?;
        Ok(n)
    }

    /// Reads at the handle's position and advances it.
    pub fn read(&mut self, f: &mut File, buf: &mut [u8]) -> Result<usize, FatError> {
        let n = self.read_at(f, f.pos, buf)?;
        f.pos += n as u64;
        Ok(n)
    }

    /// Writes `data` at `offset`, growing the file (and zero-filling a gap
    /// past its end) as needed; returns `data.len()`. All new clusters are
    /// found before anything is written.
    pub fn write_at(&mut self, f: &mut File, offset: u64, data: &[u8]) -> Result<usize, FatError> {
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&e| e <= u64::from(u32::MAX))
            .ok_or(FatError::FileTooLarge)?;
        self.mutate(|v| {
            let need = v.clusters_for(end)?;
            let more = need.saturating_sub(f.chain.len());
            let new = v.fat.find_free(&mut v.dev, more)?;
            let mut chain = f.chain.clone();
            let tail = chain.last();
            for &c in &new {
                chain.push(c);
            }
            let size = f.len();
            if offset > size {
                let gap = (offset - size) as usize;
                v.write_span(Span::Chain(&chain), size, Data::Zeros(gap))?;
            }
            v.write_span(Span::Chain(&chain), offset, Data::Bytes(data))?;
            v.fat.link(&mut v.dev, &new, tail)?;
            let new_size = size.max(end) as u32;
            if new_size != f.size || !new.is_empty() {
                let region = v.dir_region(f.dir)?;
                v.update_entry(region.span(), f.slot, chain.first(), new_size)?;
            }
            f.chain = chain;
            f.size = new_size;
            Ok(data.len())
        })
    }

    /// Writes at the handle's position and advances it.
    pub fn write(&mut self, f: &mut File, data: &[u8]) -> Result<usize, FatError> {
        let n = self.write_at(f, f.pos, data)?;
        f.pos += n as u64;
        Ok(n)
    }
}

//! Path operations: list, stat, read, write, create, remove, rename.

use crate::chain::Chain;
use crate::dir::{self, Dir, DirRef, Found, Region, ATTR_ARCHIVE, ATTR_DIRECTORY, ENTRY};
use crate::error::{Corruption, FatError};
use crate::io::{Data, Span};
use crate::name::{check_long, exact_short, generate_short, short_display};
use crate::Volume;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use block::BlockDevice;

/// [`DirEntry::attributes`]' read-only bit.
pub const ATTR_READ_ONLY: u8 = 0x01;

/// A directory entry as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The long name if there is one, else the 8.3 name (`NAME.EXT`).
    pub name: String,
    /// The 8.3 name.
    pub short_name: String,
    /// Whether this is a directory.
    pub is_dir: bool,
    /// Size in bytes (0 for directories).
    pub size: u32,
    /// First cluster (0: none).
    pub first_cluster: u32,
    /// The attribute byte (read-only 0x01, hidden 0x02, system 0x04,
    /// directory 0x10, archive 0x20).
    pub attributes: u8,
}

impl From<&Found> for DirEntry {
    fn from(f: &Found) -> Self {
        Self {
            name: f.name(),
            short_name: short_display(&f.short, 0),
            is_dir: f.is_dir(),
            size: if f.is_dir() { 0 } else { f.size },
            first_cluster: f.cluster,
            attributes: f.attr,
        }
    }
}

/// The names a new entry gets: its 8.3 name, and the long name's UTF-16
/// units when the 8.3 name cannot say it.
struct NewName {
    short: [u8; 11],
    units: Option<Vec<u16>>,
}

impl NewName {
    /// Directory slots the entry takes.
    fn slots(&self) -> usize {
        self.units.as_ref().map_or(0, |u| u.len().div_ceil(13)) + 1
    }
}

/// The names along `path`: `/`-separated, `.` dropped, `..` going up.
fn components(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

impl<D: BlockDevice> Volume<D> {
    /// Runs a mutating call, then writes the cached FAT sector back.
    pub(crate) fn mutate<T>(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<T, FatError>,
    ) -> Result<T, FatError> {
        let r = op(self);
        let w = self.fat.write_back(&mut self.dev);
        r.and_then(|v| w.map(|()| v))
    }

    fn find(&self, dir: &Dir, name: &str) -> Option<Found> {
        let (entries, _) = dir.entries(self.is_fat32());
        entries.into_iter().find(|f| f.matches(name))
    }

    fn descend(&mut self, f: &Found) -> Result<Dir, FatError> {
        if !f.is_dir() {
            return Err(FatError::NotADirectory);
        }
        if f.cluster == 0 {
            return Err(Corruption::DirectoryWithoutCluster.into());
        }
        self.open_dir(DirRef::Cluster(f.cluster))
    }

    /// The directory holding the last component of `names`.
    fn walk_to_parent(&mut self, names: &[&str]) -> Result<Dir, FatError> {
        self.walk_avoiding(names, None)
    }

    /// As [`Self::walk_to_parent`], but [`FatError::IntoItself`] if the
    /// walk passes through the directory starting at cluster `avoid`.
    fn walk_avoiding(&mut self, names: &[&str], avoid: Option<u32>) -> Result<Dir, FatError> {
        let mut dir = self.open_dir(DirRef::Root)?;
        for name in names.iter().take(names.len().saturating_sub(1)) {
            let f = self.find(&dir, name).ok_or(FatError::NotFound)?;
            if f.is_dir() && Some(f.cluster) == avoid {
                return Err(FatError::IntoItself);
            }
            dir = self.descend(&f)?;
        }
        Ok(dir)
    }

    /// The entry at `path` and the directory holding it; `None` for the root.
    pub(crate) fn lookup(&mut self, path: &str) -> Result<Option<(Dir, Found)>, FatError> {
        let names = components(path);
        let Some(last) = names.last() else {
            return Ok(None);
        };
        let parent = self.walk_to_parent(&names)?;
        let found = self.find(&parent, last).ok_or(FatError::NotFound)?;
        Ok(Some((parent, found)))
    }

    /// The chain of a file's entry, checked against its size.
    pub(crate) fn file_chain(&mut self, f: &Found) -> Result<Chain, FatError> {
        let need = self.clusters_for(u64::from(f.size))?;
        if f.cluster == 0 {
            return match need {
                0 => Ok(Chain::default()),
                _ => Err(Corruption::ChainTooShort.into()),
            };
        }
        if need == 0 {
            return Err(Corruption::ChainTooLong.into());
        }
        let chain = self.fat.walk(&mut self.dev, f.cluster, need)?;
        if chain.len() < need {
            return Err(Corruption::ChainTooShort.into());
        }
        Ok(chain)
    }

    pub(crate) fn clusters_for(&self, bytes: u64) -> Result<u32, FatError> {
        let n = bytes.div_ceil(u64::from(self.layout.cluster_size()));
        u32::try_from(n).map_err(|_| FatError::FileTooLarge)
    }

    /// Lists the directory at `path` (without `.` and `..`).
    pub fn read_dir(&mut self, path: &str) -> Result<Vec<DirEntry>, FatError> {
        let dir = match self.lookup(path)? {
            None => self.open_dir(DirRef::Root)?,
            Some((_, f)) => self.descend(&f)?,
        };
        let (entries, _) = dir.entries(self.is_fat32());
        Ok(entries
            .iter()
            .filter(|f| !f.is_dot())
            .map(DirEntry::from)
            .collect())
    }

    /// The entry at `path` (the root is a directory named `/`).
    pub fn stat(&mut self, path: &str) -> Result<DirEntry, FatError> {
        Ok(match self.lookup(path)? {
            Some((_, f)) => DirEntry::from(&f),
            None => DirEntry {
                name: String::from("/"),
                short_name: String::new(),
                is_dir: true,
                size: 0,
                first_cluster: self.layout.root_cluster,
                attributes: ATTR_DIRECTORY,
            },
        })
    }

    /// The whole file at `path`.
    pub fn read_file(&mut self, path: &str) -> Result<Vec<u8>, FatError> {
        let f = match self.lookup(path)? {
            Some((_, f)) if !f.is_dir() => f,
            _ => return Err(FatError::IsADirectory),
        };
        let chain = self.file_chain(&f)?;
        let mut data = vec![0u8; f.size as usize];
        self.read_span(Span::Chain(&chain), 0, &mut data)?;
        Ok(data)
    }

    /// Creates the file at `path` (or truncates it) holding `data`.
    pub fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), FatError> {
        let len = u32::try_from(data.len()).map_err(|_| FatError::FileTooLarge)?;
        self.mutate(|v| {
            let (mut parent, name) = v.parent_dir(path)?;
            match v.find(&parent, name) {
                Some(f) if f.is_dir() => Err(FatError::IsADirectory),
                Some(f) => {
                    let chain = v.file_chain(&f)?;
                    v.rewrite(&mut parent, &f, chain, data, len)
                }
                None => v.create_entry(&mut parent, name, data, len),
            }
        })
    }

    /// Creates the directory at `path`, with its `.` and `..` entries.
    pub fn create_dir(&mut self, path: &str) -> Result<(), FatError> {
        self.mutate(|v| {
            let (mut parent, name) = v.parent_dir(path)?;
            if v.find(&parent, name).is_some() {
                return Err(FatError::Exists);
            }
            let new = v.plan_name(&parent, name)?;
            let grow = v.growth_for(&parent, new.slots())?;
            let all = v.fat.find_free(&mut v.dev, 1 + grow)?;
            let (c, grow_clusters) = (all[0], &all[1..]);
            let cs = v.layout.cluster_size() as usize;
            let up = match parent.at {
                DirRef::Root => 0,
                DirRef::Cluster(p) => p,
            };
            let mut block = vec![0u8; cs];
            block[..ENTRY].copy_from_slice(&dir::short_entry(
                b".          ",
                ATTR_DIRECTORY,
                c,
                0,
                v.stamp,
            ));
            block[ENTRY..2 * ENTRY].copy_from_slice(&dir::short_entry(
                b"..         ",
                ATTR_DIRECTORY,
                up,
                0,
                v.stamp,
            ));
            let mut chain = Chain::default();
            chain.push(c);
            v.write_span(Span::Chain(&chain), 0, Data::Bytes(&block))?;
            v.fat.link(&mut v.dev, &[c], None)?;
            let short_e = dir::short_entry(&new.short, ATTR_DIRECTORY, c, 0, v.stamp);
            v.insert(&mut parent, grow_clusters, &new, short_e)
        })
    }

    /// Removes the file or empty directory at `path`, freeing its clusters.
    pub fn remove(&mut self, path: &str) -> Result<(), FatError> {
        self.mutate(|v| {
            let (mut parent, f) = v.lookup(path)?.ok_or(FatError::BadName)?;
            let chain = if f.is_dir() {
                let d = v.descend(&f)?;
                if d.entries(v.is_fat32()).0.iter().any(|e| !e.is_dot()) {
                    return Err(FatError::DirectoryNotEmpty);
                }
                match d.region {
                    Region::Chain(c) => c,
                    Region::Fixed { .. } => return Err(FatError::BadName),
                }
            } else {
                v.file_chain(&f)?
            };
            let range = parent.delete(f.first_slot, f.slot);
            v.write_dir(&parent, range)?;
            let clusters: Vec<u32> = chain.clusters().collect();
            v.fat.release(&mut v.dev, &clusters)
        })
    }

    /// Gives the file or directory at `from` the path `to`, in the same
    /// directory or another one. A file `to` is replaced (as POSIX's
    /// `rename`); a directory `to`, or any `to` when `from` is a directory,
    /// is [`FatError::Exists`]. The entry moves with its clusters, times and
    /// attributes; a directory moved elsewhere gets its `..` pointed at its
    /// new parent, and cannot move inside itself ([`FatError::IntoItself`]).
    ///
    /// The new entry is written before the old one is deleted, so a power
    /// cut in between leaves both names on the one chain, never neither;
    /// a replaced file is gone before the new name is written.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), FatError> {
        let fat32 = self.is_fat32();
        self.mutate(|v| {
            let (mut src, f) = v.lookup(from)?.ok_or(FatError::BadName)?;
            if f.is_dir() && f.cluster == 0 {
                return Err(Corruption::DirectoryWithoutCluster.into());
            }
            let names = components(to);
            let name = *names.last().ok_or(FatError::BadName)?;
            check_long(name)?;
            let avoid = f.is_dir().then_some(f.cluster);
            let parent = v.walk_avoiding(&names, avoid)?;
            let same = parent.at == src.at;
            let at = f.slot * ENTRY;
            let mut e: [u8; ENTRY] = src
                .bytes
                .get(at..at + ENTRY)
                .and_then(|b| b.try_into().ok())
                .ok_or(Corruption::DirectoryTooLong)?;
            let mut other = (!same).then_some(parent);
            let dst = match other.as_mut() {
                Some(d) => d,
                None => &mut src,
            };
            // A file already called `to` goes, but only on the disk once
            // the new entry's name and room are settled.
            let mut replaced = None;
            match v.find(dst, name) {
                Some(t) if same && t.slot == f.slot && t.name() == name => return Ok(()),
                // Only the case changes: a new entry as for any name.
                Some(t) if same && t.slot == f.slot => {}
                Some(t) if t.is_dir() || f.is_dir() => return Err(FatError::Exists),
                Some(t) => {
                    let chain = v.file_chain(&t)?;
                    replaced = Some((dst.delete(t.first_slot, t.slot), chain));
                }
                None => {}
            }
            let new = v.plan_name(dst, name)?;
            let grow = v.growth_for(dst, new.slots())?;
            let grow_clusters = v.fat.find_free(&mut v.dev, grow)?;
            if let Some((range, _)) = &replaced {
                v.write_dir(dst, range.clone())?;
            }
            e[..11].copy_from_slice(&new.short);
            e[12] = 0;
            v.insert(dst, &grow_clusters, &new, e)?;
            let up = match dst.at {
                DirRef::Root => 0,
                DirRef::Cluster(c) => c,
            };
            if f.is_dir() && !same {
                v.point_up(f.cluster, up, fat32)?;
            }
            let range = src.delete(f.first_slot, f.slot);
            v.write_dir(&src, range)?;
            match replaced {
                Some((_, chain)) => {
                    let clusters: Vec<u32> = chain.clusters().collect();
                    v.fat.release(&mut v.dev, &clusters)
                }
                None => Ok(()),
            }
        })
    }

    /// Points the `..` entry of the directory at `cluster` to `up` (0: the
    /// root).
    fn point_up(&mut self, cluster: u32, up: u32, fat32: bool) -> Result<(), FatError> {
        let moved = self.open_dir(DirRef::Cluster(cluster))?;
        let (entries, _) = moved.entries(fat32);
        let Some(dotdot) = entries.iter().find(|e| &e.short == b"..         ") else {
            return Ok(());
        };
        let at = dotdot.slot * ENTRY;
        let mut e = [0u8; ENTRY];
        e.copy_from_slice(&moved.bytes[at..at + ENTRY]);
        dir::set_cluster(&mut e, up);
        self.write_span(moved.region.span(), at as u64, Data::Bytes(&e))
    }

    /// The directory that would hold `path`, and the last name in it.
    pub(crate) fn parent_dir<'p>(&mut self, path: &'p str) -> Result<(Dir, &'p str), FatError> {
        let names = components(path);
        let last = *names.last().ok_or(FatError::BadName)?;
        Ok((self.walk_to_parent(&names)?, last))
    }

    /// Replaces the contents of file `f` (chain `chain`) with `data`.
    fn rewrite(
        &mut self,
        parent: &mut Dir,
        f: &Found,
        mut chain: Chain,
        data: &[u8],
        len: u32,
    ) -> Result<(), FatError> {
        let need = self.clusters_for(u64::from(len))?;
        let have = chain.len();
        let new = match need.checked_sub(have) {
            Some(more) if more > 0 => self.fat.find_free(&mut self.dev, more)?,
            _ => Vec::new(),
        };
        let tail = chain.last();
        for &c in &new {
            chain.push(c);
        }
        self.write_span(Span::Chain(&chain), 0, Data::Bytes(data))?;
        self.fat.link(&mut self.dev, &new, tail)?;
        let surplus = chain.split_off(need);
        if let (Some(last), false) = (chain.last(), surplus.is_empty()) {
            self.fat
                .set(&mut self.dev, last, crate::table::Entry::End)?;
        }
        self.update_entry(parent.region.span(), f.slot, chain.first(), len)?;
        self.fat.release(&mut self.dev, &surplus)
    }

    /// Creates file `name` in `parent` holding `data`.
    fn create_entry(
        &mut self,
        parent: &mut Dir,
        name: &str,
        data: &[u8],
        len: u32,
    ) -> Result<(), FatError> {
        let new = self.plan_name(parent, name)?;
        let need = self.clusters_for(u64::from(len))?;
        let grow = self.growth_for(parent, new.slots())?;
        let total = need.checked_add(grow).ok_or(FatError::NoSpace)?;
        let all = self.fat.find_free(&mut self.dev, total)?;
        let (data_clusters, grow_clusters) = all.split_at(need as usize);
        let mut chain = Chain::default();
        for &c in data_clusters {
            chain.push(c);
        }
        self.write_span(Span::Chain(&chain), 0, Data::Bytes(data))?;
        self.fat.link(&mut self.dev, data_clusters, None)?;
        let e = dir::short_entry(&new.short, ATTR_ARCHIVE, chain.first(), len, self.stamp);
        self.insert(parent, grow_clusters, &new, e)
    }

    /// The short name and (if needed) LFN units for a new entry.
    fn plan_name(&self, parent: &Dir, name: &str) -> Result<NewName, FatError> {
        let units = check_long(name)?;
        let (entries, _) = parent.entries(self.is_fat32());
        let taken: Vec<[u8; 11]> = entries.iter().map(|e| e.short).collect();
        if let Some(short) = exact_short(name).filter(|s| !taken.contains(s)) {
            return Ok(NewName { short, units: None });
        }
        let short = generate_short(name, &taken)?;
        Ok(NewName {
            short,
            units: Some(units),
        })
    }

    /// Clusters `parent` must grow by to take `slots` more entries.
    fn growth_for(&self, parent: &Dir, slots: usize) -> Result<u32, FatError> {
        if parent.free_run(slots).is_some() {
            return Ok(0);
        }
        let Region::Chain(chain) = &parent.region else {
            return Err(FatError::DirectoryFull);
        };
        let per = self.layout.cluster_size() as usize / ENTRY;
        let n = slots.saturating_sub(parent.free_tail()).div_ceil(per);
        match u32::try_from(n) {
            Ok(n) if chain.len().saturating_add(n) <= self.dir_cluster_limit() => Ok(n),
            _ => Err(FatError::DirectoryFull),
        }
    }

    /// Adds an entry (LFN set from `units`, then `short_e`) to `parent`,
    /// first growing it by `grow` (free clusters, zeroed here).
    fn insert(
        &mut self,
        parent: &mut Dir,
        grow: &[u32],
        new: &NewName,
        short_e: [u8; ENTRY],
    ) -> Result<(), FatError> {
        let cs = self.layout.cluster_size() as usize;
        if !grow.is_empty() {
            let Region::Chain(chain) = &mut parent.region else {
                return Err(FatError::DirectoryFull);
            };
            let tail = chain.last();
            let mut fresh = Chain::default();
            for &c in grow {
                fresh.push(c);
            }
            self.write_span(Span::Chain(&fresh), 0, Data::Zeros(cs * grow.len()))?;
            self.fat.link(&mut self.dev, grow, tail)?;
            for &c in grow {
                chain.push(c);
            }
            let len = parent.bytes.len() + cs * grow.len();
            parent.bytes.resize(len, 0);
        }
        let mut set = new
            .units
            .as_deref()
            .map(|u| dir::lfn_entries(u, &new.short))
            .unwrap_or_default();
        set.push(short_e);
        let slot = parent.free_run(set.len()).ok_or(FatError::DirectoryFull)?;
        let range = parent.place(slot, &set);
        self.write_dir(parent, range)
    }

    /// Sets the size, first cluster and write time of the entry in `slot`
    /// of the directory at `span`.
    pub(crate) fn update_entry(
        &mut self,
        span: Span<'_>,
        slot: usize,
        first: u32,
        size: u32,
    ) -> Result<(), FatError> {
        let at = (slot * ENTRY) as u64;
        let mut e = [0u8; ENTRY];
        self.read_span(span, at, &mut e)?;
        dir::set_cluster(&mut e, first);
        e[11] |= ATTR_ARCHIVE;
        let (date, time) = self.stamp;
        e[22..24].copy_from_slice(&time.to_le_bytes());
        e[24..26].copy_from_slice(&date.to_le_bytes());
        e[28..32].copy_from_slice(&size.to_le_bytes());
        self.write_span(span, at, Data::Bytes(&e))
    }
}

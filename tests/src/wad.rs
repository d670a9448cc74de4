//! DOOM's WAD files, read on the host to predict the frames DOOM shows.
//!
//! A WAD (the format id Software published with the DOOM source; see the
//! Unofficial Doom Specs §2) is a 12-byte header — the magic `IWAD` or
//! `PWAD`, the lump count and the directory's offset, both little-endian
//! 32-bit — and a directory of 16-byte entries: offset, size, and an
//! 8-byte name padded with NULs. Every offset and size is checked against
//! the file, so a corrupt or truncated WAD is an error, never a panic.
//!
//! The submodules turn lumps into pictures ([`picture`]), pictures into the
//! screen the kernel shows ([`screen`]), and compare that with a QEMU
//! screendump ([`checks`]).

pub mod checks;
pub mod picture;
pub mod screen;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use checks::{check_menu, check_title, write_expected_ppm, Frame};
pub use picture::{draw_patch, Canvas, Mask, Palette, Patch, PatchError};
pub use screen::expected_screen;

/// The WAD the suite's DOOM boot uses: `$FERRITE_WAD`, else Debian's
/// freedoom package's Phase 1 IWAD, if that file exists.
pub fn wad_path() -> Option<PathBuf> {
    let path = std::env::var_os("FERRITE_WAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/games/doom/freedoom1.wad"));
    path.is_file().then_some(path)
}

/// Header size: magic, lump count, directory offset.
const HEADER: usize = 12;
/// Directory entry size: offset, size, name.
const ENTRY: usize = 16;

/// Why a WAD or one of its lumps was refused.
#[derive(Debug)]
pub enum WadError {
    /// The file could not be read.
    Io(PathBuf, std::io::Error),
    /// Fewer than the 12 header bytes.
    ShortHeader(usize),
    /// The magic is neither `IWAD` nor `PWAD`.
    Magic([u8; 4]),
    /// The lump count or directory offset is negative.
    Negative {
        /// The lump count as stored.
        count: i32,
        /// The directory offset as stored.
        offset: i32,
    },
    /// The directory does not lie inside the file.
    Directory {
        /// Where it starts.
        offset: usize,
        /// How many entries it claims.
        count: usize,
        /// The file's length.
        len: usize,
    },
    /// A lump does not lie inside the file.
    Lump {
        /// Its name.
        name: String,
        /// Its offset as stored.
        offset: i32,
        /// Its size as stored.
        size: i32,
        /// The file's length.
        len: usize,
    },
    /// No lump has this name.
    Missing(String),
    /// PLAYPAL holds fewer than one palette (768 bytes).
    Palette(usize),
    /// A picture lump is malformed.
    Patch(String, PatchError),
}

impl fmt::Display for WadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WadError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            WadError::ShortHeader(n) => write!(f, "WAD: {n} bytes, shorter than the header"),
            WadError::Magic(m) => write!(f, "WAD: magic {m:02x?} is neither IWAD nor PWAD"),
            WadError::Negative { count, offset } => {
                write!(f, "WAD: lump count {count} / directory offset {offset}")
            }
            WadError::Directory { offset, count, len } => write!(
                f,
                "WAD: {count} directory entries at {offset} do not fit {len} bytes"
            ),
            WadError::Lump {
                name,
                offset,
                size,
                len,
            } => write!(
                f,
                "WAD: lump {name} ({size} bytes at {offset}) does not fit {len} bytes"
            ),
            WadError::Missing(name) => write!(f, "WAD: no lump {name}"),
            WadError::Palette(n) => write!(f, "WAD: PLAYPAL has {n} bytes, a palette is 768"),
            WadError::Patch(name, e) => write!(f, "WAD: picture {name}: {e}"),
        }
    }
}

impl std::error::Error for WadError {}

/// Whether the WAD is a whole game or a patch over one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `IWAD`: a game's main WAD.
    Iwad,
    /// `PWAD`: lumps that replace or add to an IWAD's.
    Pwad,
}

/// One directory entry, checked to lie inside the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name, NUL padding removed (bytes as stored).
    pub name: Vec<u8>,
    /// Byte offset of the lump.
    pub offset: usize,
    /// Its size in bytes.
    pub size: usize,
}

impl Entry {
    /// The name as text (non-ASCII bytes replaced).
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A WAD's header and directory, checked against the file's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    /// IWAD or PWAD.
    pub kind: Kind,
    /// The entries in file order.
    pub entries: Vec<Entry>,
}

fn le_i32(data: &[u8], at: usize) -> Option<i32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes(bytes.try_into().ok()?))
}

impl Directory {
    /// Reads the header and directory of the WAD `data`.
    pub fn parse(data: &[u8]) -> Result<Directory, WadError> {
        let header = data
            .get(..HEADER)
            .ok_or(WadError::ShortHeader(data.len()))?;
        let kind = match &header[..4] {
            b"IWAD" => Kind::Iwad,
            b"PWAD" => Kind::Pwad,
            m => return Err(WadError::Magic([m[0], m[1], m[2], m[3]])),
        };
        let count = le_i32(data, 4).ok_or(WadError::ShortHeader(data.len()))?;
        let offset = le_i32(data, 8).ok_or(WadError::ShortHeader(data.len()))?;
        let (Ok(n), Ok(at)) = (usize::try_from(count), usize::try_from(offset)) else {
            return Err(WadError::Negative { count, offset });
        };
        let bad_dir = || WadError::Directory {
            offset: at,
            count: n,
            len: data.len(),
        };
        let end = n
            .checked_mul(ENTRY)
            .and_then(|bytes| bytes.checked_add(at))
            .ok_or_else(bad_dir)?;
        let table = data.get(at..end).ok_or_else(bad_dir)?;
        let mut entries = Vec::with_capacity(n);
        for raw in table.chunks_exact(ENTRY) {
            entries.push(Self::entry(raw, data.len())?);
        }
        Ok(Directory { kind, entries })
    }

    /// One 16-byte directory entry of a file of `len` bytes.
    fn entry(raw: &[u8], len: usize) -> Result<Entry, WadError> {
        let offset = le_i32(raw, 0).unwrap_or(-1);
        let size = le_i32(raw, 4).unwrap_or(-1);
        let stored = raw.get(8..ENTRY).unwrap_or_default();
        let name_len = stored.iter().position(|&b| b == 0).unwrap_or(stored.len());
        let name = stored[..name_len].to_vec();
        let refuse = || WadError::Lump {
            name: String::from_utf8_lossy(&name).into_owned(),
            offset,
            size,
            len,
        };
        let (Ok(start), Ok(bytes)) = (usize::try_from(offset), usize::try_from(size)) else {
            return Err(refuse());
        };
        // Marker lumps (F_START, E1M1, ...) are empty; their offset is
        // never read, and WAD tools store anything there.
        if bytes > 0 && start.checked_add(bytes).is_none_or(|end| end > len) {
            return Err(refuse());
        }
        Ok(Entry {
            name,
            offset: start,
            size: bytes,
        })
    }

    /// The entry called `name` (ASCII case ignored, as the engine's
    /// `strncasecmp` does): the last one if several are, as in the
    /// engine's `W_CheckNumForName`.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        let want = name.as_bytes();
        self.entries
            .iter()
            .rev()
            .find(|e| e.name.len() == want.len().min(8) && e.name.eq_ignore_ascii_case(want))
    }
}

/// A WAD file held in memory with its checked directory.
pub struct Wad {
    data: Vec<u8>,
    /// Header and directory.
    pub directory: Directory,
}

impl Wad {
    /// Reads and checks the WAD at `path`.
    pub fn load(path: &Path) -> Result<Wad, WadError> {
        let data = std::fs::read(path).map_err(|e| WadError::Io(path.to_path_buf(), e))?;
        Wad::from_bytes(data)
    }

    /// Checks the WAD `data`.
    pub fn from_bytes(data: Vec<u8>) -> Result<Wad, WadError> {
        let directory = Directory::parse(&data)?;
        Ok(Wad { data, directory })
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The bytes of the lump called `name` (last match wins).
    pub fn lump(&self, name: &str) -> Result<&[u8], WadError> {
        let entry = self
            .directory
            .find(name)
            .ok_or_else(|| WadError::Missing(name.to_string()))?;
        if entry.size == 0 {
            return Ok(&[]);
        }
        // Checked by `Directory::parse`; `get` keeps that a non-panic.
        self.data
            .get(entry.offset..entry.offset + entry.size)
            .ok_or_else(|| WadError::Missing(name.to_string()))
    }

    /// Palette 0 of PLAYPAL (the one the title screen and menus use).
    pub fn palette(&self) -> Result<Palette, WadError> {
        let lump = self.lump("PLAYPAL")?;
        Palette::from_playpal(lump).ok_or(WadError::Palette(lump.len()))
    }

    /// The picture lump called `name`.
    pub fn patch(&self, name: &str) -> Result<Patch, WadError> {
        Patch::parse(self.lump(name)?).map_err(|e| WadError::Patch(name.to_string(), e))
    }

    /// Whether the engine will run it as a Doom II-style ("commercial")
    /// game: d_main.c's `D_IdentifyVersion` looks for a MAP01 lump when the
    /// IWAD's file name does not settle it (freedoom2.wad: commercial).
    pub fn is_commercial(&self) -> bool {
        self.directory.find("MAP01").is_some()
    }
}

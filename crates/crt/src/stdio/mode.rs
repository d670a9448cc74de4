//! `fopen`'s mode strings and the mapping of C paths to file names.

use super::errno::{Errno, EINVAL, ENOENT, EROFS};

/// What an `fopen` mode string asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// Reading is allowed (`r`, or any mode with `+`).
    pub read: bool,
    /// Writing is allowed (`w`, `a`, or `+`).
    pub write: bool,
    /// `w`: the file is created or truncated.
    pub truncate: bool,
    /// `a`: every write goes to the end.
    pub append: bool,
    /// `x` (with `w`): fail if the file exists.
    pub exclusive: bool,
}

impl Mode {
    /// `"r"`.
    pub const READ: Self = Self {
        read: true,
        write: false,
        truncate: false,
        append: false,
        exclusive: false,
    };
    /// Output only, as the console streams are.
    pub const WRITE: Self = Self {
        read: false,
        write: true,
        truncate: false,
        append: false,
        exclusive: false,
    };

    /// Parses a mode: `r`, `w` or `a`, then any of `+`, `b`, `t` (text and
    /// binary are the same here) and `x` (with `w`: fail if it exists), each
    /// at most once, as C11 §7.21.5.3 and MSVC accept them. Anything else
    /// is `EINVAL`.
    pub fn parse(mode: &[u8]) -> Result<Self, Errno> {
        let (first, rest) = mode.split_first().ok_or(EINVAL)?;
        let mut m = match first {
            b'r' => Self {
                read: true,
                write: false,
                truncate: false,
                append: false,
                exclusive: false,
            },
            b'w' => Self {
                read: false,
                write: true,
                truncate: true,
                append: false,
                exclusive: false,
            },
            b'a' => Self {
                read: false,
                write: true,
                truncate: false,
                append: true,
                exclusive: false,
            },
            _ => return Err(EINVAL),
        };
        let mut seen = [false; 4];
        for &c in rest {
            let i = match c {
                b'+' => 0,
                b'b' => 1,
                b't' => 2,
                b'x' if *first == b'w' => 3,
                _ => return Err(EINVAL),
            };
            if seen[i] || (i == 2 && seen[1]) || (i == 1 && seen[2]) {
                return Err(EINVAL);
            }
            seen[i] = true;
        }
        if seen[0] {
            m.read = true;
            m.write = true;
        }
        m.exclusive = seen[3];
        Ok(m)
    }

    /// Whether the file is made if it does not exist (`w` and `a`).
    pub fn create(self) -> bool {
        self.truncate || self.append
    }
}

/// Whether `path` names a file on a disk volume (`/disk/...`), the only
/// files a program can write.
pub fn on_disk(path: &[u8]) -> bool {
    path.starts_with(b"/disk/")
}

/// The name [`boot_name`] gives `path`, for a stream in `mode`: a mode that
/// writes a boot file (anything not [`on_disk`]) is `EROFS`, since the
/// boot files are read-only.
pub fn file_name(path: &[u8], mode: Mode) -> Result<&[u8], Errno> {
    let name = boot_name(path)?;
    if mode.write && !on_disk(path) {
        return Err(EROFS);
    }
    Ok(name)
}

fn is_separator(b: u8) -> bool {
    b == b'/' || b == b'\\'
}

/// The boot-file name a C path stands for.
///
/// Boot files live in one flat, read-only namespace, named by the last
/// component of their path. The rule:
/// - a bare name (no `/` or `\`) is taken as it is;
/// - any path with a directory in it stands for its last component,
///   whatever the directories are, since there are none to tell apart:
///   `./doom.wad` and `././doom.wad` are `doom.wad` (leading `./` is
///   stripped, however often), `/usr/share/games/doom/freedoom1.wad` is
///   `freedoom1.wad`, and so are `wads\\freedoom1.wad` and
///   `../freedoom1.wad`.
///
/// An empty name, one ending in a separator, `.` and `..` name no file
/// (`ENOENT`). Case is left alone: the kernel compares names without
/// regard to ASCII case.
///
/// A path on a disk volume, `/disk/<volume>/<path>`, is passed to the
/// kernel whole: there the directories do tell files apart.
pub fn boot_name(path: &[u8]) -> Result<&[u8], Errno> {
    if on_disk(path) {
        return Ok(path);
    }
    let name = match path.iter().rposition(|&b| is_separator(b)) {
        Some(i) => &path[i + 1..],
        None => path,
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(ENOENT);
    }
    Ok(name)
}

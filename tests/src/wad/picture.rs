//! PLAYPAL palettes and DOOM's column-post pictures ("patches").
//!
//! A patch (Unofficial Doom Specs §5.4; the engine's `patch_t` and
//! `column_t` in r_defs.h) starts with width, height, left offset and top
//! offset (little-endian signed 16-bit), then `width` 32-bit offsets from
//! the lump's start, one per column. A column is a list of posts —
//! topdelta, length, a pad byte, `length` palette indices, a pad byte —
//! ended by a topdelta of 0xFF. Rows a column has no post for are
//! transparent.

use std::fmt;

/// DOOM's screen: `SCREENWIDTH` × `SCREENHEIGHT` in i_video.h.
pub const WIDTH: usize = 320;
/// See [`WIDTH`].
pub const HEIGHT: usize = 200;

/// The engine's 320×200 screen of palette indices, row-major.
pub type Canvas = [u8; WIDTH * HEIGHT];

/// A new canvas of palette index 0.
pub fn blank_canvas() -> Box<Canvas> {
    Box::new([0; WIDTH * HEIGHT])
}

/// One PLAYPAL palette: 256 RGB triples as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Palette(pub [[u8; 3]; 256]);

impl Palette {
    /// Palette 0: the first 768 bytes of the PLAYPAL lump (it holds 14).
    pub fn from_playpal(lump: &[u8]) -> Option<Palette> {
        let mut rgb = [[0u8; 3]; 256];
        let bytes = lump.get(..768)?;
        for (slot, c) in rgb.iter_mut().zip(bytes.chunks_exact(3)) {
            *slot = [c[0], c[1], c[2]];
        }
        Some(Palette(rgb))
    }
}

/// One run of opaque pixels in a column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// First row, from the patch's top.
    pub top: u8,
    /// Palette indices, top to bottom.
    pub pixels: Vec<u8>,
}

/// A parsed picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    /// Width in pixels (= number of columns).
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// How far left of the drawing point the picture starts.
    pub left: i16,
    /// How far above the drawing point it starts.
    pub top: i16,
    /// The posts of each column, left to right.
    pub columns: Vec<Vec<Post>>,
}

/// Why a picture lump was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatchError {
    /// Fewer bytes than the 8-byte header and the column table need.
    Short {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// A negative width or height.
    Size(i16, i16),
    /// A column's offset points outside the lump.
    Column {
        /// The column.
        column: usize,
        /// Its offset.
        offset: u32,
    },
    /// A post, or the column's 0xFF end, runs past the lump's end.
    Post {
        /// The column.
        column: usize,
        /// Where the post starts.
        at: usize,
    },
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchError::Short { needed, got } => {
                write!(f, "{got} bytes, the header needs {needed}")
            }
            PatchError::Size(w, h) => write!(f, "size {w}x{h}"),
            PatchError::Column { column, offset } => {
                write!(f, "column {column} at offset {offset}, outside the lump")
            }
            PatchError::Post { column, at } => {
                write!(
                    f,
                    "column {column}: the post at byte {at} runs off the lump"
                )
            }
        }
    }
}

impl std::error::Error for PatchError {}

fn le_i16(data: &[u8], at: usize) -> i16 {
    i16::from_le_bytes([data[at], data[at + 1]])
}

impl Patch {
    /// Parses a picture lump, checking every offset and length.
    pub fn parse(lump: &[u8]) -> Result<Patch, PatchError> {
        let short = |needed| PatchError::Short {
            needed,
            got: lump.len(),
        };
        if lump.len() < 8 {
            return Err(short(8));
        }
        let (w, h) = (le_i16(lump, 0), le_i16(lump, 2));
        let (Ok(width), Ok(height)) = (u16::try_from(w), u16::try_from(h)) else {
            return Err(PatchError::Size(w, h));
        };
        let table_end = 8 + 4 * usize::from(width);
        let table = lump.get(8..table_end).ok_or_else(|| short(table_end))?;
        let mut columns = Vec::with_capacity(usize::from(width));
        for (column, raw) in table.chunks_exact(4).enumerate() {
            let offset = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let start = usize::try_from(offset).unwrap_or(usize::MAX);
            if start >= lump.len() {
                return Err(PatchError::Column { column, offset });
            }
            columns.push(Self::column(lump, column, start)?);
        }
        Ok(Patch {
            width,
            height,
            left: le_i16(lump, 4),
            top: le_i16(lump, 6),
            columns,
        })
    }

    /// The posts of the column starting at byte `at`.
    fn column(lump: &[u8], column: usize, mut at: usize) -> Result<Vec<Post>, PatchError> {
        let mut posts = Vec::new();
        loop {
            let run_out = PatchError::Post { column, at };
            let top = *lump.get(at).ok_or(run_out.clone())?;
            if top == 0xff {
                return Ok(posts);
            }
            let length = usize::from(*lump.get(at + 1).ok_or(run_out.clone())?);
            // topdelta, length, pad, pixels; the trailing pad is skipped
            // unread, as V_DrawPatch does (it steps `length + 4`).
            let pixels = lump.get(at + 3..at + 3 + length).ok_or(run_out)?;
            posts.push(Post {
                top,
                pixels: pixels.to_vec(),
            });
            at += length + 4;
        }
    }
}

/// Which canvas pixels a drawing covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask(pub Vec<bool>);

impl Mask {
    /// No pixel covered.
    pub fn empty() -> Mask {
        Mask(vec![false; WIDTH * HEIGHT])
    }

    /// Whether canvas pixel `(x, y)` is covered.
    pub fn covers(&self, x: usize, y: usize) -> bool {
        x < WIDTH && y < HEIGHT && self.0.get(y * WIDTH + x).copied().unwrap_or(false)
    }

    /// How many pixels are covered.
    pub fn count(&self) -> usize {
        self.0.iter().filter(|&&c| c).count()
    }

    /// Adds the pixels `other` covers.
    pub fn add(&mut self, other: &Mask) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= *b;
        }
    }

    /// Removes the pixels `other` covers.
    pub fn remove(&mut self, other: &Mask) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= !*b;
        }
    }
}

/// Draws `patch` as the engine's `V_DrawPatch` does: its top-left corner
/// at `(x - left, y - top)`, each post from `topdelta` rows down. Pixels
/// outside the canvas are dropped (the engine would refuse or overrun).
/// Returns the pixels drawn.
pub fn draw_patch(canvas: &mut Canvas, patch: &Patch, x: i32, y: i32) -> Mask {
    let mut mask = Mask::empty();
    let x0 = i64::from(x) - i64::from(patch.left);
    let y0 = i64::from(y) - i64::from(patch.top);
    for (col, posts) in patch.columns.iter().enumerate() {
        let Ok(cx) = usize::try_from(x0 + col as i64) else {
            continue;
        };
        if cx >= WIDTH {
            continue;
        }
        for post in posts {
            for (row, &index) in post.pixels.iter().enumerate() {
                let cy = y0 + i64::from(post.top) + row as i64;
                let Ok(cy) = usize::try_from(cy) else {
                    continue;
                };
                if cy >= HEIGHT {
                    continue;
                }
                canvas[cy * WIDTH + cx] = index;
                mask.0[cy * WIDTH + cx] = true;
            }
        }
    }
    mask
}

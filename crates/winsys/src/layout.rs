//! Window placement on the screen and buffer scaling into a window.

/// A rectangle in screen pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// Whether `(x, y)` (screen pixels) lies inside.
    pub fn contains(&self, x: i64, y: i64) -> bool {
        x >= i64::from(self.x)
            && y >= i64::from(self.y)
            && x < i64::from(self.x) + i64::from(self.width)
            && y < i64::from(self.y) + i64::from(self.height)
    }
}

/// Why a window cannot be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// A zero width or height was asked for.
    Empty,
    /// The screen has no pixels.
    NoScreen,
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Empty => "a window needs a width and a height",
            Self::NoScreen => "the screen has no pixels",
        })
    }
}

/// The client rectangle of a new window: the whole screen, or `width` ×
/// `height` (each cut to the screen) centred on it.
pub fn place(
    screen: (u32, u32),
    width: u32,
    height: u32,
    fullscreen: bool,
) -> Result<Rect, LayoutError> {
    let (sw, sh) = screen;
    if sw == 0 || sh == 0 {
        return Err(LayoutError::NoScreen);
    }
    if fullscreen {
        return Ok(Rect {
            x: 0,
            y: 0,
            width: sw,
            height: sh,
        });
    }
    if width == 0 || height == 0 {
        return Err(LayoutError::Empty);
    }
    let (w, h) = (width.min(sw), height.min(sh));
    Ok(Rect {
        x: (sw - w) / 2,
        y: (sh - h) / 2,
        width: w,
        height: h,
    })
}

/// How a `width` × `height` buffer is drawn into a client area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Each buffer pixel becomes `factor` × `factor` screen pixels.
    pub factor: u32,
    /// The drawn area, inside the client area (client coordinates).
    pub area: Rect,
    /// Buffer pixels of each row drawn (fewer than the width if clipped).
    pub columns: u32,
    /// Buffer rows drawn.
    pub rows: u32,
}

/// The largest integer factor at which the buffer fits the client area
/// (at least 1), with the result centred; a buffer larger than the client
/// area is clipped at its right and bottom.
pub fn scale(client: (u32, u32), width: u32, height: u32) -> Scale {
    let (cw, ch) = client;
    let factor = if width == 0 || height == 0 {
        1
    } else {
        (cw / width).min(ch / height).max(1)
    };
    let columns = width.min(cw / factor);
    let rows = height.min(ch / factor);
    let (w, h) = (columns * factor, rows * factor);
    Scale {
        factor,
        area: Rect {
            x: (cw - w) / 2,
            y: (ch - h) / 2,
            width: w,
            height: h,
        },
        columns,
        rows,
    }
}

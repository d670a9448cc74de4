//! From DOOM's 320×200 palette canvas to the screen QEMU shows.
//!
//! Three steps, each the rule of the code that does it, written here on
//! its own so the host checks the kernel rather than reusing it:
//!
//! 1. doomgeneric's i_video.c. `I_SetPalette` stores each PLAYPAL channel
//!    through `gammatable[usegamma]` (tables.c); at the default
//!    `usegamma = 0` that row maps `v` to `v + 1` below 128 and keeps
//!    `v` from 128 up (so black becomes 1,1,1). In the default `rgba8888`
//!    mode `cmap_to_fb` packs `r << 16 | g << 8 | b` with no bits dropped,
//!    into `DG_ScreenBuffer` (`DOOMGENERIC_RESX` × `RESY`, 640×400 as
//!    user/doom's build.rs sets them). `I_InitGraphics` picks
//!    `fb_scaling = min(RESX / 320, RESY / 200)` and `I_FinishUpdate`
//!    writes each canvas pixel `fb_scaling` times across and each row
//!    `fb_scaling` times down, each row shifted right by
//!    `(RESX - 320 * fb_scaling) / 2` (its vertical offset is computed
//!    but never applied).
//! 2. doom.exe asks for a window of 4 × 640 by 4 × 400 (user/doom's
//!    `WINDOW_SCALE`); the window system cuts it to the screen and
//!    centres it (winsys `layout::place`), clearing it to black.
//! 3. The kernel draws the 640×400 buffer into the client area at the
//!    largest integer factor that fits (at least 1), centred, clipped at
//!    the right and bottom (winsys `layout::scale`), in XRGB as is.

use super::picture::{Canvas, Palette, HEIGHT, WIDTH};
use crate::qmp::Image;
use std::io::Write;
use std::path::Path;

/// `DOOMGENERIC_RESX` × `DOOMGENERIC_RESY` as user/doom builds the engine.
pub const BUFFER: (u32, u32) = (640, 400);
/// user/doom's `WINDOW_SCALE`: the window asked for is this many buffers.
const WINDOW_SCALE: u32 = 4;

/// tables.c's `gammatable[0]`: +1 below 128, unchanged from 128 up.
pub fn gamma0(v: u8) -> u8 {
    if v < 128 {
        v + 1
    } else {
        v
    }
}

/// The XRGB value doomgeneric puts in `DG_ScreenBuffer` for `index`.
pub fn xrgb(palette: &Palette, index: u8) -> u32 {
    let [r, g, b] = palette.0[usize::from(index)].map(gamma0);
    u32::from(r) << 16 | u32::from(g) << 8 | u32::from(b)
}

/// A rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Area {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

/// Where each screen pixel's colour comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Projection {
    /// Screen size.
    pub screen: (u32, u32),
    /// The window's client area on the screen.
    client: Area,
    /// Screen pixels per buffer pixel.
    pub factor: u32,
    /// The drawn part of the buffer, inside the client area.
    drawn: Area,
    /// i_video.c's `fb_scaling`.
    fb_scaling: u32,
    /// i_video.c's horizontal offset, in buffer pixels.
    fb_x: u32,
}

impl Projection {
    /// The projection for a `width` × `height` screen.
    pub fn new(width: u32, height: u32) -> Projection {
        let (bw, bh) = BUFFER;
        // winsys place(): the request cut to the screen, centred.
        let (cw, ch) = (
            (bw * WINDOW_SCALE).min(width),
            (bh * WINDOW_SCALE).min(height),
        );
        let client = Area {
            x: (width - cw) / 2,
            y: (height - ch) / 2,
            width: cw,
            height: ch,
        };
        // winsys scale(): largest factor that fits, at least 1; clipped.
        let factor = (cw / bw).min(ch / bh).max(1);
        let (columns, rows) = (bw.min(cw / factor), bh.min(ch / factor));
        let (dw, dh) = (columns * factor, rows * factor);
        let drawn = Area {
            x: client.x + (cw - dw) / 2,
            y: client.y + (ch - dh) / 2,
            width: dw,
            height: dh,
        };
        let fb_scaling = (bw / WIDTH as u32).min(bh / HEIGHT as u32);
        Projection {
            screen: (width, height),
            client,
            factor,
            drawn,
            fb_scaling,
            fb_x: (bw - WIDTH as u32 * fb_scaling) / 2,
        }
    }

    /// The buffer pixel drawn at screen pixel `(x, y)`; `None` where the
    /// window shows black (or is not).
    pub fn buffer_pixel(&self, x: u32, y: u32) -> Option<(u32, u32)> {
        let d = self.drawn;
        if x < d.x || y < d.y || x >= d.x + d.width || y >= d.y + d.height {
            return None;
        }
        Some(((x - d.x) / self.factor, (y - d.y) / self.factor))
    }

    /// The canvas pixel whose colour screen pixel `(x, y)` shows; `None`
    /// where it shows none (black).
    pub fn canvas_pixel(&self, x: u32, y: u32) -> Option<(usize, usize)> {
        let (bx, by) = self.buffer_pixel(x, y)?;
        let s = self.fb_scaling.max(1);
        let cx = bx.checked_sub(self.fb_x)? / s;
        let cy = by / s;
        (cx < WIDTH as u32 && cy < HEIGHT as u32).then_some((cx as usize, cy as usize))
    }

    /// A one-line account of the placement, for reports.
    pub fn describe(&self) -> String {
        format!(
            "{}x{} screen, {}x{} window at ({}, {}), 640x400 frame at {}x from ({}, {})",
            self.screen.0,
            self.screen.1,
            self.client.width,
            self.client.height,
            self.client.x,
            self.client.y,
            self.factor,
            self.drawn.x,
            self.drawn.y
        )
    }
}

/// The screen QEMU should show while DOOM's canvas is `canvas`, drawn
/// with `palette`, on a `screen_w` × `screen_h` screen.
pub fn expected_screen(canvas: &Canvas, palette: &Palette, screen_w: u32, screen_h: u32) -> Image {
    let p = Projection::new(screen_w, screen_h);
    let mut pixels = Vec::with_capacity(screen_w as usize * screen_h as usize);
    for y in 0..screen_h {
        for x in 0..screen_w {
            let colour = match p.canvas_pixel(x, y) {
                Some((cx, cy)) => {
                    let v = xrgb(palette, canvas[cy * WIDTH + cx]);
                    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
                }
                None => [0, 0, 0],
            };
            pixels.push(colour);
        }
    }
    Image {
        width: screen_w,
        height: screen_h,
        pixels,
    }
}

/// Writes `image` as a binary PPM (P6, maxval 255), the format QEMU's
/// screendump writes, so the two can be viewed side by side.
pub fn write_ppm(path: &Path, image: &Image) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(out, "P6\n{} {}\n255\n", image.width, image.height)?;
    for p in &image.pixels {
        out.write_all(p)?;
    }
    out.flush()
}

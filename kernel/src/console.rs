//! Text console on the framebuffer, mirroring the kernel log for a person.
#![forbid(unsafe_code)]
//!
//! The console owns the framebuffer until someone takes it over
//! ([`detach`]): the window system later gets the same memory this way.

use crate::arch::cpu::without_interrupts;
use crate::boot::FramebufferInfo;
use crate::sync::SpinLock;
use noto_sans_mono_bitmap::{get_raster, FontWeight, RasterHeight};

const FONT_HEIGHT: RasterHeight = RasterHeight::Size16;
const LINE_HEIGHT: usize = 18;
const MARGIN: usize = 8;

/// A text console drawing 8-bit-per-channel glyphs into a 32-bpp framebuffer.
pub struct FbConsole {
    pixels: &'static mut [u8],
    info: FramebufferInfo,
    char_width: usize,
    column: usize,
    row: usize,
}

static CONSOLE: SpinLock<Option<FbConsole>> = SpinLock::new(None);

/// Why the console could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleError {
    /// The loader gave no framebuffer.
    NoFramebuffer,
    /// Only 32 bits per pixel is drawn.
    UnsupportedDepth(u16),
    /// The framebuffer is owned by someone else already.
    Taken,
}

impl FbConsole {
    fn new(info: FramebufferInfo) -> Result<Self, ConsoleError> {
        if info.bpp != 32 {
            return Err(ConsoleError::UnsupportedDepth(info.bpp));
        }
        let pixels = crate::mm::hhdm::framebuffer(info.address, info.pitch * info.height)
            .ok_or(ConsoleError::Taken)?;
        Ok(Self::on(pixels, info))
    }

    /// A console on a cleared screen.
    fn on(pixels: &'static mut [u8], info: FramebufferInfo) -> Self {
        let char_width = get_raster('m', FontWeight::Regular, FONT_HEIGHT).map_or(8, |r| r.width());
        let console = Self {
            pixels,
            info,
            char_width,
            column: 0,
            row: 0,
        };
        console.pixels.fill(0);
        console
    }

    fn columns(&self) -> usize {
        (self.info.width as usize).saturating_sub(2 * MARGIN) / self.char_width
    }

    fn rows(&self) -> usize {
        (self.info.height as usize).saturating_sub(2 * MARGIN) / LINE_HEIGHT
    }

    fn color(&self, intensity: u8) -> u32 {
        let channel = |(size, shift): (u8, u8)| -> u32 {
            let max = if size >= 8 { 0xff } else { (1u32 << size) - 1 };
            (u32::from(intensity) * max / 255) << shift
        };
        channel(self.info.red) | channel(self.info.green) | channel(self.info.blue)
    }

    fn put_pixel(&mut self, x: usize, y: usize, value: u32) {
        let offset = y * self.info.pitch as usize + x * 4;
        if let Some(px) = self.pixels.get_mut(offset..offset + 4) {
            px.copy_from_slice(&value.to_le_bytes());
        }
    }

    fn newline(&mut self) {
        self.column = 0;
        self.row += 1;
        if self.row >= self.rows() {
            self.scroll();
        }
    }

    /// Scrolls by half a screen at once: one large copy every rows/2 lines
    /// keeps the cost low under software emulation.
    fn scroll(&mut self) {
        let keep = self.rows() / 2;
        let drop = self.rows() - keep;
        let pitch = self.info.pitch as usize;
        let line_bytes = LINE_HEIGHT * pitch;
        let top = MARGIN * pitch;
        let src = top + drop * line_bytes;
        self.pixels.copy_within(src..src + keep * line_bytes, top);
        let clear_end = (top + self.rows() * line_bytes).min(self.pixels.len());
        self.pixels[top + keep * line_bytes..clear_end].fill(0);
        self.row = keep;
    }

    fn write_char(&mut self, c: char) {
        match c {
            '\n' => return self.newline(),
            '\r' => return,
            _ => {}
        }
        if self.column >= self.columns() {
            self.newline();
        }
        let raster = get_raster(c, FontWeight::Regular, FONT_HEIGHT)
            .or_else(|| get_raster('?', FontWeight::Regular, FONT_HEIGHT));
        let x0 = MARGIN + self.column * self.char_width;
        let y0 = MARGIN + self.row * LINE_HEIGHT;
        if let Some(raster) = raster {
            for (dy, row) in raster.rows().enumerate() {
                for (dx, &intensity) in row.iter().enumerate() {
                    let value = self.color(intensity);
                    self.put_pixel(x0 + dx, y0 + dy, value);
                }
            }
        }
        self.column += 1;
    }

    /// Writes text, wrapping long lines.
    pub fn write_str(&mut self, s: &str) {
        for c in s.chars() {
            self.write_char(c);
        }
    }

    /// Text grid size (columns, rows).
    pub fn size(&self) -> (usize, usize) {
        (self.columns(), self.rows())
    }
}

/// Starts the console on the loader's framebuffer.
pub fn init(info: Option<FramebufferInfo>) -> Result<(usize, usize), ConsoleError> {
    let console = FbConsole::new(info.ok_or(ConsoleError::NoFramebuffer)?)?;
    let size = console.size();
    without_interrupts(|| *CONSOLE.lock() = Some(console));
    Ok(size)
}

/// Writes text to the console if there is one.
pub fn write_str(s: &str) {
    without_interrupts(|| {
        if let Some(console) = CONSOLE.lock().as_mut() {
            console.write_str(s);
        }
    });
}

/// Writes text only if the console is free right now (fault paths).
pub fn try_write_str(s: &str) {
    if let Some(mut guard) = CONSOLE.try_lock() {
        if let Some(console) = guard.as_mut() {
            console.write_str(s);
        }
    }
}

/// The framebuffer's pixels and format, as the console hands them over.
pub struct Framebuffer {
    /// Every byte of the visible framebuffer (pitch × height).
    pub pixels: &'static mut [u8],
    /// Its geometry and pixel format.
    pub info: FramebufferInfo,
}

/// Why a display mode was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeError {
    /// Nobody has a framebuffer to show it in.
    NoFramebuffer,
    /// Only 32 bits per pixel is drawn.
    UnsupportedDepth(u16),
    /// The mode needs more bytes than the framebuffer mapping has.
    TooLarge {
        /// pitch × height of the mode.
        needed: u64,
        /// Bytes mapped.
        mapped: u64,
    },
}

impl core::fmt::Display for ModeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoFramebuffer => write!(f, "no framebuffer"),
            Self::UnsupportedDepth(bpp) => write!(f, "{bpp} bits per pixel, not 32"),
            Self::TooLarge { needed, mapped } => {
                write!(f, "the mode needs {needed} bytes, {mapped} are mapped")
            }
        }
    }
}

impl Framebuffer {
    /// Shows the same memory in mode `info` (a display device scanning it
    /// out changed its geometry or pixel format): the geometry changes,
    /// the memory and its mapping do not.
    pub fn reshape(&mut self, info: FramebufferInfo) -> Result<(), ModeError> {
        check_mode(&info, self.pixels.len())?;
        self.info = FramebufferInfo {
            address: self.info.address,
            ..info
        };
        Ok(())
    }
}

fn check_mode(info: &FramebufferInfo, mapped: usize) -> Result<(), ModeError> {
    if info.bpp != 32 {
        return Err(ModeError::UnsupportedDepth(info.bpp));
    }
    let needed = info
        .pitch
        .checked_mul(info.height)
        .filter(|_| info.pitch >= info.width.saturating_mul(4))
        .unwrap_or(u64::MAX);
    if needed > mapped as u64 {
        return Err(ModeError::TooLarge {
            needed,
            mapped: mapped as u64,
        });
    }
    Ok(())
}

/// Copies framebuffer bytes from `offset` into `buf` while the console
/// owns it (see `window::screen::read_back`).
#[cfg(feature = "milestones")]
pub fn read_back(offset: usize, buf: &mut [u8]) -> bool {
    without_interrupts(|| {
        CONSOLE
            .lock()
            .as_ref()
            .is_some_and(|c| crate::window::copy_out(c.pixels, offset, buf))
    })
}

/// The console's mode, if it has the framebuffer.
pub fn mode() -> Option<FramebufferInfo> {
    without_interrupts(|| CONSOLE.lock().as_ref().map(|c| c.info))
}

/// Switches the console to mode `info` on the same memory and starts it
/// again on a clear screen.
pub fn set_mode(info: FramebufferInfo) -> Result<(), ModeError> {
    without_interrupts(|| {
        let mut console = CONSOLE.lock();
        let mapped = console
            .as_ref()
            .ok_or(ModeError::NoFramebuffer)?
            .pixels
            .len();
        check_mode(&info, mapped)?;
        if let Some(c) = console.take() {
            let info = FramebufferInfo {
                address: c.info.address,
                ..info
            };
            *console = Some(FbConsole::on(c.pixels, info));
        }
        Ok(())
    })
}

/// Hands the framebuffer over to a new owner; the console stops drawing
/// (the log still goes to serial).
pub fn detach() -> Option<Framebuffer> {
    without_interrupts(|| CONSOLE.lock().take()).map(|c| Framebuffer {
        pixels: c.pixels,
        info: c.info,
    })
}

/// Takes the framebuffer back from its owner and starts again on a clear
/// screen.
pub fn attach(fb: Framebuffer) {
    let console = FbConsole::on(fb.pixels, fb.info);
    without_interrupts(|| *CONSOLE.lock() = Some(console));
}

/// Whether the console owns the framebuffer now.
pub fn attached() -> bool {
    without_interrupts(|| CONSOLE.lock().is_some())
}

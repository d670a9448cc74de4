//! The screen as the window system owns it: hand-over and presenting.
//!
//! Presenting copies a program's buffer row by row through checked user
//! copies (a 1 KiB stack chunk at a time), scales each row once into a
//! kernel row buffer (`winsys::present`), then writes that row as many
//! times as the factor into the write-combining framebuffer, so the
//! framebuffer is only ever written, never read. At 1× in the
//! framebuffer's own format the user copy goes straight into it.

use crate::boot::FramebufferInfo;
use crate::console::{self, Framebuffer, ModeError};
use crate::mm::user_copy;
use crate::sync::SpinLock;
use alloc::vec::Vec;
use winsys::layout::Rect;
use winsys::present::{scale_row, PixelFormat};

struct Screen {
    fb: Framebuffer,
    format: PixelFormat,
    /// The window on screen: only it may draw.
    shown: u64,
    /// One scaled row (pitch bytes), reused by every present.
    row: Vec<u8>,
}

static SCREEN: SpinLock<Option<Screen>> = SpinLock::new(None);
/// What was drawn since a display device last asked ([`take_damage`]).
static DAMAGE: SpinLock<Option<Rect>> = SpinLock::new(None);

/// Bytes of a program's row read per user copy.
const CHUNK: usize = 1024;
/// Framebuffer bytes a present writes per hold of the screen lock (with
/// interrupts off): 16 rows of a 1024-pixel-wide screen.
const BATCH_BYTES: usize = 64 * 1024;

/// A program's buffer, as SET_SCREEN_BUFFER names it (already checked to
/// lie in mapped user memory).
#[derive(Clone, Copy, Debug)]
pub struct Buffer {
    /// User address of the first pixel.
    pub ptr: u64,
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Bytes from one row to the next.
    pub pitch: u64,
}

/// Why a present stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresentError {
    /// The buffer stopped being readable while it was copied.
    BadPointer,
}

/// The screen's size in its current mode, if there is a 32-bpp
/// framebuffer to draw on.
pub fn size() -> Option<(u32, u32)> {
    let info = SCREEN
        .lock()
        .as_ref()
        .map(|s| s.fb.info)
        .or_else(console::mode)?;
    (info.bpp == 32).then_some((info.width as u32, info.height as u32))
}

/// Switches the screen to mode `info` on the same framebuffer memory (a
/// display device that scans it out changed mode) and clears it. Windows
/// keep their rectangles; the ones made from now on fit the new size.
pub fn set_mode(info: FramebufferInfo) -> Result<(), ModeError> {
    let mut s = SCREEN.lock();
    let Some(screen) = s.as_mut() else {
        // Held across: the framebuffer cannot move to the window system
        // meanwhile.
        return console::set_mode(info);
    };
    let mut row = Vec::new();
    if row.try_reserve_exact(info.pitch as usize).is_err() {
        return Err(ModeError::TooLarge {
            needed: info.pitch,
            mapped: 0,
        });
    }
    row.resize(info.pitch as usize, 0);
    screen.fb.reshape(info)?;
    screen.row = row;
    screen.format = PixelFormat {
        red: info.red,
        green: info.green,
        blue: info.blue,
    };
    screen.fb.pixels.fill(0);
    drop(s);
    damage(Rect {
        x: 0,
        y: 0,
        width: info.width as u32,
        height: info.height as u32,
    });
    Ok(())
}

/// Copies framebuffer bytes at physical address `phys` into `buf` from
/// whoever owns the screen, as a display device scanning it out sees them
/// (the M7 model reads its VRAM this way); false unless the range lies in
/// the framebuffer.
#[cfg(feature = "milestones")]
pub fn read_back(phys: u64, buf: &mut [u8]) -> bool {
    let Some((base, _)) = crate::mm::hhdm::framebuffer_phys() else {
        return false;
    };
    let Some(offset) = phys.checked_sub(base).and_then(|o| usize::try_from(o).ok()) else {
        return false;
    };
    let s = SCREEN.lock();
    match s.as_ref() {
        Some(screen) => copy_out(screen.fb.pixels, offset, buf),
        None => console::read_back(offset, buf),
    }
}

/// Copies `pixels[offset..offset + buf.len()]` into `buf`, if it is there.
#[cfg(feature = "milestones")]
pub fn copy_out(pixels: &[u8], offset: usize, buf: &mut [u8]) -> bool {
    let Some(src) = offset
        .checked_add(buf.len())
        .and_then(|end| pixels.get(offset..end))
    else {
        return false;
    };
    buf.copy_from_slice(src);
    true
}

/// The smallest rectangle holding everything drawn since the last call.
pub fn take_damage() -> Option<Rect> {
    DAMAGE.lock().take()
}

fn damage(r: Rect) {
    if r.width == 0 || r.height == 0 {
        return;
    }
    let mut d = DAMAGE.lock();
    *d = Some(match *d {
        None => r,
        Some(o) => {
            let x = o.x.min(r.x);
            let y = o.y.min(r.y);
            let right = o.x.saturating_add(o.width).max(r.x.saturating_add(r.width));
            let bottom =
                o.y.saturating_add(o.height)
                    .max(r.y.saturating_add(r.height));
            Rect {
                x,
                y,
                width: right - x,
                height: bottom - y,
            }
        }
    });
}

/// Takes the framebuffer from the console (no-op if taken already).
pub fn take() -> Result<(), ()> {
    let mut s = SCREEN.lock();
    if s.is_some() {
        return Ok(());
    }
    let fb = console::detach().ok_or(())?;
    let mut row = Vec::new();
    if row.try_reserve_exact(fb.info.pitch as usize).is_err() {
        console::attach(fb);
        return Err(());
    }
    row.resize(fb.info.pitch as usize, 0);
    let format = PixelFormat {
        red: fb.info.red,
        green: fb.info.green,
        blue: fb.info.blue,
    };
    // The console's text would stay around the windows: start black.
    fb.pixels.fill(0);
    *s = Some(Screen {
        fb,
        format,
        shown: 0,
        row,
    });
    drop(s);
    log::info!("the window system has the screen; the log goes on on serial");
    Ok(())
}

/// Gives the framebuffer back to the console.
pub fn give_back() {
    // SCREEN stays held until the console has the framebuffer, so that
    // nobody (a mode change, `size`, `read_back`) sees it owned by neither.
    let mut s = SCREEN.lock();
    let Some(screen) = s.take() else {
        return;
    };
    console::attach(screen.fb);
    drop(s);
    log::info!("the console has the screen again");
}

/// Puts window `id` on the screen: its client rectangle `rect` is
/// cleared, or the whole screen when `None`.
pub fn show(id: u64, rect: Option<Rect>) {
    let mut s = SCREEN.lock();
    let Some(screen) = s.as_mut() else {
        return;
    };
    screen.shown = id;
    let Some(rect) = rect else {
        screen.fb.pixels.fill(0);
        let whole = Rect {
            x: 0,
            y: 0,
            width: screen.fb.info.width as u32,
            height: screen.fb.info.height as u32,
        };
        drop(s);
        damage(whole);
        return;
    };
    let pitch = screen.fb.info.pitch as usize;
    for y in rect.y..rect.y.saturating_add(rect.height) {
        let start = y as usize * pitch + rect.x as usize * 4;
        let end = start + rect.width as usize * 4;
        if let Some(line) = screen.fb.pixels.get_mut(start..end) {
            line.fill(0);
        }
    }
    drop(s);
    damage(rect);
}

/// Draws `buffer` into window `id`'s client rectangle `client`, scaled by
/// the largest integer factor that fits and centred, if that window is
/// the one shown. The screen lock is taken per batch of rows, so a long
/// present never keeps interrupts off for more than [`BATCH_BYTES`] of
/// copying; a window that stops being shown stops drawing at the next
/// batch. The caller has checked the user memory the rows span; a page
/// unmapped since then ends the present with `BadPointer`.
pub fn present(id: u64, client: Rect, buffer: Buffer) -> Result<(), PresentError> {
    let scale = winsys::layout::scale((client.width, client.height), buffer.width, buffer.height);
    let result = draw(id, client, buffer, &scale);
    // What was drawn before a stop is damaged as well: the whole area.
    damage(Rect {
        x: client.x + scale.area.x,
        y: client.y + scale.area.y,
        width: scale.area.width,
        height: scale.area.height,
    });
    result
}

fn draw(
    id: u64,
    client: Rect,
    buffer: Buffer,
    scale: &winsys::layout::Scale,
) -> Result<(), PresentError> {
    let x0 = (client.x + scale.area.x) as usize;
    let y0 = (client.y + scale.area.y) as usize;
    let factor = scale.factor as usize;
    let row_bytes = scale.area.width as usize * 4;
    let total = scale.columns as usize * 4;
    let rows = scale.rows as usize;
    let per_batch = (BATCH_BYTES / (row_bytes * factor).max(1)).max(1);
    let mut chunk = [0u8; CHUNK];
    let mut first = 0;
    while first < rows {
        let batch = first..(first + per_batch).min(rows);
        first = batch.end;
        let mut s = SCREEN.lock();
        let Some(screen) = s.as_mut().filter(|s| s.shown == id) else {
            return Ok(());
        };
        let pitch = screen.fb.info.pitch as usize;
        // At 1× in the framebuffer's own format a row goes straight from
        // the program into the framebuffer (the X byte is unused there).
        if factor == 1 && screen.format == PixelFormat::XRGB8888 {
            let start = (y0 + batch.start) * pitch + x0 * 4;
            let src = buffer.ptr + batch.start as u64 * buffer.pitch;
            if let Some(rows) = screen.fb.pixels.get_mut(start..) {
                // Rows past the framebuffer's end are not drawn.
                let fit = rows
                    .len()
                    .checked_sub(total)
                    .map_or(0, |room| room / pitch.max(1) + 1);
                user_copy::read_rows_checked_part(
                    src,
                    buffer.pitch,
                    rows,
                    pitch,
                    total,
                    batch.len().min(fit),
                )
                .map_err(|_| PresentError::BadPointer)?;
            }
            continue;
        }
        for r in batch {
            let src = buffer.ptr + r as u64 * buffer.pitch;
            let mut done = 0usize;
            while done < total {
                let n = (total - done).min(CHUNK);
                user_copy::read_checked_part(src + done as u64, &mut chunk[..n])
                    .map_err(|_| PresentError::BadPointer)?;
                let at = done * factor;
                let dst = screen.row.get_mut(at..row_bytes).unwrap_or_default();
                scale_row(&chunk[..n], scale.factor, screen.format, dst);
                done += n;
            }
            for k in 0..factor {
                let start = (y0 + r * factor + k) * pitch + x0 * 4;
                let (Some(line), Some(scaled)) = (
                    screen.fb.pixels.get_mut(start..start + row_bytes),
                    screen.row.get(..row_bytes),
                ) else {
                    continue;
                };
                line.copy_from_slice(scaled);
            }
        }
    }
    Ok(())
}

//! The picture m4-tests.exe draws, as the host expects to see it on the
//! screen: its 320×200 pattern scaled by the largest integer factor that
//! fits the full-screen window, centred (the kernel's rule, computed here
//! on its own).

use crate::qmp::Image;

/// The pattern's size.
pub const SIZE: (u32, u32) = (320, 200);

/// The pattern's pixel at `(x, y)` as (red, green, blue).
pub fn pixel(x: u32, y: u32) -> [u8; 3] {
    [
        (x & 0xff) as u8,
        (y & 0xff) as u8,
        ((x * 3 + y * 5) & 0xff) as u8,
    ]
}

/// Compares every screen pixel the scaled 320×200 pattern covers; outside
/// it the window is black. Returns a summary, or the first mismatches.
pub fn compare(image: &Image) -> Result<String, String> {
    compare_at(image, SIZE)
}

/// The same for the pattern drawn over the whole screen at 1×.
pub fn compare_full(image: &Image) -> Result<String, String> {
    compare_at(image, (image.width, image.height))
}

fn compare_at(image: &Image, size: (u32, u32)) -> Result<String, String> {
    let (w, h) = (image.width, image.height);
    let factor = (w / size.0).min(h / size.1);
    if factor == 0 {
        return Err(format!("a {w}x{h} screen is smaller than the pattern"));
    }
    let (dw, dh) = (size.0 * factor, size.1 * factor);
    let (x0, y0) = ((w - dw) / 2, (h - dh) / 2);
    let mut bad = Vec::new();
    let mut count = 0usize;
    for y in 0..h {
        for x in 0..w {
            let inside = x >= x0 && y >= y0 && x < x0 + dw && y < y0 + dh;
            let want = if inside {
                pixel((x - x0) / factor, (y - y0) / factor)
            } else {
                [0, 0, 0]
            };
            let got = image.pixel(x, y);
            if got != Some(want) {
                count += 1;
                if bad.len() < 8 {
                    bad.push(format!("({x}, {y}): {got:?}, want {want:?}"));
                }
            }
        }
    }
    if count == 0 {
        Ok(format!(
            "{w}x{h}: the {}x{} pattern at {factor}x from ({x0}, {y0}), every pixel as drawn",
            size.0, size.1
        ))
    } else {
        Err(format!("{count} pixels differ: {}", bad.join("; ")))
    }
}

/// Loads the screendump `file` (in the runner's scratch directory) and
/// compares it: with the scaled pattern, or with the 1× full-screen one.
pub fn check_screendump(file: &str, full_screen: bool) -> Result<String, String> {
    let path = crate::images::scratch_dir().join(file);
    let image = Image::load(&path).map_err(|e| format!("no screendump {}: {e}", path.display()))?;
    if full_screen {
        compare_full(&image)
    } else {
        compare(&image)
    }
}

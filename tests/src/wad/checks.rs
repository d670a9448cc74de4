//! The DOOM boot's screen checks: the title picture, and the main menu.
//!
//! The menu's places are m_menu.c's: `M_DrawMainMenu` draws M_DOOM at
//! (94, 2); `M_Drawer` draws the items of `MainDef` (x 97, y 64) one
//! `LINEHEIGHT` (16) apart and the skull at `x + SKULLXOFF` (−32),
//! `y − 5 + itemOn × 16`. Doom II-style games drop "Read This!" and move
//! the list down 8 (`M_Init`). Every patch is drawn at its point minus its
//! own left/top offsets (`V_DrawPatch`).

use super::picture::{blank_canvas, draw_patch, Canvas, Mask};
use super::screen::{expected_screen, write_ppm, Projection};
use super::Wad;
use crate::qmp::Image;
use std::path::{Path, PathBuf};

/// The share of all pixels that must match for the title check.
pub const TITLE_PASS: f64 = 0.98;
/// The share of the menu patches' pixels that must match.
pub const MENU_PASS: f64 = 0.95;
/// Mismatches listed in a failure.
const SHOWN: usize = 6;

/// The main menu's item pictures, top to bottom, for a Doom (not Doom II)
/// game: m_menu.c's `MainMenu`.
pub const MENU_ITEMS: [&str; 6] = [
    "M_NGAME", "M_OPTION", "M_LOADG", "M_SAVEG", "M_RDTHIS", "M_QUITG",
];
/// `MainDef`'s x and y.
pub const MENU_AT: (i32, i32) = (97, 64);
/// m_menu.c's `LINEHEIGHT`.
pub const LINE_HEIGHT: i32 = 16;
/// m_menu.c's `SKULLXOFF`.
pub const SKULL_X_OFF: i32 = -32;
/// Where `M_DrawMainMenu` draws M_DOOM.
pub const TITLE_LOGO_AT: (i32, i32) = (94, 2);

/// A frame the DOOM boot is expected to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// TITLEPIC over the whole canvas.
    Title,
    /// The main menu over TITLEPIC, the skull (M_SKULL1) on the first item.
    Menu,
}

/// A canvas of `name` drawn at (0, 0), as `D_PageDrawer` draws a page.
pub fn page(wad: &Wad, name: &str) -> Result<Box<Canvas>, String> {
    let mut canvas = blank_canvas();
    let patch = wad.patch(name).map_err(|e| e.to_string())?;
    draw_patch(&mut canvas, &patch, 0, 0);
    Ok(canvas)
}

/// Draws the main menu onto `canvas` with the skull `skull` on item
/// `item_on`; returns the pixels of M_DOOM and the items that the skull
/// does not also cover (the skull changes every 8 tics, so it is drawn for
/// a person to see but never compared).
pub fn draw_menu(
    canvas: &mut Canvas,
    wad: &Wad,
    skull: &str,
    item_on: i32,
) -> Result<Mask, String> {
    let patch = |name: &str| wad.patch(name).map_err(|e| e.to_string());
    let mut mask = draw_patch(canvas, &patch("M_DOOM")?, TITLE_LOGO_AT.0, TITLE_LOGO_AT.1);
    let (x, mut y) = MENU_AT;
    let commercial = wad.is_commercial();
    if commercial {
        y += 8;
    }
    let top = y;
    for name in MENU_ITEMS {
        if commercial && name == "M_RDTHIS" {
            continue;
        }
        mask.add(&draw_patch(canvas, &patch(name)?, x, y));
        y += LINE_HEIGHT;
    }
    let skull_at = (x + SKULL_X_OFF, top - 5 + item_on * LINE_HEIGHT);
    let mut scratch = blank_canvas();
    for other in ["M_SKULL1", "M_SKULL2"] {
        mask.remove(&draw_patch(
            &mut scratch,
            &patch(other)?,
            skull_at.0,
            skull_at.1,
        ));
    }
    draw_patch(canvas, &patch(skull)?, skull_at.0, skull_at.1);
    Ok(mask)
}

/// The canvas of `frame`, and the canvas pixels its check compares.
pub fn render(wad: &Wad, frame: Frame) -> Result<(Box<Canvas>, Option<Mask>), String> {
    let mut canvas = page(wad, "TITLEPIC")?;
    match frame {
        Frame::Title => Ok((canvas, None)),
        Frame::Menu => {
            let mask = draw_menu(&mut canvas, wad, "M_SKULL1", 0)?;
            Ok((canvas, Some(mask)))
        }
    }
}

/// How a screendump compared with the expected screen.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Screen pixels compared.
    pub compared: usize,
    /// Of them, exactly equal.
    pub matching: usize,
    /// The first few mismatches, described.
    pub first: Vec<String>,
}

impl Comparison {
    /// The share that matched (0 when nothing was compared).
    pub fn fraction(&self) -> f64 {
        if self.compared == 0 {
            0.0
        } else {
            self.matching as f64 / self.compared as f64
        }
    }
}

/// Compares `got` with `want` at the screen pixels whose canvas pixel
/// `mask` covers (every pixel when `None`).
pub fn compare(got: &Image, want: &Image, mask: Option<&Mask>) -> Comparison {
    let p = Projection::new(want.width, want.height);
    let mut c = Comparison {
        compared: 0,
        matching: 0,
        first: Vec::new(),
    };
    for y in 0..want.height {
        for x in 0..want.width {
            if let Some(mask) = mask {
                match p.canvas_pixel(x, y) {
                    Some((cx, cy)) if mask.covers(cx, cy) => {}
                    _ => continue,
                }
            }
            c.compared += 1;
            let (g, w) = (got.pixel(x, y), want.pixel(x, y));
            if g == w {
                c.matching += 1;
            } else if c.first.len() < SHOWN {
                c.first.push(format!("({x}, {y}) is {g:?}, want {w:?}"));
            }
        }
    }
    c
}

/// Loads the screendump and the WAD and compares them for `frame`.
fn check(ppm_path: &Path, wad_path: &Path, frame: Frame) -> Result<String, String> {
    let got =
        Image::load(ppm_path).map_err(|e| format!("screendump {}: {e}", ppm_path.display()))?;
    let wad = Wad::load(wad_path).map_err(|e| e.to_string())?;
    judge(&got, &wad, frame)
}

/// Judges the screen `got` against `frame` rendered from `wad`.
pub fn judge(got: &Image, wad: &Wad, frame: Frame) -> Result<String, String> {
    let (canvas, mask) = render(wad, frame)?;
    let palette = wad.palette().map_err(|e| e.to_string())?;
    let want = expected_screen(&canvas, &palette, got.width, got.height);
    let c = compare(got, &want, mask.as_ref());
    let (what, pass) = match frame {
        Frame::Title => ("TITLEPIC", TITLE_PASS),
        Frame::Menu => ("the main menu's M_DOOM and item pictures", MENU_PASS),
    };
    let summary = format!(
        "{:.1}% of {} pixels match {what} ({})",
        100.0 * c.fraction(),
        c.compared,
        Projection::new(got.width, got.height).describe()
    );
    if c.compared > 0 && c.fraction() >= pass {
        Ok(summary)
    } else {
        Err(format!(
            "{summary}; {:.0}% needed; first mismatches: {}",
            100.0 * pass,
            c.first.join("; ")
        ))
    }
}

/// Checks that the screendump shows TITLEPIC: at least 98% of all pixels
/// exactly as rendered from the WAD.
pub fn check_title(ppm_path: &Path, wad: &Path) -> Result<String, String> {
    check(ppm_path, wad, Frame::Title)
}

/// Checks that the screendump shows the main menu: at least 95% of the
/// pixels M_DOOM and the item pictures cover exactly as rendered (what is
/// beneath them, and the blinking skull, are not compared).
pub fn check_menu(ppm_path: &Path, wad: &Path) -> Result<String, String> {
    check(ppm_path, wad, Frame::Menu)
}

/// Writes the screen expected for `frame` next to the screendump
/// `ppm_path` (`x.ppm` → `x.expected.ppm`), at the screendump's size (or
/// 1280×800 if it cannot be read), for a person to compare. Returns the
/// path written.
pub fn write_expected_ppm(ppm_path: &Path, wad: &Path, frame: Frame) -> Result<PathBuf, String> {
    let (w, h) = Image::load(ppm_path)
        .map(|i| (i.width, i.height))
        .unwrap_or((1280, 800));
    let wad = Wad::load(wad).map_err(|e| e.to_string())?;
    let (canvas, _) = render(&wad, frame)?;
    let palette = wad.palette().map_err(|e| e.to_string())?;
    let image = expected_screen(&canvas, &palette, w, h);
    let out = ppm_path.with_extension("expected.ppm");
    write_ppm(&out, &image).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

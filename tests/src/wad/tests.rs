//! Tests of the WAD reader, the picture renderer and the screen checks.
//!
//! The checks against freedoom1.wad return early (saying so) when the WAD
//! is not installed; `make deps` installs it.

use super::checks::{compare, draw_menu, judge, page, render, Frame, MENU_ITEMS};
use super::picture::{blank_canvas, draw_patch, Patch, PatchError, HEIGHT, WIDTH};
use super::screen::{expected_screen, gamma0, write_ppm, xrgb, Projection};
use super::{check_menu, check_title, wad_path, write_expected_ppm, Directory, Kind, Wad};
use super::{Palette, WadError};
use crate::qmp::Image;
use proptest::prelude::*;
use std::sync::OnceLock;

/// A WAD of `lumps`, the directory after them.
fn build_wad(magic: &[u8; 4], lumps: &[(&str, &[u8])]) -> Vec<u8> {
    let mut data = magic.to_vec();
    data.extend_from_slice(&(lumps.len() as i32).to_le_bytes());
    data.extend_from_slice(&[0; 4]);
    let mut dir = Vec::new();
    for (name, bytes) in lumps {
        dir.extend_from_slice(&(data.len() as i32).to_le_bytes());
        dir.extend_from_slice(&(bytes.len() as i32).to_le_bytes());
        let mut padded = [0u8; 8];
        padded[..name.len()].copy_from_slice(name.as_bytes());
        dir.extend_from_slice(&padded);
        data.extend_from_slice(bytes);
    }
    let at = data.len() as i32;
    data[8..12].copy_from_slice(&at.to_le_bytes());
    data.extend_from_slice(&dir);
    data
}

/// A picture lump: `columns` of posts `(topdelta, pixels)`.
fn build_patch(height: i16, left: i16, top: i16, columns: &[&[(u8, &[u8])]]) -> Vec<u8> {
    let mut data = Vec::new();
    for v in [columns.len() as i16, height, left, top] {
        data.extend_from_slice(&v.to_le_bytes());
    }
    let mut body = Vec::new();
    let table = 8 + 4 * columns.len();
    for posts in columns {
        data.extend_from_slice(&((table + body.len()) as u32).to_le_bytes());
        for (topdelta, pixels) in *posts {
            body.extend_from_slice(&[*topdelta, pixels.len() as u8, 0]);
            body.extend_from_slice(pixels);
            body.push(0);
        }
        body.push(0xff);
    }
    data.extend_from_slice(&body);
    data
}

/// freedoom1.wad (or `$FERRITE_WAD`), loaded once; `None` if absent.
fn real_wad() -> Option<&'static Wad> {
    static WAD: OnceLock<Option<Wad>> = OnceLock::new();
    WAD.get_or_init(|| {
        let path = wad_path()?;
        Some(Wad::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    })
    .as_ref()
}

/// The real WAD, or a line saying why the test returns early.
macro_rules! need_wad {
    () => {
        match real_wad() {
            Some(w) => w,
            None => {
                println!("no WAD (install freedoom or set FERRITE_WAD): test skipped");
                return;
            }
        }
    };
}

#[test]
fn reads_a_directory_and_the_last_lump_of_a_name_wins() {
    let data = build_wad(
        b"PWAD",
        &[("FIRST", b"one"), ("E1M1", b""), ("first", b"two!")],
    );
    let wad = Wad::from_bytes(data).expect("parses");
    assert_eq!(wad.directory.kind, Kind::Pwad);
    assert_eq!(wad.directory.entries.len(), 3);
    assert_eq!(wad.directory.entries[0].name(), "FIRST");
    assert_eq!(wad.lump("FIRST").expect("found"), b"two!");
    assert_eq!(wad.lump("first").expect("found"), b"two!");
    assert_eq!(wad.lump("E1M1").expect("found"), b"");
    assert!(matches!(wad.lump("FIRS"), Err(WadError::Missing(_))));
    assert!(matches!(wad.lump("NONE"), Err(WadError::Missing(_))));
    assert!(!wad.is_commercial());
}

#[test]
fn an_eight_letter_name_has_no_nul() {
    let data = build_wad(b"IWAD", &[("M_OPTION", b"x"), ("TITLEPIC", b"y")]);
    let wad = Wad::from_bytes(data).expect("parses");
    assert_eq!(wad.directory.kind, Kind::Iwad);
    assert_eq!(wad.lump("M_OPTION").expect("found"), b"x");
    assert_eq!(wad.lump("TITLEPIC").expect("found"), b"y");
}

#[test]
fn refuses_corrupt_headers_and_directories() {
    let good = build_wad(b"IWAD", &[("A", b"abcd")]);
    assert!(matches!(
        Directory::parse(&good[..11]),
        Err(WadError::ShortHeader(11))
    ));
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(matches!(Directory::parse(&bad), Err(WadError::Magic(_))));
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&(-1i32).to_le_bytes());
    assert!(matches!(
        Directory::parse(&bad),
        Err(WadError::Negative { count: -1, .. })
    ));
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&2i32.to_le_bytes());
    assert!(matches!(
        Directory::parse(&bad),
        Err(WadError::Directory { count: 2, .. })
    ));
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&i32::MAX.to_le_bytes());
    assert!(matches!(
        Directory::parse(&bad),
        Err(WadError::Directory { .. })
    ));
    // The lump's size (directory entry bytes 4..8, directory at 16).
    let mut bad = good.clone();
    bad[20..24].copy_from_slice(&100i32.to_le_bytes());
    assert!(matches!(
        Directory::parse(&bad),
        Err(WadError::Lump { size: 100, .. })
    ));
    let mut bad = good;
    bad[16..20].copy_from_slice(&i32::MAX.to_le_bytes());
    assert!(matches!(Directory::parse(&bad), Err(WadError::Lump { .. })));
}

#[test]
fn parses_and_draws_a_patch_with_offsets_and_holes() {
    // 3 columns; the middle one has two posts with a hole between.
    let lump = build_patch(4, 1, 2, &[&[(0, &[1, 2])], &[(0, &[3]), (2, &[4, 5])], &[]]);
    let patch = Patch::parse(&lump).expect("parses");
    assert_eq!(
        (patch.width, patch.height, patch.left, patch.top),
        (3, 4, 1, 2)
    );
    let mut canvas = blank_canvas();
    canvas.fill(9);
    let mask = draw_patch(&mut canvas, &patch, 11, 12);
    // Top-left at (11 - 1, 12 - 2).
    let at = |x: usize, y: usize| canvas[y * WIDTH + x];
    assert_eq!((at(10, 10), at(10, 11), at(10, 12)), (1, 2, 9));
    assert_eq!(
        (at(11, 10), at(11, 11), at(11, 12), at(11, 13)),
        (3, 9, 4, 5)
    );
    assert_eq!(at(12, 10), 9);
    assert_eq!(mask.count(), 5);
    assert!(mask.covers(11, 13) && !mask.covers(11, 11) && !mask.covers(12, 10));
}

#[test]
fn a_patch_is_clipped_to_the_canvas() {
    let lump = build_patch(3, 0, 0, &[&[(0, &[7, 7, 7])], &[(0, &[8, 8, 8])]]);
    let patch = Patch::parse(&lump).expect("parses");
    let mut canvas = blank_canvas();
    let mask = draw_patch(&mut canvas, &patch, -1, -2);
    assert_eq!(mask.count(), 1);
    assert_eq!(canvas[0], 8);
    let mask = draw_patch(&mut canvas, &patch, WIDTH as i32 - 1, HEIGHT as i32 - 1);
    assert_eq!(mask.count(), 1);
    assert_eq!(canvas[WIDTH * HEIGHT - 1], 7);
    let mask = draw_patch(&mut canvas, &patch, i32::MIN, i32::MAX);
    assert_eq!(mask.count(), 0);
}

#[test]
fn refuses_corrupt_patches() {
    assert!(matches!(
        Patch::parse(&[0; 7]),
        Err(PatchError::Short { .. })
    ));
    let good = build_patch(2, 0, 0, &[&[(0, &[1, 2])]]);
    let mut bad = good.clone();
    bad[0..2].copy_from_slice(&(-1i16).to_le_bytes());
    assert!(matches!(Patch::parse(&bad), Err(PatchError::Size(-1, 2))));
    let mut bad = good.clone();
    bad[0..2].copy_from_slice(&100i16.to_le_bytes());
    assert!(matches!(
        Patch::parse(&bad),
        Err(PatchError::Short { needed: 408, .. })
    ));
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(Patch::parse(&bad), Err(PatchError::Column { .. })));
    // Without its 0xFF end the column runs off the lump.
    assert!(matches!(
        Patch::parse(&good[..good.len() - 1]),
        Err(PatchError::Post { .. })
    ));
}

#[test]
fn colours_follow_i_video_c() {
    // gammatable[0]: 0→1, 127→128, 128→128, 255→255.
    assert_eq!(
        [gamma0(0), gamma0(127), gamma0(128), gamma0(255)],
        [1, 128, 128, 255]
    );
    let mut rgb = [[0u8; 3]; 256];
    rgb[5] = [0x10, 0x80, 0xff];
    assert_eq!(xrgb(&Palette(rgb), 5), 0x0011_80ff);
    assert_eq!(xrgb(&Palette(rgb), 0), 0x0001_0101);
}

#[test]
fn the_frame_is_placed_as_the_window_system_does() {
    let p = Projection::new(1280, 800);
    assert_eq!(p.factor, 2);
    assert_eq!(p.canvas_pixel(0, 0), Some((0, 0)));
    assert_eq!(p.canvas_pixel(3, 3), Some((0, 0)));
    assert_eq!(p.canvas_pixel(4, 7), Some((1, 1)));
    assert_eq!(p.canvas_pixel(1279, 799), Some((319, 199)));
    // 1920x1080: the whole screen is the window; 2x, centred.
    let p = Projection::new(1920, 1080);
    assert_eq!(p.factor, 2);
    assert_eq!(p.canvas_pixel(319, 139), None);
    assert_eq!(p.canvas_pixel(320, 140), Some((0, 0)));
    assert_eq!(p.canvas_pixel(1599, 939), Some((319, 199)));
    assert_eq!(p.canvas_pixel(1600, 940), None);
    // Larger than the 2560x1600 window doom.exe asks for: 4x inside it.
    let p = Projection::new(3000, 2000);
    assert_eq!(p.factor, 4);
    assert_eq!(p.canvas_pixel(220, 200), Some((0, 0)));
    assert_eq!(p.canvas_pixel(219, 200), None);
    // Smaller than the frame: 1x, clipped at the right and bottom.
    let p = Projection::new(600, 300);
    assert_eq!(p.factor, 1);
    assert_eq!(p.canvas_pixel(599, 299), Some((299, 149)));
    assert_eq!(Projection::new(0, 0).canvas_pixel(0, 0), None);
}

#[test]
fn an_expected_screen_doubles_every_canvas_pixel_twice() {
    let mut canvas = blank_canvas();
    canvas[WIDTH + 1] = 3;
    let mut rgb = [[0u8; 3]; 256];
    rgb[3] = [200, 100, 50];
    let image = expected_screen(&canvas, &Palette(rgb), 1280, 800);
    // Canvas (1, 1) is screen (4..8, 4..8): 2x in the engine, 2x in the
    // window.
    for (x, y) in [(4, 4), (7, 4), (4, 7), (7, 7)] {
        assert_eq!(image.pixel(x, y), Some([200, 101, 51]), "({x}, {y})");
    }
    for (x, y) in [(3, 4), (8, 4), (4, 3), (4, 8)] {
        assert_eq!(image.pixel(x, y), Some([1, 1, 1]), "({x}, {y})");
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Directory::parse(&data);
        if let Ok(p) = Patch::parse(&data) {
            draw_patch(&mut blank_canvas(), &p, 0, 0);
        }
        let mut wad = b"PWAD".to_vec();
        wad.extend_from_slice(&data);
        let _ = Directory::parse(&wad);
    }

    #[test]
    fn corrupted_small_wads_never_panic(at in 0usize..64, byte in any::<u8>(), cut in 0usize..64) {
        let mut data = build_wad(b"IWAD", &[("A", b"abcd"), ("B", b""), ("C", b"xyz")]);
        let cut = cut.min(data.len() - 1);
        prop_assert!(Directory::parse(&data[..cut]).is_err());
        let at = at % data.len();
        data[at] = byte;
        let _ = Directory::parse(&data);
    }

    #[test]
    fn truncated_real_wads_and_patches_are_refused(cut in any::<prop::sample::Index>()) {
        let Some(wad) = real_wad() else {
            return Ok(());
        };
        let data = wad.bytes();
        // Every cut loses the directory (it is at the end), so each is an
        // error, and none panics.
        let at = cut.index(data.len());
        prop_assert!(Directory::parse(&data[..at]).is_err());
        prop_assert!(Directory::parse(&data[..at.min(4096)]).is_err());
        let title = wad.lump("TITLEPIC").expect("TITLEPIC");
        let _ = Patch::parse(&title[..cut.index(title.len())]);
    }
}

#[test]
fn the_menu_places_are_m_menu_c_s() {
    let wad = need_wad!();
    assert!(!wad.is_commercial());
    let mut canvas = blank_canvas();
    let mask = draw_menu(&mut canvas, wad, "M_SKULL1", 0).expect("draws");
    // M_DOOM is 159x37 with offsets (13, -16) in freedoom1: it lands at
    // (81, 18)..(240, 55).
    let logo = wad.patch("M_DOOM").expect("M_DOOM");
    let (x0, y0) = (94 - i32::from(logo.left), 2 - i32::from(logo.top));
    assert!((0..u32::from(logo.width))
        .any(|dx| mask.covers((x0 as u32 + dx) as usize, y0 as usize + 20)));
    // M_QUITG, the sixth item, starts at y 64 + 5 * 16 = 144.
    let quit = wad.patch("M_QUITG").expect("M_QUITG");
    let mut alone = blank_canvas();
    let q = draw_patch(&mut alone, &quit, 97, 144);
    assert!(q.count() > 0);
    let mut both = mask.clone();
    both.remove(&q);
    assert!(both.count() < mask.count(), "M_QUITG is in the menu mask");
    assert_eq!(MENU_ITEMS.len(), 6);
    // The skull's pixels are not compared.
    assert!(!(60..90).any(|x| (55..80).any(|y| mask.covers(x, y))));
}

fn title_and_screen(wad: &Wad, name: &str) -> Image {
    let canvas = page(wad, name).expect(name);
    expected_screen(&canvas, &wad.palette().expect("PLAYPAL"), 1280, 800)
}

/// `image` moved `dx`, `dy` screen pixels (black where it uncovers).
fn shifted(image: &Image, dx: i64, dy: i64) -> Image {
    let mut out = image.clone();
    for y in 0..image.height {
        for x in 0..image.width {
            let from = (i64::from(x) - dx, i64::from(y) - dy);
            out.pixels[(y * image.width + x) as usize] =
                match (u32::try_from(from.0), u32::try_from(from.1)) {
                    (Ok(fx), Ok(fy)) => image.pixel(fx, fy).unwrap_or([0; 3]),
                    _ => [0; 3],
                };
        }
    }
    out
}

#[test]
fn the_title_check_passes_on_titlepic_only() {
    let wad = need_wad!();
    let title = title_and_screen(wad, "TITLEPIC");
    let ok = judge(&title, wad, Frame::Title).expect("its own rendering passes");
    println!("{ok}");
    assert!(
        ok.starts_with("100.0% of 1024000 pixels match TITLEPIC"),
        "{ok}"
    );

    let black = Image {
        width: 1280,
        height: 800,
        pixels: vec![[0; 3]; 1280 * 800],
    };
    let e = judge(&black, wad, Frame::Title).expect_err("a black screen fails");
    println!("black: {e}");
    for other in ["CREDIT", "HELP1", "INTERPIC"] {
        let e = judge(&title_and_screen(wad, other), wad, Frame::Title)
            .expect_err("another picture fails");
        println!("{other}: {e}");
    }
    for (dx, dy) in [(1, 0), (0, 1), (-1, 0), (2, 0), (0, 2)] {
        let e =
            judge(&shifted(&title, dx, dy), wad, Frame::Title).expect_err("a shifted frame fails");
        println!("shifted ({dx}, {dy}): {e}");
    }
    // Colours without gamma row 0's +1 below 128 fail: the check is exact.
    let canvas = page(wad, "TITLEPIC").expect("TITLEPIC");
    let palette = wad.palette().expect("PLAYPAL");
    let mut raw = title.clone();
    for (i, p) in raw.pixels.iter_mut().enumerate() {
        let (x, y) = (i as u32 % 1280 / 4, i as u32 / 1280 / 4);
        *p = palette.0[usize::from(canvas[y as usize * WIDTH + x as usize])];
    }
    let e = judge(&raw, wad, Frame::Title).expect_err("no gamma fails");
    println!("without gamma: {e}");
    // A 1920x1080 screen: the frame is centred at 2x, black around it.
    let big = expected_screen(&canvas, &palette, 1920, 1080);
    assert!(judge(&big, wad, Frame::Title).is_ok());
    assert_eq!(big.pixel(0, 0), Some([0; 3]));
}

#[test]
fn the_menu_check_needs_the_menu() {
    let wad = need_wad!();
    let palette = wad.palette().expect("PLAYPAL");
    let (canvas, mask) = render(wad, Frame::Menu).expect("renders");
    let mask = mask.expect("the menu has a mask");
    let menu = expected_screen(&canvas, &palette, 1280, 800);
    let ok = judge(&menu, wad, Frame::Menu).expect("its own rendering passes");
    println!("{ok}");
    // 4x4 screen pixels per canvas pixel (2x in the engine, 2x more in
    // the window).
    assert_eq!(
        compare(&menu, &menu, Some(&mask)).compared,
        16 * mask.count()
    );

    // The other skull, and the menu over a different picture, still pass.
    let mut other = page(wad, "INTERPIC").expect("INTERPIC");
    draw_menu(&mut other, wad, "M_SKULL2", 0).expect("draws");
    let over = expected_screen(&other, &palette, 1280, 800);
    println!(
        "over INTERPIC: {}",
        judge(&over, wad, Frame::Menu).expect("passes")
    );

    let title = title_and_screen(wad, "TITLEPIC");
    let e = judge(&title, wad, Frame::Menu).expect_err("no menu fails");
    println!("TITLEPIC alone: {e}");
    let e = judge(&shifted(&menu, 2, 0), wad, Frame::Menu).expect_err("a shifted menu fails");
    println!("shifted (2, 0): {e}");
    // The menu a line lower (a Doom II-style layout) fails too.
    let e = judge(&shifted(&menu, 0, 16), wad, Frame::Menu).expect_err("a lower menu fails");
    println!("shifted (0, 16): {e}");
}

#[test]
fn the_file_checks_read_screendumps_and_leave_the_expected_image() {
    let wad = need_wad!();
    let Some(wad_file) = wad_path() else {
        return;
    };
    let dir = crate::images::scratch_dir().join("wad-unit");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let dump = dir.join("title.ppm");
    write_ppm(&dump, &title_and_screen(wad, "TITLEPIC")).expect("written");
    println!("{}", check_title(&dump, &wad_file).expect("passes"));
    let e = check_menu(&dump, &wad_file).expect_err("no menu");
    println!("{e}");
    let expected = write_expected_ppm(&dump, &wad_file, Frame::Menu).expect("written");
    assert_eq!(expected, dir.join("title.expected.ppm"));
    println!(
        "{}",
        check_menu(&expected, &wad_file).expect("the menu passes")
    );
    let missing = dir.join("none.ppm");
    assert!(check_title(&missing, &wad_file).is_err());
    assert!(check_title(&dump, &missing).is_err());
}

//! `make screenshot`: boots the ISO into DOOM, lets freedoom1's first demo
//! play for a while, and writes a screendump of it as a PNG (for the
//! README); then quits DOOM with Alt+F4.
//!
//! Usage: `screenshot <iso> <out.png>`.

use ferrite_tests::qemu::{self, Boot, Medium};
use ferrite_tests::qmp::{Action, Image, Step};
use std::path::PathBuf;
use std::time::Duration;

fn main() {
    if let Err(e) = run() {
        eprintln!("screenshot: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(iso), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: screenshot <iso> <out.png>".into());
    };
    let iso = PathBuf::from(iso);
    qemu::boot(&Boot {
        medium: Medium::Cdrom(&iso),
        timeout: Duration::from_secs(300),
        stop_on: None,
        name: "screenshot",
        extra_args: &[],
        script: SCRIPT,
    })?;
    let ppm = ferrite_tests::images::scratch_dir().join("screenshot.ppm");
    let image = Image::load(&ppm).map_err(|e| format!("{}: {e}", ppm.display()))?;
    let colours: std::collections::HashSet<[u8; 3]> = image.pixels.iter().copied().collect();
    if colours.len() < 32 {
        return Err(format!(
            "the screendump has only {} colours: DOOM is not on the screen",
            colours.len()
        ));
    }
    write_png(&image, &PathBuf::from(&out))?;
    println!("screenshot: {out} ({}x{})", image.width, image.height);
    Ok(())
}

/// The title page lasts about five seconds, then demo1 starts after its
/// screen melt: ten seconds in, the player is in E1M4.
const SCRIPT: &[Step<'static>] = &[Step {
    when: "doom: window title",
    actions: &[
        Action::Pause(Duration::from_secs(10)),
        Action::Screendump("screenshot.ppm"),
        Action::Keys(&["alt-f4"]),
    ],
}];

fn write_png(image: &Image, path: &PathBuf) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = image.pixels.iter().flatten().copied().collect();
    writer.write_image_data(&bytes).map_err(|e| e.to_string())
}

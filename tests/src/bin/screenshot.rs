//! `make screenshot`: boots the ISO, draws in paint.exe through QMP, and
//! writes the screendump as a PNG (for the README).
//!
//! Usage: `screenshot <iso> <out.png>`.

use ferrite_tests::qemu::{self, Boot, Medium};
use ferrite_tests::qmp::Image;
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
        script: ferrite_tests::paint_script!("screenshot.ppm"),
    })?;
    let ppm = ferrite_tests::images::scratch_dir().join("screenshot.ppm");
    let image = Image::load(&ppm).map_err(|e| format!("{}: {e}", ppm.display()))?;
    ferrite_tests::paint::strokes_visible(&image, 50)?;
    write_png(&image, &PathBuf::from(&out))?;
    println!("screenshot: {out} ({}x{})", image.width, image.height);
    Ok(())
}

fn write_png(image: &Image, path: &PathBuf) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = image.pixels.iter().flatten().copied().collect();
    writer.write_image_data(&bytes).map_err(|e| e.to_string())
}

//! The DOOM boots (M5): the milestone kernel with doom.exe, runtime.dll
//! and freedoom1.wad as modules, in the `test=doom` or `test=timedemo`
//! scenario.

use crate::images::{self, KernelFlavor, Volume};
use crate::qmp::script::{Action, Step};
use std::path::PathBuf;
use std::time::Duration;

/// The WAD's file name on the boot volume (doom.exe is given
/// `-iwad freedoom1.wad`).
pub const WAD_NAME: &str = "freedoom1.wad";

/// Where the title and menu screendumps go (in `target/test-runs`).
pub const TITLE_PPM: &str = "doom-title.ppm";
pub const MENU_PPM: &str = "doom-menu.ppm";

/// What the host does in the `test=doom` boot:
/// - on `STEP doom_title` (doom.exe has drawn its first frames): waits a
///   second for the title page to settle, takes the title screendump and
///   presses Escape (the kernel's `doom_takes_keys` waits for it);
/// - on `STEP doom_menu` (the engine took the keys): takes the menu
///   screendump and presses Alt+F4 (`doom_quits_on_close`).
pub const DOOM_SCRIPT: &[Step<'static>] = &[
    Step {
        when: "\nSTEP doom_title\r\n",
        actions: &[
            Action::Pause(Duration::from_millis(1000)),
            Action::Screendump(TITLE_PPM),
            Action::Keys(&["esc"]),
        ],
    },
    Step {
        when: "\nSTEP doom_menu\r\n",
        actions: &[Action::Screendump(MENU_PPM), Action::Keys(&["alt-f4"])],
    },
];

/// A WAD whose header promises 1000 lumps in a directory that runs past
/// the end of the file (the kernel's `doom_with_a_corrupt_wad_ends`).
pub fn corrupt_wad() -> Vec<u8> {
    let mut wad = b"IWAD".to_vec();
    wad.extend_from_slice(&1000u32.to_le_bytes());
    wad.extend_from_slice(&12u32.to_le_bytes());
    wad.resize(64, 0xa5);
    wad
}

/// Packs the DOOM boot volume for `scenario` ("doom" or "timedemo").
/// The data disk of boot `scenario`: a FAT32 volume labelled DATA with
/// freedoom1.wad in its root, as `make qemu`'s disk (tests/src/bin/mkdisk.rs)
/// has it; the kernel's `doom_reads_its_wad_from_disk` check loads the
/// WAD from it.
pub fn data_disk(scenario: &str) -> Result<PathBuf, String> {
    let wad = crate::wad::wad_path().ok_or_else(|| format!("{WAD_NAME} not found"))?;
    let image = images::scratch_dir().join(format!("{scenario}-data.img"));
    let _ = std::fs::remove_file(&image);
    let files = [crate::fat::VolumeFile::from_disk(WAD_NAME, &wad).map_err(|e| e.to_string())?];
    crate::fat::write_labelled_volume(&image, &files, "DATA", 0)
        .map_err(|e| format!("{}: {e}", image.display()))?;
    Ok(image)
}

pub fn build_image(scenario: &str) -> Result<PathBuf, String> {
    let wad = crate::wad::wad_path().ok_or_else(|| {
        format!(
            "{WAD_NAME} not found (Debian's freedoom package: run `make deps`, or set FERRITE_WAD)"
        )
    })?;
    let kernel = images::build_kernel(KernelFlavor::Milestones)?;
    let loader = images::build_loader()?;
    let user = images::build_user()?;
    let doom = images::build_doom()?;
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let (volume, modules) = Volume::new(&loader, &kernel, "")?.with_modules([
        ("runtime.dll".to_string(), read(&user.runtime_dll)?),
        ("doom.exe".to_string(), read(&doom)?),
        (WAD_NAME.to_string(), read(&wad)?),
        ("corrupt.wad".to_string(), corrupt_wad()),
    ]);
    let refs: Vec<(&str, &str)> = modules
        .iter()
        .map(|(p, n)| (p.as_str(), n.as_str()))
        .collect();
    let config = images::limine_conf(&format!("test={scenario}"), &refs);
    let image = images::scratch_dir().join(format!("{scenario}.img"));
    volume.with_file("limine.conf", config).write(&image)?;
    Ok(image)
}

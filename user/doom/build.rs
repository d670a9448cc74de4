//! Builds doom.exe: doomgeneric's C engine, compiled to COFF objects by
//! mingw-w64's gcc (Debian's `gcc-mingw-w64-x86-64-win32`: GCC 12, the
//! version that builds the Linux peer of the DOOM benchmark) against
//! runtime.dll's C headers alone, linked with the Rust platform layer as a
//! Ferrite program (see `../program-build.rs`).
//!
//! The C sources come from the `doomgeneric` crate (a build-dependency, so
//! cargo fetches and unpacks it): the engine files of its
//! `doomgeneric/doomgeneric` directory, without the other platforms'
//! backends. `FERRITE_DOOMGENERIC_DIR` may name that directory instead.
use std::path::{Path, PathBuf};

/// The crate the C sources come from.
const CRATE: &str = "doomgeneric-0.3.0";
/// The C compiler: mingw-w64's gcc, which emits COFF for the Windows ABI.
const CC: &str = "x86_64-w64-mingw32-gcc";
/// The frame size (the engine's 320×200 at 2×).
const RES: (&str, &str) = ("640", "400");

fn main() {
    println!("cargo:rerun-if-env-changed=FERRITE_DOOMGENERIC_DIR");
    println!("cargo:rerun-if-changed=../../runtime-dll/include");
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("msvc") {
        // A host `cargo clippy --workspace` only type-checks the Rust side.
        return;
    }
    for arg in [
        "/ENTRY:InitProcess",
        "/SUBSYSTEM:CONSOLE",
        "/EXPORT:InitThread",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    let dir = match std::env::var_os("FERRITE_DOOMGENERIC_DIR") {
        Some(d) => PathBuf::from(d),
        None => find_sources().unwrap_or_else(|e| panic!("doom.exe: {e}")),
    };
    let files = engine_files(&dir).unwrap_or_else(|e| panic!("doom.exe: {e}"));
    if std::process::Command::new(CC)
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("doom.exe: {CC} not found: install Debian's gcc-mingw-w64-x86-64-win32 (make deps)");
    }
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runtime-dll/include");
    let mut build = cc::Build::new();
    build
        .compiler(CC)
        .archiver("llvm-lib")
        // Globals by direct RIP-relative address: the default medium model
        // reaches every extern variable through a `.refptr` pointer (an
        // extra load), which only data imported from a DLL would need.
        .flag("-mcmodel=small")
        // Hosted, not -ffreestanding: the compiler may then treat abs,
        // fabs, memcpy and memset as the builtins they are (inline abs in
        // FixedDiv, small fixed-size copies) instead of calling them. No
        // header but runtime.dll's, which include their own stdarg.h,
        // stddef.h, stdint.h, stdbool.h and limits.h.
        .flag("-nostdinc")
        .flag("-isystem")
        .flag(include.to_str().expect("a UTF-8 path"))
        // Not Windows: _WIN32 sends the engine to windows.h and MessageBox.
        .flag("-U_WIN32")
        .flag("-U_WIN64")
        // The engine is old C: its warnings are not ours to fix.
        .flag("-w")
        // As the Linux peer's gcc -O2 builds it: optimised, no frame
        // pointer (cc asks for one by default when debug info is on).
        .opt_level(2)
        .flag("-fomit-frame-pointer")
        .define("DOOMGENERIC_RESX", RES.0)
        .define("DOOMGENERIC_RESY", RES.1)
        .files(&files);
    build.compile("doomgeneric");
}

/// The engine's directory inside the unpacked `doomgeneric` crate in
/// cargo's registry.
fn find_sources() -> Result<PathBuf, String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let registry = home.join("registry").join("src");
    let entries = std::fs::read_dir(&registry)
        .map_err(|e| format!("cannot read {}: {e}", registry.display()))?;
    entries
        .flatten()
        .map(|index| index.path().join(CRATE).join("doomgeneric").join("doomgeneric"))
        .find(|d| d.join("doomgeneric.h").is_file())
        .ok_or_else(|| {
            format!(
                "{CRATE} is not unpacked under {} (cargo fetches it as a build-dependency; or set FERRITE_DOOMGENERIC_DIR)",
                registry.display()
            )
        })
}

/// The engine's C files: all but the other platforms' backends and mains.
fn engine_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".c")
                && !name.starts_with("doomgeneric_")
                && !name.contains("_allegro")
                && !name.contains("_sdl")
                && !["i_main.c", "doomdef.c", "icon.c"].contains(&name)
        })
        .collect();
    files.sort();
    if files.len() < 80 {
        return Err(format!(
            "{} holds {} engine files, not the 81 of {CRATE}",
            dir.display(),
            files.len()
        ));
    }
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    Ok(files)
}

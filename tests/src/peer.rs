//! The benchmark peer: Linux 6.1 (Debian's kernel) with a one-program
//! initramfs that prints the same BOOT and BENCH lines as Ferrite; and the
//! DOOM peer, whose `/init` plays the same timedemo as Ferrite's doom.exe.

use crate::workspace_root;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bench_dir() -> PathBuf {
    let dir = workspace_root().join("target").join("bench");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Debian's Linux kernel (`$FERRITE_LINUX_KERNEL`, or the package that
/// `linux-image-amd64` depends on, downloaded with apt and unpacked under
/// `target/bench/linux`; nothing is installed on the machine).
pub fn linux_kernel() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("FERRITE_LINUX_KERNEL") {
        return Ok(path.into());
    }
    let unpacked = bench_dir().join("linux");
    let find = |dir: &Path| -> Option<PathBuf> {
        std::fs::read_dir(dir.join("boot"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
            })
    };
    if let Some(found) = find(&unpacked) {
        return Ok(found);
    }
    let depends = run(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    let package = depends
        .lines()
        .find_map(|l| l.trim().strip_prefix("Depends: linux-image-"))
        .map(|rest| format!("linux-image-{rest}"))
        .ok_or("apt-cache knows no linux-image-amd64 (run apt-get update)")?;
    let download = |dir: &Path| {
        run(Command::new("apt-get")
            .args(["download", &package])
            .current_dir(dir))
    };
    let dir = bench_dir();
    if download(&dir).is_err() {
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        download(&dir)?;
    }
    let deb = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&package))
        })
        .ok_or_else(|| format!("apt-get download left no {package} package"))?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked))?;
    find(&unpacked).ok_or_else(|| format!("{} holds no boot/vmlinuz-*", deb.display()))
}

/// One entry of a newc cpio archive.
pub struct CpioEntry<'a> {
    /// Path inside the archive (no leading `/`).
    pub name: &'a str,
    /// st_mode (type and permission bits).
    pub mode: u32,
    /// Device number (major, minor) for device nodes.
    pub rdev: (u32, u32),
    /// File contents.
    pub data: &'a [u8],
}

/// A newc ("070701") cpio archive, as the Linux initramfs unpacker reads it
/// (Documentation/driver-api/early-userspace/buffer-format.rst).
pub fn cpio_newc(entries: &[CpioEntry<'_>]) -> Vec<u8> {
    fn pad(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let mut out = Vec::new();
    let trailer = CpioEntry {
        name: "TRAILER!!!",
        mode: 0,
        rdev: (0, 0),
        data: &[],
    };
    for (ino, e) in entries.iter().chain(std::iter::once(&trailer)).enumerate() {
        let fields = [
            ino as u32 + 1,
            e.mode,
            0,
            0,
            1,
            0,
            e.data.len() as u32,
            0,
            0,
            e.rdev.0,
            e.rdev.1,
            e.name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(e.name.as_bytes());
        out.push(0);
        pad(&mut out);
        out.extend_from_slice(e.data);
        pad(&mut out);
    }
    out
}

/// The peer's C sources under `bench/linux/`, linked into `/init`.
const PEER_SOURCES: &[&str] = &[
    "peer.c",
    "switch.c",
    "process.c",
    "memory.c",
    "smp.c",
    "devices.c",
];

/// The modules `devices.c` loads (from the unpacked kernel package).
const PEER_MODULES: &[&str] = &[
    "virtio.ko",
    "virtio_ring.ko",
    "virtio_pci_legacy_dev.ko",
    "virtio_pci_modern_dev.ko",
    "virtio_pci.ko",
    "virtio_blk.ko",
    "failover.ko",
    "net_failover.ko",
    "virtio_net.ko",
    "fat.ko",
    "vfat.ko",
    "nls_cp437.ko",
    "nls_iso8859-1.ko",
    "nls_ascii.ko",
];

/// `name`'s file under the unpacked kernel package's `lib/modules`.
fn find_module(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_module(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

/// The modules of [`PEER_MODULES`], by name (those the kernel package
/// has: with a kernel of its own, `FERRITE_LINUX_KERNEL`, the device
/// benchmarks report what is missing and are skipped).
fn peer_modules() -> Vec<(String, Vec<u8>)> {
    let root = bench_dir().join("linux/lib/modules");
    PEER_MODULES
        .iter()
        .filter_map(|name| {
            let path = find_module(&root, name)?;
            Some((format!("lib/modules/{name}"), std::fs::read(path).ok()?))
        })
        .collect()
}

/// Compiles the peer (`bench/linux/*.c`) statically as `/init`, and
/// `exit0.c` without a C runtime as `/bin/exit0` (the program `spawn_exec`
/// runs), and packs both, with `/dev/console`, into
/// `target/bench/peer.cpio`.
pub fn initramfs() -> Result<PathBuf, String> {
    let dir = bench_dir();
    let sources = workspace_root().join("bench/linux");
    let init = dir.join("peer-init");
    run(Command::new("gcc")
        .args(["-static", "-O2", "-pthread", "-o"])
        .arg(&init)
        .args(PEER_SOURCES.iter().map(|s| sources.join(s))))?;
    let exit0 = dir.join("peer-exit0");
    run(Command::new("gcc")
        .args(["-static", "-nostdlib", "-O2", "-fno-stack-protector", "-o"])
        .arg(&exit0)
        .arg(sources.join("exit0.c")))?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let (init, exit0) = (read(&init)?, read(&exit0)?);
    let dir_entry = |name| CpioEntry {
        name,
        mode: 0o040_755,
        rdev: (0, 0),
        data: &[],
    };
    // The modules come from the kernel package: unpack it first (on a
    // fresh machine the initramfs is built before the kernel is fetched).
    linux_kernel()?;
    let modules = peer_modules();
    let mut entries = vec![
        dir_entry("dev"),
        CpioEntry {
            name: "dev/console",
            mode: 0o020_600,
            rdev: (5, 1),
            data: &[],
        },
        dir_entry("bin"),
        CpioEntry {
            name: "bin/exit0",
            mode: 0o100_755,
            rdev: (0, 0),
            data: &exit0,
        },
        CpioEntry {
            name: "init",
            mode: 0o100_755,
            rdev: (0, 0),
            data: &init,
        },
        dir_entry("lib"),
        dir_entry("lib/modules"),
    ];
    entries.extend(modules.iter().map(|(name, data)| CpioEntry {
        name,
        mode: 0o100_644,
        rdev: (0, 0),
        data,
    }));
    let archive = cpio_newc(&entries);
    let path = dir.join("peer.cpio");
    std::fs::write(&path, archive).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The crate whose C files are the DOOM engine (GPL-2.0-only: they are
/// compiled, never committed; `docs/benchmarks.md`, id 19).
const DOOMGENERIC: &str = "doomgeneric";
const DOOMGENERIC_VERSION: &str = "0.3.0";

/// Debian's `freedoom` package puts the WAD here.
const FREEDOOM1_WAD: &str = "/usr/share/games/doom/freedoom1.wad";

/// Whether `name` is one of the engine files the `doomgeneric` crate's own
/// `build.rs` compiles: every `.c` except the `doomgeneric_*` backends,
/// the Allegro and SDL files, `i_main.c`, `doomdef.c` and `icon.c` (81 of
/// the 95 in 0.3.0).
pub fn is_engine_source(name: &str) -> bool {
    name.ends_with(".c")
        && !name.starts_with("doomgeneric_")
        && !name.contains("_allegro")
        && !name.contains("_sdl")
        && !["i_main.c", "doomdef.c", "icon.c"].contains(&name)
}

/// Every value of the string member `key` anywhere in JSON text `json`
/// (enough for `cargo metadata`'s `manifest_path`s; escapes undone).
fn json_strings(json: &str, key: &str) -> Vec<String> {
    let needle = format!("\"{key}\":\"");
    let mut out = Vec::new();
    for (at, _) in json.match_indices(&needle) {
        let mut value = String::new();
        let mut chars = json[at + needle.len()..].chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    out.push(value);
                    break;
                }
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => break,
                },
                c => value.push(c),
            }
        }
    }
    out
}

/// The `doomgeneric` package's directory, from `cargo metadata` JSON: the
/// `manifest_path` whose directory is `doomgeneric-<version>`.
fn doomgeneric_dir_in(metadata: &str) -> Option<PathBuf> {
    let dir_name = format!("{DOOMGENERIC}-{DOOMGENERIC_VERSION}");
    json_strings(metadata, "manifest_path")
        .into_iter()
        .map(PathBuf::from)
        .find(|p| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n.to_string_lossy() == dir_name)
        })
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

/// The directory of the engine's C files (`doomgeneric/doomgeneric/` in
/// the crate): `$FERRITE_DOOMGENERIC_SRC` if set, else the crate as cargo
/// downloads it into its registry. A throwaway package under
/// `target/bench/doomgeneric-fetch` depends on `doomgeneric = "=0.3.0"`;
/// `cargo metadata` on it (offline first, then with the network) fetches
/// and unpacks the crate and names its manifest.
pub fn doomgeneric_sources() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("FERRITE_DOOMGENERIC_SRC") {
        return Ok(dir.into());
    }
    let dir = bench_dir().join("doomgeneric-fetch");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let manifest = dir.join("Cargo.toml");
    let text = format!(
        "# Written by tests/src/peer.rs: only fetches the doomgeneric crate's C files.\n\
         [package]\nname = \"ferrite-doom-sources\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[lib]\npath = \"lib.rs\"\n\n[dependencies]\n\
         {DOOMGENERIC} = \"={DOOMGENERIC_VERSION}\"\n\n\
         # Its own workspace, not part of Ferrite's.\n[workspace]\n"
    );
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&manifest, &text)?;
    write(&dir.join("lib.rs"), "")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let metadata = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(&manifest);
        if offline {
            cmd.arg("--offline");
        }
        run(&mut cmd)
    };
    let json = metadata(true).or_else(|_| metadata(false))?;
    let crate_dir = doomgeneric_dir_in(&json).ok_or_else(|| {
        format!(
            "cargo metadata for {} names no {DOOMGENERIC}-{DOOMGENERIC_VERSION}",
            manifest.display()
        )
    })?;
    let sources = crate_dir.join("doomgeneric").join("doomgeneric");
    if sources.join("doomgeneric.h").is_file() {
        Ok(sources)
    } else {
        Err(format!("{} holds no doomgeneric.h", sources.display()))
    }
}

/// Builds `/init` for the DOOM peer when it is out of date: the engine's
/// files (see [`is_engine_source`]) and `bench/linux/doom_fb.c`, with
/// `gcc -static -O2 -w -DDOOMGENERIC_RESX=640 -DDOOMGENERIC_RESY=400`.
fn doom_init(dir: &Path) -> Result<PathBuf, String> {
    let sources = doomgeneric_sources()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&sources)
        .map_err(|e| format!("{}: {e}", sources.display()))?
        .flatten()
        .filter(|e| is_engine_source(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    if files.is_empty() {
        return Err(format!("{} holds no engine sources", sources.display()));
    }
    files.sort();
    let backend = workspace_root().join("bench/linux/doom_fb.c");
    files.push(backend.clone());
    let init = dir.join("doom-init");
    let mut args: Vec<String> = [
        "-static",
        "-O2",
        "-w",
        "-DDOOMGENERIC_RESX=640",
        "-DDOOMGENERIC_RESY=400",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("-I{}", sources.display()));
    args.push("-o".into());
    args.push(init.display().to_string());
    args.extend(files.iter().map(|f| f.display().to_string()));
    // The command line it was built with, to rebuild when it changes.
    let stamp = dir.join("doom-init.cmd");
    let command = args.join("\n");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = std::fs::read_to_string(&stamp).is_ok_and(|s| s == command)
        && matches!((modified(&init), modified(&backend)), (Some(a), Some(b)) if a >= b);
    if !fresh {
        run(Command::new("gcc").args(&args))?;
        std::fs::write(&stamp, &command).map_err(|e| e.to_string())?;
    }
    Ok(init)
}

/// The WAD the DOOM peer plays: `$FERRITE_DOOM_WAD`, else Debian's
/// freedoom1.wad.
pub fn freedoom1_wad() -> Result<PathBuf, String> {
    let path = std::env::var("FERRITE_DOOM_WAD").unwrap_or_else(|_| FREEDOOM1_WAD.into());
    let path = PathBuf::from(path);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: install Debian's freedoom package (`apt-get install freedoom`) or set FERRITE_DOOM_WAD",
            path.display()
        ))
    }
}

/// The DOOM peer's initramfs, `target/bench/doom.cpio`: `/init` built from
/// the doomgeneric crate's C files and `bench/linux/doom_fb.c`, the WAD as
/// `/freedoom1.wad`, and `/dev/console`.
pub fn doom_initramfs() -> Result<PathBuf, String> {
    let dir = bench_dir();
    let init = doom_init(&dir)?;
    let wad = freedoom1_wad()?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let (init, wad) = (read(&init)?, read(&wad)?);
    let file = |name, data| CpioEntry {
        name,
        mode: 0o100_755,
        rdev: (0, 0),
        data,
    };
    let archive = cpio_newc(&[
        CpioEntry {
            name: "dev",
            mode: 0o040_755,
            rdev: (0, 0),
            data: &[],
        },
        CpioEntry {
            name: "dev/console",
            mode: 0o020_600,
            rdev: (5, 1),
            data: &[],
        },
        file("init", &init),
        file("freedoom1.wad", &wad),
    ]);
    let path = dir.join("doom.cpio");
    std::fs::write(&path, archive).map_err(|e| e.to_string())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_entries_are_aligned_and_terminated() {
        let a = cpio_newc(&[CpioEntry {
            name: "init",
            mode: 0o100_755,
            rdev: (0, 0),
            data: b"abc",
        }]);
        assert!(a.starts_with(b"070701"));
        assert_eq!(a.len() % 4, 0);
        // Header (110) + "init\0" padded to 116, then 3 data bytes padded.
        assert_eq!(&a[110..115], b"init\0");
        assert_eq!(&a[116..119], b"abc");
        assert_eq!(&a[120..126], b"070701");
        let trailer = &a[120..];
        assert!(trailer.windows(11).any(|w| w == b"TRAILER!!!\0"));
        // The file size field of the first entry (7th field) is 3.
        assert_eq!(&a[6 + 6 * 8..6 + 7 * 8], b"00000003");
    }

    #[test]
    fn engine_sources_follow_the_crates_build_script() {
        for yes in ["d_main.c", "i_video.c", "doomgeneric.c", "w_wad.c"] {
            assert!(is_engine_source(yes), "{yes}");
        }
        for no in [
            "doomgeneric_xlib.c",
            "doomgeneric_sdl.c",
            "i_allegrosound.c",
            "i_sdlmusic.c",
            "i_main.c",
            "doomdef.c",
            "icon.c",
            "doomgeneric.h",
        ] {
            assert!(!is_engine_source(no), "{no}");
        }
    }

    #[test]
    fn the_crate_dir_comes_from_cargo_metadata() {
        let json = r#"{"packages":[{"name":"cc","manifest_path":"/r/cc-1.2.0/Cargo.toml"},
            {"name":"doomgeneric","version":"0.3.0","manifest_path":"/r/src/idx/doomgeneric-0.3.0/Cargo.toml"},
            {"name":"x","manifest_path":"/w/a \"q\" b/Cargo.toml"}]}"#;
        assert_eq!(
            doomgeneric_dir_in(json),
            Some(PathBuf::from("/r/src/idx/doomgeneric-0.3.0"))
        );
        assert_eq!(
            json_strings(json, "manifest_path")[2],
            "/w/a \"q\" b/Cargo.toml"
        );
        assert_eq!(doomgeneric_dir_in(r#"{"packages":[]}"#), None);
    }
}

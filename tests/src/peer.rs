//! The benchmark peer: Linux 6.1 (Debian's kernel) with a one-program
//! initramfs that prints the same BOOT and BENCH lines as Ferrite.

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
const PEER_SOURCES: &[&str] = &["peer.c", "switch.c", "process.c", "memory.c", "smp.c"];

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
    let archive = cpio_newc(&[
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
    ]);
    let path = dir.join("peer.cpio");
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
}

//! Builds the kernel and the loader with cargo and packs boot volumes.

use crate::fat::{self, VolumeFile};
use crate::workspace_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which kernel to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelFlavor {
    /// The kernel `make iso` ships.
    Plain,
    /// The milestone test kernel (`--features milestones`).
    Milestones,
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn run_cargo(args: &[&str], target_dir: &Path) -> Result<(), String> {
    let root = workspace_root();
    let status = Command::new(cargo())
        .args(args)
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed with {status}", args.join(" ")))
    }
}

/// Builds the kernel (release profile) and returns the ELF's path.
///
/// Each flavor has its own target directory, so switching between them
/// never rebuilds the other.
pub fn build_kernel(flavor: KernelFlavor) -> Result<PathBuf, String> {
    let (dir, features): (&str, &[&str]) = match flavor {
        KernelFlavor::Plain => ("kernel", &[]),
        KernelFlavor::Milestones => ("milestones", &["--features", "milestones"]),
    };
    let target_dir = workspace_root().join("target").join(dir);
    let mut args = vec![
        "build",
        "-p",
        "ferrite-kernel",
        "--target",
        "x86_64-unknown-none",
        "--release",
    ];
    args.extend_from_slice(features);
    run_cargo(&args, &target_dir)?;
    Ok(target_dir.join("x86_64-unknown-none/release/ferrite-kernel"))
}

/// Builds our UEFI loader and returns the `.efi` path.
pub fn build_loader() -> Result<PathBuf, String> {
    let target_dir = workspace_root().join("target").join("loader");
    run_cargo(
        &[
            "build",
            "-p",
            "ferrite-loader",
            "--target",
            "x86_64-unknown-uefi",
            "--release",
        ],
        &target_dir,
    )?;
    Ok(target_dir.join("x86_64-unknown-uefi/release/ferrite-loader.efi"))
}

/// The ring-3 PE images of milestone M2 (see the README, "Adding a user
/// program").
#[derive(Clone, Debug)]
pub struct UserImages {
    /// `runtime.dll`.
    pub runtime_dll: PathBuf,
    /// `hello.exe`.
    pub hello: PathBuf,
    /// `m2-tests.exe`.
    pub m2_tests: PathBuf,
    /// `faults.exe` (loaded under the `fault-*.exe` names).
    pub faults: PathBuf,
    /// `m3-tests.exe`.
    pub m3_tests: PathBuf,
    /// `exit0.exe`.
    pub exit0: PathBuf,
    /// `m4-tests.exe`.
    pub m4_tests: PathBuf,
    /// `fuzz.exe` (the `test=fuzz` scenario).
    pub fuzz: PathBuf,
    /// `echo.exe` (the M6 network checks).
    pub echo: PathBuf,
}

/// Builds runtime.dll and the user programs (PE32+, release) with
/// `CARGO_TARGET_DIR=target/user cargo build --release --target
/// x86_64-pc-windows-msvc -p runtime-dll -p hello -p m2-tests -p faults -p m3-tests -p exit0 -p m4-tests -p fuzz -p echo`
/// and returns their paths.
pub fn build_user() -> Result<UserImages, String> {
    let out = build_user_packages(&[
        "runtime-dll",
        "hello",
        "m2-tests",
        "faults",
        "m3-tests",
        "exit0",
        "m4-tests",
        "fuzz",
        "echo",
    ])?;
    Ok(UserImages {
        runtime_dll: out.join("runtime.dll"),
        hello: out.join("hello.exe"),
        m2_tests: out.join("m2-tests.exe"),
        faults: out.join("faults.exe"),
        m3_tests: out.join("m3-tests.exe"),
        exit0: out.join("exit0.exe"),
        m4_tests: out.join("m4-tests.exe"),
        fuzz: out.join("fuzz.exe"),
        echo: out.join("echo.exe"),
    })
}

/// Builds runtime.dll and doom.exe (release; the engine's C files are
/// compiled by mingw-w64's gcc, see user/doom/build.rs) and returns doom.exe's path.
pub fn build_doom() -> Result<PathBuf, String> {
    Ok(build_user_packages(&["runtime-dll", "doom"])?.join("doom.exe"))
}

/// Builds the user `packages` (PE32+, release) in `target/user`; returns
/// the folder the images land in.
fn build_user_packages(packages: &[&str]) -> Result<PathBuf, String> {
    let target_dir = workspace_root().join("target").join("user");
    let mut args = vec!["build", "--release", "--target", "x86_64-pc-windows-msvc"];
    for p in packages {
        args.extend(["-p", p]);
    }
    run_cargo(&args, &target_dir)?;
    Ok(target_dir.join("x86_64-pc-windows-msvc/release"))
}

/// A boot volume under construction: loader, config, kernel, modules.
pub struct Volume {
    files: Vec<VolumeFile>,
}

impl Volume {
    /// A volume that boots `kernel` through our loader with `config` as its
    /// `limine.conf`.
    pub fn new(loader: &Path, kernel: &Path, config: &str) -> Result<Self, String> {
        let files = vec![
            VolumeFile::from_disk("EFI/BOOT/BOOTX64.EFI", loader).map_err(|e| e.to_string())?,
            VolumeFile::from_disk("boot/kernel.elf", kernel).map_err(|e| e.to_string())?,
            VolumeFile::new("limine.conf", config.as_bytes()),
        ];
        Ok(Self { files })
    }

    /// Adds (or replaces) a file.
    pub fn with_file(mut self, path: &str, data: impl Into<Vec<u8>>) -> Self {
        self.files.retain(|f| f.path != path);
        self.files.push(VolumeFile::new(path, data));
        self
    }

    /// Adds each (name, contents) as `boot/<name>` and returns the
    /// (volume path, module string) pairs for [`limine_conf`], in order.
    pub fn with_modules(
        mut self,
        modules: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> (Self, Vec<(String, String)>) {
        let mut listed = Vec::new();
        for (name, data) in modules {
            let path = format!("boot/{name}");
            self = self.with_file(&path, data);
            listed.push((path, name));
        }
        (self, listed)
    }

    /// Removes a file (to test what the loader says when it is missing).
    pub fn without_file(mut self, path: &str) -> Self {
        self.files.retain(|f| f.path != path);
        self
    }

    /// Writes the FAT image.
    pub fn write(&self, image: &Path) -> Result<(), String> {
        fat::write_volume(image, &self.files).map_err(|e| format!("{}: {e}", image.display()))
    }
}

/// A `limine.conf` with one entry booting `/boot/kernel.elf` with `cmdline`
/// and the given (volume path, string) modules.
pub fn limine_conf(cmdline: &str, modules: &[(&str, &str)]) -> String {
    let mut s = String::from("timeout: 0\nserial: yes\n\n/Ferrite\n    protocol: limine\n");
    s.push_str("    kernel_path: boot():/boot/kernel.elf\n");
    s.push_str(&format!("    cmdline: {cmdline}\n"));
    for (path, string) in modules {
        s.push_str(&format!("    module_path: boot():/{path}\n"));
        s.push_str(&format!("    module_cmdline: {string}\n"));
    }
    s
}

/// Scratch directory for images and logs of the test runs.
pub fn scratch_dir() -> PathBuf {
    let dir = workspace_root().join("target").join("test-runs");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Replaces every occurrence of `from` by `to` (same length) in `bytes`;
/// returns how many were replaced.
pub fn patch_bytes(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len(), "patches keep the file layout");
    let mut count = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    count
}

//! Builds the real ring-3 images once per test binary and reads them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// runtime.dll, hello.exe and m2-tests.exe as the workspace builds them.
pub struct UserImages {
    pub runtime: Vec<u8>,
    pub hello: Vec<u8>,
    pub m2_tests: Vec<u8>,
}

impl UserImages {
    /// The file named `name` (ASCII case-insensitive), as a kernel would
    /// look it up.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        match name.to_ascii_lowercase().as_str() {
            "runtime.dll" => Some(&self.runtime),
            "hello.exe" => Some(&self.hello),
            "m2-tests.exe" => Some(&self.m2_tests),
            _ => None,
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the documented build command (with `$CARGO` and
/// `CARGO_TARGET_DIR=<workspace>/target/user`) and reads the outputs.
pub fn user_images() -> &'static UserImages {
    static IMAGES: OnceLock<UserImages> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let root = workspace();
        let target = root.join("target/user");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--release", "--target", "x86_64-pc-windows-msvc"])
            .args(["-p", "runtime-dll", "-p", "hello", "-p", "m2-tests"])
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the user images failed");
        let dir = target.join("x86_64-pc-windows-msvc/release");
        let read = |name: &str| {
            std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
        };
        UserImages {
            runtime: read("runtime.dll"),
            hello: read("hello.exe"),
            m2_tests: read("m2-tests.exe"),
        }
    })
}

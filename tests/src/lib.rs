//! Host-side milestone runner: builds boot images, boots them in QEMU on
//! OVMF, and judges the serial transcript.
//!
//! The integration tests in `tests/` use it; so does the `mkimage` binary
//! that `make iso` calls to pack the EFI boot volume.

pub mod call_stack;
pub mod disk;
pub mod doom;
pub mod doom_timing;
pub mod echo;
pub mod expected;
pub mod fat;
pub mod images;
#[cfg(test)]
mod judge_tests;
pub mod paint;
pub mod pattern;
pub mod peer;
pub mod qemu;
pub mod qmp;
pub mod suite;
pub mod transcript;
pub mod wad;

use std::path::PathBuf;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

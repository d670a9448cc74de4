//! The `<stdio.h>` stream engine: `FILE` slots over a backend.
//!
//! Pure logic, no pointers: runtime.dll puts a [`Files`] table behind a
//! lock and implements [`Backend`] with the kernel's boot-file calls and
//! its debug console; the host tests use a fake.
//!
//! - Streams are [`Stream`] ids into a fixed table of [`SLOTS`] (stdin,
//!   stdout, stderr and [`FOPEN_MAX`] more), each with its own
//!   [`BUFFER_SIZE`] read buffer; no allocation. An id carries its slot's
//!   generation, so a closed or forged id is `EBADF`, never another
//!   stream.
//! - Files are read-only ([`Mode::check_read_only`]); C paths map to the
//!   flat boot-file namespace by [`boot_name`].
//! - [`errno`] holds the MSVC-numbered error codes the engine returns.
//! - [`AtExit`] is the `atexit` table `exit` runs.
#![forbid(unsafe_code)]

pub mod errno;
mod exit;
mod mode;
mod table;

pub use exit::{AtExit, ATEXIT_MAX};
pub use mode::{boot_name, Mode};
pub use table::{
    Backend, Console, Files, Stream, Whence, BUFFER_SIZE, FOPEN_MAX, SLOTS, STREAM_IDS,
};

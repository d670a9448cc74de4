//! The `<stdio.h>` stream engine: `FILE` slots over a backend.
//!
//! Pure logic, no pointers: runtime.dll puts a [`Files`] table behind a
//! lock and implements [`Backend`] with the kernel's boot-file calls and
//! its debug console; the host tests use a fake.
//!
//! - Streams are [`Stream`] ids into a fixed table of [`SLOTS`] (stdin,
//!   stdout, stderr and [`FOPEN_MAX`] more), each with its own
//!   [`BUFFER_SIZE`] buffer; no allocation. An id carries its slot's
//!   generation, so a closed or forged id is `EBADF`, never another
//!   stream.
//! - C paths map to the kernel's names by [`boot_name`]: a path under
//!   `/disk/` whole, any other to the flat, read-only boot-file namespace
//!   (writing there is `EROFS`, [`file_name`]). Files on disks are read
//!   and written through the stream's buffer; `fflush` and `fclose` write
//!   out what waits.
//! - [`errno`] holds the MSVC-numbered error codes the engine returns.
//! - [`AtExit`] is the `atexit` table `exit` runs.
#![forbid(unsafe_code)]

pub mod errno;
mod exit;
mod mode;
mod table;

pub use exit::{AtExit, ATEXIT_MAX};
pub use mode::{boot_name, file_name, on_disk, Mode};
pub use table::{
    Backend, Console, Files, Stream, Whence, BUFFER_SIZE, FOPEN_MAX, SLOTS, STREAM_IDS,
};

//! PE32+ images: parse, validate, load, relocate, bind and plan a process.
//!
//! This crate turns Windows-format (PE32+, AMD64) files into the bytes and
//! page protections the kernel maps into a ring-3 address space. It does no
//! I/O and no mapping itself, so every path runs in host tests.
//!
//! # Flow
//! 1. [`parse`] validates a file and returns a [`PeFile`]: headers, sections
//!    with their [`Protection`], imports, exports, base relocation sites and
//!    TLS information. Everything it returns has been checked against the
//!    file length and `SizeOfImage`.
//! 2. [`PeFile::load`] lays the image out as it sits in memory (a `Vec<u8>`
//!    of `SizeOfImage` bytes) at a base chosen by the caller, applying base
//!    relocations when that base is not the preferred one, and lists the
//!    page ranges to map with their protections ([`PageRange`]).
//! 3. [`bind`] writes absolute addresses into an image's import address
//!    table from other images' export tables.
//! 4. [`plan_process`] does all of that for an EXE and every DLL it imports,
//!    transitively, and returns a [`ProcessImage`].
//!
//! # Why `object`
//! Structures are read through the `object` crate: its `pe` module has the
//! PE/COFF layouts as plain-old-data types read without alignment or
//! `unsafe` on our side, and its `ImportTable` and `ExportTable` walk those
//! tables with bounds checks on every read. It is the parser behind the Rust
//! toolchain's own backtraces and binary tools, is fuzzed, works in `no_std`
//! with `alloc`, lets us enable only `read_core` + `pe`, and its writer builds
//! the synthetic images our tests use. `pe-parser` was considered and not
//! taken: it reads the headers and the section table but has no import,
//! export or base relocation parsing, so the risky parts would be ours to
//! write by hand. The checks a loader needs beyond parsing (W^X, alignment,
//! overlap, relocation bounds) are done here, each with its own [`PeError`].
//!
//! # Policies
//! - **Sections.** `SectionAlignment` must be a multiple of 4096 so every
//!   section starts on a page and gets its own protections. A section that is
//!   both writable and executable is refused. Sections must be in ascending
//!   RVA order without overlap, inside the file and inside `SizeOfImage`.
//! - **Headers** are mapped read-only (never writable or executable): the
//!   runtime may read its own headers, nothing may patch them.
//! - **Pages** not covered by the headers or a section (alignment gaps) are
//!   listed nowhere and must stay unmapped.
//! - **Relocations.** Only `IMAGE_REL_BASED_DIR64` and `ABSOLUTE` (padding)
//!   are accepted; every site must lie inside the image and no two sites may
//!   overlap. They are validated by [`parse`] even when the image will load at
//!   its preferred base. An image without a relocation directory loads
//!   anywhere unless `IMAGE_FILE_RELOCS_STRIPPED` is set.
//! - **TLS.** A TLS directory with callbacks is refused
//!   ([`PeError::TlsCallbacksUnsupported`]): the loader runs no code in the
//!   new process. A TLS directory *without* callbacks is accepted and
//!   described by [`TlsInfo`] (RVAs at any base); whether the kernel sets up
//!   static TLS for it or refuses the program is the kernel's decision.
//! - **Imports** are bound by name or ordinal; forwarded exports and
//!   delay-load imports are refused with their own errors. DLL names match
//!   ASCII case-insensitively; import cycles are refused. Symbol names
//!   match exactly, through an index sorted once per exporter (the file's
//!   own name table is not trusted to be sorted). When a DLL exports one
//!   name at several ordinals, the lowest ordinal wins.
//! - **Limits.** At most [`MAX_SECTIONS`] sections, [`MAX_IMAGE_SIZE`] bytes
//!   of image, [`MAX_IMPORTS`] imported symbols per image and
//!   [`MAX_MODULES`] modules per process, so hostile headers cannot make the
//!   kernel allocate without bound. Names are capped one by one
//!   ([`MAX_SYMBOL_NAME`], [`MAX_DLL_NAME`], [`MAX_FORWARDER`]) and the
//!   name bytes one image owns by its file length plus
//!   [`NAME_BUDGET_SLACK`], so entries that all point at one long string
//!   cannot multiply it.
//!
//! No input makes this crate panic: every offset is checked, arithmetic on
//! header values is widened or checked, and allocation failure is an error.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod bind;
mod error;
mod exports;
mod file;
mod headers;
mod imports;
mod load;
mod names;
mod process;
mod relocs;
mod section;
mod symbols;
mod tls;

#[cfg(test)]
mod synth;
#[cfg(test)]
mod tests;

pub use bind::{bind, Exporter};
pub use error::{Directory, PeError};
pub use exports::{Export, ExportTarget, Exports};
pub use file::{parse, PeFile};
pub use imports::{Import, ImportDll, ImportSymbol};
pub use load::{LoadedImage, PageRange};
pub use names::{MAX_DLL_NAME, MAX_FORWARDER, MAX_SYMBOL_NAME, NAME_BUDGET_SLACK};
pub use process::{plan_process, Module, ProcessImage};
pub use section::{Protection, Section};
pub use symbols::{nearest_symbol, Symbol};
pub use tls::TlsInfo;

/// Page size the kernel maps with; protections are given per page.
pub const PAGE_SIZE: u32 = 4096;

/// Largest `SizeOfImage` accepted (256 MiB).
pub const MAX_IMAGE_SIZE: u32 = 256 << 20;

/// Largest section count accepted (the Windows loader's limit, PE/COFF spec
/// §3.3 "NumberOfSections").
pub const MAX_SECTIONS: u16 = 96;

/// Largest number of imported symbols (IAT slots) in one image: as many as
/// one export table has ordinals (PE/COFF spec §6.3.1: they are 16-bit),
/// far more than real programs import. An image is also held to one symbol
/// per 8 bytes of its file: every symbol of a well-formed file has a lookup
/// entry of its own (§6.4.2), so only descriptors that share one table can
/// name more.
pub const MAX_IMPORTS: usize = 1 << 16;

/// Largest number of images (EXE plus DLLs) in one process.
pub const MAX_MODULES: usize = 64;

/// Rounds `value` up to a multiple of [`PAGE_SIZE`], widening to `u64` so it
/// cannot overflow.
pub(crate) fn page_align_up(value: u32) -> u64 {
    u64::from(value).div_ceil(u64::from(PAGE_SIZE)) * u64::from(PAGE_SIZE)
}

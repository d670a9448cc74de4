//! Every way the loader can fail, with messages for the console.

use alloc::string::String;
use core::fmt;
use handoff::acpi::AcpiError;
use handoff::config::{ConfigError, CONFIG_PATHS};
use handoff::elf::ElfError;
use handoff::framebuffer::FramebufferError;
use handoff::memmap::MemmapError;
use handoff::modules::ModuleError;
use handoff::paging::MapError;
use handoff::requests::ScanError;
use uefi::Status;

/// A fatal loader error.
#[derive(Debug)]
pub enum LoaderError {
    /// A firmware call failed.
    Firmware {
        /// What we were doing.
        what: &'static str,
        /// The UEFI status.
        status: Status,
    },
    /// No config file at any of the §9 paths.
    NoConfig,
    /// The config could not be parsed.
    Config(ConfigError),
    /// A file named by the config (or the kernel) could not be read.
    File {
        /// What the file is ("kernel", "module").
        role: &'static str,
        /// Its volume path.
        path: String,
        /// The UEFI status.
        status: Status,
    },
    /// The kernel ELF is malformed.
    Elf(ElfError),
    /// The request scan or handshake refused the kernel.
    Requests(ScanError),
    /// The module list could not be built.
    Modules(ModuleError),
    /// The kernel demands a paging mode we do not do (§10 step 5).
    PagingMode {
        /// Requested minimum mode (1 = 5-level).
        min_mode: u64,
    },
    /// Page-table construction failed.
    Paging(MapError),
    /// The final memory map does not fit.
    Memmap(MemmapError),
    /// A size computation overflowed (absurd file or request).
    TooLarge(&'static str),
}

impl fmt::Display for LoaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Firmware { what, status } => write!(f, "{what} failed: {status:?}"),
            Self::NoConfig => {
                write!(f, "no limine.conf on the boot volume (tried")?;
                for path in CONFIG_PATHS {
                    write!(f, " {path}")?;
                }
                write!(f, ")")
            }
            Self::Config(e) => write!(f, "{e}"),
            Self::File { role, path, status } => {
                write!(f, "cannot read {role} {path}: {status:?}")
            }
            Self::Elf(e) => write!(f, "{e}"),
            Self::Requests(e) => write!(f, "{e}"),
            Self::Modules(e) => write!(f, "{e}"),
            Self::PagingMode { min_mode } => write!(
                f,
                "kernel requires paging mode >= {min_mode}; this loader only does 4-level"
            ),
            Self::Paging(e) => write!(f, "{e}"),
            Self::Memmap(e) => write!(f, "{e}"),
            Self::TooLarge(what) => write!(f, "{what} is too large"),
        }
    }
}

impl LoaderError {
    /// Wraps a UEFI error.
    pub fn firmware(what: &'static str) -> impl FnOnce(uefi::Error) -> Self {
        move |e| Self::Firmware {
            what,
            status: e.status(),
        }
    }
}

macro_rules! from {
    ($($src:ty => $variant:ident),* $(,)?) => {
        $(impl From<$src> for LoaderError {
            fn from(e: $src) -> Self {
                Self::$variant(e)
            }
        })*
    };
}

from! {
    ConfigError => Config,
    ElfError => Elf,
    ScanError => Requests,
    ModuleError => Modules,
    MapError => Paging,
    MemmapError => Memmap,
}

/// Errors from optional firmware data: logged, never fatal.
#[derive(Debug)]
pub enum Optional {
    /// ACPI table problem.
    Acpi(AcpiError),
    /// GOP mode problem.
    Framebuffer(FramebufferError),
}

impl fmt::Display for Optional {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Acpi(e) => write!(f, "{e}"),
            Self::Framebuffer(e) => write!(f, "{e}"),
        }
    }
}

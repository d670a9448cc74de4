//! Starts PE programs: the `pe` crate's plan, mapped into a new process.
#![forbid(unsafe_code)]

use crate::boot::BootInfo;
use crate::mm::user_space::Access;
use crate::sync::SpinLock;
use crate::task::{Image, Process, ProcessError};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

const PAGE: usize = 4096;

/// Where images go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Every image at its preferred base.
    Preferred,
    /// The program `offset` bytes away from its preferred base (exercises
    /// relocation); DLLs at their preferred bases.
    ProgramShifted(u64),
}

/// Why a program could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// The PE files are unusable (see the `pe` crate's error).
    Pe(::pe::PeError),
    /// The process could not be built.
    Process(ProcessError),
    /// The program's file on a disk could not be read (or is too large).
    File(abi::Error),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pe(e) => write!(f, "PE: {e}"),
            Self::Process(e) => write!(f, "process: {e}"),
            Self::File(e) => write!(f, "file: {}", e.name()),
        }
    }
}

impl From<::pe::PeError> for SpawnError {
    fn from(e: ::pe::PeError) -> Self {
        Self::Pe(e)
    }
}

/// A boot module by name: its string (`module_cmdline`) or the last part
/// of its path, compared ASCII case-insensitively (PE import names are).
pub fn find_file<'a>(info: &'a BootInfo, name: &str) -> Option<&'a [u8]> {
    info.modules
        .iter()
        .find(|m| m.cmdline.eq_ignore_ascii_case(name) || m.file_name().eq_ignore_ascii_case(name))
        .map(|m| &*m.data)
}

fn access(p: ::pe::Protection) -> Option<Access> {
    match (p.read, p.write, p.execute) {
        (_, true, true) => None, // the pe crate refuses W+X; never map it
        (_, _, true) => Some(Access::EXECUTE),
        (_, true, false) => Some(Access::READ_WRITE),
        (true, false, false) => Some(Access::READ),
        (false, false, false) => None,
    }
}

/// One image of a loaded program: its bytes at `base`, each page's
/// access, and a frame holding each read-only page, mapped into every
/// process of the program (writable pages are copied per process).
struct LoadedModule {
    name: String,
    base: u64,
    memory: Vec<u8>,
    pages: Vec<Option<Access>>,
    frames: Vec<Option<u64>>,
}

impl Drop for LoadedModule {
    fn drop(&mut self) {
        for frame in self.frames.iter().flatten() {
            if let Err(e) = crate::mm::frame_alloc::free(*frame) {
                log::error!("pe: shared image frame {frame:#x}: {e} (bug)");
            }
        }
    }
}

impl LoadedModule {
    /// Gives every read-only page its shared frame.
    fn share_read_only_pages(&mut self) -> Result<(), SpawnError> {
        for (i, access) in self.pages.iter().enumerate() {
            if !access.is_some_and(|a| !a.write) {
                continue;
            }
            let frame = crate::mm::frame_alloc::alloc_user()
                .map_err(|e| SpawnError::Process(ProcessError::Memory(e)))?;
            let start = i * PAGE;
            let end = (start + PAGE).min(self.memory.len());
            // A whole page is overwritten by the copy; only a partial last
            // page needs zeroing first.
            if end < start + PAGE {
                crate::mm::phys::zero_frame(frame);
            }
            if start < end {
                crate::mm::phys::write_frame(frame, &self.memory[start..end]);
            }
            self.frames[i] = Some(frame);
        }
        Ok(())
    }
}

/// A program loaded, relocated and bound: everything a new process of it
/// needs, owned, so later starts only map pages.
pub struct LoadedProgram {
    name: String,
    modules: Vec<LoadedModule>,
    entry: u64,
    init_thread: Option<u64>,
}

impl LoadedProgram {
    /// Loads `exe` and its DLLs from the boot modules.
    fn load(
        info: &BootInfo,
        exe: &str,
        placement: Placement,
    ) -> Result<(Self, ::pe::ProcessImage), SpawnError> {
        Self::load_from(&|name: &str| find_file(info, name), exe, placement)
    }

    /// Loads `exe` and its DLLs from `files`.
    fn load_from<'f>(
        files: &dyn Fn(&str) -> Option<&'f [u8]>,
        exe: &str,
        placement: Placement,
    ) -> Result<(Self, ::pe::ProcessImage), SpawnError> {
        let mut place = |name: &str, preferred: u64, _size: u64| match placement {
            Placement::ProgramShifted(offset) if name.eq_ignore_ascii_case(exe) => {
                preferred + offset
            }
            _ => preferred,
        };
        let mut plan = ::pe::plan_process(exe, files, &mut place)?;
        let mut modules = Vec::new();
        for module in &mut plan.modules {
            let mut pages = alloc::vec![None; module.image.memory.len().div_ceil(PAGE)];
            for range in &module.image.pages {
                let first = range.rva as usize / PAGE;
                let count = (range.len as usize).div_ceil(PAGE);
                for slot in pages.iter_mut().skip(first).take(count) {
                    *slot = access(range.protection);
                }
            }
            let mut loaded = LoadedModule {
                name: module.name.clone(),
                base: module.image.base,
                // Moved, not copied: the plan handed back keeps everything
                // but the image bytes.
                memory: core::mem::take(&mut module.image.memory),
                frames: alloc::vec![None; pages.len()],
                pages,
            };
            loaded.share_read_only_pages()?;
            modules.push(loaded);
        }
        // Further threads start at the program's exported `InitThread`.
        let init_thread = ::pe::ImportSymbol::Name {
            hint: 0,
            name: "InitThread".into(),
        };
        let init_thread = plan.modules.first().and_then(|program| {
            match program
                .pe
                .exports()
                .and_then(|e| e.find(&init_thread))
                .map(|e| &e.target)
            {
                Some(::pe::ExportTarget::Rva(rva)) => Some(program.image.base + u64::from(*rva)),
                _ => None,
            }
        });
        let loaded = Self {
            name: exe.into(),
            modules,
            entry: plan.entry,
            init_thread,
        };
        Ok((loaded, plan))
    }

    /// A new process of this program (not started yet); it maps the
    /// program's read-only frames and keeps the program alive.
    fn instantiate(self: &Arc<Self>) -> Result<Process, SpawnError> {
        let images: Vec<Image<'_>> = self
            .modules
            .iter()
            .map(|m| Image {
                name: &m.name,
                base: m.base,
                memory: &m.memory,
                pages: &m.pages,
            })
            .collect();
        let shared: Vec<&[Option<u64>]> =
            self.modules.iter().map(|m| m.frames.as_slice()).collect();
        let mut process = Process::with_shared(&self.name, &images, &shared, self.entry)
            .map_err(SpawnError::Process)?;
        process.keep_alive(self.clone());
        if let Some(at) = self.init_thread {
            process.set_init_thread(at);
        }
        Ok(process)
    }
}

/// Programs loaded before, by name (at most [`CACHE_ENTRIES`]; the oldest
/// goes first). Like an OS's image section cache: the second start of a
/// program maps what the first one parsed, relocated and bound.
static CACHE: SpinLock<Vec<Arc<LoadedProgram>>> = SpinLock::new(Vec::new());
/// Programs the cache keeps.
const CACHE_ENTRIES: usize = 8;

/// A new process of `exe` at its preferred bases: from the cache unless
/// `fresh` (then the files are parsed, relocated and bound again, and the
/// cache keeps the result).
pub fn spawn_program(info: &BootInfo, exe: &str, fresh: bool) -> Result<Process, SpawnError> {
    let cached = CACHE
        .lock()
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(exe))
        .cloned();
    let program = match cached {
        Some(p) if !fresh => p,
        _ => {
            let (loaded, _) = LoadedProgram::load(info, exe, Placement::Preferred)?;
            let loaded = Arc::new(loaded);
            let mut cache = CACHE.lock();
            cache.retain(|p| !p.name.eq_ignore_ascii_case(exe));
            if cache.len() >= CACHE_ENTRIES {
                cache.remove(0);
            }
            cache.push(loaded.clone());
            loaded
        }
    };
    program.instantiate()
}

/// The largest program file [`spawn_from_disk`] reads.
pub const PROGRAM_FILE_MAX: u64 = 64 << 20;

/// A new process of the program at `path` on a disk volume
/// (`/disk/<volume>/<path>`), read whole now (at most
/// [`PROGRAM_FILE_MAX`]); the DLLs it imports come from the boot modules.
/// Never cached: the file may change.
pub fn spawn_from_disk(info: &BootInfo, path: &str) -> Result<Process, SpawnError> {
    let exe_bytes = crate::fs::read_whole(path, PROGRAM_FILE_MAX).map_err(SpawnError::File)?;
    let exe_bytes = exe_bytes.as_slice();
    let exe = path.rsplit('/').next().unwrap_or(path);
    let files = |name: &str| {
        if name.eq_ignore_ascii_case(exe) {
            Some(exe_bytes)
        } else {
            find_file(info, name)
        }
    };
    let (loaded, _) = LoadedProgram::load_from(&files, exe, Placement::Preferred)?;
    Arc::new(loaded).instantiate()
}

/// Loads `exe` and the DLLs it imports from the boot modules, relocates and
/// binds them, and builds the process (not started yet).
pub fn spawn(
    info: &BootInfo,
    exe: &str,
    placement: Placement,
) -> Result<(Process, ::pe::ProcessImage), SpawnError> {
    let (loaded, plan) = LoadedProgram::load(info, exe, placement)?;
    Ok((Arc::new(loaded).instantiate()?, plan))
}

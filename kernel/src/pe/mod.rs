//! Starts PE programs: the `pe` crate's plan, mapped into a new process.
#![forbid(unsafe_code)]

use crate::boot::BootInfo;
use crate::mm::user_space::Access;
use crate::task::{Image, Process, ProcessError};
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
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pe(e) => write!(f, "PE: {e}"),
            Self::Process(e) => write!(f, "process: {e}"),
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
        .find(|m| {
            m.cmdline.eq_ignore_ascii_case(name)
                || m.path
                    .rsplit('/')
                    .next()
                    .is_some_and(|base| base.eq_ignore_ascii_case(name))
        })
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

/// Loads `exe` and the DLLs it imports from the boot modules, relocates and
/// binds them, and builds the process (not started yet).
pub fn spawn(
    info: &BootInfo,
    exe: &str,
    placement: Placement,
) -> Result<(Process, ::pe::ProcessImage), SpawnError> {
    let files = |name: &str| find_file(info, name);
    let mut place = |name: &str, preferred: u64, _size: u64| match placement {
        Placement::ProgramShifted(offset) if name.eq_ignore_ascii_case(exe) => preferred + offset,
        _ => preferred,
    };
    let plan = ::pe::plan_process(exe, &files, &mut place)?;
    let mut page_access: Vec<Vec<Option<Access>>> = Vec::new();
    for module in &plan.modules {
        let mut pages = alloc::vec![None; module.image.memory.len().div_ceil(PAGE)];
        for range in &module.image.pages {
            let first = range.rva as usize / PAGE;
            let count = (range.len as usize).div_ceil(PAGE);
            for slot in pages.iter_mut().skip(first).take(count) {
                *slot = access(range.protection);
            }
        }
        page_access.push(pages);
    }
    let images: Vec<Image<'_>> = plan
        .modules
        .iter()
        .zip(&page_access)
        .map(|(m, pages)| Image {
            name: &m.name,
            base: m.image.base,
            memory: &m.image.memory,
            pages,
        })
        .collect();
    let process = Process::new(exe, &images, plan.entry).map_err(SpawnError::Process)?;
    Ok((process, plan))
}

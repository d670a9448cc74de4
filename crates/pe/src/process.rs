//! `plan_process`: an EXE and its DLLs, loaded, relocated and bound.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::bind::{bind, Exporter};
use crate::error::PeError;
use crate::file::{parse, PeFile};
use crate::load::LoadedImage;
use crate::MAX_MODULES;

/// One image of a process, ready to map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// The name it was asked for by (EXE name, or DLL name as imported).
    pub name: String,
    /// Its parsed description (exports, sections, TLS, ...).
    pub pe: PeFile,
    /// Its memory image at its chosen base, relocated and bound.
    pub image: LoadedImage,
}

/// Everything the kernel maps to start a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessImage {
    /// The EXE first, then DLLs in the order they were found (and placed).
    pub modules: Vec<Module>,
    /// Indices into `modules`, each DLL after every DLL it imports; the EXE
    /// (index 0) last. The order to run DLL entry points in, if ever.
    pub init_order: Vec<usize>,
    /// Absolute entry point of the EXE.
    pub entry: u64,
}

/// Loads `exe_name` and, transitively, every DLL it imports (each once, names
/// matched ASCII case-insensitively), asking `files` for their bytes and
/// `place` for a base (`place(name, preferred_base, size_of_image)`; return
/// the preferred base to avoid relocation). Relocates, binds every import and
/// refuses import cycles.
pub fn plan_process<'f>(
    exe_name: &str,
    files: &dyn Fn(&str) -> Option<&'f [u8]>,
    place: &mut dyn FnMut(&str, u64, u64) -> u64,
) -> Result<ProcessImage, PeError> {
    let mut planner = Planner {
        names: Vec::new(),
        pes: Vec::new(),
        images: Vec::new(),
        done: Vec::new(),
    };
    let exe_bytes = files(exe_name).ok_or_else(|| PeError::ExeNotFound(exe_name.into()))?;
    let exe = parse(exe_bytes)?;
    if exe.is_dll() {
        return Err(PeError::NotAnExe(exe_name.into()));
    }
    planner.add(exe_name, exe, exe_bytes, place)?;

    // Depth-first over imports with an explicit stack: (module, next import).
    let mut stack: Vec<(usize, usize)> = Vec::from([(0, 0)]);
    let mut init_order = Vec::new();
    while let Some(top) = stack.last_mut() {
        let (index, next) = *top;
        let Some(dll) = planner.pes[index].imports().get(next) else {
            planner.done[index] = true;
            init_order.push(index);
            stack.pop();
            continue;
        };
        top.1 += 1;
        let name = dll.name.clone();
        if let Some(found) = planner.find(&name) {
            if !planner.done[found] {
                let from = stack.iter().position(|&(m, _)| m == found).unwrap_or(0);
                let mut chain: Vec<String> = stack
                    .iter()
                    .skip(from)
                    .map(|&(m, _)| planner.names[m].clone())
                    .collect();
                chain.push(name);
                return Err(PeError::ImportCycle(chain));
            }
            continue;
        }
        if planner.names.len() >= MAX_MODULES {
            return Err(PeError::TooManyModules);
        }
        let bytes = files(&name).ok_or_else(|| PeError::MissingDll(name.clone()))?;
        let pe = parse(bytes)?;
        if !pe.is_dll() {
            return Err(PeError::NotADll(name));
        }
        let new = planner.add(&name, pe, bytes, place)?;
        stack.push((new, 0));
    }

    let bases: Vec<u64> = planner.images.iter().map(|i| i.base).collect();
    for (pe, image) in planner.pes.iter().zip(planner.images.iter_mut()) {
        bind(pe, image, &|dll| {
            let found = find(&planner.names, dll)?;
            Some(Exporter {
                file: planner.pes.get(found)?,
                base: *bases.get(found)?,
            })
        })?;
    }

    let entry = planner
        .images
        .first()
        .and_then(|exe| exe.entry)
        .ok_or(PeError::NoEntryPoint)?;
    let modules = planner
        .names
        .into_iter()
        .zip(planner.pes)
        .zip(planner.images)
        .map(|((name, pe), image)| Module { name, pe, image })
        .collect();
    Ok(ProcessImage {
        modules,
        init_order,
        entry,
    })
}

/// Index of `name` among `names`, ASCII case-insensitively (as Windows
/// matches DLL names).
fn find(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n.eq_ignore_ascii_case(name))
}

struct Planner {
    names: Vec<String>,
    pes: Vec<PeFile>,
    images: Vec<LoadedImage>,
    done: Vec<bool>,
}

impl Planner {
    fn find(&self, name: &str) -> Option<usize> {
        find(&self.names, name)
    }

    /// Places, loads and records one module; returns its index.
    fn add(
        &mut self,
        name: &str,
        pe: PeFile,
        bytes: &[u8],
        place: &mut dyn FnMut(&str, u64, u64) -> u64,
    ) -> Result<usize, PeError> {
        let size = u64::from(pe.size_of_image());
        let base = place(name, pe.preferred_base(), size);
        let image = pe.load(bytes, base)?;
        let end = base + size; // load() checked that this does not wrap.
        for (other, other_image) in self.names.iter().zip(&self.images) {
            let other_end = other_image.base + other_image.memory.len() as u64;
            if base < other_end && other_image.base < end {
                return Err(PeError::ImagesOverlap {
                    first: other.clone(),
                    second: name.to_string(),
                });
            }
        }
        self.names.push(name.to_string());
        self.pes.push(pe);
        self.images.push(image);
        self.done.push(false);
        Ok(self.names.len() - 1)
    }
}

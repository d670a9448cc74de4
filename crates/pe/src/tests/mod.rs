//! Unit tests over synthetic images (see `crate::synth`).

mod bind_scale;
mod binding;
mod errors;
mod load;
mod mutate;
mod names;
mod parse;
mod process;
mod symbols;

use std::collections::HashMap;

use crate::synth::{self, Built, Spec, Sym};
use crate::{plan_process, LoadedImage, PeError, ProcessImage};

/// An EXE importing `names` from `dll`, with `pointers` relocated pointers.
fn exe_importing(dll: &'static str, names: &[&'static str], pointers: u32) -> Built {
    synth::build(&Spec {
        imports: vec![(dll, names.iter().map(|n| Sym::Name(n)).collect())],
        pointers,
        ..Spec::exe()
    })
}

/// File offset and size of data directory `index` of `bytes`.
fn dir_file_range(bytes: &[u8], index: usize) -> (usize, u32) {
    let at = synth::directory(bytes, index);
    let rva = synth::get_u32(bytes, at);
    (
        synth::file_offset(bytes, rva),
        synth::get_u32(bytes, at + 4),
    )
}

/// Files by name, looked up ASCII case-insensitively as the kernel does.
struct Files(HashMap<String, Vec<u8>>);

impl Files {
    fn new(list: Vec<(&str, Vec<u8>)>) -> Files {
        Files(
            list.into_iter()
                .map(|(n, b)| (n.to_ascii_lowercase(), b))
                .collect(),
        )
    }
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(&name.to_ascii_lowercase()).map(Vec::as_slice)
    }
    /// Plans `exe`, placing image `i` (in call order) at `bases[i]`, or at
    /// its preferred base when `bases` runs out.
    fn plan(&self, exe: &str, bases: &[u64]) -> Result<ProcessImage, PeError> {
        let mut calls = 0;
        plan_process(exe, &|n| self.get(n), &mut |_, preferred, _| {
            calls += 1;
            bases.get(calls - 1).copied().unwrap_or(preferred)
        })
    }
}

/// The 8-byte IAT slot at `rva` of `image`.
fn slot(image: &LoadedImage, rva: u32) -> u64 {
    let at = rva as usize;
    u64::from_le_bytes(image.memory[at..at + 8].try_into().unwrap())
}

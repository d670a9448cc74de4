//! Unit tests over synthetic images (see `crate::synth`).

mod errors;
mod load;
mod mutate;
mod parse;
mod process;

use crate::synth::{self, Built, Spec, Sym};

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

//! Property tests: mutated synthetic images never make the crate panic.

use proptest::prelude::*;

use crate::synth::{self, Spec, Sym};
use crate::{parse, plan_process};

/// An EXE and a DLL exercising every table: imports by name and ordinal,
/// exports, relocations, bss and a callback-free TLS directory.
fn pair() -> (Vec<u8>, Vec<u8>) {
    let exe = synth::build(&Spec {
        imports: vec![("lib.dll", vec![Sym::Name("F"), Sym::Ordinal(2)])],
        pointers: 3,
        bss: 0x1800,
        tls: Some(false),
        ..Spec::exe()
    });
    let dll = synth::build(&Spec {
        pointers: 2,
        ..Spec::dll("lib.dll", &["F", "G"])
    });
    (exe.bytes, dll.bytes)
}

/// File offsets of header fields worth overwriting: COFF and optional
/// header fields, data directories, section headers.
fn field_offsets(bytes: &[u8]) -> Vec<usize> {
    let nt = synth::nt_offset(bytes);
    let opt = synth::opt_offset(bytes);
    let mut v = vec![0x3c, nt, nt + 4, nt + 6, nt + 20, nt + 22];
    v.extend([0, 16, 24, 28, 32, 36, 56, 60, 108].iter().map(|o| opt + o));
    v.extend((0..16).flat_map(|i| [synth::directory(bytes, i), synth::directory(bytes, i) + 4]));
    for s in 0..4 {
        let h = synth::section_header(bytes, s);
        v.extend([8, 12, 16, 20, 36].iter().map(|o| h + o));
    }
    v
}

/// Runs everything a kernel would on `exe`/`dll` at a forced base; the
/// results do not matter, only that nothing panics.
fn exercise(exe: &[u8], dll: &[u8]) {
    if let Ok(pe) = parse(exe) {
        let _ = pe.load(exe, 0x7000_0000);
        let _ = pe.load(exe, pe.preferred_base());
    }
    let files = |name: &str| match name.to_ascii_lowercase().as_str() {
        "prog.exe" => Some(exe),
        "lib.dll" => Some(dll),
        _ => None,
    };
    let mut next = 0x10_0000_0000u64;
    let _ = plan_process("prog.exe", &files, &mut |_, _, size| {
        let base = next;
        next += (size + 0xfff) & !0xfff;
        base
    });
}

const INTERESTING: [u32; 9] = [
    0,
    1,
    0x1000,
    0x0fff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x200,
    0x10_0000,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn byte_flips_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        target_dll in any::<bool>(),
    ) {
        let (mut exe, mut dll) = pair();
        let victim = if target_dll { &mut dll } else { &mut exe };
        for (index, value) in flips {
            let at = index.index(victim.len());
            victim[at] ^= value | 1;
        }
        exercise(&exe, &dll);
    }

    #[test]
    fn truncations_are_errors(cut in any::<prop::sample::Index>(), target_dll in any::<bool>()) {
        let (exe, dll) = pair();
        let victim = if target_dll { &dll } else { &exe };
        let len = cut.index(victim.len());
        prop_assert!(parse(&victim[..len]).is_err());
        if target_dll {
            exercise(&exe, &dll[..len]);
        } else {
            exercise(&exe[..len], &dll);
        }
    }

    #[test]
    fn field_overwrites_never_panic(
        picks in prop::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u32>(), any::<bool>()),
            1..4,
        ),
        target_dll in any::<bool>(),
    ) {
        let (mut exe, mut dll) = pair();
        let victim = if target_dll { &mut dll } else { &mut exe };
        let offsets = field_offsets(victim);
        for (field, special, random, use_special) in picks {
            let at = offsets[field.index(offsets.len())];
            let value = if use_special { INTERESTING[special.index(INTERESTING.len())] } else { random };
            if at + 4 <= victim.len() {
                synth::set_u32(victim, at, value);
            }
        }
        exercise(&exe, &dll);
    }

    #[test]
    fn table_bytes_overwrites_never_panic(
        at in any::<prop::sample::Index>(),
        value in any::<u32>(),
        target_dll in any::<bool>(),
    ) {
        // Hit the section data (tables live in .rdata and .reloc).
        let (mut exe, mut dll) = pair();
        let victim = if target_dll { &mut dll } else { &mut exe };
        let start = 0x400;
        let at = start + at.index(victim.len() - start - 4);
        synth::set_u32(victim, at, value);
        exercise(&exe, &dll);
    }
}

#[test]
fn unmutated_pair_plans() {
    let (exe, dll) = pair();
    let files = |name: &str| match name {
        "prog.exe" => Some(exe.as_slice()),
        "lib.dll" => Some(dll.as_slice()),
        _ => None,
    };
    let p = plan_process("prog.exe", &files, &mut |_, preferred, _| preferred).unwrap();
    assert_eq!(p.modules.len(), 2);
    assert!(p.modules[0].pe.tls().is_some());
}

//! Property tests: mutated real images never make the crate panic.

mod common;

use proptest::prelude::*;

use pe::{parse, plan_process};

/// Header field offsets (PE/COFF spec §3.3, §3.4, §4) of `file`.
fn field_offsets(file: &[u8]) -> Vec<usize> {
    let nt = u32::from_le_bytes(file[0x3c..0x40].try_into().unwrap()) as usize;
    let opt = nt + 24;
    let opt_size = u16::from_le_bytes([file[nt + 20], file[nt + 21]]) as usize;
    let sections = u16::from_le_bytes([file[nt + 6], file[nt + 7]]) as usize;
    let mut v = vec![0x3c, nt, nt + 4, nt + 6, nt + 20, nt + 22];
    v.extend([0, 16, 24, 28, 32, 36, 56, 60, 108].iter().map(|o| opt + o));
    v.extend((0..32).map(|i| opt + 112 + 4 * i));
    for s in 0..sections {
        let h = opt + opt_size + 40 * s;
        v.extend([8, 12, 16, 20, 36].iter().map(|o| h + o));
    }
    v
}

/// Plans hello.exe (or m2-tests.exe) with one file replaced by `mutated`,
/// at forced bases; only panics matter.
fn exercise(victim: &str, mutated: &[u8]) {
    let images = common::user_images();
    let files = |name: &str| {
        if name.eq_ignore_ascii_case(victim) {
            Some(mutated)
        } else {
            images.get(name)
        }
    };
    let exe = if victim == "runtime.dll" {
        "hello.exe"
    } else {
        victim
    };
    let mut next = 0x10_0000_0000u64;
    let _ = plan_process(exe, &files, &mut |_, _, size| {
        let base = next;
        next += (size + 0xfff) & !0xfff;
        base
    });
    if let Ok(pe) = parse(mutated) {
        let _ = pe.load(mutated, 0x7000_0000);
    }
}

fn victim(pick: u8) -> (&'static str, Vec<u8>) {
    let images = common::user_images();
    match pick % 3 {
        0 => ("runtime.dll", images.runtime.clone()),
        1 => ("hello.exe", images.hello.clone()),
        _ => ("m2-tests.exe", images.m2_tests.clone()),
    }
}

/// Where the last section's raw data ends in `file`, per `object`.
fn sections_end(file: &[u8]) -> usize {
    use object::{Object, ObjectSection};
    let pe = object::read::pe::PeFile64::parse(file).unwrap();
    pe.sections()
        .filter_map(|s| s.file_range())
        .map(|(offset, size)| (offset + size) as usize)
        .max()
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn byte_flips_never_panic(
        pick in any::<u8>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
    ) {
        let (name, mut file) = victim(pick);
        for (index, value) in flips {
            let at = index.index(file.len());
            file[at] ^= value | 1;
        }
        exercise(name, &file);
    }

    /// A cut into the headers or section data is an error; a cut after
    /// the last section's data only loses the COFF symbol table (the
    /// build links with /DEBUG:SYMTAB), which loading does not read.
    #[test]
    fn truncations_are_errors(pick in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let (name, file) = victim(pick);
        let len = cut.index(file.len());
        if len < sections_end(&file) {
            prop_assert!(parse(&file[..len]).is_err(), "{} cut to {} bytes parsed", name, len);
        }
        exercise(name, &file[..len]);
    }

    #[test]
    fn field_overwrites_never_panic(
        pick in any::<u8>(),
        writes in prop::collection::vec((any::<prop::sample::Index>(), any::<u32>()), 1..4),
    ) {
        let (name, mut file) = victim(pick);
        let offsets = field_offsets(&file);
        for (field, value) in writes {
            let at = offsets[field.index(offsets.len())];
            file[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        exercise(name, &file);
    }
}

//! `PeFile::load`: memory layout, relocation, page protections.

use crate::synth::{self, Spec};
use crate::{parse, PeError, Protection, PAGE_SIZE};
use object::pe;

fn built() -> synth::Built {
    synth::build(&Spec {
        pointers: 5,
        bss: 0x3000,
        ..Spec::exe()
    })
}

#[test]
fn preferred_base_copies_headers_and_sections_and_zeroes_bss() {
    let b = built();
    let pe = parse(&b.bytes).unwrap();
    let image = pe.load(&b.bytes, pe.preferred_base()).unwrap();
    assert_eq!(image.memory.len(), pe.size_of_image() as usize);
    assert_eq!(image.relocations_applied, 0);
    let soh = pe.size_of_headers() as usize;
    assert_eq!(image.memory[..soh], b.bytes[..soh]);
    for s in pe.sections() {
        let at = s.rva as usize;
        assert_eq!(
            image.memory[at..at + s.raw_size as usize],
            b.bytes[s.raw_range()]
        );
        let end = at + s.virtual_size as usize;
        assert!(image.memory[at + s.raw_size as usize..end]
            .iter()
            .all(|&x| x == 0));
    }
    for i in 0..5u32 {
        let at = (b.data_rva + 8 * i) as usize;
        let value = u64::from_le_bytes(image.memory[at..at + 8].try_into().unwrap());
        assert_eq!(value, pe.preferred_base() + u64::from(b.text_rva + 8 * i));
    }
    assert_eq!(
        image.entry,
        Some(pe.preferred_base() + u64::from(b.text_rva))
    );
}

/// Positions where two images differ, each reported once per 8-byte site.
fn check_relocated(base: u64) {
    let b = built();
    let pe = parse(&b.bytes).unwrap();
    let at_home = pe.load(&b.bytes, pe.preferred_base()).unwrap();
    let moved = pe.load(&b.bytes, base).unwrap();
    assert_eq!(moved.relocations_applied, 5);
    let delta = base.wrapping_sub(pe.preferred_base());
    let sites: Vec<usize> = (0..5).map(|i| (b.data_rva + 8 * i) as usize).collect();
    for &site in &sites {
        let old = u64::from_le_bytes(at_home.memory[site..site + 8].try_into().unwrap());
        let new = u64::from_le_bytes(moved.memory[site..site + 8].try_into().unwrap());
        assert_eq!(new, old.wrapping_add(delta));
        assert_eq!(
            new,
            base + u64::from(b.text_rva) + (site as u64 - u64::from(b.data_rva))
        );
    }
    for (i, (x, y)) in at_home.memory.iter().zip(&moved.memory).enumerate() {
        if x != y {
            assert!(
                sites.iter().any(|&s| (s..s + 8).contains(&i)),
                "byte {i:#x} changed outside every relocation site"
            );
        }
    }
    assert_eq!(moved.entry, Some(base + u64::from(b.text_rva)));
}

#[test]
fn relocation_up_patches_exactly_the_sites() {
    check_relocated(0x7ff0_1234_0000);
}

#[test]
fn relocation_down_patches_exactly_the_sites() {
    check_relocated(0x40_0000);
}

#[test]
fn page_ranges_headers_read_only_sections_per_flags() {
    let b = built();
    let pe = parse(&b.bytes).unwrap();
    let image = pe.load(&b.bytes, 0x2000_0000).unwrap();
    let pages = &image.pages;
    assert_eq!(pages[0].rva, 0);
    assert_eq!(pages[0].protection, Protection::READ_ONLY);
    assert_eq!(pages.len(), pe.sections().len() + 1);
    let mut end = 0u64;
    for (range, section) in pages[1..].iter().zip(pe.sections()) {
        assert_eq!(range.rva, section.rva);
        assert_eq!(range.protection, section.protection);
        assert_eq!(range.rva % PAGE_SIZE, 0);
        assert_eq!(range.len % PAGE_SIZE, 0);
        assert!(u64::from(range.len) >= u64::from(section.virtual_size));
        assert!(u64::from(range.rva) >= end, "ranges overlap");
        end = u64::from(range.rva) + u64::from(range.len);
    }
    assert!(end <= u64::from(pe.size_of_image()));
    // .data holds 40 bytes plus 0x3000 of bss: four pages.
    assert_eq!(pages[3].len, 4 * PAGE_SIZE);
}

#[test]
fn bad_bases_are_refused() {
    let b = built();
    let pe = parse(&b.bytes).unwrap();
    assert!(matches!(
        pe.load(&b.bytes, 0x1000_0800),
        Err(PeError::BadBase {
            base: 0x1000_0800,
            ..
        })
    ));
    assert!(matches!(
        pe.load(&b.bytes, u64::MAX - 0xfff),
        Err(PeError::BadBase { .. })
    ));
    assert!(matches!(
        pe.load(&b.bytes[..b.bytes.len() - 1], pe.preferred_base()),
        Err(PeError::FileMismatch { .. })
    ));
}

#[test]
fn stripped_relocations_pin_the_base() {
    let mut bytes = built().bytes;
    let ch = synth::nt_offset(&bytes) + 4 + 18;
    let flags = u16::from_le_bytes([bytes[ch], bytes[ch + 1]]) | pe::IMAGE_FILE_RELOCS_STRIPPED.0;
    synth::set_u16(&mut bytes, ch, flags);
    let pe = parse(&bytes).unwrap();
    assert!(pe.relocs_stripped());
    assert!(pe.load(&bytes, pe.preferred_base()).is_ok());
    assert_eq!(
        pe.load(&bytes, 0x1000_0000),
        Err(PeError::NotRelocatable {
            preferred: pe.preferred_base(),
            base: 0x1000_0000
        })
    );
}

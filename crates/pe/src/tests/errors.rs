//! `parse` refuses each kind of malformed image with the precise error.

use super::dir_file_range;
use crate::synth::{self, Spec};
use crate::{parse, Directory, PeError};
use object::pe;

fn exe_with_relocs() -> Vec<u8> {
    synth::build(&Spec {
        pointers: 2,
        ..Spec::exe()
    })
    .bytes
}

fn err(bytes: &[u8]) -> PeError {
    parse(bytes).expect_err("image should be refused")
}

#[test]
fn truncated_headers_name_the_structure() {
    let bytes = exe_with_relocs();
    let nt = synth::nt_offset(&bytes);
    let cases = [
        (0, "DOS header"),
        (63, "DOS header"),
        (nt + 2, "PE signature"),
        (nt + 10, "COFF file header"),
        (nt + 24 + 100, "PE32+ optional header"),
        (nt + 24 + 112 + 20, "data directories"),
        (synth::section_header(&bytes, 2), "section table"),
    ];
    for (len, what) in cases {
        match err(&bytes[..len]) {
            PeError::Truncated {
                what: got,
                file_len,
                ..
            } => {
                assert_eq!(got, what, "cut at {len}");
                assert_eq!(file_len, len as u64);
            }
            other => panic!("cut at {len}: {other}"),
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    let bytes = exe_with_relocs();
    for len in 0..bytes.len() {
        assert!(
            parse(&bytes[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
}

#[test]
fn signatures_machine_and_magic() {
    let good = exe_with_relocs();
    let nt = synth::nt_offset(&good);
    let mut b = good.clone();
    b[0] = b'X';
    assert_eq!(err(&b), PeError::BadDosSignature(0x5a58));
    let mut b = good.clone();
    b[nt] = b'Q';
    assert!(matches!(err(&b), PeError::BadPeSignature { offset, .. } if offset as usize == nt));
    let mut b = good.clone();
    synth::set_u16(&mut b, nt + 4, 0x014c); // i386
    assert_eq!(err(&b), PeError::WrongMachine(0x014c));
    let mut b = good.clone();
    synth::set_u16(&mut b, synth::opt_offset(&good), 0x10b); // PE32
    assert_eq!(err(&b), PeError::BadOptionalMagic(0x10b));
    let mut b = good.clone();
    let ch = nt + 4 + 18;
    let flags = u16::from_le_bytes([b[ch], b[ch + 1]]) & !pe::IMAGE_FILE_EXECUTABLE_IMAGE.0;
    synth::set_u16(&mut b, ch, flags);
    assert_eq!(
        err(&b),
        PeError::NotAnImage {
            characteristics: flags
        }
    );
}

#[test]
fn section_raw_data_outside_file() {
    let mut b = exe_with_relocs();
    let h = synth::section_header(&b, 2);
    let len = b.len() as u32;
    synth::set_u32(&mut b, h + 20, len - 0x100);
    match err(&b) {
        PeError::SectionOutsideFile { section, size, .. } => {
            assert_eq!(section, ".data");
            assert_eq!(size, 0x200);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn writable_and_executable_section() {
    let mut b = exe_with_relocs();
    let h = synth::section_header(&b, 0) + 36;
    let flags = synth::get_u32(&b, h) | pe::IMAGE_SCN_MEM_WRITE.0;
    synth::set_u32(&mut b, h, flags);
    let e = err(&b);
    assert_eq!(
        e,
        PeError::WritableAndExecutable {
            section: ".text".into()
        }
    );
    assert!(e.to_string().contains("\".text\""), "{e}");
}

#[test]
fn alignment_rules() {
    let good = exe_with_relocs();
    let opt = synth::opt_offset(&good);
    let mut b = good.clone();
    synth::set_u32(&mut b, opt + 32, 0x800);
    assert_eq!(err(&b), PeError::BadSectionAlignment(0x800));
    let mut b = good.clone();
    synth::set_u32(&mut b, opt + 32, 0x3000);
    assert!(matches!(err(&b), PeError::SizeOfImageUnaligned { .. }));
    let mut b = good.clone();
    synth::set_u32(&mut b, opt + 36, 0x180);
    assert!(matches!(
        err(&b),
        PeError::BadFileAlignment {
            file_alignment: 0x180,
            ..
        }
    ));
    // A section off its SectionAlignment grid.
    let mut b = good.clone();
    let h = synth::section_header(&b, 1);
    let rva = synth::get_u32(&b, h + 12);
    synth::set_u32(&mut b, h + 12, rva + 0x10);
    assert!(matches!(err(&b), PeError::SectionMisaligned { .. }));
}

#[test]
fn overlapping_or_unordered_sections() {
    let mut b = exe_with_relocs();
    let text_rva = synth::get_u32(&b, synth::section_header(&b, 0) + 12);
    let h = synth::section_header(&b, 1);
    synth::set_u32(&mut b, h + 12, text_rva);
    match err(&b) {
        PeError::SectionsOverlap { first, second, .. } => {
            assert_eq!((first.as_str(), second.as_str()), (".text", ".rdata"));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn size_of_image_must_cover_sections() {
    let mut b = exe_with_relocs();
    let opt = synth::opt_offset(&b);
    let size = synth::get_u32(&b, opt + 56);
    synth::set_u32(&mut b, opt + 56, size - 0x1000);
    assert!(matches!(
        err(&b),
        PeError::SectionOutsideImage { section, .. } if section == ".reloc"
    ));
}

#[test]
fn entry_point_rules() {
    let built = synth::build(&Spec {
        pointers: 1,
        ..Spec::exe()
    });
    let opt = synth::opt_offset(&built.bytes);
    let mut b = built.bytes.clone();
    synth::set_u32(&mut b, opt + 16, built.data_rva);
    assert_eq!(
        err(&b),
        PeError::EntryNotExecutable {
            rva: built.data_rva
        }
    );
    synth::set_u32(&mut b, opt + 16, 0);
    assert_eq!(err(&b), PeError::NoEntryPoint);
}

#[test]
fn too_many_sections() {
    let mut b = exe_with_relocs();
    let nt = synth::nt_offset(&b);
    synth::set_u16(&mut b, nt + 6, 97);
    assert_eq!(err(&b), PeError::TooManySections { count: 97 });
}

#[test]
fn directory_outside_image_and_delay_load() {
    let good = exe_with_relocs();
    let opt = synth::opt_offset(&good);
    let size = synth::get_u32(&good, opt + 56);
    let mut b = good.clone();
    let d = synth::directory(&b, pe::IMAGE_DIRECTORY_ENTRY_BASERELOC);
    synth::set_u32(&mut b, d + 4, size);
    assert!(matches!(
        err(&b),
        PeError::DirectoryOutsideImage {
            directory: Directory::BaseReloc,
            ..
        }
    ));
    let mut b = good.clone();
    let d = synth::directory(&b, pe::IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT);
    synth::set_u32(&mut b, d, 0x1000);
    synth::set_u32(&mut b, d + 4, 0x40);
    assert_eq!(err(&b), PeError::DelayLoadUnsupported);
}

/// File offset of the first relocation block and its first entry's value.
fn reloc_block(b: &[u8]) -> usize {
    dir_file_range(b, pe::IMAGE_DIRECTORY_ENTRY_BASERELOC).0
}

#[test]
fn relocation_block_outside_image() {
    let mut b = exe_with_relocs();
    let size = synth::get_u32(&b, synth::opt_offset(&b) + 56);
    let block = reloc_block(&b);
    synth::set_u32(&mut b, block, size);
    assert_eq!(
        err(&b),
        PeError::RelocBlockOutsideImage {
            offset: 0,
            page_rva: size
        }
    );
}

#[test]
fn relocation_entry_outside_image() {
    let mut b = exe_with_relocs();
    let size = synth::get_u32(&b, synth::opt_offset(&b) + 56);
    let block = reloc_block(&b);
    synth::set_u32(&mut b, block, size - 0x1000);
    synth::set_u16(&mut b, block + 8, (10 << 12) | 0xffc);
    assert_eq!(
        err(&b),
        PeError::RelocOutsideImage {
            rva: size - 4,
            size_of_image: size
        }
    );
}

#[test]
fn overlapping_relocations() {
    let built = synth::build(&Spec {
        pointers: 2,
        ..Spec::exe()
    });
    let mut b = built.bytes.clone();
    let block = reloc_block(&b);
    let first = built.data_rva & 0xfff;
    synth::set_u16(&mut b, block + 10, (10 << 12) | (first as u16 + 4));
    assert_eq!(
        err(&b),
        PeError::RelocOverlap {
            first: built.data_rva,
            second: built.data_rva + 4
        }
    );
}

#[test]
fn unsupported_relocation_type() {
    let built = synth::build(&Spec {
        pointers: 2,
        ..Spec::exe()
    });
    let mut b = built.bytes.clone();
    let block = reloc_block(&b);
    synth::set_u16(&mut b, block + 8, 3 << 12); // HIGHLOW, offset 0
    assert_eq!(
        err(&b),
        PeError::UnsupportedRelocation {
            rva: built.data_rva & !0xfff,
            kind: 3
        }
    );
}

#[test]
fn truncated_and_badly_sized_relocation_blocks() {
    let good = exe_with_relocs();
    let block = reloc_block(&good);
    let d = synth::directory(&good, pe::IMAGE_DIRECTORY_ENTRY_BASERELOC);
    let dir_size = synth::get_u32(&good, d + 4);
    // SizeOfBlock claims more than the directory holds.
    let mut b = good.clone();
    synth::set_u32(&mut b, block + 4, dir_size + 8);
    assert_eq!(
        err(&b),
        PeError::RelocBlockTruncated {
            offset: 0,
            needed: u64::from(dir_size) + 8,
            remaining: dir_size.into()
        }
    );
    // Trailing bytes too short for another block header (the section grows
    // too, or the directory would leave its section's data).
    let mut b = good.clone();
    synth::set_u32(&mut b, d + 4, dir_size + 4);
    let reloc_section = synth::section_header(&b, 3);
    synth::set_u32(&mut b, reloc_section + 8, dir_size + 4);
    assert_eq!(
        err(&b),
        PeError::RelocBlockTruncated {
            offset: dir_size,
            needed: 8,
            remaining: 4
        }
    );
    // SizeOfBlock not a multiple of four.
    let mut b = good.clone();
    synth::set_u32(&mut b, block + 4, 10);
    assert_eq!(
        err(&b),
        PeError::RelocBlockBadSize {
            offset: 0,
            size: 10
        }
    );
}

#[test]
fn tls_callbacks_are_refused() {
    let b = synth::build(&Spec {
        tls: Some(true),
        ..Spec::exe()
    })
    .bytes;
    let e = err(&b);
    assert!(matches!(e, PeError::TlsCallbacksUnsupported { .. }), "{e}");
    assert!(e.to_string().contains("TLS callbacks"));
}

#[test]
fn import_name_outside_section_is_reported() {
    let built = super::exe_importing("lib.dll", &["F"], 0);
    let mut b = built.bytes.clone();
    let (desc, _) = dir_file_range(&b, pe::IMAGE_DIRECTORY_ENTRY_IMPORT);
    synth::set_u32(&mut b, desc + 12, 0x00ff_0000);
    assert!(matches!(
        err(&b),
        PeError::BadImportTable {
            rva: 0x00ff_0000,
            ..
        }
    ));
}

//! Property tests: untrusted inputs (ELF, config, image, MADT) never panic.

use handoff::cpus::madt_cpus;
use handoff::elf::{self, ElfError, KERNEL_MIN_VADDR};
use handoff::{config, mp, requests};
use proptest::prelude::*;

/// A small valid kernel-shaped ELF: text, rodata, data, hole, stack.
fn valid_elf() -> Vec<u8> {
    let segs: [(u32, u64, u64, u64); 4] = [
        (5, 0, 0x1800, 0x1800),
        (4, 0x2000, 0x300, 0x300),
        (6, 0x3000, 0x200, 0x5000),
        (6, 0x9000, 0, 0x4000),
    ];
    let mut out = vec![0u8; 64 + 56 * segs.len()];
    out[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    out[16..18].copy_from_slice(&2u16.to_le_bytes());
    out[18..20].copy_from_slice(&62u16.to_le_bytes());
    out[24..32].copy_from_slice(&(KERNEL_MIN_VADDR + 0x10).to_le_bytes());
    out[32..40].copy_from_slice(&64u64.to_le_bytes());
    out[54..56].copy_from_slice(&56u16.to_le_bytes());
    out[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
    for (i, (flags, off, filesz, memsz)) in segs.into_iter().enumerate() {
        let file_off = out.len() as u64;
        out.resize(out.len() + filesz as usize, 0xcc);
        let h = 64 + 56 * i;
        out[h..h + 4].copy_from_slice(&1u32.to_le_bytes());
        out[h + 4..h + 8].copy_from_slice(&flags.to_le_bytes());
        out[h + 8..h + 16].copy_from_slice(&file_off.to_le_bytes());
        out[h + 16..h + 24].copy_from_slice(&(KERNEL_MIN_VADDR + off).to_le_bytes());
        out[h + 32..h + 40].copy_from_slice(&filesz.to_le_bytes());
        out[h + 40..h + 48].copy_from_slice(&memsz.to_le_bytes());
        out[h + 48..h + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    out
}

#[test]
fn the_seed_elf_is_valid() {
    let plan = elf::plan(&valid_elf()).unwrap();
    assert_eq!(plan.segments().len(), 4);
}

/// Plans a (possibly broken) file; if accepted, the plan must be usable:
/// copying into an image of its size succeeds and stays in bounds.
fn exercise(file: &[u8]) -> Result<(), ElfError> {
    let plan = elf::plan(file)?;
    assert!(plan.image_size > 0 && plan.image_size % 0x1000 == 0);
    assert!(plan.scan_size <= plan.image_size);
    assert!(plan.min_vaddr >= KERNEL_MIN_VADDR);
    if plan.image_size <= 64 << 20 {
        let mut image = vec![0u8; plan.image_size as usize];
        plan.copy_segments(file, &mut image)?;
        let _ = requests::scan(&image[..plan.scan_size as usize]);
    }
    Ok(())
}

/// A MADT with two local APICs, an IO APIC and a local x2APIC.
fn valid_madt() -> Vec<u8> {
    let mut t = vec![0u8; 44];
    t[..4].copy_from_slice(b"APIC");
    t.extend_from_slice(&[0, 8, 0, 0, 1, 0, 0, 0]);
    t.extend_from_slice(&[0, 8, 1, 1, 1, 0, 0, 0]);
    t.extend_from_slice(&[1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0]);
    t.extend_from_slice(&[9, 16, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
    let len = t.len() as u32;
    t[4..8].copy_from_slice(&len.to_le_bytes());
    t
}

/// Walks a (possibly broken) MADT and plans a start from it; checks the
/// results hang together.
fn exercise_madt(table: &[u8], bsp: u32, x2apic: bool) {
    let found = madt_cpus(table);
    let room = table.len().saturating_sub(44) / 8;
    assert!(found.cpus.len() <= room);
    for (i, c) in found.cpus.iter().enumerate() {
        assert!(found.cpus[i + 1..].iter().all(|d| d.apic_id != c.apic_id));
    }
    let plan = mp::plan(&found.cpus, bsp, x2apic);
    assert_eq!(plan.cpus.iter().filter(|c| c.bsp).count(), 1);
    assert_eq!(
        plan.cpus.len() + plan.unreachable.len(),
        found.cpus.len() + usize::from(!plan.bsp_listed)
    );
    let mut ptrs: Vec<u64> = (0..plan.cpus.len() as u64).collect();
    let started: Vec<bool> = plan.cpus.iter().map(|c| c.bsp).collect();
    assert_eq!(mp::compact(&mut ptrs, &started), 1);
}

#[test]
fn the_seed_madt_is_valid() {
    let found = madt_cpus(&valid_madt());
    assert_eq!(found.error, None);
    assert_eq!(found.cpus.len(), 3);
}

proptest! {
    #[test]
    fn madt_random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        bsp in any::<u32>(),
        x2apic in any::<bool>(),
    ) {
        exercise_madt(&bytes, bsp, x2apic);
    }

    #[test]
    fn madt_mutations_never_panic(
        edits in prop::collection::vec((0usize..128, any::<u8>()), 1..12),
        cut in 0usize..128,
        bsp in 0u32..4,
        x2apic in any::<bool>(),
    ) {
        let mut table = valid_madt();
        for (at, byte) in edits {
            let n = table.len();
            table[at % n] = byte;
        }
        let cut = cut.min(table.len());
        exercise_madt(&table[..cut], bsp, x2apic);
        exercise_madt(&table, bsp, x2apic);
    }

    #[test]
    fn elf_mutations_never_panic(
        edits in prop::collection::vec((0usize..400, any::<u8>()), 1..16),
    ) {
        let mut file = valid_elf();
        for (at, byte) in edits {
            let n = file.len();
            file[at % n] = byte;
        }
        let _ = exercise(&file);
    }

    #[test]
    fn elf_header_field_mutations_never_panic(
        field in 0usize..(64 + 56 * 4) / 8,
        value in prop_oneof![any::<u64>(), Just(u64::MAX), Just(0u64), Just(KERNEL_MIN_VADDR)],
    ) {
        let mut file = valid_elf();
        file[field * 8..field * 8 + 8].copy_from_slice(&value.to_le_bytes());
        let _ = exercise(&file);
    }

    #[test]
    fn elf_truncations_are_errors_not_panics(len in 0usize..0x2000) {
        let file = valid_elf();
        let cut = len.min(file.len());
        let result = exercise(&file[..cut]);
        if cut < file.len() {
            prop_assert!(result.is_err(), "truncated to {} accepted", cut);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = exercise(&bytes);
        let _ = config::parse(&bytes);
        let _ = requests::scan(&bytes);
    }

    #[test]
    fn config_text_never_panics(text in "([/#a-zA-Z_: ()\\-\\.]{0,30}\n){0,12}") {
        if let Ok(entry) = config::parse(text.as_bytes()) {
            prop_assert!(entry.kernel_path.starts_with('/'));
        }
    }
}

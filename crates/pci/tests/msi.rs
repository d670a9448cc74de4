//! MSI and MSI-X: decoding, programming, message format, command register.

mod fake;

use fake::q35::{q35, virtio_net};
use fake::{bdf, FakeBus, FakeFunction};
use pci::{
    disable_msix, enable_msi, enable_msix, enumerate, msi, msi_message, msix, msix_entry,
    set_command, Function, Msi, MsiX,
};

fn found(bus: &mut FakeBus, at: pci::Bdf) -> Function {
    match enumerate(bus, 0).get(at) {
        Some(f) => f.clone(),
        None => panic!("{at} not listed"),
    }
}

#[test]
fn x86_message_format() {
    // Intel SDM Vol. 3A §11.11.1: 0xFEE in bits 31:20, destination in 19:12.
    assert_eq!(msi_message(0, 0x30), (0xFEE0_0000, 0x30));
    assert_eq!(msi_message(3, 0x41), (0xFEE0_3000, 0x41));
    assert_eq!(msi_message(0xFF, 0xFE), (0xFEEF_F000, 0xFE));
    assert_eq!(msix_entry(2, 0x41), [0xFEE0_2000, 0, 0x41, 0]);
}

#[test]
fn the_sata_msi_capability_is_decoded() {
    let mut bus = q35();
    let sata = found(&mut bus, bdf(0, 0x1f, 2));
    let expected = Msi {
        offset: 0x80,
        is_64bit: true,
        per_vector_mask: false,
        multiple_message_capable: 0,
    };
    assert_eq!(msi(&mut bus, &sata), Some(Ok(expected)));
    assert_eq!(expected.requested_vectors(), 1);
    let vga = found(&mut bus, bdf(0, 1, 0));
    assert_eq!(msi(&mut bus, &vga), None);
    assert_eq!(msix(&mut bus, &vga), None);
}

#[test]
fn enable_msi_programs_a_64_bit_capability_then_enables() {
    let mut bus = q35();
    let at = bdf(0, 0x1f, 2);
    let sata = found(&mut bus, at);
    let Some(Ok(cap)) = msi(&mut bus, &sata) else {
        panic!("no MSI")
    };
    bus.log.clear();
    enable_msi(&mut bus, at, &cap, 3, 0x41);
    let f = bus.function(at);
    assert_eq!(f.reg(0x84), 0xFEE0_3000);
    assert_eq!(f.reg(0x88), 0);
    assert_eq!(f.reg(0x8C), 0x41);
    assert_eq!(f.reg(0x80) >> 16 & 0x71, 0x01, "enabled with one vector");
    assert_eq!(f.reg(0x80) & 0xFFFF, 0xa805, "ID and next pointer kept");
    // Enable comes last: the address and data were written with MSI off.
    let writes: Vec<_> = bus.writes().map(|w| (w.offset, w.value)).collect();
    assert_eq!(writes.last().map(|w| w.0), Some(0x80));
    let before_enable = &writes[..writes.len() - 1];
    assert!(before_enable
        .iter()
        .all(|&(offset, value)| offset != 0x80 || value >> 16 & 1 == 0));
    assert!(before_enable.iter().any(|&(offset, _)| offset == 0x84));
}

#[test]
fn enable_msi_on_a_32_bit_capability_with_masking() {
    let at = bdf(0, 4, 0);
    let mut bus = FakeBus::default();
    // Asks for 8 vectors; firmware left MSI enabled with 4 (MME = 2).
    let f = FakeFunction::new(0x1b36, 0x0005).msi(0x50, false, true, 3);
    let head = f.reg(0x50) | (1 | 2 << 4) << 16;
    bus.add(at, f.set(0x50, head));
    let function = found(&mut bus, at);
    let Some(Ok(cap)) = msi(&mut bus, &function) else {
        panic!("no MSI")
    };
    assert_eq!(
        (
            cap.is_64bit,
            cap.per_vector_mask,
            cap.multiple_message_capable
        ),
        (false, true, 3)
    );
    assert_eq!(cap.requested_vectors(), 8);
    bus.log.clear();
    enable_msi(&mut bus, at, &cap, 1, 0x50);
    let f = bus.function(at);
    assert_eq!((f.reg(0x54), f.reg(0x58)), (0xFEE0_1000, 0x50));
    assert_eq!(f.reg(0x5C), 0xFFFF_FFFE, "only vector 0 unmasked");
    assert_eq!(f.reg(0x50) >> 16 & 0x71, 0x01, "one vector, enabled");
    // The first write switched MSI off.
    let first = bus.writes().next().map(|w| (w.offset, w.value >> 16 & 1));
    assert_eq!(first, Some((0x50, 0)));
}

#[test]
fn a_hand_built_msi_outside_config_space_is_ignored() {
    let mut bus = q35();
    let bad = Msi {
        offset: 0xF0,
        is_64bit: true,
        per_vector_mask: true,
        multiple_message_capable: 0,
    };
    enable_msi(&mut bus, bdf(0, 0x1f, 2), &bad, 0, 0x40);
    let bad = MsiX {
        offset: 0xF8,
        table_size: 1,
        table_bar: 0,
        table_offset: 0,
        pba_bar: 0,
        pba_offset: 0,
    };
    enable_msix(&mut bus, bdf(0, 0x1f, 2), &bad);
    assert_eq!(bus.writes().count(), 0);
}

#[test]
fn the_virtio_msix_capability_is_decoded() {
    let mut bus = q35();
    let virtio = found(&mut bus, bdf(0, 2, 0));
    let expected = MsiX {
        offset: 0x98,
        table_size: 3,
        table_bar: 1,
        table_offset: 0,
        pba_bar: 1,
        pba_offset: 0x800,
    };
    assert_eq!(msix(&mut bus, &virtio), Some(Ok(expected)));
    assert_eq!((expected.table_len(), expected.pba_len()), (48, 8));
    assert_eq!(msi(&mut bus, &virtio), None);
}

#[test]
fn the_largest_msix_table_fits_a_large_enough_bar() {
    let at = bdf(0, 5, 0);
    let device = |table_offset| {
        FakeFunction::new(0x1af4, 0x1041)
            .mem64(2, 0xfe00_0000, 64 << 10, false)
            .msix(0x40, 2048, (2, table_offset), (2, 0xff00))
    };
    let mut bus = FakeBus::default();
    bus.add(at, device(0x0));
    let f = found(&mut bus, at);
    assert_eq!(f.problems, []);
    let expected = MsiX {
        offset: 0x40,
        table_size: 2048,
        table_bar: 2,
        table_offset: 0,
        pba_bar: 2,
        pba_offset: 0xff00,
    };
    assert_eq!(msix(&mut bus, &f), Some(Ok(expected)));
    assert_eq!((expected.table_len(), expected.pba_len()), (0x8000, 256));
    assert_eq!(
        MsiX {
            table_size: 65,
            ..expected
        }
        .pba_len(),
        16
    );
    // 32 KiB at 0x8008 ends 8 bytes past the 64 KiB BAR.
    let mut bus = FakeBus::default();
    bus.add(at, device(0x8008));
    let f = found(&mut bus, at);
    assert!(matches!(
        msix(&mut bus, &f),
        Some(Err(pci::Problem::MsixTable { .. }))
    ));
}

#[test]
fn enable_msix_sets_enable_and_clears_the_function_mask() {
    let at = bdf(0, 2, 0);
    let mut bus = FakeBus::default();
    let f = virtio_net();
    let masked = f.reg(0x98) | 1 << 30;
    bus.add(at, f.set(0x98, masked));
    let function = found(&mut bus, at);
    let Some(Ok(cap)) = msix(&mut bus, &function) else {
        panic!("no MSI-X")
    };
    enable_msix(&mut bus, at, &cap);
    let control = bus.function(at).reg(0x98) >> 16;
    assert_eq!(
        control,
        0x8000 | 2,
        "enable set, function mask clear, table size kept"
    );
    disable_msix(&mut bus, at, &cap);
    let control = bus.function(at).reg(0x98) >> 16;
    assert_eq!(
        control,
        0x4000 | 2,
        "enable clear, function mask set, table size kept"
    );
}

#[test]
fn set_command_changes_only_the_three_enables() {
    let mut bus = q35();
    let sata = bdf(0, 0x1f, 2);
    set_command(&mut bus, sata, false, true, false);
    // Interrupt Disable (bit 10) kept, RW1C Master Abort still pending.
    assert_eq!(bus.function(sata).reg(0x04), (0x2010 << 16) | 0x0402);
    set_command(&mut bus, sata, true, false, true);
    assert_eq!(bus.function(sata).reg(0x04) & 0xFFFF, 0x0405);
    let host = bdf(0, 0, 0);
    set_command(&mut bus, host, true, true, true);
    assert_eq!(bus.function(host).reg(0x04) & 0xFFFF, 0x0007);
}

//! A fixture shaped like QEMU q35's bus 0, plus a virtio-style function.

use super::{bdf, FakeBus, FakeFunction};

/// Red Hat/QEMU subsystem vendor and ID QEMU gives its q35 devices.
const QEMU_SUBSYSTEM: (u16, u16) = (0x1af4, 0x1100);

/// 00:00.0 host bridge, 00:01.0 VGA, 00:02.0 virtio-net (MSI-X, 64-bit
/// BAR), 00:1f.0 ISA bridge (multi-function), 00:1f.2 AHCI (MSI), 00:1f.3
/// SMBus. 00:01.1 answers too although 00:01.0 is single-function (as some
/// old devices decode every function number): it must not be listed.
pub fn q35() -> FakeBus {
    let (sv, sd) = QEMU_SUBSYSTEM;
    let mut bus = FakeBus::default();
    bus.add(
        bdf(0, 0, 0),
        FakeFunction::new(0x8086, 0x29c0)
            .class(0x06, 0x00, 0x00, 0x00)
            .subsystem(sv, sd),
    );
    bus.add(
        bdf(0, 1, 0),
        FakeFunction::new(0x1234, 0x1111)
            .class(0x03, 0x00, 0x00, 0x02)
            .subsystem(sv, sd)
            .command(0x0003)
            .mem32(0, 0xfd00_0000, 16 << 20, true)
            .mem32(2, 0xfebd_4000, 4 << 10, false),
    );
    bus.add(
        bdf(0, 1, 1),
        FakeFunction::new(0x1234, 0x1111).class(0x03, 0x80, 0x00, 0x02),
    );
    bus.add(bdf(0, 2, 0), virtio_net());
    bus.add(
        bdf(0, 0x1f, 0),
        FakeFunction::new(0x8086, 0x2918)
            .class(0x06, 0x01, 0x00, 0x02)
            .multifunction()
            .subsystem(sv, sd)
            .command(0x0007),
    );
    bus.add(
        bdf(0, 0x1f, 2),
        FakeFunction::new(0x8086, 0x2922)
            .class(0x01, 0x06, 0x01, 0x02)
            .multifunction()
            .subsystem(sv, sd)
            .command(0x0407)
            // Master Abort seen: an RW1C status bit sizing must not clear.
            .status(0x2000)
            .interrupt(1, 10)
            .io(4, 0xc040, 32)
            .mem32(5, 0xfebd_5000, 4 << 10, false)
            .msi(0x80, true, false, 0)
            .capability(0xa8, 0x12, 0x0010),
    );
    bus.add(
        bdf(0, 0x1f, 3),
        FakeFunction::new(0x8086, 0x2930)
            .class(0x0c, 0x05, 0x00, 0x02)
            .multifunction()
            .subsystem(sv, sd)
            .command(0x0003)
            .interrupt(1, 10)
            .io(4, 0x0700, 64),
    );
    bus
}

/// A transitional virtio-net: I/O BAR0, 4 KiB BAR1 holding the MSI-X table
/// and PBA, 64-bit prefetchable BAR4 above 4 GiB, MSI-X first in the list,
/// then vendor capabilities (the order QEMU uses).
pub fn virtio_net() -> FakeFunction {
    FakeFunction::new(0x1af4, 0x1000)
        .class(0x02, 0x00, 0x00, 0x00)
        .subsystem(0x1af4, 0x0001)
        .command(0x0007)
        .interrupt(1, 11)
        .io(0, 0xc000, 32)
        .mem32(1, 0xfebd_1000, 4 << 10, false)
        .mem64(4, 0x8_0000_0000, 16 << 10, true)
        .msix(0x98, 3, (1, 0x000), (1, 0x800))
        .capability(0x84, 0x09, 0x1014)
        .capability(0x70, 0x09, 0x1410)
}

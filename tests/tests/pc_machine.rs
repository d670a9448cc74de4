//! QEMU's older `pc` machine (i440FX + PIIX3) has no MCFG table, so the
//! kernel must reach PCI configuration space through ports 0xCF8/0xCFC:
//! the tree then lists that chipset's functions with their IDs and BARs,
//! and the i8042 still binds.

use ferrite_tests::images::{self, KernelFlavor, Volume};
use ferrite_tests::qemu::{self, Boot, Ending, Medium};
use ferrite_tests::transcript;
use std::time::Duration;

#[test]
fn pci_through_ports_on_the_pc_machine() {
    let run = (|| {
        let kernel = images::build_kernel(KernelFlavor::Plain)?;
        let loader = images::build_loader()?;
        let image = images::scratch_dir().join("pc-machine.img");
        Volume::new(&loader, &kernel, &images::limine_conf("", &[]))?.write(&image)?;
        qemu::boot(&Boot {
            medium: Medium::Disk(&image),
            timeout: Duration::from_secs(300),
            stop_on: Some("boot complete; idle"),
            name: "pc-machine",
            // A second -machine merges into the first: type pc.
            extra_args: &["-machine", "pc"],
            script: &[],
        })
    })()
    .unwrap_or_else(|e| panic!("could not boot: {e}"));
    // IDs of QEMU's i440FX host bridge, PIIX3 ISA bridge, PIIX3 IDE (only
    // its bus-master BAR4: 16 ports) and the default e1000 (BAR0 128 KiB,
    // BAR1 64 ports).
    let needles = [
        (
            "pci0 [platform] PCI segment 0 (ports 0xcf8)",
            "configuration space was not reached through ports 0xcf8",
        ),
        ("00:00.0 [pci] 8086:1237 06.00.00 host bridge", "no i440FX"),
        ("00:01.0 [pci] 8086:7000 06.01.00 ISA bridge", "no PIIX3"),
        (
            "[pci] 8086:7010 01.01.80 IDE io ",
            "no PIIX3 IDE with its BAR4",
        ),
        ("+0x10 -> none", "the IDE bus-master BAR is not 16 ports"),
        ("[pci] 8086:100e 02.00.00 Ethernet mem ", "no e1000"),
        ("+0x20000 io ", "the e1000's BAR0 is not 128 KiB"),
        ("keyboard bound to i8042", "the keyboard did not bind"),
        ("boot complete; idle", "the kernel did not reach idle"),
    ];
    if let Err(report) = transcript::expect_lines(&run, &needles, Ending::Stopped) {
        panic!("{report}");
    }
}

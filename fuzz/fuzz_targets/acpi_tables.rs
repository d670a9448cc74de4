//! An ACPI table from the fuzzer, through every reader of tables the
//! loader and the kernel have: header and checksum, RSDT/XSDT entries,
//! MADT (I/O APICs, CPUs), DMAR, and the DSDT's `\_S5` and `_PRT`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = handoff::acpi::sdt_header(data);
    for sig in [b"APIC", b"XSDT", b"RSDT", b"DSDT", b"DMAR"] {
        let _ = handoff::acpi::check_table(data, sig);
    }
    for wide in [false, true] {
        for _ in handoff::acpi::root_entries(data, wide).take(1024) {}
    }
    for _ in handoff::acpi::madt_io_apics(data).take(1024) {}
    let _ = handoff::cpus::madt_cpus(data);
    let _ = handoff::acpi::dmar_x2apic_opt_out(data);
    if let Ok(body) = dsdt::table_body(data) {
        let _ = dsdt::find_s5(body);
        let _ = dsdt::pci_routes(body);
    }
    let _ = dsdt::find_s5(data);
    let _ = dsdt::pci_routes(data);
});

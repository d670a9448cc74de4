//! Human names of class and subclass codes.
//!
//! Codes from the PCI Code and ID Assignment Specification 1.11 §1 (base
//! class and subclass tables; PCI 3.0 Appendix D is the older copy).

/// A short name for a base class and subclass ("host bridge", "SATA",
/// "VGA"). A subclass this table does not know falls back to the name of
/// its base class; an unknown base class is "unknown".
pub fn class_name(class: u8, subclass: u8) -> &'static str {
    let name = match (class, subclass) {
        (0x00, 0x01) => Some("VGA-compatible unclassified"),
        (0x01, 0x00) => Some("SCSI"),
        (0x01, 0x01) => Some("IDE"),
        (0x01, 0x02) => Some("floppy"),
        (0x01, 0x03) => Some("IPI bus"),
        (0x01, 0x04) => Some("RAID"),
        (0x01, 0x05) => Some("ATA"),
        (0x01, 0x06) => Some("SATA"),
        (0x01, 0x07) => Some("SAS"),
        (0x01, 0x08) => Some("non-volatile memory"),
        (0x01, 0x09) => Some("UFS"),
        (0x02, 0x00) => Some("Ethernet"),
        (0x02, 0x01) => Some("Token Ring"),
        (0x02, 0x02) => Some("FDDI"),
        (0x02, 0x03) => Some("ATM"),
        (0x02, 0x04) => Some("ISDN"),
        (0x02, 0x07) => Some("InfiniBand"),
        (0x03, 0x00) => Some("VGA"),
        (0x03, 0x01) => Some("XGA"),
        (0x03, 0x02) => Some("3D controller"),
        (0x04, 0x00) => Some("video"),
        (0x04, 0x01) => Some("audio"),
        (0x04, 0x02) => Some("telephony"),
        (0x04, 0x03) => Some("HD audio"),
        (0x05, 0x00) => Some("RAM"),
        (0x05, 0x01) => Some("flash"),
        (0x06, 0x00) => Some("host bridge"),
        (0x06, 0x01) => Some("ISA bridge"),
        (0x06, 0x02) => Some("EISA bridge"),
        (0x06, 0x03) => Some("MCA bridge"),
        (0x06, 0x04) => Some("PCI-to-PCI bridge"),
        (0x06, 0x05) => Some("PCMCIA bridge"),
        (0x06, 0x06) => Some("NuBus bridge"),
        (0x06, 0x07) => Some("CardBus bridge"),
        (0x06, 0x08) => Some("RACEway bridge"),
        (0x06, 0x09) => Some("semi-transparent PCI-to-PCI bridge"),
        (0x06, 0x0A) => Some("InfiniBand-to-PCI bridge"),
        (0x07, 0x00) => Some("serial"),
        (0x07, 0x01) => Some("parallel"),
        (0x07, 0x02) => Some("multiport serial"),
        (0x07, 0x03) => Some("modem"),
        (0x07, 0x05) => Some("smart card"),
        (0x08, 0x00) => Some("interrupt controller"),
        (0x08, 0x01) => Some("DMA controller"),
        (0x08, 0x02) => Some("timer"),
        (0x08, 0x03) => Some("RTC"),
        (0x08, 0x04) => Some("PCI hot-plug controller"),
        (0x08, 0x05) => Some("SD host controller"),
        (0x08, 0x06) => Some("IOMMU"),
        (0x09, 0x00) => Some("keyboard"),
        (0x09, 0x01) => Some("digitizer"),
        (0x09, 0x02) => Some("mouse"),
        (0x09, 0x03) => Some("scanner"),
        (0x09, 0x04) => Some("gameport"),
        (0x0C, 0x00) => Some("FireWire"),
        (0x0C, 0x01) => Some("ACCESS.bus"),
        (0x0C, 0x02) => Some("SSA"),
        (0x0C, 0x03) => Some("USB"),
        (0x0C, 0x04) => Some("Fibre Channel"),
        (0x0C, 0x05) => Some("SMBus"),
        (0x0C, 0x06) => Some("InfiniBand"),
        (0x0C, 0x07) => Some("IPMI"),
        (0x0C, 0x08) => Some("SERCOS"),
        (0x0C, 0x09) => Some("CANbus"),
        _ => None,
    };
    name.unwrap_or(match class {
        0x00 => "unclassified",
        0x01 => "mass storage",
        0x02 => "network",
        0x03 => "display",
        0x04 => "multimedia",
        0x05 => "memory controller",
        0x06 => "bridge",
        0x07 => "communication",
        0x08 => "system peripheral",
        0x09 => "input",
        0x0A => "docking station",
        0x0B => "processor",
        0x0C => "serial bus",
        0x0D => "wireless",
        0x0E => "intelligent I/O",
        0x0F => "satellite communication",
        0x10 => "encryption",
        0x11 => "signal processing",
        0x12 => "processing accelerator",
        0x13 => "non-essential instrumentation",
        0x40 => "coprocessor",
        0xFF => "unassigned class",
        _ => "unknown",
    })
}

#[cfg(test)]
mod tests {
    use super::class_name;

    #[test]
    fn q35_classes_have_their_names() {
        assert_eq!(class_name(0x06, 0x00), "host bridge");
        assert_eq!(class_name(0x06, 0x01), "ISA bridge");
        assert_eq!(class_name(0x01, 0x06), "SATA");
        assert_eq!(class_name(0x03, 0x00), "VGA");
        assert_eq!(class_name(0x0C, 0x05), "SMBus");
        assert_eq!(class_name(0x02, 0x00), "Ethernet");
    }

    #[test]
    fn unknown_subclass_falls_back_to_the_base_class() {
        assert_eq!(class_name(0x06, 0x80), "bridge");
        assert_eq!(class_name(0x01, 0x80), "mass storage");
        assert_eq!(class_name(0x77, 0x00), "unknown");
    }
}

//! GUIDs in VMBus memory order, and the device classes of offers.
//!
//! A GUID travels as u32 data1, u16 data2, u16 data3 (each little-endian)
//! followed by the eight remaining bytes in text order (facts sheet,
//! "Conventions"). [`Guid`] stores exactly those 16 bytes, so a GUID read
//! out of an OFFERCHANNEL message is copied, never reshuffled. The class
//! GUIDs are the table of sheet §5.

use core::fmt;

/// A GUID as its 16 bytes appear in VMBus messages.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Guid(pub [u8; 16]);

/// Why a GUID's text form was refused by [`Guid::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuidError {
    /// The text is not 36 characters long.
    Length,
    /// A dash is missing at offset 8, 13, 18 or 23.
    Dash,
    /// A character that should be a hex digit is not one.
    Digit,
}

impl fmt::Display for GuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuidError::Length => f.write_str("GUID text is not 36 characters"),
            GuidError::Dash => f.write_str("GUID text lacks a dash"),
            GuidError::Digit => f.write_str("GUID text has a non-hex digit"),
        }
    }
}

/// Offsets of the dashes in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
const DASHES: [usize; 4] = [8, 13, 18, 23];

const fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl Guid {
    /// The all-zero GUID.
    pub const ZERO: Guid = Guid([0; 16]);

    /// Builds a GUID from its four text-form fields.
    pub const fn from_fields(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Guid {
        let a = data1.to_le_bytes();
        let b = data2.to_le_bytes();
        let c = data3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], data4[0], data4[1], data4[2], data4[3],
            data4[4], data4[5], data4[6], data4[7],
        ])
    }

    /// The first text field (`data1`).
    pub const fn data1(&self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// The second text field (`data2`).
    pub const fn data2(&self) -> u16 {
        u16::from_le_bytes([self.0[4], self.0[5]])
    }

    /// The third text field (`data3`).
    pub const fn data3(&self) -> u16 {
        u16::from_le_bytes([self.0[6], self.0[7]])
    }

    /// Parses the usual text form, upper or lower case, without braces.
    pub const fn parse(text: &str) -> Result<Guid, GuidError> {
        let s = text.as_bytes();
        if s.len() != 36 {
            return Err(GuidError::Length);
        }
        // Sixteen values in text order: 4 + 2 + 2 + 2 + 6 bytes.
        let mut text_order = [0u8; 16];
        let mut pos = 0;
        let mut out = 0;
        while pos < 36 {
            if pos == DASHES[0] || pos == DASHES[1] || pos == DASHES[2] || pos == DASHES[3] {
                if s[pos] != b'-' {
                    return Err(GuidError::Dash);
                }
                pos += 1;
                continue;
            }
            let (hi, lo) = match (hex_value(s[pos]), hex_value(s[pos + 1])) {
                (Some(hi), Some(lo)) => (hi, lo),
                _ => return Err(GuidError::Digit),
            };
            text_order[out] = hi << 4 | lo;
            out += 1;
            pos += 2;
        }
        let t = text_order;
        Ok(Guid([
            t[3], t[2], t[1], t[0], t[5], t[4], t[7], t[6], t[8], t[9], t[10], t[11], t[12], t[13],
            t[14], t[15],
        ]))
    }

    /// Parses a GUID written in this crate's source; a typo fails the build.
    const fn known(text: &str) -> Guid {
        match Guid::parse(text) {
            Ok(guid) => guid,
            Err(_) => panic!("malformed GUID constant"),
        }
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            self.data1(),
            self.data2(),
            self.data3(),
            d[8],
            d[9],
            d[10],
            d[11],
            d[12],
            d[13],
            d[14],
            d[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl core::str::FromStr for Guid {
    type Err = GuidError;
    fn from_str(s: &str) -> Result<Guid, GuidError> {
        Guid::parse(s)
    }
}

/// Synthetic keyboard (Linux HV_KBD), sheet §5.
pub const KEYBOARD: Guid = Guid::known("f912ad6d-2b17-48ea-bd65-f927a61c7684");
/// Synthetic mouse, SynthHID (HV_MOUSE).
pub const MOUSE: Guid = Guid::known("cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a");
/// Synthetic video, synthvid (HV_SYNTHVID).
pub const SYNTHVID: Guid = Guid::known("da0a7802-e377-4aac-8e77-0558eb1073f8");
/// SCSI controller, storvsc (HV_SCSI).
pub const SCSI: Guid = Guid::known("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
/// IDE accelerator, storvsc for Gen1 IDE disks (HV_IDE).
pub const IDE: Guid = Guid::known("32412632-86cb-44a2-9b5c-50d1417354f5");
/// Network adapter, netvsc (HV_NIC).
pub const NETWORK: Guid = Guid::known("f8615163-df3e-46c5-913f-f2d2f965ed0e");
/// Shutdown integration component (HV_SHUTDOWN).
pub const SHUTDOWN: Guid = Guid::known("0e0b6031-5213-4934-818b-38d90ced39db");
/// Time synchronisation integration component (HV_TS).
pub const TIME_SYNC: Guid = Guid::known("9527e630-d0ae-497b-adce-e80ab0175caf");
/// Heartbeat integration component (HV_HEART_BEAT).
pub const HEARTBEAT: Guid = Guid::known("57164f39-9115-4e78-ab55-382f3bd5422d");
/// Key-value pair exchange integration component (HV_KVP).
pub const KVP: Guid = Guid::known("a9a0f4e7-5a45-4d96-b827-8a841e8c03e6");
/// Volume shadow copy (backup) integration component (HV_VSS).
pub const VSS: Guid = Guid::known("35fa2e29-ea23-4236-96ae-3a6ebacba440");
/// PCI pass-through (HV_PCIE).
pub const PCI: Guid = Guid::known("44c4f61d-4444-4400-9d52-802e27ede19f");
/// Dynamic memory (HV_DM; Linux only per the sheet).
pub const DYNAMIC_MEMORY: Guid = Guid::known("525074dc-8985-46e2-8057-a307dc18a502");
/// VMBus file system, vmbfs (HV_IMC).
pub const VMBFS: Guid = Guid::known("c376c1c3-d276-48d2-90a9-c04748072c60");

/// Client id that Hyper-V's UEFI sends in a 6.0 INITIATE_CONTACT (sheet §3.4).
pub const MSVM_CLIENT_ID: Guid = Guid::known("18dd3964-3e8a-4e42-86fa-c8e6b191ee0e");

/// Every class GUID of sheet §5 with a short name for logs.
const NAMES: [(Guid, &str); 14] = [
    (KEYBOARD, "keyboard"),
    (MOUSE, "mouse"),
    (SYNTHVID, "synthvid"),
    (SCSI, "scsi"),
    (IDE, "ide"),
    (NETWORK, "network"),
    (SHUTDOWN, "shutdown-ic"),
    (TIME_SYNC, "timesync-ic"),
    (HEARTBEAT, "heartbeat-ic"),
    (KVP, "kvp-ic"),
    (VSS, "vss-ic"),
    (PCI, "pci"),
    (DYNAMIC_MEMORY, "dynamic-memory"),
    (VMBFS, "vmbfs"),
];

/// A short name for a §5 class GUID, for log lines; `None` if unlisted.
pub fn class_name(class: &Guid) -> Option<&'static str> {
    NAMES.iter().find(|(g, _)| g == class).map(|(_, n)| *n)
}

/// The device classes Ferrite has drivers for; everything else is
/// [`DeviceClass::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceClass {
    /// Synthetic keyboard.
    Keyboard,
    /// Synthetic mouse (SynthHID).
    Mouse,
    /// Synthetic video (synthvid).
    Synthvid,
    /// SCSI controller (storvsc).
    Scsi,
    /// Network adapter (netvsc).
    Network,
    /// Any other class, with its GUID.
    Unknown(Guid),
}

impl DeviceClass {
    /// Classifies an offer's `if_type`.
    pub fn from_guid(class: Guid) -> DeviceClass {
        match class {
            KEYBOARD => DeviceClass::Keyboard,
            MOUSE => DeviceClass::Mouse,
            SYNTHVID => DeviceClass::Synthvid,
            SCSI => DeviceClass::Scsi,
            NETWORK => DeviceClass::Network,
            other => DeviceClass::Unknown(other),
        }
    }

    /// The class GUID.
    pub fn guid(self) -> Guid {
        match self {
            DeviceClass::Keyboard => KEYBOARD,
            DeviceClass::Mouse => MOUSE,
            DeviceClass::Synthvid => SYNTHVID,
            DeviceClass::Scsi => SCSI,
            DeviceClass::Network => NETWORK,
            DeviceClass::Unknown(g) => g,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn keyboard_guid_memory_order_matches_sheet() {
        // Sheet "Conventions" example.
        let want = [
            0x6d, 0xad, 0x12, 0xf9, 0x17, 0x2b, 0xea, 0x48, 0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c,
            0x76, 0x84,
        ];
        assert_eq!(KEYBOARD.0, want);
        assert_eq!(
            KEYBOARD,
            Guid::from_fields(
                0xf912ad6d,
                0x2b17,
                0x48ea,
                [0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84]
            )
        );
    }

    #[test]
    fn text_round_trip_and_case() {
        let g = Guid::parse("D34B2567-B9B6-42B9-8778-0A4EC0B955BF").unwrap();
        assert_eq!(g.to_string(), "d34b2567-b9b6-42b9-8778-0a4ec0b955bf");
        for (guid, _) in NAMES {
            assert_eq!(Guid::parse(&guid.to_string()), Ok(guid));
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Guid::parse(""), Err(GuidError::Length));
        assert_eq!(
            Guid::parse("f912ad6d_2b17-48ea-bd65-f927a61c7684"),
            Err(GuidError::Dash)
        );
        assert_eq!(
            Guid::parse("f912ad6d-2b17-48ea-bd65-f927a61c768g"),
            Err(GuidError::Digit)
        );
        // Multi-byte characters must not slip through or panic.
        assert!(Guid::parse("f912ad6d-2b17-48ea-bd65-f927a61c76é").is_err());
    }

    #[test]
    fn classes() {
        assert_eq!(DeviceClass::from_guid(SCSI), DeviceClass::Scsi);
        assert_eq!(DeviceClass::from_guid(NETWORK).guid(), NETWORK);
        assert_eq!(
            DeviceClass::from_guid(HEARTBEAT),
            DeviceClass::Unknown(HEARTBEAT)
        );
        assert_eq!(class_name(&HEARTBEAT), Some("heartbeat-ic"));
        assert_eq!(class_name(&Guid::ZERO), None);
    }
}

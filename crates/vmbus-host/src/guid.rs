//! GUIDs in their wire form and the device class GUIDs of sheet §5.
//!
//! In memory a GUID is u32 data1, u16 data2, u16 data3 (each little-endian)
//! followed by the remaining eight bytes in text order (sheet, "Conventions").

use core::fmt;

/// A GUID, kept as its 16 wire bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Guid(pub [u8; 16]);

const fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        // A malformed literal fails the build (this only runs in consts).
        _ => panic!("bad hex digit in GUID literal"),
    }
}

const fn byte_at(s: &[u8], i: usize) -> u8 {
    (hex(s[i]) << 4) | hex(s[i + 1])
}

impl Guid {
    /// Parses the usual text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    ///
    /// Meant for `const` items: a malformed literal stops the build.
    pub const fn from_text(text: &str) -> Guid {
        let s = text.as_bytes();
        assert!(s.len() == 36, "GUID literal must be 36 characters");
        let mut b = [0u8; 16];
        // data1, little-endian
        b[0] = byte_at(s, 6);
        b[1] = byte_at(s, 4);
        b[2] = byte_at(s, 2);
        b[3] = byte_at(s, 0);
        // data2, data3, little-endian
        b[4] = byte_at(s, 11);
        b[5] = byte_at(s, 9);
        b[6] = byte_at(s, 16);
        b[7] = byte_at(s, 14);
        // data4, text order
        b[8] = byte_at(s, 19);
        b[9] = byte_at(s, 21);
        let mut i = 0;
        while i < 6 {
            b[10 + i] = byte_at(s, 24 + 2 * i);
            i += 1;
        }
        Guid(b)
    }

    /// The 16 wire bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// Builds a GUID from 16 wire bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Guid> {
        let mut g = [0u8; 16];
        g.copy_from_slice(b.get(..16)?);
        Some(Guid(g))
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9]
        )?;
        for x in &b[10..] {
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

/// Synthetic keyboard class (§5).
pub const KEYBOARD_CLASS: Guid = Guid::from_text("f912ad6d-2b17-48ea-bd65-f927a61c7684");
/// Synthetic mouse (SynthHID) class (§5).
pub const MOUSE_CLASS: Guid = Guid::from_text("cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a");
/// Synthetic video class (§5).
pub const SYNTHVID_CLASS: Guid = Guid::from_text("da0a7802-e377-4aac-8e77-0558eb1073f8");
/// SCSI controller class (§5).
pub const SCSI_CLASS: Guid = Guid::from_text("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
/// Network adapter class (§5).
pub const NETWORK_CLASS: Guid = Guid::from_text("f8615163-df3e-46c5-913f-f2d2f965ed0e");

/// OpenVMM's keyboard instance GUID (§5), used by the §9.2 vector.
pub const KEYBOARD_INSTANCE: Guid = Guid::from_text("d34b2567-b9b6-42b9-8778-0a4ec0b955bf");
/// OpenVMM's mouse instance GUID (§5).
pub const MOUSE_INSTANCE: Guid = Guid::from_text("58f75a6d-d949-4320-99e1-a2a2576d581c");
/// OpenVMM's video instance GUID (§5).
pub const SYNTHVID_INSTANCE: Guid = Guid::from_text("5620e0c7-8062-4dce-aeb7-520c7ef76171");
/// An instance GUID this simulator uses for its SCSI controller.
pub const SCSI_INSTANCE: Guid = Guid::from_text("f1e5c0de-0001-4000-8000-5c5100000001");
/// An instance GUID this simulator uses for its network adapter.
pub const NETWORK_INSTANCE: Guid = Guid::from_text("f1e5c0de-0002-4000-8000-4e4500000001");

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn keyboard_guid_matches_the_sheet_example() {
        // Sheet "Conventions": f912ad6d-2b17-48ea-bd65-f927a61c7684.
        assert_eq!(
            KEYBOARD_CLASS.to_bytes(),
            [
                0x6d, 0xad, 0x12, 0xf9, 0x17, 0x2b, 0xea, 0x48, 0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c,
                0x76, 0x84
            ]
        );
        assert_eq!(
            format!("{KEYBOARD_CLASS:?}"),
            "f912ad6d-2b17-48ea-bd65-f927a61c7684"
        );
    }
}

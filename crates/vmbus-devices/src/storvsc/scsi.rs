//! SCSI commands (CDBs), their result data and sense data (SPC-4 / SBC-3).

/// Which way a command moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirection {
    /// Host memory → device (writes).
    ToDevice,
    /// Device → host memory (reads, INQUIRY, READ CAPACITY).
    FromDevice,
    /// No data phase.
    None,
}

/// The SCSI commands this driver issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// TEST UNIT READY (0x00).
    TestUnitReady,
    /// INQUIRY (0x12), standard data.
    Inquiry {
        /// Allocation length.
        alloc_len: u16,
    },
    /// READ CAPACITY(10) (0x25), 8 bytes of data.
    ReadCapacity10,
    /// READ CAPACITY(16) (0x9E / 0x10), 32 bytes of data.
    ReadCapacity16,
    /// READ(10) (0x28).
    Read10 {
        /// First block.
        lba: u32,
        /// Block count.
        blocks: u16,
    },
    /// READ(16) (0x88).
    Read16 {
        /// First block.
        lba: u64,
        /// Block count.
        blocks: u32,
    },
    /// WRITE(10) (0x2A).
    Write10 {
        /// First block.
        lba: u32,
        /// Block count.
        blocks: u16,
    },
    /// WRITE(16) (0x8A).
    Write16 {
        /// First block.
        lba: u64,
        /// Block count.
        blocks: u32,
    },
    /// SYNCHRONIZE CACHE(10) (0x35) of the whole medium.
    SynchronizeCache10,
}

/// READ CAPACITY(16) allocation length.
pub const READ_CAPACITY16_LEN: u32 = 32;
/// READ CAPACITY(10) data length.
pub const READ_CAPACITY10_LEN: u32 = 8;
/// Standard INQUIRY data the driver asks for.
pub const INQUIRY_LEN: u16 = 36;

impl Command {
    /// The CDB bytes (6, 10 or 16 used of 16) and their count.
    pub fn cdb(&self) -> ([u8; 16], usize) {
        let mut c = [0u8; 16];
        let len = match *self {
            Self::TestUnitReady => 6,
            Self::Inquiry { alloc_len } => {
                c[0] = 0x12;
                c[3..5].copy_from_slice(&alloc_len.to_be_bytes());
                6
            }
            Self::ReadCapacity10 => {
                c[0] = 0x25;
                10
            }
            Self::ReadCapacity16 => {
                c[0] = 0x9E;
                c[1] = 0x10;
                c[10..14].copy_from_slice(&READ_CAPACITY16_LEN.to_be_bytes());
                16
            }
            Self::Read10 { lba, blocks } | Self::Write10 { lba, blocks } => {
                c[0] = if matches!(self, Self::Read10 { .. }) {
                    0x28
                } else {
                    0x2A
                };
                c[2..6].copy_from_slice(&lba.to_be_bytes());
                c[7..9].copy_from_slice(&blocks.to_be_bytes());
                10
            }
            Self::Read16 { lba, blocks } | Self::Write16 { lba, blocks } => {
                c[0] = if matches!(self, Self::Read16 { .. }) {
                    0x88
                } else {
                    0x8A
                };
                c[2..10].copy_from_slice(&lba.to_be_bytes());
                c[10..14].copy_from_slice(&blocks.to_be_bytes());
                16
            }
            Self::SynchronizeCache10 => {
                c[0] = 0x35;
                10
            }
        };
        (c, len)
    }

    /// Data direction.
    pub fn direction(&self) -> DataDirection {
        match self {
            Self::TestUnitReady | Self::SynchronizeCache10 => DataDirection::None,
            Self::Write10 { .. } | Self::Write16 { .. } => DataDirection::ToDevice,
            _ => DataDirection::FromDevice,
        }
    }

    /// Blocks moved by a READ/WRITE, None for other commands.
    pub fn blocks(&self) -> Option<u64> {
        match *self {
            Self::Read10 { blocks, .. } | Self::Write10 { blocks, .. } => Some(u64::from(blocks)),
            Self::Read16 { blocks, .. } | Self::Write16 { blocks, .. } => Some(u64::from(blocks)),
            _ => None,
        }
    }

    /// First block of a READ/WRITE.
    pub fn lba(&self) -> Option<u64> {
        match *self {
            Self::Read10 { lba, .. } | Self::Write10 { lba, .. } => Some(u64::from(lba)),
            Self::Read16 { lba, .. } | Self::Write16 { lba, .. } => Some(lba),
            _ => None,
        }
    }
}

/// The parts of standard INQUIRY data the driver checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InquiryData {
    /// Peripheral qualifier (bits 7:5 of byte 0); 0 = device connected.
    pub qualifier: u8,
    /// Peripheral device type (bits 4:0); 0 = direct-access block device.
    pub device_type: u8,
    /// T10 vendor identification (bytes 8..16).
    pub vendor: [u8; 8],
    /// Product identification (bytes 16..32).
    pub product: [u8; 16],
}

impl InquiryData {
    /// Parses at least 36 bytes of standard INQUIRY data.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < 36 {
            return None;
        }
        let mut vendor = [0u8; 8];
        vendor.copy_from_slice(&b[8..16]);
        let mut product = [0u8; 16];
        product.copy_from_slice(&b[16..32]);
        Some(Self {
            qualifier: b[0] >> 5,
            device_type: b[0] & 0x1F,
            vendor,
            product,
        })
    }
}

/// A disk's size from READ CAPACITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Last addressable block (0xFFFF_FFFF from the 10-byte form means
    /// "too large, use READ CAPACITY(16)").
    pub last_lba: u64,
    /// Bytes per block.
    pub block_len: u32,
}

impl Capacity {
    /// Parses READ CAPACITY(10) data (8 bytes).
    pub fn parse10(b: &[u8]) -> Option<Self> {
        let b = b.get(..8)?;
        Some(Self {
            last_lba: u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            block_len: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        })
    }

    /// Parses READ CAPACITY(16) data (the first 12 of 32 bytes).
    pub fn parse16(b: &[u8]) -> Option<Self> {
        let b = b.get(..12)?;
        let mut lba = [0u8; 8];
        lba.copy_from_slice(&b[..8]);
        Some(Self {
            last_lba: u64::from_be_bytes(lba),
            block_len: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        })
    }
}

/// Sense key NOT READY.
pub const SENSE_NOT_READY: u8 = 0x2;
/// Sense key UNIT ATTENTION.
pub const SENSE_UNIT_ATTENTION: u8 = 0x6;

/// Decoded sense data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sense {
    /// Response code (0x70/0x71 fixed, 0x72/0x73 descriptor format).
    pub response_code: u8,
    /// Sense key.
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
}

/// Decodes fixed- or descriptor-format sense data, limited to the length
/// the data's own additional-length byte gives (and to `bytes`). None for
/// an unknown response code or data too short to hold a sense key.
pub fn decode_sense(bytes: &[u8]) -> Option<Sense> {
    let response_code = bytes.first()? & 0x7F;
    // Byte 7 is the additional length in both formats (SPC-4 4.5.2/4.5.3).
    let valid = bytes
        .len()
        .min(8 + usize::from(*bytes.get(7).unwrap_or(&0)));
    let b = &bytes[..valid];
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    match response_code {
        0x70 | 0x71 => Some(Sense {
            response_code,
            key: *b.get(2)? & 0x0F,
            asc: at(12),
            ascq: at(13),
        }),
        0x72 | 0x73 => Some(Sense {
            response_code,
            key: *b.get(1)? & 0x0F,
            asc: at(2),
            ascq: at(3),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdbs() {
        let (c, n) = Command::Read10 {
            lba: 0x01020304,
            blocks: 8,
        }
        .cdb();
        assert_eq!(&c[..n], &[0x28, 0, 1, 2, 3, 4, 0, 0, 8, 0]);
        let (c, n) = Command::Write16 {
            lba: 0x1_0000_0000,
            blocks: 0x10000,
        }
        .cdb();
        assert_eq!(
            &c[..n],
            &[0x8A, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        );
        let (c, n) = Command::ReadCapacity16.cdb();
        assert_eq!(
            &c[..n],
            &[0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]
        );
        let (c, n) = Command::Inquiry { alloc_len: 36 }.cdb();
        assert_eq!(&c[..n], &[0x12, 0, 0, 0, 36, 0]);
        assert_eq!(Command::SynchronizeCache10.cdb().1, 10);
        assert_eq!(Command::TestUnitReady.cdb(), ([0; 16], 6));
    }

    #[test]
    fn sense_formats() {
        let fixed = [
            0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0,
        ];
        assert_eq!(
            decode_sense(&fixed),
            Some(Sense {
                response_code: 0x70,
                key: 6,
                asc: 0x29,
                ascq: 0
            })
        );
        // Additional length 4: ASC/ASCQ lie beyond the valid bytes.
        let short = [0xF0, 0, 0x02, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0x3A, 0x01];
        assert_eq!(decode_sense(&short).map(|s| (s.key, s.asc)), Some((2, 0)));
        let desc = [0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0];
        assert_eq!(decode_sense(&desc).map(|s| (s.key, s.asc)), Some((5, 0x24)));
        assert_eq!(decode_sense(&[0x00, 1, 2]), None);
        assert_eq!(decode_sense(&[]), None);
        assert_eq!(decode_sense(&[0x70, 0]), None);
    }

    #[test]
    fn capacity() {
        let c = Capacity::parse10(&[0, 0, 0xFF, 0xFF, 0, 0, 2, 0]).unwrap();
        assert_eq!((c.last_lba, c.block_len), (0xFFFF, 512));
        assert!(Capacity::parse10(&[0; 7]).is_none());
        let c = Capacity::parse16(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0]).unwrap();
        assert_eq!((c.last_lba, c.block_len), (1 << 32, 4096));
    }
}

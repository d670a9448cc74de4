//! Request scan and base-revision handshake over the loaded image (§2–§4).

use crate::bytes::{put_u64, u64_at};
use alloc::vec::Vec;
use core::fmt;

/// Words 0–1 of every request ID (§1).
pub const COMMON_MAGIC: [u64; 2] = [0xc7b1_dd30_df4c_8b88, 0x0a82_e883_a194_f07b];
/// Requests start marker (§3).
pub const START_MARKER: [u64; 4] = [
    0xf6b8_f4b3_9de7_d1ae,
    0xfab9_1a69_40fc_b9cf,
    0x785c_6ed0_15d3_e316,
    0x181e_920a_7852_b9d9,
];
/// Requests end marker (§3).
pub const END_MARKER: [u64; 2] = [0xadc0_e053_1bb1_0d03, 0x9572_709f_3176_4c62];
/// Words 0–1 of the base revision tag (§2).
pub const BASE_REVISION_MAGIC: [u64; 2] = [0xf956_2b2d_5c95_a6c8, 0x6a7b_3849_4453_6bdc];
/// The base revision this loader implements (§10).
pub const SUPPORTED_BASE_REVISION: u64 = 2;
/// Limine 8.2 accepts at most this many requests (§3).
pub const MAX_REQUESTS: usize = 128;
/// Offset of `revision` and `response` in every request header (§1).
pub const REVISION_OFFSET: usize = 32;
/// Offset of the `response` pointer in every request header (§1).
pub const RESPONSE_OFFSET: usize = 40;
/// Size of the common request header (§1).
pub const HEADER_SIZE: usize = 48;

macro_rules! features {
    ($($(#[$doc:meta])* $name:ident = [$w2:expr, $w3:expr], $size:expr;)*) => {
        /// A request feature we recognise (§4, words 2–3 of the ID).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Feature { $($(#[$doc])* $name,)* }

        impl Feature {
            /// All features, for iteration.
            pub const ALL: &'static [Feature] = &[$(Feature::$name,)*];

            /// Words 2–3 of the request ID (§4).
            #[must_use]
            pub const fn id(self) -> [u64; 2] {
                match self { $(Feature::$name => [$w2, $w3],)* }
            }

            /// Bytes of the request we read or write, at the request
            /// revisions we handle (§4 "Request sizes").
            #[must_use]
            pub const fn request_size(self) -> usize {
                match self { $(Feature::$name => $size,)* }
            }

            /// Name for log lines.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(Feature::$name => stringify!($name),)* }
            }
        }
    };
}

features! {
    /// Bootloader name and version.
    BootloaderInfo = [0xf550_38d8_e2a1_202f, 0x2794_26fc_f5f5_9740], 48;
    /// Firmware type.
    FirmwareType = [0x8c2f_75d9_0bef_28a8, 0x7045_a468_8eac_00c3], 48;
    /// Entry stack size.
    StackSize = [0x224e_f046_0a8e_8926, 0xe1cb_0fc2_5f46_ea3d], 56;
    /// Higher-half direct map offset.
    Hhdm = [0x48dc_f1cb_8ad2_b852, 0x6398_4e95_9a98_244b], 48;
    /// Framebuffers.
    Framebuffer = [0x9d58_27dc_d881_dd75, 0xa314_8604_f6fa_b11b], 48;
    /// Paging mode (revision ≥ 1 adds max/min mode).
    PagingMode = [0x95c1_a0ed_ab09_44cb, 0xa4e5_cb38_42f7_488a], 56;
    /// Multiprocessor start-up; `flags` at 48 (bit 0: try x2APIC).
    Mp = [0x95a6_7b81_9a1b_857e, 0xa0b6_1b72_3b6a_73e0], 56;
    /// Memory map.
    MemoryMap = [0x67cf_3d9d_378a_806f, 0xe304_acdf_c50c_3c62], 48;
    /// Entry point override.
    EntryPoint = [0x13d8_6c03_5a1c_d3e1, 0x2b0c_aa89_d8f3_026a], 56;
    /// Executable (kernel) file.
    ExecutableFile = [0xad97_e90e_83f1_ed67, 0x31eb_5d1c_5ff2_3b69], 48;
    /// Modules (revision ≥ 1 adds internal modules).
    Modules = [0x3e7e_2797_02be_32af, 0xca1c_4f3b_d128_0cee], 48;
    /// ACPI RSDP.
    Rsdp = [0xc5e7_7b6b_397e_7b43, 0x2763_7845_accd_cf3c], 48;
    /// SMBIOS entry points.
    Smbios = [0x9e90_46f1_1e09_5391, 0xaa4a_520f_efbd_e5ee], 48;
    /// EFI system table.
    EfiSystemTable = [0x5ceb_a516_3eaa_f6d6, 0x0a69_8161_0cf6_5fcc], 48;
    /// EFI memory map.
    EfiMemoryMap = [0x7df6_2a43_1d68_72d5, 0xa4fc_dfb3_e573_06c8], 48;
    /// Date at boot (boot time).
    DateAtBoot = [0x5027_46e1_84c0_88aa, 0xfbc5_ec83_e632_7893], 48;
    /// Executable (kernel) address.
    ExecutableAddress = [0x71ba_7686_3cc5_5f63, 0xb264_4a48_c516_a487], 48;
    /// Executable command line (Limine ≥ 9.0; not served, like 8.2).
    ExecutableCmdline = [0x4b16_1536_e598_651e, 0xb390_ad4a_2f1f_303a], 48;
    /// Device tree blob (not on x86 PCs; not served).
    DeviceTree = [0xb40d_db48_fb54_bac7, 0x5450_8149_3f81_ffb7], 48;
}

impl Feature {
    /// Looks a feature up by words 2–3 of a request ID.
    #[must_use]
    pub fn from_id(id: [u64; 2]) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.id() == id)
    }
}

/// A request found in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundRequest {
    /// Byte offset of the request in the loaded image.
    pub offset: usize,
    /// Words 2–3 of its ID.
    pub id: [u64; 2],
    /// The recognised feature, if any.
    pub feature: Option<Feature>,
    /// Request `revision`.
    pub revision: u64,
}

/// The base revision tag found in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseRevisionTag {
    /// Byte offset of the tag in the loaded image.
    pub offset: usize,
    /// Word 2: the revision the kernel asks for.
    pub requested: u64,
}

/// Everything the scan found between the markers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanResult {
    /// The base revision tag, if any.
    pub base_revision: Option<BaseRevisionTag>,
    /// Requests in image order.
    pub requests: Vec<FoundRequest>,
    /// Whether a start marker was seen.
    pub saw_start_marker: bool,
    /// Whether an end marker stopped the scan.
    pub saw_end_marker: bool,
}

impl ScanResult {
    /// The request for `feature`, if the kernel sent one.
    #[must_use]
    pub fn get(&self, feature: Feature) -> Option<FoundRequest> {
        self.requests
            .iter()
            .copied()
            .find(|r| r.feature == Some(feature))
    }
}

/// Why the request scan or handshake refuses the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    /// Two requests carry the same ID (§3).
    DuplicateRequest {
        /// Words 2–3 of the ID.
        id: [u64; 2],
        /// Offset of the second one.
        offset: usize,
    },
    /// Two base revision tags in the scanned range (§2).
    DuplicateBaseRevision {
        /// Offset of the second one.
        offset: usize,
    },
    /// More than [`MAX_REQUESTS`] requests (§3).
    TooManyRequests,
    /// A request's fields run past the end of the image.
    RequestTruncated {
        /// Offset of the request.
        offset: usize,
    },
    /// No base revision tag: revision 0 is not supported (§10 step 5).
    NoBaseRevision,
    /// Base revision 0 or 1 asked for: dropped by this loader.
    UnsupportedBaseRevision(u64),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::DuplicateRequest { id, offset } => write!(
                f,
                "kernel has two requests with ID {:#x}:{:#x} (second at image offset {offset:#x})",
                id[0], id[1]
            ),
            Self::DuplicateBaseRevision { offset } => write!(
                f,
                "kernel has two base revision tags (second at image offset {offset:#x})"
            ),
            Self::TooManyRequests => write!(f, "kernel has more than {MAX_REQUESTS} requests"),
            Self::RequestTruncated { offset } => {
                write!(f, "request at image offset {offset:#x} runs past the image")
            }
            Self::NoBaseRevision => write!(
                f,
                "kernel has no base revision tag (revision 0); this loader supports only base revision {SUPPORTED_BASE_REVISION}"
            ),
            Self::UnsupportedBaseRevision(n) => write!(
                f,
                "kernel asks for base revision {n}; this loader supports only base revision {SUPPORTED_BASE_REVISION}"
            ),
        }
    }
}

/// Scans the file-backed part of the loaded image with an 8-byte stride
/// (§3): a start marker forgets everything found so far, an end marker
/// stops the scan.
pub fn scan(image: &[u8]) -> Result<ScanResult, ScanError> {
    let mut out = ScanResult::default();
    let words = |off: usize, n: usize| -> Option<[u64; 4]> {
        let mut w = [0u64; 4];
        for (i, slot) in w.iter_mut().enumerate().take(n) {
            *slot = u64_at(image, off + 8 * i)?;
        }
        Some(w)
    };
    let mut off = 0;
    while off + 16 <= image.len() {
        let Some(head) = words(off, 2) else { break };
        if head[..2] == END_MARKER {
            out.saw_end_marker = true;
            break;
        }
        if words(off, 4) == Some(START_MARKER) {
            out = ScanResult {
                saw_start_marker: true,
                ..ScanResult::default()
            };
            off += 32;
            continue;
        }
        if head[..2] == BASE_REVISION_MAGIC {
            let requested =
                u64_at(image, off + 16).ok_or(ScanError::RequestTruncated { offset: off })?;
            if out.base_revision.is_some() {
                return Err(ScanError::DuplicateBaseRevision { offset: off });
            }
            out.base_revision = Some(BaseRevisionTag {
                offset: off,
                requested,
            });
            off += 24;
            continue;
        }
        if head[..2] == COMMON_MAGIC {
            let found = read_request(image, off)?;
            if out.requests.iter().any(|r| r.id == found.id) {
                return Err(ScanError::DuplicateRequest {
                    id: found.id,
                    offset: off,
                });
            }
            if out.requests.len() == MAX_REQUESTS {
                return Err(ScanError::TooManyRequests);
            }
            out.requests.push(found);
            off += HEADER_SIZE;
            continue;
        }
        off += 8;
    }
    Ok(out)
}

fn read_request(image: &[u8], offset: usize) -> Result<FoundRequest, ScanError> {
    let truncated = ScanError::RequestTruncated { offset };
    let w2 = u64_at(image, offset + 16).ok_or(truncated)?;
    let w3 = u64_at(image, offset + 24).ok_or(truncated)?;
    let revision = u64_at(image, offset + REVISION_OFFSET).ok_or(truncated)?;
    u64_at(image, offset + RESPONSE_OFFSET).ok_or(truncated)?;
    let feature = Feature::from_id([w2, w3]);
    let size = feature.map_or(HEADER_SIZE, Feature::request_size);
    if offset + size > image.len() {
        return Err(truncated);
    }
    Ok(FoundRequest {
        offset,
        id: [w2, w3],
        feature,
        revision,
    })
}

/// Outcome of the base revision handshake (§2, §10 step 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// The kernel asked for exactly our revision: word 2 is zeroed.
    Supported,
    /// The kernel asked for a newer revision: boot as ours, word 2 kept.
    Newer(u64),
}

/// Decides the handshake and writes the tag in `image` accordingly:
/// word 2 ← 0 only when supported; word 1 ← the revision actually used
/// (as current Limine does, §10 step 5). Refusals leave the image alone.
pub fn handshake(image: &mut [u8], tag: Option<BaseRevisionTag>) -> Result<Handshake, ScanError> {
    let tag = tag.ok_or(ScanError::NoBaseRevision)?;
    let result = match tag.requested {
        SUPPORTED_BASE_REVISION => Handshake::Supported,
        n if n > SUPPORTED_BASE_REVISION => Handshake::Newer(n),
        n => return Err(ScanError::UnsupportedBaseRevision(n)),
    };
    let truncated = ScanError::RequestTruncated { offset: tag.offset };
    put_u64(image, tag.offset + 8, SUPPORTED_BASE_REVISION).ok_or(truncated)?;
    if result == Handshake::Supported {
        put_u64(image, tag.offset + 16, 0).ok_or(truncated)?;
    }
    Ok(result)
}

/// Reads the u64 at `field` bytes into `req`, bounds-checked.
pub fn field(image: &[u8], req: &FoundRequest, field: usize) -> Result<u64, ScanError> {
    u64_at(image, req.offset + field).ok_or(ScanError::RequestTruncated { offset: req.offset })
}

/// Stores the response pointer (an HHDM address) into `req`.
pub fn set_response(image: &mut [u8], req: &FoundRequest, response: u64) -> Result<(), ScanError> {
    put_u64(image, req.offset + RESPONSE_OFFSET, response)
        .ok_or(ScanError::RequestTruncated { offset: req.offset })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Little image builder: appends u64 words.
    struct Img(Vec<u8>);

    impl Img {
        fn new() -> Self {
            Self(vec![0u8; 8])
        }
        fn words(mut self, ws: &[u64]) -> Self {
            for w in ws {
                self.0.extend_from_slice(&w.to_le_bytes());
            }
            self
        }
        fn request(self, f: Feature, revision: u64, extra: &[u64]) -> Self {
            let id = f.id();
            self.words(&[COMMON_MAGIC[0], COMMON_MAGIC[1], id[0], id[1], revision, 0])
                .words(extra)
        }
        fn tag(self, n: u64) -> Self {
            self.words(&[BASE_REVISION_MAGIC[0], BASE_REVISION_MAGIC[1], n])
        }
    }

    fn kernel_like() -> Vec<u8> {
        Img::new()
            .words(&START_MARKER)
            .tag(2)
            .request(Feature::BootloaderInfo, 0, &[])
            .request(Feature::StackSize, 0, &[256 * 1024])
            .request(Feature::Modules, 1, &[0, 0])
            .request(Feature::PagingMode, 1, &[0, 0, 0])
            .words(&END_MARKER)
            .request(Feature::Hhdm, 0, &[])
            .0
    }

    #[test]
    fn finds_requests_between_markers() {
        let img = kernel_like();
        let found = scan(&img).unwrap();
        assert!(found.saw_start_marker && found.saw_end_marker);
        assert_eq!(found.base_revision.map(|t| t.requested), Some(2));
        let names: Vec<_> = found.requests.iter().filter_map(|r| r.feature).collect();
        assert_eq!(
            names,
            [
                Feature::BootloaderInfo,
                Feature::StackSize,
                Feature::Modules,
                Feature::PagingMode
            ]
        );
        let stack = found.get(Feature::StackSize).unwrap();
        assert_eq!(field(&img, &stack, 48), Ok(256 * 1024));
        assert_eq!(found.get(Feature::Modules).unwrap().revision, 1);
        assert!(found.get(Feature::Hhdm).is_none(), "after the end marker");
    }

    #[test]
    fn start_marker_forgets_earlier_finds() {
        let img = Img::new()
            .tag(2)
            .request(Feature::Hhdm, 0, &[])
            .words(&START_MARKER)
            .request(Feature::Rsdp, 0, &[])
            .0;
        let found = scan(&img).unwrap();
        assert_eq!(found.base_revision, None);
        assert_eq!(found.requests.len(), 1);
        assert_eq!(found.requests[0].feature, Some(Feature::Rsdp));
    }

    #[test]
    fn unaligned_magic_is_not_a_request() {
        let mut img = vec![0u8; 4];
        img.extend(Img::new().request(Feature::Hhdm, 0, &[]).0);
        img.extend([0u8; 4]);
        assert!(scan(&img).unwrap().requests.is_empty());
    }

    #[test]
    fn duplicates_are_fatal() {
        let img = Img::new()
            .request(Feature::Hhdm, 0, &[])
            .request(Feature::Hhdm, 0, &[])
            .0;
        assert!(matches!(
            scan(&img),
            Err(ScanError::DuplicateRequest { .. })
        ));
        let img = Img::new().tag(2).tag(2).0;
        assert_eq!(
            scan(&img),
            Err(ScanError::DuplicateBaseRevision { offset: 32 })
        );
    }

    #[test]
    fn mp_request_flags_are_read_at_48() {
        let img = Img::new()
            .request(Feature::Mp, 0, &[1])
            .request(Feature::Hhdm, 0, &[])
            .0;
        let found = scan(&img).unwrap();
        let mp = found.get(Feature::Mp).unwrap();
        assert_eq!(Feature::Mp.request_size(), 56);
        assert_eq!(field(&img, &mp, 48), Ok(1));
        assert!(found.get(Feature::Hhdm).is_some(), "scan resumes after 48");
        let img = Img::new().request(Feature::Mp, 0, &[]).0;
        assert_eq!(scan(&img), Err(ScanError::RequestTruncated { offset: 8 }));
    }

    #[test]
    fn truncated_request_is_an_error() {
        let img = Img::new().request(Feature::StackSize, 0, &[]).0;
        assert_eq!(scan(&img), Err(ScanError::RequestTruncated { offset: 8 }));
    }

    #[test]
    fn too_many_requests() {
        let mut img = Img::new();
        for i in 0..=MAX_REQUESTS as u64 {
            img = img.words(&[COMMON_MAGIC[0], COMMON_MAGIC[1], i, i, 0, 0]);
        }
        assert_eq!(scan(&img.0), Err(ScanError::TooManyRequests));
    }

    #[test]
    fn handshake_rules() {
        let mut img = kernel_like();
        let tag = scan(&img).unwrap().base_revision;
        assert_eq!(handshake(&mut img, tag), Ok(Handshake::Supported));
        let t = tag.unwrap();
        assert_eq!(u64_at(&img, t.offset + 16), Some(0));
        assert_eq!(u64_at(&img, t.offset + 8), Some(2));

        let mut img = Img::new().tag(5).0;
        let tag = scan(&img).unwrap().base_revision;
        assert_eq!(handshake(&mut img, tag), Ok(Handshake::Newer(5)));
        assert_eq!(u64_at(&img, 8 + 16), Some(5), "word 2 unchanged");

        for n in [0, 1] {
            let mut img = Img::new().tag(n).0;
            let before = img.clone();
            let tag = scan(&img).unwrap().base_revision;
            assert_eq!(
                handshake(&mut img, tag),
                Err(ScanError::UnsupportedBaseRevision(n))
            );
            assert_eq!(img, before);
        }
        let mut img = Img::new().0;
        assert_eq!(handshake(&mut img, None), Err(ScanError::NoBaseRevision));
    }

    #[test]
    fn set_response_writes_pointer() {
        let mut img = kernel_like();
        let req = scan(&img).unwrap().get(Feature::BootloaderInfo).unwrap();
        set_response(&mut img, &req, 0xffff_8000_1234_5000).unwrap();
        assert_eq!(
            u64_at(&img, req.offset + RESPONSE_OFFSET),
            Some(0xffff_8000_1234_5000)
        );
    }

    #[test]
    fn feature_ids_are_unique() {
        for (i, a) in Feature::ALL.iter().enumerate() {
            for b in &Feature::ALL[i + 1..] {
                assert_ne!(a.id(), b.id(), "{a:?} vs {b:?}");
            }
            assert_eq!(Feature::from_id(a.id()), Some(*a));
        }
    }
}

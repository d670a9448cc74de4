//! Protocol versions, INITIATE_CONTACT and VERSION_RESPONSE (sheet §3.3, §3.4).

use core::fmt;

use super::{get_u32, get_u64, get_u8, MessageError, MessageType, RawMessage};
use crate::guid::Guid;

/// A VMBus protocol version, `major << 16 | minor` (§3.3).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version(pub u32);

impl Version {
    /// WS2008 (0.13): interrupt page only. Not negotiated by this crate.
    pub const WS2008: Version = Version(0x0000_000D);
    /// Windows 7 (1.1). Not negotiated by this crate.
    pub const WIN7: Version = Version(0x0001_0001);
    /// Windows 8 (2.4): event flags indexed by relid.
    pub const WIN8: Version = Version(0x0002_0004);
    /// Windows 8.1 (3.0): `target_vcpu` honoured, UNLOAD.
    pub const WIN8_1: Version = Version(0x0003_0000);
    /// Windows 10 (4.0).
    pub const WIN10: Version = Version(0x0004_0000);
    /// Windows 10 RS3 (4.1): MODIFYCHANNEL.
    pub const WIN10_RS3: Version = Version(0x0004_0001);
    /// 5.0: msg_sint / msg_vtl, msg_conn_id in the response.
    pub const V5_0: Version = Version(0x0005_0000);
    /// RS4 (5.1).
    pub const V5_1: Version = Version(0x0005_0001);
    /// RS5 / WS2019 (5.2).
    pub const V5_2: Version = Version(0x0005_0002);
    /// WS2022 "Iron" (5.3).
    pub const V5_3: Version = Version(0x0005_0003);
    /// "Copper" (6.0): feature flags, optional client id.
    pub const V6_0: Version = Version(0x0006_0000);

    /// Major number.
    pub const fn major(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// Minor number.
    pub const fn minor(self) -> u16 {
        self.0 as u16
    }

    /// Whether INITIATE_CONTACT carries msg_sint / msg_vtl (and features)
    /// instead of the interrupt page, and the response a msg_conn_id.
    pub const fn has_msg_sint(self) -> bool {
        self.0 >= Version::V5_0.0
    }

    /// Whether the feature-flag words exist (6.0).
    pub const fn has_features(self) -> bool {
        self.0 >= Version::V6_0.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major(), self.minor())
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({self})")
    }
}

/// The versions this crate offers, newest first: 6.0, then Linux's list
/// (5.3 … 2.4, §3.3). 2.4 is the oldest whose event flags are indexed by
/// relid, which the rest of this crate relies on.
pub const NEGOTIATION_ORDER: [Version; 9] = [
    Version::V6_0,
    Version::V5_3,
    Version::V5_2,
    Version::V5_1,
    Version::V5_0,
    Version::WIN10_RS3,
    Version::WIN10,
    Version::WIN8_1,
    Version::WIN8,
];

/// What INITIATE_CONTACT carries at offset 0x10 (§3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactTarget {
    /// Versions below 5.0: GPA of the interrupt page (0 for none).
    InterruptPage(u64),
    /// Versions 5.0 and later.
    Sint {
        /// SINT for host → guest messages (2; 0 is fine on connection id 1).
        msg_sint: u8,
        /// VTL (0).
        msg_vtl: u8,
        /// Requested feature flags (6.0; 0 below).
        features: u32,
    },
}

/// Feature flag 0x08: the message carries a client id (§3.4).
pub const FEATURE_CLIENT_ID: u32 = 0x08;

/// INITIATE_CONTACT (14): 40 bytes, or 56 with a client id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitiateContact {
    /// The version asked for.
    pub version: Version,
    /// VP index that receives control messages.
    pub target_vcpu: u32,
    /// Interrupt page or SINT parameters, by version.
    pub target: ContactTarget,
    /// GPA of the parent → child monitor page (0 for none).
    pub monitor_page1: u64,
    /// GPA of the child → parent monitor page (0 for none).
    pub monitor_page2: u64,
    /// Client id (6.0 with feature 0x08): makes the message 56 bytes.
    pub client_id: Option<Guid>,
}

const CONTACT_SIZE: usize = 40;
const CONTACT_WITH_ID_SIZE: usize = 56;

impl InitiateContact {
    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        let client_id = match b.len() {
            CONTACT_SIZE => None,
            CONTACT_WITH_ID_SIZE => Some(super::get_guid(b, 0x28)),
            len => {
                return Err(MessageError::Size {
                    msgtype: MessageType::InitiateContact,
                    len,
                })
            }
        };
        let version = Version(get_u32(b, 8));
        let target = if version.has_msg_sint() {
            ContactTarget::Sint {
                msg_sint: get_u8(b, 0x10),
                msg_vtl: get_u8(b, 0x11),
                features: get_u32(b, 0x14),
            }
        } else {
            ContactTarget::InterruptPage(get_u64(b, 0x10))
        };
        Ok(InitiateContact {
            version,
            target_vcpu: get_u32(b, 0x0C),
            target,
            monitor_page1: get_u64(b, 0x18),
            monitor_page2: get_u64(b, 0x20),
            client_id,
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let len = match self.client_id {
            Some(_) => CONTACT_WITH_ID_SIZE,
            None => CONTACT_SIZE,
        };
        let mut m = RawMessage::with_header(MessageType::InitiateContact, len);
        m.put_u32(8, self.version.0);
        m.put_u32(0x0C, self.target_vcpu);
        match self.target {
            ContactTarget::InterruptPage(gpa) => m.put_u64(0x10, gpa),
            ContactTarget::Sint {
                msg_sint,
                msg_vtl,
                features,
            } => {
                m.put_u8(0x10, msg_sint);
                m.put_u8(0x11, msg_vtl);
                m.put_u32(0x14, features);
            }
        }
        m.put_u64(0x18, self.monitor_page1);
        m.put_u64(0x20, self.monitor_page2);
        if let Some(id) = self.client_id {
            m.put(0x28, &id.0);
        }
        m
    }
}

/// VERSION_RESPONSE (15): 16 bytes, or 20 with feature flags (6.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionResponse {
    /// 1 = accepted, 0 = rejected (kept raw: anything but 1 is a refusal).
    pub version_supported: u8,
    /// 0 success, 1 low resources, 2 unknown failure.
    pub connection_state: u8,
    /// Connection id for later messages (≥ 5.0, connection id 4 only).
    pub msg_conn_id: u32,
    /// Supported feature flags (present in the 20-byte form).
    pub features: Option<u32>,
}

impl VersionResponse {
    /// Whether the host accepted (§3.4: supported = 1 and state = 0).
    pub fn accepted(&self) -> bool {
        self.version_supported == 1 && self.connection_state == 0
    }

    pub(super) fn decode(b: &[u8]) -> Result<Self, MessageError> {
        let features = match b.len() {
            16 => None,
            20 => Some(get_u32(b, 0x10)),
            len => {
                return Err(MessageError::Size {
                    msgtype: MessageType::VersionResponse,
                    len,
                })
            }
        };
        Ok(VersionResponse {
            version_supported: get_u8(b, 8),
            connection_state: get_u8(b, 9),
            msg_conn_id: get_u32(b, 0x0C),
            features,
        })
    }

    pub(super) fn encode(&self) -> RawMessage {
        let len = if self.features.is_some() { 20 } else { 16 };
        let mut m = RawMessage::with_header(MessageType::VersionResponse, len);
        m.put_u8(8, self.version_supported);
        m.put_u8(9, self.connection_state);
        m.put_u32(0x0C, self.msg_conn_id);
        if let Some(features) = self.features {
            m.put_u32(0x10, features);
        }
        m
    }
}

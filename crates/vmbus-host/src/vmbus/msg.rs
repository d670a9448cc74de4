//! Byte layouts of the VMBus channel messages (sheet §3.2–§3.8).
//!
//! Every message starts with `u32 msgtype; u32 padding` (§3.1). Guest →
//! host messages are decoded here with their minimum sizes checked; host →
//! guest messages are encoded here byte for byte.

use alloc::vec::Vec;

use crate::guid::Guid;
use crate::wire::{u16_at, u32_at, u64_at, u8_at, Builder};

/// Message type numbers (§3.2).
#[allow(missing_docs)]
pub mod ty {
    pub const OFFERCHANNEL: u32 = 1;
    pub const RESCIND_CHANNELOFFER: u32 = 2;
    pub const REQUESTOFFERS: u32 = 3;
    pub const ALLOFFERS_DELIVERED: u32 = 4;
    pub const OPENCHANNEL: u32 = 5;
    pub const OPENCHANNEL_RESULT: u32 = 6;
    pub const CLOSECHANNEL: u32 = 7;
    pub const GPADL_HEADER: u32 = 8;
    pub const GPADL_BODY: u32 = 9;
    pub const GPADL_CREATED: u32 = 10;
    pub const GPADL_TEARDOWN: u32 = 11;
    pub const GPADL_TORNDOWN: u32 = 12;
    pub const RELID_RELEASED: u32 = 13;
    pub const INITIATE_CONTACT: u32 = 14;
    pub const VERSION_RESPONSE: u32 = 15;
    pub const UNLOAD: u32 = 16;
    pub const UNLOAD_RESPONSE: u32 = 17;
    pub const MODIFYCHANNEL: u32 = 22;
    pub const MODIFYCHANNEL_RESPONSE: u32 = 24;
}

/// INITIATE_CONTACT (§3.4), 40 or 56 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitiateContact {
    /// vmbus_version_requested.
    pub version: u32,
    /// VP that receives control messages (honoured from 3.0).
    pub target_vcpu: u32,
    /// Bytes 0x10..0x18: the interrupt page GPA below 5.0.
    pub interrupt_page: u64,
    /// Byte 0x10 from 5.0.
    pub msg_sint: u8,
    /// Byte 0x11 from 5.0.
    pub msg_vtl: u8,
    /// Bytes 0x14..0x18 (6.0 feature flags).
    pub features: u32,
    /// Parent→child monitor page GPA.
    pub monitor_page1: u64,
    /// Child→parent monitor page GPA.
    pub monitor_page2: u64,
    /// Client id, present in the 56-byte form.
    pub client_id: Option<Guid>,
}

/// OPENCHANNEL (§3.7), 148 bytes (156 for OpenChannel2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenChannel {
    /// child_relid.
    pub relid: u32,
    /// openid, echoed in the result.
    pub openid: u32,
    /// GPADL covering both rings.
    pub ring_gpadl: u32,
    /// VP to interrupt for this channel (0xFFFF_FFFF: none).
    pub target_vp: u32,
    /// Page index of the host→guest ring inside the GPADL.
    pub downstream_offset: u32,
    /// The 120 device-specific bytes.
    pub userdata: [u8; 120],
    /// OpenChannel2: guest-chosen connection id and event flag.
    pub guest_signal: Option<(u32, u16)>,
}

/// A decoded guest → host control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestMessage<'a> {
    /// INITIATE_CONTACT (14).
    InitiateContact(InitiateContact),
    /// REQUESTOFFERS (3).
    RequestOffers,
    /// OPENCHANNEL (5).
    OpenChannel(OpenChannel),
    /// CLOSECHANNEL (7).
    CloseChannel {
        /// Channel.
        relid: u32,
    },
    /// GPADL_HEADER (8); `ranges` holds the range bytes it carries.
    GpadlHeader {
        /// Channel.
        relid: u32,
        /// Guest-chosen handle.
        gpadl: u32,
        /// Total bytes of all range descriptors.
        range_buflen: u16,
        /// Number of ranges.
        rangecount: u16,
        /// Range bytes in this message.
        ranges: &'a [u8],
    },
    /// GPADL_BODY (9).
    GpadlBody {
        /// Handle being built.
        gpadl: u32,
        /// More PFN bytes.
        data: &'a [u8],
    },
    /// GPADL_TEARDOWN (11).
    GpadlTeardown {
        /// Channel.
        relid: u32,
        /// Handle.
        gpadl: u32,
    },
    /// RELID_RELEASED (13).
    RelidReleased {
        /// Channel.
        relid: u32,
    },
    /// UNLOAD (16).
    Unload,
    /// MODIFYCHANNEL (22).
    ModifyChannel {
        /// Channel.
        relid: u32,
        /// New target VP.
        target_vp: u32,
    },
    /// A message type this host does not serve.
    Other(u32),
}

/// A guest message too short for its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// The msgtype word (0 when even that was missing).
    pub msgtype: u32,
    /// Payload length received.
    pub len: usize,
}

/// Decodes one control message payload.
pub fn decode(b: &[u8]) -> Result<GuestMessage<'_>, DecodeError> {
    let msgtype = u32_at(b, 0).unwrap_or(0);
    let err = DecodeError {
        msgtype,
        len: b.len(),
    };
    let need = |n: usize| if b.len() >= n { Ok(()) } else { Err(err) };
    let r32 = |off| u32_at(b, off).ok_or(err);
    need(8)?;
    let m = match msgtype {
        ty::INITIATE_CONTACT => {
            need(40)?;
            let features = r32(0x14)?;
            let client_id = if b.len() >= 56 {
                Guid::from_bytes(&b[0x28..0x38])
            } else {
                None
            };
            GuestMessage::InitiateContact(InitiateContact {
                version: r32(0x08)?,
                target_vcpu: r32(0x0C)?,
                interrupt_page: u64_at(b, 0x10).ok_or(err)?,
                msg_sint: u8_at(b, 0x10).ok_or(err)?,
                msg_vtl: u8_at(b, 0x11).ok_or(err)?,
                features,
                monitor_page1: u64_at(b, 0x18).ok_or(err)?,
                monitor_page2: u64_at(b, 0x20).ok_or(err)?,
                client_id,
            })
        }
        ty::REQUESTOFFERS => GuestMessage::RequestOffers,
        ty::OPENCHANNEL => {
            need(148)?;
            let mut userdata = [0u8; 120];
            userdata.copy_from_slice(&b[0x1C..0x94]);
            let guest_signal = if b.len() >= 0x9C {
                Some((r32(0x94)?, u16_at(b, 0x98).ok_or(err)?))
            } else {
                None
            };
            GuestMessage::OpenChannel(OpenChannel {
                relid: r32(0x08)?,
                openid: r32(0x0C)?,
                ring_gpadl: r32(0x10)?,
                target_vp: r32(0x14)?,
                downstream_offset: r32(0x18)?,
                userdata,
                guest_signal,
            })
        }
        ty::CLOSECHANNEL => GuestMessage::CloseChannel { relid: r32(0x08)? },
        ty::GPADL_HEADER => {
            need(0x14)?;
            GuestMessage::GpadlHeader {
                relid: r32(0x08)?,
                gpadl: r32(0x0C)?,
                range_buflen: u16_at(b, 0x10).ok_or(err)?,
                rangecount: u16_at(b, 0x12).ok_or(err)?,
                ranges: &b[0x14..],
            }
        }
        ty::GPADL_BODY => {
            need(0x10)?;
            GuestMessage::GpadlBody {
                gpadl: r32(0x0C)?,
                data: &b[0x10..],
            }
        }
        ty::GPADL_TEARDOWN => GuestMessage::GpadlTeardown {
            relid: r32(0x08)?,
            gpadl: r32(0x0C)?,
        },
        ty::RELID_RELEASED => GuestMessage::RelidReleased { relid: r32(0x08)? },
        ty::UNLOAD => GuestMessage::Unload,
        ty::MODIFYCHANNEL => GuestMessage::ModifyChannel {
            relid: r32(0x08)?,
            target_vp: r32(0x0C)?,
        },
        other => GuestMessage::Other(other),
    };
    Ok(m)
}

fn header(msgtype: u32) -> Builder {
    Builder::new().u32(msgtype).u32(0)
}

/// VERSION_RESPONSE (§3.4): 16 bytes, or 20 with `features` (6.0).
pub fn version_response(supported: bool, state: u8, word: u32, features: Option<u32>) -> Vec<u8> {
    let b = header(ty::VERSION_RESPONSE)
        .u8(u8::from(supported))
        .u8(state)
        .u16(0)
        .u32(word);
    match features {
        Some(f) => b.u32(f).finish(),
        None => b.finish(),
    }
}

/// The fields of one OFFERCHANNEL (§3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFields {
    /// if_type: device class.
    pub class: Guid,
    /// if_instance.
    pub instance: Guid,
    /// chn_flags.
    pub flags: u16,
    /// mmio_megabytes.
    pub mmio_megabytes: u16,
    /// The 120 user_defined bytes.
    pub user_defined: [u8; 120],
    /// sub_channel_index.
    pub sub_channel_index: u16,
    /// child_relid.
    pub relid: u32,
    /// monitorid (0xFF: none).
    pub monitor_id: u8,
    /// monitor_allocated.
    pub monitor_allocated: bool,
    /// is_dedicated_interrupt.
    pub dedicated_interrupt: bool,
    /// connection_id for HvSignalEvent.
    pub connection_id: u32,
}

/// OFFERCHANNEL, 196 bytes (§3.5).
pub fn offer(o: &OfferFields) -> Vec<u8> {
    header(ty::OFFERCHANNEL)
        .bytes(&o.class.to_bytes())
        .bytes(&o.instance.to_bytes())
        .zeros(16)
        .u16(o.flags)
        .u16(o.mmio_megabytes)
        .bytes(&o.user_defined)
        .u16(o.sub_channel_index)
        .u16(0)
        .u32(o.relid)
        .u8(o.monitor_id)
        .u8(u8::from(o.monitor_allocated))
        .u16(u16::from(o.dedicated_interrupt))
        .u32(o.connection_id)
        .finish()
}

/// A header-only message (ALLOFFERS_DELIVERED, UNLOAD_RESPONSE), 8 bytes.
pub fn bare(msgtype: u32) -> Vec<u8> {
    header(msgtype).finish()
}

/// A header plus one u32 (RESCIND_CHANNELOFFER, GPADL_TORNDOWN), 12 bytes.
pub fn with_u32(msgtype: u32, a: u32) -> Vec<u8> {
    header(msgtype).u32(a).finish()
}

/// GPADL_CREATED (§3.6), 20 bytes.
pub fn gpadl_created(relid: u32, gpadl: u32, status: u32) -> Vec<u8> {
    header(ty::GPADL_CREATED)
        .u32(relid)
        .u32(gpadl)
        .u32(status)
        .finish()
}

/// OPENCHANNEL_RESULT (§3.7), 20 bytes.
pub fn open_result(relid: u32, openid: u32, status: u32) -> Vec<u8> {
    header(ty::OPENCHANNEL_RESULT)
        .u32(relid)
        .u32(openid)
        .u32(status)
        .finish()
}

/// MODIFYCHANNEL_RESPONSE (5.3+), 16 bytes: relid, status.
pub fn modify_response(relid: u32, status: u32) -> Vec<u8> {
    header(ty::MODIFYCHANNEL_RESPONSE)
        .u32(relid)
        .u32(status)
        .finish()
}

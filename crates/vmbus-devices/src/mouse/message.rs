//! SynthHID messages inside the pipe frame (§6.2, vector §9.6).

use alloc::vec::Vec;

use super::MouseError;
use crate::pipe;
use crate::wire::{self, Put, WireError};

/// SynthHID version 2.0 (major << 16 | minor).
pub const VERSION_2_0: u32 = 0x0002_0000;
/// PROTOCOL_REQUEST, guest → host.
pub const MSG_PROTOCOL_REQUEST: u32 = 0;
/// PROTOCOL_RESPONSE, host → guest.
pub const MSG_PROTOCOL_RESPONSE: u32 = 1;
/// INITIAL_DEVICE_INFO, host → guest.
pub const MSG_DEVICE_INFO: u32 = 2;
/// INITIAL_DEVICE_INFO_ACK, guest → host.
pub const MSG_DEVICE_INFO_ACK: u32 = 3;
/// INPUT_REPORT, host → guest.
pub const MSG_INPUT_REPORT: u32 = 4;
/// Size of the device attributes block.
pub const ATTRIBUTES_LEN: usize = 32;
/// Size of the (packed) HID descriptor.
pub const HID_DESCRIPTOR_LEN: usize = 9;

/// Device attributes at the start of INITIAL_DEVICE_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceAttributes {
    /// Size field (32 from OpenVMM).
    pub size: u32,
    /// USB-style vendor id (0x045E).
    pub vendor: u16,
    /// Product id (0x0621).
    pub product: u16,
    /// Version (0x0001).
    pub version: u16,
}

/// The 9-byte HID descriptor that follows the attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HidDescriptor {
    /// bLength (≥ 9); the report descriptor starts this many bytes after
    /// the HID descriptor's start.
    pub length: u8,
    /// bDescriptorType, 0x21.
    pub descriptor_type: u8,
    /// bcdHID.
    pub bcd_hid: u16,
    /// bCountryCode.
    pub country: u8,
    /// bNumDescriptors (≥ 1).
    pub num_descriptors: u8,
    /// bReportDescriptorType, 0x22.
    pub report_type: u8,
    /// wReportDescriptorLength.
    pub report_len: u16,
}

/// INITIAL_DEVICE_INFO contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo<'a> {
    /// Attributes block.
    pub attributes: DeviceAttributes,
    /// HID descriptor.
    pub hid: HidDescriptor,
    /// The report descriptor, `hid.report_len` bytes.
    pub report_descriptor: &'a [u8],
}

/// A SynthHID message, either direction (the pipe frame is added/removed by
/// encode/decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseMessage<'a> {
    /// Type 0.
    ProtocolRequest {
        /// Requested version.
        version: u32,
    },
    /// Type 1.
    ProtocolResponse {
        /// Echo of the requested version.
        version_requested: u32,
        /// Non-zero = approved.
        approved: u8,
    },
    /// Type 2.
    DeviceInfo(DeviceInfo<'a>),
    /// Type 3.
    DeviceInfoAck,
    /// Type 4: the raw HID input report.
    InputReport(&'a [u8]),
}

impl<'a> MouseMessage<'a> {
    /// The message type word.
    pub fn msg_type(&self) -> u32 {
        match self {
            Self::ProtocolRequest { .. } => MSG_PROTOCOL_REQUEST,
            Self::ProtocolResponse { .. } => MSG_PROTOCOL_RESPONSE,
            Self::DeviceInfo(_) => MSG_DEVICE_INFO,
            Self::DeviceInfoAck => MSG_DEVICE_INFO_ACK,
            Self::InputReport(_) => MSG_INPUT_REPORT,
        }
    }

    /// Encodes pipe header + SynthHID header (size = bytes after it) + body.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut body = Vec::new();
        match self {
            Self::ProtocolRequest { version } => body.put_u32(*version),
            Self::ProtocolResponse {
                version_requested,
                approved,
            } => {
                body.put_u32(*version_requested);
                body.put_u8(*approved);
            }
            Self::DeviceInfo(info) => {
                let a = &info.attributes;
                body.put_u32(a.size);
                body.put_u16(a.vendor);
                body.put_u16(a.product);
                body.put_u16(a.version);
                body.put_zeros(22);
                let h = &info.hid;
                body.put_u8(h.length);
                body.put_u8(h.descriptor_type);
                body.put_u16(h.bcd_hid);
                body.put_u8(h.country);
                body.put_u8(h.num_descriptors);
                body.put_u8(h.report_type);
                body.put_u16(h.report_len);
                body.put_zeros(usize::from(h.length).saturating_sub(HID_DESCRIPTOR_LEN));
                body.extend_from_slice(info.report_descriptor);
            }
            Self::DeviceInfoAck => body.put_u8(0),
            Self::InputReport(r) => body.extend_from_slice(r),
        }
        let mut msg = Vec::with_capacity(8 + body.len());
        msg.put_u32(self.msg_type());
        msg.put_u32(body.len() as u32);
        msg.extend_from_slice(&body);
        pipe::encode(&msg)
    }

    /// Decodes a pipe-framed SynthHID message from a packet payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, MouseError> {
        let body = pipe::decode(payload)?;
        let msg_type = wire::u32_at(body, 0)?;
        let size = wire::u32_at(body, 4)? as usize;
        let rest = &body[8..];
        if size > rest.len() {
            return Err(MouseError::BadSize {
                size: size as u32,
                available: rest.len(),
            });
        }
        let content = &rest[..size];
        Ok(match msg_type {
            MSG_PROTOCOL_REQUEST => Self::ProtocolRequest {
                version: wire::u32_at(content, 0)?,
            },
            MSG_PROTOCOL_RESPONSE => Self::ProtocolResponse {
                version_requested: wire::u32_at(content, 0)?,
                approved: wire::u8_at(content, 4)?,
            },
            // OpenVMM's synthhid size covers attributes + HID descriptor +
            // report descriptor but its pipe frame is padded further (§6.2);
            // the descriptor lengths decide, bounded by the pipe payload.
            MSG_DEVICE_INFO => Self::DeviceInfo(decode_device_info(rest)?),
            MSG_DEVICE_INFO_ACK => {
                wire::u8_at(content, 0)?;
                Self::DeviceInfoAck
            }
            MSG_INPUT_REPORT => Self::InputReport(content),
            other => return Err(MouseError::UnknownMessage(other)),
        })
    }
}

fn decode_device_info(b: &[u8]) -> Result<DeviceInfo<'_>, MouseError> {
    let attributes = DeviceAttributes {
        size: wire::u32_at(b, 0)?,
        vendor: wire::u16_at(b, 4)?,
        product: wire::u16_at(b, 6)?,
        version: wire::u16_at(b, 8)?,
    };
    let h = ATTRIBUTES_LEN;
    let hid = HidDescriptor {
        length: wire::u8_at(b, h)?,
        descriptor_type: wire::u8_at(b, h + 1)?,
        bcd_hid: wire::u16_at(b, h + 2)?,
        country: wire::u8_at(b, h + 4)?,
        num_descriptors: wire::u8_at(b, h + 5)?,
        report_type: wire::u8_at(b, h + 6)?,
        report_len: wire::u16_at(b, h + 7)?,
    };
    if usize::from(hid.length) < HID_DESCRIPTOR_LEN
        || hid.descriptor_type != 0x21
        || hid.num_descriptors == 0
        || hid.report_type != 0x22
        || hid.report_len == 0
    {
        return Err(MouseError::BadHidDescriptor);
    }
    let report_descriptor =
        wire::slice(b, h + usize::from(hid.length), usize::from(hid.report_len))?;
    Ok(DeviceInfo {
        attributes,
        hid,
        report_descriptor,
    })
}

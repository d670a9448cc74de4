//! synthvid messages: pipe header, `u32 type, u32 size` header, packed body
//! (§6.3, vector §9.6).

use alloc::vec::Vec;

use crate::pipe;
use crate::wire::{Put, WireError};

/// Version 3.0 (Win7); versions are (minor << 16) | major.
pub const VERSION_3_0: u32 = 0x0000_0003;
/// Version 3.2 (Win8).
pub const VERSION_3_2: u32 = 0x0002_0003;
/// Version 3.5 (Win10).
pub const VERSION_3_5: u32 = 0x0005_0003;

/// VERSION_REQUEST, guest → host.
pub const MSG_VERSION_REQUEST: u32 = 1;
/// VERSION_RESPONSE, host → guest.
pub const MSG_VERSION_RESPONSE: u32 = 2;
/// VRAM_LOCATION, guest → host.
pub const MSG_VRAM_LOCATION: u32 = 3;
/// VRAM_LOCATION_ACK, host → guest.
pub const MSG_VRAM_LOCATION_ACK: u32 = 4;
/// SITUATION_UPDATE, guest → host.
pub const MSG_SITUATION_UPDATE: u32 = 5;
/// SITUATION_UPDATE_ACK, host → guest.
pub const MSG_SITUATION_UPDATE_ACK: u32 = 6;
/// POINTER_POSITION, guest → host.
pub const MSG_POINTER_POSITION: u32 = 7;
/// POINTER_SHAPE, guest → host.
pub const MSG_POINTER_SHAPE: u32 = 8;
/// FEATURE_CHANGE, host → guest.
pub const MSG_FEATURE_CHANGE: u32 = 9;
/// DIRT, guest → host.
pub const MSG_DIRT: u32 = 10;
/// RESOLUTION_REQUEST, guest → host (version ≥ 3.5).
pub const MSG_RESOLUTION_REQUEST: u32 = 13;
/// RESOLUTION_RESPONSE, host → guest.
pub const MSG_RESOLUTION_RESPONSE: u32 = 14;

/// Resolutions asked for (OpenVMM answers fewer with an empty list).
pub const MAX_RESOLUTIONS: usize = 64;
/// Rectangles one DIRT message can carry (u8 count).
pub const MAX_DIRT_RECTS: usize = 255;
/// Largest cursor image: 96 × 96 ARGB.
pub const MAX_POINTER_BYTES: usize = 96 * 96 * 4;

/// One output's state in SITUATION_UPDATE (18 packed bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoOutput {
    /// Output on.
    pub active: bool,
    /// Offset of the frame in VRAM (always 0).
    pub vram_offset: u32,
    /// Bits per pixel.
    pub depth_bits: u8,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per line.
    pub pitch: u32,
}

/// A damaged rectangle; x2/y2 are exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left.
    pub x1: i32,
    /// Top.
    pub y1: i32,
    /// Right, exclusive.
    pub x2: i32,
    /// Bottom, exclusive.
    pub y2: i32,
}

/// One entry of RESOLUTION_RESPONSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
}

/// FEATURE_CHANGE flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// The host wants DIRT rectangles.
    pub dirt_needed: bool,
    /// The host wants POINTER_POSITION.
    pub pointer_position_needed: bool,
    /// The host wants POINTER_SHAPE.
    pub pointer_shape_needed: bool,
    /// The host wants SITUATION_UPDATE.
    pub situation_needed: bool,
}

/// A synthvid message, either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SynthvidMessage {
    /// Type 1.
    VersionRequest {
        /// Requested version.
        version: u32,
    },
    /// Type 2.
    VersionResponse {
        /// Echoed version.
        version: u32,
        /// Non-zero = accepted (OpenVMM sends 2).
        accepted: u8,
        /// Outputs supported.
        max_video_outputs: u8,
    },
    /// Type 3.
    VramLocation {
        /// Echoed in the ACK.
        user_ctx: u64,
        /// The framebuffer GPA; None unmaps the VRAM.
        gpa: Option<u64>,
    },
    /// Type 4.
    VramLocationAck {
        /// Echo.
        user_ctx: u64,
    },
    /// Type 5 with one output.
    SituationUpdate {
        /// Echoed in the ACK.
        user_ctx: u64,
        /// The output.
        output: VideoOutput,
    },
    /// Type 6.
    SituationUpdateAck {
        /// Echo.
        user_ctx: u64,
    },
    /// Type 7.
    PointerPosition {
        /// Visible flag.
        visible: bool,
        /// Output index.
        video_output: u8,
        /// X.
        x: i32,
        /// Y.
        y: i32,
    },
    /// Type 8.
    PointerShape {
        /// Part index, 0xFF = complete image.
        part_idx: u8,
        /// ARGB pixels.
        argb: bool,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Hotspot X.
        hot_x: u32,
        /// Hotspot Y.
        hot_y: u32,
        /// Pixel bytes.
        data: Vec<u8>,
    },
    /// Type 9.
    FeatureChange(Features),
    /// Type 10.
    Dirt {
        /// Output index.
        video_output: u8,
        /// Rectangles (at most 255).
        rects: Vec<Rect>,
    },
    /// Type 13.
    ResolutionRequest {
        /// Most entries wanted (send 64).
        max_count: u8,
    },
    /// Type 14.
    ResolutionResponse {
        /// EDID block.
        edid: [u8; 128],
        /// Index of the default resolution in `resolutions`.
        default_index: u8,
        /// is_standard flag.
        is_standard: u8,
        /// Supported resolutions (at most 64).
        resolutions: Vec<Resolution>,
    },
}

impl SynthvidMessage {
    /// The type word.
    pub fn msg_type(&self) -> u32 {
        match self {
            Self::VersionRequest { .. } => MSG_VERSION_REQUEST,
            Self::VersionResponse { .. } => MSG_VERSION_RESPONSE,
            Self::VramLocation { .. } => MSG_VRAM_LOCATION,
            Self::VramLocationAck { .. } => MSG_VRAM_LOCATION_ACK,
            Self::SituationUpdate { .. } => MSG_SITUATION_UPDATE,
            Self::SituationUpdateAck { .. } => MSG_SITUATION_UPDATE_ACK,
            Self::PointerPosition { .. } => MSG_POINTER_POSITION,
            Self::PointerShape { .. } => MSG_POINTER_SHAPE,
            Self::FeatureChange(_) => MSG_FEATURE_CHANGE,
            Self::Dirt { .. } => MSG_DIRT,
            Self::ResolutionRequest { .. } => MSG_RESOLUTION_REQUEST,
            Self::ResolutionResponse { .. } => MSG_RESOLUTION_RESPONSE,
        }
    }

    fn body(&self) -> Result<Vec<u8>, WireError> {
        let mut b = Vec::new();
        match self {
            Self::VersionRequest { version } => b.put_u32(*version),
            Self::VersionResponse {
                version,
                accepted,
                max_video_outputs,
            } => {
                b.put_u32(*version);
                b.put_u8(*accepted);
                b.put_u8(*max_video_outputs);
            }
            Self::VramLocation { user_ctx, gpa } => {
                b.put_u64(*user_ctx);
                b.put_u8(u8::from(gpa.is_some()));
                b.put_u64(gpa.unwrap_or(0));
            }
            Self::VramLocationAck { user_ctx } | Self::SituationUpdateAck { user_ctx } => {
                b.put_u64(*user_ctx)
            }
            Self::SituationUpdate { user_ctx, output } => {
                b.put_u64(*user_ctx);
                b.put_u8(1);
                b.put_u8(u8::from(output.active));
                b.put_u32(output.vram_offset);
                b.put_u8(output.depth_bits);
                b.put_u32(output.width);
                b.put_u32(output.height);
                b.put_u32(output.pitch);
            }
            Self::PointerPosition {
                visible,
                video_output,
                x,
                y,
            } => {
                b.put_u8(u8::from(*visible));
                b.put_u8(*video_output);
                b.put_i32(*x);
                b.put_i32(*y);
            }
            Self::PointerShape {
                part_idx,
                argb,
                width,
                height,
                hot_x,
                hot_y,
                data,
            } => {
                if data.len() > MAX_POINTER_BYTES {
                    return Err(WireError::TooLong {
                        len: data.len(),
                        max: MAX_POINTER_BYTES,
                    });
                }
                b.put_u8(*part_idx);
                b.put_u8(u8::from(*argb));
                b.put_u32(*width);
                b.put_u32(*height);
                b.put_u32(*hot_x);
                b.put_u32(*hot_y);
                b.extend_from_slice(data);
            }
            Self::FeatureChange(f) => {
                b.put_u8(u8::from(f.dirt_needed));
                b.put_u8(u8::from(f.pointer_position_needed));
                b.put_u8(u8::from(f.pointer_shape_needed));
                b.put_u8(u8::from(f.situation_needed));
            }
            Self::Dirt {
                video_output,
                rects,
            } => {
                if rects.len() > MAX_DIRT_RECTS {
                    return Err(WireError::TooLong {
                        len: rects.len(),
                        max: MAX_DIRT_RECTS,
                    });
                }
                b.put_u8(*video_output);
                b.put_u8(rects.len() as u8);
                for r in rects {
                    b.put_i32(r.x1);
                    b.put_i32(r.y1);
                    b.put_i32(r.x2);
                    b.put_i32(r.y2);
                }
            }
            Self::ResolutionRequest { max_count } => b.put_u8(*max_count),
            Self::ResolutionResponse {
                edid,
                default_index,
                is_standard,
                resolutions,
            } => {
                if resolutions.len() > MAX_RESOLUTIONS {
                    return Err(WireError::TooLong {
                        len: resolutions.len(),
                        max: MAX_RESOLUTIONS,
                    });
                }
                b.extend_from_slice(edid);
                b.put_u8(resolutions.len() as u8);
                b.put_u8(*default_index);
                b.put_u8(*is_standard);
                for r in resolutions {
                    b.put_u16(r.width);
                    b.put_u16(r.height);
                }
            }
        }
        Ok(b)
    }

    /// Encodes with Linux's sizing: synthvid size = 8 + body, and the pipe
    /// size the same value (§6.3).
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let body = self.body()?;
        let mut msg = Vec::with_capacity(8 + body.len());
        msg.put_u32(self.msg_type());
        msg.put_u32((8 + body.len()) as u32);
        msg.extend_from_slice(&body);
        pipe::encode(&msg)
    }
}

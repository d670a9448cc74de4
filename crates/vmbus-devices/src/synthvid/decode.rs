//! Decoding synthvid messages from pipe-framed payloads (§6.3).

use super::message::{
    Features, Rect, Resolution, SynthvidMessage, VideoOutput, MAX_POINTER_BYTES, MAX_RESOLUTIONS,
    MSG_DIRT, MSG_FEATURE_CHANGE, MSG_POINTER_POSITION, MSG_POINTER_SHAPE, MSG_RESOLUTION_REQUEST,
    MSG_RESOLUTION_RESPONSE, MSG_SITUATION_UPDATE, MSG_SITUATION_UPDATE_ACK, MSG_VERSION_REQUEST,
    MSG_VERSION_RESPONSE, MSG_VRAM_LOCATION, MSG_VRAM_LOCATION_ACK,
};
use super::SynthvidError;
use crate::pipe;
use crate::wire;

impl SynthvidMessage {
    /// Decodes a pipe-framed message. The synthvid size word is ignored
    /// (hosts disagree on whether it includes the header, §6.3); the body is
    /// whatever the pipe frame carries after the 8-byte header.
    pub fn decode(payload: &[u8]) -> Result<Self, SynthvidError> {
        let frame = pipe::decode(payload)?;
        let msg_type = wire::u32_at(frame, 0)?;
        wire::u32_at(frame, 4)?;
        let b = &frame[8..];
        Ok(match msg_type {
            MSG_VERSION_REQUEST => Self::VersionRequest {
                version: wire::u32_at(b, 0)?,
            },
            MSG_VERSION_RESPONSE => Self::VersionResponse {
                version: wire::u32_at(b, 0)?,
                accepted: wire::u8_at(b, 4)?,
                max_video_outputs: wire::u8_at(b, 5)?,
            },
            MSG_VRAM_LOCATION => {
                let user_ctx = wire::u64_at(b, 0)?;
                let specified = wire::u8_at(b, 8)? != 0;
                let gpa = wire::u64_at(b, 9)?;
                Self::VramLocation {
                    user_ctx,
                    gpa: specified.then_some(gpa),
                }
            }
            MSG_VRAM_LOCATION_ACK => Self::VramLocationAck {
                user_ctx: wire::u64_at(b, 0)?,
            },
            MSG_SITUATION_UPDATE => {
                let user_ctx = wire::u64_at(b, 0)?;
                if wire::u8_at(b, 8)? != 1 {
                    return Err(SynthvidError::Malformed(MSG_SITUATION_UPDATE));
                }
                Self::SituationUpdate {
                    user_ctx,
                    output: VideoOutput {
                        active: wire::u8_at(b, 9)? != 0,
                        vram_offset: wire::u32_at(b, 10)?,
                        depth_bits: wire::u8_at(b, 14)?,
                        width: wire::u32_at(b, 15)?,
                        height: wire::u32_at(b, 19)?,
                        pitch: wire::u32_at(b, 23)?,
                    },
                }
            }
            MSG_SITUATION_UPDATE_ACK => Self::SituationUpdateAck {
                user_ctx: wire::u64_at(b, 0)?,
            },
            MSG_POINTER_POSITION => Self::PointerPosition {
                visible: wire::u8_at(b, 0)? != 0,
                video_output: wire::u8_at(b, 1)?,
                x: wire::i32_at(b, 2)?,
                y: wire::i32_at(b, 6)?,
            },
            MSG_POINTER_SHAPE => {
                wire::need(b, 18)?;
                let data = &b[18..];
                if data.len() > MAX_POINTER_BYTES {
                    return Err(SynthvidError::Malformed(MSG_POINTER_SHAPE));
                }
                Self::PointerShape {
                    part_idx: b[0],
                    argb: b[1] != 0,
                    width: wire::u32_at(b, 2)?,
                    height: wire::u32_at(b, 6)?,
                    hot_x: wire::u32_at(b, 10)?,
                    hot_y: wire::u32_at(b, 14)?,
                    data: data.to_vec(),
                }
            }
            MSG_FEATURE_CHANGE => {
                let f = wire::array::<4>(b, 0)?;
                Self::FeatureChange(Features {
                    dirt_needed: f[0] != 0,
                    pointer_position_needed: f[1] != 0,
                    pointer_shape_needed: f[2] != 0,
                    situation_needed: f[3] != 0,
                })
            }
            MSG_DIRT => {
                let video_output = wire::u8_at(b, 0)?;
                let count = usize::from(wire::u8_at(b, 1)?);
                let raw = wire::slice(b, 2, count * 16)?;
                let rects = raw
                    .chunks_exact(16)
                    .map(|c| Rect {
                        x1: i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                        y1: i32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                        x2: i32::from_le_bytes([c[8], c[9], c[10], c[11]]),
                        y2: i32::from_le_bytes([c[12], c[13], c[14], c[15]]),
                    })
                    .collect();
                Self::Dirt {
                    video_output,
                    rects,
                }
            }
            MSG_RESOLUTION_REQUEST => Self::ResolutionRequest {
                max_count: wire::u8_at(b, 0)?,
            },
            MSG_RESOLUTION_RESPONSE => {
                let edid = wire::array::<128>(b, 0)?;
                let count = usize::from(wire::u8_at(b, 128)?);
                if count > MAX_RESOLUTIONS {
                    return Err(SynthvidError::Malformed(MSG_RESOLUTION_RESPONSE));
                }
                let default_index = wire::u8_at(b, 129)?;
                let is_standard = wire::u8_at(b, 130)?;
                let raw = wire::slice(b, 131, count * 4)?;
                let resolutions = raw
                    .chunks_exact(4)
                    .map(|c| Resolution {
                        width: u16::from_le_bytes([c[0], c[1]]),
                        height: u16::from_le_bytes([c[2], c[3]]),
                    })
                    .collect();
                Self::ResolutionResponse {
                    edid,
                    default_index,
                    is_standard,
                    resolutions,
                }
            }
            other => return Err(SynthvidError::UnknownMessage(other)),
        })
    }
}

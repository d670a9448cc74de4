//! synthvid modes, the hidden host cursor, mode changes and dirty
//! rectangles (§6.3).

use alloc::vec;

use super::driver::{packet, Mode, Synthvid, SynthvidState, DEFAULT_MODE};
use super::message::{Rect, SynthvidMessage, VideoOutput, MAX_DIRT_RECTS, VERSION_3_0};
use super::SynthvidError;
use crate::packet::Outgoing;

impl Synthvid {
    /// A SITUATION_UPDATE switching to `width` × `height` (Ready state).
    pub fn set_mode(&mut self, width: u32, height: u32) -> Result<Outgoing, SynthvidError> {
        if self.state != SynthvidState::Ready {
            return Err(SynthvidError::NotReady);
        }
        let mode = self
            .fits(width, height)
            .ok_or(SynthvidError::ModeTooLarge { width, height })?;
        let p = self.situation(mode)?;
        self.mode = Some(mode);
        Ok(p)
    }

    /// A DIRT message for the damaged rectangles, or None while the host has
    /// not asked for them (FEATURE_CHANGE with is_dirt_needed, as Linux
    /// does). More than 255 rectangles collapse into one full-screen one.
    pub fn dirty(&mut self, rects: &[Rect]) -> Result<Option<Outgoing>, SynthvidError> {
        let (SynthvidState::Ready, Some(mode)) = (self.state, self.mode) else {
            return Err(SynthvidError::NotReady);
        };
        let (w, h) = (mode.width as i32, mode.height as i32);
        if rects
            .iter()
            .any(|r| r.x1 < 0 || r.y1 < 0 || r.x1 >= r.x2 || r.y1 >= r.y2 || r.x2 > w || r.y2 > h)
        {
            return Err(SynthvidError::BadRect);
        }
        if !self.features.dirt_needed || rects.is_empty() {
            return Ok(None);
        }
        let rects = if rects.len() > MAX_DIRT_RECTS {
            vec![Rect {
                x1: 0,
                y1: 0,
                x2: w,
                y2: h,
            }]
        } else {
            rects.to_vec()
        };
        let msg = SynthvidMessage::Dirt {
            video_output: 0,
            rects,
        };
        Ok(Some(packet(&mut self.next_id, &msg)?))
    }

    pub(super) fn depth(&self) -> u8 {
        if self.version == VERSION_3_0 {
            16
        } else {
            32
        }
    }

    pub(super) fn fits(&self, w: u32, h: u32) -> Option<Mode> {
        if w == 0 || h == 0 || w > 0x7FFF || h > 0x7FFF {
            return None;
        }
        let depth = self.depth();
        let stride = w.checked_mul(u32::from(depth) / 8)?;
        let room = self.config.vram_size.min(self.config.drawable);
        (u64::from(stride) * u64::from(h) <= room).then_some(Mode {
            width: w,
            height: h,
            stride,
            depth_bits: depth,
        })
    }

    pub(super) fn choose_mode(&self) -> Option<Mode> {
        let listed = self
            .resolutions
            .iter()
            .map(|r| (u32::from(r.width), u32::from(r.height)));
        self.preferred
            .into_iter()
            .chain(listed)
            .chain([DEFAULT_MODE, (800, 600), (640, 480)])
            .find_map(|(w, h)| self.fits(w, h))
    }

    pub(super) fn cursor_packets(&mut self) -> Result<[Outgoing; 2], SynthvidError> {
        // §6.3: is_visible = 1 with a 1×1 shape of pixel bytes {0, 1, 1, 1}
        // hides the host cursor; is_visible = 0 did not work in Linux tests.
        let pos = SynthvidMessage::PointerPosition {
            visible: true,
            video_output: 0,
            x: 0,
            y: 0,
        };
        let shape = SynthvidMessage::PointerShape {
            part_idx: 0xFF,
            argb: true,
            width: 1,
            height: 1,
            hot_x: 0,
            hot_y: 0,
            data: vec![0, 1, 1, 1],
        };
        Ok([
            packet(&mut self.next_id, &pos)?,
            packet(&mut self.next_id, &shape)?,
        ])
    }

    pub(super) fn situation(&mut self, mode: Mode) -> Result<Outgoing, SynthvidError> {
        let user_ctx = self.next_ctx;
        self.next_ctx += 1;
        let msg = SynthvidMessage::SituationUpdate {
            user_ctx,
            output: VideoOutput {
                active: true,
                vram_offset: 0,
                depth_bits: mode.depth_bits,
                width: mode.width,
                height: mode.height,
                pitch: mode.stride,
            },
        };
        self.situation_ctx = Some(user_ctx);
        packet(&mut self.next_id, &msg)
    }
}

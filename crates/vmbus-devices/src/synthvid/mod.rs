//! Synthetic video (synthvid) over pipe framing (sheet §6.3, §4.6).
//!
//! Bring-up, as Linux's hyperv_drm does it: VERSION_REQUEST, newest first,
//! falling back on refusal → (3.5 and later) RESOLUTION_REQUEST(64) → pick
//! the host's default resolution → VRAM_LOCATION naming the framebuffer GPA,
//! wait for the ACK echoing it → hide the host cursor (POINTER_POSITION +
//! a 1×1 POINTER_SHAPE) → SITUATION_UPDATE with the mode → ready. Steady
//! state: DIRT rectangles once the host asks for them with FEATURE_CHANGE,
//! mode changes with SITUATION_UPDATE.

mod decode;
mod display;
mod driver;
mod error;
mod message;

pub use driver::{
    versions_for_vmbus, Mode, Synthvid, SynthvidConfig, SynthvidEvent, SynthvidState,
    VERSIONS_NEWEST_FIRST,
};
pub use error::SynthvidError;
pub use message::{
    Features, Rect, Resolution, SynthvidMessage, VideoOutput, MAX_DIRT_RECTS, MAX_RESOLUTIONS,
    MSG_DIRT, MSG_FEATURE_CHANGE, MSG_POINTER_POSITION, MSG_POINTER_SHAPE, MSG_RESOLUTION_REQUEST,
    MSG_RESOLUTION_RESPONSE, MSG_SITUATION_UPDATE, MSG_SITUATION_UPDATE_ACK, MSG_VERSION_REQUEST,
    MSG_VERSION_RESPONSE, MSG_VRAM_LOCATION, MSG_VRAM_LOCATION_ACK, VERSION_3_0, VERSION_3_2,
    VERSION_3_5,
};

//! The synthvid driver state machine (§6.3 bring-up and steady state).

use alloc::vec::Vec;

use super::message::{
    Features, Resolution, SynthvidMessage, MAX_RESOLUTIONS, VERSION_3_0, VERSION_3_2, VERSION_3_5,
};
use super::SynthvidError;
use crate::budget::Strikes;
use crate::output::Output;
use crate::packet::{Incoming, IncomingKind, Outgoing};

/// Versions tried by default, newest first.
pub const VERSIONS_NEWEST_FIRST: &[u32] = &[VERSION_3_5, VERSION_3_2, VERSION_3_0];
const ONE_MIB: u64 = 1 << 20;
/// Mode used when the host gives no resolution list (below 3.5) and as a
/// fallback; it fits the 8 MiB VRAM every known host offers.
pub(super) const DEFAULT_MODE: (u32, u32) = (1024, 768);

/// Linux's version order for a negotiated VMBus version (§6.3): 4.0 / 5.0
/// try 3.5, 3.2, 3.0; 2.4 / 3.0 try 3.2, 3.0; every other version 3.5 only.
pub fn versions_for_vmbus(vmbus_version: u32) -> &'static [u32] {
    match vmbus_version {
        0x0004_0000 | 0x0005_0000 => VERSIONS_NEWEST_FIRST,
        0x0002_0004 | 0x0003_0000 => &[VERSION_3_2, VERSION_3_0],
        _ => &[VERSION_3_5],
    }
}

/// What the kernel tells the driver before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthvidConfig {
    /// Framebuffer GPA in the VMBus MMIO window, 1 MiB aligned (§6.3).
    pub vram_gpa: u64,
    /// Framebuffer size: offer.mmio_megabytes MiB.
    pub vram_size: u64,
    /// Bytes of that framebuffer the guest can draw in (its mapping may be
    /// smaller than the VRAM): every mode chosen fits both.
    pub drawable: u64,
    /// Versions to try, newest first.
    pub versions: &'static [u32],
    /// Hide the host-drawn cursor (Linux's 1×1 shape trick).
    pub hide_host_cursor: bool,
}

impl SynthvidConfig {
    /// A configuration with the default version order and the cursor hidden.
    pub fn new(vram_gpa: u64, vram_size: u64) -> Self {
        Self {
            vram_gpa,
            vram_size,
            drawable: vram_size,
            versions: VERSIONS_NEWEST_FIRST,
            hide_host_cursor: true,
        }
    }
}

/// The active video mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per line.
    pub stride: u32,
    /// Bits per pixel: 32 (XRGB8888, red at bit 16), 16 on version 3.0.
    pub depth_bits: u8,
}

/// Where the synthvid driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthvidState {
    /// Created; `start` not called yet.
    Idle,
    /// VERSION_REQUEST for `versions[index]` sent.
    AwaitingVersion {
        /// Index into the configured version list.
        index: usize,
    },
    /// RESOLUTION_REQUEST sent.
    AwaitingResolutions,
    /// VRAM_LOCATION sent.
    AwaitingVramAck,
    /// Mode set; the framebuffer is live.
    Ready,
    /// Stopped for good.
    Failed,
}

/// What synthvid reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthvidEvent {
    /// The framebuffer at the configured GPA shows this mode.
    Ready {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes per line.
        stride: u32,
        /// Bits per pixel.
        depth_bits: u8,
        /// Framebuffer size in bytes.
        vram_size: u64,
        /// Negotiated synthvid version.
        version: u32,
    },
    /// The host changed what it wants (DIRT rectangles, pointer, situation).
    FeatureChange(Features),
}

/// Guest side of the synthvid channel.
#[derive(Debug)]
pub struct Synthvid {
    pub(super) config: SynthvidConfig,
    pub(super) state: SynthvidState,
    pub(super) version: u32,
    pub(super) resolutions: Vec<Resolution>,
    pub(super) preferred: Option<(u32, u32)>,
    pub(super) mode: Option<Mode>,
    pub(super) features: Features,
    pub(super) situation_ctx: Option<u64>,
    pub(super) next_ctx: u64,
    pub(super) next_id: u64,
    pub(super) strikes: Strikes,
}

fn send(
    out: &mut Output<SynthvidEvent>,
    id: &mut u64,
    msg: &SynthvidMessage,
) -> Result<(), SynthvidError> {
    out.send(packet(id, msg)?);
    Ok(())
}

// Linux sends every synthvid packet in-band without the completion flag.
pub(super) fn packet(id: &mut u64, msg: &SynthvidMessage) -> Result<Outgoing, SynthvidError> {
    let p = Outgoing::in_band(*id, false, msg.encode()?);
    *id = id.wrapping_add(1).max(1);
    Ok(p)
}

impl Synthvid {
    /// A driver for a freshly opened synthvid channel.
    pub fn new(config: SynthvidConfig) -> Self {
        Self {
            config,
            state: SynthvidState::Idle,
            version: 0,
            resolutions: Vec::new(),
            preferred: None,
            mode: None,
            features: Features::default(),
            situation_ctx: None,
            next_ctx: 1,
            next_id: 1,
            strikes: Strikes::default(),
        }
    }

    /// Current state.
    pub fn state(&self) -> SynthvidState {
        self.state
    }

    /// The active mode (Ready state).
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// Negotiated version (0 before).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Resolutions the host listed (empty below 3.5).
    pub fn resolutions(&self) -> &[Resolution] {
        &self.resolutions
    }

    /// What the host last asked for with FEATURE_CHANGE.
    pub fn features(&self) -> Features {
        self.features
    }

    /// Sends the first VERSION_REQUEST.
    pub fn start(&mut self, out: &mut Output<SynthvidEvent>) -> Result<(), SynthvidError> {
        if self.state != SynthvidState::Idle {
            return Err(SynthvidError::AlreadyStarted);
        }
        let c = &self.config;
        if c.vram_size == 0
            || !c.vram_gpa.is_multiple_of(ONE_MIB)
            || !c.vram_size.is_multiple_of(ONE_MIB)
        {
            self.state = SynthvidState::Failed;
            return Err(SynthvidError::BadVram);
        }
        self.request_version(0, out)
    }

    fn request_version(
        &mut self,
        index: usize,
        out: &mut Output<SynthvidEvent>,
    ) -> Result<(), SynthvidError> {
        let Some(&version) = self.config.versions.get(index) else {
            return Err(SynthvidError::NoVersion);
        };
        send(
            out,
            &mut self.next_id,
            &SynthvidMessage::VersionRequest { version },
        )?;
        self.state = SynthvidState::AwaitingVersion { index };
        Ok(())
    }

    fn send_vram(&mut self, out: &mut Output<SynthvidEvent>) -> Result<(), SynthvidError> {
        // Linux uses the GPA itself as user_ctx and checks the echo.
        let msg = SynthvidMessage::VramLocation {
            user_ctx: self.config.vram_gpa,
            gpa: Some(self.config.vram_gpa),
        };
        send(out, &mut self.next_id, &msg)?;
        self.state = SynthvidState::AwaitingVramAck;
        Ok(())
    }

    fn go_ready(&mut self, out: &mut Output<SynthvidEvent>) -> Result<(), SynthvidError> {
        let mode = self.choose_mode().ok_or(SynthvidError::ModeTooLarge {
            width: DEFAULT_MODE.0,
            height: DEFAULT_MODE.1,
        })?;
        if self.config.hide_host_cursor {
            for p in self.cursor_packets()? {
                out.send(p);
            }
        }
        let p = self.situation(mode)?;
        out.send(p);
        self.mode = Some(mode);
        self.state = SynthvidState::Ready;
        out.event(SynthvidEvent::Ready {
            width: mode.width,
            height: mode.height,
            stride: mode.stride,
            depth_bits: mode.depth_bits,
            vram_size: self.config.vram_size,
            version: self.version,
        });
        Ok(())
    }

    /// Consumes one packet from the host.
    pub fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<SynthvidEvent>,
    ) -> Result<(), SynthvidError> {
        if self.state == SynthvidState::Failed {
            return Err(SynthvidError::Failed);
        }
        match self.step(packet, out) {
            Ok(()) => {
                self.strikes.good();
                Ok(())
            }
            Err(e) => {
                let fatal = matches!(
                    e,
                    SynthvidError::NoVersion | SynthvidError::ModeTooLarge { .. }
                );
                if self.strikes.strike() || fatal {
                    self.state = SynthvidState::Failed;
                }
                Err(e)
            }
        }
    }

    fn step(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<SynthvidEvent>,
    ) -> Result<(), SynthvidError> {
        // Pipe devices never send completions and we never ask for them.
        if packet.kind != IncomingKind::InBand {
            return Err(SynthvidError::WrongPacketKind);
        }
        let msg = SynthvidMessage::decode(packet.payload)?;
        match (self.state, msg) {
            (
                SynthvidState::AwaitingVersion { index },
                SynthvidMessage::VersionResponse {
                    version, accepted, ..
                },
            ) => {
                let asked = self.config.versions.get(index).copied().unwrap_or(0);
                if version != asked {
                    return Err(SynthvidError::VersionMismatch(version));
                }
                if accepted == 0 {
                    return self.request_version(index + 1, out);
                }
                self.version = version;
                if version_ge(version, VERSION_3_5) {
                    let req = SynthvidMessage::ResolutionRequest {
                        max_count: MAX_RESOLUTIONS as u8,
                    };
                    send(out, &mut self.next_id, &req)?;
                    self.state = SynthvidState::AwaitingResolutions;
                    Ok(())
                } else {
                    self.send_vram(out)
                }
            }
            (
                SynthvidState::AwaitingResolutions,
                SynthvidMessage::ResolutionResponse {
                    default_index,
                    resolutions,
                    ..
                },
            ) => {
                let usable = resolutions.get(usize::from(default_index)).copied();
                self.resolutions = resolutions;
                self.preferred = usable.map(|r| (u32::from(r.width), u32::from(r.height)));
                self.send_vram(out)?;
                // Linux falls back to defaults on an empty list or a bad
                // index; so do we, but report it.
                match usable {
                    Some(_) => Ok(()),
                    None => Err(SynthvidError::BadResolutions),
                }
            }
            (SynthvidState::AwaitingVramAck, SynthvidMessage::VramLocationAck { user_ctx }) => {
                if user_ctx != self.config.vram_gpa {
                    return Err(SynthvidError::BadContext(user_ctx));
                }
                self.go_ready(out)
            }
            (SynthvidState::Ready, SynthvidMessage::SituationUpdateAck { user_ctx }) => {
                // Linux never waits for this ACK; accept it once per update.
                if self.situation_ctx != Some(user_ctx) {
                    return Err(SynthvidError::BadContext(user_ctx));
                }
                self.situation_ctx = None;
                Ok(())
            }
            (
                SynthvidState::AwaitingResolutions
                | SynthvidState::AwaitingVramAck
                | SynthvidState::Ready,
                SynthvidMessage::FeatureChange(f),
            ) => {
                self.features = f;
                if f.dirt_needed
                    && self.config.hide_host_cursor
                    && self.state == SynthvidState::Ready
                {
                    for p in self.cursor_packets()? {
                        out.send(p);
                    }
                }
                out.event(SynthvidEvent::FeatureChange(f));
                Ok(())
            }
            (state, msg) => Err(SynthvidError::Unexpected {
                state,
                msg_type: msg.msg_type(),
            }),
        }
    }
}

/// Compares synthvid versions ((minor << 16) | major) numerically.
fn version_ge(a: u32, b: u32) -> bool {
    let key = |v: u32| ((v & 0xFFFF) << 16) | (v >> 16);
    key(a) >= key(b)
}

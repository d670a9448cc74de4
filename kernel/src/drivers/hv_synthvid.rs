//! The Hyper-V synthetic video device (sheet §6.3): synthvid over a VMBus
//! channel, giving the window system the screen in the host's mode.
//!
//! The VRAM is placed where the firmware's framebuffer is, as Hyper-V's
//! own UEFI does: the loader's framebuffer is the GOP one, at the start of
//! the low MMIO gap on a Generation 2 VM. The `vmbus-devices` state
//! machine runs on the channel's service thread (`hv_service`): version
//! (by the VMBus version, as Linux orders them), the host's resolutions,
//! VRAM_LOCATION, the hidden host cursor, SITUATION_UPDATE. A mode is
//! chosen only if it fits the framebuffer mapping the kernel has; once it
//! is set the window system draws in it (`window::screen::set_mode`).
//! When the host asks for dirty rectangles (FEATURE_CHANGE), what the
//! window system drew is sent every 20 ms. When the channel stops the
//! screen goes back to the loader's mode.
#![forbid(unsafe_code)]

use super::hv_service::{relid_of, Protocol, Served};
use super::{Driver, DriverError, Match, Probe};
use crate::boot::FramebufferInfo;
use crate::sync::SpinLock;
use alloc::format;
use alloc::string::String;
use vmbus_devices::synthvid::{
    versions_for_vmbus, Rect, Synthvid, SynthvidConfig, SynthvidEvent, SynthvidState, VERSION_3_0,
    VERSION_3_2, VERSION_3_5,
};
use vmbus_devices::{Incoming, Output};

static MATCHES: &[Match] = &[Match::VmBus(vmbus::guid::SYNTHVID.0)];

/// The driver, registered at boot.
pub static DRIVER: Driver = Driver {
    name: "hv-video",
    matches: MATCHES,
    probe,
};

/// The one video device served.
pub static SERVED: Served = Served::new("hv-video");

/// The configuration the probe worked out, for the service thread.
static CONFIG: SpinLock<Option<SynthvidConfig>> = SpinLock::new(None);
/// The mode the screen is in because of synthvid, if any.
static MODE: SpinLock<Option<FramebufferInfo>> = SpinLock::new(None);

const ONE_MIB: u64 = 1 << 20;
/// The most VRAM an offer may ask for (Hyper-V offers 8 MiB; Linux's
/// hyperv_drm accepts what fits the MMIO window).
const VRAM_MAX_MIB: u16 = 256;
/// How often drawn rectangles go to a host that asked for them.
const DIRT_NS: u64 = 20_000_000;
/// How long the service thread sleeps otherwise.
const IDLE_NS: u64 = 100_000_000;

fn probe(p: &Probe) -> Result<(), DriverError> {
    let refuse = |why: String| Err(DriverError::Device(format!("{}: {why}", p.device.name)));
    let relid = relid_of(p).unwrap_or(0);
    let Some(connection) = crate::hyperv::bus::active() else {
        return refuse("no VMBus connection".into());
    };
    let Some(offer) = connection.offer(relid) else {
        return refuse(format!("relid {relid} was never offered"));
    };
    let mib = offer.mmio_megabytes;
    if mib == 0 || mib > VRAM_MAX_MIB {
        return refuse(format!(
            "the offer asks for {mib} MiB of VRAM (1 to {VRAM_MAX_MIB})"
        ));
    }
    let Some((base, mapped)) = crate::mm::hhdm::framebuffer_phys() else {
        return refuse("no firmware framebuffer to place the VRAM at".into());
    };
    if !base.is_multiple_of(ONE_MIB) {
        return refuse(format!(
            "the framebuffer at {base:#x} is not 1 MiB aligned, as VRAM must be"
        ));
    }
    let vmbus = connection.status().version.map_or(0, |v| v.0);
    let config = SynthvidConfig {
        versions: at_32_bpp(versions_for_vmbus(vmbus)),
        drawable: mapped,
        ..SynthvidConfig::new(base, u64::from(mib) * ONE_MIB)
    };
    *CONFIG.lock() = Some(config);
    log::info!(
        "hv-video: VRAM {mib} MiB at {base:#x} (the firmware framebuffer, {mapped} bytes mapped)"
    );
    SERVED.probe(p, thread)
}

fn thread(_: u64) {
    let Some(config) = CONFIG.lock().take() else {
        return SERVED.run(Refused);
    };
    SERVED.run(Video {
        synthvid: Synthvid::new(config),
        vram: config.vram_gpa,
        everything: false,
    });
}

/// `versions` without synthvid 3.0, whose 16 bits per pixel the screen
/// does not draw: a host that offers only 3.0 is refused before it is
/// told where the VRAM is.
fn at_32_bpp(versions: &'static [u32]) -> &'static [u32] {
    match versions {
        [VERSION_3_2, VERSION_3_0] => &[VERSION_3_2],
        [VERSION_3_5, VERSION_3_2, VERSION_3_0] => &[VERSION_3_5, VERSION_3_2],
        other => other,
    }
}

/// The screen mode synthvid set, if the screen is in one.
pub fn mode() -> Option<FramebufferInfo> {
    *MODE.lock()
}

/// The video protocol.
struct Video {
    synthvid: Synthvid,
    vram: u64,
    /// The host asked for dirty rectangles: send the whole screen first.
    everything: bool,
}

impl Video {
    fn show(&mut self, width: u32, height: u32, stride: u32, depth_bits: u8) {
        if depth_bits != 32 {
            log::warn!(
                "hv-video: the host gave {width}x{height} at {depth_bits} bits per pixel; the screen stays as the loader set it"
            );
            return;
        }
        let info = FramebufferInfo {
            address: 0,
            width: u64::from(width),
            height: u64::from(height),
            pitch: u64::from(stride),
            bpp: 32,
            // Depth 32 is XRGB8888, red at bit 16 (§6.3).
            red: (8, 16),
            green: (8, 8),
            blue: (8, 0),
        };
        match crate::window::set_mode(info) {
            Ok(()) => {
                *MODE.lock() = Some(info);
                log::info!(
                    "hv-video: the screen is {width}x{height} in the VRAM at {:#x}",
                    self.vram
                );
            }
            Err(e) => log::warn!("hv-video: mode {width}x{height} refused: {e}"),
        }
    }
}

impl Protocol for Video {
    type Event = SynthvidEvent;

    fn start(&mut self, out: &mut Output<SynthvidEvent>) -> Result<(), String> {
        self.synthvid.start(out).map_err(|e| format!("{e:?}"))
    }

    fn handle(
        &mut self,
        packet: &Incoming<'_>,
        out: &mut Output<SynthvidEvent>,
    ) -> Result<(), String> {
        self.synthvid
            .handle(packet, out)
            .map_err(|e| format!("{e:?}"))
    }

    fn failed(&self) -> bool {
        self.synthvid.state() == SynthvidState::Failed
    }

    fn deliver(&mut self, event: SynthvidEvent) -> bool {
        match event {
            SynthvidEvent::Ready {
                width,
                height,
                stride,
                depth_bits,
                ..
            } => {
                self.show(width, height, stride, depth_bits);
                true
            }
            SynthvidEvent::FeatureChange(f) => {
                log::info!("hv-video: the host asks for {f:?}");
                // The whole screen once: the host has seen none of it.
                self.everything = f.dirt_needed;
                false
            }
        }
    }

    fn tick(&mut self, out: &mut Output<SynthvidEvent>) {
        let drawn = crate::window::take_damage();
        let (Some(m), true) = (self.synthvid.mode(), self.synthvid.features().dirt_needed) else {
            return;
        };
        let rect = if core::mem::take(&mut self.everything) {
            whole(m.width, m.height)
        } else {
            let Some(drawn) = drawn else {
                return;
            };
            clip(drawn, m.width, m.height)
        };
        if rect.x1 < rect.x2 && rect.y1 < rect.y2 {
            match self.synthvid.dirty(&[rect]) {
                Ok(Some(p)) => out.sends.push(p),
                Ok(None) => {}
                Err(e) => log::warn!("hv-video: no DIRT for {rect:?}: {e:?}"),
            }
        }
    }

    fn idle_ns(&self) -> u64 {
        if self.synthvid.features().dirt_needed {
            DIRT_NS
        } else {
            IDLE_NS
        }
    }

    /// A DIRT packet the ring had no room for: the whole screen goes at a
    /// later tick instead (as Linux's hyperv_drm retries). Bring-up packets
    /// are never dropped.
    fn unsent(&mut self) -> bool {
        if self.synthvid.state() != SynthvidState::Ready {
            return false;
        }
        self.everything = true;
        true
    }

    fn stopped(&mut self) {
        if MODE.lock().take().is_none() {
            return;
        }
        let boot = crate::boot::info().and_then(|i| i.framebuffer);
        match boot.map(crate::window::set_mode) {
            Some(Ok(())) => log::info!("hv-video: the screen is back in the loader's mode"),
            Some(Err(e)) => log::warn!("hv-video: the loader's mode is refused: {e}"),
            None => {}
        }
    }
}

fn whole(width: u32, height: u32) -> Rect {
    Rect {
        x1: 0,
        y1: 0,
        x2: width as i32,
        y2: height as i32,
    }
}

/// `drawn` clipped to a `width` × `height` mode (a window placed before
/// a mode change may lie partly outside it).
fn clip(drawn: winsys::layout::Rect, width: u32, height: u32) -> Rect {
    Rect {
        x1: drawn.x.min(width) as i32,
        y1: drawn.y.min(height) as i32,
        x2: drawn.x.saturating_add(drawn.width).min(width) as i32,
        y2: drawn.y.saturating_add(drawn.height).min(height) as i32,
    }
}

/// A protocol that never starts (the probe left no configuration).
struct Refused;

impl Protocol for Refused {
    type Event = SynthvidEvent;

    fn start(&mut self, _: &mut Output<SynthvidEvent>) -> Result<(), String> {
        Err("no configuration".into())
    }

    fn handle(&mut self, _: &Incoming<'_>, _: &mut Output<SynthvidEvent>) -> Result<(), String> {
        Err("not started".into())
    }

    fn failed(&self) -> bool {
        true
    }

    fn deliver(&mut self, _: SynthvidEvent) -> bool {
        false
    }
}

//! M7: a frame a program draws through SetScreenBuffer arrives in the
//! simulated host's VRAM with the right pixels.
//!
//! All five synthetic devices are bound; the video driver has put its VRAM
//! at the firmware framebuffer and the screen in the host's mode. The
//! model then asks for dirty rectangles (FEATURE_CHANGE), `m4-tests.exe
//! synthvid` draws its 320×200 pattern in a full-screen window, and the
//! model reads every pixel of the screen back from the VRAM with the
//! geometry the guest gave it in SITUATION_UPDATE. Where the pattern must
//! be is worked out here from the mode alone: the largest integer factor
//! that fits, centred, black around it.
#![forbid(unsafe_code)]

use super::m7_host::Simulated;
use super::{detail, ensure, Context, Detail, Outcome};
use crate::drivers::hv_synthvid;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use vmbus_host::device::keyboard::Keyboard;
use vmbus_host::device::synthvid::{Rect, Synthvid};
use vmbus_host::DeviceId;

/// The program's pattern (user/m4-tests/src/windows.rs).
const W: u32 = 320;
const H: u32 = 200;
/// Rows the model reads per hold of its lock.
const BAND: u32 = 16;
/// Set-1 make code of `q`.
const Q: u8 = 0x10;

/// Where the window system puts the pattern on a `width` × `height`
/// screen: the largest integer factor that fits, and the top-left corner
/// of the centred area.
fn placement(width: u32, height: u32) -> (u32, u32, u32) {
    let factor = (width / W).min(height / H).max(1);
    let ax = width.saturating_sub(W * factor) / 2;
    let ay = height.saturating_sub(H * factor) / 2;
    (factor, ax, ay)
}

fn pattern(x: u32, y: u32) -> u32 {
    ((x & 0xff) << 16) | ((y & 0xff) << 8) | ((x * 3 + y * 5) & 0xff)
}

/// The M7 check.
pub fn frame_reaches_the_synthvid_vram(ctx: &Context<'_>) -> Outcome {
    let info = ctx.info;
    super::m7::with_input_devices("vmbus8", |sim, ids| draw(info, sim, ids[0], ids[2]))
}

fn draw(
    info: &crate::boot::BootInfo,
    sim: &Arc<Simulated>,
    keyboard: DeviceId,
    video: DeviceId,
) -> Result<String, Detail> {
    ensure!(
        super::wait_for(10, || hv_synthvid::mode().is_some()),
        "the screen never took the host's mode (video driver ready: {})",
        hv_synthvid::SERVED.ready()
    );
    let offers = crate::hyperv::bus::active()
        .map(|c| c.status().offers)
        .unwrap_or_default();
    let bound: Vec<(u32, Option<&str>)> = offers
        .iter()
        .map(|o| (o.relid, o.node.and_then(crate::drivers::driver_of)))
        .collect();
    ensure!(
        bound.len() == 5 && bound.iter().all(|(_, d)| d.is_some()),
        "the offers (relid, driver): {bound:?}"
    );
    let mode = hv_synthvid::mode().ok_or_else(|| detail!("the mode went away"))?;
    let (width, height) = (mode.width as u32, mode.height as u32);
    let host = sim.with_host(|h| {
        h.device::<Synthvid>(video)
            .and_then(|v| Some((v.vram()?, v.situation()?)))
    });
    let (vram, situation) = host.ok_or_else(|| detail!("the model has no VRAM location"))?;
    let fb = crate::mm::hhdm::framebuffer_phys().map(|(base, _)| base);
    ensure!(
        Some(vram) == fb,
        "VRAM at {vram:#x}, the firmware framebuffer at {fb:#x?}"
    );
    ensure!(
        situation.active
            && situation.depth == 32
            && (situation.width, situation.height) == (width, height)
            && u64::from(situation.pitch) == mode.pitch,
        "the host was told {situation:?}, the screen is {width}x{height} pitch {}",
        mode.pitch
    );
    ensure!(
        crate::window::screen_size() == Some((width, height)),
        "the window system's screen is {:?}, synthvid's mode {width}x{height}",
        crate::window::screen_size()
    );
    ensure!(
        sim.with_host(|h| h
            .device_mut::<Synthvid>(video)
            .is_some_and(|v| v.feature_change(true, false, false, true))),
        "the model would not ask for dirty rectangles"
    );
    // The whole screen first: the host has seen none of it.
    let whole = Rect {
        x1: 0,
        y1: 0,
        x2: width as i32,
        y2: height as i32,
    };
    let mut first = Vec::new();
    let told = super::wait_for(5, || {
        first.extend(sim.with_host(|h| {
            h.device_mut::<Synthvid>(video)
                .map(|v| v.take_dirt())
                .unwrap_or_default()
        }));
        first.contains(&whole)
    });
    ensure!(
        told,
        "after FEATURE_CHANGE the host got {first:?}, not the whole screen"
    );
    let (frames, presented) = run_program(info, sim, keyboard, video, width, height)?;
    let (factor, ax, ay) = placement(width, height);
    let wrong = presented.map_err(|e| detail!("{e}"))?;
    ensure!(
        frames.is_empty(),
        "{} pixel(s) of the VRAM are wrong, the first {:?}",
        wrong,
        frames
    );
    Ok(format!(
        "{width}x{height} at {vram:#x}: the {W}x{H} pattern at {factor}x from ({ax}, {ay}) and black around it, every pixel read back from the model's VRAM; DIRT for the whole screen after FEATURE_CHANGE, then exactly the frame's area"
    ))
}

/// Runs `m4-tests.exe synthvid`; once it has presented, compares the VRAM
/// and the dirty rectangles, then types `q`. Returns (the first wrong
/// pixels as (x, y, got, want), how many were wrong or why it could not
/// look).
#[allow(clippy::type_complexity)]
fn run_program(
    info: &crate::boot::BootInfo,
    sim: &Arc<Simulated>,
    keyboard: DeviceId,
    video: DeviceId,
    width: u32,
    height: u32,
) -> Result<(Vec<(u32, u32, u32, u32)>, Result<usize, String>), Detail> {
    let ((wrong, looked, typed), exit) = super::m7::run_m4_tests(info, "synthvid", |id| {
        let drawn = super::wait_for(20, || {
            crate::window::activity_of(id).is_some_and(|a| a.frames >= 1)
        });
        let mut wrong = Vec::new();
        let looked = if drawn {
            compare(sim, video, width, height, &mut wrong).and_then(|n| {
                dirt_covers(sim, video, width, height)?;
                Ok(n)
            })
        } else {
            Err("m4-tests.exe synthvid presented nothing".into())
        };
        let typed = sim.with_host(|h| {
            h.device_mut::<Keyboard>(keyboard)
                .is_some_and(|k| k.press(Q, false, false) && k.press(Q, true, false))
        });
        (wrong, looked, typed)
    })?;
    ensure!(typed, "the model would not type");
    ensure!(
        exit.code == 0 && exit.fault.is_none(),
        "m4-tests.exe synthvid {exit}"
    );
    Ok((wrong, looked))
}

/// Reads the whole screen from the model's VRAM and counts the pixels
/// that differ from the pattern's placement; the first few go to `wrong`.
fn compare(
    sim: &Arc<Simulated>,
    video: DeviceId,
    width: u32,
    height: u32,
    wrong: &mut Vec<(u32, u32, u32, u32)>,
) -> Result<usize, String> {
    let (factor, ax, ay) = placement(width, height);
    let want = |x: u32, y: u32| {
        let (px, py) = (x.wrapping_sub(ax) / factor, y.wrapping_sub(ay) / factor);
        if x >= ax && y >= ay && px < W && py < H {
            pattern(px, py)
        } else {
            0
        }
    };
    let mut bad = 0;
    let mut y = 0;
    while y < height {
        let rows = BAND.min(height - y);
        let band = sim
            .with_host(|h| {
                h.device::<Synthvid>(video)?
                    .read_pixels(h.platform(), 0, y, width, rows)
            })
            .ok_or_else(|| format!("the model could not read rows {y}.. of its VRAM"))?;
        for (i, &got) in band.iter().enumerate() {
            let (x, py) = (i as u32 % width, y + i as u32 / width);
            let expected = want(x, py);
            if got & 0x00FF_FFFF != expected {
                bad += 1;
                if wrong.len() < 4 {
                    wrong.push((x, py, got, expected));
                }
            }
        }
        y += rows;
    }
    Ok(bad)
}

/// Waits until the model got a dirty rectangle that is exactly the
/// pattern's area: the frame's own (the program waits after opening its
/// window, so the cleared window goes as a rectangle of its own first).
fn dirt_covers(
    sim: &Arc<Simulated>,
    video: DeviceId,
    width: u32,
    height: u32,
) -> Result<(), String> {
    let (factor, ax, ay) = placement(width, height);
    let (ax, ay) = (ax as i32, ay as i32);
    let area = Rect {
        x1: ax,
        y1: ay,
        x2: ax + (W * factor) as i32,
        y2: ay + (H * factor) as i32,
    };
    let mut got: Vec<Rect> = Vec::new();
    let found = super::wait_for(5, || {
        got.extend(sim.with_host(|h| {
            h.device_mut::<Synthvid>(video)
                .map(|v| v.take_dirt())
                .unwrap_or_default()
        }));
        got.contains(&area)
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "no dirty rectangle is the frame's {area:?}: {got:?}"
        ))
    }
}

//! M4: the device tree, the driver registry, PCI and the PS/2 controller.
//!
//! The expected devices are QEMU q35's (QEMU 7.2 `hw/pci-host/q35.c`,
//! `hw/isa/lpc_ich9.c`, `hw/ide/ich.c`, `hw/display/bochs-display` /
//! `-vga std`) plus the `virtio-rng-pci` the suite adds with `-device`
//! (`tests/src/expected.rs`, `SUITE_DEVICES`). IDs and BAR sizes are those
//! devices' own, read by the tree from config space.

use super::{detail, ensure, Check, Context, Outcome};
use crate::drivers::{self, DeviceEntry, Driver, DriverError, Id, Match, Probe, Resource};
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

pub const CHECKS: &[Check] = &[
    Check {
        milestone: "M4",
        name: "pci_functions_of_q35",
        run: pci_functions_of_q35,
    },
    Check {
        milestone: "M4",
        name: "pci_bars_sized",
        run: pci_bars_sized,
    },
    Check {
        milestone: "M4",
        name: "failing_probe_is_reported",
        run: failing_probe_is_reported,
    },
    Check {
        milestone: "M4",
        name: "late_driver_binds",
        run: late_driver_binds,
    },
    Check {
        milestone: "M4",
        name: "msix_interrupt_from_virtio_rng",
        run: super::m4_msix::msix_interrupt_from_virtio_rng,
    },
    Check {
        milestone: "M4",
        name: "i8042_keyboard_and_mouse",
        run: i8042_keyboard_and_mouse,
    },
    Check {
        milestone: "M4",
        name: "input_from_host",
        run: input_from_host,
    },
    Check {
        milestone: "M4",
        name: "m4_user_checks",
        run: m4_user_checks,
    },
    Check {
        milestone: "M4",
        name: "windows_close_with_their_process",
        run: windows_close_with_their_process,
    },
];

/// Runs m4-tests.exe, whose checks land in M4 (the tree through
/// GET_DEVICE, its bad arguments).
fn m4_user_checks(ctx: &Context<'_>) -> Outcome {
    super::user_checks(ctx, "m4-tests.exe", "", "M4")
}

/// The function with PCI id `vendor:device`.
fn pci(vendor: u16, device: u16) -> Option<DeviceEntry> {
    drivers::query(
        |d| matches!(d.id, Id::Pci { vendor: v, device: dd, .. } if v == vendor && dd == device),
    )
    .into_iter()
    .next()
}

fn class_of(e: &DeviceEntry) -> (u8, u8) {
    match e.device.id {
        Id::Pci {
            class, subclass, ..
        } => (class, subclass),
        _ => (0xff, 0xff),
    }
}

fn pci_functions_of_q35(_: &Context<'_>) -> Outcome {
    // (vendor, device, class, subclass, what)
    const EXPECTED: &[(u16, u16, u8, u8, &str)] = &[
        (0x8086, 0x29c0, 0x06, 0x00, "host bridge"),
        (0x8086, 0x2918, 0x06, 0x01, "LPC/ISA bridge"),
        (0x8086, 0x2922, 0x01, 0x06, "SATA (AHCI)"),
        (0x8086, 0x2930, 0x0c, 0x05, "SMBus"),
        (0x1234, 0x1111, 0x03, 0x00, "VGA"),
        (0x1af4, 0x1005, 0x00, 0xff, "virtio-rng (-device)"),
    ];
    let all = drivers::query(|d| matches!(d.id, Id::Pci { .. }));
    let mut missing = Vec::new();
    for &(v, d, class, subclass, what) in EXPECTED {
        match pci(v, d) {
            None => missing.push(alloc::format!("{v:04x}:{d:04x} {what}")),
            Some(e) if class != 0 && class_of(&e) != (class, subclass) => {
                let (c, s) = class_of(&e);
                return Err(detail!(
                    "{v:04x}:{d:04x} {what} has class {c:02x}.{s:02x}, not {class:02x}.{subclass:02x}"
                ));
            }
            Some(_) => {}
        }
    }
    ensure!(
        missing.is_empty(),
        "not in the tree: {}",
        missing.join(", ")
    );
    // Every function sits under pci0 (or a bridge below it), none at the root.
    let misplaced = all
        .iter()
        .filter(|e| e.parent.is_none_or(|p| p == drivers::ROOT))
        .count();
    ensure!(misplaced == 0, "{misplaced} PCI function(s) outside pci0");
    let lpc = pci(0x8086, 0x2918).map(|e| e.device.name);
    ensure!(
        lpc.as_deref() == Some("00:1f.0"),
        "the LPC bridge is named {lpc:?}, not 00:1f.0"
    );
    Ok(detail!(
        "{} functions; q35 host, LPC, SATA, SMBus, VGA and the virtio-rng found",
        all.len()
    ))
}

fn memory(e: &DeviceEntry) -> Vec<(u64, u64, bool)> {
    e.device
        .resources
        .iter()
        .filter_map(|r| match *r {
            Resource::Memory {
                base,
                len,
                prefetchable,
            } => Some((base, len, prefetchable)),
            _ => None,
        })
        .collect()
}

fn io(e: &DeviceEntry) -> Vec<(u16, u16)> {
    e.device
        .resources
        .iter()
        .filter_map(|r| match *r {
            Resource::Io { base, len } => Some((base, len)),
            _ => None,
        })
        .collect()
}

fn pci_bars_sized(ctx: &Context<'_>) -> Outcome {
    let vga = pci(0x1234, 0x1111).ok_or_else(|| detail!("no VGA function"))?;
    let sata = pci(0x8086, 0x2922).ok_or_else(|| detail!("no SATA function"))?;
    let rng = pci(0x1af4, 0x1005).ok_or_else(|| detail!("no virtio-rng function"))?;
    // VGA: BAR0 the 16 MiB prefetchable framebuffer, BAR2 4 KiB MMIO.
    let v = memory(&vga);
    ensure!(
        v.len() == 2 && v[0].1 == 16 << 20 && v[0].2 && v[1].1 == 4096 && !v[1].2,
        "VGA memory BARs {v:x?}"
    );
    // The framebuffer the loader handed over lies in VGA BAR0.
    let fb = ctx
        .info
        .framebuffer
        .map(|f| f.address - crate::mm::hhdm::offset());
    ensure!(
        fb.is_none_or(|a| a >= v[0].0 && a < v[0].0 + v[0].1),
        "the framebuffer {fb:x?} is not in VGA BAR0 {:#x}+{:#x}",
        v[0].0,
        v[0].1
    );
    // AHCI: BAR4 32 I/O ports, BAR5 4 KiB ABAR.
    let (si, sm) = (io(&sata), memory(&sata));
    ensure!(
        si.len() == 1 && si[0].1 == 32 && sm.len() == 1 && sm[0].1 == 4096,
        "SATA BARs io {si:x?} memory {sm:x?}"
    );
    // Transitional virtio: BAR0 legacy I/O (32 ports for this device),
    // BAR1 4 KiB (MSI-X), BAR4 the 64-bit prefetchable 16 KiB region.
    let (ri, rm) = (io(&rng), memory(&rng));
    ensure!(
        ri.len() == 1
            && ri[0].1 == 32
            && rm.len() == 2
            && rm[0].1 == 4096
            && rm[1].1 == 16384
            && rm[1].2
            && rm[1].0 > u64::from(u32::MAX),
        "virtio-rng BARs io {ri:x?} memory {rm:x?}"
    );
    Ok(detail!(
        "VGA {:#x}+16M pref, {:#x}+4K; SATA io {:#x}+32, {:#x}+4K; virtio-rng io {:#x}+32, 64-bit {:#x}+16K",
        v[0].0,
        v[1].0,
        si[0].0,
        sm[0].0,
        ri[0].0,
        rm[1].0
    ))
}

/// Probes of the failing test driver so far.
static FAILING_PROBES: AtomicU64 = AtomicU64::new(0);
/// Probes of the late test driver, and the I/O base it claimed.
static LATE_PROBES: AtomicU64 = AtomicU64::new(0);
static LATE_PORT: AtomicU64 = AtomicU64::new(0);

static RNG: &[Match] = &[Match::PciId {
    vendor: 0x1af4,
    device: 0x1005,
}];

/// Claims the device's ports and registers, then fails (the claims must
/// go with it).
fn failing_probe(p: &Probe) -> Result<(), DriverError> {
    FAILING_PROBES.fetch_add(1, Ordering::Relaxed);
    let _ports = p.io(0)?;
    let _registers = p.mmio(0)?;
    Err(DriverError::Device(String::from(
        "M4 test: refuses on purpose",
    )))
}

static FAILING: Driver = Driver {
    name: "m4-failing",
    matches: RNG,
    probe: failing_probe,
};

fn late_probe(p: &Probe) -> Result<(), DriverError> {
    LATE_PROBES.fetch_add(1, Ordering::Relaxed);
    let ports = p.io(0)?;
    // Virtio legacy header (VirtIO 1.0 §4.1.4.8): the device status byte
    // at 0x12 reads 0 before any driver touched the device.
    let registers = p.mmio(0)?;
    let status = ports.read8(0x12);
    if status != 0 {
        return Err(DriverError::Device(alloc::format!(
            "device status {status:#x}, not 0"
        )));
    }
    // Dropping the claims at the end of the probe keeps the check simple;
    // a real driver would keep them in its state.
    drop(registers);
    LATE_PORT.store(u64::from(ports.base()), Ordering::Relaxed);
    Ok(())
}

static LATE: Driver = Driver {
    name: "m4-late",
    matches: RNG,
    probe: late_probe,
};

/// The suite's virtio-rng function (also used by `m4_msix`).
pub(super) fn rng_entry() -> Result<DeviceEntry, super::Detail> {
    pci(0x1af4, 0x1005).ok_or_else(|| detail!("no virtio-rng function"))
}

fn failing_probe_is_reported(_: &Context<'_>) -> Outcome {
    let before = rng_entry()?;
    ensure!(
        before.driver.is_none() && before.failures.is_empty(),
        "the virtio-rng is already bound ({:?}) before the test driver",
        before.driver
    );
    drivers::register(&FAILING).map_err(|e| detail!("{e}"))?;
    let after = rng_entry()?;
    let probes = FAILING_PROBES.load(Ordering::Relaxed);
    ensure!(probes == 1, "the failing driver was probed {probes} times");
    ensure!(
        after.driver.is_none(),
        "bound to {:?} after a failed probe",
        after.driver
    );
    ensure!(
        after.failures.len() == 1
            && after.failures[0].0 == "m4-failing"
            && after.failures[0].1.contains("refuses on purpose"),
        "failures recorded: {:?}",
        after.failures
    );
    // The rest of the tree is untouched: the keyboard is still bound.
    let keyboard = drivers::query(|d| d.id == Id::Pnp("PNP0303"));
    ensure!(
        keyboard.first().and_then(|k| k.driver) == Some("i8042"),
        "the keyboard lost its driver"
    );
    Ok(detail!(
        "{} left unbound with '{}: {}'",
        after.device.name,
        after.failures[0].0,
        after.failures[0].1
    ))
}

fn late_driver_binds(_: &Context<'_>) -> Outcome {
    let rng = rng_entry()?;
    ensure!(rng.driver.is_none(), "already bound to {:?}", rng.driver);
    drivers::register(&LATE).map_err(|e| detail!("{e}"))?;
    let after = rng_entry()?;
    let probes = LATE_PROBES.load(Ordering::Relaxed);
    ensure!(probes == 1, "the late driver was probed {probes} times");
    ensure!(
        after.driver == Some("m4-late"),
        "bound to {:?}, not m4-late; failed probes {:?}",
        after.driver,
        after.failures
    );
    // It could claim the ports the failed probe had claimed: that claim
    // was released.
    let want = io(&rng).first().map(|r| u64::from(r.0));
    let got = LATE_PORT.load(Ordering::Relaxed);
    ensure!(
        want == Some(got),
        "claimed ports {got:#x}, BAR0 is {want:x?}"
    );
    // Registering again is refused, and nothing is probed twice.
    ensure!(
        drivers::register(&LATE).is_err(),
        "a second registration was taken"
    );
    ensure!(
        LATE_PROBES.load(Ordering::Relaxed) == 1,
        "probed again after binding"
    );
    Ok(detail!(
        "registered after the scan, bound to {} and claimed ports {got:#x}",
        after.device.name
    ))
}

fn i8042_keyboard_and_mouse(_: &Context<'_>) -> Outcome {
    let keyboard = drivers::query(|d| d.id == Id::Pnp("PNP0303"));
    let mouse = drivers::query(|d| d.id == Id::Pnp("PNP0F13"));
    let k = keyboard
        .first()
        .ok_or_else(|| detail!("no keyboard node"))?;
    let m = mouse.first().ok_or_else(|| detail!("no mouse node"))?;
    ensure!(
        k.driver == Some("i8042"),
        "keyboard: driver {:?}, failures {:?}",
        k.driver,
        k.failures
    );
    ensure!(
        m.driver == Some("i8042-aux"),
        "mouse: driver {:?}, failures {:?}",
        m.driver,
        m.failures
    );
    let status = drivers::i8042::status().ok_or_else(|| detail!("no controller state"))?;
    ensure!(
        status.wheel,
        "the mouse did not take the IntelliMouse wheel extension"
    );
    for (name, gsi, vector) in [
        ("keyboard", status.gsis.0, status.vectors.0),
        ("mouse", status.gsis.1, status.vectors.1),
    ] {
        let entry = crate::irq::redirection(gsi)
            .ok_or_else(|| detail!("no I/O APIC entry for GSI {gsi}"))?;
        ensure!(
            entry & 0xff == u64::from(vector) && entry & (1 << 16) == 0,
            "{name}: GSI {gsi} redirection {entry:#x} is not vector {vector:#x} unmasked"
        );
    }
    Ok(detail!(
        "keyboard on GSI {} (vector {:#x}), wheel mouse on GSI {} (vector {:#x}), translation {}",
        status.gsis.0,
        status.vectors.0,
        status.gsis.1,
        status.vectors.1,
        if status.translation { "on" } else { "off" }
    ))
}

/// How long [`input_from_host`] waits for the host's keys and mouse.
const INPUT_WAIT_NS: u64 = 20_000_000_000;

/// The host test (tests/tests/milestones.rs) answers `STEP input` through
/// QMP: `send-key` for f e r r i t e, shift+1 and ret, then a mouse move of
/// (+20, +10) (QMP's y grows downwards), a left click and one wheel-up.
/// Every event must arrive decoded, in order, and nothing else.
fn input_from_host(_: &Context<'_>) -> Outcome {
    use crate::drivers::input::{self, InputEvent};
    // (scan code, virtual key, character) of each key down, in order:
    // set-1 make codes and Win32 VK codes.
    const KEYS: &[(u16, u8, Option<char>)] = &[
        (0x21, b'F', Some('f')),
        (0x12, b'E', Some('e')),
        (0x13, b'R', Some('r')),
        (0x13, b'R', Some('r')),
        (0x17, b'I', Some('i')),
        (0x14, b'T', Some('t')),
        (0x12, b'E', Some('e')),
        (0x2a, 0x10, None),
        (0x02, b'1', Some('!')),
        (0x1c, 0x0d, Some('\n')),
    ];
    while input::pop().is_some() {}
    let dropped = input::dropped();
    super::raw_line(format_args!("STEP input\n"));
    let deadline = crate::time::now_ns() + INPUT_WAIT_NS;
    let mut downs = Vec::new();
    let mut held: Vec<u16> = Vec::new();
    let mut typed = String::new();
    let (mut dx, mut dy, mut wheel) = (0i32, 0i32, 0i32);
    let mut clicks = (0u32, 0u32);
    let mut last_buttons = 0u8;
    let done =
        |downs: &Vec<(u16, u8, Option<char>)>, held: &Vec<u16>, wheel: i32, clicks: (u32, u32)| {
            downs.len() >= KEYS.len() && held.is_empty() && wheel != 0 && clicks.1 > 0
        };
    while !done(&downs, &held, wheel, clicks) {
        let left = deadline.saturating_sub(crate::time::now_ns());
        let Some(event) = input::wait(left) else {
            break;
        };
        match event {
            InputEvent::Key {
                scancode,
                vk,
                pressed,
                repeat,
                ch,
            } => {
                ensure!(!repeat, "a repeat of {scancode:#x} though no key was held");
                if pressed {
                    held.push(scancode);
                    downs.push((scancode, vk, ch));
                    typed.extend(ch);
                } else {
                    let at = held.iter().position(|&h| h == scancode);
                    ensure!(at.is_some(), "{scancode:#x} came up but was not down");
                    held.retain(|&h| h != scancode);
                }
            }
            InputEvent::Mouse {
                dx: x,
                dy: y,
                wheel: w,
                buttons,
            } => {
                dx += i32::from(x);
                dy += i32::from(y);
                wheel += i32::from(w);
                if buttons & 1 != 0 && last_buttons & 1 == 0 {
                    clicks.0 += 1;
                }
                if buttons & 1 == 0 && last_buttons & 1 != 0 {
                    clicks.1 += 1;
                }
                last_buttons = buttons;
            }
            // No absolute pointer on the PS/2 machine.
            InputEvent::Pointer { .. } => {}
        }
    }
    ensure!(
        downs.as_slice() == KEYS,
        "typed {typed:?}; key downs {downs:x?}, still held {held:x?}"
    );
    ensure!(held.is_empty(), "keys still down: {held:x?}");
    ensure!(
        (dx, dy, wheel, clicks) == (20, -10, 1, (1, 1)),
        "mouse: moved ({dx}, {dy}), wheel {wheel}, left button down/up {clicks:?}"
    );
    ensure!(input::dropped() == dropped, "input events were dropped");
    Ok(detail!(
        "typed {typed:?} (10 keys down and up, set-1 codes and VKs as sent); mouse (+20, -10 up-positive), wheel +1, one left click"
    ))
}

/// m4-tests.exe left its full-screen window open on purpose: its exit
/// must have closed it and given the screen back to the console.
fn windows_close_with_their_process(_: &Context<'_>) -> Outcome {
    let open = crate::window::count();
    ensure!(
        open == 0,
        "{open} window(s) still open after m4-tests.exe ended"
    );
    ensure!(
        crate::console::attached(),
        "the console did not get the screen back"
    );
    Ok(detail!("no window left; the console has the screen again"))
}

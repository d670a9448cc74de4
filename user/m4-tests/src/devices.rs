//! The device tree as ring 3 sees it: `GET_DEVICE` over every index.

use abi::{DeviceRecord, Error};
use init::rt;
use testkit::{check, Report, Shown};

/// Most records the walk reads before it calls the tree endless.
const MOST: u64 = 512;

fn get(index: u64, out: u64) -> abi::SysResult {
    // SAFETY: GET_DEVICE writes at most one DeviceRecord at `out`; the
    // callers pass a live record or an address meant to be refused.
    unsafe { rt::syscall(abi::nr::GET_DEVICE, [index, out, 0, 0, 0]) }
}

fn record(index: u64) -> Result<DeviceRecord, Error> {
    let mut r = DeviceRecord::default();
    get(index, &mut r as *mut DeviceRecord as u64).map(|_| r)
}

fn text(bytes: &[u8]) -> &str {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..end]).unwrap_or("?")
}

/// Walks the tree and looks for what the kernel's M4 checks found.
pub fn tree_is_listed(r: &mut Report) {
    let mut count = 0u64;
    let mut order_ok = true;
    let (mut vga, mut lpc, mut keyboard, mut rng) = (false, false, false, false);
    let mut root_ok = false;
    let end = loop {
        if count == MOST {
            break Err(Error::InvalidArgument);
        }
        let d = match record(count) {
            Ok(d) => d,
            Err(e) => break Ok(e),
        };
        if count == 0 {
            root_ok = d.bus == abi::bus::ROOT && d.parent == u32::MAX && text(&d.name) == "root";
        } else {
            order_ok &= u64::from(d.parent) < count && u64::from(d.index) == count;
        }
        let pci = |v: u16, dev: u16| d.bus == abi::bus::PCI && d.vendor == v && d.device == dev;
        vga |= pci(0x1234, 0x1111) && d.class == 3 && d.resource_count == 2;
        lpc |= pci(0x8086, 0x2918) && text(&d.name) == "00:1f.0";
        keyboard |= text(&d.hardware_id) == "PNP0303"
            && text(&d.driver) == "i8042"
            && d.state == abi::device_state::BOUND;
        rng |= pci(0x1af4, 0x1005) && text(&d.driver) == "m4-late";
        count += 1;
    };
    let ended = end == Ok(Error::NotFound);
    check!(
        r,
        "device_tree_listed",
        ended && root_ok && order_ok && vga && lpc && keyboard && rng && count >= 10,
        "{count} devices, end {:?}; root {root_ok}, parents first {order_ok}; VGA {vga}, LPC 00:1f.0 {lpc}, keyboard on i8042 {keyboard}, virtio-rng on m4-late {rng}",
        end
    );
}

/// Bad pointers and indexes give their errors, never a fault.
pub fn bad_arguments_are_refused(r: &mut Report) {
    let mut ok = DeviceRecord::default();
    let good = &mut ok as *mut DeviceRecord as u64;
    let kernel = get(0, 0xffff_8000_0000_0000);
    let null = get(0, 0);
    let unmapped = get(0, 0x7fff_0000_0000);
    // A record that would run past the end of user space.
    let straddle = get(0, abi::USER_END - 8);
    // The code pages of this program are mapped, but read-only.
    let read_only = get(0, run_address());
    let past = get(u64::from(u32::MAX), good);
    let huge = get(u64::MAX, good);
    let fine = get(0, good);
    let bad = |x: abi::SysResult| x == Err(Error::BadPointer);
    check!(
        r,
        "get_device_refuses_bad_arguments",
        bad(kernel)
            && bad(null)
            && bad(unmapped)
            && bad(straddle)
            && bad(read_only)
            && past == Err(Error::NotFound)
            && huge == Err(Error::NotFound)
            && fine == Ok(0),
        "kernel {} null {} unmapped {} straddling {} read-only {} index 2^32-1 {} index 2^64-1 {} good {}",
        Shown(kernel),
        Shown(null),
        Shown(unmapped),
        Shown(straddle),
        Shown(read_only),
        Shown(past),
        Shown(huge),
        Shown(fine)
    );
}

/// An address inside this program's (read-only, executable) code.
fn run_address() -> u64 {
    bad_arguments_are_refused as *const () as u64
}

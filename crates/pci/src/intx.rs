//! Legacy INTx: which root-bus pin a function's interrupt pin arrives on.

use crate::{Bdf, Function};

/// The root-bus device and pin (0-3 for INTA#-INTD#, as a `_PRT` numbers
/// them) that the interrupt pin `pin` (1-4, as the header's Interrupt
/// Pin register holds it) of the function at `at` reaches.
///
/// Behind each PCI-to-PCI bridge, INTx of device `d` comes out on the
/// bridge's pin `(pin + d) mod 4` (PCI-to-PCI Bridge Architecture 1.2
/// §9.1, Table 9-1); PCIe root and downstream ports do the same. The walk
/// follows the bridges in `functions` (as [`crate::enumerate`] found them)
/// up to `root`. None for pin 0 (no INTx) or above 4, or when a bus on the
/// way has no bridge in `functions`.
pub fn root_pin(functions: &[Function], root: u8, at: Bdf, pin: u8) -> Option<(u8, u8)> {
    if !(1..=4).contains(&pin) {
        return None;
    }
    let mut at = at;
    let mut pin = pin - 1;
    // Each bus is behind at most one bridge and was scanned at most once,
    // so at most 256 steps lead to the root.
    for _ in 0..=u8::MAX {
        if at.bus == root {
            return Some((at.device, pin));
        }
        let bridge = functions
            .iter()
            .find(|f| f.is_bridge() && f.secondary_bus == Some(at.bus))?;
        pin = (pin + at.device % 4) % 4;
        at = bridge.at;
    }
    None
}

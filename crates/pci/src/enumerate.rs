//! Depth-first bus scan: every function reachable from a root bus.

use alloc::vec;
use alloc::vec::Vec;

use crate::function::read_function;
use crate::header::{absent, ID};
use crate::{Bdf, ConfigSpace, Function, Problem};

/// Everything [`enumerate`] found.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Enumeration {
    /// Present functions in scan order: a bridge is followed by everything
    /// behind it, then by the next function on its own bus.
    pub functions: Vec<Function>,
    /// Every function's problems with its address, in scan order.
    pub problems: Vec<(Bdf, Problem)>,
}

impl Enumeration {
    /// The function at `at`, if it was found.
    pub fn get(&self, at: Bdf) -> Option<&Function> {
        self.functions.iter().find(|f| f.at == at)
    }
}

/// A set of bus numbers.
#[derive(Default)]
struct Buses([u64; 4]);

impl Buses {
    /// Adds `bus`; false if it was already there.
    fn insert(&mut self, bus: u8) -> bool {
        let (word, bit) = (usize::from(bus / 64), 1u64 << (bus % 64));
        match self.0.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }
}

/// Where the scan of one bus stands.
struct Cursor {
    bus: u8,
    device: u8,
    function: u8,
    /// Function 0 of `device` said it is multi-function.
    multifunction: bool,
}

impl Cursor {
    fn new(bus: u8) -> Self {
        Self {
            bus,
            device: 0,
            function: 0,
            multifunction: false,
        }
    }

    /// Moves to the next function to probe: the next function number of a
    /// multi-function device, else function 0 of the next device.
    fn advance(&mut self) {
        if self.multifunction && self.function + 1 < Bdf::FUNCTIONS {
            self.function += 1;
        } else {
            self.device += 1;
            self.function = 0;
            self.multifunction = false;
        }
    }
}

/// Depth-first scan from `root_bus`: every device 0..32, function 0 then
/// 1..8 only if multi-function, bridges (header type 1) followed to their
/// secondary bus, each bus at most once (loops refused).
///
/// BAR sizing writes all-ones and restores the original value, with memory
/// and I/O decode turned off in the command register meanwhile (restored
/// after). 64-bit BARs take two slots. Bounded work on any input: at most 256
/// buses of 256 functions, each with a bounded number of accesses.
pub fn enumerate<C: ConfigSpace>(cs: &mut C, root_bus: u8) -> Enumeration {
    let mut found = Enumeration::default();
    let mut scanned = Buses::default();
    scanned.insert(root_bus);
    let mut stack = vec![Cursor::new(root_bus)];
    while let Some(cursor) = stack.last_mut() {
        if cursor.device >= Bdf::DEVICES {
            stack.pop();
            continue;
        }
        let at = Bdf {
            bus: cursor.bus,
            device: cursor.device,
            function: cursor.function,
        };
        let id = cs.read32(at, ID);
        if absent(id as u16) {
            // Function 0 absent means no device (PCI 3.0 §6.2.1), and
            // `multifunction` is still false; a gap in a multi-function
            // device's functions is allowed.
            cursor.advance();
            continue;
        }
        let mut function = read_function(cs, at, id);
        if at.function == 0 {
            cursor.multifunction = function.multifunction;
        }
        cursor.advance();
        if let Some(child) = follow(&mut scanned, &mut function) {
            stack.push(Cursor::new(child));
        }
        for problem in &function.problems {
            found.problems.push((at, *problem));
        }
        found.functions.push(function);
    }
    found
}

/// The bus behind `bridge` to scan next, if it is a bridge whose bus range
/// makes sense and whose secondary bus has not been scanned yet; otherwise
/// records why not on the bridge.
fn follow(scanned: &mut Buses, bridge: &mut Function) -> Option<u8> {
    if !bridge.is_bridge() {
        return None;
    }
    let secondary = bridge.secondary_bus?;
    let subordinate = bridge.subordinate_bus?;
    if subordinate < secondary {
        bridge.problems.push(Problem::BridgeBus {
            secondary,
            subordinate,
        });
        return None;
    }
    if !scanned.insert(secondary) {
        bridge.problems.push(Problem::BusLoop { bus: secondary });
        return None;
    }
    Some(secondary)
}

//! A wire in memory: two [`NetDevice`]s whose frames reach each other.
//!
//! The test double for host tests. What one end transmits waits in the
//! other end's queue until it is received; a tap on an end sees (and may
//! change or drop) every frame that end sends, and frames can be injected
//! into an end's queue as if they came off the wire. Ends can be made busy
//! or made to fail, to exercise the stack's device-error paths.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::device::{DeviceError, NetDevice};

/// Frames a queue holds; past this, frames are lost (and counted).
pub const WIRE_QUEUE: usize = 4096;

/// A function shown each frame an end sends; `false` drops it.
pub type Tap = Box<dyn FnMut(&mut Vec<u8>) -> bool>;

#[derive(Default)]
struct Side {
    /// Frames waiting for this end to receive.
    queue: VecDeque<Vec<u8>>,
    tap: Option<Tap>,
    busy: bool,
    fail_receives: u32,
    fail_transmits: u32,
    sent: u64,
    lost: u64,
}

/// One end of a [`pair`].
pub struct WireEnd {
    sides: Rc<RefCell<[Side; 2]>>,
    me: usize,
    mac: [u8; 6],
    mtu: usize,
}

/// Two joined ends with the given MACs and an IP MTU of 1500.
pub fn pair(mac_a: [u8; 6], mac_b: [u8; 6]) -> (WireEnd, WireEnd) {
    let sides = Rc::new(RefCell::new([Side::default(), Side::default()]));
    let end = |me, mac| WireEnd {
        sides: Rc::clone(&sides),
        me,
        mac,
        mtu: 1500,
    };
    (end(0, mac_a), end(1, mac_b))
}

impl WireEnd {
    /// Sets the MTU this end reports.
    pub fn set_mtu(&mut self, mtu: usize) {
        self.mtu = mtu;
    }

    /// Queues `frame` for this end to receive, as if from the wire.
    pub fn inject(&self, frame: &[u8]) {
        let mut sides = self.sides.borrow_mut();
        push(&mut sides[self.me], frame.to_vec());
    }

    /// Sees every frame this end sends from now on (replacing any tap).
    pub fn set_tap(&self, tap: impl FnMut(&mut Vec<u8>) -> bool + 'static) {
        self.sides.borrow_mut()[self.me].tap = Some(Box::new(tap));
    }

    /// Removes the tap.
    pub fn clear_tap(&self) {
        self.sides.borrow_mut()[self.me].tap = None;
    }

    /// While set, `can_transmit` is false and `transmit` says busy.
    pub fn set_busy(&self, busy: bool) {
        self.sides.borrow_mut()[self.me].busy = busy;
    }

    /// The next `n` calls to `receive` fail (the frames stay queued).
    pub fn fail_receives(&self, n: u32) {
        self.sides.borrow_mut()[self.me].fail_receives = n;
    }

    /// The next `n` calls to `transmit` fail (the frames are lost).
    pub fn fail_transmits(&self, n: u32) {
        self.sides.borrow_mut()[self.me].fail_transmits = n;
    }

    /// Frames waiting for this end.
    pub fn pending(&self) -> usize {
        self.sides.borrow()[self.me].queue.len()
    }

    /// Frames this end has put on the wire (after its tap).
    pub fn sent(&self) -> u64 {
        self.sides.borrow()[self.me].sent
    }

    /// Frames lost because this end's queue was full.
    pub fn lost(&self) -> u64 {
        self.sides.borrow()[self.me].lost
    }
}

fn push(side: &mut Side, frame: Vec<u8>) {
    if side.queue.len() >= WIRE_QUEUE {
        side.lost += 1;
    } else {
        side.queue.push_back(frame);
    }
}

impl NetDevice for WireEnd {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError> {
        let mut sides = self.sides.borrow_mut();
        let side = &mut sides[self.me];
        if side.fail_receives > 0 {
            side.fail_receives -= 1;
            return Err(DeviceError::Failed);
        }
        let Some(frame) = side.queue.pop_front() else {
            return Ok(None);
        };
        let Some(dst) = buf.get_mut(..frame.len()) else {
            return Err(DeviceError::TooLarge);
        };
        dst.copy_from_slice(&frame);
        Ok(Some(frame.len()))
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        let mut sides = self.sides.borrow_mut();
        let [a, b] = &mut *sides;
        let (mine, theirs) = if self.me == 0 { (a, b) } else { (b, a) };
        if mine.busy {
            return Err(DeviceError::Busy);
        }
        if mine.fail_transmits > 0 {
            mine.fail_transmits -= 1;
            return Err(DeviceError::Failed);
        }
        let mut frame = frame.to_vec();
        if let Some(tap) = mine.tap.as_mut() {
            if !tap(&mut frame) {
                return Ok(());
            }
        }
        mine.sent += 1;
        push(theirs, frame);
        Ok(())
    }

    fn can_transmit(&self) -> bool {
        !self.sides.borrow()[self.me].busy
    }
}

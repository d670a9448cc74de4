//! Shared pieces of the host tests: two stacks on a wire, a simulated
//! clock, and hand-built frames.
#![allow(dead_code)]

pub mod frames;

use std::net::Ipv4Addr;

use net::loopback::{pair, WireEnd};
use net::Stack;

pub const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];
pub const IP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const IP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Two stacks joined by a wire, with static addresses 10.0.0.1/24 and
/// 10.0.0.2/24, and the simulated clock.
pub struct Net {
    pub a: Stack<WireEnd>,
    pub b: Stack<WireEnd>,
    pub now: u64,
}

impl Net {
    pub fn new() -> Self {
        let (ea, eb) = pair(MAC_A, MAC_B);
        let mut a = Stack::with_seed(ea, 0, 1).unwrap();
        let mut b = Stack::with_seed(eb, 0, 2).unwrap();
        a.set_static(IP_A, 24, None).unwrap();
        b.set_static(IP_B, 24, None).unwrap();
        Self { a, b, now: 0 }
    }

    /// Polls both stacks once, then moves the clock: by 1 ms while frames
    /// are on the wire, else to the earlier of the two stacks' timers (at
    /// most 1 s).
    pub fn step(&mut self) {
        self.a.poll(self.now);
        self.b.poll(self.now);
        self.now += advance(&mut [&mut self.a, &mut self.b], self.now);
    }

    /// Steps until `done` holds, for at most `max_ms` of simulated time;
    /// returns whether it held.
    pub fn run_until(
        &mut self,
        max_ms: u64,
        mut done: impl FnMut(&mut Stack<WireEnd>, &mut Stack<WireEnd>) -> bool,
    ) -> bool {
        let end = self.now + max_ms;
        while self.now <= end {
            self.step();
            if done(&mut self.a, &mut self.b) {
                return true;
            }
        }
        false
    }
}

/// How far to move a clock at `now` after polling `stacks`.
pub fn advance(stacks: &mut [&mut Stack<WireEnd>], now: u64) -> u64 {
    if stacks.iter().any(|s| s.device().pending() > 0) {
        return 1;
    }
    let mut delay = 1000;
    for s in stacks.iter_mut() {
        if let Some(d) = s.poll_delay(now) {
            delay = delay.min(d);
        }
    }
    delay.max(1)
}

/// `len` bytes of a pattern that differs per `seed`.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

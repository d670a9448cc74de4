//! Counts protocol violations so a misbehaving host cannot keep a driver busy.

/// Violations a driver tolerates before it fails for good.
pub const MAX_STRIKES: u32 = 32;
/// Good packets that forgive one earlier violation.
pub const GOOD_PER_PARDON: u32 = 1024;

/// A leaky counter of protocol violations: each bad packet adds a strike,
/// every [`GOOD_PER_PARDON`] good ones take one away; past [`MAX_STRIKES`]
/// the driver stops and answers every further packet with its `Failed`
/// error (the kernel should then close the channel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Strikes {
    strikes: u32,
    good: u32,
}

impl Strikes {
    /// Records a good packet.
    pub fn good(&mut self) {
        self.good += 1;
        if self.good >= GOOD_PER_PARDON {
            self.good = 0;
            self.strikes = self.strikes.saturating_sub(1);
        }
    }

    /// Records a violation; true once the budget is used up.
    pub fn strike(&mut self) -> bool {
        self.strikes = self.strikes.saturating_add(1);
        self.strikes > MAX_STRIKES
    }

    /// Current strike count.
    pub fn count(&self) -> u32 {
        self.strikes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_after_budget_and_pardons() {
        let mut s = Strikes::default();
        for _ in 0..MAX_STRIKES {
            assert!(!s.strike());
        }
        for _ in 0..GOOD_PER_PARDON {
            s.good();
        }
        assert_eq!(s.count(), MAX_STRIKES - 1);
        assert!(!s.strike());
        assert!(s.strike());
    }
}

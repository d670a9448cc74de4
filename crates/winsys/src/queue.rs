//! A fixed-size message queue that never allocates (interrupt context).
//!
//! When it is full the newest message is dropped and counted, so a reader
//! always sees a gap-free prefix of what happened. [`Queue::take`] takes
//! or peeks the oldest message.

/// Up to `N` messages of type `T`, oldest first.
#[derive(Clone, Debug)]
pub struct Queue<T: Copy, const N: usize> {
    slots: [Option<T>; N],
    head: usize,
    len: usize,
    dropped: u64,
}

impl<T: Copy, const N: usize> Default for Queue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy, const N: usize> Queue<T, N> {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            slots: [None; N],
            head: 0,
            len: 0,
            dropped: 0,
        }
    }

    /// Adds `m` at the end; false (and counted) if the queue is full.
    pub fn push(&mut self, m: T) -> bool {
        if self.len == N || N == 0 {
            self.dropped += 1;
            return false;
        }
        let at = (self.head + self.len) % N;
        self.slots[at] = Some(m);
        self.len += 1;
        true
    }

    /// The oldest message, removed if `remove`.
    pub fn take(&mut self, remove: bool) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let m = self.slots[self.head];
        if remove {
            self.slots[self.head] = None;
            self.head = (self.head + 1) % N;
            self.len -= 1;
        }
        m
    }

    /// Replaces the newest queued message for which `pick` holds by `m`;
    /// false if none does.
    pub fn replace_newest(&mut self, pick: impl Fn(&T) -> bool, m: T) -> bool {
        let newest = (0..self.len)
            .rev()
            .map(|i| (self.head + i) % N)
            .find(|&at| self.slots[at].as_ref().is_some_and(&pick));
        match newest {
            Some(at) => {
                self.slots[at] = Some(m);
                true
            }
            None => false,
        }
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

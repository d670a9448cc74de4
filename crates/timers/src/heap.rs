//! The binary min-heap under the timer queue, keeping slab positions current.

use crate::TimerQueue;

/// A heap node: ordering key plus the slab slot holding the rest.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub deadline: u64,
    /// Breaks deadline ties in insertion order.
    pub seq: u64,
    pub slot: u32,
}

impl Entry {
    /// Whether `self` must come out before `other`.
    fn before(&self, other: &Self) -> bool {
        (self.deadline, self.seq) < (other.deadline, other.seq)
    }
}

impl<K> TimerQueue<K> {
    /// Swaps heap nodes `i` and `j` (both in range) and fixes their slots.
    fn swap(&mut self, i: usize, j: usize) {
        self.heap.swap(i, j);
        let (si, sj) = (self.heap[i].slot, self.heap[j].slot);
        self.set_pos(si, i);
        self.set_pos(sj, j);
    }

    /// Moves node `pos` up until its parent comes before it.
    pub(crate) fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !self.heap[pos].before(&self.heap[parent]) {
                break;
            }
            self.swap(pos, parent);
            pos = parent;
        }
    }

    /// Moves node `pos` down until both children come after it.
    fn sift_down(&mut self, mut pos: usize) {
        let len = self.heap.len();
        loop {
            let left = 2 * pos + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.heap[right].before(&self.heap[left]) {
                right
            } else {
                left
            };
            if !self.heap[child].before(&self.heap[pos]) {
                break;
            }
            self.swap(pos, child);
            pos = child;
        }
    }

    /// Removes node `pos` and restores the heap order.
    pub(crate) fn heap_remove(&mut self, pos: usize) -> Option<Entry> {
        let last = self.heap.len().checked_sub(1)?;
        if pos > last {
            return None;
        }
        if pos != last {
            self.swap(pos, last);
        }
        let entry = self.heap.pop()?;
        if pos < self.heap.len() {
            // The node moved into `pos` may belong above or below it.
            self.sift_down(pos);
            self.sift_up(pos);
        }
        Some(entry)
    }
}

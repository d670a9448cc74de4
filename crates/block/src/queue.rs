//! Requests that complete later: how a driver's device takes work, and
//! [`Blocking`], which makes such a device a [`BlockDevice`].
//!
//! A driver implements [`RequestQueue`]: [`RequestQueue::start`] hands a
//! request to the device and returns its [`Tag`]; the device signals
//! completion (an interrupt in the kernel) and [`RequestQueue::finish`]
//! collects the result. The driver checks what the device says (a
//! completion for a request never started, a used index that jumps) and
//! turns nonsense into [`BlockError::Device`] after taking the device out
//! of service ([`RequestQueue::fail`]).
//!
//! [`Blocking`] splits an access into requests of at most
//! [`RequestQueue::max_transfer`] bytes, keeps up to
//! [`RequestQueue::depth`] of them in flight (so the device can work on
//! the next while the last completes), and waits for each, oldest first,
//! through a [`Wait`] (the kernel's sleeps until the completion interrupt,
//! with a deadline). A request whose time runs out fails the device: it
//! is reset, so that nothing it still holds is written later. A request
//! that fails stops new ones; those in flight are still collected, so the
//! device is idle when the call returns.

use crate::{check_range, BlockDevice, BlockError};

/// A started request, as its driver names it.
pub type Tag = u64;

/// The most requests [`Blocking`] keeps in flight at once.
pub const MAX_DEPTH: usize = 8;

/// What a device is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// Read `sectors` sectors from `lba` on.
    Read {
        /// First sector.
        lba: u64,
        /// Sectors (their bytes are at most `max_transfer`).
        sectors: u32,
    },
    /// Write `data` (whole sectors) from `lba` on.
    Write {
        /// First sector.
        lba: u64,
        /// The bytes (at most `max_transfer`).
        data: &'a [u8],
    },
    /// Make every completed write durable.
    Flush,
}

/// Where a started request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The device has not completed it yet.
    Pending,
    /// Completed, with this result (a read's bytes have been copied out).
    Done(Result<(), BlockError>),
}

/// A device that takes requests and completes them later.
pub trait RequestQueue {
    /// Bytes per sector.
    fn sector_size(&self) -> u32;
    /// Number of sectors.
    fn sector_count(&self) -> u64;
    /// Whether the device refuses writes.
    fn read_only(&self) -> bool;
    /// The most bytes one request moves (a multiple of the sector size).
    fn max_transfer(&self) -> usize;
    /// How many requests the device takes at once ([`Blocking`] keeps at
    /// most [`MAX_DEPTH`] in flight, and at least one).
    fn depth(&self) -> usize {
        1
    }
    /// Hands `request` to the device. [`BlockError::Busy`] when it has no
    /// room for another request now (a flush may need every other request
    /// finished first); [`BlockError::Failed`] once the device has been
    /// taken out of service.
    fn start(&mut self, request: Request<'_>) -> Result<Tag, BlockError>;
    /// Where request `tag` stands (requests may complete in any order).
    /// When a read is done its bytes are copied into `read_into`, which is
    /// as long as the request asked for.
    fn finish(&mut self, tag: Tag, read_into: &mut [u8]) -> Progress;
    /// Takes the device out of service (reset; every request abandoned;
    /// later requests are refused) and says why in the log.
    fn fail(&mut self, why: &str);
}

/// How [`Blocking`] waits for a device.
pub trait Wait {
    /// A request was just started: its time starts now.
    fn begin(&mut self);
    /// Waits until the device may have made progress (its completion
    /// signal, or a short time). False once the request's time is up.
    fn wait(&mut self) -> bool;
}

/// A [`RequestQueue`] used one request at a time, waiting for each: a
/// [`BlockDevice`].
#[derive(Debug)]
pub struct Blocking<Q, W> {
    queue: Q,
    wait: W,
}

impl<Q: RequestQueue, W: Wait> Blocking<Q, W> {
    /// `queue`, waited for with `wait`.
    pub fn new(queue: Q, wait: W) -> Self {
        Self { queue, wait }
    }

    /// The device inside.
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// The device inside, mutably.
    pub fn queue_mut(&mut self) -> &mut Q {
        &mut self.queue
    }

    /// Waits until request `tag` completes or its time is up (then the
    /// device is failed).
    fn wait_for(&mut self, tag: Tag, read_into: &mut [u8]) -> Result<(), BlockError> {
        self.wait.begin();
        loop {
            match self.queue.finish(tag, read_into) {
                Progress::Done(result) => return result,
                Progress::Pending => {
                    if !self.wait.wait() {
                        // Once more: the completion may have come with
                        // the deadline.
                        if let Progress::Done(result) = self.queue.finish(tag, read_into) {
                            return result;
                        }
                        self.queue.fail("a request was not completed in time");
                        return Err(BlockError::TimedOut);
                    }
                }
            }
        }
    }

    /// Moves `buf` from (or to) sector `lba` on (checked against the
    /// device first) in requests of at most [`Self::step`] bytes, up to
    /// the device's depth of them in flight.
    fn transfer(&mut self, lba: u64, mut buf: Buf<'_>) -> Result<(), BlockError> {
        check_range(
            self.queue.sector_size(),
            self.queue.sector_count(),
            lba,
            buf.len(),
        )?;
        let size = self.queue.sector_size().max(1) as usize;
        let step = self.step();
        let len = buf.len();
        let pieces = len.div_ceil(step);
        let piece = |k: usize| k * step..len.min((k + 1) * step);
        let depth = self.queue.depth().clamp(1, MAX_DEPTH);
        // Started requests, oldest first: (tag, piece).
        let mut flight = [(0 as Tag, 0usize); MAX_DEPTH];
        let (mut oldest, mut count, mut next) = (0, 0, 0);
        let mut error = None;
        loop {
            while error.is_none() && next < pieces && count < depth {
                let range = piece(next);
                let at = lba + (range.start / size) as u64;
                let request = match &buf {
                    Buf::Read(_) => Request::Read {
                        lba: at,
                        sectors: (range.len() / size) as u32,
                    },
                    Buf::Write(data) => Request::Write {
                        lba: at,
                        data: &data[range],
                    },
                };
                match self.queue.start(request) {
                    Ok(tag) => {
                        flight[(oldest + count) % MAX_DEPTH] = (tag, next);
                        count += 1;
                        next += 1;
                    }
                    // Room comes back when the oldest is done.
                    Err(BlockError::Busy) if count > 0 => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            if count == 0 {
                return error.map_or(Ok(()), Err);
            }
            let (tag, k) = flight[oldest];
            oldest = (oldest + 1) % MAX_DEPTH;
            count -= 1;
            let into: &mut [u8] = match &mut buf {
                Buf::Read(b) => &mut b[piece(k)],
                Buf::Write(_) => &mut [],
            };
            if let Err(e) = self.wait_for(tag, into) {
                error.get_or_insert(e);
            }
        }
    }

    /// Sectors per request.
    fn step(&self) -> usize {
        let size = self.queue.sector_size().max(1) as usize;
        (self.queue.max_transfer() / size).max(1) * size
    }
}

impl<Q: RequestQueue, W: Wait> BlockDevice for Blocking<Q, W> {
    fn sector_size(&self) -> u32 {
        self.queue.sector_size()
    }

    fn sector_count(&self) -> u64 {
        self.queue.sector_count()
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.transfer(lba, Buf::Read(buf))
    }

    fn write(&mut self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        if self.queue.read_only() {
            return Err(BlockError::ReadOnly);
        }
        self.transfer(lba, Buf::Write(buf))
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        let tag = self.queue.start(Request::Flush)?;
        self.wait_for(tag, &mut [])
    }
}

/// What [`Blocking::transfer`] moves.
enum Buf<'a> {
    Read(&'a mut [u8]),
    Write(&'a [u8]),
}

impl Buf<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Read(b) => b.len(),
            Self::Write(b) => b.len(),
        }
    }
}

#[cfg(test)]
mod tests;

//! Kernel objects behind handles: processes, threads, events, pipes.
//!
//! Every object a thread can wait on has a list of waiting threads; a
//! waiter registers on each object it waits for, re-checks, and blocks; a
//! signal wakes every registered waiter, who re-checks and unregisters.

use super::process::Process;
use super::sched;
use super::thread::{State, Thread};
use crate::sync::SpinLock;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

/// What a handle refers to.
#[derive(Clone)]
pub enum Object {
    /// A process (signalled when it has ended).
    Process(Arc<SpinLock<Process>>),
    /// A thread (signalled when it has ended).
    Thread(Arc<Thread>),
    /// An event.
    Event(Arc<Event>),
    /// A named pipe.
    Pipe(Arc<Pipe>),
    /// A window (closed when its last handle goes).
    Window(Arc<crate::window::Window>),
    /// An open file (never signalled).
    File(Arc<crate::fs::OpenFile>),
    /// A network socket (never signalled; its calls wait themselves).
    Socket(Arc<crate::net::Socket>),
}

/// Threads waiting on one object.
pub type Waiters = Vec<Arc<Thread>>;

/// Adds `me` to `waiters` (fails only when memory is short).
pub fn register(waiters: &mut Waiters, me: &Arc<Thread>) -> Result<(), abi::Error> {
    waiters.try_reserve(1).map_err(|_| abi::Error::NoMemory)?;
    waiters.push(me.clone());
    Ok(())
}

/// Removes `me` from `waiters`.
pub fn unregister(waiters: &mut Waiters, me: &Arc<Thread>) {
    waiters.retain(|t| !Arc::ptr_eq(t, me));
}

/// Wakes every waiter.
pub fn wake_all(waiters: &mut Waiters) {
    for t in waiters.drain(..) {
        sched::wake(&t);
    }
}

impl Object {
    /// Whether the object is signalled; a successful check of an
    /// auto-reset event consumes it.
    pub fn try_acquire(&self) -> bool {
        match self {
            Self::Process(p) => p.lock().exit_status().is_some(),
            Self::Thread(t) => t.state() == State::Dead,
            Self::Event(e) => e.try_acquire(),
            Self::Pipe(_) | Self::Window(_) | Self::File(_) | Self::Socket(_) => false,
        }
    }

    /// Registers `me` to be woken when the object is signalled. The state
    /// is checked again under the lock the signaller takes: one signalled
    /// since the caller's check (on another CPU, say) wakes `me` at once
    /// (its next block returns), so the wake-up is never lost.
    pub fn register(&self, me: &Arc<Thread>) -> Result<(), abi::Error> {
        match self {
            Self::Process(p) => {
                let mut p = p.lock();
                if p.exit_status().is_some() {
                    sched::wake(me);
                    return Ok(());
                }
                register(p.waiters_mut(), me)
            }
            Self::Thread(t) => {
                let mut joiners = t.joiners.lock();
                if t.state() == State::Dead {
                    sched::wake(me);
                    return Ok(());
                }
                register(&mut joiners, me)
            }
            Self::Event(e) => {
                let mut s = e.state.lock();
                if s.signaled {
                    sched::wake(me);
                    return Ok(());
                }
                register(&mut s.waiters, me)
            }
            Self::Pipe(_) | Self::Window(_) | Self::File(_) | Self::Socket(_) => {
                Err(abi::Error::InvalidHandle)
            }
        }
    }

    /// Undoes [`register`](Self::register).
    pub fn unregister(&self, me: &Arc<Thread>) {
        match self {
            Self::Process(p) => unregister(p.lock().waiters_mut(), me),
            Self::Thread(t) => unregister(&mut t.joiners.lock(), me),
            Self::Event(e) => unregister(&mut e.state.lock().waiters, me),
            Self::Pipe(_) | Self::Window(_) | Self::File(_) | Self::Socket(_) => {}
        }
    }

    /// Whether the object is signalled now, without consuming it.
    fn is_signaled(&self) -> bool {
        match self {
            Self::Process(p) => p.lock().exit_status().is_some(),
            Self::Thread(t) => t.state() == State::Dead,
            Self::Event(e) => e.is_set(),
            Self::Pipe(_) | Self::Window(_) | Self::File(_) | Self::Socket(_) => false,
        }
    }

    /// Whether two handles name the same object.
    pub fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Process(a), Self::Process(b)) => Arc::ptr_eq(a, b),
            (Self::Thread(a), Self::Thread(b)) => Arc::ptr_eq(a, b),
            (Self::Event(a), Self::Event(b)) => Arc::ptr_eq(a, b),
            (Self::Pipe(a), Self::Pipe(b)) => Arc::ptr_eq(a, b),
            (Self::Window(a), Self::Window(b)) => Arc::ptr_eq(a, b),
            (Self::File(a), Self::File(b)) => Arc::ptr_eq(a, b),
            (Self::Socket(a), Self::Socket(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Undoes a successful [`try_acquire`](Self::try_acquire) (an
    /// auto-reset event is set again; the others were not consumed).
    fn give_back(&self) {
        if let Self::Event(e) = self {
            if !e.manual {
                e.set();
            }
        }
    }

    /// Whether a thread can wait on it.
    pub fn waitable(&self) -> bool {
        !matches!(
            self,
            Self::Pipe(_) | Self::Window(_) | Self::File(_) | Self::Socket(_)
        )
    }
}

struct EventState {
    signaled: bool,
    waiters: Waiters,
}

/// An event: manual-reset (stays set until reset) or auto-reset (one
/// successful wait resets it).
pub struct Event {
    manual: bool,
    state: SpinLock<EventState>,
}

impl Event {
    /// A new event.
    pub fn new(manual: bool, set: bool) -> Self {
        Self {
            manual,
            state: SpinLock::new(EventState {
                signaled: set,
                waiters: Vec::new(),
            }),
        }
    }

    fn is_set(&self) -> bool {
        self.state.lock().signaled
    }

    fn try_acquire(&self) -> bool {
        let mut s = self.state.lock();
        let was = s.signaled;
        if was && !self.manual {
            s.signaled = false;
        }
        was
    }

    /// Sets the event and wakes its waiters.
    pub fn set(&self) {
        let mut s = self.state.lock();
        s.signaled = true;
        wake_all(&mut s.waiters);
    }

    /// Resets the event.
    pub fn reset(&self) {
        self.state.lock().signaled = false;
    }
}

impl Drop for Pipe {
    /// Takes the entries of pipes that have gone out of the name list, so
    /// that a pipe leaves nothing behind (the dying one's included: its
    /// strong count is already 0).
    fn drop(&mut self) {
        let mut pipes = PIPES.lock();
        pipes.retain(|(_, w)| w.strong_count() > 0);
        if pipes.is_empty() {
            *pipes = Vec::new();
        }
    }
}

/// Bytes a pipe holds.
pub const PIPE_CAPACITY: usize = 4096;

struct PipeState {
    bytes: VecDeque<u8>,
    readers: Waiters,
    writers: Waiters,
}

/// A named byte stream shared by every process that opens the name.
pub struct Pipe {
    state: SpinLock<PipeState>,
}

/// Open pipes by name (weak: a pipe goes when its last handle does, and
/// takes its entry with it). No pipe is dropped while this lock is held:
/// `open` upgrades only the entry it returns.
static PIPES: SpinLock<Vec<(String, Weak<Pipe>)>> = SpinLock::new(Vec::new());

impl Pipe {
    /// Opens the pipe called `name`, creating it if no handle to it is
    /// open.
    pub fn open(name: &str) -> Result<Arc<Self>, abi::Error> {
        let mut pipes = PIPES.lock();
        if let Some(p) = pipes
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(p);
        }
        // A pipe whose last handle is going has not taken its entry out
        // yet: it is replaced.
        pipes.retain(|(_, w)| w.strong_count() > 0);
        let mut bytes = VecDeque::new();
        bytes
            .try_reserve_exact(PIPE_CAPACITY)
            .map_err(|_| abi::Error::NoMemory)?;
        let mut owned = String::new();
        owned
            .try_reserve_exact(name.len())
            .map_err(|_| abi::Error::NoMemory)?;
        owned.push_str(name);
        pipes.try_reserve(1).map_err(|_| abi::Error::NoMemory)?;
        let pipe = Arc::new(Self {
            state: SpinLock::new(PipeState {
                bytes,
                readers: Vec::new(),
                writers: Vec::new(),
            }),
        });
        pipes.push((owned, Arc::downgrade(&pipe)));
        Ok(pipe)
    }

    /// Takes up to `out.len()` bytes, blocking while the pipe is empty.
    /// `Ok(0)` only if the thread is asked to exit meanwhile.
    pub fn read(&self, out: &mut [u8]) -> Result<usize, abi::Error> {
        let me = sched::current().ok_or(abi::Error::NotFound)?;
        loop {
            {
                let mut s = self.state.lock();
                if !s.bytes.is_empty() {
                    let n = out.len().min(s.bytes.len());
                    for (d, b) in out.iter_mut().zip(s.bytes.drain(..n)) {
                        *d = b;
                    }
                    wake_all(&mut s.writers);
                    return Ok(n);
                }
                register(&mut s.readers, &me)?;
            }
            sched::block();
            unregister(&mut self.state.lock().readers, &me);
            if me.exit_request().is_some() {
                return Ok(0);
            }
        }
    }

    /// Adds all of `data`, blocking while the pipe is full. Returns the
    /// bytes written (fewer only if the thread is asked to exit).
    pub fn write(&self, data: &[u8]) -> Result<usize, abi::Error> {
        let me = sched::current().ok_or(abi::Error::NotFound)?;
        let mut done = 0;
        while done < data.len() {
            {
                let mut s = self.state.lock();
                let room = PIPE_CAPACITY - s.bytes.len();
                if room > 0 {
                    let n = room.min(data.len() - done);
                    s.bytes.extend(&data[done..done + n]);
                    done += n;
                    wake_all(&mut s.readers);
                    continue;
                }
                register(&mut s.writers, &me)?;
            }
            sched::block();
            unregister(&mut self.state.lock().writers, &me);
            if me.exit_request().is_some() {
                break;
            }
        }
        Ok(done)
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// Object `i` was signalled.
    Signaled(usize),
    /// The time-out passed.
    TimedOut,
    /// The thread is to exit.
    Exiting,
}

/// Waits until one of `objects` is signalled, `timeout_ns` passes (None:
/// forever), or the thread is asked to exit. Empty slots never signal.
pub fn wait_any(
    objects: &[Option<Object>],
    timeout_ns: Option<u64>,
) -> Result<WaitResult, abi::Error> {
    wait(objects, timeout_ns, false)
}

/// Waits until every one of `objects` is signalled at once, `timeout_ns`
/// passes (None: forever), or the thread is asked to exit; then consumes
/// the auto-reset events among them. `objects` must name each object once
/// (the caller refuses duplicates). `Signaled(0)` means all of them.
pub fn wait_all(
    objects: &[Option<Object>],
    timeout_ns: Option<u64>,
) -> Result<WaitResult, abi::Error> {
    wait(objects, timeout_ns, true)
}

/// Takes the first signalled object.
fn take_any(objects: &[Option<Object>]) -> Option<WaitResult> {
    objects
        .iter()
        .position(|o| o.as_ref().is_some_and(Object::try_acquire))
        .map(WaitResult::Signaled)
}

/// Takes every object if all are signalled. If another thread took one
/// first, gives back what was taken.
fn take_all(objects: &[Option<Object>]) -> Option<WaitResult> {
    let live = || objects.iter().flatten();
    if !live().all(Object::is_signaled) {
        return None;
    }
    let mut taken = 0;
    let all = live().all(|o| {
        let ok = o.try_acquire();
        taken += usize::from(ok);
        ok
    });
    if all {
        return Some(WaitResult::Signaled(0));
    }
    for o in live().take(taken) {
        o.give_back();
    }
    None
}

/// The wait of [`wait_any`] (`all` false) and [`wait_all`].
fn wait(
    objects: &[Option<Object>],
    timeout_ns: Option<u64>,
    all: bool,
) -> Result<WaitResult, abi::Error> {
    const MOST: usize = abi::MAXIMUM_WAIT_OBJECTS as usize;
    if objects.len() > MOST {
        return Err(abi::Error::InvalidArgument);
    }
    let me = sched::current().ok_or(abi::Error::NotFound)?;
    let deadline = timeout_ns.map(|t| crate::time::now_ns().saturating_add(t));
    let unregister = |registered: &[bool; MOST]| {
        for (o, _) in objects.iter().zip(registered).filter(|(_, r)| **r) {
            if let Some(o) = o {
                o.unregister(&me);
            }
        }
    };
    loop {
        let done = if all {
            take_all(objects)
        } else {
            take_any(objects)
        };
        if let Some(done) = done {
            return Ok(done);
        }
        if me.exit_request().is_some() {
            return Ok(WaitResult::Exiting);
        }
        if deadline.is_some_and(|d| crate::time::now_ns() >= d) {
            return Ok(WaitResult::TimedOut);
        }
        // Waiting for all, only the objects not signalled now: registering
        // on a signalled one would wake this thread at once, again and
        // again.
        let mut registered = [false; MOST];
        for (n, o) in objects.iter().enumerate() {
            let Some(o) = o.as_ref().filter(|o| !(all && o.is_signaled())) else {
                continue;
            };
            if let Err(e) = o.register(&me) {
                unregister(&registered);
                return Err(e);
            }
            registered[n] = true;
        }
        // All signalled again since the check: try again at once.
        if all && !registered.contains(&true) {
            continue;
        }
        let armed = match deadline {
            Some(d) => sched::arm_timeout(&me, d).map(Some),
            None => Ok(None),
        };
        // A signal between the check above and here left a wake-up
        // pending, so this returns at once.
        if armed.is_ok() {
            sched::block();
        }
        if let Ok(Some(id)) = armed {
            sched::disarm_timeout(id);
        }
        unregister(&registered);
        armed?;
    }
}

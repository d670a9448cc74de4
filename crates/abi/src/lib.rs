//! Ferrite's system-call ABI, shared by the kernel, runtime.dll and programs.
//!
//! # Calling convention
//! `syscall` with the number in RAX and up to five arguments in RDI, RSI,
//! RDX, R10, R8. The kernel returns one value in RAX and preserves every
//! other register except RCX and R11 (which the instruction itself uses).
//! A return value is a [`SysResult`]: as `i64`, negative means `-(error
//! code)` ([`Error`]), anything else is success.
//!
//! # Process start
//! The kernel enters a program in ring 3 at its PE entry point (the Init
//! library's `InitProcess`) with RSP 16-byte aligned minus 8, as after a
//! `call`, and 32 bytes of Win64 home space above the return slot
//! ([`ENTRY_STACK_RESERVE`]); RCX holds nothing (0). `InitProcess` asks for
//! [`ProcessInfo`] itself.
//!
//! # Thread start (M3)
//! Every further thread starts at the program's `InitThread`, which each
//! program exports by name (Init library), with RCX = the thread's entry
//! function, RDX = its argument, and the stack as at process start.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

/// Version of this ABI, reported in [`SystemInfo::abi_version`].
pub const ABI_VERSION: u32 = 1;

/// System-call numbers.
pub mod nr {
    /// Does nothing and returns 0 (the `null_syscall` benchmark).
    pub const NOP: u64 = 0;
    /// Ends the process: `(code: u32) -> !`.
    pub const EXIT_PROCESS: u64 = 1;
    /// Ends the calling thread: `(code: u32) -> !`. The last thread ending
    /// ends the process with that code.
    pub const EXIT_THREAD: u64 = 2;
    /// Writes UTF-8 text to the debug console: `(ptr, len) -> len`.
    pub const DEBUG_WRITE: u64 = 3;
    /// Fills a [`SystemInfo`](super::SystemInfo): `(out_ptr) -> 0`.
    pub const GET_SYSTEM_INFO: u64 = 4;
    /// Fills a [`ProcessInfo`](super::ProcessInfo): `(out_ptr) -> 0`.
    pub const GET_PROCESS_INFO: u64 = 5;
    /// Waits at least `ms` milliseconds: `(ms) -> 0`.
    pub const SLEEP: u64 = 6;
    /// Commits zeroed pages: `(bytes, protection) -> address`.
    /// Protection is a [`Protection`](super::Protection) bit set; W+X is
    /// refused.
    pub const ALLOCATE_PAGES: u64 = 7;
    /// Releases pages from [`ALLOCATE_PAGES`]: `(address, bytes) -> 0`.
    pub const FREE_PAGES: u64 = 8;
    /// Milestone kernel only: reports one check,
    /// `(name_ptr, name_len, passed, detail_ptr, detail_len) -> 0`.
    pub const REPORT_CHECK: u64 = 9;
    /// Milestone kernel only: reports a benchmark measured in user mode,
    /// `(name_ptr, name_len, iterations, tsc_ticks) -> 0`; the kernel
    /// prints the BENCH line with its calibrated clock.
    pub const REPORT_BENCH: u64 = 10;
    /// Milestone kernel only: announces the marker id of a benchmark about
    /// to run in user mode, `(name_ptr, name_len, id) -> 0`; the kernel
    /// prints its `INFO bench=` line (user output cannot).
    pub const REPORT_BENCH_MARK: u64 = 11;
    /// Starts a thread of the calling process at the program's
    /// `InitThread` with RCX = `entry`, RDX = `arg`:
    /// `(entry, arg, stack_bytes) -> thread handle` (0 stack: the default).
    pub const CREATE_THREAD: u64 = 12;
    /// Waits until one of `count` handles is signalled (`wait_all` 0) or
    /// all of them are at once (`wait_all` 1; auto-reset events are then
    /// all consumed; a handle named twice is `InvalidArgument`), or
    /// `timeout_ms` passes (`u64::MAX`: forever):
    /// `(handles_ptr, count, wait_all, timeout_ms) -> index` (0 for all) or
    /// [`WAIT_TIMEOUT`](super::WAIT_TIMEOUT). At most
    /// [`MAXIMUM_WAIT_OBJECTS`](super::MAXIMUM_WAIT_OBJECTS).
    pub const WAIT_MULTIPLE: u64 = 13;
    /// The exit code of a process or thread handle, or
    /// [`STILL_ACTIVE`](super::STILL_ACTIVE): `(handle) -> code`.
    pub const GET_EXIT_CODE: u64 = 14;
    /// Ends every thread of a process: `(handle, code) -> 0`.
    pub const TERMINATE_PROCESS: u64 = 15;
    /// Closes a handle: `(handle) -> 0`.
    pub const CLOSE_HANDLE: u64 = 16;
    /// Gives the CPU to another ready thread: `() -> 1 if one ran, else 0`.
    pub const YIELD: u64 = 17;
    /// Reads a clock: `(which) -> value` ([`clock`](super::clock)).
    pub const GET_TIME: u64 = 18;
    /// Creates an event: `(manual_reset, initially_set) -> handle`.
    pub const CREATE_EVENT: u64 = 19;
    /// Sets an event: `(handle) -> 0`.
    pub const SET_EVENT: u64 = 20;
    /// Resets an event: `(handle) -> 0`.
    pub const RESET_EVENT: u64 = 21;
    /// Starts a program: `(name_ptr, name_len, cmdline_ptr, cmdline_len,
    /// flags) -> process handle` ([`create_flags`](super::create_flags)).
    /// The name is a boot module's (at most 64 bytes) or a file on a disk
    /// volume, `/disk/<volume>/<path>` (read whole when the call is made,
    /// at most 64 MiB, never cached); the DLLs it imports come from the
    /// boot modules. `NotFound` if the file is missing or not a program it
    /// can load.
    pub const CREATE_PROCESS: u64 = 22;
    /// Copies the command line (arguments after the program name):
    /// `(buf, len) -> its full length`.
    pub const GET_COMMAND_LINE: u64 = 23;
    /// Opens the named pipe, creating it if needed:
    /// `(name_ptr, name_len) -> handle`. A pipe is one byte stream that
    /// any process opening the name shares.
    pub const OPEN_PIPE: u64 = 24;
    /// Writes to a pipe, blocking while it is full:
    /// `(handle, ptr, len) -> bytes written` (at most 512 per call).
    pub const PIPE_WRITE: u64 = 25;
    /// Reads from a pipe, blocking while it is empty:
    /// `(handle, ptr, len) -> bytes read` (at least 1).
    pub const PIPE_READ: u64 = 26;
    /// Reserves and commits demand-zero pages: `(bytes, protection) ->
    /// address`. The commit counts against the process limit at once; each
    /// page gets its frame, zeroed, when it is first touched.
    pub const ALLOCATE_LAZY: u64 = 27;
    /// Restricts a thread to a set of CPUs (bit n = CPU number n; bits of
    /// CPUs that are not running are dropped, and an empty result is
    /// refused): `(thread handle, mask) -> previous mask`. The calling
    /// thread moves at once if it may not stay where it is.
    pub const SET_THREAD_AFFINITY: u64 = 28;
    /// The number of the CPU the caller runs on (0 ..
    /// [`SystemInfo::processor_count`](super::SystemInfo)): `() -> number`.
    pub const GET_CPU_NUMBER: u64 = 29;
    /// Describes the device at position `index` of the kernel's device
    /// tree (tree order, parents before children; 0 is the root):
    /// `(index, out_ptr) -> 0`, filling a
    /// [`DeviceRecord`](super::DeviceRecord); `NotFound` past the last one.
    pub const GET_DEVICE: u64 = 30;
    /// Creates a window and gives it the screen:
    /// `(title_ptr, title_len, width, height, flags) -> window handle`.
    /// Flags are [`window_flags`](super::window_flags); without
    /// `FULLSCREEN` the client area is `width` × `height` (cut to the
    /// screen), centred. `NotSupported` without a 32-bpp framebuffer.
    pub const CREATE_WINDOW: u64 = 31;
    /// The client rectangle in screen pixels: `(window, rect_ptr) -> 0`,
    /// filling a [`Rect`](super::Rect).
    pub const GET_WINDOW_RECT: u64 = 32;
    /// Takes the oldest message of the calling thread's windows (of
    /// `window` only, if not 0): `(msg_ptr, window, flags, timeout_ms) ->
    /// 1` with a [`Message`](super::Message) written, or 0 when none came
    /// within the time-out (0: do not wait; `u64::MAX`: forever). Flags
    /// are [`message_flags`](super::message_flags).
    pub const GET_MESSAGE: u64 = 33;
    /// Draws a 32-bit XRGB buffer into the window's client area, scaled
    /// by the largest integer factor that fits and centred:
    /// `(window, pixels_ptr, width, height, pitch) -> 0`. Width and height
    /// are 1 ..= [`MAX_BUFFER_SIDE`](super::MAX_BUFFER_SIDE); the pitch (bytes
    /// per row) is `4 * width` ..= `4 * MAX_BUFFER_SIDE`; the whole buffer is
    /// checked before a pixel is drawn, and before the handle (so a bad
    /// buffer is `BadPointer` whatever the handle).
    pub const SET_SCREEN_BUFFER: u64 = 34;
    /// Posts `WM_QUIT` with `(code)` for the calling thread (once, on its
    /// top window; it comes after the messages already queued and cannot be
    /// lost to a full queue): `(code) -> 0` (`NotFound` if it has no
    /// window). GET_MESSAGE on windows that have all closed is
    /// `InvalidHandle`.
    pub const POST_QUIT: u64 = 35;
    /// Opens a file: `(name_ptr, name_len, flags) -> file handle`
    /// positioned at 0, flags [`open_flags`] (0: read only). The name is a
    /// boot file's (a boot module, named by the last component of its
    /// path, or `/boot/<name>`; read-only) or a path on a disk volume,
    /// `/disk/<volume>/<path>` (`<volume>`: the partition's name such as
    /// `vdb2`, or its label); both compared without regard to ASCII case
    /// ([`path`](super::path) has the whole namespace). `NotFound` if there
    /// is none (and no `CREATE`); `AccessDenied` for a boot file opened to
    /// write, or a disk file another handle has open when either wants to
    /// write (a file open for writing is not shared); `IoError` if the disk
    /// or its file system fails; a boot-file name with `/` or `\\`, a
    /// name with NUL or over [`MAX_FILE_NAME`](super::MAX_FILE_NAME) bytes,
    /// or unknown flags is `InvalidArgument`.
    pub const OPEN_FILE: u64 = 36;
    /// Reads from a file at its position and advances it:
    /// `(handle, ptr, len) -> bytes read` (0 at or past the end). The
    /// bytes to be read are checked to fit the buffer before any is
    /// copied (`BadPointer` moves nothing).
    pub const READ_FILE: u64 = 37;
    /// Moves a file's position: `(handle, offset as i64, whence) -> new
    /// position`, whence [`seek`](super::seek) `SET`, `CURRENT` or `END`.
    /// A position below 0 is `InvalidArgument`; one past the end is kept
    /// (reads there give 0).
    pub const SEEK_FILE: u64 = 38;
    /// A file's size in bytes: `(handle) -> size`.
    pub const FILE_SIZE: u64 = 39;
    /// Writes to a file opened with `WRITE` at its position and advances
    /// it, growing the file (a position past the end fills the gap with
    /// zeros): `(handle, ptr, len) -> bytes written`, at most
    /// [`WRITE_FILE_MAX`](super::WRITE_FILE_MAX) per call (callers loop).
    /// The file system's tables are on the disk when the call returns; the
    /// device is flushed when the last handle that wrote closes.
    /// `DiskFull` when the volume has no room (nothing is written then).
    pub const WRITE_FILE: u64 = 40;
    /// Describes the file or directory at a path:
    /// `(name_ptr, name_len, out_ptr) -> 0`, filling a
    /// [`FileInfo`](super::FileInfo). `/`, `/boot`, `/disk` and
    /// `/disk/<volume>` are directories.
    pub const FILE_INFO: u64 = 41;
    /// Lists a directory, one entry per call:
    /// `(name_ptr, name_len, index, out_ptr) -> 0`, filling a
    /// [`DirectoryEntry`](super::DirectoryEntry) for entry `index` (0 ..;
    /// `NotFound` past the last). `/` lists `boot` and `disk`, `/boot` the
    /// boot files, `/disk` the volumes (by partition name), and
    /// `/disk/<volume>/<dir>` what the directory holds, without `.` and
    /// `..`. Indices are stable while the directory does not change.
    pub const READ_DIRECTORY: u64 = 42;
    /// Deletes a file, or an empty directory, on a disk volume:
    /// `(name_ptr, name_len) -> 0`. `AccessDenied` while a handle has the
    /// file open, or for a boot file; `InvalidArgument` for a directory that
    /// is not empty.
    pub const DELETE_FILE: u64 = 43;
    /// Creates a directory on a disk volume: `(name_ptr, name_len) -> 0`;
    /// `AlreadyExists` if the name is taken.
    pub const CREATE_DIRECTORY: u64 = 44;
    /// Opens a UDP socket on a local port (0: a free one):
    /// `(port) -> socket handle`. `AlreadyExists` if the port is taken,
    /// `NotSupported` without a network.
    pub const UDP_BIND: u64 = 45;
    /// Sends one datagram: `(socket, ptr, len, address, port) -> len`.
    /// Addresses are IPv4 as a number, `a.b.c.d` = `a << 24 | b << 16 |
    /// c << 8 | d`; at most [`MAX_DATAGRAM`](super::MAX_DATAGRAM) bytes.
    /// `NetworkUnreachable` without an address or a route.
    pub const UDP_SEND_TO: u64 = 46;
    /// Receives one datagram, waiting up to `timeout_ms` (`u64::MAX`:
    /// forever): `(socket, ptr, len, from_ptr, timeout_ms) -> bytes`,
    /// filling a [`SocketAddress`](super::SocketAddress) at `from_ptr` (0:
    /// none); a longer datagram is cut (`truncated` says so). `TimedOut`.
    pub const UDP_RECEIVE_FROM: u64 = 47;
    /// Listens for TCP connections on a port: `(port) -> listener
    /// handle`; it accepts again and again.
    pub const TCP_LISTEN: u64 = 48;
    /// Takes the next connection of a listener, waiting up to
    /// `timeout_ms`: `(listener, timeout_ms) -> connection handle`.
    pub const TCP_ACCEPT: u64 = 49;
    /// Connects to a TCP server, waiting up to `timeout_ms` for it to
    /// answer: `(address, port, timeout_ms) -> connection handle`;
    /// `ConnectionReset` if it refuses.
    pub const TCP_CONNECT: u64 = 50;
    /// Queues bytes on a connection, waiting up to `timeout_ms` for room:
    /// `(connection, ptr, len, timeout_ms) -> bytes taken` (at least 1,
    /// at most [`SOCKET_IO_MAX`](super::SOCKET_IO_MAX)); `ConnectionReset`
    /// once the connection is gone.
    pub const TCP_SEND: u64 = 51;
    /// Receives bytes from a connection, waiting up to `timeout_ms`:
    /// `(connection, ptr, len, timeout_ms) -> bytes` (at most
    /// [`SOCKET_IO_MAX`](super::SOCKET_IO_MAX)); 0 when the peer has closed
    /// its side. CLOSE_HANDLE closes a socket (TCP gracefully).
    pub const TCP_RECEIVE: u64 = 52;
    /// Renames or moves a file or directory within one disk volume:
    /// `(from_ptr, from_len, to_ptr, to_len) -> 0`. A file at `to` is
    /// replaced; `AlreadyExists` for a directory there (or any `to` when
    /// `from` is a directory); `AccessDenied` while a handle has either
    /// file open, or for boot files; `InvalidArgument` across volumes or
    /// to move a directory inside itself.
    pub const RENAME_FILE: u64 = 53;
    /// Number of system calls.
    pub const COUNT: u64 = 54;
}

/// The longest name OPEN_FILE takes, in bytes.
pub const MAX_FILE_NAME: u64 = 255;

/// The longest datagram [`nr::UDP_SEND_TO`] sends.
pub const MAX_DATAGRAM: u64 = 1472;
/// The most one [`nr::TCP_SEND`] or [`nr::TCP_RECEIVE`] moves.
pub const SOCKET_IO_MAX: u64 = 16 << 10;

/// Filled by [`nr::UDP_RECEIVE_FROM`]: who sent a datagram.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketAddress {
    /// IPv4 address, `a << 24 | b << 16 | c << 8 | d`.
    pub address: u32,
    /// Port.
    pub port: u16,
    /// 1 if the datagram was longer than the buffer (the rest is lost).
    pub truncated: u8,
    /// Reserved, 0.
    pub reserved: u8,
}

/// The most one [`nr::WRITE_FILE`] writes.
pub const WRITE_FILE_MAX: u64 = 64 << 10;

/// Flags for [`nr::OPEN_FILE`] (its third argument).
pub mod open_flags {
    /// Open for writing as well as reading.
    pub const WRITE: u64 = 1;
    /// Create the file (empty) if it does not exist; needs `WRITE`.
    pub const CREATE: u64 = 2;
    /// Cut the file to 0 bytes; needs `WRITE`.
    pub const TRUNCATE: u64 = 4;
    /// With `CREATE`: fail with `AlreadyExists` if the file exists (C's
    /// `"wx"`).
    pub const EXCLUSIVE: u64 = 8;
    /// Every flag.
    pub const ALL: u64 = WRITE | CREATE | TRUNCATE | EXCLUSIVE;
}

/// The file namespace's fixed directories (see [`nr::OPEN_FILE`]).
pub mod path {
    /// The boot files (boot modules), read-only.
    pub const BOOT: &str = "/boot";
    /// The disk volumes: `/disk/<volume>/<path>`.
    pub const DISK: &str = "/disk";
}

/// [`FileInfo::flags`] and [`DirectoryEntry::flags`].
pub mod file_flags {
    /// A directory.
    pub const DIRECTORY: u32 = 1;
    /// Read-only (a boot file, or a FAT entry with its read-only bit).
    pub const READ_ONLY: u32 = 2;
}

/// Filled by [`nr::FILE_INFO`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileInfo {
    /// Size in bytes (0 for a directory).
    pub size: u64,
    /// [`file_flags`] bits.
    pub flags: u32,
    /// Reserved, 0.
    pub reserved: u32,
}

/// Filled by [`nr::READ_DIRECTORY`]: one entry of a directory.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// Size in bytes (0 for a directory).
    pub size: u64,
    /// [`file_flags`] bits.
    pub flags: u32,
    /// Bytes of `name` used.
    pub name_len: u32,
    /// The name (a long name if the volume has one), UTF-8, NUL-padded.
    pub name: [u8; 256],
}

impl Default for DirectoryEntry {
    fn default() -> Self {
        Self {
            size: 0,
            flags: 0,
            name_len: 0,
            name: [0; 256],
        }
    }
}

/// SEEK_FILE's origins (C's `SEEK_SET`, `SEEK_CUR`, `SEEK_END`).
pub mod seek {
    /// From the start of the file.
    pub const SET: u64 = 0;
    /// From the current position.
    pub const CURRENT: u64 = 1;
    /// From the end of the file.
    pub const END: u64 = 2;
}

/// Error codes (returned negated in RAX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Error {
    /// A pointer argument is null, outside user space, unmapped, or not
    /// writable where the call writes.
    BadPointer = 1,
    /// An argument is out of range.
    InvalidArgument = 2,
    /// The call is not available (e.g. a milestone-only call).
    NotSupported = 3,
    /// Not enough memory or address space.
    NoMemory = 4,
    /// Unknown system-call number.
    BadSyscall = 5,
    /// No such object.
    NotFound = 6,
    /// A handle that is not open in this process (closed, forged, or
    /// from another process), or of the wrong type for the call.
    InvalidHandle = 7,
    /// The handle lacks the right the call needs.
    AccessDenied = 8,
    /// The device failed, or the file system on it is corrupt.
    IoError = 9,
    /// The name is taken.
    AlreadyExists = 10,
    /// The volume has no room left.
    DiskFull = 11,
    /// The wait's time-out passed.
    TimedOut = 12,
    /// The connection was refused, reset or has ended.
    ConnectionReset = 13,
    /// No address, or no route to the destination.
    NetworkUnreachable = 14,
}

/// [`nr::WAIT_MULTIPLE`]'s result when the time-out passed (Win32's
/// `WAIT_TIMEOUT`).
pub const WAIT_TIMEOUT: u64 = 0x102;
/// [`nr::GET_EXIT_CODE`]'s result while the process or thread runs
/// (Win32's `STILL_ACTIVE`).
pub const STILL_ACTIVE: u64 = 0x103;
/// Most handles one wait takes (Win32's `MAXIMUM_WAIT_OBJECTS`).
pub const MAXIMUM_WAIT_OBJECTS: u64 = 64;
/// The pseudo-handle for the calling process (Win32's
/// `GetCurrentProcess()`).
pub const CURRENT_PROCESS: u64 = u64::MAX;
/// The pseudo-handle for the calling thread.
pub const CURRENT_THREAD: u64 = u64::MAX - 1;

/// Flags for [`nr::CREATE_PROCESS`] (its fifth argument).
pub mod create_flags {
    /// Parse, relocate and bind the program's files again instead of
    /// mapping the image the kernel keeps from an earlier start.
    pub const FRESH_IMAGE: u64 = 1;
}

/// Clocks for [`nr::GET_TIME`].
pub mod clock {
    /// Milliseconds since boot (GetTickCount64).
    pub const TICK_COUNT_MS: u64 = 0;
    /// The performance counter: nanoseconds since boot.
    pub const PERFORMANCE_COUNTER: u64 = 1;
    /// The performance counter's frequency in Hz (10^9).
    pub const PERFORMANCE_FREQUENCY: u64 = 2;
}

impl Error {
    /// The error for a code, if it is one.
    pub const fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            1 => Self::BadPointer,
            2 => Self::InvalidArgument,
            3 => Self::NotSupported,
            4 => Self::NoMemory,
            5 => Self::BadSyscall,
            6 => Self::NotFound,
            7 => Self::InvalidHandle,
            8 => Self::AccessDenied,
            9 => Self::IoError,
            10 => Self::AlreadyExists,
            11 => Self::DiskFull,
            12 => Self::TimedOut,
            13 => Self::ConnectionReset,
            14 => Self::NetworkUnreachable,
            _ => return None,
        })
    }

    /// Short name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadPointer => "bad pointer",
            Self::InvalidArgument => "invalid argument",
            Self::NotSupported => "not supported",
            Self::NoMemory => "out of memory",
            Self::BadSyscall => "bad system call",
            Self::NotFound => "not found",
            Self::InvalidHandle => "invalid handle",
            Self::AccessDenied => "access denied",
            Self::IoError => "I/O error",
            Self::AlreadyExists => "already exists",
            Self::DiskFull => "disk full",
            Self::TimedOut => "timed out",
            Self::ConnectionReset => "connection reset",
            Self::NetworkUnreachable => "network unreachable",
        }
    }
}

/// What a system call returns in RAX.
pub type SysResult = Result<u64, Error>;

/// Encodes a result for RAX.
pub const fn encode(result: SysResult) -> u64 {
    match result {
        Ok(v) => v,
        Err(e) => (e as u64).wrapping_neg(),
    }
}

/// Decodes RAX. Values in the error range with an unknown code decode as
/// `InvalidArgument` rather than success.
pub const fn decode(rax: u64) -> SysResult {
    if (rax as i64) < 0 && (rax as i64) >= -4095 {
        match Error::from_code(rax.wrapping_neg()) {
            Some(e) => Err(e),
            None => Err(Error::InvalidArgument),
        }
    } else {
        Ok(rax)
    }
}

/// Page protection for [`nr::ALLOCATE_PAGES`].
pub mod protection {
    /// Readable.
    pub const READ: u64 = 1;
    /// Writable (implies readable).
    pub const WRITE: u64 = 2;
    /// Executable (never together with WRITE).
    pub const EXECUTE: u64 = 4;
}

/// Bytes the kernel leaves above the entry RSP (Win64 home space).
pub const ENTRY_STACK_RESERVE: u64 = 32;

/// Lowest user address a process may map.
pub const USER_MIN: u64 = 0x1_0000;
/// One past the highest user address (the canonical lower half).
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// Exit statuses the kernel gives a process it ends because of a fault
/// (the NTSTATUS values Windows uses for the same events).
pub mod status {
    /// Page fault or general protection on a memory access.
    pub const ACCESS_VIOLATION: u32 = 0xC000_0005;
    /// Invalid opcode (#UD).
    pub const ILLEGAL_INSTRUCTION: u32 = 0xC000_001D;
    /// Divide error (#DE).
    pub const INTEGER_DIVIDE_BY_ZERO: u32 = 0xC000_0094;
    /// A privileged instruction in ring 3 (#GP without a memory access).
    pub const PRIVILEGED_INSTRUCTION: u32 = 0xC000_0096;
    /// Stack overflow into the guard page below the user stack.
    pub const STACK_OVERFLOW: u32 = 0xC000_00FD;
    /// Breakpoint (#BP) in ring 3 with no debugger.
    pub const BREAKPOINT: u32 = 0x8000_0003;
    /// Any other exception.
    pub const UNHANDLED_EXCEPTION: u32 = 0xC000_0409;
}

/// Exit codes a program gives itself (through `ExitProcess`) for events the
/// Init library and the test programs define.
pub mod exit_code {
    /// A Rust panic in a program or in runtime.dll: the panic message went to
    /// the debug console first. In the NTSTATUS customer range (bit 29), as
    /// Windows programs use for their own codes.
    pub const PANIC: u32 = 0xE000_0001;
    /// A `faults.exe` variant whose deliberate fault did not happen.
    pub const FAULT_NOT_RAISED: u32 = 0xBAD;
}

/// Fixed values the milestone test programs agree on with the kernel.
pub mod testing {
    /// A user address where one test process maps a page and another,
    /// `fault-peek.exe`, reads it: the read must fault (isolated PML4s).
    pub const ISOLATION_PROBE_ADDRESS: u64 = 0x5000_0000;
}

/// Filled by [`nr::GET_SYSTEM_INFO`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemInfo {
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// Page size in bytes (4096).
    pub page_size: u32,
    /// Number of CPUs running.
    pub processor_count: u32,
    /// Reserved, 0.
    pub reserved: u32,
    /// TSC ticks per second.
    pub tsc_frequency: u64,
    /// Bytes of RAM the kernel manages.
    pub total_memory: u64,
    /// Bytes of RAM free now.
    pub free_memory: u64,
    /// Lowest user address.
    pub user_min: u64,
    /// One past the highest user address.
    pub user_end: u64,
}

/// Filled by [`nr::GET_PROCESS_INFO`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id (1 is the first process).
    pub process_id: u64,
    /// Thread id of the caller.
    pub thread_id: u64,
    /// Where the program image is loaded.
    pub image_base: u64,
    /// Its size in memory.
    pub image_size: u64,
    /// Where runtime.dll is loaded.
    pub runtime_base: u64,
    /// Top of the caller's stack (one past the highest byte).
    pub stack_top: u64,
    /// Committed stack bytes (a guard page lies below).
    pub stack_size: u64,
    /// Program name (module name), NUL-padded UTF-8.
    pub name: [u8; 32],
}

/// Flags of [`nr::CREATE_WINDOW`].
pub mod window_flags {
    /// The client area is the whole screen.
    pub const FULLSCREEN: u64 = 1;
}

/// Flags of [`nr::GET_MESSAGE`].
pub mod message_flags {
    /// Take the message off the queue (Win32's `PM_REMOVE`); without it
    /// the message stays and the next call sees it again.
    pub const REMOVE: u64 = 1;
}

/// Longest side of a [`nr::SET_SCREEN_BUFFER`] buffer, in pixels.
pub const MAX_BUFFER_SIDE: u64 = 8192;

/// Message numbers (Win32's `WM_*` values, WinUser.h).
pub mod wm {
    /// The user asked to close the window (Alt+F4).
    pub const CLOSE: u32 = 0x0010;
    /// `POST_QUIT` was called: GetMessage returns 0.
    pub const QUIT: u32 = 0x0012;
    /// A key went down; wParam the virtual key, lParam the keystroke flags.
    pub const KEYDOWN: u32 = 0x0100;
    /// A key went up.
    pub const KEYUP: u32 = 0x0101;
    /// A character was typed; wParam the UTF-16 code unit.
    pub const CHAR: u32 = 0x0102;
    /// The pointer moved; wParam the `MK_*` buttons, lParam x | y << 16
    /// (client coordinates, 16-bit signed).
    pub const MOUSEMOVE: u32 = 0x0200;
    /// Left button down.
    pub const LBUTTONDOWN: u32 = 0x0201;
    /// Left button up.
    pub const LBUTTONUP: u32 = 0x0202;
    /// Right button down.
    pub const RBUTTONDOWN: u32 = 0x0204;
    /// Right button up.
    pub const RBUTTONUP: u32 = 0x0205;
    /// Middle button down.
    pub const MBUTTONDOWN: u32 = 0x0207;
    /// Middle button up.
    pub const MBUTTONUP: u32 = 0x0208;
    /// The wheel turned; wParam's high word the signed delta
    /// ([`WHEEL_DELTA`] per notch, positive away from the user), lParam the
    /// pointer in screen coordinates.
    pub const MOUSEWHEEL: u32 = 0x020A;
    /// One wheel notch.
    pub const WHEEL_DELTA: i16 = 120;
    /// wParam button flags of mouse messages (Win32's `MK_*`).
    pub const MK_LBUTTON: u64 = 0x0001;
    /// Right button held.
    pub const MK_RBUTTON: u64 = 0x0002;
    /// Middle button held.
    pub const MK_MBUTTON: u64 = 0x0010;
}

/// A window's rectangle (Win32's `RECT`): right and bottom exclusive.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub left: i32,
    /// Top edge.
    pub top: i32,
    /// One past the right edge.
    pub right: i32,
    /// One past the bottom edge.
    pub bottom: i32,
}

/// A message (Win32's x64 `MSG` layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// The window handle it is for.
    pub window: u64,
    /// A [`wm`] number.
    pub message: u32,
    /// Reserved, 0 (alignment).
    pub reserved: u32,
    /// First parameter.
    pub wparam: u64,
    /// Second parameter.
    pub lparam: i64,
    /// Milliseconds since boot when it was queued.
    pub time: u32,
    /// Pointer x (screen) when it was queued.
    pub pt_x: i32,
    /// Pointer y (screen).
    pub pt_y: i32,
    /// Reserved, 0.
    pub private: u32,
}

/// Values of [`DeviceRecord::bus`].
pub mod bus {
    /// The tree's root.
    pub const ROOT: u32 = 0;
    /// Described by the firmware (ACPI).
    pub const PLATFORM: u32 = 1;
    /// A PCI function.
    pub const PCI: u32 = 2;
    /// A legacy ISA device.
    pub const ISA: u32 = 3;
    /// A PS/2 port.
    pub const PS2: u32 = 4;
    /// A Hyper-V VMBus channel.
    pub const VMBUS: u32 = 5;
}

/// Values of [`DeviceRecord::state`].
pub mod device_state {
    /// No driver has it, and none failed on it.
    pub const UNBOUND: u32 = 0;
    /// A driver's probe is running.
    pub const PROBING: u32 = 1;
    /// A driver runs it.
    pub const BOUND: u32 = 2;
    /// No driver has it; at least one probe failed.
    pub const FAILED: u32 = 3;
    /// Its bus withdrew it (a VMBus rescind or unload); nothing binds it.
    pub const GONE: u32 = 4;
}

/// Filled by [`nr::GET_DEVICE`]: one node of the device tree.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Its position in tree order.
    pub index: u32,
    /// Its parent's position (`u32::MAX` for the root).
    pub parent: u32,
    /// A [`bus`] value.
    pub bus: u32,
    /// A [`device_state`] value.
    pub state: u32,
    /// PCI vendor id (0 for other buses).
    pub vendor: u16,
    /// PCI device id.
    pub device: u16,
    /// PCI base class.
    pub class: u8,
    /// PCI subclass.
    pub subclass: u8,
    /// PCI programming interface.
    pub prog_if: u8,
    /// Reserved, 0.
    pub reserved: u8,
    /// Resources (port ranges, memory ranges, interrupts) its bus granted.
    pub resource_count: u32,
    /// Node name (e.g. `00:1f.2`), NUL-padded UTF-8.
    pub name: [u8; 32],
    /// Bound driver's name, NUL-padded (empty if none).
    pub driver: [u8; 32],
    /// Plug-and-play id (e.g. `PNP0303`), NUL-padded (empty if none).
    pub hardware_id: [u8; 16],
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts_are_pinned() {
        assert_eq!(size_of::<SystemInfo>(), 56);
        assert_eq!(size_of::<DeviceRecord>(), 108);
        // Win32's x64 MSG and RECT.
        assert_eq!(size_of::<Message>(), 48);
        assert_eq!(offset_of!(Message, wparam), 16);
        assert_eq!(offset_of!(Message, time), 32);
        assert_eq!(offset_of!(Message, pt_y), 40);
        assert_eq!(size_of::<Rect>(), 16);
        assert_eq!(offset_of!(DeviceRecord, vendor), 16);
        assert_eq!(offset_of!(DeviceRecord, resource_count), 24);
        assert_eq!(offset_of!(DeviceRecord, name), 28);
        assert_eq!(offset_of!(DeviceRecord, hardware_id), 92);
        assert_eq!(offset_of!(SystemInfo, tsc_frequency), 16);
        assert_eq!(offset_of!(SystemInfo, user_end), 48);
        assert_eq!(size_of::<ProcessInfo>(), 88);
        assert_eq!(offset_of!(ProcessInfo, runtime_base), 32);
        assert_eq!(offset_of!(ProcessInfo, name), 56);
        assert_eq!(size_of::<FileInfo>(), 16);
        assert_eq!(size_of::<SocketAddress>(), 8);
        assert_eq!(size_of::<DirectoryEntry>(), 272);
        assert_eq!(offset_of!(DirectoryEntry, name_len), 12);
        assert_eq!(offset_of!(DirectoryEntry, name), 16);
    }

    #[test]
    fn results_round_trip() {
        for v in [0u64, 1, 4096, u64::MAX / 2] {
            assert_eq!(decode(encode(Ok(v))), Ok(v));
        }
        for code in 1..=14 {
            let e = Error::from_code(code).unwrap();
            assert_eq!(decode(encode(Err(e))), Err(e));
            assert_eq!(encode(Err(e)) as i64, -(code as i64));
        }
        assert_eq!(decode((-4000i64) as u64), Err(Error::InvalidArgument));
        assert_eq!(decode((-5000i64) as u64), Ok((-5000i64) as u64));
    }
}

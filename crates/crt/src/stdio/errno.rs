//! `<errno.h>` codes, numbered as Microsoft's C runtime numbers them.
//!
//! The values are those of MSVC's `errno.h` (which agree with POSIX/Linux
//! for 1 ..= 34); C code compiled against runtime-dll/include sees the
//! same numbers.

/// An `errno` value.
pub type Errno = i32;

/// Operation not permitted.
pub const EPERM: Errno = 1;
/// No such file or directory.
pub const ENOENT: Errno = 2;
/// Input/output error.
pub const EIO: Errno = 5;
/// Bad file descriptor (here: a `FILE *` that is not an open stream, or
/// one not open for the operation).
pub const EBADF: Errno = 9;
/// Not enough memory.
pub const ENOMEM: Errno = 12;
/// Permission denied.
pub const EACCES: Errno = 13;
/// Bad address.
pub const EFAULT: Errno = 14;
/// File exists.
pub const EEXIST: Errno = 17;
/// Not a directory.
pub const ENOTDIR: Errno = 20;
/// Is a directory.
pub const EISDIR: Errno = 21;
/// Invalid argument.
pub const EINVAL: Errno = 22;
/// Too many open files in the system.
pub const ENFILE: Errno = 23;
/// Too many open files.
pub const EMFILE: Errno = 24;
/// No space left on device.
pub const ENOSPC: Errno = 28;
/// Illegal seek.
pub const ESPIPE: Errno = 29;
/// Read-only file system.
pub const EROFS: Errno = 30;
/// Math argument out of the domain.
pub const EDOM: Errno = 33;
/// Result too large.
pub const ERANGE: Errno = 34;
/// File name too long.
pub const ENAMETOOLONG: Errno = 38;
/// Function not implemented.
pub const ENOSYS: Errno = 40;
/// Connection reset (MSVC's POSIX supplement value).
pub const ECONNRESET: Errno = 108;
/// Network unreachable (MSVC's POSIX supplement value).
pub const ENETUNREACH: Errno = 118;
/// Value too large for the type (MSVC's POSIX supplement value).
pub const EOVERFLOW: Errno = 132;
/// Timed out (MSVC's POSIX supplement value).
pub const ETIMEDOUT: Errno = 138;

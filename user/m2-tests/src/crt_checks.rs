//! Checks of runtime.dll's C runtime: every export present, printf family,
//! `<string.h>`, `<ctype.h>`, and the stack probe in this image.

use crate::exports::{function, Module};
use crate::report::{Detail, Report};
use abi::ProcessInfo;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt::Write;
use core::hint::black_box;
use init::rt;
use testkit::check;

/// Every export runtime.dll promises (README, "runtime.dll").
const EXPORTS: &[&[u8]] = &[
    b"GetSystemInfo",
    b"GetProcessInfo",
    b"Sleep",
    b"ExitProcess",
    b"ExitThread",
    b"FerriteSyscall",
    b"OutputDebugStringA",
    b"memcpy",
    b"memmove",
    b"memset",
    b"memcmp",
    b"memchr",
    b"strlen",
    b"strnlen",
    b"strcmp",
    b"strncmp",
    b"strcpy",
    b"strncpy",
    b"strcat",
    b"strncat",
    b"strchr",
    b"strrchr",
    b"strstr",
    b"isalpha",
    b"isdigit",
    b"isspace",
    b"isupper",
    b"islower",
    b"isalnum",
    b"isprint",
    b"ispunct",
    b"isxdigit",
    b"toupper",
    b"tolower",
    b"printf",
    b"vprintf",
    b"snprintf",
    b"vsnprintf",
    b"sprintf",
    b"vsprintf",
    b"CreateWindow",
    b"GetWindowRect",
    b"GetMessage",
    b"PeekMessage",
    b"SetScreenBuffer",
    b"PostQuitMessage",
    b"puts",
    b"putchar",
];

pub fn run(r: &mut Report, proc: &ProcessInfo) {
    // SAFETY: runtime_base is where the kernel mapped runtime.dll.
    let Some(dll) = (unsafe { Module::at(proc.runtime_base) }) else {
        check!(
            r,
            "runtime_exports",
            false,
            "no PE32+ export directory at {:#x}",
            proc.runtime_base
        );
        return;
    };
    let mut missing = Detail::new();
    let mut n = 0;
    for name in EXPORTS {
        if dll.find(name).is_none() {
            n += 1;
            let _ = write!(missing, " {}", core::str::from_utf8(name).unwrap_or("?"));
        }
    }
    let list = core::str::from_utf8(missing.as_bytes()).unwrap_or("");
    check!(
        r,
        "runtime_exports",
        n == 0,
        "{}/{} exports found; missing:{list}",
        EXPORTS.len() - n,
        EXPORTS.len()
    );
    snprintf_formats(r);
    printf_console(r);
    mem_functions(r, &dll);
    string_functions(r, &dll);
    ctype_functions(r, &dll);
    stack_probe(r);
}

/// Calls runtime.dll's snprintf into a buffer; true if the output and the
/// returned length match `want`.
macro_rules! same {
    ($want:literal, $fmt:literal $(, $a:expr)*) => {{
        let mut buf = [0u8; 128];
        // SAFETY: 128 writable bytes; the arguments match the format.
        let n = unsafe { rt::snprintf(buf.as_mut_ptr().cast(), buf.len(), $fmt.as_ptr() $(, $a)*) };
        let got = CStr::from_bytes_until_nul(&buf).map(CStr::to_bytes).unwrap_or(b"");
        (got == $want.as_bytes() && n as usize == $want.len(), $fmt)
    }};
}

fn snprintf_formats(r: &mut Report) {
    let s = c"ferrite".as_ptr();
    let cases = [
        same!(
            "-42|   42|42   |00042",
            c"%d|%5d|%-5d|%05d",
            -42,
            42,
            42,
            42
        ),
        same!(
            "ff FF 0xff 10 +7 -7",
            c"%x %X %#x %o %+d %+i",
            255,
            255,
            255,
            8,
            7,
            -7
        ),
        same!(
            "ferrite|fer|     abc",
            c"%s|%.3s|%8s",
            s,
            s,
            c"abc".as_ptr()
        ),
        same!(
            "ok!",
            c"%c%c%c",
            c_int::from(b'o'),
            c_int::from(b'k'),
            c_int::from(b'!')
        ),
        same!(
            "-9223372036854775808 18446744073709551615 4096",
            c"%lld %llu %zu",
            i64::MIN,
            u64::MAX,
            4096usize
        ),
        same!(
            "-1 9029 255 ffffffff",
            c"%ld %hd %hhu %lx",
            -1i32,
            0x12345i32,
            0x1ffi32,
            -1i32
        ),
        same!("0x140001234 0x0", c"%p %p", 0x1_4000_1234usize, 0usize),
        same!(
            "1.250000 2.50 1.234568e+04 0.0001 1e+10",
            c"%f %.2f %e %g %g",
            1.25f64,
            2.5f64,
            12345.678f64,
            0.0001f64,
            1e10f64
        ),
        same!(
            "     7|1.50    |-0.5",
            c"%*d|%-*.*f|%g",
            6i32,
            7i32,
            8i32,
            2i32,
            1.5f64,
            -0.5f64
        ),
        same!("100% (null)", c"100%% %s", core::ptr::null::<c_char>()),
    ];
    let mut failed = Detail::new();
    for (ok, fmt) in cases {
        if !ok {
            let _ = write!(failed, " {:?}", fmt);
        }
    }
    let mut cut = [0x55u8; 8];
    // SAFETY: 8 writable bytes; one string argument.
    let n = unsafe {
        rt::snprintf(
            cut.as_mut_ptr().cast(),
            cut.len(),
            c"%s".as_ptr(),
            c"truncated output".as_ptr(),
        )
    };
    let cut_ok = n == 16 && &cut == b"truncat\0";
    let bad = cases.iter().filter(|c| !c.0).count();
    let list = core::str::from_utf8(failed.as_bytes()).unwrap_or("");
    check!(
        r,
        "snprintf_formats",
        bad == 0 && cut_ok,
        "{}/{} formats as expected, truncation to 8 bytes returned {n}: {cut_ok}; wrong:{list}",
        cases.len() - bad,
        cases.len()
    );
}

fn printf_console(r: &mut Report) {
    // SAFETY: the arguments match the format.
    let n = unsafe {
        rt::printf(
            c"m2-tests: printf says %s %d\n".as_ptr(),
            c"hello".as_ptr(),
            42,
        )
    };
    // SAFETY: a NUL-terminated literal.
    let p = unsafe { rt::puts(c"m2-tests: puts says hello".as_ptr()) };
    check!(
        r,
        "printf_console",
        n == 31 && p >= 0,
        "printf returned {n} (31 expected), puts {p}"
    );
}

type MemFn = unsafe extern "C" fn(*mut c_void, *const c_void, usize) -> *mut c_void;
type SetFn = unsafe extern "C" fn(*mut c_void, c_int, usize) -> *mut c_void;
type CmpFn = unsafe extern "C" fn(*const c_void, *const c_void, usize) -> c_int;

fn mem_functions(r: &mut Report, dll: &Module) {
    // SAFETY: the types match the C prototypes runtime.dll implements.
    let (cpy, mov, set, cmp) = unsafe {
        (
            function::<MemFn>(dll, b"memcpy"),
            function::<MemFn>(dll, b"memmove"),
            function::<SetFn>(dll, b"memset"),
            function::<CmpFn>(dll, b"memcmp"),
        )
    };
    let (Some(cpy), Some(mov), Some(set), Some(cmp)) = (cpy, mov, set, cmp) else {
        check!(r, "mem_functions", false, "an export is missing");
        return;
    };
    let mut a = *b"0123456789abcdef";
    let p = a.as_mut_ptr();
    // SAFETY: every range lies inside the 16-byte buffer `a` (or `b`).
    let (up, down, copy, fill, order) = unsafe {
        mov(p.add(2).cast(), p.cast(), 8);
        let up = &black_box(a) == b"0101234567abcdef";
        a = *b"0123456789abcdef";
        mov(p.cast(), p.add(2).cast(), 8);
        let down = &black_box(a) == b"2345678989abcdef";
        let mut b = [0u8; 16];
        cpy(b.as_mut_ptr().cast(), p.cast(), 16);
        let copy = b == a;
        set(b.as_mut_ptr().add(4).cast(), 0x41, 8);
        let fill = &b == b"2345AAAAAAAAcdef";
        let order = cmp(b"abc".as_ptr().cast(), b"abd".as_ptr().cast(), 3) < 0
            && cmp(b"\xff".as_ptr().cast(), b"\x01".as_ptr().cast(), 1) > 0
            && cmp(p.cast(), p.cast(), 16) == 0;
        (up, down, copy, fill, order)
    };
    let ok = up && down && copy && fill && order;
    check!(
        r,
        "mem_functions",
        ok,
        "memmove up {up} down {down}, memcpy {copy}, memset {fill}, memcmp {order}"
    );
}

type StrFn = unsafe extern "C" fn(*const c_char) -> usize;
type Str2Fn = unsafe extern "C" fn(*const c_char, *const c_char) -> c_int;
type StrNFn = unsafe extern "C" fn(*const c_char, *const c_char, usize) -> c_int;
type CpyFn = unsafe extern "C" fn(*mut c_char, *const c_char) -> *mut c_char;
type FindFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut c_char;
type ChrFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_char;

fn string_functions(r: &mut Report, dll: &Module) {
    // SAFETY: the types match the C prototypes runtime.dll implements.
    let f = unsafe {
        (
            function::<StrFn>(dll, b"strlen"),
            function::<Str2Fn>(dll, b"strcmp"),
            function::<StrNFn>(dll, b"strncmp"),
            function::<CpyFn>(dll, b"strcpy"),
            function::<CpyFn>(dll, b"strcat"),
            function::<FindFn>(dll, b"strstr"),
            function::<ChrFn>(dll, b"strchr"),
            function::<ChrFn>(dll, b"strrchr"),
        )
    };
    let (Some(len), Some(cmp), Some(ncmp), Some(cpy), Some(cat), Some(find), Some(chr), Some(rchr)) =
        f
    else {
        check!(r, "string_functions", false, "an export is missing");
        return;
    };
    let path = c"a/b/c".as_ptr();
    let mut buf = [0 as c_char; 32];
    let b = buf.as_mut_ptr();
    // SAFETY: NUL-terminated literals; writes stay inside the 32 bytes.
    let (lens, cmps, built, finds) = unsafe {
        let lens = len(c"".as_ptr()) == 0 && len(c"ferrite".as_ptr()) == 7;
        let cmps = cmp(c"abc".as_ptr(), c"abc".as_ptr()) == 0
            && cmp(c"abc".as_ptr(), c"abd".as_ptr()) < 0
            && cmp(c"b".as_ptr(), c"abc".as_ptr()) > 0
            && ncmp(c"abcX".as_ptr(), c"abcY".as_ptr(), 3) == 0
            && ncmp(c"abcX".as_ptr(), c"abcY".as_ptr(), 4) < 0;
        cpy(b, c"doom".as_ptr());
        cat(b, c"guy".as_ptr());
        let built = CStr::from_ptr(b) == c"doomguy";
        let off = |q: *mut c_char| (q as usize).wrapping_sub(path as usize);
        let finds = off(find(path, c"b/c".as_ptr())) == 2
            && find(path, c"c/".as_ptr()).is_null()
            && off(chr(path, c_int::from(b'/'))) == 1
            && off(rchr(path, c_int::from(b'/'))) == 3
            && off(chr(path, 0)) == 5;
        (lens, cmps, built, finds)
    };
    let ok = lens && cmps && built && finds;
    check!(r, "string_functions", ok, "strlen {lens}, strcmp/strncmp {cmps}, strcpy+strcat {built}, strstr/strchr/strrchr {finds}");
}

type CtypeFn = unsafe extern "C" fn(c_int) -> c_int;
/// The reference classifier for a ctype export.
type Class = fn(&u8) -> bool;

fn ctype_functions(r: &mut Report, dll: &Module) {
    let classes: [(&[u8], Class); 9] = [
        (b"isalpha", u8::is_ascii_alphabetic),
        (b"isdigit", u8::is_ascii_digit),
        (b"isspace", |b| matches!(b, b' ' | 9..=13)),
        (b"isupper", u8::is_ascii_uppercase),
        (b"islower", u8::is_ascii_lowercase),
        (b"isalnum", u8::is_ascii_alphanumeric),
        (b"isprint", |b| (0x20..0x7f).contains(b)),
        (b"ispunct", u8::is_ascii_punctuation),
        (b"isxdigit", u8::is_ascii_hexdigit),
    ];
    let mut wrong = Detail::new();
    let mut bad = 0;
    for (name, class) in classes {
        // SAFETY: every classifier is `int f(int)`.
        let Some(f) = (unsafe { function::<CtypeFn>(dll, name) }) else {
            bad += 1;
            continue;
        };
        // SAFETY: the argument is an unsigned char value.
        if !(0u8..=255).all(|c| (unsafe { f(c_int::from(c)) } != 0) == class(&c)) {
            bad += 1;
            let _ = write!(wrong, " {}", core::str::from_utf8(name).unwrap_or("?"));
        }
    }
    // SAFETY: `int f(int)`.
    let (up, low) = unsafe {
        (
            function::<CtypeFn>(dll, b"toupper"),
            function::<CtypeFn>(dll, b"tolower"),
        )
    };
    let case_ok = match (up, low) {
        // SAFETY: the arguments are unsigned char values or EOF.
        (Some(up), Some(low)) => unsafe {
            (0u8..=255).all(|c| {
                up(c_int::from(c)) == c_int::from(c.to_ascii_uppercase())
                    && low(c_int::from(c)) == c_int::from(c.to_ascii_lowercase())
            }) && up(-1) == -1
        },
        _ => false,
    };
    let list = core::str::from_utf8(wrong.as_bytes()).unwrap_or("");
    check!(
        r,
        "ctype_functions",
        bad == 0 && case_ok,
        "9 classes over 0..=255: {} wrong{list}; toupper/tolower {case_ok}",
        bad
    );
}

/// A 48 KB frame, over the 16 KiB committed stack: the prologue calls
/// `__chkstk`, which must touch each page on the way down (the stack grows
/// only through its guard page, so a frame that skips pages faults).
#[inline(never)]
fn big_frame(seed: u8) -> u64 {
    let mut buf = [0u8; 48_000];
    black_box(&mut buf);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    black_box(&buf).iter().map(|&b| u64::from(b)).sum()
}

fn stack_probe(r: &mut Report) {
    let sum = big_frame(black_box(3));
    let want: u64 = (0..48_000u32)
        .map(|i| u64::from(3u8.wrapping_add(i as u8)))
        .sum();
    check!(
        r,
        "stack_probe",
        sum == want,
        "48000-byte frame through __chkstk: sum {sum} (expected {want})"
    );
}

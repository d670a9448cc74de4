//! `<ctype.h>`: character classes of the "C" locale (ASCII).
//!
//! Arguments are `int`s holding an `unsigned char` value or EOF (-1); any
//! other value is classed as nothing and converted to itself. No unsafe code
//! here; runtime.dll exports the functions under their C names.

use core::ffi::c_int;

/// The byte `c` stands for, if it is one.
fn byte(c: c_int) -> Option<u8> {
    u8::try_from(c).ok()
}

fn class(c: c_int, f: fn(&u8) -> bool) -> c_int {
    c_int::from(byte(c).is_some_and(|b| f(&b)))
}

/// Letter.
pub extern "C" fn isalpha(c: c_int) -> c_int {
    class(c, u8::is_ascii_alphabetic)
}

/// Decimal digit.
pub extern "C" fn isdigit(c: c_int) -> c_int {
    class(c, u8::is_ascii_digit)
}

/// Space, \t, \n, \v, \f or \r.
pub extern "C" fn isspace(c: c_int) -> c_int {
    // C's set includes \v (0x0b), which Rust's is_ascii_whitespace omits.
    class(c, |b| {
        matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
    })
}

/// Upper-case letter.
pub extern "C" fn isupper(c: c_int) -> c_int {
    class(c, u8::is_ascii_uppercase)
}

/// Lower-case letter.
pub extern "C" fn islower(c: c_int) -> c_int {
    class(c, u8::is_ascii_lowercase)
}

/// Letter or digit.
pub extern "C" fn isalnum(c: c_int) -> c_int {
    class(c, u8::is_ascii_alphanumeric)
}

/// Printable, space included.
pub extern "C" fn isprint(c: c_int) -> c_int {
    class(c, |b| (0x20..0x7f).contains(b))
}

/// Printable, not space, not letter or digit.
pub extern "C" fn ispunct(c: c_int) -> c_int {
    class(c, u8::is_ascii_punctuation)
}

/// Hexadecimal digit.
pub extern "C" fn isxdigit(c: c_int) -> c_int {
    class(c, u8::is_ascii_hexdigit)
}

/// Upper-case form of a lower-case letter; anything else unchanged.
pub extern "C" fn toupper(c: c_int) -> c_int {
    byte(c).map_or(c, |b| c_int::from(b.to_ascii_uppercase()))
}

/// Lower-case form of an upper-case letter; anything else unchanged.
pub extern "C" fn tolower(c: c_int) -> c_int {
    byte(c).map_or(c, |b| c_int::from(b.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every class, for every byte and EOF, against a table written out
    /// from the C standard's definitions (§7.4.1).
    #[test]
    fn classes_match_the_c_locale() {
        for c in -1..=255 {
            let ch = if c >= 0 { Some(c as u8) } else { None };
            let is = |f: extern "C" fn(c_int) -> c_int| f(c) != 0;
            let within = |lo: u8, hi: u8| ch.is_some_and(|b| (lo..=hi).contains(&b));
            let upper = within(b'A', b'Z');
            let lower = within(b'a', b'z');
            let digit = within(b'0', b'9');
            let space = ch.is_some_and(|b| b == b' ' || (9..=13).contains(&b));
            let print = within(0x20, 0x7e);
            assert_eq!(is(isupper), upper, "isupper({c})");
            assert_eq!(is(islower), lower, "islower({c})");
            assert_eq!(is(isalpha), upper || lower, "isalpha({c})");
            assert_eq!(is(isdigit), digit, "isdigit({c})");
            assert_eq!(is(isalnum), upper || lower || digit, "isalnum({c})");
            assert_eq!(is(isspace), space, "isspace({c})");
            assert_eq!(is(isprint), print, "isprint({c})");
            let punct = print && c != 0x20 && !(upper || lower || digit);
            assert_eq!(is(ispunct), punct, "ispunct({c})");
            let hex = digit || within(b'a', b'f') || within(b'A', b'F');
            assert_eq!(is(isxdigit), hex, "isxdigit({c})");
        }
        assert_eq!(toupper(c_int::from(b'q')), c_int::from(b'Q'));
        assert_eq!(toupper(c_int::from(b'Q')), c_int::from(b'Q'));
        assert_eq!(toupper(c_int::from(b'1')), c_int::from(b'1'));
        assert_eq!(tolower(c_int::from(b'Z')), c_int::from(b'z'));
        assert_eq!(tolower(-1), -1);
        assert_eq!(toupper(300), 300);
    }
}

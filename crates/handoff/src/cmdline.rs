//! The kernel command line's two parts: the kernel's own words, and
//! init's arguments after a `--` word (as Linux does), so that
//! `init=doom.exe -- -iwad freedoom1.wad` gives doom.exe its command line
//! without the kernel reading `-iwad` as one of its options. (The kernel
//! uses this; the loader passes the line through untouched.)

/// Splits `cmdline` at its first `--` word: (the kernel's words, init's
/// arguments), both trimmed; without a `--`, init gets "".
pub fn split_init_args(cmdline: &str) -> (&str, &str) {
    let mut rest = cmdline;
    let mut kernel_end = 0;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        let len = rest[start..]
            .find(char::is_whitespace)
            .unwrap_or(rest.len() - start);
        let offset = cmdline.len() - rest.len() + start;
        if &rest[start..start + len] == "--" {
            return (cmdline[..kernel_end].trim(), cmdline[offset + 2..].trim());
        }
        kernel_end = offset + len;
        rest = &rest[start + len..];
    }
    (cmdline.trim(), "")
}

#[cfg(test)]
mod tests {
    use super::split_init_args;

    #[test]
    fn no_separator_is_all_kernel() {
        assert_eq!(split_init_args(""), ("", ""));
        assert_eq!(
            split_init_args("  loglevel=info init=a.exe "),
            ("loglevel=info init=a.exe", "")
        );
    }

    #[test]
    fn words_after_the_separator_are_init_s() {
        assert_eq!(
            split_init_args("loglevel=info init=doom.exe -- -iwad freedoom1.wad"),
            ("loglevel=info init=doom.exe", "-iwad freedoom1.wad")
        );
        assert_eq!(split_init_args("--"), ("", ""));
        assert_eq!(split_init_args("a --  x -- y "), ("a", "x -- y"));
        assert_eq!(split_init_args("\t-- test=suite"), ("", "test=suite"));
    }

    #[test]
    fn a_dash_pair_inside_a_word_is_not_the_separator() {
        assert_eq!(split_init_args("a--b c-- --d"), ("a--b c-- --d", ""));
        assert_eq!(split_init_args("x=--"), ("x=--", ""));
    }

    #[test]
    fn any_text_splits_into_pieces_of_it() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = [" ", "-", "--", "a", "\t", "é", "=", "x"];
        for _ in 0..2000 {
            let mut s = alloc::string::String::new();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let (k, i) = split_init_args(&s);
            assert!(s.contains(k) && s.contains(i), "{s:?}");
            assert!(!k.split_whitespace().any(|w| w == "--"), "{s:?}");
        }
    }
}

//! Reads a bugcheck's call stack out of a serial transcript and checks
//! its frames against the kernel's source.
//!
//! The kernel prints (see kernel/src/bugcheck/stack.rs):
//! ```text
//! call stack (innermost first):
//!   #0  0xffffffff80012345 core::panicking::panic_fmt at /rustc/…/panicking.rs:80
//!   #1  0xffffffff80023456 ferrite_kernel::x::inner at kernel/src/x.rs:12
//!                            inlined into ferrite_kernel::x::outer at kernel/src/x.rs:30
//!   -- exception #PF page fault --
//! ```

use std::ops::RangeInclusive;

/// One function of a printed frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame's number; `None` for a function the one above was
    /// inlined into (same address).
    pub number: Option<usize>,
    /// The demangled function name.
    pub function: String,
    /// The source file as printed (`kernel/src/...` for kernel code).
    pub file: String,
    /// The line.
    pub line: u32,
}

/// The lines of the first call stack in `serial`: everything after
/// `call stack (innermost first):` that is indented.
pub fn block(serial: &str) -> Vec<String> {
    let text = crate::transcript::clean(serial);
    text.lines()
        .skip_while(|l| l.trim_end() != "call stack (innermost first):")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// The named frames of the first call stack (lines without `at file:line`
/// — raw addresses, markers — are left out).
pub fn frames(serial: &str) -> Vec<Frame> {
    block(serial).iter().filter_map(|l| parse_line(l)).collect()
}

fn parse_line(line: &str) -> Option<Frame> {
    let rest = line.trim_start();
    let (number, rest) = if let Some(after) = rest.strip_prefix('#') {
        let (n, after) = after.split_once(' ')?;
        let after = after.trim_start();
        let (_address, after) = after.split_once(' ')?;
        (Some(n.parse().ok()?), after)
    } else {
        (None, rest.strip_prefix("inlined into ")?)
    };
    let (function, location) = rest.rsplit_once(" at ")?;
    let (file, line) = location.rsplit_once(':')?;
    Some(Frame {
        number,
        function: function.to_string(),
        file: file.to_string(),
        line: line.parse().ok()?,
    })
}

/// The lines of `fn name` in the source file `text`: from its `fn` line
/// to the first line after it that is a lone `}` at the same indent.
pub fn function_lines(text: &str, name: &str) -> Option<RangeInclusive<u32>> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| {
        let t = l.trim_start();
        t.starts_with(&format!("fn {name}(")) || t.starts_with(&format!("pub fn {name}("))
    })?;
    let indent = lines[start].len() - lines[start].trim_start().len();
    let close = format!("{}}}", " ".repeat(indent));
    let end = start + lines[start..].iter().position(|l| *l == close)?;
    Some(start as u32 + 1..=end as u32 + 1)
}

/// Checks that `frames` holds `expected` (function paths, innermost
/// first) in that order, each at a line inside that function in `file`
/// (a path relative to the workspace, as the kernel prints it).
pub fn expect_in_order(frames: &[Frame], file: &str, expected: &[&str]) -> Result<(), String> {
    let source = std::fs::read_to_string(crate::workspace_root().join(file))
        .map_err(|e| format!("{file}: {e}"))?;
    let mut from = 0;
    for path in expected {
        let Some(at) = frames[from..].iter().position(|f| f.function == *path) else {
            return Err(format!(
                "{path} is missing from the call stack (or out of order): {frames:#?}"
            ));
        };
        let frame = &frames[from + at];
        from += at + 1;
        if frame.file != file {
            return Err(format!("{path} is placed in {}, not {file}", frame.file));
        }
        let name = path.rsplit("::").next().unwrap_or(path);
        let lines =
            function_lines(&source, name).ok_or_else(|| format!("no fn {name} in {file}"))?;
        if !lines.contains(&frame.line) {
            return Err(format!(
                "{path} is at line {}, outside its lines {lines:?} in {file}",
                frame.line
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "boot\ncall stack (innermost first):\n  #0  0xffffffff80068690 core::panicking::panic_fmt at /rustc/abc/library/core/src/panicking.rs:80\n  #1  0xffffffff80012345 a::inner at kernel/src/x.rs:3\n                          inlined into a::outer at kernel/src/x.rs:7\n  -- interrupt, vector 48 --\n  #2  0xffffffff80012000 (no symbol)\nregisters at the panic:\n  #9  0x1 fake at kernel/src/x.rs:1\n";

    #[test]
    fn reads_numbered_and_inlined_frames_and_stops_at_the_block_end() {
        let f = frames(SAMPLE);
        assert_eq!(f.len(), 3, "{f:#?}");
        assert_eq!(f[0].function, "core::panicking::panic_fmt");
        assert_eq!(f[0].line, 80);
        assert_eq!(
            (f[1].number, f[1].file.as_str(), f[1].line),
            (Some(1), "kernel/src/x.rs", 3)
        );
        assert_eq!(
            (f[2].number, f[2].function.as_str(), f[2].line),
            (None, "a::outer", 7)
        );
        assert_eq!(block(SAMPLE).len(), 5);
    }

    #[test]
    fn finds_a_functions_lines() {
        let text = "//! x\nfn inner() {\n    a();\n}\n\nfn outer() {\n    inner();\n}\n";
        assert_eq!(function_lines(text, "inner"), Some(2..=4));
        assert_eq!(function_lines(text, "outer"), Some(6..=8));
        assert_eq!(function_lines(text, "missing"), None);
    }
}

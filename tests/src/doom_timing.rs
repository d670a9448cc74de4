//! DOOM's `-timedemo` result line, read from a serial transcript.
//!
//! At the end of `-timedemo <demo>` the engine (doomgeneric's `g_game.c`,
//! `G_CheckDemoStatus`) prints `timed N gametics in M realtics (F fps)`
//! with `%i`, `%i` and `%f`, where a realtic is 1/35 s of the engine's clock
//! and `F = N * 35 / M`. Ferrite's `doom.exe` and the Linux peer
//! (`bench/linux/doom_fb.c`) print the same line.

/// Gametics in freedoom1.wad's DEMO1 (E1M4) when it plays in sync; any
/// other count means the demo desynced or ended early.
pub const FREEDOOM1_DEMO1_GAMETICS: u32 = 1531;

/// One `timed ... fps)` result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timedemo {
    /// Game tics the demo ran (N).
    pub gametics: u32,
    /// Realtics (1/35 s) it took (M).
    pub realtics: u32,
    /// Frames per second as the engine computed it (F).
    pub fps: f64,
}

impl Timedemo {
    /// The benchmark line for this result (benchmarks.md, id 19), without
    /// the system prefix: `BENCH name=doom_timedemo gametics=N realtics=M
    /// fps=F` (F with two decimals).
    pub fn bench_line(&self) -> String {
        format!(
            "BENCH name=doom_timedemo gametics={} realtics={} fps={:.2}",
            self.gametics, self.realtics, self.fps
        )
    }
}

/// The first well-formed `timed N gametics in M realtics (F fps)` in
/// `text`, anywhere on a line (a carriage return or other output before it
/// on the same line does not matter). `None` if there is none: a line with
/// a missing or non-numeric field, or an fps that is not finite, does not
/// count.
pub fn parse_timed_line(text: &str) -> Option<Timedemo> {
    text.lines().find_map(|line| {
        line.match_indices("timed ")
            .find_map(|(at, _)| parse_fields(&line[at + "timed ".len()..]))
    })
}

/// `N gametics in M realtics (F fps)` at the start of `rest`.
fn parse_fields(rest: &str) -> Option<Timedemo> {
    let (gametics, rest) = rest.split_once(" gametics in ")?;
    let (realtics, rest) = rest.split_once(" realtics (")?;
    let (fps, _) = rest.split_once(" fps)")?;
    // Digits only (and a point in F): no sign, exponent, `inf` or `nan`.
    let digits = |s: &str, point: bool| {
        s.bytes().any(|b| b.is_ascii_digit())
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (point && b == b'.'))
    };
    let number = |s: &str| digits(s, false).then(|| s.parse::<u32>().ok())?;
    let fps: f64 = digits(fps, true).then(|| fps.parse().ok())??;
    Some(Timedemo {
        gametics: number(gametics)?,
        realtics: number(realtics)?,
        fps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_in_a_transcript() {
        let text = "doom_fb: EFI VGA 1280x800, 32 bpp\r\n\
                    R_Init: Init DOOM refresh daemon - ...\r\n\
                    timed 1531 gametics in 391 realtics (137.046036 fps)\r\n\
                    \r\n\
                    peer: doom exited with status 255\r\n";
        let t = parse_timed_line(text).expect("the line is there");
        assert_eq!(t.gametics, 1531);
        assert_eq!(t.realtics, 391);
        assert!((t.fps - 137.046036).abs() < 1e-9);
        assert_eq!(
            t.bench_line(),
            "BENCH name=doom_timedemo gametics=1531 realtics=391 fps=137.05"
        );
    }

    #[test]
    fn finds_it_after_other_output_on_the_same_line() {
        let t =
            parse_timed_line("[   12.3] x\rdoom: timed 10 gametics in 35 realtics (10.000000 fps)")
                .expect("found");
        assert_eq!((t.gametics, t.realtics, t.fps), (10, 35, 10.0));
        let t =
            parse_timed_line("timed 1 gametics in 1 realtics (35 fps) and more").expect("found");
        assert_eq!(t.fps, 35.0);
    }

    #[test]
    fn takes_the_first_good_line_after_bad_ones() {
        let text = "timed x gametics in 1 realtics (1.0 fps)\n\
                    untimed: timed 7 gametics\n\
                    timed 70 gametics in 35 realtics (70.000000 fps)\n\
                    timed 1 gametics in 1 realtics (35.000000 fps)\n";
        let t = parse_timed_line(text).expect("found");
        assert_eq!((t.gametics, t.realtics), (70, 35));
    }

    #[test]
    fn malformed_lines_are_not_results() {
        for bad in [
            "",
            "timed",
            "timed 1531 gametics",
            "timed 1531 gametics in 391 realtics",
            "timed 1531 gametics in 391 realtics (137.0 fps",
            "timed 1531 gametics in 391 realtics (fps)",
            "timed 1531 gametics in  realtics (137.0 fps)",
            "timed gametics in 391 realtics (137.0 fps)",
            "timed -1 gametics in 391 realtics (137.0 fps)",
            "timed +1 gametics in 391 realtics (137.0 fps)",
            "timed 1531 gametics in 391 realtics (-137.0 fps)",
            "timed 1531 gametics in 0 realtics (inf fps)",
            "timed 1531 gametics in 0 realtics (nan fps)",
            "timed 1531 gametics in 391 realtics (1e3 fps)",
            "timed 99999999999 gametics in 391 realtics (137.0 fps)",
            "timed 1531 gametics in 391\nrealtics (137.0 fps)",
            "timed 1531 gametics in 391 realtics (137..0 fps)",
            "timed 1531 gametics in 391 realtics (. fps)",
        ] {
            assert_eq!(parse_timed_line(bad), None, "{bad:?}");
        }
    }
}

//! Reads the milestone kernel's serial report and judges it.

use crate::qemu::{Ending, Run, EXIT_FAILURE, EXIT_SUCCESS};

/// One `CHECK <milestone> <name> <ok|FAIL> <detail>` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLine {
    /// Milestone, e.g. `M0`.
    pub milestone: String,
    /// Check name.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// The explanation after the status.
    pub detail: String,
}

/// What the transcript says.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// Every check line, in order.
    pub checks: Vec<CheckLine>,
    /// The `milestones: N passed, N failed` summary, if printed.
    pub summary: Option<(usize, usize)>,
    /// Lines that mean the kernel stopped abnormally.
    pub fatal: Vec<String>,
}

/// Removes ANSI escape sequences and carriage returns (OVMF's console
/// output is mixed into the same serial stream).
pub fn clean(serial: &str) -> String {
    let mut out = String::with_capacity(serial.len());
    let mut chars = serial.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for n in chars.by_ref() {
                        if n.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Parses a transcript.
pub fn parse(serial: &str) -> Transcript {
    let mut t = Transcript::default();
    for line in clean(serial).lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("CHECK ") {
            let mut parts = rest.splitn(4, ' ');
            let (Some(milestone), Some(name), Some(status)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            t.checks.push(CheckLine {
                milestone: milestone.to_string(),
                name: name.to_string(),
                ok: status == "ok",
                detail: parts.next().unwrap_or("").to_string(),
            });
        } else if let Some(rest) = line.strip_prefix("milestones: ") {
            if let Some((p, f)) = rest.split_once(" passed, ") {
                if let (Ok(p), Ok(f)) = (p.trim().parse(), f.trim_end_matches(" failed").parse()) {
                    t.summary = Some((p, f));
                }
            }
        } else if line.contains("KERNEL PANIC") || line.starts_with("FATAL:") {
            t.fatal.push(line.to_string());
        }
    }
    t
}

/// Formats a failure: the problems, then the whole cleaned transcript.
pub fn failure(run: &Run, problems: &[String]) -> String {
    format!(
        "{}\n(run ended: {:?} after {:.1}s; logs: {} and {})\n----- serial transcript -----\n{}\n----- end of transcript -----",
        problems.join("\n"),
        run.ending,
        run.elapsed.as_secs_f64(),
        run.log_paths.0.display(),
        run.log_paths.1.display(),
        clean(&run.serial)
    )
}

fn ending_problem(run: &Run) -> Option<String> {
    match run.ending {
        Ending::Exited(EXIT_SUCCESS) | Ending::Exited(EXIT_FAILURE) => None,
        Ending::Exited(0) => Some(
            "QEMU exited with status 0: the machine reset (triple fault?) or powered off".into(),
        ),
        Ending::Exited(code) => Some(format!(
            "QEMU exited with status {code} (fatal kernel stop is 37)"
        )),
        Ending::Signalled => Some("QEMU was killed by a signal".into()),
        Ending::Stopped => None,
        Ending::TimedOut => Some("time-out: the kernel never finished".into()),
    }
}

/// Checks that the transcript has a line containing each `(needle, what
/// is wrong without it)` and that the run ended as `ending`.
pub fn expect_lines(run: &Run, needles: &[(&str, &str)], ending: Ending) -> Result<(), String> {
    let text = clean(&run.serial);
    let mut problems: Vec<String> = needles
        .iter()
        .filter(|(needle, _)| !text.contains(needle))
        .map(|(needle, what)| format!("{what} (no line with '{needle}')"))
        .collect();
    if run.ending != ending {
        problems.push(format!(
            "the run ended {:?}, expected {ending:?}",
            run.ending
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(failure(run, &problems))
    }
}

/// Checks one milestone of a suite run: every expected check present and
/// ok, no unknown check of that milestone, no panic, a summary, and a
/// normal exit.
pub fn judge_milestone(run: &Run, milestone: &str, expected: &[&str]) -> Result<(), String> {
    let t = parse(&run.serial);
    let mut problems = Vec::new();
    for name in expected {
        match t
            .checks
            .iter()
            .find(|c| c.milestone == milestone && c.name == *name)
        {
            None => problems.push(format!("missing check {milestone} {name}")),
            Some(c) if !c.ok => problems.push(format!("FAIL {milestone} {name}: {}", c.detail)),
            Some(_) => {}
        }
    }
    for c in t.checks.iter().filter(|c| c.milestone == milestone) {
        if !expected.contains(&c.name.as_str()) {
            problems.push(format!(
                "unexpected check {milestone} {} (add it to tests/src/expected.rs)",
                c.name
            ));
        }
    }
    problems.extend(t.fatal.iter().map(|l| format!("kernel stopped: {l}")));
    if t.summary.is_none() {
        problems.push("no `milestones: N passed, N failed` summary".into());
    }
    problems.extend(ending_problem(run));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(failure(run, &problems))
    }
}

/// One BENCH line's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchFigure {
    /// Benchmark name.
    pub name: String,
    /// Iterations.
    pub iters: u64,
    /// TSC ticks per operation.
    pub cycles_per_op: f64,
    /// Nanoseconds per operation.
    pub ns_per_op: f64,
}

/// The BENCH lines of a transcript, in order.
pub fn bench_figures(serial: &str) -> Vec<BenchFigure> {
    clean(serial)
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("BENCH ")?;
            let field = |key: &str| {
                rest.split_whitespace()
                    .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
            };
            Some(BenchFigure {
                name: field("name")?.to_string(),
                iters: field("iters")?.parse().ok()?,
                cycles_per_op: field("cycles_per_op")?.parse().ok()?,
                ns_per_op: field("ns_per_op")?.parse().ok()?,
            })
        })
        .collect()
}

/// The BOOT line's (tsc, ms), if printed.
pub fn boot_figure(serial: &str) -> Option<(u64, f64)> {
    clean(serial).lines().find_map(|line| {
        let rest = line.strip_prefix("BOOT name=boot_to_user ")?;
        let mut fields = rest.split_whitespace().filter_map(|f| f.split_once('='));
        let tsc = fields.next().filter(|(k, _)| *k == "tsc")?.1.parse().ok()?;
        let ms = fields.next().filter(|(k, _)| *k == "ms")?.1.parse().ok()?;
        Some((tsc, ms))
    })
}

/// Checks that every named benchmark printed a well-formed BENCH line
/// (`BENCH name=<n> iters=<n> cycles_per_op=<f> ns_per_op=<f>`, preceded by
/// its `INFO bench=<n> mark_id=<id>` line). The figures are not judged.
pub fn judge_benches(run: &Run, names: &[&str]) -> Result<(), String> {
    let text = clean(&run.serial);
    let mut problems = Vec::new();
    for name in names {
        let info = format!("INFO bench={name} mark_id=");
        if !text.lines().any(|l| l.starts_with(&info)) {
            problems.push(format!("no `{info}<id>` line"));
        }
        let prefix = format!("BENCH name={name} ");
        match text.lines().find(|l| l.starts_with(&prefix)) {
            None => problems.push(format!("no BENCH line for {name}")),
            Some(line) => {
                let fields: Vec<(&str, &str)> = line
                    .split_whitespace()
                    .skip(2)
                    .filter_map(|f| f.split_once('='))
                    .collect();
                let keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
                let numbers_ok = fields.iter().all(|(_, v)| v.parse::<f64>().is_ok());
                if keys != ["iters", "cycles_per_op", "ns_per_op"] || !numbers_ok {
                    problems.push(format!("malformed BENCH line: {line}"));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(failure(run, &problems))
    }
}

/// Checks that the whole suite passed: summary with 0 failed, success exit.
pub fn judge_suite(run: &Run) -> Result<(), String> {
    let t = parse(&run.serial);
    let mut problems = Vec::new();
    match t.summary {
        Some((_, 0)) => {}
        Some((p, f)) => problems.push(format!("summary says {p} passed, {f} failed")),
        None => problems.push("no summary line".into()),
    }
    if run.ending != Ending::Exited(EXIT_SUCCESS) {
        problems.push(format!(
            "QEMU ending {:?}, expected exit status {EXIT_SUCCESS}",
            run.ending
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(failure(run, &problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checks_summary_and_fatal_lines() {
        let serial = "\u{1b}[2J\u{1b}[01;01Hnoise\r\nCHECK M0 serial ok COM1 fine\r\n\
                      CHECK M0 int3 FAIL count 0 -> 0\nKERNEL PANIC: boom\nmilestones: 1 passed, 1 failed\n";
        let t = parse(serial);
        assert_eq!(t.checks.len(), 2);
        assert_eq!(t.checks[0].name, "serial");
        assert!(t.checks[0].ok);
        assert_eq!(t.checks[0].detail, "COM1 fine");
        assert!(!t.checks[1].ok);
        assert_eq!(t.summary, Some((1, 1)));
        assert_eq!(t.fatal, vec!["KERNEL PANIC: boom".to_string()]);
    }

    #[test]
    fn judge_reports_missing_failed_and_unexpected_checks() {
        let run = Run {
            serial: "CHECK M0 a ok x\nCHECK M0 b FAIL y\nCHECK M0 z ok\nmilestones: 2 passed, 1 failed\n".into(),
            ending: Ending::Exited(EXIT_FAILURE),
            elapsed: std::time::Duration::from_secs(1),
            log_paths: Default::default(),
        };
        let err = judge_milestone(&run, "M0", &["a", "b", "c"]).unwrap_err();
        assert!(err.contains("FAIL M0 b: y"), "{err}");
        assert!(err.contains("missing check M0 c"), "{err}");
        assert!(err.contains("unexpected check M0 z"), "{err}");
        assert!(!err.contains("missing check M0 a"), "{err}");
        assert!(judge_suite(&run).is_err());
    }

    #[test]
    fn judge_benches_wants_well_formed_lines() {
        let run = |serial: &str| Run {
            serial: serial.into(),
            ending: Ending::Exited(EXIT_SUCCESS),
            elapsed: std::time::Duration::from_secs(1),
            log_paths: Default::default(),
        };
        let good =
            "INFO bench=a mark_id=8\nBENCH name=a iters=10 cycles_per_op=1.50 ns_per_op=0.5\n";
        assert!(judge_benches(&run(good), &["a"]).is_ok());
        assert!(judge_benches(&run(good), &["a", "b"]).is_err());
        let bad = "INFO bench=a mark_id=8\nBENCH name=a iters=10 cycles=1.5\n";
        assert!(judge_benches(&run(bad), &["a"]).is_err());
    }

    #[test]
    fn bench_and_boot_figures_are_read() {
        let serial = "noise\nBOOT name=boot_to_user tsc=123 ms=4.5\n\
                      BENCH name=a iters=10 cycles_per_op=1.50 ns_per_op=0.5\nBENCH name=b\n";
        let figures = bench_figures(serial);
        assert_eq!(figures.len(), 1);
        assert_eq!(figures[0].name, "a");
        assert_eq!(figures[0].iters, 10);
        assert_eq!(figures[0].cycles_per_op, 1.5);
        assert_eq!(boot_figure(serial), Some((123, 4.5)));
        assert_eq!(boot_figure("BOOT name=boot_to_user ms=1 tsc=2"), None);
    }

    #[test]
    fn expect_lines_wants_every_line_and_the_ending() {
        let run = Run {
            serial: "a line\nanother\n".into(),
            ending: Ending::Stopped,
            elapsed: std::time::Duration::from_secs(1),
            log_paths: Default::default(),
        };
        assert!(expect_lines(&run, &[("a line", "x"), ("another", "y")], Ending::Stopped).is_ok());
        let err = expect_lines(&run, &[("missing", "no such line")], Ending::Stopped).unwrap_err();
        assert!(
            err.contains("no such line (no line with 'missing')"),
            "{err}"
        );
        assert!(expect_lines(&run, &[("a line", "x")], Ending::TimedOut).is_err());
    }

    #[test]
    fn judge_rejects_reset_and_timeout() {
        for ending in [Ending::Exited(0), Ending::TimedOut] {
            let run = Run {
                serial: "CHECK M0 a ok\nmilestones: 1 passed, 0 failed\n".into(),
                ending,
                elapsed: std::time::Duration::from_secs(1),
                log_paths: Default::default(),
            };
            assert!(judge_milestone(&run, "M0", &["a"]).is_err());
        }
    }
}

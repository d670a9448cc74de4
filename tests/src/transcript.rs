//! Reads the milestone kernel's serial report and judges it.
//!
//! Protocol lines (`CHECK`, `BENCH`, `BOOT`, `INFO bench=`, `milestones:`)
//! come only from the kernel, and only at the start of a line: the kernel
//! prints whatever a user program writes behind a `u<pid>| ` prefix, so no
//! program can start a line with one of them. The parsers here therefore
//! match at column 0 only (`strip_prefix` / `starts_with`), and a line that
//! merely contains `CHECK ` or `milestones: ` further in is ignored. A
//! protocol line printed twice is a problem in itself: the second copy could
//! only come from a bug or a forgery, and the judge would otherwise have to
//! guess which one to believe.

use crate::expected::ALLOWED_SKIPS;
use crate::qemu::{Ending, Run, EXIT_FAILURE, EXIT_SUCCESS};
use std::collections::HashSet;

/// The status word of a check line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `ok`: the check passed.
    Ok,
    /// `FAIL` (or any word the protocol does not define): it failed.
    Fail,
    /// `skip`: the check could not run here (e.g. the CPU lacks a feature);
    /// a problem unless `expected::ALLOWED_SKIPS` lists it.
    Skip,
}

/// One `CHECK <milestone> <name> <ok|FAIL|skip> <detail>` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLine {
    /// Milestone, e.g. `M0`.
    pub milestone: String,
    /// Check name.
    pub name: String,
    /// What the check reported.
    pub status: Status,
    /// The explanation after the status (for an unknown status word, the
    /// word is named at the front).
    pub detail: String,
}

/// What the transcript says.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// Every check line, in order.
    pub checks: Vec<CheckLine>,
    /// Every `milestones: N passed, N failed` summary, in order (the kernel
    /// prints exactly one).
    pub summaries: Vec<(usize, usize)>,
    /// The name of every `BOOT name=<name> ...` line, in order.
    pub boots: Vec<String>,
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
            let (Some(milestone), Some(name), Some(word)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let detail = parts.next().unwrap_or("");
            let (status, detail) = match word {
                "ok" => (Status::Ok, detail.to_string()),
                "FAIL" => (Status::Fail, detail.to_string()),
                "skip" => (Status::Skip, detail.to_string()),
                other => (Status::Fail, format!("unknown status '{other}': {detail}")),
            };
            t.checks.push(CheckLine {
                milestone: milestone.to_string(),
                name: name.to_string(),
                status,
                detail,
            });
        } else if let Some(rest) = line.strip_prefix("milestones: ") {
            if let Some((p, f)) = rest.split_once(" passed, ") {
                if let (Ok(p), Ok(f)) = (p.trim().parse(), f.trim_end_matches(" failed").parse()) {
                    t.summaries.push((p, f));
                }
            }
        } else if let Some(rest) = line.strip_prefix("BOOT ") {
            let name = rest
                .split_whitespace()
                .find_map(|f| f.strip_prefix("name="))
                .unwrap_or("");
            t.boots.push(name.to_string());
        } else if line.contains("KERNEL PANIC") || line.starts_with("FATAL:") {
            t.fatal.push(line.to_string());
        }
    }
    t
}

/// The items that occur more than once, each named once, in the order of
/// their second occurrence.
fn repeated<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for item in items {
        if !seen.insert(item) && !out.contains(&item) {
            out.push(item);
        }
    }
    out
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

fn verdict(run: &Run, problems: &[String]) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(failure(run, problems))
    }
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

/// The problem with the summary lines unless there is exactly one.
fn summary_problem(t: &Transcript) -> Option<String> {
    match t.summaries.len() {
        0 => Some("no `milestones: N passed, N failed` summary".into()),
        1 => None,
        n => Some(format!("{n} `milestones:` summary lines, expected one")),
    }
}

/// Checks that the transcript has a line containing each `(needle, what
/// is wrong without it)`, that no line reports a kernel panic or a fatal
/// stop (anywhere, also after the stop pattern), and that the run ended as
/// `ending`.
pub fn expect_lines(run: &Run, needles: &[(&str, &str)], ending: Ending) -> Result<(), String> {
    expect_lines_allowing_fatal(run, needles, &[], ending)
}

/// Like [`expect_lines`], for a scenario that is meant to stop the kernel:
/// a panic or fatal line that contains one of `expected_fatal` is the
/// expected outcome; any other such line is still a problem.
pub fn expect_lines_allowing_fatal(
    run: &Run,
    needles: &[(&str, &str)],
    expected_fatal: &[&str],
    ending: Ending,
) -> Result<(), String> {
    let text = clean(&run.serial);
    let mut problems: Vec<String> = needles
        .iter()
        .filter(|(needle, _)| !text.contains(needle))
        .map(|(needle, what)| format!("{what} (no line with '{needle}')"))
        .collect();
    problems.extend(
        parse(&run.serial)
            .fatal
            .iter()
            .filter(|line| !expected_fatal.iter().any(|e| line.contains(e)))
            .map(|line| format!("kernel stopped: {line}")),
    );
    if run.ending != ending {
        problems.push(format!(
            "the run ended {:?}, expected {ending:?}",
            run.ending
        ));
    }
    verdict(run, &problems)
}

/// Checks one milestone of a suite run: every expected check present
/// exactly once and ok (or skipped, if `expected::ALLOWED_SKIPS` allows
/// it), no unknown check of that milestone, no panic, exactly one summary,
/// and a normal exit.
pub fn judge_milestone(run: &Run, milestone: &str, expected: &[&str]) -> Result<(), String> {
    let t = parse(&run.serial);
    let mut problems = Vec::new();
    let mine: Vec<&CheckLine> = t
        .checks
        .iter()
        .filter(|c| c.milestone == milestone)
        .collect();
    for name in expected {
        match mine.iter().find(|c| c.name == *name) {
            None => problems.push(format!("missing check {milestone} {name}")),
            Some(c) => match c.status {
                Status::Ok => {}
                Status::Fail => problems.push(format!("FAIL {milestone} {name}: {}", c.detail)),
                Status::Skip if ALLOWED_SKIPS.contains(&(milestone, *name)) => {}
                Status::Skip => problems.push(format!(
                    "skipped {milestone} {name}: {} (not in expected::ALLOWED_SKIPS)",
                    c.detail
                )),
            },
        }
    }
    for name in repeated(mine.iter().map(|c| c.name.as_str())) {
        problems.push(format!("duplicate check {milestone} {name}"));
    }
    for c in &mine {
        if !expected.contains(&c.name.as_str()) {
            problems.push(format!(
                "unexpected check {milestone} {} (add it to tests/src/expected.rs)",
                c.name
            ));
        }
    }
    problems.extend(t.fatal.iter().map(|l| format!("kernel stopped: {l}")));
    problems.extend(summary_problem(&t));
    problems.extend(ending_problem(run));
    verdict(run, &problems)
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

/// The word that follows `prefix` on each line that starts with it.
fn words_after<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.lines()
        .filter_map(move |l| l.strip_prefix(prefix))
        .map(|rest| rest.split_whitespace().next().unwrap_or(""))
}

/// Checks that every named benchmark printed one well-formed BENCH line
/// (`BENCH name=<n> iters=<n> cycles_per_op=<f> ns_per_op=<f>`, preceded by
/// its `INFO bench=<n> mark_id=<id>` line), and that no benchmark name, named
/// or not, has two BENCH or two INFO lines. The figures are not judged.
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
    for name in repeated(words_after(&text, "BENCH name=")) {
        problems.push(format!("duplicate BENCH name={name}"));
    }
    for name in repeated(words_after(&text, "INFO bench=")) {
        problems.push(format!("duplicate INFO bench={name}"));
    }
    verdict(run, &problems)
}

/// Checks that the whole suite passed: exactly one summary, with 0 failed;
/// no check (of any milestone) and no BOOT figure reported twice; and the
/// success exit.
pub fn judge_suite(run: &Run) -> Result<(), String> {
    let t = parse(&run.serial);
    let mut problems = Vec::new();
    problems.extend(summary_problem(&t));
    if let [(p, f)] = t.summaries[..] {
        if f != 0 {
            problems.push(format!("summary says {p} passed, {f} failed"));
        }
    }
    let keys: Vec<String> = t
        .checks
        .iter()
        .map(|c| format!("{} {}", c.milestone, c.name))
        .collect();
    for key in repeated(keys.iter().map(String::as_str)) {
        problems.push(format!("duplicate check {key}"));
    }
    for name in repeated(t.boots.iter().map(String::as_str)) {
        problems.push(format!("duplicate BOOT name={name}"));
    }
    if run.ending != Ending::Exited(EXIT_SUCCESS) {
        problems.push(format!(
            "QEMU ending {:?}, expected exit status {EXIT_SUCCESS}",
            run.ending
        ));
    }
    verdict(run, &problems)
}

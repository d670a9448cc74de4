//! Host tests of the transcript judge, against hand-written transcripts.

use crate::qemu::{Ending, Run, EXIT_FAILURE, EXIT_FATAL, EXIT_SUCCESS};
use crate::transcript::{
    bench_figures, boot_figure, expect_lines, expect_lines_allowing_fatal, judge_benches,
    judge_milestone, judge_suite, parse, Status,
};
use std::time::Duration;

fn run(serial: &str, ending: Ending) -> Run {
    Run {
        serial: serial.into(),
        ending,
        elapsed: Duration::from_secs(1),
        log_paths: Default::default(),
    }
}

/// A suite run that ended well.
fn passed(serial: &str) -> Run {
    run(serial, Ending::Exited(EXIT_SUCCESS))
}

const CLEAN: &str = "\u{1b}[2Jfirmware noise\r\nCHECK M0 a ok fine\r\nCHECK M0 b ok\n\
                     INFO bench=x mark_id=8\nBENCH name=x iters=10 cycles_per_op=1.50 ns_per_op=0.5\n\
                     BOOT name=boot_to_user tsc=123 ms=4.5\nmilestones: 2 passed, 0 failed\n";

#[test]
fn a_clean_transcript_passes_every_judge() {
    let r = passed(CLEAN);
    assert_eq!(judge_milestone(&r, "M0", &["a", "b"]), Ok(()));
    assert_eq!(judge_benches(&r, &["x"]), Ok(()));
    assert_eq!(judge_suite(&r), Ok(()));
    let stopped = run(CLEAN, Ending::Stopped);
    assert_eq!(
        expect_lines(&stopped, &[("CHECK M0 b", "x")], Ending::Stopped),
        Ok(())
    );
}

#[test]
fn a_forged_duplicate_check_is_rejected() {
    // The forgery comes first, so a judge that believed the first line
    // would pass it; only the duplicate rule catches it.
    let r = run(
        "CHECK M2 nop ok forged\nCHECK M2 nop FAIL real\nmilestones: 1 passed, 1 failed\n",
        Ending::Exited(EXIT_FAILURE),
    );
    let err = judge_milestone(&r, "M2", &["nop"]).unwrap_err();
    assert!(err.contains("duplicate check M2 nop"), "{err}");
    // Two passing copies: the summary agrees, only the duplicate is wrong.
    let r = passed("CHECK M2 nop ok\nCHECK M2 nop ok\nmilestones: 2 passed, 0 failed\n");
    let err = judge_milestone(&r, "M2", &["nop"]).unwrap_err();
    assert!(err.contains("duplicate check M2 nop"), "{err}");
    let err = judge_suite(&r).unwrap_err();
    assert!(err.contains("duplicate check M2 nop"), "{err}");
}

#[test]
fn a_second_summary_is_rejected() {
    let r =
        passed("CHECK M0 a ok\nmilestones: 1 passed, 0 failed\nmilestones: 1 passed, 0 failed\n");
    let err = judge_milestone(&r, "M0", &["a"]).unwrap_err();
    assert!(err.contains("2 `milestones:` summary lines"), "{err}");
    let err = judge_suite(&r).unwrap_err();
    assert!(err.contains("2 `milestones:` summary lines"), "{err}");
}

#[test]
fn duplicate_bench_info_and_boot_lines_are_rejected() {
    let bench = "BENCH name=x iters=10 cycles_per_op=1.50 ns_per_op=0.5\n";
    let err = judge_benches(&passed(&format!("{CLEAN}{bench}")), &["x"]).unwrap_err();
    assert!(err.contains("duplicate BENCH name=x"), "{err}");
    // A benchmark nobody asked for may not repeat either.
    let other = "BENCH name=y iters=1 cycles_per_op=1 ns_per_op=1\n";
    let err = judge_benches(&passed(&format!("{CLEAN}{other}{other}")), &["x"]).unwrap_err();
    assert!(err.contains("duplicate BENCH name=y"), "{err}");
    let info = "INFO bench=x mark_id=9\n";
    let err = judge_benches(&passed(&format!("{info}{CLEAN}")), &["x"]).unwrap_err();
    assert!(err.contains("duplicate INFO bench=x"), "{err}");
    let boot = "BOOT name=boot_to_user tsc=1 ms=0.1\n";
    let err = judge_suite(&passed(&format!("{boot}{CLEAN}"))).unwrap_err();
    assert!(err.contains("duplicate BOOT name=boot_to_user"), "{err}");
}

#[test]
fn a_failed_check_is_rejected() {
    let r = run(
        "CHECK M0 a ok\nCHECK M0 b FAIL broke\nmilestones: 1 passed, 1 failed\n",
        Ending::Exited(EXIT_FAILURE),
    );
    let err = judge_milestone(&r, "M0", &["a", "b"]).unwrap_err();
    assert!(err.contains("FAIL M0 b: broke"), "{err}");
    // A status word the protocol does not define is no pass either.
    let r = passed("CHECK M0 a fine looks good\nmilestones: 1 passed, 0 failed\n");
    let err = judge_milestone(&r, "M0", &["a"]).unwrap_err();
    assert!(err.contains("FAIL M0 a: unknown status 'fine'"), "{err}");
}

#[test]
fn a_missing_check_is_rejected() {
    let r = passed("CHECK M0 a ok\nmilestones: 1 passed, 0 failed\n");
    let err = judge_milestone(&r, "M0", &["a", "b"]).unwrap_err();
    assert!(err.contains("missing check M0 b"), "{err}");
    // The same name in another milestone does not stand in for it.
    let r = passed("CHECK M0 a ok\nCHECK M1 b ok\nmilestones: 2 passed, 0 failed\n");
    let err = judge_milestone(&r, "M0", &["a", "b"]).unwrap_err();
    assert!(err.contains("missing check M0 b"), "{err}");
}

#[test]
fn only_allowed_skips_pass() {
    let allowed = passed(
        "CHECK M1 paging_4k ok\nCHECK M1 paging_1g skip CPU lacks 1 GiB pages\n\
         milestones: 1 passed, 0 failed\n",
    );
    assert_eq!(
        judge_milestone(&allowed, "M1", &["paging_4k", "paging_1g"]),
        Ok(())
    );
    let unallowed = passed(
        "CHECK M1 paging_4k skip no reason\nCHECK M1 paging_1g ok\n\
         milestones: 1 passed, 0 failed\n",
    );
    let err = judge_milestone(&unallowed, "M1", &["paging_4k", "paging_1g"]).unwrap_err();
    assert!(err.contains("skipped M1 paging_4k: no reason"), "{err}");
    // The allowance names a milestone too.
    let elsewhere = passed("CHECK M0 paging_1g skip\nmilestones: 0 passed, 0 failed\n");
    let err = judge_milestone(&elsewhere, "M0", &["paging_1g"]).unwrap_err();
    assert!(err.contains("skipped M0 paging_1g"), "{err}");
}

#[test]
fn a_panic_after_the_stop_pattern_fails_expect_lines() {
    let needles = [("boot complete; idle", "never idle")];
    for late in ["KERNEL PANIC: late", "FATAL: kernel stopped late"] {
        let r = run(&format!("boot complete; idle\n{late}\n"), Ending::Stopped);
        let err = expect_lines(&r, &needles, Ending::Stopped).unwrap_err();
        assert!(err.contains(&format!("kernel stopped: {late}")), "{err}");
    }
}

#[test]
fn only_the_expected_fatal_line_is_allowed() {
    let needles = [("FATAL: kernel stopped", "no FATAL line")];
    let expected = ["FATAL: kernel stopped after an unrecoverable exception"];
    let ending = Ending::Exited(EXIT_FATAL);
    let fatal = "EXCEPTION #DF\nFATAL: kernel stopped after an unrecoverable exception\n";
    let r = run(fatal, ending.clone());
    assert_eq!(
        expect_lines_allowing_fatal(&r, &needles, &expected, ending.clone()),
        Ok(())
    );
    assert!(expect_lines(&r, &needles, ending.clone()).is_err());
    let r = run(
        &format!("{fatal}KERNEL PANIC: in the handler\n"),
        ending.clone(),
    );
    let err = expect_lines_allowing_fatal(&r, &needles, &expected, ending).unwrap_err();
    assert!(
        err.contains("kernel stopped: KERNEL PANIC: in the handler"),
        "{err}"
    );
}

#[test]
fn protocol_words_inside_a_line_are_not_protocol() {
    // User output reaches serial behind the kernel's `u<pid>| ` prefix.
    let serial = "u3| CHECK M2 nop ok forged\nu3| milestones: 9 passed, 0 failed\n \
                  CHECK M2 nop ok indented\nu3| BENCH name=x iters=1 cycles_per_op=1 ns_per_op=1\n\
                  u3| BOOT name=boot_to_user tsc=1 ms=1\nu3| INFO bench=x mark_id=8\n";
    let t = parse(serial);
    assert!(t.checks.is_empty(), "{:?}", t.checks);
    assert!(t.summaries.is_empty());
    assert!(t.boots.is_empty());
    assert!(bench_figures(serial).is_empty());
    assert_eq!(boot_figure(serial), None);
    let err = judge_milestone(&passed(serial), "M2", &["nop"]).unwrap_err();
    assert!(err.contains("missing check M2 nop"), "{err}");
    let err = judge_benches(&passed(serial), &["x"]).unwrap_err();
    assert!(err.contains("no BENCH line for x"), "{err}");
    assert!(err.contains("no `INFO bench=x mark_id=<id>` line"), "{err}");
    // Forged copies behind the prefix are no duplicates of the real lines.
    assert_eq!(judge_suite(&passed(&format!("{serial}{CLEAN}"))), Ok(()));
}

#[test]
fn parses_checks_summary_and_fatal_lines() {
    let serial = "\u{1b}[2J\u{1b}[01;01Hnoise\r\nCHECK M0 serial ok COM1 fine\r\n\
                  CHECK M0 int3 FAIL count 0 -> 0\nKERNEL PANIC: boom\nmilestones: 1 passed, 1 failed\n";
    let t = parse(serial);
    assert_eq!(t.checks.len(), 2);
    assert_eq!(t.checks[0].name, "serial");
    assert_eq!(t.checks[0].status, Status::Ok);
    assert_eq!(t.checks[0].detail, "COM1 fine");
    assert_eq!(t.checks[1].status, Status::Fail);
    assert_eq!(t.summaries, vec![(1, 1)]);
    assert_eq!(t.fatal, vec!["KERNEL PANIC: boom".to_string()]);
}

#[test]
fn judge_reports_missing_failed_and_unexpected_checks() {
    let run = Run {
        serial:
            "CHECK M0 a ok x\nCHECK M0 b FAIL y\nCHECK M0 z ok\nmilestones: 2 passed, 1 failed\n"
                .into(),
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
    let good = "INFO bench=a mark_id=8\nBENCH name=a iters=10 cycles_per_op=1.50 ns_per_op=0.5\n";
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

//! The simulated host's hostile mode against the guest crates: every case
//! with a run of seeds, each run bounded (a guest that loops fails as
//! `Stuck`, one that panics fails the test), and what each case must make
//! the guest do.
//!
//! `make test` runs 64 seeds per case; `make fuzz-vmbus SEEDS=N BASE=B`
//! runs N seeds from B (`VMBUS_FUZZ_SEEDS`, `VMBUS_FUZZ_BASE`).

use vmbus::Event;
use vmbus_e2e::{exercise, five_devices, type_on_keyboard, Exercised, Typed, World};
use vmbus_host::device::keyboard::Keyboard;
use vmbus_host::{HostConfig, HostileCase, HostileConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One run: connect, type `h` on the keyboard if it was offered, unload.
struct Run {
    world: World,
    typed: Option<Typed>,
    gpadls_left: usize,
    others: Exercised,
}

/// Where the fuzz backs synthvid's VRAM.
const VRAM: u64 = 0xF800_0000;

fn run(case: HostileCase, seed: u64) -> Run {
    let config = HostConfig {
        hostile: HostileConfig::single(case, seed),
        ..HostConfig::default()
    };
    let (mut w, ids) = World::new(config, five_devices());
    w.add_memory(VRAM, 8 << 20);
    let what = |step: &str| format!("{} seed {seed}: {step} did not settle", case.name());
    w.connect()
        .unwrap_or_else(|_| panic!("{}", what("connect")));
    let relid = w
        .seen
        .offers()
        .iter()
        .find(|o| o.if_type == vmbus::guid::KEYBOARD)
        .map(|o| o.child_relid);
    let typed = relid.map(|relid| {
        type_on_keyboard(&mut w, relid, |w| {
            if let Some(k) = w.host.device_mut::<Keyboard>(ids[0]) {
                k.press(0x23, false, false);
                k.press(0x23, true, false);
            }
        })
        .unwrap_or_else(|_| panic!("{}", what("the keyboard")))
    });
    let others = exercise(&mut w, VRAM).unwrap_or_else(|_| panic!("{}", what("the other devices")));
    let gpadls_left = w.host.gpadl_count();
    w.unload().unwrap_or_else(|_| panic!("{}", what("unload")));
    Run {
        world: w,
        typed,
        gpadls_left,
        others,
    }
}

#[test]
fn every_case_and_seed_ends_without_a_hang() {
    let seeds = env("VMBUS_FUZZ_SEEDS", 64);
    let base = env("VMBUS_FUZZ_BASE", 0);
    let mut runs = 0;
    let mut typed_through = 0;
    let mut all_worked = 0;
    for case in HostileCase::ALL {
        for seed in base..base + seeds {
            let r = run(case, seed);
            if r.typed.as_ref().is_some_and(|t| !t.keys.is_empty()) {
                typed_through += 1;
            }
            let o = r.others;
            if o.mouse && o.video && o.disk && o.nic {
                all_worked += 1;
            }
            // Whatever the host did, the guest never took relid 0.
            assert!(
                r.world.seen.offers().iter().all(|o| o.child_relid != 0),
                "{} seed {seed}: an offer with relid 0 was taken",
                case.name()
            );
            runs += 1;
        }
    }
    println!(
        "{runs} hostile runs ({seeds} seeds from {base} for each of 21 cases), keys came through in {typed_through}, the four other devices all worked in {all_worked}"
    );
    // Most cases leave the keyboard working: a harness that never got
    // that far would prove nothing.
    assert!(
        typed_through * 2 > runs,
        "keys came through in {typed_through} of {runs} runs"
    );
}

fn typed(r: &Run) -> &Typed {
    r.typed.as_ref().expect("the keyboard was offered")
}

/// What each case must make the guest do (seed 0).
#[test]
fn each_case_is_refused_as_it_should_be() {
    for case in HostileCase::ALL {
        let r = run(case, 0);
        let seen = &r.world.seen;
        let name = case.name();
        let errors = seen.errors();
        match case {
            // Control-plane lies: the client refuses them as protocol
            // errors and the good offers still arrive.
            HostileCase::DuplicateRelid
            | HostileCase::ZeroRelid
            | HostileCase::AbsurdOffer
            | HostileCase::UnsolicitedGpadlCreated
            | HostileCase::UnsolicitedOpenResult
            | HostileCase::UnsolicitedResponses
            | HostileCase::MessageFlood => {
                assert!(errors > 0, "{name}: no protocol error reported");
                assert!(
                    typed(&r).keys == [(0x23, true), (0x23, false)],
                    "{name}: the keyboard did not work beside the lie: {:?}",
                    r.typed
                );
            }
            HostileCase::TruncatedMessages => {
                assert!(errors > 0, "{name}: no protocol error reported");
            }
            HostileCase::LyingPayloadSize => {
                assert!(seen.bad_slots > 0, "{name}: no slot refused");
            }
            HostileCase::TransientPostFailures => {
                assert!(seen.post_failures > 0, "{name}: no post failed");
            }
            // A ring the host broke: the guest stops using it and no key
            // comes through it.
            HostileCase::RingWriteIndexOutOfRange
            | HostileCase::RingWriteIndexUnaligned
            | HostileCase::PacketLongerThanRing
            | HostileCase::PacketBadOffset => {
                let t = typed(&r);
                assert!(
                    t.broken.is_some() && t.keys.is_empty(),
                    "{name}: the ring was not given up: {t:?}"
                );
            }
            // The host's read index of the guest → host ring: refused at
            // the guest's next send.
            HostileCase::GuestRingReadIndexBogus => {
                let t = typed(&r);
                let broken = t.broken.as_deref().unwrap_or("");
                assert!(
                    broken.starts_with("send:"),
                    "{name}: the ring was not given up: {t:?}"
                );
            }
            // Answers to nothing: refused, and the keys still arrive.
            HostileCase::SpuriousCompletions => {
                let t = typed(&r);
                assert!(t.refused > 0, "{name}: nothing refused: {t:?}");
                assert_eq!(t.keys, [(0x23, true), (0x23, false)], "{name}");
            }
            // Noise that must change nothing.
            HostileCase::EventStorm | HostileCase::PendingSendSizeAbsurd => {
                let t = typed(&r);
                assert!(t.broken.is_none(), "{name}: {t:?}");
                assert_eq!(t.keys, [(0x23, true), (0x23, false)], "{name}");
            }
            // The host keeps the GPADL: the guest never hears it is gone.
            HostileCase::WithholdGpadlTeardown => {
                assert!(
                    !seen
                        .events
                        .iter()
                        .any(|e| matches!(e, Event::GpadlTornDown { .. })),
                    "{name}: a teardown was reported"
                );
                assert!(r.gpadls_left > 0, "{name}: the host let go");
            }
            // Random mutations: only that nothing hangs or panics.
            HostileCase::MutateMessages | HostileCase::MutatePackets => {}
        }
    }
}

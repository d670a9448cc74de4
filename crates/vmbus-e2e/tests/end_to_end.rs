//! The guest crates against the simulated host: connection, offers,
//! version fallback, a keyboard channel from GPADL to teardown, unload.

use vmbus::{Event, Version};
use vmbus_e2e::{five_devices, type_on_keyboard, World};
use vmbus_host::device::keyboard::Keyboard;
use vmbus_host::{DeviceId, HostConfig};

fn version(w: &World) -> Option<Version> {
    w.seen.events.iter().find_map(|e| match e {
        Event::Connected { version, .. } => Some(*version),
        _ => None,
    })
}

fn keyboard_relid(w: &World) -> Option<u32> {
    w.seen
        .offers()
        .iter()
        .find(|o| o.if_type == vmbus::guid::KEYBOARD)
        .map(|o| o.child_relid)
}

#[test]
fn connects_at_6_0_and_takes_the_five_offers() {
    let (mut w, _) = World::new(HostConfig::default(), five_devices());
    w.connect().unwrap();
    assert_eq!(version(&w), Some(Version::V6_0));
    assert!(w.saw(|e| matches!(e, Event::AllOffersDelivered)));
    let mut relids: Vec<u32> = w.seen.offers().iter().map(|o| o.child_relid).collect();
    relids.sort_unstable();
    relids.dedup();
    assert_eq!(relids.len(), 5);
    assert!(!relids.contains(&0));
    assert_eq!(w.seen.errors(), 0, "{:?}", w.seen.events);
    w.unload().unwrap();
    assert!(w.saw(|e| matches!(e, Event::Unloaded)));
}

#[test]
fn falls_back_to_5_3_when_the_host_refuses_6_0() {
    let (mut w, _) = World::new(HostConfig::refusing_v6(), five_devices());
    w.connect().unwrap();
    assert_eq!(version(&w), Some(Version::V5_3));
    assert_eq!(w.seen.offers().len(), 5);
}

#[test]
fn keys_typed_on_the_host_reach_the_guest_keyboard() {
    let (mut w, ids) = World::new(HostConfig::default(), five_devices());
    w.connect().unwrap();
    let relid = keyboard_relid(&w).unwrap();
    let typed = type_on_keyboard(&mut w, relid, |w| {
        let k = w.host.device_mut::<Keyboard>(ids[0]).unwrap();
        assert!(k.press(0x23, false, false) && k.press(0x23, true, false));
    })
    .unwrap();
    assert!(typed.opened && typed.ready, "{typed:?}");
    assert_eq!(typed.keys, [(0x23, true), (0x23, false)]);
    assert_eq!(typed.refused, 0);
    // Closed and torn down: the host holds no GPADL any more.
    assert!(w.saw(|e| matches!(e, Event::GpadlTornDown { .. })));
    assert_eq!(w.host.gpadl_count(), 0);
    w.unload().unwrap();
    assert!(w.saw(|e| matches!(e, Event::Unloaded)));
    assert_eq!(w.seen.errors(), 0, "{:?}", w.seen.events);
}

#[test]
fn a_rescinded_keyboard_is_reported() {
    let (mut w, ids) = World::new(HostConfig::default(), five_devices());
    w.connect().unwrap();
    let relid = keyboard_relid(&w).unwrap();
    assert!(w.host.rescind(ids[0]));
    w.settle().unwrap();
    assert!(w.saw(|e| matches!(e, Event::Rescinded { relid: r } if *r == relid)));
    let _: DeviceId = ids[0];
}

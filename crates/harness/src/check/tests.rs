//! Tests of the checkers' shared context and the check runner; helpers other checkers' tests use.

use super::*;
use crate::event::FaultDesc;
use crate::event::ProxyEvent;
use crate::keepalive::KeepaliveConfig;
use crate::scenario::duration::DurRange;
use crate::view::RunView;

/// A context with 20 s + 20 s keepalive, 1-10 ms latency, a 100 s run.
pub(crate) fn ctx() -> CheckContext {
    let keepalive = KeepaliveConfig {
        interval: Some(Duration::from_secs(20)),
        timeout: Some(Duration::from_secs(20)),
    };
    CheckContext {
        model: FaultModel {
            keepalive,
            server_heartbeat: keepalive,
            server_silence: Some(Duration::from_secs(40)),
            connect_timeout: Duration::from_secs(5),
            latency: DurRange {
                min: Duration::from_millis(1),
                max: Duration::from_millis(10),
            },
        },
        reconnect_within: Duration::from_secs(30),
        grace: Duration::from_secs(30),
        history_limit: 1000,
        dedup_ttl: Duration::from_secs(300),
        grace_outcome: None,
        backoff: BackoffConfig::default(),
        max_connects_per_second: None,
        max_idle_kills: None,
        end: Duration::from_secs(100),
        rooms: BTreeMap::new(),
    }
}

pub(crate) fn ev(t_ms: u64, host: &str, kind: EventKind) -> Event {
    Event {
        t: Duration::from_millis(t_ms),
        host: host.into(),
        kind,
    }
}

fn partition(ms: u64) -> FaultDesc {
    FaultDesc::Partition {
        a: "clients-1".into(),
        b: "proxy".into(),
        duration_ms: ms,
    }
}

#[test]
fn a_partition_outlasting_the_silence_watchdog_less_a_ping_interval_can_end_a_link() {
    // The defaults: a 40 s watchdog less a 20 s ping interval is the 20 s pong timeout.
    let defaults = ctx();
    assert_eq!(defaults.patience(), Some(Duration::from_secs(20)));
    // Explore's clocks seed 4362: 22 s / 25 s pings, a 40 s watchdog: 18 s is enough.
    let mut c = ctx();
    c.keepalive = KeepaliveConfig {
        interval: Some(Duration::from_secs(22)),
        timeout: Some(Duration::from_secs(25)),
    };
    c.server_heartbeat = KeepaliveConfig {
        interval: Some(Duration::from_secs(25)),
        timeout: Some(Duration::from_secs(25)),
    };
    assert_eq!(c.patience(), Some(Duration::from_secs(18)));
    assert!(c.disrupts_link(&partition(23_000)));
    assert!(!c.disrupts_link(&partition(17_000)));
    // Without the watchdog the ping timeouts alone decide.
    c.server_silence = None;
    assert_eq!(c.patience(), Some(Duration::from_secs(25)));
    assert!(!c.disrupts_link(&partition(23_000)));
    // Without any ping a healthy link may be quiet for ever: any partition can be the
    // last straw.
    c.server_silence = Some(Duration::from_secs(40));
    c.keepalive.interval = None;
    c.server_heartbeat.interval = None;
    assert_eq!(c.patience(), Some(Duration::ZERO));
    assert!(c.disrupts_link(&partition(1)));
}

#[test]
fn violations_are_merged_into_the_timeline_in_time_order() {
    struct Fails;
    impl Checker for Fails {
        fn name(&self) -> &'static str {
            "fails"
        }
        fn observe(&mut self, _: &Event, _view: &RunView) {}
        fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
            vec![Violation {
                t: Duration::from_millis(15),
                detail: "x".into(),
            }]
        }
        fn summary(&self) -> String {
            String::new()
        }
    }
    let events = vec![
        ev(
            10,
            "a",
            EventKind::Proxy(ProxyEvent::ProxyConnOpened { conn: 1 }),
        ),
        ev(
            20,
            "a",
            EventKind::Proxy(ProxyEvent::ProxyConnOpened { conn: 2 }),
        ),
    ];
    let (outcomes, timeline) = run_checks(vec![Box::new(Fails)], &ctx(), events);
    assert!(!outcomes[0].passed);
    let names: Vec<&str> = timeline.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        names,
        ["proxy_conn_opened", "violation", "proxy_conn_opened"]
    );
}

/// Feeds `events` to `checker` through a run view, as the judge does, and ends it.
pub(crate) fn feed_and_finish(
    checker: &mut (dyn Checker + 'static),
    ctx: &CheckContext,
    events: &[Event],
) -> Vec<Violation> {
    let mut view = RunView::new(ctx);
    for e in events {
        view.feed(e, |v| checker.observe(e, v));
    }
    checker.finish(&view)
}

/// Like [`feed_and_finish`], asking the checker to forget (as the judge does) at the first
/// event of every minute.
pub(crate) fn feed_forgetting_and_finish(
    checker: &mut (dyn Checker + 'static),
    ctx: &CheckContext,
    events: &[Event],
) -> Vec<Violation> {
    let mut view = RunView::new(ctx);
    let mut next = Duration::from_secs(60);
    for e in events {
        view.feed(e, |v| checker.observe(e, v));
        if e.t >= next {
            next = e.t + Duration::from_secs(60);
            checker.forget(e.t, &view);
            view.forget(e.t, ctx.retention());
        }
    }
    checker.finish(&view)
}

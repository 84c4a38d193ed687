//! The `#[test]` API (`wsim::Suite`) as a user calls it, through the public API alone: a
//! server that passes, a server that fails named by seed with a replay line and a report.

use std::time::Duration;

use wsim::naive::NaiveServer;
use wsim::sim::WsimServer;
use wsim::Suite;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_server_that_keeps_its_promises_passes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let outcome = Suite::new()
        .scenarios(root.join("scenarios/01-blip-5s.toml"))
        .scenarios(root.join("scenarios/06-partition-inside-grace.toml"))
        .seeds(1..=2)
        .server(|| WsimServer {
            config: wsim_server::ServerConfig::default(),
        })
        .report_dir(scratch("suite-pass"))
        .run()
        .expect("the suite runs");
    assert_eq!(outcome.records.len(), 4);
    assert!(outcome.passed(), "{:?}", outcome.failure_report());
    assert_eq!(outcome.failure_report(), None);
}

#[test]
fn a_broken_server_is_named_by_seed_with_its_replay_line_and_report() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = Suite::new()
        .scenarios(root.join("scenarios/15-flap-within-grace.toml"))
        .seeds(1..=3)
        .server(|| NaiveServer {
            grace: Duration::from_secs(30),
            dedup_ttl: Duration::from_secs(300),
        })
        .report_dir(scratch("suite-fail"));
    let outcome = suite.run().expect("the suite runs");
    let report = outcome.failure_report().expect("the naive server fails");
    println!("{report}");
    assert!(
        report.contains("15-flap-within-grace.toml seed 2"),
        "{report}"
    );
    assert!(
        report.contains("grace: phone-1 left 931 ms after its last user_away"),
        "{report}"
    );
    assert!(
        report.contains(
            "replay: WSIM_SEED=2 cargo test --test wsim -- --exact \
             suite::a_broken_server_is_named_by_seed_with_its_replay_line_and_report"
        ),
        "{report}"
    );
    assert!(report.contains("timeline.html"), "{report}");
    // The replayed seed fails the same way.
    let again = suite.clone().seeds([2]).run().expect("the suite runs");
    assert_eq!(again.records.len(), 1);
    assert_eq!(
        again.records[0].verdict.checks,
        outcome.records[1].verdict.checks
    );
    // And `assert_pass` panics with that report.
    let replay = suite.clone().seeds([2]);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| replay.assert_pass()))
        .expect_err("assert_pass panics");
    let message = panicked
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("replay: WSIM_SEED=2 cargo test"),
        "{message}"
    );
}

#[test]
fn a_suite_without_scenarios_or_with_a_broken_file_says_so() {
    let err = Suite::new().run().unwrap_err();
    assert!(err.contains("no scenarios"), "{err}");
    let dir = scratch("suite-bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.toml"), "name = 3\n").unwrap();
    let err = Suite::new().scenarios(&dir).run().unwrap_err();
    assert!(err.contains("bad.toml"), "{err}");
}

/// A server with a hazard users bring: state that outlives a run (a process-wide counter, as a
/// `static` or a `HashMap`'s random order would) shows up in its events.
struct LeakyServer;

static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl wsim::sim::ServerUnderTest for LeakyServer {
    fn run(&self, host: wsim::sim::ServerHost) -> wsim::sim::LocalBoxFuture<wsim::sim::HostResult> {
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let inner = WsimServer {
            config: wsim_server::ServerConfig::default(),
        };
        host.events
            .emit(wsim_server::ServerEvent::HandshakeRefused {
                status: 500,
                reason: format!("start number {n}"),
            });
        wsim::sim::ServerUnderTest::run(&inner, host)
    }
}

#[test]
fn the_determinism_check_points_at_the_first_event_that_differs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let blip = root.join("scenarios/01-blip-5s.toml");
    let honest = Suite::new().scenarios(&blip).server(|| WsimServer {
        config: wsim_server::ServerConfig::default(),
    });
    assert_eq!(honest.first_nondeterminism(3), Ok(None));
    honest.assert_deterministic(3);
    let leaky = Suite::new().scenarios(&blip).server(|| LeakyServer);
    let difference = leaky
        .first_nondeterminism(3)
        .expect("the suite runs")
        .expect("the runs differ");
    assert!(
        difference.contains("01-blip-5s.toml seed 3 is not deterministic"),
        "{difference}"
    );
    assert!(difference.contains("event 1 differs"), "{difference}");
    assert!(difference.contains("start number"), "{difference}");
}

/// wsim's server with its events thrown away: a black box, as a user's server that reports
/// nothing is.
struct SilentServer;

impl wsim::sim::ServerUnderTest for SilentServer {
    fn run(
        &self,
        mut host: wsim::sim::ServerHost,
    ) -> wsim::sim::LocalBoxFuture<wsim::sim::HostResult> {
        host.events = wsim_proto::EventSink::discard();
        let inner = WsimServer {
            config: wsim_server::ServerConfig::default(),
        };
        wsim::sim::ServerUnderTest::run(&inner, host)
    }
}

#[test]
fn a_server_that_reports_no_events_is_judged_from_its_clients_eyes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let outcome = Suite::new()
        .scenarios(root.join("scenarios/06-partition-inside-grace.toml"))
        .seeds([1])
        .server(|| SilentServer)
        .report_dir(scratch("suite-silent"))
        .run()
        .expect("the suite runs");
    let verdict = &outcome.records[0].verdict;
    let check = |name: &str| {
        verdict
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} ran"))
            .clone()
    };
    // Presence and delivery are judged from what the clients were told, and say so: never
    // a silent pass, never a skip.
    for name in ["grace", "delivery"] {
        let c = check(name);
        assert!(!c.skipped && c.passed, "{c:?}");
        assert!(c.detail.contains("judged from what clients saw"), "{c:?}");
    }
    let detection = check("detection");
    assert!(!detection.skipped && detection.passed, "{detection:?}");
    assert!(verdict.passed, "{verdict:?}");
    assert!(
        !verdict.checks_text().contains("skip "),
        "{}",
        verdict.checks_text()
    );
    // wsim's own server reports its events: nothing is skipped.
    let own = Suite::new()
        .scenarios(root.join("scenarios/06-partition-inside-grace.toml"))
        .seeds([1])
        .report_dir(scratch("suite-own"))
        .run()
        .expect("the suite runs");
    assert!(own.records[0].verdict.checks.iter().all(|c| !c.skipped));
}

/// wsim's server plus one timer set behind the simulation's back (plain `tokio::time`).
struct ServerWithAHiddenTimer {
    claims_to_announce: bool,
}

impl wsim::sim::ServerUnderTest for ServerWithAHiddenTimer {
    fn run(&self, host: wsim::sim::ServerHost) -> wsim::sim::LocalBoxFuture<wsim::sim::HostResult> {
        let inner = WsimServer {
            config: host.config.clone(),
        };
        Box::pin(async move {
            tokio::task::spawn_local(tokio::time::sleep(Duration::from_millis(2500)));
            inner.run(host).await
        })
    }

    fn announces_timers(&self) -> bool {
        self.claims_to_announce
    }
}

/// Idle time is skipped only for systems that announce every timer; one that claims to but
/// does not fails its run, naming the host and when it woke, instead of running differently.
#[test]
fn a_timer_hidden_from_the_idle_skip_fails_the_run_and_an_honest_system_steps_every_tick() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = |claims_to_announce| {
        Suite::new()
            .scenarios(root.join("scenarios/11-idle-proxy-keepalive.toml"))
            .seeds([1])
            .server(move || ServerWithAHiddenTimer { claims_to_announce })
            .report_dir(scratch("suite-hidden-timer"))
    };
    let caught = suite(true).run().expect("the suite runs");
    let report = caught.failure_report().expect("the hidden timer is caught");
    assert!(
        report.contains("host server woke at 2.5") && report.contains("inside an idle skip"),
        "{report}"
    );
    let honest = suite(false).run().expect("the suite runs");
    assert!(honest.passed(), "{:?}", honest.failure_report());
}

/// A server whose software panics 2 s into the run, in a task of its own.
struct PanickingServer;

impl wsim::sim::ServerUnderTest for PanickingServer {
    fn run(&self, host: wsim::sim::ServerHost) -> wsim::sim::LocalBoxFuture<wsim::sim::HostResult> {
        let inner = WsimServer {
            config: wsim_server::ServerConfig::default(),
        };
        tokio::task::spawn_local(async {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            panic!("the server's own bug");
        });
        wsim::sim::ServerUnderTest::run(&inner, host)
    }
}

#[test]
fn a_panic_in_the_system_under_test_is_its_own_failure_named_with_its_host() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let outcome = Suite::new()
        .scenarios(root.join("scenarios/01-blip-5s.toml"))
        .seeds([1, 2])
        .server(|| PanickingServer)
        .report_dir(scratch("suite-panicking"))
        .run()
        .expect("the suite runs");
    // Every seed ran (the first one's panic did not stop the suite), each failing its
    // simulation with the host named; no checker is blamed.
    assert_eq!(outcome.records.len(), 2);
    for record in &outcome.records {
        let verdict = &record.verdict;
        assert!(!verdict.passed);
        let simulation = verdict
            .checks
            .iter()
            .find(|c| c.name == "simulation")
            .unwrap_or_else(|| panic!("no simulation line: {verdict:?}"));
        assert!(
            simulation.detail.starts_with("host server: "),
            "{simulation:?}"
        );
        assert!(
            verdict.checks.iter().all(|c| !c.detail.contains("crashed")),
            "{verdict:?}"
        );
    }
}

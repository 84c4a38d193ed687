//! Each checker catches a deliberately broken behaviour: the broken variant runs, and the
//! events are judged against the scenario as it was meant to be.

use std::time::Duration;

use std::collections::BTreeMap;
use std::process::Command;

use wsim::event::{ClientEvent, EventKind, ServerEvent};
use wsim::scenario::duration::{Dur, OptDur};
use wsim::scenario::model::Implementation;
use wsim::scenario::ScenarioFile;

use crate::support::scenario;

fn failed_checks(intended: &ScenarioFile, broken: &ScenarioFile, seed: u64) -> Vec<&'static str> {
    let sim = wsim::Run::new(broken, seed).simulate();
    assert!(sim.error.is_none(), "{:?}", sim.error);
    let (outcomes, _) = wsim::judge::check(intended, sim.events);
    outcomes
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect()
}

/// A client whose pong timeout is switched off never notices a dead link.
#[test]
fn detection_catches_a_client_without_ping_timeout() {
    let intended = scenario("02-partition-60s.toml");
    let mut broken = intended.clone();
    broken.client.ping_timeout = OptDur(None);
    broken.client.server_silence = OptDur(None);
    assert!(failed_checks(&intended, &intended, 1).is_empty());
    assert!(failed_checks(&intended, &broken, 1).contains(&"detection"));
}

/// A state loss kills idle links too: a client with no keepalive never finds out.
#[test]
fn detection_catches_missing_keepalive_on_idle_links() {
    let intended = scenario("04-state-loss.toml");
    let mut broken = intended.clone();
    broken.client.ping_interval = OptDur(None);
    broken.client.server_silence = OptDur(None);
    broken.server.ping_interval = OptDur(None);
    // Nor may the proxy's idle kill come to the rescue.
    broken.proxy.idle_timeout = OptDur(None);
    assert_eq!(failed_checks(&intended, &broken, 1), ["detection"]);
}

/// A client that waits an hour before reconnecting is not live.
#[test]
fn liveness_catches_a_client_that_does_not_come_back() {
    let intended = scenario("02-partition-60s.toml");
    let mut broken = intended.clone();
    broken.client.backoff.initial = Dur(Duration::from_secs(3600));
    broken.client.backoff.max = Dur(Duration::from_secs(3600));
    let failed = failed_checks(&intended, &broken, 1);
    assert!(failed.contains(&"liveness"), "{failed:?}");
}

/// A ping timeout shorter than a round trip drops healthy links.
#[test]
fn no_spurious_disconnect_catches_a_hair_trigger_timeout() {
    let intended = scenario("03-latency-spike.toml");
    let mut broken = intended.clone();
    broken.client.ping_interval = OptDur(Some(Duration::from_secs(5)));
    broken.client.ping_timeout = OptDur(Some(Duration::from_millis(20)));
    let failed = failed_checks(&intended, &broken, 1);
    assert!(failed.contains(&"no_spurious_disconnect"), "{failed:?}");
}

/// A partition during a latency spike on another hop explains a silence neither explains
/// alone, and no more: a client whose watchdog fires before the partition begins, with only
/// the spike under way (its round trip short of the patience the scenario promises), is
/// caught.
#[test]
fn no_spurious_disconnect_catches_a_drop_the_spike_alone_does_not_explain() {
    let intended = scenario("regressions/spurious-partition-during-latency-spike.toml");
    let mut broken = intended.clone();
    broken.client.server_silence = OptDur(Some(Duration::from_secs(6)));
    for seed in 1..=10 {
        assert!(
            failed_checks(&intended, &intended, seed).is_empty(),
            "seed {seed}"
        );
        let failed = failed_checks(&intended, &broken, seed);
        assert!(
            failed.contains(&"no_spurious_disconnect"),
            "seed {seed}: {failed:?}"
        );
    }
}

/// A server without de-duplication accepts a re-sent message twice when its ack was lost:
/// `delivery` sees it in the server's events, `room_log` from the clients' alone (the message's
/// second number is a gap in every receiver's log).
#[test]
fn delivery_catches_a_server_without_dedup() {
    let intended = scenario("10-latency-above-timeout.toml");
    let mut broken = intended.clone();
    broken.server.dedup_ttl = Dur(Duration::ZERO);
    // Seed 7 loses acknowledgements (found by sweeping seeds 1..=10; seeds 7 and 8 do).
    assert!(failed_checks(&intended, &intended, 7).is_empty());
    assert_eq!(
        failed_checks(&intended, &broken, 7),
        ["delivery", "room_log"]
    );
}

/// A server that ends sessions early (10 s instead of the promised 30 s) is caught.
#[test]
fn grace_catches_a_server_that_expires_sessions_early() {
    let intended = scenario("07-partition-beyond-grace.toml");
    let mut broken = intended.clone();
    broken.server.grace = Dur(Duration::from_secs(10));
    assert!(failed_checks(&intended, &broken, 1).contains(&"grace"));
}

/// A client whose backoff ceiling is higher than configured is caught.
#[test]
fn backoff_catches_delays_above_the_ceiling() {
    let intended = scenario("02-partition-60s.toml");
    let mut broken = intended.clone();
    broken.client.backoff.initial = Dur(Duration::from_secs(20));
    broken.client.backoff.max = Dur(Duration::from_secs(120));
    assert!(failed_checks(&intended, &broken, 1).contains(&"backoff"));
}

/// Retries without jitter stampede: the herd checker's cap catches it.
#[test]
fn herd_catches_retries_without_jitter() {
    let intended = scenario("09-reconnect-storm.toml");
    let mut broken = intended.clone();
    broken.client.backoff.jitter = wsim_client::Jitter::None;
    assert_eq!(failed_checks(&intended, &broken, 1), ["herd"]);
}

/// Seed 002's 30 s application heartbeat behind a 30 s idle-killing proxy loses the race: with
/// a cap of zero kills the checker fails on the first seed tried; a 20 s heartbeat passes.
#[test]
fn idle_kills_catches_a_heartbeat_as_long_as_the_proxy_timeout() {
    let mut intended = scenario("13-app-heartbeat-30s-behind-30s-proxy.toml");
    intended.expect.max_idle_kills = Some(0);
    let caught_at = (1..=5u64)
        .find(|seed| failed_checks(&intended, &intended, *seed).contains(&"idle_kills"))
        .expect("caught within 5 seeds");
    println!("a 30 s heartbeat behind a 30 s proxy is caught on seed {caught_at}");
    assert_eq!(caught_at, 1);
    let mut fixed = intended.clone();
    fixed.client.ping_interval = OptDur(Some(Duration::from_secs(20)));
    assert!(failed_checks(&intended, &fixed, 1).is_empty());
}

/// `scenario` with the seed article's naive server and/or client standing in for wsim's.
fn naive(intended: &ScenarioFile, server: bool, client: bool) -> ScenarioFile {
    let mut broken = intended.clone();
    if server {
        broken.system.server = Implementation::Naive;
    }
    if client {
        broken.system.client = Implementation::Naive;
    }
    broken
}

/// Runs the scenario with the naive server and/or client against what `scenario_file`
/// intends; returns the seed (of 1..=5) on which `check` first fails, after checking wsim's own
/// components pass on that seed. Prints the failing check and the command that reproduces it,
/// and runs that command to show it does.
fn caught_within_five_seeds(scenario_file: &str, server: bool, client: bool, check: &str) -> u64 {
    let intended = scenario(scenario_file);
    let broken = naive(&intended, server, client);
    let seed = (1..=5u64)
        .find(|seed| failed_checks(&intended, &broken, *seed).contains(&check))
        .unwrap_or_else(|| panic!("{check} missed the bug on seeds 1..=5"));
    assert!(failed_checks(&intended, &intended, seed).is_empty());
    let outcome = wsim::Run::new(&broken, seed)
        .named(&format!("scenarios/{scenario_file}"))
        .judge();
    let failed = outcome
        .verdict
        .checks
        .iter()
        .find(|c| c.name == check)
        .expect("the check ran");
    let mut repro = outcome.verdict.repro.clone();
    if server {
        repro.push_str(" --server naive");
    }
    if client {
        repro.push_str(" --client naive");
    }
    println!(
        "{scenario_file} seed {seed}: {check} failed: {}",
        failed.detail
    );
    println!("  repro: {repro}");
    let args: Vec<&str> = repro.split_whitespace().skip(1).collect();
    let rerun = Command::new(env!("CARGO_BIN_EXE_wsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .output()
        .expect("wsim runs");
    let stdout = String::from_utf8_lossy(&rerun.stdout);
    assert_eq!(rerun.status.code(), Some(1), "{repro} passed:\n{stdout}");
    assert!(
        stdout.contains(&format!("FAIL {check}")),
        "{repro} did not fail {check}:\n{stdout}"
    );
    assert!(
        stdout.contains(&repro),
        "{repro} prints itself as the repro"
    );
    seed
}

/// The naive client's `_flush_buffer`/`send`: a message written into a dead link is gone.
#[test]
fn delivery_catches_the_naive_clients_send_and_forget() {
    let seed = caught_within_five_seeds("02-partition-60s.toml", false, true, "delivery");
    assert_eq!(seed, 1);
    // For the right reason: messages were written, left the buffer, and never arrived.
    let broken = naive(&scenario("02-partition-60s.toml"), false, true);
    let sim = wsim::Run::new(&broken, seed).simulate();
    let accepted: Vec<(&str, &str)> = sim
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Server(ServerEvent::MessageAccepted { client, msg_id, .. }) => {
                Some((&**client, &**msg_id))
            }
            _ => None,
        })
        .collect();
    let lost = sim
        .events
        .iter()
        .filter(|e| match &e.kind {
            EventKind::Client {
                client,
                event: ClientEvent::MessageSent { msg_id },
            } => !accepted.contains(&(client.as_str(), msg_id.as_str())),
            _ => false,
        })
        .count();
    assert!(lost > 0, "every written message arrived");
}

/// The naive server's global de-duplication ids meet the naive client's counter ids: one
/// client's message is dropped as a duplicate of another client's.
#[test]
fn delivery_catches_dedup_ids_shared_across_clients() {
    let seed = caught_within_five_seeds("06-partition-inside-grace.toml", true, true, "delivery");
    assert_eq!(seed, 1);
    let broken = naive(&scenario("06-partition-inside-grace.toml"), true, true);
    let sim = wsim::Run::new(&broken, seed).simulate();
    let mut accepted_from: BTreeMap<String, String> = BTreeMap::new();
    let mut cross_client = 0;
    for e in &sim.events {
        match &e.kind {
            EventKind::Server(ServerEvent::MessageAccepted { client, msg_id, .. }) => {
                accepted_from
                    .entry(msg_id.clone())
                    .or_insert(client.clone());
            }
            EventKind::Server(ServerEvent::DuplicateDropped { client, msg_id })
                if accepted_from
                    .get(msg_id)
                    .is_some_and(|first| first != client) =>
            {
                cross_client += 1;
            }
            _ => {}
        }
    }
    assert!(
        cross_client > 0,
        "no message was dropped for another client's id"
    );
}

/// Seed 002's cleanup race: the first drop's timer ends a session that dropped again later.
#[test]
fn grace_catches_the_naive_servers_cleanup_race() {
    let seed = caught_within_five_seeds("15-flap-within-grace.toml", true, false, "grace");
    assert_eq!(seed, 2);
}

/// Seed 002's grace measured with `datetime.now()`: a wall-clock step while sessions are away
/// turns every resume into a new session (the scenario passes without the step).
#[test]
fn grace_catches_the_naive_servers_wall_clock_grace() {
    let seed = caught_within_five_seeds(
        "23-clock-step-during-proxy-restart.toml",
        true,
        false,
        "grace",
    );
    assert_eq!(seed, 1);
}

/// The naive client has no keepalive: a blackholed idle link is never noticed.
#[test]
fn detection_catches_the_naive_client_without_keepalive() {
    let seed = caught_within_five_seeds("14-blackhole-idle.toml", false, true, "detection");
    assert_eq!(seed, 1);
}

/// The naive client's backoff has no jitter: a crowd dropped at once comes back at once.
#[test]
fn herd_catches_the_naive_clients_retries_without_jitter() {
    let seed = caught_within_five_seeds("09-reconnect-storm.toml", false, true, "herd");
    assert_eq!(seed, 1);
}

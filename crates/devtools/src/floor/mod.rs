//! The floor of a scenario's traffic: the same hosts, clients, start offsets, message period,
//! backoff, tick, latencies and crashes, on the bare required crates alone — turmoil's TCP,
//! tokio-tungstenite, a proxy that copies bytes — with no protocol, no state machine, no
//! event and no checker. Each client sends a chat-sized text frame every period; the server
//! greets each connection, announces it to the room, acknowledges every frame to its sender
//! and writes it to every other member. A crash takes its host down and brings it back as
//! the scenario plans; clients whose connection ends reconnect with the scenario's backoff
//! and send what fell due meanwhile. Idle ticks are skipped as in a real run. Whatever system
//! runs the scenario costs at least this much, so the floor bounds the ratio a `wsim-dev bench`
//! run can reach (`wsim-dev bench --only floor`). Left out: every fault but crashes (they hold or
//! drop traffic, they add none), keepalive, resume and history replay.

mod client;
mod room;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use client::FloorClient;
use wsim::event::FaultDesc;
use wsim::scenario::ScenarioFile;
use wsim::schedule::{plan_faults, FaultExecutor, FaultTarget, PlannedFault};
use wsim::sim::stepper::{step_to_end, DueFaults, RunLedger, RunScope, Stepped};
use wsim::sim::topology::{client_plans, sim_builder};
use wsim::wallclock::WallClock;
use wsim_proto::seed::derive_rng;
use wsim_proto::EventSink;
use wsim_proxy::Fate;

/// A chat frame as wsim's server broadcasts it: the floor's frames are this long.
const CHAT_FRAME: &str = r#"{"type":"message","seq":12345,"id":"u-42:118","from":"u-42","username":"u-42","text":"message 118","ts":"2026-01-01T00:10:00.000Z"}"#;

/// What a floor run did.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    /// Simulated time reached.
    pub elapsed: Duration,
    /// Frames the clients read (greetings, presence, acknowledgements and room messages).
    pub frames: u64,
    /// WebSocket connections the clients opened (a reconnect is one more).
    pub connections: u64,
    /// Chat messages the clients wrote (one that fell due without a link is written after
    /// the reconnect; one whose write failed is written again).
    pub sent: u64,
    /// Steps the simulation took.
    pub steps: u64,
}

/// Runs the floor of `scenario`'s traffic with `seed` (see the module documentation).
///
/// # Errors
/// When a host of the floor fails (which would be a bug in it).
pub fn simulate_floor(scenario: &ScenarioFile, seed: u64) -> Result<Floor, String> {
    let ledger = std::sync::Arc::new(RunLedger::default());
    let scope = RunScope::enter(Some(&ledger));
    let mut sim = sim_builder(scenario, seed).build();
    sim.host("server", || async {
        room::server().await;
        Ok(())
    });
    sim.host("proxy", || async {
        room::proxy().await;
        Ok(())
    });
    let tally = Rc::new(Tally::default());
    let config = scenario.client_config();
    for host in scenario.client_hosts() {
        let clients: Vec<(FloorClient, String)> = client_plans(scenario, seed, &host)
            .into_iter()
            .map(|plan| {
                let client = FloorClient {
                    room: plan.identity.room.clone(),
                    start: plan.start,
                    every: plan.send_every,
                    backoff: config.backoff,
                    min_uptime: config.min_uptime,
                    connect_timeout: config.connect_timeout,
                };
                (client, plan.identity.client_id)
            })
            .collect();
        let tally = Rc::clone(&tally);
        sim.host(host.as_str(), move || {
            let clients = clients.clone();
            let tally = Rc::clone(&tally);
            async move {
                for (client, id) in clients {
                    let rng = derive_rng(seed, &format!("floor-backoff/{id}"));
                    tokio::task::spawn_local(client.run(rng, Rc::clone(&tally)));
                }
                std::future::pending::<()>().await;
                Ok(())
            }
        });
    }
    let mut crashes = Crashes::new(scenario, seed);
    let Stepped {
        error,
        elapsed,
        steps,
    } = step_to_end(&mut sim, scenario.duration.0, Some(&ledger), &mut crashes);
    drop(sim);
    drop(scope);
    match error {
        Some(e) => Err(e),
        None => Ok(Floor {
            elapsed,
            frames: tally.frames.get(),
            connections: tally.connections.get(),
            sent: tally.sent.get(),
            steps,
        }),
    }
}

/// What the clients of a floor run count.
#[derive(Debug, Default)]
struct Tally {
    frames: Cell<u64>,
    connections: Cell<u64>,
    sent: Cell<u64>,
}

/// The scenario's crashes, planned for the seed, applied by wsim's fault executor: a host goes
/// down with the first of its overlapping crashes and restarts with the last.
struct Crashes(FaultExecutor);

impl Crashes {
    fn new(scenario: &ScenarioFile, seed: u64) -> Self {
        let crashes: Vec<_> = plan_faults(scenario, seed)
            .into_iter()
            .filter(|f| matches!(f.desc, FaultDesc::Crash { .. }))
            .collect();
        Crashes(FaultExecutor::new(&crashes, EventSink::discard()))
    }
}

impl DueFaults for Crashes {
    fn next_due(&self) -> Option<Duration> {
        self.0.next_due()
    }

    fn apply_due(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration) -> bool {
        self.0.apply_due(&mut Hosts(sim), now)
    }
}

/// The floor's world as a fault target: only crashes reach it.
struct Hosts<'a, 's>(&'a mut turmoil::Sim<'s>);

impl FaultTarget for Hosts<'_, '_> {
    fn link(&mut self, _: &PlannedFault, _: &str, _: &str, _: bool) {}

    fn crash(&mut self, _: &PlannedFault, host: &str, _silent: bool) {
        self.0.crash(host);
    }

    fn restart(&mut self, host: &str) {
        self.0.bounce(host);
    }

    fn sleep(&mut self, _: &PlannedFault, _: &str, _: bool) {}

    fn conn_fate(&mut self, _: &str, _: Fate) {}

    fn clock(&self, _: &str) -> Option<&WallClock> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_acknowledged_to_its_sender_and_read_by_every_other_member() {
        let scenario = wsim::scenario::parse(
            "floor.toml",
            r#"
name = "floor"
duration = "5500ms"
[[clients]]
count = 3
send_every = "1s"
[[clients]]
name = "other-room"
count = 2
room = "elsewhere"
send_every = "1s"
"#,
        )
        .expect("a valid scenario");
        let floor = simulate_floor(&scenario, 7).expect("the floor runs");
        // A greeting each; the members already in a room read each arrival (3 in a room of
        // 3, 1 in a room of 2); then five messages each, read as 3 frames per message in a
        // room of 3 (an acknowledgement and two copies), 2 in a room of 2.
        assert_eq!(floor.frames, 5 + (3 + 1) + 3 * 5 * 3 + 2 * 5 * 2);
        assert_eq!(floor.connections, 5);
        assert_eq!(floor.elapsed, Duration::from_millis(5500));
        assert!(
            floor.steps < 5500,
            "idle ticks were skipped: {} steps",
            floor.steps
        );
    }

    #[test]
    fn a_crashed_server_is_brought_back_and_every_client_reconnects_and_sends_what_it_owes() {
        let scenario = |crash: bool| {
            let faults = if crash {
                "[[faults]]\nkind = \"crash\"\nhost = \"server\"\nat = \"3500ms\"\nduration = \"1s\"\n"
            } else {
                ""
            };
            wsim::scenario::parse(
                "floor.toml",
                &format!(
                    "name = \"floor\"\nduration = \"20s\"\n[[clients]]\ncount = 3\nsend_every = \"1s\"\n{faults}"
                ),
            )
            .expect("a valid scenario")
        };
        for seed in 1..=5 {
            let quiet = simulate_floor(&scenario(false), seed).expect("the floor runs");
            let crashed = simulate_floor(&scenario(true), seed).expect("the floor runs");
            assert_eq!(quiet.connections, 3, "seed {seed}");
            assert_eq!(
                crashed.connections, 6,
                "seed {seed}: each client came back once"
            );
            // Nineteen messages fall due for each client; the crash loses none of them.
            assert_eq!(quiet.sent, 3 * 19, "seed {seed}");
            assert_eq!(crashed.sent, 3 * 19, "seed {seed}: the owed ones were sent");
        }
    }
}

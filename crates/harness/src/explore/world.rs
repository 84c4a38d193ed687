//! One random world per (profile, seed), written as an ordinary scenario file: client groups on
//! one to three hosts in one or two rooms, chat traffic, keepalive / grace / backoff / proxy
//! settings drawn within valid and sensible bounds, and a fault schedule mixing the profile's
//! fault kinds at random times, so faults overlap as they come. A quarter of the faults after
//! the first start in the very instant an earlier one starts or ends, and a `proxy_conn` fault
//! often hits the client the previous one hit: faults that coincide exactly (the order of
//! their application within one instant) are where fault composition breaks, and uniform times
//! almost never draw them. Every value is fixed (no ranges): the file replays its world on any
//! seed, and `wsim run` / `wsim shrink` take it as is.

use std::fmt::Write as _;
use std::time::Duration;

use rand::Rng;

use crate::explore::profile::Profile;
use crate::scenario::model::FaultKind;
use crate::scenario::model::Implementation;
use crate::scenario::roster::client_id;
use crate::seed::{derive_rng, SimRng};

/// Which implementations a world runs (the scenario's `[system]` table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemChoice {
    /// What runs on the server host.
    pub server: Implementation,
    /// What each simulated user runs.
    pub client: Implementation,
}

/// The scenario file of `profile`'s world for `seed`.
#[must_use]
pub fn world(profile: &Profile, seed: u64, system: SystemChoice) -> String {
    let mut rng = derive_rng(seed, &format!("explore/{}", profile.name));
    let mut tuning = derive_rng(seed, &format!("explore/{}/tuning", profile.name));
    let w = &mut World::new(&mut rng, profile);
    let mut out = String::new();
    let _ = writeln!(out, "name = \"explore-{}-{seed}\"", profile.name);
    let _ = writeln!(
        out,
        "description = \"A random world drawn by `wsim explore --profile {}` for seed {seed}.\"",
        profile.name
    );
    let _ = writeln!(out, "duration = \"{}s\"", w.duration_s);
    let (low, high) = profile.ticks_ms;
    if low != high {
        // A stream of its own: the profiles on the default tick draw nothing here.
        let tick =
            derive_rng(seed, &format!("explore/{}/tick", profile.name)).random_range(low..=high);
        let _ = writeln!(out, "tick = \"{tick}ms\"");
    }
    out.push_str("seeds = 1\n\n");
    if system != SystemChoice::default() {
        let _ = writeln!(
            out,
            "[system]\nserver = \"{}\"\nclient = \"{}\"\n",
            system.server.name(),
            system.client.name()
        );
    }
    w.settings(&mut out, &mut tuning);
    w.clients(&mut out);
    w.faults(&mut out);
    out
}

struct World<'r> {
    rng: &'r mut SimRng,
    profile: &'r Profile,
    duration_s: u64,
    hosts: Vec<String>,
    clients: Vec<String>,
    /// The starts and ends (ms) of the faults drawn so far, for coinciding ones.
    bounds: Vec<u64>,
    /// The duration (ms) the current fault drew, if its kind has one.
    drawn_duration: Option<u64>,
    /// The client the last `proxy_conn` fault hit.
    last_conn_client: Option<String>,
}

/// Chance that a fault starts exactly at an earlier fault's start or end.
const COINCIDE: f64 = 0.25;

/// Chance that a `proxy_conn` fault hits the client the previous one hit.
const SAME_CLIENT: f64 = 0.4;

fn ms(d: u64) -> String {
    crate::scenario::duration::format_duration(Duration::from_millis(d))
}

impl<'r> World<'r> {
    fn new(rng: &'r mut SimRng, profile: &'r Profile) -> Self {
        let (shortest, longest) = profile.duration_s.unwrap_or((180, 360));
        let duration_s = rng.random_range(shortest..=longest);
        let host_count = rng.random_range(1..=3usize);
        let hosts = (1..=host_count).map(|h| format!("clients-{h}")).collect();
        World {
            rng,
            profile,
            duration_s,
            hosts,
            clients: Vec::new(),
            bounds: Vec::new(),
            drawn_duration: None,
            last_conn_client: None,
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    /// The world's settings. The main draws come from the world's own stream; the rest of
    /// the tuning (timeouts, limits, the watchdog, resume policy), each left at its default
    /// more often than not, from `tuning`, so adding one never moves a world's clients or
    /// faults.
    fn settings(&mut self, out: &mut String, tuning: &mut SimRng) {
        let rng = &mut *self.rng;
        let (lat_min, lat_max) = match self.profile.latency_ms {
            None => {
                let lat_min = rng.random_range(1..=5u64);
                (lat_min, lat_min + rng.random_range(0..=45u64))
            }
            Some((low, high)) => {
                let lat_min = rng.random_range(low..=(low + high) / 2);
                (lat_min, rng.random_range(lat_min..=high))
            }
        };
        let _ = writeln!(
            out,
            "[network]\nlatency = {{ min = \"{lat_min}ms\", max = \"{lat_max}ms\" }}\n"
        );
        // Keepalive well inside the proxy's idle timeout: a setting that must survive it.
        let ping = rng.random_range(5..=25u64);
        let pong = rng.random_range(5..=25u64);
        let mut heartbeat = if rng.random_bool(0.3) { "app" } else { "ws" };
        let server_ping = rng.random_range(10..=30u64);
        let grace = rng.random_range(10..=60u64);
        let idle = if rng.random_bool(0.2) {
            "none".to_string()
        } else {
            format!("{}s", rng.random_range(ping.max(server_ping) + 5..=90))
        };
        let on_idle = ["close", "reset", "blackhole"][rng.random_range(0..3usize)];
        let initial_ms = rng.random_range(200..=2000u64);
        let max_s = rng.random_range(5..=60u64);
        let factor = [1.5, 2.0, 2.5, 3.0][rng.random_range(0..4usize)];
        let mut t = Tuning::draw(tuning, ping, server_ping);
        if self.profile.heartbeat_mix {
            // Both always set, from a stream of their own: every pairing is drawn.
            let mut mix = derive_rng(u64::from(tuning.random::<u32>()), "explore/heartbeats/mix");
            heartbeat = ["ws", "app"][mix.random_range(0..2usize)];
            t.idle_measure = Some(
                ["either", "client_to_server", "server_to_client"][mix.random_range(0..3usize)],
            );
        }
        if self.profile.latency_ms.is_some() {
            // Timeouts to match the links: a handshake crosses two links four times, a close
            // waits for its answer over them.
            let round_trips_s = (8 * lat_max).div_ceil(1000);
            if let Some(c) = &mut t.connect_timeout {
                *c = (*c).max(round_trips_s + 1);
            }
            if let Some(c) = &mut t.close_timeout_ms {
                *c = (*c).max(4 * lat_max);
            }
        }
        let server_pong = t.server_pong.unwrap_or(server_ping);
        let _ = writeln!(
            out,
            "[server]\ngrace = \"{grace}s\"\nping_interval = \"{server_ping}s\"\nping_timeout = \"{server_pong}s\"{}\n",
            t.server_lines()
        );
        let _ = writeln!(
            out,
            "[proxy]\nidle_timeout = \"{idle}\"\non_idle = \"{on_idle}\"{}\n",
            t.proxy_lines()
        );
        // Without its own pings a client needs the watchdog to notice a dead link.
        let client_ping = if t.no_client_ping {
            "none".to_string()
        } else {
            format!("{ping}s")
        };
        let _ = writeln!(
            out,
            "[client]\nping_interval = \"{client_ping}\"\nping_timeout = \"{pong}s\"\nheartbeat = \"{heartbeat}\"{}\n",
            t.client_lines()
        );
        let _ = writeln!(
            out,
            "[client.backoff]\ninitial = \"{}\"\nmax = \"{max_s}s\"\nfactor = {factor}\n",
            ms(initial_ms)
        );
    }

    fn clients(&mut self, out: &mut String) {
        let (low, high) = self.profile.clients_per_group;
        let groups = self.rng.random_range(1..=self.profile.max_groups);
        let rooms = self.rng.random_range(1..=2usize);
        let mut used = std::collections::BTreeSet::new();
        for g in 0..groups {
            let name = format!("g{g}");
            let count = self.rng.random_range(low..=high);
            let host = self.pick(&self.hosts.clone()).clone();
            let room = format!("room-{}", self.rng.random_range(0..rooms));
            let send = if self.rng.random_bool(0.8) {
                format!("{}s", self.rng.random_range(2..=15u64))
            } else {
                "none".into()
            };
            let start = self.rng.random_range(0..=5u64);
            let _ = writeln!(
                out,
                "[[clients]]\nname = \"{name}\"\ncount = {count}\nhost = \"{host}\"\nroom = \"{room}\"\nsend_every = \"{send}\"\nstart = {{ min = \"0s\", max = \"{start}s\" }}\n"
            );
            self.clients.extend((0..count).map(|i| client_id(&name, i)));
            used.insert(host);
        }
        // Faults aim at hosts that exist: the ones some group runs on.
        self.hosts = used.into_iter().collect();
    }

    fn faults(&mut self, out: &mut String) {
        let (low, high) = self.profile.faults;
        let count = self.rng.random_range(low..=high);
        // Leave the last 90 s for recovery: liveness needs clients back before the end.
        let latest = self.duration_s.saturating_sub(90).max(10);
        let window = 5_000..=latest * 1000;
        for _ in 0..count {
            let kind = *self.pick(self.profile.mix);
            let mut at = self.rng.random_range(window.clone());
            if !self.bounds.is_empty() && self.rng.random_bool(COINCIDE) {
                let bound = *self.pick(&self.bounds.clone());
                if window.contains(&bound) {
                    at = bound;
                }
            }
            let _ = writeln!(out, "[[faults]]\nkind = \"{}\"", kind.as_str());
            let _ = writeln!(out, "at = \"{}\"", ms(at));
            self.drawn_duration = None;
            self.fault_body(kind, out);
            self.bounds.push(at);
            if let Some(d) = self.drawn_duration {
                self.bounds.push(at + d);
            }
            out.push('\n');
        }
    }

    fn client_link(&mut self) -> String {
        let host = self.pick(&self.hosts.clone()).clone();
        format!("[\"{host}\", \"proxy\"]")
    }

    fn any_link(&mut self) -> String {
        if self.rng.random_bool(0.3) {
            "[\"proxy\", \"server\"]".into()
        } else {
            self.client_link()
        }
    }

    fn any_host(&mut self) -> String {
        let mut all = vec!["server".to_string(), "proxy".to_string()];
        all.extend(self.hosts.iter().cloned());
        self.pick(&all).clone()
    }

    fn duration(&mut self, low_ms: u64, high_ms: u64) -> String {
        let d = self.rng.random_range(low_ms..=high_ms);
        self.drawn_duration = Some(d);
        format!("duration = \"{}\"", ms(d))
    }

    fn fault_body(&mut self, kind: FaultKind, out: &mut String) {
        let line = match kind {
            FaultKind::Partition => {
                let link = self.any_link();
                format!("between = {link}\n{}", self.duration(500, 60_000))
            }
            FaultKind::OneWay => {
                let link = self.any_link();
                let link = if self.rng.random_bool(0.5) {
                    link
                } else {
                    // The other direction of the same link.
                    let inner = link.trim_matches(|c| c == '[' || c == ']');
                    let mut parts: Vec<&str> = inner.split(", ").collect();
                    parts.reverse();
                    format!("[{}]", parts.join(", "))
                };
                format!("between = {link}\n{}", self.duration(500, 60_000))
            }
            FaultKind::StateLoss => {
                let link = self.client_link();
                format!("between = {link}\n{}", self.duration(500, 30_000))
            }
            FaultKind::Latency => {
                let link = self.any_link();
                let min = self.rng.random_range(50..=2_000u64);
                let max = min + self.rng.random_range(0..=3_000u64);
                format!(
                    "between = {link}\nlatency = {{ min = \"{}\", max = \"{}\" }}\n{}",
                    ms(min),
                    ms(max),
                    self.duration(1_000, 60_000)
                )
            }
            FaultKind::Crash => {
                // The server most often, the proxy, and now and then a client host (its clients
                // restart without their session keys or their outboxes).
                let host = match self.rng.random_range(0..20u8) {
                    0..=12 => "server".to_string(),
                    13..=16 => "proxy".to_string(),
                    _ => self.pick(&self.hosts.clone()).clone(),
                };
                let silent = self.rng.random_bool(0.3);
                format!(
                    "host = \"{host}\"\nsilent = {silent}\n{}",
                    self.duration(200, 20_000)
                )
            }
            FaultKind::Sleep => {
                let host = self.pick(&self.hosts.clone()).clone();
                format!("host = \"{host}\"\n{}", self.duration(500, 60_000))
            }
            FaultKind::ProxyConn => {
                let client = match self.last_conn_client.clone() {
                    Some(last) if self.rng.random_bool(SAME_CLIENT) => last,
                    _ => self.pick(&self.clients.clone()).clone(),
                };
                self.last_conn_client = Some(client.clone());
                match self.rng.random_range(0..3u8) {
                    0 => format!("client = \"{client}\"\naction = \"blackhole\""),
                    1 => format!("client = \"{client}\"\naction = \"reset\""),
                    _ => format!(
                        "client = \"{client}\"\naction = \"delay\"\ndelay = \"{}\"\n{}",
                        ms(self.rng.random_range(100..=3_000u64)),
                        self.duration(1_000, 30_000)
                    ),
                }
            }
            FaultKind::ClockStep => {
                let host = self.any_host();
                let secs = self.rng.random_range(1..=3_600i64);
                let sign = if self.rng.random_bool(0.5) { "-" } else { "" };
                format!("host = \"{host}\"\nby = \"{sign}{secs}s\"")
            }
            FaultKind::ClockDrift => {
                let host = self.any_host();
                let ppm = self.rng.random_range(100..=50_000i64)
                    * if self.rng.random_bool(0.5) { -1 } else { 1 };
                format!(
                    "host = \"{host}\"\nppm = {ppm}\n{}",
                    self.duration(10_000, 120_000)
                )
            }
        };
        let _ = writeln!(out, "{line}");
    }
}

/// Settings a world leaves at their defaults more often than not (see [`World::settings`]).
struct Tuning {
    server_pong: Option<u64>,
    history_limit: Option<u64>,
    keyless_by_key: bool,
    idle_measure: Option<&'static str>,
    /// `Some(None)`: the watchdog off; `Some(Some(s))`: `s` seconds.
    server_silence: Option<Option<u64>>,
    no_client_ping: bool,
    connect_timeout: Option<u64>,
    close_timeout_ms: Option<u64>,
    min_uptime: Option<u64>,
    max_pending: Option<u64>,
}

impl Tuning {
    /// `ping`, `server_ping`: the two ping intervals (seconds). A healthy link goes without a
    /// frame from the server for at most the shorter of those that are on; a watchdog allows
    /// more than that.
    fn draw(rng: &mut SimRng, ping: u64, server_ping: u64) -> Self {
        let mut maybe = |p: f64| rng.random_bool(p);
        let (server_pong, history_limit, keyless_by_key, measure, silence_off, silence_set) = (
            maybe(0.4),
            maybe(0.25),
            maybe(0.2),
            maybe(0.25),
            maybe(0.15),
            maybe(0.35),
        );
        let (no_ping, connect, close, uptime, pending) = (
            maybe(0.15),
            maybe(0.3),
            maybe(0.2),
            maybe(0.25),
            maybe(0.15),
        );
        // A client without pings only when its watchdog is on.
        let no_client_ping = no_ping && !silence_off;
        let quiet = if no_client_ping {
            server_ping
        } else {
            ping.min(server_ping)
        };
        let server_silence = if silence_off {
            Some(None)
        } else if silence_set {
            Some(Some(quiet + rng.random_range(3..=40u64)))
        } else {
            None
        };
        Tuning {
            server_pong: server_pong.then(|| rng.random_range(5..=30u64)),
            history_limit: history_limit.then(|| rng.random_range(3..=50u64)),
            keyless_by_key,
            idle_measure: measure.then(|| {
                ["either", "client_to_server", "server_to_client"][rng.random_range(0..3usize)]
            }),
            server_silence,
            no_client_ping,
            connect_timeout: connect.then(|| rng.random_range(2..=10u64)),
            close_timeout_ms: close.then(|| rng.random_range(100..=3000u64)),
            min_uptime: uptime.then(|| rng.random_range(1..=30u64)),
            max_pending: pending.then(|| rng.random_range(5..=200u64)),
        }
    }

    fn server_lines(&self) -> String {
        let mut s = String::new();
        if let Some(n) = self.history_limit {
            let _ = write!(s, "\nhistory_limit = {n}");
        }
        if self.keyless_by_key {
            s.push_str("\nkeyless_resume = \"key\"");
        }
        s
    }

    fn proxy_lines(&self) -> String {
        self.idle_measure
            .map(|m| format!("\nidle_measure = \"{m}\""))
            .unwrap_or_default()
    }

    fn client_lines(&self) -> String {
        let mut s = String::new();
        match self.server_silence {
            Some(None) => s.push_str("\nserver_silence = \"none\""),
            Some(Some(secs)) => {
                let _ = write!(s, "\nserver_silence = \"{secs}s\"");
            }
            None => {}
        }
        if let Some(n) = self.connect_timeout {
            let _ = write!(s, "\nconnect_timeout = \"{n}s\"");
        }
        if let Some(n) = self.close_timeout_ms {
            let _ = write!(s, "\nclose_timeout = \"{}\"", ms(n));
        }
        if let Some(n) = self.min_uptime {
            let _ = write!(s, "\nmin_uptime = \"{n}s\"");
        }
        if let Some(n) = self.max_pending {
            let _ = write!(s, "\nmax_pending = {n}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::profile::PROFILES;

    #[test]
    fn the_heartbeats_profile_draws_every_heartbeat_kind_against_every_idle_measure() {
        let profile = crate::explore::profile::named("heartbeats").expect("a profile");
        let mut pairs = std::collections::BTreeSet::new();
        for seed in 1..=60 {
            let text = world(profile, seed, SystemChoice::default());
            let value = |key: &str| {
                text.lines().find_map(|l| l.strip_prefix(key)).map(|v| {
                    v.trim_matches(|c| c == ' ' || c == '=' || c == '"')
                        .to_string()
                })
            };
            let pair = (value("heartbeat"), value("idle_measure"));
            assert!(pair.0.is_some() && pair.1.is_some(), "seed {seed}:\n{text}");
            pairs.insert(pair);
        }
        assert_eq!(pairs.len(), 6, "{pairs:?}");
    }

    #[test]
    fn a_seed_always_draws_the_same_valid_world_and_seeds_differ() {
        for profile in &PROFILES {
            for seed in 1..=40 {
                let text = world(profile, seed, SystemChoice::default());
                assert_eq!(text, world(profile, seed, SystemChoice::default()));
                let parsed = crate::scenario::parse("world.toml", &text);
                assert!(
                    parsed.is_ok(),
                    "{} seed {seed}: {parsed:?}\n{text}",
                    profile.name
                );
            }
            assert_ne!(
                world(profile, 1, SystemChoice::default()),
                world(profile, 2, SystemChoice::default())
            );
        }
    }

    #[test]
    fn a_planted_system_is_written_into_the_world() {
        let naive = SystemChoice {
            client: Implementation::Naive,
            ..SystemChoice::default()
        };
        let text = world(&PROFILES[0], 7, naive);
        assert!(
            text.contains("[system]\nserver = \"wsim\"\nclient = \"naive\""),
            "{text}"
        );
        assert!(!world(&PROFILES[0], 7, SystemChoice::default()).contains("[system]"));
    }

    #[test]
    fn the_coarse_profile_draws_ticks_users_may_write_and_the_others_keep_the_default() {
        let coarse = crate::explore::profile::named("coarse").expect("a profile");
        let ticks: std::collections::BTreeSet<u64> = (1..=40)
            .map(|seed| {
                let text = world(coarse, seed, SystemChoice::default());
                let s = crate::scenario::parse("coarse.toml", &text).expect("a valid world");
                u64::try_from(s.tick.0.as_millis()).expect("small")
            })
            .collect();
        assert!(ticks.len() > 10, "{ticks:?}");
        assert!(ticks.iter().all(|t| (1..=100).contains(t)), "{ticks:?}");
        for profile in PROFILES.iter().filter(|p| p.name != "coarse") {
            assert!(!world(profile, 3, SystemChoice::default()).contains("tick ="));
        }
    }
}

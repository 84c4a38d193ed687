//! The standard suite: wsim's own scenario files (`scenarios/*.toml`), compiled into the crate so
//! that a user's `#[test]` can run them with [`crate::Suite::standard`] wherever wsim is a
//! dependency.

/// Every standard scenario: (file name, text), in file-name order.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "01-blip-5s.toml",
        include_str!("../scenarios/01-blip-5s.toml"),
    ),
    (
        "02-partition-60s.toml",
        include_str!("../scenarios/02-partition-60s.toml"),
    ),
    (
        "03-latency-spike.toml",
        include_str!("../scenarios/03-latency-spike.toml"),
    ),
    (
        "04-state-loss.toml",
        include_str!("../scenarios/04-state-loss.toml"),
    ),
    (
        "05-random-partitions.toml",
        include_str!("../scenarios/05-random-partitions.toml"),
    ),
    (
        "06-partition-inside-grace.toml",
        include_str!("../scenarios/06-partition-inside-grace.toml"),
    ),
    (
        "07-partition-beyond-grace.toml",
        include_str!("../scenarios/07-partition-beyond-grace.toml"),
    ),
    (
        "08-server-restart.toml",
        include_str!("../scenarios/08-server-restart.toml"),
    ),
    (
        "09-reconnect-storm.toml",
        include_str!("../scenarios/09-reconnect-storm.toml"),
    ),
    (
        "10-latency-above-timeout.toml",
        include_str!("../scenarios/10-latency-above-timeout.toml"),
    ),
    (
        "11-idle-proxy-keepalive.toml",
        include_str!("../scenarios/11-idle-proxy-keepalive.toml"),
    ),
    (
        "12-idle-proxy-no-keepalive.toml",
        include_str!("../scenarios/12-idle-proxy-no-keepalive.toml"),
    ),
    (
        "13-app-heartbeat-30s-behind-30s-proxy.toml",
        include_str!("../scenarios/13-app-heartbeat-30s-behind-30s-proxy.toml"),
    ),
    (
        "14-blackhole-idle.toml",
        include_str!("../scenarios/14-blackhole-idle.toml"),
    ),
    (
        "15-flap-within-grace.toml",
        include_str!("../scenarios/15-flap-within-grace.toml"),
    ),
    (
        "16-clock-skew-and-step.toml",
        include_str!("../scenarios/16-clock-skew-and-step.toml"),
    ),
    (
        "17-silent-server-crash.toml",
        include_str!("../scenarios/17-silent-server-crash.toml"),
    ),
    (
        "18-proxy-restart.toml",
        include_str!("../scenarios/18-proxy-restart.toml"),
    ),
    (
        "19-sleeping-client.toml",
        include_str!("../scenarios/19-sleeping-client.toml"),
    ),
    (
        "20-one-way-partition.toml",
        include_str!("../scenarios/20-one-way-partition.toml"),
    ),
    (
        "21-one-connection-faults.toml",
        include_str!("../scenarios/21-one-connection-faults.toml"),
    ),
    (
        "22-ghost-session.toml",
        include_str!("../scenarios/22-ghost-session.toml"),
    ),
    (
        "23-clock-step-during-proxy-restart.toml",
        include_str!("../scenarios/23-clock-step-during-proxy-restart.toml"),
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_standard_suite_is_every_file_in_scenarios() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        files.sort();
        let listed: Vec<&str> = super::SCENARIOS.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            files, listed,
            "add the new scenario to crates/harness/src/standard.rs"
        );
        for (name, text) in super::SCENARIOS {
            crate::scenario::parse(name, text).unwrap();
        }
    }
}

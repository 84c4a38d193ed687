//! The example server under wsim's standard scenarios, through wsim's public API only: one
//! test per scenario (`harness = false`: `cargo test --test scenarios -- 15-flap`), 20 seeds
//! each (`EXAMPLE_SEEDS` for a quicker loop, `WSIM_SEED` to replay one), with each scenario's
//! seed-1 digest kept as an insta snapshot (`tests/snapshots/`, `cargo insta review`).

mod support;

fn main() {
    wsim::Suite::new()
        .standard()
        .seeds(1..=support::seeds())
        .server(|| support::ChatServer { bug: None })
        .snapshots(1)
        .test_main();
}

//! The first scenario's text timeline at a fixed seed, reviewed with `cargo insta review`.

use crate::support::scenarios_dir;

#[test]
fn first_scenario_timeline() {
    let path = scenarios_dir().join("01-blip-5s.toml");
    let s = wsim::scenario::load(&path).expect("loads");
    let outcome = wsim::sim::run(&s, "scenarios/01-blip-5s.toml", 1);
    let text: String = outcome
        .timeline
        .iter()
        .map(|e| wsim::render::text_line(e) + "\n")
        .collect();
    insta::assert_snapshot!("01-blip-5s.seed-1", text);
}

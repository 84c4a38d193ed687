//! The axum example under wsim's standard scenarios: one test per scenario (`harness =
//! false`), 20 seeds each (`EXAMPLE_SEEDS` for a quicker loop, `WSIM_SEED` to replay one).

mod support;

fn main() {
    wsim::Suite::new()
        .standard()
        .seeds(1..=support::seeds())
        .server(support::AxumServer::correct)
        .test_main();
}

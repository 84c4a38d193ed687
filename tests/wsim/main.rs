//! wsim's integration tests: one binary, one module per concern.

mod acceptance;
mod architecture;
mod bad_input;
mod checker_teeth;
mod client_cli;
mod determinism;
mod drive;
mod explore;
mod loopback;
mod process_clients;
mod proxy_control;
mod proxy_idle;
mod raw_frames;
mod readme;
mod seed_client;
mod serve;
mod slow_reader;
mod suite;
mod support;
mod sweep;
mod tls;

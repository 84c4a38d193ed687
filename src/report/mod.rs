//! Reports written for people after runs: per run `reports/<scenario>/seed-<N>/` (text
//! timeline, JSON Lines, summary, SVG swimlane page) and per sweep `reports/sweep.md` with a
//! detection-time histogram.

pub mod html;
pub mod run;
pub mod sweep;

pub use run::write_run_report;
pub use sweep::write_sweep_report;

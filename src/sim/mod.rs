//! The simulation layer: one turmoil world per (scenario, seed) ([`topology`]), the seeded
//! fault schedule ([`plan`]) and its executor ([`faults`]), `turmoil::net` behind the driver
//! seam ([`net`]), and the run loop that ties them to the checkers ([`run`]).

pub mod faults;
pub mod net;
pub mod plan;
pub mod run;
pub mod topology;

pub use run::{check, repro_command, run, simulate, RunOutcome, Simulation};

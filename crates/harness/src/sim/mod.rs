//! The simulation layer: one turmoil world per (scenario, seed) ([`topology`]) with the
//! systems under test plugged in through the [`seam`] (wsim's own by default: [`system`]), the
//! seeded fault schedule ([`plan`]) and its executor ([`faults`]), `turmoil::net` behind the
//! product's network seam ([`net`]), and the loop that steps it all ([`run`]). It only simulates: [`crate::judge`] judges.

pub mod faults;
pub mod guarantee;
pub mod net;
pub mod plan;
pub mod run;
pub mod seam;
pub mod system;
pub mod topology;

pub use run::{simulate, simulate_system, Simulation};
pub use seam::System;

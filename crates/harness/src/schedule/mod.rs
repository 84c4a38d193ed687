//! A scenario's faults for one seed: planned ([`plan`]: every random range drawn from the
//! seed) and executed in time order by the one [`executor`], on any [`executor::FaultTarget`] —
//! the simulated world (`crate::sim`) or a real network's proxy (`crate::real`).

pub(crate) mod conn_delays;
pub mod executor;
pub mod plan;

pub use executor::{FaultExecutor, FaultTarget};
pub use plan::{plan_faults, PlannedFault, Step};

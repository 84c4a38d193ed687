//! Real networks: a scenario's faults on the wall clock ([`faults`]), applied through wsim's
//! proxy to a server in any language, and `wsim drive` (`drive`), which runs the
//! scenario's client fleet against such a server and judges what the clients observed. A
//! real run takes its fault times from the seed but is not byte-replayable.

pub mod drive;
pub mod faults;
pub mod process;
pub(crate) mod process_client;
pub mod restart;
pub mod serve;
pub(crate) mod target_watch;
pub(crate) mod tls_target;

pub use drive::{drive, parse_target, DriveError, DriveOptions};
pub use process::{block_on, raise_fd_limit};
pub use serve::serve;

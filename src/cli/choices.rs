//! Command-line spellings of the library's choices: clap value enums that convert into the
//! harness's and the proxy's own types (which know nothing of clap).

use clap::ValueEnum;

/// `--on-idle`: what the proxy does to an idle connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdleModeArg {
    /// Close both ends (FIN).
    Close,
    /// Reset both ends (RST).
    Reset,
    /// Silently stop forwarding, leaving both ends half-open.
    Blackhole,
}

impl From<IdleModeArg> for wsim_proxy::IdleMode {
    fn from(a: IdleModeArg) -> Self {
        match a {
            IdleModeArg::Close => wsim_proxy::IdleMode::Close,
            IdleModeArg::Reset => wsim_proxy::IdleMode::Reset,
            IdleModeArg::Blackhole => wsim_proxy::IdleMode::Blackhole,
        }
    }
}

/// `--idle-measure`: which traffic keeps a connection alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdleMeasureArg {
    /// Bytes in either direction.
    Either,
    /// Only bytes from the client to the server (`client_to_server`, as scenario files
    /// spell it, is accepted too).
    #[value(alias = "client_to_server")]
    ClientToServer,
    /// Only bytes from the server to the client (or `server_to_client`).
    #[value(alias = "server_to_client")]
    ServerToClient,
}

impl From<IdleMeasureArg> for wsim_proxy::IdleMeasure {
    fn from(a: IdleMeasureArg) -> Self {
        match a {
            IdleMeasureArg::Either => wsim_proxy::IdleMeasure::Either,
            IdleMeasureArg::ClientToServer => wsim_proxy::IdleMeasure::ClientToServer,
            IdleMeasureArg::ServerToClient => wsim_proxy::IdleMeasure::ServerToClient,
        }
    }
}

/// `--reports`: which runs of a sweep get a report directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportsArg {
    /// No per-run reports (the sweep report is still written).
    None,
    /// Failed runs only.
    Failed,
    /// Failed runs and each scenario's first seed.
    FirstAndFailed,
    /// Every run.
    All,
}

impl From<ReportsArg> for wsim::report::ReportPolicy {
    fn from(a: ReportsArg) -> Self {
        use wsim::report::ReportPolicy as P;
        match a {
            ReportsArg::None => P::None,
            ReportsArg::Failed => P::Failed,
            ReportsArg::FirstAndFailed => P::FirstAndFailed,
            ReportsArg::All => P::All,
        }
    }
}

/// `--server` / `--client`: which implementation stands there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImplementationArg {
    /// wsim's own.
    Wsim,
    /// The seed article's naive code (test-only).
    Naive,
}

impl From<ImplementationArg> for wsim::scenario::model::Implementation {
    fn from(a: ImplementationArg) -> Self {
        match a {
            ImplementationArg::Wsim => wsim::scenario::model::Implementation::Wsim,
            ImplementationArg::Naive => wsim::scenario::model::Implementation::Naive,
        }
    }
}

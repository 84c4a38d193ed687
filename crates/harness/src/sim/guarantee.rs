//! Whether this build can keep the determinism guarantees. turmoil seeds every simulated
//! host's tokio runtime, and turns a panic in a spawned task into a failed run, only when tokio
//! is built with `--cfg tokio_unstable`, a flag of the build, not of a crate: a crate that
//! depends on `wsim` sets it in its own `.cargo/config.toml`, and `cargo install` (which reads
//! no project's config) takes it from `RUSTFLAGS`. A build without it would let a panicking
//! task pass silently, so it refuses to simulate instead, saying how to set it.

/// Why this build cannot simulate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuaranteeError {
    /// tokio was built without `--cfg tokio_unstable`.
    #[error(
        "this build of wsim cannot simulate deterministically: tokio was built without \
         `--cfg tokio_unstable`, so simulated hosts' runtimes are not seeded and a panicking \
         task would pass silently.\n\
         In a crate that depends on wsim, add these lines to `.cargo/config.toml` beside its \
         Cargo.toml (or at its workspace root) and build again:\n\
         \n    [build]\n    rustflags = [\"--cfg\", \"tokio_unstable\"]\n\n\
         (or set RUSTFLAGS=\"--cfg tokio_unstable\" for the build; a RUSTFLAGS variable \
         replaces the config's flags). For the command line: \
         RUSTFLAGS=\"--cfg tokio_unstable\" cargo install --locked --path . (in a wsim checkout)"
    )]
    NoTokioUnstable,
}

/// Whether this build keeps the determinism guarantees.
///
/// # Errors
/// [`GuaranteeError::NoTokioUnstable`] when tokio was built without `--cfg tokio_unstable`.
pub fn check_build() -> Result<(), GuaranteeError> {
    judge_build(cfg!(tokio_unstable))
}

/// The decision, for a build with or without `tokio_unstable`.
pub(crate) fn judge_build(tokio_unstable: bool) -> Result<(), GuaranteeError> {
    if tokio_unstable {
        Ok(())
    } else {
        Err(GuaranteeError::NoTokioUnstable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_without_tokio_unstable_refuses_with_the_fix_in_the_message() {
        assert_eq!(judge_build(true), Ok(()));
        let err = judge_build(false).unwrap_err().to_string();
        assert!(err.contains("tokio_unstable"), "{err}");
        assert!(err.contains("cargo install"), "{err}");
        // The lines a dependent crate copies into its .cargo/config.toml, exactly.
        assert!(
            err.contains("    [build]\n    rustflags = [\"--cfg\", \"tokio_unstable\"]\n"),
            "{err}"
        );
    }

    #[test]
    fn this_build_keeps_the_guarantees() {
        assert_eq!(check_build(), Ok(()));
    }
}

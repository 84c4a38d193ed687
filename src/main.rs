//! The `wsim` binary: the command line only — see `wsim --help` and the README. The harness is
//! the `wsim` library (`crates/harness`); the client, server and proxy are the product crates.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

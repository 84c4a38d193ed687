//! The `wsim` binary: see `wsim --help` and the README.

fn main() -> std::process::ExitCode {
    wsim::cli::main()
}

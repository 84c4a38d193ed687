//! Runs the server on a real network: `cargo run -- 127.0.0.1:9101 [seed]`.

use std::hash::{BuildHasher, RandomState};

use example_axum_chat_server::{app, Settings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9101".to_owned());
    // Each start needs its own seed (it draws the server's epoch); outside a simulation the
    // OS's randomness is fine. A seed on the command line repeats a run's keys.
    let seed = match args.next() {
        Some(seed) => seed
            .parse()
            .map_err(|_| std::io::Error::other("the seed must be a u64"))?,
        None => RandomState::new().hash_one(std::process::id()),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("chat server on ws://{}/ws", listener.local_addr()?);
    axum::serve(listener, app(Settings::default(), seed)).await
}

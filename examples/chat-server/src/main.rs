//! Runs the example chat server on a real network: `example-chat-server [ADDR]` (default
//! `127.0.0.1:9100`), then connect to `ws://ADDR/ws?room=…&username=…&client_id=…`.

#[allow(clippy::disallowed_methods)] // real use: keys need real randomness, not a seed
fn key_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio::task::LocalSet::new().block_on(&runtime, async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!(
            "example-chat-server listening on ws://{}/ws",
            listener.local_addr()?
        );
        example_chat_server::serve(
            listener,
            example_chat_server::Settings::default(),
            key_seed(),
        )
        .await;
        Ok(())
    })
}

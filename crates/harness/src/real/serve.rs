//! wsim's server on a real network, as `wsim serve` and the developer tools start it: bind,
//! say where on stderr (the first line, which scripts and probes read), serve.

use wsim_proto::EventSink;
use wsim_server::{ServerConfig, ServerEvent, ServerMachine};

/// Binds `listen`, prints `<who>: listening on ws://ADDR/ws` on stderr, and serves with
/// `config`, its events into `sink`, for as long as the process runs.
///
/// # Errors
/// When `listen` cannot be bound.
pub async fn serve(
    listen: &str,
    who: &str,
    config: ServerConfig,
    sink: EventSink<ServerEvent>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let bound = listener
        .local_addr()
        .map_or_else(|_| listen.to_string(), |a| a.to_string());
    eprintln!("{who}: listening on ws://{bound}/ws");
    let machine = ServerMachine::new(config, wsim_proto::seed::os_rng());
    wsim_server::serve(listener, machine, sink).await;
    Ok(())
}

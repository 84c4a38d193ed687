//! The wsim client library in an application: connect, send, read events.
//!
//! Start a server first (`cargo run -- serve`), then `cargo run -p wsim-client --example chat -- alice`.

use wsim_client::{Client, ClientConfig, ClientEvent, ClientIdentity};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "alice".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // The client runs as local tasks: give it a LocalSet.
    tokio::task::LocalSet::new().block_on(&runtime, async move {
        let identity = ClientIdentity {
            client_id: name.clone(), // stable across reconnects: the session is resumed by it
            username: name,
            room: "lobby".into(),
        };
        let mut client =
            Client::connect("ws://127.0.0.1:9000/ws", identity, ClientConfig::default())
                .expect("a ws:// URL");
        // Works offline too: buffered, sent once connected, kept until acknowledged.
        let id = client.send("hello").expect("the buffer has room");
        println!("sent {id}; {} pending", client.pending());
        while let Some(event) = client.next_event().await {
            match event {
                ClientEvent::MessageAcked { msg_id, .. } => println!("{msg_id} delivered"),
                ClientEvent::Message { username, text, .. } => println!("<{username}> {text}"),
                ClientEvent::Disconnected { reason } => println!("link lost: {reason:?}"),
                ClientEvent::Reconnecting { attempt, delay } => {
                    println!("attempt {attempt} in {delay:?}");
                }
                ClientEvent::Resumed {
                    recovered: false, ..
                } => println!("session lost: resync"),
                ClientEvent::GaveUp { .. } => break,
                _ => {}
            }
        }
    });
}

//! `wsim serve` with a member that never reads its socket while its room chats at full speed:
//! the server's memory stays flat, the slow member is closed with 1013 (its session goes
//! through the grace period), and everyone else keeps service. And an idle session is cheap.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::serve::{block_on, connect, next_json, Server};

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_member_that_never_reads_costs_bounded_memory_and_nobody_else_service() {
    let server = Server::start_with(&["--send-queue-bytes", "262144"]);
    let pid = server.pid();
    block_on(async {
        // The slow member: joins, then never reads a byte.
        let mut slow = tokio::net::TcpStream::connect(&server.addr)
            .await
            .expect("tcp");
        slow.write_all(b"GET /ws?room=r&username=slow&client_id=slow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            .await
            .expect("write");
        let mut head = [0u8; 12];
        slow.read_exact(&mut head).await.expect("101");
        assert_eq!(&head, b"HTTP/1.1 101");

        let mut witness = connect(&server.url("room=r&username=w&client_id=w")).await;
        assert_eq!(next_json(&mut witness).await["type"], "welcome");
        let sender = connect(&server.url("room=r&username=s&client_id=s")).await;
        let (mut tx, mut rx) = sender.split();
        let before = rss_kib(pid);

        // The chatty member sends 1 KiB messages as fast as the witness takes them for 4 s,
        // reading its own acks; the witness reads everything.
        let text = "x".repeat(1024);
        let mut peak = before;
        let witness_got = std::cell::Cell::new(0u64);
        let sent = {
            let chat = async {
                let mut sent = 0u64;
                let _ = tokio::time::timeout(Duration::from_secs(4), async {
                    loop {
                        // At most 64 messages ahead of the witness (well inside its 256 KiB
                        // queue): a witness starved of CPU by a loaded machine is slow, not
                        // the member under test.
                        while sent > witness_got.get() + 64 {
                            tokio::task::yield_now().await;
                        }
                        let frame =
                            format!(r#"{{"type":"chat_message","text":"{text}","id":"s{sent}"}}"#);
                        tx.send(Message::text(frame)).await.expect("send");
                        sent += 1;
                    }
                })
                .await;
                sent
            };
            let acks = async {
                let mut acks = 0u64;
                while let Some(Ok(m)) = rx.next().await {
                    if m.to_text().is_ok_and(|t| t.contains(r#""type":"ack""#)) {
                        acks += 1;
                    }
                }
                acks
            };
            let watch = async {
                loop {
                    tokio::select! {
                        biased;
                        m = witness.next() => match m {
                            Some(Ok(m)) if m.is_text() => witness_got.set(witness_got.get() + 1),
                            Some(Ok(_)) => {}
                            _ => break,
                        },
                        () = tokio::time::sleep(Duration::from_millis(100)) => {
                            peak = peak.max(rss_kib(pid));
                        }
                    }
                }
            };
            tokio::select! {
                biased;
                sent = chat => sent,
                _ = acks => panic!("the sender's acks stopped"),
                () = watch => panic!("the witness was cut off"),
            }
        };
        peak = peak.max(rss_kib(pid));
        eprintln!(
            "server RSS {before} KiB → peak {peak} KiB while {sent} messages of 1 KiB went to a room with a member that never reads"
        );
        assert!(sent > 1000, "the room chatted ({sent} messages)");
        assert!(
            witness_got.get() > 1000,
            "the witness kept receiving ({})",
            witness_got.get()
        );
        assert!(
            peak < before + 48 * 1024,
            "server memory grew {} KiB under a non-reading member",
            peak - before
        );
    });
    let events = server.events();
    let closed = events.iter().any(|e| {
        e["event"] == "session_closed" && e["client"] == "slow" && e["reason"] == "send_queue_full"
    });
    let away = events
        .iter()
        .any(|e| e["event"] == "user_away" && e["client"] == "slow");
    assert!(
        closed && away,
        "the slow member was closed and its session went away"
    );
}

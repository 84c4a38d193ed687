//! The floor of a scenario's chat traffic: the same hosts, clients, start offsets, message
//! period, tick and latencies, on the bare required crates alone — turmoil's TCP,
//! tokio-tungstenite, a proxy that copies bytes — with no protocol, no state machine, no
//! event and no checker. Each client sends a chat-sized text frame every period; the server
//! acknowledges it to the sender and writes it to every other member of the room. Idle ticks
//! are skipped as in a real run. Whatever system runs the scenario costs at least this much,
//! so the floor bounds the ratio a `wsim bench` run can reach (`wsim bench --only floor`).
//! Faults, keepalive and reconnects are left out: the floor is of a quiet network.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{http, Message, Utf8Bytes};
use wsim_proto::clock::timer;
use wsim_proto::wslink::ws_config;

use crate::clock;
use crate::scenario::ScenarioFile;
use crate::sim::idle::{self, NextWork, RunLedger};
use crate::sim::topology::{client_plans, sim_builder, PROXY_PORT, SERVER_PORT};

/// A chat frame as wsim's server broadcasts it: the floor's frames are this long.
const CHAT_FRAME: &str = r#"{"type":"message","seq":12345,"id":"u-42:118","from":"u-42","username":"u-42","text":"message 118","ts":"2026-01-01T00:10:00.000Z"}"#;

/// The acknowledgement a sender gets.
const ACK_FRAME: &str = r#"{"type":"ack","id":"u-42:118","seq":12345}"#;

/// What a floor run did.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    /// Simulated time reached.
    pub elapsed: Duration,
    /// Frames the clients read (acknowledgements and room messages).
    pub frames: u64,
    /// Steps the simulation took.
    pub steps: u64,
}

/// Runs the floor of `scenario`'s traffic with `seed` (see the module documentation).
///
/// # Errors
/// When a host of the floor fails (which would be a bug in it).
pub fn simulate_floor(scenario: &ScenarioFile, seed: u64) -> Result<Floor, String> {
    let ledger = Rc::new(RunLedger::default());
    let outer = timer::install_ledger(Some(Rc::clone(&ledger) as Rc<dyn timer::TimerLedger>));
    let mut sim = sim_builder(scenario, seed).build();
    sim.host("server", || async {
        server().await;
        Ok(())
    });
    sim.host("proxy", || async {
        proxy().await;
        Ok(())
    });
    let frames = Rc::new(Cell::new(0u64));
    for host in scenario.client_hosts() {
        let plans = client_plans(scenario, seed, &host);
        let frames = Rc::clone(&frames);
        sim.host(host.as_str(), move || {
            let plans = plans.clone();
            let frames = Rc::clone(&frames);
            async move {
                for plan in plans {
                    let room = plan.identity.room.clone();
                    tokio::task::spawn_local(client(
                        room,
                        plan.start,
                        plan.send_every,
                        Rc::clone(&frames),
                    ));
                }
                std::future::pending::<()>().await;
                Ok(())
            }
        });
    }
    let end = scenario.duration.0;
    let tick = sim.tick_duration();
    let mut steps = 0u64;
    let mut error = None;
    while sim.elapsed() < end {
        clock::set_sim_fallback(Some(sim.elapsed()));
        let now = sim.elapsed();
        let ticks = if now.is_zero() {
            1
        } else {
            idle::ticks_until_work(
                now,
                tick,
                NextWork {
                    timer: ledger.next_deadline(now),
                    delivery: sim.next_delivery(),
                    fault: None,
                    end,
                },
            )
        };
        steps += 1;
        if let Err(e) = sim.step_ticks(ticks) {
            error = Some(e.to_string());
            break;
        }
    }
    let elapsed = sim.elapsed();
    drop(sim);
    timer::install_ledger(outer);
    clock::set_sim_fallback(None);
    match error {
        Some(e) => Err(e),
        None => Ok(Floor {
            elapsed,
            frames: frames.get(),
            steps,
        }),
    }
}

/// The members of every room: each connection's room and its writer.
type Rooms = Rc<RefCell<Vec<(String, u64, mpsc::Sender<Message>)>>>;

/// Frames queued for one connection's writer at most; beyond it a frame is not queued (and is
/// missing from the frames read, which a floor run reports).
const MEMBER_QUEUE: usize = 4096;

/// Accepts WebSocket connections; acknowledges every text frame and writes it to the other
/// members of the sender's room (read from the request's `room` parameter).
async fn server() {
    let Ok(listener) = turmoil::net::TcpListener::bind(("0.0.0.0", SERVER_PORT)).await else {
        return;
    };
    let rooms: Rooms = Rc::default();
    let mut next = 0u64;
    while let Ok((stream, _)) = listener.accept().await {
        next += 1;
        tokio::task::spawn_local(member(stream, next, Rc::clone(&rooms)));
    }
}

/// One server connection: a writer task draining its queue, and the reader broadcasting.
async fn member(stream: turmoil::net::TcpStream, id: u64, rooms: Rooms) {
    let room = Rc::new(RefCell::new(String::new()));
    let seen = Rc::clone(&room);
    // tungstenite's callback type returns its (large) error response by value.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &http::Request<()>, resp| {
        let query = req.uri().query().unwrap_or_default();
        if let Some(r) = query.split('&').find_map(|kv| kv.strip_prefix("room=")) {
            *seen.borrow_mut() = r.to_string();
        }
        Ok(resp)
    };
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config(None)))
            .await
    else {
        return;
    };
    let room = room.borrow().clone();
    let (mut sink, mut reader) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(MEMBER_QUEUE);
    rooms.borrow_mut().push((room.clone(), id, tx.clone()));
    tokio::task::spawn_local(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let ack = Message::Text(Utf8Bytes::from_static(ACK_FRAME));
    let chat = Message::Text(Utf8Bytes::from_static(CHAT_FRAME));
    while let Some(Ok(msg)) = reader.next().await {
        if !msg.is_text() {
            continue;
        }
        let _ = tx.try_send(ack.clone());
        for (r, other, member) in rooms.borrow().iter() {
            if *other != id && *r == room {
                let _ = member.try_send(chat.clone());
            }
        }
    }
    rooms.borrow_mut().retain(|(_, other, _)| *other != id);
}

/// Relays every accepted connection to the server, bytes both ways.
async fn proxy() {
    let Ok(listener) = turmoil::net::TcpListener::bind(("0.0.0.0", PROXY_PORT)).await else {
        return;
    };
    while let Ok((mut downstream, _)) = listener.accept().await {
        tokio::task::spawn_local(async move {
            let Ok(mut upstream) = turmoil::net::TcpStream::connect(("server", SERVER_PORT)).await
            else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await;
        });
    }
}

/// One client: connects at `start`, then sends a text frame every `every` and reads all.
async fn client(room: String, start: Duration, every: Option<Duration>, frames: Rc<Cell<u64>>) {
    timer::sleep(start).await;
    let Ok(stream) = turmoil::net::TcpStream::connect(("proxy", PROXY_PORT)).await else {
        return;
    };
    let Ok(request) = http::Request::builder()
        .uri(format!("ws://proxy:{PROXY_PORT}/ws?room={room}"))
        .header("Host", format!("proxy:{PROXY_PORT}"))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(())
    else {
        return;
    };
    let Ok((ws, _)) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config(None))).await
    else {
        return;
    };
    let (mut sink, mut reader) = ws.split();
    let chat = Message::Text(Utf8Bytes::from_static(CHAT_FRAME));
    let clock = wsim_proto::HostClock::start();
    let mut next_send = every.map(|e| clock.now() + e);
    let mut timer = timer::Timer::new();
    loop {
        clock.arm(&mut timer, next_send);
        tokio::select! {
            biased;
            msg = reader.next() => match msg {
                Some(Ok(_)) => frames.set(frames.get() + 1),
                _ => return,
            },
            () = timer.fired() => {
                if sink.send(chat.clone()).await.is_err() {
                    return;
                }
                next_send = next_send.zip(every).map(|(at, e)| at + e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_acknowledged_to_its_sender_and_read_by_every_other_member() {
        let scenario = crate::scenario::parse(
            "floor.toml",
            r#"
name = "floor"
duration = "5500ms"
[[clients]]
count = 3
send_every = "1s"
[[clients]]
name = "other-room"
count = 2
room = "elsewhere"
send_every = "1s"
"#,
        )
        .expect("a valid scenario");
        let floor = simulate_floor(&scenario, 7).expect("the floor runs");
        // Five messages each; a room of 3 reads 3 frames per message, a room of 2 reads 2.
        assert_eq!(floor.frames, 3 * 5 * 3 + 2 * 5 * 2);
        assert_eq!(floor.elapsed, Duration::from_millis(5500));
        assert!(
            floor.steps < 5500,
            "idle ticks were skipped: {} steps",
            floor.steps
        );
    }
}

//! The client's life: connect, serve the link until it ends, back off, and again — buffering
//! what the application sends while offline and resending what was not acknowledged.

use std::future::Future;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use wsim_time::{sleep, sleep_until, timeout, Instant};

use crate::{Client, Connect, Event, PlantedBug, Power, Reason};

/// Most (sender, id) pairs remembered to hide a message delivered twice.
const DELIVERED_MEMORY: usize = 10_000;

type Ws<C> = WebSocketStream<<C as Connect>::Stream>;

pub(crate) async fn run<C: Connect, P: Power>(
    client: Rc<Client<C, P>>,
    start: Duration,
    mut inbox: UnboundedReceiver<String>,
) {
    offline(&client, &mut inbox, sleep(start)).await;
    let mut failures: u32 = 0;
    loop {
        client.power.awake().await;
        let attempt = failures + 1;
        (client.report)(Event::Connecting { attempt });
        let opened = timeout(client.settings.connect_timeout, open(&client));
        match offline(&client, &mut inbox, opened).await {
            Ok(Ok(ws)) => {
                (client.report)(Event::Connected { attempt });
                let up = Instant::now();
                let reason = live(&client, ws, &mut inbox).await;
                (client.report)(Event::Disconnected { reason });
                failures = if up.elapsed() >= client.settings.min_uptime {
                    0
                } else {
                    failures + 1
                };
            }
            Ok(Err(_)) => {
                (client.report)(Event::Disconnected {
                    reason: Reason::ConnectFailed,
                });
                failures += 1;
            }
            Err(_) => {
                (client.report)(Event::Disconnected {
                    reason: Reason::ConnectTimeout,
                });
                failures += 1;
            }
        }
        // The first retry waits up to `backoff_initial`; each further failure multiplies the
        // ceiling by `backoff_factor`, up to `backoff_max`.
        let s = &client.settings;
        let grown = i32::try_from(failures.saturating_sub(1)).unwrap_or(i32::MAX);
        let ceiling = Duration::from_secs_f64(
            (s.backoff_initial.as_secs_f64() * s.backoff_factor.powi(grown))
                .min(s.backoff_max.as_secs_f64()),
        );
        let delay = client.random.borrow_mut().up_to(ceiling);
        (client.report)(Event::Reconnecting {
            attempt: failures + 1,
            delay,
        });
        offline(&client, &mut inbox, sleep(delay)).await;
    }
}

/// Awaits `work` while buffering what the application sends.
async fn offline<C: Connect, P: Power, F: Future>(
    client: &Client<C, P>,
    inbox: &mut UnboundedReceiver<String>,
    work: F,
) -> F::Output {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            out = &mut work => return out,
            Some(text) = inbox.recv() => {
                if let Some(id) = queue(client, text) {
                    let pending = client.pending.borrow().len();
                    (client.report)(Event::Buffered { id, pending });
                }
            }
        }
    }
}

/// Queues a message until it is acknowledged; `None` when the buffer is full (refused).
fn queue<C: Connect, P: Power>(client: &Client<C, P>, text: String) -> Option<String> {
    let mut pending = client.pending.borrow_mut();
    if pending.len() >= client.settings.max_pending {
        return None;
    }
    let mut n = client.next_id.borrow_mut();
    *n += 1;
    let id = format!("{}:{n}", client.identity.client_id);
    pending.push_back((id.clone(), text));
    Some(id)
}

/// One connection attempt: TCP, then the upgrade with the session's query.
async fn open<C: Connect, P: Power>(client: &Client<C, P>) -> io::Result<Ws<C>> {
    let attempt = {
        let mut attempts = client.attempts.borrow_mut();
        *attempts += 1;
        *attempts
    };
    let id = &client.identity;
    let mut url = format!(
        "{}?room={}&username={}&client_id={}&session_key={}&attempt={attempt}",
        client.url,
        encode(&id.room),
        encode(&id.username),
        encode(&id.client_id),
        client.key
    );
    if let Some(seq) = *client.last_seq.borrow() {
        url.push_str(&format!("&last_seq={seq}"));
    }
    let stream = client.connector.connect().await?;
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(io::Error::other)?;
    Ok(ws)
}

/// Serves a live link until it ends, and says why.
async fn live<C: Connect, P: Power>(
    client: &Client<C, P>,
    ws: Ws<C>,
    inbox: &mut UnboundedReceiver<String>,
) -> Reason {
    let (mut sink, mut frames) = ws.split();
    let waiting: Vec<(String, String)> = client.pending.borrow().iter().cloned().collect();
    for (id, text) in waiting {
        if write(client, &mut sink, id, text).await.is_err() {
            return Reason::Reset;
        }
    }
    let (interval, patience) = (client.settings.ping_interval, client.settings.ping_timeout);
    let mut last_heard = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    loop {
        let deadline = match ping_sent {
            Some(at) => patience.map(|p| at + p),
            None => interval.map(|i| last_heard + i),
        };
        tokio::select! {
            biased;
            () = client.power.asleep() => client.power.awake().await,
            Some(text) = inbox.recv() => {
                if let Some(id) = queue(client, text.clone()) {
                    if write(client, &mut sink, id, text).await.is_err() {
                        return Reason::Reset;
                    }
                }
            }
            frame = frames.next() => {
                last_heard = Instant::now();
                ping_sent = None;
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(reply) = read(client, text.as_str()) {
                            if sink.send(Message::text(reply)).await.is_err() {
                                return Reason::Reset;
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => return Reason::ClosedByPeer,
                    Some(Ok(_)) => {}
                    Some(Err(_)) => return Reason::Reset,
                }
            }
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                if ping_sent.is_some() {
                    return Reason::PingTimeout;
                }
                ping_sent = Some(Instant::now());
                let ping = if client.settings.app_heartbeat {
                    Message::text(json!({"type": "ping"}).to_string())
                } else {
                    Message::Ping(Default::default())
                };
                if sink.send(ping).await.is_err() {
                    return Reason::Reset;
                }
            }
        }
    }
}

/// Writes a chat message; it stays pending until acknowledged.
async fn write<C: Connect, P: Power, S>(
    client: &Client<C, P>,
    sink: &mut S,
    id: String,
    text: String,
) -> Result<(), S::Error>
where
    S: futures_util::Sink<Message> + Unpin,
{
    let frame = json!({"type": "chat_message", "id": id, "text": text}).to_string();
    sink.send(Message::text(frame)).await?;
    if client.settings.planted_bug == Some(PlantedBug::ForgetOnWrite) {
        client.pending.borrow_mut().retain(|(p, _)| *p != id);
    }
    (client.report)(Event::Sent { id });
    Ok(())
}

/// Reads one server frame; returns the reply to send, if any.
fn read<C: Connect, P: Power>(client: &Client<C, P>, text: &str) -> Option<String> {
    let frame: Value = serde_json::from_str(text).ok()?;
    let str_of = |k: &str| {
        frame
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let num = |k: &str| frame.get(k).and_then(Value::as_u64).unwrap_or_default();
    match frame.get("type").and_then(Value::as_str)? {
        "welcome" => {
            let recovered = frame.get("recovered").and_then(Value::as_bool) == Some(true);
            let mut last_seq = client.last_seq.borrow_mut();
            if last_seq.is_some() {
                (client.report)(Event::Resumed {
                    recovered,
                    replayed: num("replayed"),
                });
            }
            if last_seq.is_none() || !recovered {
                *last_seq = Some(num("last_seq"));
            }
        }
        "ack" => {
            let id = str_of("id");
            let mut pending = client.pending.borrow_mut();
            if let Some(at) = pending.iter().position(|(p, _)| *p == id) {
                pending.remove(at);
                drop(pending);
                (client.report)(Event::Acked {
                    id,
                    seq: num("seq"),
                });
            }
        }
        "chat_message" => {
            let seq = num("seq");
            {
                let mut last_seq = client.last_seq.borrow_mut();
                if last_seq.is_some_and(|last| seq <= last) {
                    return None; // seen already: a replay overlapping live delivery
                }
                *last_seq = Some(seq);
            }
            let (id, from) = (str_of("id"), str_of("from"));
            {
                let mut delivered = client.delivered.borrow_mut();
                let (seen, order) = &mut *delivered;
                if !seen.insert((from.clone(), id.clone())) {
                    return None; // the same message numbered anew (after a server restart)
                }
                order.push_back((from.clone(), id.clone()));
                if order.len() > DELIVERED_MEMORY {
                    if let Some(old) = order.pop_front() {
                        seen.remove(&old);
                    }
                }
            }
            (client.report)(Event::Message {
                id,
                seq,
                from,
                username: str_of("username"),
                text: str_of("text"),
            });
        }
        "ping" => return Some(json!({"type": "pong"}).to_string()),
        _ => {}
    }
    None
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

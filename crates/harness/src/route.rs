//! Routes each component's own events into the one timeline: the client's [`ClientEvent`],
//! the server's [`ServerEvent`] and the proxy's [`ProxyEvent`] become [`EventKind`]s, stamped
//! with their host by the [`crate::timeline::Recorder`]. The product never sees the timeline.

use std::time::Duration;

use wsim_client::ClientEvent;
use wsim_proto::EventSink;
use wsim_proxy::ProxyEvent;
use wsim_server::ServerEvent;

use crate::event::EventKind;

/// A client sink that records `client`'s timeline events into `timeline` (a discarding sink
/// when `timeline` discards: nothing is converted).
#[must_use]
pub fn client_sink(timeline: &EventSink<EventKind>, client: &str) -> EventSink<ClientEvent> {
    if timeline.is_discarding() {
        return EventSink::discard();
    }
    let timeline = timeline.clone();
    let client = client.to_string();
    EventSink::new(move |event: ClientEvent| {
        if let Some(kind) = client_event(&client, event) {
            timeline.emit(kind);
        }
    })
}

/// A server sink that records into `timeline`.
#[must_use]
pub fn server_sink(timeline: &EventSink<EventKind>) -> EventSink<ServerEvent> {
    if timeline.is_discarding() {
        return EventSink::discard();
    }
    let timeline = timeline.clone();
    EventSink::new(move |event: ServerEvent| timeline.emit(server_event(event)))
}

/// A proxy sink that records into `timeline`.
#[must_use]
pub fn proxy_sink(timeline: &EventSink<EventKind>) -> EventSink<ProxyEvent> {
    if timeline.is_discarding() {
        return EventSink::discard();
    }
    let timeline = timeline.clone();
    EventSink::new(move |event: ProxyEvent| timeline.emit(proxy_event(event)))
}

/// The timeline event for `client`'s event, if it belongs in the timeline (presence changes
/// and dropped-event counts are the application's business).
#[must_use]
pub fn client_event(client: &str, event: ClientEvent) -> Option<EventKind> {
    if matches!(
        event,
        ClientEvent::Presence { .. } | ClientEvent::EventsDropped { .. }
    ) {
        return None;
    }
    let client = client.to_string();
    Some(match event {
        ClientEvent::Connecting { attempt } => EventKind::Connecting { client, attempt },
        ClientEvent::Connected { attempt } => EventKind::Connected { client, attempt },
        ClientEvent::UpgradeRefused { status } => EventKind::UpgradeRefused { client, status },
        ClientEvent::Disconnected { reason } => EventKind::Disconnected { client, reason },
        ClientEvent::Reconnecting { attempt, delay } => EventKind::ReconnectScheduled {
            client,
            attempt,
            delay_ms: millis(delay),
        },
        ClientEvent::Resumed {
            recovered,
            replayed,
        } => EventKind::Resumed {
            client,
            recovered,
            replayed,
        },
        ClientEvent::MessageBuffered { msg_id, pending } => EventKind::MessageBuffered {
            client,
            msg_id,
            pending,
        },
        ClientEvent::MessageSent { msg_id } => EventKind::MessageSent { client, msg_id },
        ClientEvent::MessageAcked { msg_id, seq } => EventKind::MessageAcked {
            client,
            msg_id,
            seq,
        },
        ClientEvent::Message {
            msg_id, seq, from, ..
        } => EventKind::MessageReceived {
            client,
            msg_id,
            seq,
            from,
        },
        ClientEvent::GaveUp { reason } => EventKind::GaveUp { client, reason },
        ClientEvent::Presence { .. } | ClientEvent::EventsDropped { .. } => return None,
    })
}

/// The timeline event for a server event.
#[must_use]
pub fn server_event(event: ServerEvent) -> EventKind {
    match event {
        ServerEvent::SessionOpened {
            client,
            room,
            conn,
            resumed,
        } => EventKind::SessionOpened {
            client,
            room,
            conn,
            resumed,
        },
        ServerEvent::ResumeRefused { client } => EventKind::ResumeRefused { client },
        ServerEvent::HandshakeRefused { status, reason } => {
            EventKind::HandshakeRefused { status, reason }
        }
        ServerEvent::SessionClosed { client, reason } => {
            EventKind::SessionClosed { client, reason }
        }
        ServerEvent::UserJoined { client, room } => EventKind::UserJoined { client, room },
        ServerEvent::UserAway { client, room } => EventKind::UserAway { client, room },
        ServerEvent::UserReconnected { client, room } => {
            EventKind::UserReconnected { client, room }
        }
        ServerEvent::UserLeft { client, room } => EventKind::UserLeft { client, room },
        ServerEvent::MessageAccepted {
            client,
            msg_id,
            seq,
        } => EventKind::MessageAccepted {
            client,
            msg_id,
            seq,
        },
        ServerEvent::DuplicateDropped { client, msg_id } => {
            EventKind::DuplicateDropped { client, msg_id }
        }
        ServerEvent::HistoryReplayed {
            client,
            count,
            recovered,
        } => EventKind::HistoryReplayed {
            client,
            count,
            recovered,
        },
        ServerEvent::HeartbeatTimeout { client } => EventKind::HeartbeatTimeout { client },
        ServerEvent::ServerStarted { listen } => EventKind::ServerStarted { listen },
    }
}

/// The timeline event for a proxy event.
#[must_use]
pub fn proxy_event(event: ProxyEvent) -> EventKind {
    match event {
        ProxyEvent::ProxyConnOpened { conn } => EventKind::ProxyConnOpened { conn },
        ProxyEvent::IdleKill {
            conn,
            client,
            idle_ms,
            mode,
        } => EventKind::IdleKill {
            conn,
            client,
            idle_ms,
            mode,
        },
        ProxyEvent::ProxyConnClosed {
            conn,
            client,
            reason,
            bytes_up,
            bytes_down,
        } => EventKind::ProxyConnClosed {
            conn,
            client,
            reason,
            bytes_up,
            bytes_down,
        },
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

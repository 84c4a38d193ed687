//! Sinks that record each component's own events into the one timeline: the client's
//! [`ClientEvent`] (with its client's name), the server's [`ServerEvent`] and the proxy's
//! [`ProxyEvent`] become [`EventKind`]s as they are, stamped with their host by the
//! [`crate::timeline::Recorder`]. The product never sees the timeline.

use wsim_client::ClientEvent;
use wsim_proto::EventSink;
use wsim_proxy::ProxyEvent;
use wsim_server::ServerEvent;

use crate::event::EventKind;

/// A client sink that records `client`'s timeline events into `timeline` (a discarding sink
/// when `timeline` discards).
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
    EventSink::new(move |event: ServerEvent| timeline.emit(EventKind::Server(event)))
}

/// A proxy sink that records into `timeline`.
#[must_use]
pub fn proxy_sink(timeline: &EventSink<EventKind>) -> EventSink<ProxyEvent> {
    if timeline.is_discarding() {
        return EventSink::discard();
    }
    let timeline = timeline.clone();
    EventSink::new(move |event: ProxyEvent| timeline.emit(EventKind::Proxy(event)))
}

/// The timeline event for `client`'s event, if it belongs in the timeline (dropped-event
/// counts are the application's business). A received message keeps what the
/// timeline records (its id, number and sender): its text and username are let go here, not
/// carried through the run's judging.
#[must_use]
pub fn client_event(client: &str, event: ClientEvent) -> Option<EventKind> {
    let event = match event {
        ClientEvent::EventsDropped { .. } => return None,
        ClientEvent::Message {
            msg_id, seq, from, ..
        } => ClientEvent::Message {
            msg_id,
            seq,
            from,
            username: String::new(),
            text: String::new(),
        },
        event => event,
    };
    Some(EventKind::Client {
        client: client.to_string(),
        event,
    })
}

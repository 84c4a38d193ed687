//! The thin tokio driver of a [`ClientMachine`]: turns its actions into connection attempts over
//! any [`Connector`], feeds it frames and timeouts, writes its frames, and records its events.

use std::io;

use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;

use crate::client::handshake::{self, WsUrl};
use crate::client::machine::{Action, ClientMachine, LinkEnd, MessageId};
use crate::clock::HostClock;
use crate::net::{Connector, LocalBoxFuture};
use crate::timeline::EventSink;
use crate::wslink::{LinkInput, WsLink};

/// What the application asks of a running client.
#[derive(Debug)]
enum Command {
    Send(String),
    Close,
}

/// The application's handle on a running client. Dropping every handle closes the client.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl ClientHandle {
    /// Sends `text` (queued while offline). Never blocks.
    pub fn send(&self, text: impl Into<String>) {
        let _ = self.commands.send(Command::Send(text.into()));
    }

    /// Closes the client: the link is dropped and no reconnect follows.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}

/// A client ready to run: call [`ClientDriver::run`] inside a `LocalSet`.
pub struct ClientDriver<C: Connector> {
    machine: ClientMachine,
    connector: C,
    url: WsUrl,
    sink: EventSink,
    commands: mpsc::UnboundedReceiver<Command>,
}

type Handshake<S> = LocalBoxFuture<io::Result<WebSocketStream<S>>>;

impl<C: Connector> ClientDriver<C> {
    /// Prepares a driver and the application's handle to it.
    pub fn new(
        machine: ClientMachine,
        connector: C,
        url: WsUrl,
        sink: EventSink,
    ) -> (Self, ClientHandle) {
        let (tx, commands) = mpsc::unbounded_channel();
        (
            ClientDriver {
                machine,
                connector,
                url,
                sink,
                commands,
            },
            ClientHandle { commands: tx },
        )
    }

    /// Runs until the client is closed.
    pub async fn run(mut self) {
        let clock = HostClock::start();
        let mut link: Option<WsLink<C::Stream>> = None;
        let mut attempt: Option<Handshake<C::Stream>> = None;
        let mut commands_open = true;
        loop {
            self.drain(&mut link, &mut attempt);
            if self.machine.is_closed() {
                return;
            }
            let deadline = self.machine.poll_timeout();
            tokio::select! {
                biased;
                result = async { attempt.as_mut().expect("guarded").await }, if attempt.is_some() => {
                    attempt = None;
                    match result {
                        Ok(ws) => {
                            link = Some(WsLink::new(ws));
                            self.machine.handle_connected(clock.now());
                        }
                        Err(_) => self.machine.handle_connect_failed(clock.now()),
                    }
                }
                input = async { link.as_mut().expect("guarded").next().await }, if link.is_some() => {
                    let now = clock.now();
                    match input {
                        LinkInput::Frame(frame) => self.machine.handle_inbound(now, frame),
                        LinkInput::Eof => self.machine.handle_link_end(now, LinkEnd::Eof),
                        LinkInput::Error | LinkInput::TooBig => {
                            self.machine.handle_link_end(now, LinkEnd::Error);
                        }
                    }
                }
                command = self.commands.recv(), if commands_open => match command {
                    Some(Command::Send(text)) => {
                        let _: MessageId = self.machine.send(clock.now(), text);
                    }
                    Some(Command::Close) => self.machine.close(clock.now()),
                    None => commands_open = false,
                },
                () = clock.sleep_until(deadline) => self.machine.handle_timeout(clock.now()),
            }
        }
    }

    /// Carries out everything the machine asked for and records its events.
    fn drain(
        &mut self,
        link: &mut Option<WsLink<C::Stream>>,
        attempt: &mut Option<Handshake<C::Stream>>,
    ) {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Connect { key } => {
                    *attempt = Some(self.handshake(&key));
                }
                Action::Disconnect => {
                    *attempt = None;
                    *link = None;
                }
            }
        }
        while let Some(frame) = self.machine.poll_transmit() {
            if let Some(link) = link.as_ref() {
                link.send(frame);
            }
        }
        while let Some(event) = self.machine.poll_event() {
            self.sink.emit(event);
        }
    }

    fn handshake(&self, key: &str) -> Handshake<C::Stream> {
        let connect = self.connector.connect(&self.url.authority);
        let request = handshake::request(&self.url, self.machine.identity(), key);
        Box::pin(async move {
            let request = request.map_err(io::Error::other)?;
            let stream = connect.await?;
            let (ws, _response) = tokio_tungstenite::client_async(request, stream)
                .await
                .map_err(io::Error::other)?;
            Ok(ws)
        })
    }
}

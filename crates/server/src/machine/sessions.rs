//! Sessions and their grace period: claiming a session, opening a new one or resuming an
//! away one (with its replay), a dropped connection making its session away, and expiring the
//! sessions whose grace period is over.

use super::*;

impl ServerMachine {
    /// Judges a claim against the sessions as they are.
    pub(super) fn claim(&self, join: &JoinRequest) -> Result<Claim, ClaimRefusal> {
        claim::judge(
            self.sessions.get(&join.client_id).map(|s| &s.credential),
            join,
            self.sessions.len() >= self.config.max_sessions,
            self.config.keyless_resume,
        )
    }

    pub(super) fn open_new(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        let credential = Credential::new(&join, &mut self.rng);
        // A retry of what the client's expired session accepted is still a duplicate.
        let dedup = self.retained.take(now, &join.client_id).unwrap_or_default();
        let key = credential.key.clone();
        let room = self.rooms.entry(join.room.clone()).or_default();
        let last_seq = room.last_seq;
        room.members.insert(join.client_id.clone());
        let epoch = self.epoch.clone();
        self.conns.insert(
            conn,
            Conn::new(
                join.client_id.clone(),
                Keepalive::new(self.config.heartbeat, now),
            ),
        );
        super::lower(
            &mut self.wake_by,
            Keepalive::new(self.config.heartbeat, now).deadline(),
        );
        self.events.push_back(ServerEvent::SessionOpened {
            client: join.client_id.clone(),
            room: join.room.clone(),
            conn,
            resumed: false,
        });
        self.send(
            conn,
            &ServerMessage::Welcome {
                client_id: join.client_id.clone(),
                username: join.username.clone(),
                room: join.room.clone(),
                resume_secret: key.clone(),
                recovered: false,
                replayed: 0,
                last_seq,
                epoch,
            },
        );
        if join.last_seq.is_some() {
            // The client had a session this server no longer knows (expired, or a restart).
            self.events.push_back(ServerEvent::HistoryReplayed {
                client: join.client_id.clone(),
                count: 0,
                recovered: false,
            });
        }
        self.events.push_back(ServerEvent::UserJoined {
            client: join.client_id.clone(),
            room: join.room.clone(),
        });
        let presence = ServerMessage::UserJoined {
            username: join.username.clone(),
        };
        self.broadcast(&join.room, Some(&join.client_id), &presence);
        self.sessions.insert(
            join.client_id,
            Session {
                username: join.username,
                room: join.room,
                credential,
                conn: Some(conn),
                away_since: None,
                dedup,
                first_seq: last_seq,
                delivered: Delivered::at(last_seq),
            },
        );
    }

    pub(super) fn resume(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        let Some(session) = self.sessions.get_mut(&join.client_id) else {
            return;
        };
        session.credential.resumed_by(&join);
        let client = join.client_id;
        let old = session.conn.replace(conn);
        if old.is_some() {
            // A takeover: the old connection did not end in order (its client moved on).
            session.delivered.resume_from = session.delivered.confirmed_seq;
        }
        let delivered = session.delivered;
        let was_away = session.away_since.take().is_some();
        let (username, room_name, key) = (
            session.username.clone(),
            session.room.clone(),
            session.credential.key.clone(),
        );
        if let Some(old) = old {
            // Takeover: the newer connection wins; presence does not change.
            self.transmits.push_back((
                old,
                Outbound::Close {
                    code: frame::CLOSE_REPLACED,
                    reason: "replaced by a newer connection".into(),
                },
            ));
            if self.conns.remove(&old).is_some() {
                self.drops.push_back(old);
                self.events.push_back(ServerEvent::SessionClosed {
                    client: client.clone(),
                    reason: "replaced".into(),
                });
            }
        }
        self.conns.insert(
            conn,
            Conn::new(client.clone(), Keepalive::new(self.config.heartbeat, now)),
        );
        super::lower(
            &mut self.wake_by,
            Keepalive::new(self.config.heartbeat, now).deadline(),
        );
        let first_seq = session.first_seq;
        let room = self.rooms.entry(room_name.clone()).or_default();
        // Numbers from another incarnation mean nothing here: a client that presents them
        // never read this incarnation's welcome, so it has seen nothing since its session
        // opened (its welcome lost, say, with the attempt that carried it).
        let foreign = join.epoch.as_ref().is_some_and(|e| *e != self.epoch);
        // A client that says nothing of what it has seen: one with a session key speaks this
        // protocol and sends `last_seq` once it has read a welcome, so it has read nothing the
        // session was sent; a keyless one (the seed article's) never says, and the server
        // replays what follows what it knows the client read.
        let seen = match join.last_seq {
            _ if foreign => first_seq,
            Some(seen) => seen,
            None if join.session_key.is_some() => first_seq,
            None => delivered.resume_from.max(first_seq),
        };
        let oldest = room.history.front().map_or(room.last_seq + 1, |h| h.seq);
        let recovered = seen <= room.last_seq && seen + 1 >= oldest;
        let replay: Vec<HistoryEntry> = if recovered {
            room.history
                .iter()
                .filter(|h| h.seq > seen && h.from != client)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let last_seq = room.last_seq;
        if let Some(session) = self.sessions.get_mut(&client) {
            // Everything up to now is replayed, the client's own, or lost with the history
            // (then the client resyncs from the welcome's `last_seq`).
            session.delivered = Delivered::at(last_seq);
        }
        self.events.push_back(ServerEvent::SessionOpened {
            client: client.clone(),
            room: room_name.clone(),
            conn,
            resumed: true,
        });
        self.send(
            conn,
            &ServerMessage::Welcome {
                client_id: client.clone(),
                username: username.clone(),
                room: room_name.clone(),
                resume_secret: key,
                recovered,
                replayed: replay.len() as u64,
                last_seq,
                epoch: self.epoch.clone(),
            },
        );
        self.events.push_back(ServerEvent::HistoryReplayed {
            client: client.clone(),
            count: replay.len() as u64,
            recovered,
        });
        for h in replay {
            self.send(
                conn,
                &ServerMessage::ChatMessage {
                    id: h.id,
                    from: h.from,
                    username: h.username,
                    text: h.text,
                    seq: h.seq,
                },
            );
        }
        if was_away {
            self.events.push_back(ServerEvent::UserReconnected {
                client: client.clone(),
                room: room_name.clone(),
            });
            let presence = ServerMessage::UserReconnected { username };
            self.broadcast(&room_name, Some(&client), &presence);
        }
    }

    /// Forgets `conn`; its session, if this was its live connection, becomes away.
    pub(super) fn drop_conn(&mut self, now: MonoTime, conn: ConnId, reason: &str) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.drops.push_back(conn);
        self.events.push_back(ServerEvent::SessionClosed {
            client: c.client_id.clone(),
            reason: reason.to_string(),
        });
        let Some(session) = self.sessions.get_mut(&c.client_id) else {
            return;
        };
        if session.conn != Some(conn) {
            return;
        }
        session.conn = None;
        session.away_since = Some(now);
        let d = &mut session.delivered;
        d.resume_from = if reason == "closed_by_peer" {
            d.sent_seq
        } else {
            d.confirmed_seq
        };
        let grace_ends = now + self.config.grace;
        let (room, username) = (session.room.clone(), session.username.clone());
        super::lower(&mut self.wake_by, Some(grace_ends));
        self.events.push_back(ServerEvent::UserAway {
            client: c.client_id.clone(),
            room: room.clone(),
        });
        self.broadcast(
            &room,
            Some(&c.client_id),
            &ServerMessage::UserAway { username },
        );
    }

    /// Ends every session whose grace period is over: the user has left.
    pub(super) fn expire_sessions(&mut self, now: MonoTime) {
        let grace = self.config.grace;
        let expired: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.away_since.is_some_and(|t| now >= t + grace))
            .map(|(id, _)| id.clone())
            .collect();
        for client in expired {
            let Some(mut session) = self.sessions.remove(&client) else {
                continue;
            };
            let ttl = self.config.dedup_ttl;
            session.dedup.expire(now, ttl);
            let dedup = std::mem::take(&mut session.dedup);
            let limit = self.config.max_sessions;
            self.retained.keep(now, client.clone(), dedup, ttl, limit);
            if let Some(room) = self.rooms.get_mut(&session.room) {
                room.members.remove(&client);
                if room.members.is_empty() {
                    // No session is left to resume into it: its history goes. It keeps its
                    // numbering (a room that fills again goes on counting) until more rooms
                    // than sessions allowed have emptied since.
                    room.history = VecDeque::new();
                    self.emptied.push_back(session.room.clone());
                    while self.emptied.len() > self.config.max_sessions {
                        let Some(name) = self.emptied.pop_front() else {
                            break;
                        };
                        if self.rooms.get(&name).is_some_and(|r| r.members.is_empty()) {
                            self.rooms.remove(&name);
                        }
                    }
                }
            }
            self.events.push_back(ServerEvent::UserLeft {
                client: client.clone(),
                room: session.room.clone(),
            });
            let presence = ServerMessage::UserLeft {
                username: session.username,
            };
            self.broadcast(&session.room, None, &presence);
        }
    }
}

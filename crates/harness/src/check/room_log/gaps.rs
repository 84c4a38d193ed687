//! The gap rule of `room_log`: the holes of a client's session judged — excused as its own
//! message, a repeat across server incarnations, a message accepted twice, a number whose
//! message may have been forgotten, or one of its own unacknowledged messages — and closed.

use std::time::Duration;

use super::{RoomLog, Session};
use crate::check::Violation;

impl RoomLog {
    /// Judges the holes of `client`'s `session` closed before `before` (every hole, with
    /// `Duration::MAX`) and closes them: the first unexcused one, unless the session had one
    /// already, as a violation.
    pub(super) fn judge_holes(
        &self,
        client: &str,
        session: &mut Session,
        before: Duration,
    ) -> Option<Violation> {
        let room = self.room(client);
        let room_id = self.rooms.get(&room);
        let unowned_allowed = session.pending.len();
        let mut found = None;
        for hole in session.seen.holes().filter(|h| h.next_at < before) {
            if session.reported || found.is_some() {
                break;
            }
            for seq in hole.from..=hole.to {
                let owner = room_id
                    .and_then(|r| self.numbered.get(&(session.epoch, r, seq)))
                    .and_then(|(m, _)| self.msgs.get(m));
                let maybe_forgotten = room_id.is_some_and(|r| {
                    self.forgotten
                        .get(&(session.epoch, r))
                        .is_some_and(|&f| seq <= f)
                });
                match owner {
                    Some(info) if info.from == client => continue,
                    // Accepted again by a restarted server: a client that read it from the
                    // earlier incarnation drops the repeat (one message, shown once).
                    Some(info) if info.first_epoch < session.epoch => continue,
                    // Accepted twice (reported as such): the client showed it once, under its
                    // first number, and dropped the copy by its id.
                    Some(info) if info.accepted_twice => continue,
                    // Its message may have been forgotten: not judged.
                    None if maybe_forgotten => continue,
                    None if session.unowned_used < unowned_allowed => {
                        session.unowned_used += 1;
                        continue;
                    }
                    _ => {}
                }
                let whose = owner.map_or_else(
                    || "a message nobody saw".to_string(),
                    |info| format!("{}/{}", info.from, info.id),
                );
                let cause = session
                    .empty_replays
                    .iter()
                    .find(|(_, first)| *first == Some(hole.next))
                    .map_or_else(String::new, |(at, _)| {
                        format!(
                            ": it resumed at {} ms saying recovered: true and was replayed \
                             nothing, then its first number was {} — the server promised the \
                             missed history and did not send it",
                            at.as_millis(),
                            hole.next
                        )
                    });
                found = Some(Violation {
                    t: hole.next_at,
                    detail: format!(
                        "{client} never saw seq {seq} ({whose}) of room {room:?}, though it saw \
                         seq {} and {} in the same session (no resync in between){cause}",
                        seq - 1,
                        hole.next
                    ),
                });
                break;
            }
        }
        session.reported |= found.is_some();
        session.seen.close_holes_before(before);
        found
    }
}

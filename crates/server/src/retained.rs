//! De-duplication memory that outlives its session. A session that expires (its client away
//! past the grace period) may still have a message in flight whose acknowledgement never
//! arrived: the client retries it in its next session. The ended session's ids are kept, by
//! client id, for the dedup TTL from the session's end, and the client's next session
//! starts with them — a retried message is acknowledged with its original number, never
//! accepted twice.
//!
//! Bounded: at most `limit` clients' tables are kept (the one that ended first is dropped to
//! make room), and each table is bounded by the session's own dedup limit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::clock::MonoTime;
use crate::dedup::Dedup;

/// The dedup tables of ended sessions, by client id.
#[derive(Debug, Default)]
pub struct RetainedDedup {
    tables: BTreeMap<String, (MonoTime, Dedup)>,
    /// (until, client id), earliest first, to expire and evict in order.
    by_expiry: BTreeSet<(MonoTime, String)>,
}

impl RetainedDedup {
    /// Keeps `dedup`, the table of `client`'s session that ended at `now`, for `ttl`.
    pub fn keep(
        &mut self,
        now: MonoTime,
        client: String,
        dedup: Dedup,
        ttl: Duration,
        limit: usize,
    ) {
        self.expire(now);
        if dedup.is_empty() {
            return;
        }
        self.forget(&client);
        while self.tables.len() >= limit.max(1) {
            let Some((_, oldest)) = self.by_expiry.pop_first() else {
                break;
            };
            self.tables.remove(&oldest);
        }
        let until = now + ttl;
        self.by_expiry.insert((until, client.clone()));
        self.tables.insert(client, (until, dedup));
    }

    /// The table `client`'s ended session left, if it is still within its TTL.
    pub fn take(&mut self, now: MonoTime, client: &str) -> Option<Dedup> {
        self.expire(now);
        let (until, dedup) = self.tables.remove(client)?;
        self.by_expiry.remove(&(until, client.to_string()));
        Some(dedup)
    }

    fn forget(&mut self, client: &str) {
        if let Some((until, _)) = self.tables.remove(client) {
            self.by_expiry.remove(&(until, client.to_string()));
        }
    }

    /// Drops every table whose TTL has run out.
    fn expire(&mut self, now: MonoTime) {
        while let Some((until, _)) = self.by_expiry.first() {
            if *until > now {
                break;
            }
            if let Some((_, client)) = self.by_expiry.pop_first() {
                self.tables.remove(&client);
            }
        }
    }

    /// How many clients' tables are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether none is kept.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(300);

    fn table(id: &str) -> Dedup {
        let mut d = Dedup::default();
        d.remember(MonoTime::ZERO, id.into(), 7, TTL, 10);
        d
    }

    #[test]
    fn an_ended_sessions_ids_pass_to_the_clients_next_session_within_the_ttl() {
        let mut r = RetainedDedup::default();
        r.keep(
            MonoTime::from_millis(1_000),
            "a".into(),
            table("a:1"),
            TTL,
            10,
        );
        let next = r.take(MonoTime::from_millis(2_000), "a").expect("kept");
        assert_eq!(next.seen("a:1"), Some(7));
        assert!(
            r.take(MonoTime::from_millis(2_000), "a").is_none(),
            "taken once"
        );
        r.keep(
            MonoTime::from_millis(1_000),
            "b".into(),
            table("b:1"),
            TTL,
            10,
        );
        assert!(
            r.take(MonoTime::from_millis(301_000), "b").is_none(),
            "expired"
        );
        assert!(r.is_empty());
    }

    /// A client's table kept again replaces the one before, and runs its own TTL.
    #[test]
    fn a_table_kept_again_replaces_the_one_before() {
        let mut r = RetainedDedup::default();
        let at = MonoTime::from_millis;
        r.keep(at(0), "a".into(), table("a:1"), TTL, 10);
        r.keep(at(100_000), "a".into(), table("a:2"), TTL, 10);
        assert_eq!(r.len(), 1);
        // The first table's TTL (300 s) has run out, the second's (400 s) has not.
        let kept = r.take(at(350_000), "a").expect("the second table");
        assert_eq!((kept.seen("a:2"), kept.seen("a:1")), (Some(7), None));
    }

    #[test]
    fn an_empty_table_is_not_kept() {
        let mut r = RetainedDedup::default();
        r.keep(MonoTime::ZERO, "a".into(), Dedup::default(), TTL, 10);
        assert!(r.is_empty());
        assert!(r.take(MonoTime::ZERO, "a").is_none());
    }

    #[test]
    fn at_the_limit_the_table_that_ends_first_is_dropped() {
        let mut r = RetainedDedup::default();
        for (i, c) in ["a", "b", "c"].into_iter().enumerate() {
            r.keep(
                MonoTime::from_millis(i as u64),
                c.into(),
                table("x"),
                TTL,
                2,
            );
        }
        assert_eq!(r.len(), 2);
        assert!(r.take(MonoTime::from_millis(3), "a").is_none());
        assert!(r.take(MonoTime::from_millis(3), "c").is_some());
    }
}

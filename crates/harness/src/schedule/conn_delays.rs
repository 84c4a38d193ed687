//! The `proxy_conn` delays active on each client, so that the end of one restores the fate
//! the others still give the client's connection instead of plain relaying.

use std::collections::BTreeMap;
use std::time::Duration;

use wsim_proxy::Fate;

/// Client → the delays active on its connection, in the order they started (fault id, delay).
#[derive(Debug, Default)]
pub(crate) struct ConnDelays(BTreeMap<String, Vec<(u32, Duration)>>);

impl ConnDelays {
    /// Delay fault `id` of `delay` starts on `client`: the fate to give its connection.
    pub(crate) fn start(&mut self, client: &str, id: u32, delay: Duration) -> Fate {
        self.0
            .entry(client.to_owned())
            .or_default()
            .push((id, delay));
        Fate::Delay(delay)
    }

    /// Delay fault `id` ends on `client`: the fate its connection returns to — the latest
    /// delay still active, else relaying.
    pub(crate) fn end(&mut self, client: &str, id: u32) -> Fate {
        let Some(active) = self.0.get_mut(client) else {
            return Fate::Relay;
        };
        active.retain(|(i, _)| *i != id);
        let fate = active.last().map_or(Fate::Relay, |(_, d)| Fate::Delay(*d));
        if active.is_empty() {
            self.0.remove(client);
        }
        fate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_one_delay_keeps_the_others() {
        let mut d = ConnDelays::default();
        let ms = Duration::from_millis;
        assert_eq!(d.start("a-0", 1, ms(100)), Fate::Delay(ms(100)));
        assert_eq!(d.start("a-0", 2, ms(300)), Fate::Delay(ms(300)));
        assert_eq!(d.start("b-0", 3, ms(5)), Fate::Delay(ms(5)));
        // The later-started delay ends first: back to the earlier one.
        assert_eq!(d.end("a-0", 2), Fate::Delay(ms(100)));
        assert_eq!(d.end("a-0", 1), Fate::Relay);
        assert_eq!(d.end("a-0", 1), Fate::Relay, "an unknown end relays");
        assert_eq!(d.end("b-0", 3), Fate::Relay);
        assert!(d.0.is_empty(), "nothing kept once every delay ended");
    }
}

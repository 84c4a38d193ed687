//! wsim patch: a host's software torn down (crash, bounce) says goodbye in a fixed order.
//!
//! Dropping a host's tokio runtime drops its `tokio::spawn`ed tasks in the order of tokio's
//! task ids, which a process-wide counter hands out: two runs of one seed in one process (or
//! beside other tests) drop them, and send their sockets' FIN and RST segments, in different
//! orders. Peers then learn of the closes in different orders, and each segment draws its
//! latency from the world's random stream in a different turn. While a host is torn down its
//! segments are collected instead ([`Teardown`]) and sent afterwards sorted by socket pair; a
//! pair's goodbye is a RST if any half sent one (what the read half sends when it is dropped
//! first), else its segments in the order sent.

use std::net::SocketAddr;

use crate::envelope::{Protocol, Segment};

/// The segments a host sent while its software was being dropped.
#[derive(Debug, Default)]
pub(crate) struct Teardown {
    sent: Vec<(SocketAddr, SocketAddr, Protocol)>,
}

impl Teardown {
    /// Keeps a segment for later.
    pub(crate) fn push(&mut self, src: SocketAddr, dst: SocketAddr, message: Protocol) {
        self.sent.push((src, dst, message));
    }

    /// The segments in the order to send them: by socket pair, a pair's RST alone if it has
    /// one, else its segments as sent.
    pub(crate) fn into_ordered(mut self) -> Vec<(SocketAddr, SocketAddr, Protocol)> {
        // Stable: within a pair, the order sent.
        self.sent.sort_by_key(|(src, dst, _)| (*src, *dst));
        let mut out: Vec<(SocketAddr, SocketAddr, Protocol)> = Vec::with_capacity(self.sent.len());
        let mut pair_start = 0;
        for (src, dst, message) in self.sent {
            if out
                .get(pair_start)
                .is_none_or(|(s, d, _)| (*s, *d) != (src, dst))
            {
                pair_start = out.len();
            }
            if matches!(message, Protocol::Tcp(Segment::Rst)) {
                out.truncate(pair_start);
                out.push((src, dst, message));
            } else if !matches!(
                out.get(pair_start),
                Some((_, _, Protocol::Tcp(Segment::Rst)))
            ) {
                out.push((src, dst, message));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    fn kinds(t: Teardown) -> Vec<(u16, &'static str)> {
        t.into_ordered()
            .into_iter()
            .map(|(_, dst, m)| {
                let kind = match m {
                    Protocol::Tcp(Segment::Rst) => "rst",
                    Protocol::Tcp(Segment::Fin(_)) => "fin",
                    _ => "other",
                };
                (dst.port(), kind)
            })
            .collect()
    }

    #[test]
    fn goodbyes_go_by_socket_pair_whatever_the_drop_order() {
        let fin = |n| Protocol::Tcp(Segment::Fin(n));
        let rst = || Protocol::Tcp(Segment::Rst);
        let mut a = Teardown::default();
        a.push(addr(9000), addr(3), fin(1));
        a.push(addr(9000), addr(1), rst());
        a.push(addr(9000), addr(2), fin(7));
        let mut b = Teardown::default();
        // The other drop order: the write half of 1 first (FIN), then its read half (RST).
        b.push(addr(9000), addr(2), fin(7));
        b.push(addr(9000), addr(1), fin(4));
        b.push(addr(9000), addr(3), fin(1));
        b.push(addr(9000), addr(1), rst());
        let expected = vec![(1, "rst"), (2, "fin"), (3, "fin")];
        assert_eq!(kinds(a), expected);
        assert_eq!(kinds(b), expected);
    }
}

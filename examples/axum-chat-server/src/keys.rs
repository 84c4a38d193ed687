//! The server's own randomness: a seeded splitmix64 for the epoch and the session keys drawn
//! for clients that bring none (deterministic under simulation, never the OS's).

/// splitmix64 (Steele, Lea, Flood 2014): small, fast, and good enough for unguessable-looking
/// keys in a test server; a production server would draw its keys from a CSPRNG.
#[derive(Debug, Clone)]
pub(crate) struct Keys(u64);

impl Keys {
    pub(crate) fn new(seed: u64) -> Self {
        Keys(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 16 hex digits: a server incarnation's `epoch`.
    pub(crate) fn epoch(&mut self) -> String {
        format!("{:016x}", self.next())
    }

    /// 32 hex digits (16 bytes, as wsim's client draws its own): a session key.
    pub(crate) fn session_key(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}

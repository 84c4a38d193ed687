//! Reading the upgrade request: the path and the query parameters of docs/protocol.md
//! ("Connecting"), or the HTTP answer that refuses it before the upgrade.

/// A connection request, as its query states it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub client_id: String,
    pub username: String,
    pub room: String,
    /// `session_key` (or its older name `resume`).
    pub key: Option<String>,
    /// `attempt`: grows with every attempt a client makes with its key.
    pub attempt: Option<u64>,
    /// `last_seq`: the highest room sequence number the client has seen.
    pub last_seq: Option<u64>,
}

/// An HTTP answer instead of the upgrade.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub status: u16,
    pub reason: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

/// Reads `path` and `query` of an upgrade request.
pub(crate) fn parse(path: &str, query: Option<&str>) -> Result<Request, Refusal> {
    if path != "/ws" {
        return Err(Refusal::new(404, "not found"));
    }
    let pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let required =
        |name: &str| get(name).ok_or_else(|| Refusal::new(400, format!("missing {name}")));
    let number = |name: &str| -> Result<Option<u64>, Refusal> {
        get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| Refusal::new(400, format!("{name} is not an integer")))
            })
            .transpose()
    };
    Ok(Request {
        client_id: required("client_id")?,
        username: required("username")?,
        room: required("room")?,
        key: get("session_key").or_else(|| get("resume")),
        attempt: number("attempt")?,
        last_seq: number("last_seq")?,
    })
}

/// Form decoding: `%XX` escapes and `+` for a space.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_query_and_refuses_what_the_protocol_refuses() {
        let r = parse(
            "/ws",
            Some("room=a+b&username=%C3%A9&client_id=c1&attempt=2"),
        )
        .unwrap();
        assert_eq!((r.room.as_str(), r.username.as_str()), ("a b", "é"));
        assert_eq!((r.attempt, r.last_seq, r.key), (Some(2), None, None));
        assert_eq!(parse("/x", None).unwrap_err().status, 404);
        assert_eq!(
            parse("/ws", Some("room=a&username=u")).unwrap_err().status,
            400
        );
        let bad = parse("/ws", Some("room=a&username=u&client_id=c&last_seq=x"));
        assert_eq!(bad.unwrap_err().status, 400);
    }
}

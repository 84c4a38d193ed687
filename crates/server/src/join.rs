//! The join request a client makes in its upgrade URL:
//! `/ws?room=R&username=U&client_id=C[&session_key=K][&last_seq=N]`.

/// Who is connecting and where to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// Stable client id.
    pub client_id: String,
    /// Display name.
    pub username: String,
    /// Room to join.
    pub room: String,
    /// The session key the client presents (`session_key=`, or its older name `resume=`): the
    /// credential of the session it opens or resumes. `None` for clients that present none
    /// (the seed article's).
    pub session_key: Option<String>,
    /// The last room sequence number the client has seen (`last_seq=`).
    pub last_seq: Option<u64>,
    /// The server incarnation `last_seq` belongs to (`epoch=`, from the last welcome).
    pub epoch: Option<String>,
    /// The connection attempt's number (`attempt=`), increasing with every attempt of a
    /// session key: an older attempt never takes over from a newer one.
    pub attempt: Option<u64>,
}

/// Why a join request was refused (HTTP 400 at the handshake).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinError {
    /// A required query parameter is missing or empty.
    #[error("missing query parameter `{0}`")]
    Missing(&'static str),
    /// A query parameter has a value the server cannot use.
    #[error("invalid query parameter `{0}`")]
    Invalid(&'static str),
}

impl JoinRequest {
    /// Reads the join request from a request URI's query string.
    pub fn from_query(query: Option<&str>) -> Result<Self, JoinError> {
        let mut room = None;
        let mut username = None;
        let mut client_id = None;
        let mut session_key = None;
        let mut last_seq = None;
        let mut epoch = None;
        let mut attempt = None;
        for pair in query.unwrap_or("").split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = wsim_proto::query::percent_decode(v);
            match k {
                "room" => room = Some(v),
                "username" => username = Some(v),
                "client_id" => client_id = Some(v),
                "session_key" | "resume" if !v.is_empty() => session_key = Some(v),
                "epoch" if !v.is_empty() => epoch = Some(v),
                "attempt" => {
                    attempt = Some(
                        v.parse::<u64>()
                            .map_err(|_| JoinError::Invalid("attempt"))?,
                    );
                }
                "last_seq" => {
                    last_seq = Some(
                        v.parse::<u64>()
                            .map_err(|_| JoinError::Invalid("last_seq"))?,
                    );
                }
                _ => {}
            }
        }
        let take =
            |v: Option<String>, name| v.filter(|s| !s.is_empty()).ok_or(JoinError::Missing(name));
        Ok(JoinRequest {
            room: take(room, "room")?,
            username: take(username, "username")?,
            client_id: take(client_id, "client_id")?,
            session_key,
            last_seq,
            epoch,
            attempt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_article_query() {
        let j = JoinRequest::from_query(Some("room=general&username=Alice&client_id=123")).unwrap();
        assert_eq!(
            j,
            JoinRequest {
                client_id: "123".into(),
                username: "Alice".into(),
                room: "general".into(),
                session_key: None,
                last_seq: None,
                epoch: None,
                attempt: None,
            }
        );
    }

    #[test]
    fn resume_parameters_are_optional_and_checked() {
        let j = JoinRequest::from_query(Some(
            "room=r&username=u&client_id=c&resume=s&last_seq=9&epoch=5eed",
        ))
        .unwrap();
        assert_eq!((j.session_key.as_deref(), j.last_seq), (Some("s"), Some(9)));
        assert_eq!(j.epoch.as_deref(), Some("5eed"));
        let j =
            JoinRequest::from_query(Some("room=r&username=u&client_id=c&session_key=k")).unwrap();
        assert_eq!(j.session_key.as_deref(), Some("k"));
        assert_eq!(
            JoinRequest::from_query(Some("room=r&username=u&client_id=c&last_seq=x")),
            Err(JoinError::Invalid("last_seq"))
        );
    }

    #[test]
    fn decodes_escapes() {
        let j = JoinRequest::from_query(Some("room=a%20b&username=A+B&client_id=%zz")).unwrap();
        assert_eq!(j.room, "a b");
        assert_eq!(j.username, "A B");
        assert_eq!(j.client_id, "%zz");
    }

    #[test]
    fn missing_or_empty_parameters_are_refused() {
        assert_eq!(
            JoinRequest::from_query(Some("room=r&username=u")),
            Err(JoinError::Missing("client_id"))
        );
        assert_eq!(
            JoinRequest::from_query(Some("room=&username=u&client_id=c")),
            Err(JoinError::Missing("room"))
        );
        assert_eq!(
            JoinRequest::from_query(None),
            Err(JoinError::Missing("room"))
        );
    }
}

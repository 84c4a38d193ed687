//! Who may open or resume a session: the session's credential (its key, who chose it, the
//! newest attempt seen) and the judgement of a join request against it. Pure: the machine
//! asks before the upgrade (so a refusal is an HTTP error) and again when it opens.

use rand::RngCore;

use crate::config::KeylessResume;
use crate::join::JoinRequest;
use crate::seed::SimRng;

/// Why the server will not let a join request open or resume a session; the driver answers
/// it with an HTTP error before the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefusal {
    /// The client id's session is bound to another session key.
    #[error("client id in use by another session (a different session key)")]
    KeyMismatch,
    /// The client id has a session and the connection presented no key, which this server
    /// requires (or the session was opened with a key).
    #[error("client id in use: resuming its session needs its session key")]
    KeyRequired,
    /// A newer connection attempt of the same session key already opened or resumed it: this
    /// one was delayed in the network (its client has long given up on it).
    #[error("stale attempt: a newer attempt of this session already arrived")]
    StaleAttempt,
    /// The session limit is reached.
    #[error("too many sessions: try again later")]
    TooManySessions,
}

impl ClaimRefusal {
    /// The HTTP status the refusal is answered with.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            ClaimRefusal::KeyMismatch | ClaimRefusal::KeyRequired | ClaimRefusal::StaleAttempt => {
                409
            }
            ClaimRefusal::TooManySessions => 503,
        }
    }
}

/// What a claim the server honours does.
pub(crate) enum Claim {
    /// Opens a new session.
    New,
    /// Resumes (or takes over) the client id's session.
    Resume,
}

/// What a claim of a session must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    /// The session key.
    pub(crate) key: String,
    /// Whether the client chose the key (false: drawn by the server for a keyless client).
    pub(crate) from_client: bool,
    /// The attempt number of the connection that last opened or resumed the session.
    pub(crate) last_attempt: Option<u64>,
}

impl Credential {
    /// The credential of a session `join` opens: its key, or one drawn from `rng`.
    pub(crate) fn new(join: &JoinRequest, rng: &mut SimRng) -> Self {
        let key = join.session_key.clone().unwrap_or_else(|| {
            let mut bytes = [0u8; 16];
            rng.fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        });
        Credential {
            key,
            from_client: join.session_key.is_some(),
            last_attempt: join.attempt,
        }
    }

    /// `join` resumed the session: its attempt is now the newest seen.
    pub(crate) fn resumed_by(&mut self, join: &JoinRequest) {
        self.last_attempt = join.attempt.or(self.last_attempt);
    }
}

/// Judges `join` against the credential of its client id's session (`None`: no session);
/// `at_limit` says the session limit is reached.
pub(crate) fn judge(
    session: Option<&Credential>,
    join: &JoinRequest,
    at_limit: bool,
    keyless: KeylessResume,
) -> Result<Claim, ClaimRefusal> {
    let Some(session) = session else {
        return if at_limit {
            Err(ClaimRefusal::TooManySessions)
        } else {
            Ok(Claim::New)
        };
    };
    match join.session_key.as_deref() {
        Some(key) if key == session.key => match (join.attempt, session.last_attempt) {
            (Some(attempt), Some(last)) if attempt <= last => Err(ClaimRefusal::StaleAttempt),
            _ => Ok(Claim::Resume),
        },
        Some(_) => Err(ClaimRefusal::KeyMismatch),
        None if !session.from_client && keyless == KeylessResume::ClientId => Ok(Claim::Resume),
        None => Err(ClaimRefusal::KeyRequired),
    }
}

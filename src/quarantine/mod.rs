//! The quarantine: the durable store of held mail, its decisions, the notices
//! owed about it and the append-only audit log.
//!
//! Why it is built this way:
//!
//! - **One trait, several stores.** SPEC "One relay, then many": a single
//!   relay keeps its quarantine in SQLite, a trust points several relays at
//!   one PostgreSQL database, and both must pass the same tests. So the
//!   milter, the CLI and the review UI only see [`Store`]; the SQLite store
//!   is [`sqlite::SqliteStore`]. The trait is object-safe (`Box<dyn Store>`)
//!   and `Send + Sync`, and takes the time as an argument (unix seconds) so
//!   tests, not the wall clock, decide what "30 days old" means.
//! - **Release exactly once, even across crashes.** A release is two steps:
//!   [`Store::claim_release`] moves a message `held → releasing` with a
//!   conditional update (only one reviewer can win), the caller hands the
//!   message to the relay, then [`Store::finish_release`] records the relay's
//!   answer. A process that dies in between leaves the row `releasing`, which
//!   is the honest state — "release outcome unknown since T" — until an
//!   operator who checked the relay's log calls
//!   [`Store::resolve_unknown_release`]. Nothing ever guesses "released".
//! - **Privacy.** Only the stored raw message holds detected values. The
//!   subject and finding values have no columns of their own; the verdict is
//!   stored as its (already redacted) JSON; rule ids, which are not personal
//!   data, are stored again in a column for filtering. `Debug` on the types
//!   that carry a message prints its length, not its bytes, so a stray
//!   `{:?}` in a log line cannot leak it.
//! - **Notices are owed, not sent.** A notice is written in the same
//!   transaction as the hold ([`Store::hold_with_notices`]) and sent later by
//!   whoever drains [`Store::due_notices`]; a relay that is down delays a
//!   notice but never loses it.
//! - **Audit as a hash chain** ([`audit`]): the database refuses updates and
//!   deletes; an attacker who can edit the file anyway breaks the chain,
//!   which [`Store::verify_audit`] reports.
//! - **Accounts and sessions live beside the mail.** Several review servers
//!   behind one proxy must agree on who is signed in, and disabling an
//!   account must end its sessions on all of them at once: the store they
//!   already share does both, and a change to an account and the end of
//!   its sessions are one transaction. Only hashes are kept — Argon2id of
//!   each password, SHA-256 of each session token ([`crate::accounts`]) —
//!   and the audit log says who changed which account, never how.
//! - **One test suite.** The behaviour of a store is tested once, against
//!   the trait (`conformance`, test builds only), and every store runs it.

pub mod audit;
#[cfg(test)]
pub(crate) mod conformance;
pub mod sqlite;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::accounts::Account;
use crate::verdict::Verdict;

pub use audit::{AuditCheck, AuditRecord};
pub use sqlite::SqliteStore;

/// The actor written in the audit log for what the milter does.
pub const MILTER_ACTOR: &str = "milter";

/// The kinds of notice the milter and reviewers owe.
pub const NOTICE_KINDS: [&str; 4] = ["hold", "dpo", "reject", "release"];

/// A message the milter has decided to hold, with its envelope.
#[derive(Clone)]
pub struct NewHold {
    pub queue_id: Option<String>,
    /// Envelope MAIL FROM (empty for the null sender).
    pub sender: String,
    /// Envelope RCPT TO.
    pub recipients: Vec<String>,
    /// `{auth_authen}`: the authenticated user, if any.
    pub auth_user: Option<String>,
    /// The original message, byte for byte.
    pub message: Vec<u8>,
    pub verdict: Verdict,
}

impl fmt::Debug for NewHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewHold")
            .field("queue_id", &self.queue_id)
            .field("sender", &self.sender)
            .field("recipients", &self.recipients)
            .field("auth_user", &self.auth_user)
            .field("message", &format_args!("<{} bytes>", self.message.len()))
            .field("action", &self.verdict.action)
            .finish()
    }
}

/// Where a held message is in its life. Purging is separate
/// ([`HeldSummary::purged_at`]): it removes the body and keeps the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Held,
    /// Claimed by a release in progress (or one whose process died).
    Releasing,
    Released,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Held, Status::Releasing, Status::Released, Status::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Releasing => "releasing",
            Status::Released => "released",
            Status::Rejected => "rejected",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Status, String> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a status (held, releasing, released or rejected)"))
    }
}

/// What the list view and `schoolgate held list` show: everything but the
/// message and the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldSummary {
    pub id: String,
    pub status: Status,
    pub queue_id: Option<String>,
    pub sender: String,
    pub recipients: Vec<String>,
    pub auth_user: Option<String>,
    /// The rules that fired in the verdict (including those set to warn).
    pub rules: Vec<String>,
    /// The verdict's overall action (`hold`).
    pub action: String,
    pub held_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    /// The reviewer's note with the last decision or release attempt.
    pub note: Option<String>,
    /// Why the last release attempt was refused by the relay.
    pub release_error: Option<String>,
    /// Who claimed the release in progress (status `releasing`).
    pub release_claimed_by: Option<String>,
    /// Since when the release is in progress (status `releasing`).
    pub release_claimed_at: Option<i64>,
    /// The relay's answer to the release (`250 2.0.0 Ok: queued as …`).
    pub release_reply: Option<String>,
    /// When retention removed the message body.
    pub purged_at: Option<i64>,
}

/// One held message in full.
#[derive(Clone, PartialEq, Eq)]
pub struct HeldMessage {
    pub summary: HeldSummary,
    /// The original message; `None` once purged.
    pub message: Option<Vec<u8>>,
    /// The verdict as JSON (redacted, as `schoolgate scan --format json`).
    pub verdict_json: String,
}

impl fmt::Debug for HeldMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeldMessage")
            .field("summary", &self.summary)
            .field(
                "message",
                &self.message.as_ref().map(|m| format!("<{} bytes>", m.len())),
            )
            .field("verdict_json", &self.verdict_json)
            .finish()
    }
}

/// Filters for [`Store::list`]; the default lists everything, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Option<Status>,
    /// A rule id that fired (`personal-data`; case and surrounding space ignored).
    pub rule: Option<String>,
    /// The envelope sender, compared exactly but without regard to case.
    pub sender: Option<String>,
    /// Held at or after this time.
    pub since: Option<i64>,
    /// At most this many (all when `None`).
    pub limit: Option<u32>,
    /// Skip this many (for paging).
    pub offset: u32,
}

/// The right to finish one release, given to the reviewer who claimed it,
/// with what is needed to send the message on. The message cannot be
/// purged while the claim stands.
#[derive(Clone, PartialEq, Eq)]
pub struct Claim {
    pub hold_id: String,
    /// Identifies this claim: a claim that was taken over (resolved by an
    /// operator) can no longer finish.
    pub token: String,
    pub actor: String,
    pub claimed_at: i64,
    /// The original envelope, to send the message on to.
    pub sender: String,
    pub recipients: Vec<String>,
    /// The original message, byte for byte (rewrites are still to apply).
    pub message: Vec<u8>,
    pub verdict_json: String,
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claim")
            .field("hold_id", &self.hold_id)
            .field("actor", &self.actor)
            .field("claimed_at", &self.claimed_at)
            .field("sender", &self.sender)
            .field("recipients", &self.recipients)
            .field("message", &format_args!("<{} bytes>", self.message.len()))
            .finish_non_exhaustive()
    }
}

/// What the relay said to a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// Accepted: the relay's reply, e.g. `250 2.0.0 Ok: queued as 4XyZ`.
    Delivered { reply: String },
    /// Refused or failed before acceptance: the message stays held.
    Refused { error: String },
}

/// A notice to be sent (written by the caller from redacted data only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub hold_id: String,
    /// One of [`NOTICE_KINDS`]: `hold`, `dpo`, `reject`, `release`.
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A notice owed, with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub id: i64,
    pub hold_id: String,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    /// Delivery attempts so far (sent or failed).
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

/// How long [`Store::due_notices`] reserves the notices it returns: another
/// sender (a second relay, an overlapping loop) does not pick them up
/// meanwhile, and a sender that dies before reporting lets them fall due
/// again afterwards.
pub const NOTICE_LEASE_SECONDS: i64 = 600;

/// A signed-in reviewer, as [`Store::session`] finds it.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The account, as it is now (a session outlives no disabling).
    pub account: Account,
    /// The session's CSRF token, for forms to echo.
    pub csrf: String,
    /// Unix seconds; the session is gone from then on.
    pub expires_at: i64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("account", &self.account)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The durable store of held mail. Every method is one transaction.
pub trait Store: Send + Sync {
    /// Keep a message; durable (written and synced) when this returns. The
    /// hold and its audit entry (`hold`, actor `milter`) are one
    /// transaction. Returns the new id, e.g. `SG-7F3A9C2D`.
    fn hold(&self, new: NewHold, now: i64) -> Result<String, StoreError>;

    /// [`Store::hold`] and the notices owed about it, in one transaction;
    /// `hold_id` in the notices is ignored (the new id is used).
    fn hold_with_notices(&self, new: NewHold, notices: Vec<NewNotice>, now: i64) -> Result<String, StoreError>;

    /// [`Store::hold_with_notices`] under an id the caller drew with
    /// [`new_id`], so that the notices' text can quote it. `hold_id` in the
    /// notices is ignored (`id` is used). An id already taken is
    /// [`StoreError::IdTaken`] and nothing is written: draw a new id and
    /// write the notices again (or tempfail, and the relay retries).
    fn hold_with_id(&self, id: &str, new: NewHold, notices: Vec<NewNotice>, now: i64) -> Result<String, StoreError>;

    fn get(&self, id: &str) -> Result<Option<HeldMessage>, StoreError>;

    /// Newest first, filtered and paged.
    fn list(&self, filter: &ListFilter) -> Result<Vec<HeldSummary>, StoreError>;

    /// Start a release: `held → releasing`, for one reviewer only. The
    /// caller then sends the message and calls [`Store::finish_release`].
    fn claim_release(&self, id: &str, actor: &str, note: Option<&str>, now: i64) -> Result<Claim, StoreError>;

    /// Record the relay's answer to a claimed release: delivered →
    /// `released`; refused → back to `held` with the error. A claim that is
    /// no longer current gets [`StoreError::NotYours`] (and its outcome is
    /// still written to the audit log).
    fn finish_release(&self, claim: &Claim, outcome: ReleaseOutcome, now: i64) -> Result<(), StoreError>;

    /// For an operator who checked the relay's log after a release died
    /// midway: `releasing → released` (delivered) or `→ held`.
    fn resolve_unknown_release(
        &self,
        id: &str,
        actor: &str,
        delivered: bool,
        note: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError>;

    /// `held → rejected`.
    fn reject(&self, id: &str, actor: &str, note: Option<&str>, now: i64) -> Result<(), StoreError>;

    /// Audit that `actor` looked at a held message.
    fn record_view(&self, id: &str, actor: &str, now: i64) -> Result<(), StoreError>;

    /// Remove the bodies of messages held before `older_than` (any status
    /// but `releasing`), keeping their metadata; one audit entry each.
    /// Returns how many were purged.
    fn purge(&self, older_than: i64, actor: &str, now: i64) -> Result<usize, StoreError>;

    /// Owe a notice, due now. Returns its id.
    fn owe_notice(&self, notice: NewNotice, now: i64) -> Result<i64, StoreError>;

    /// Unsent notices due at `now`, oldest first, reserved for
    /// [`NOTICE_LEASE_SECONDS`] (report each with `notice_sent` or
    /// `notice_failed`).
    fn due_notices(&self, now: i64, limit: u32) -> Result<Vec<Notice>, StoreError>;

    fn notice_sent(&self, id: i64, now: i64) -> Result<(), StoreError>;

    /// A failed attempt: counted, and tried again at `retry_at`.
    fn notice_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<(), StoreError>;

    /// Append an entry to the audit log.
    fn audit(&self, actor: &str, action: &str, hold_id: Option<&str>, detail: &str, now: i64)
    -> Result<(), StoreError>;

    /// The audit log (entries at or after `since`), oldest first.
    fn audit_log(&self, since: Option<i64>) -> Result<Vec<AuditRecord>, StoreError>;

    /// The audit entries about one held message, oldest first.
    fn audit_for(&self, hold_id: &str) -> Result<Vec<AuditRecord>, StoreError>;

    /// Walk the whole hash chain.
    fn verify_audit(&self) -> Result<AuditCheck, StoreError>;

    /// Add a review account. `account.name` must pass
    /// [`crate::accounts::check_name`]; its domains are kept normalised;
    /// `account.created_at` is ignored (the account is created `now`).
    /// `password_hash` must be an Argon2id PHC string
    /// ([`crate::accounts::hash_password`]). A name already taken, by a
    /// disabled account too, is [`StoreError::AccountExists`]. Audited as
    /// `account-add` by `actor`.
    fn add_account(&self, account: &Account, password_hash: &str, actor: &str, now: i64) -> Result<(), StoreError>;

    /// Replace an account's password hash and end all its sessions.
    /// Audited as `account-passwd`.
    fn set_password(&self, name: &str, password_hash: &str, actor: &str, now: i64) -> Result<(), StoreError>;

    /// Disable an account and end all its sessions: it can no longer sign
    /// in. Disabling it again changes nothing and is not audited again.
    /// Audited as `account-disable`.
    fn disable_account(&self, name: &str, actor: &str, now: i64) -> Result<(), StoreError>;

    /// An account and its password hash, by name (trimmed, case ignored).
    fn account(&self, name: &str) -> Result<Option<(Account, String)>, StoreError>;

    /// Every account, disabled ones too, by name.
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Sign `account` in: a session stored under `token_hash` (the
    /// SHA-256 of the browser's token, [`crate::accounts::token_hash`];
    /// anything else is refused) until `expires_at`. A missing account is
    /// [`StoreError::AccountNotFound`], a disabled one
    /// [`StoreError::AccountDisabled`]. Audited as `login`, actor the account.
    fn create_session(
        &self,
        token_hash: &str,
        account: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The session under `token_hash`, with its account; `None` if there is
    /// none, it has expired (`expires_at <= now`) or the account is disabled.
    fn session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError>;

    /// End one session (signing out); ending one that is gone is no error.
    fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// End every session of an account; returns how many there were.
    fn delete_sessions_of(&self, account: &str) -> Result<usize, StoreError>;

    /// Remove the sessions expired at `now`; returns how many.
    fn purge_sessions(&self, now: i64) -> Result<usize, StoreError>;
}

/// Why a store operation failed. `Display` is one plain sentence for the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound {
        id: String,
    },
    /// Another release holds the claim (or died holding it).
    ReleaseInProgress {
        id: String,
        by: String,
        since: i64,
    },
    AlreadyReleased {
        id: String,
        by: String,
        at: i64,
    },
    AlreadyRejected {
        id: String,
        by: String,
        at: i64,
    },
    /// The message body was removed by retention.
    Purged {
        id: String,
    },
    /// `resolve_unknown_release` on a message with no release in progress.
    NotReleasing {
        id: String,
    },
    /// `hold_with_id` with an id that is already in use.
    IdTaken {
        id: String,
    },
    /// `finish_release` with a claim that is no longer current.
    NotYours {
        id: String,
    },
    /// `add_account` with a name that is taken.
    AccountExists {
        name: String,
    },
    AccountNotFound {
        name: String,
    },
    /// `create_session` for a disabled account.
    AccountDisabled {
        name: String,
    },
    /// What was asked is not valid (a name, a domain, a hash); the text
    /// says why in one sentence.
    Invalid(String),
    /// The database was written by a newer schoolgate.
    NewerSchema {
        found: i64,
        supported: i64,
    },
    Database(String),
    Corrupt(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound { id } => write!(f, "{id} is not in the quarantine"),
            StoreError::ReleaseInProgress { id, by, since } => write!(
                f,
                "{id} is being released by {by} since {}; if that release never finished, \
                 check the relay's log and run `schoolgate held resolve`",
                format_utc(*since)
            ),
            StoreError::AlreadyReleased { id, by, at } => {
                write!(f, "{id} was already released by {by} at {}", format_utc(*at))
            }
            StoreError::AlreadyRejected { id, by, at } => {
                write!(f, "{id} was already rejected by {by} at {}", format_utc(*at))
            }
            StoreError::Purged { id } => write!(
                f,
                "the message {id} was purged by retention; only its record and audit entries are kept"
            ),
            StoreError::NotReleasing { id } => {
                write!(f, "{id} has no release in progress, so there is nothing to resolve")
            }
            StoreError::IdTaken { id } => write!(f, "the hold id {id} is already taken; a new one must be drawn"),
            StoreError::NotYours { id } => write!(
                f,
                "the release of {id} was taken over by someone else before it finished; \
                 check `schoolgate audit` before trying again"
            ),
            StoreError::AccountExists { name } => write!(f, "there is already an account named {name}"),
            StoreError::AccountNotFound { name } => write!(f, "there is no account named {name}"),
            StoreError::AccountDisabled { name } => write!(f, "the account {name} is disabled"),
            StoreError::Invalid(msg) => f.write_str(msg),
            StoreError::NewerSchema { found, supported } => write!(
                f,
                "the quarantine database has schema version {found} but this schoolgate knows \
                 versions up to {supported}; run the newer schoolgate that wrote it"
            ),
            StoreError::Database(msg) => write!(f, "the quarantine database failed: {msg}"),
            StoreError::Corrupt(msg) => write!(f, "the quarantine database is damaged: {msg}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A new hold id, `SG-` and 8 upper-case hex digits. 32 bits: ids are kept
/// unique by the store's constraint; [`Store::hold`] draws again on a clash,
/// [`Store::hold_with_id`] reports it.
pub fn new_id() -> String {
    let b = fresh_bytes();
    format!("SG-{:02X}{:02X}{:02X}{:02X}", b[0], b[1], b[2], b[3])
}

/// Whether `id` has the shape of a hold id (`SG-` and 8 upper-case hex digits).
pub fn is_hold_id(id: &str) -> bool {
    id.len() == 11
        && id.starts_with("SG-")
        && id[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// A claim token: 128 bits as hex.
pub fn new_claim_token() -> String {
    audit::hex(&fresh_bytes()[..16])
}

/// 32 unpredictable bytes: SHA-256 of /dev/urandom's bytes together with
/// the time, the process id and a counter. Without /dev/urandom the result
/// is still unique within the process and very likely across processes;
/// the stores' unique constraints catch the rest.
fn fresh_bytes() -> [u8; 32] {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, Ordering};

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    let mut random = [0u8; 32];
    if let Ok(mut urandom) = std::fs::File::open("/dev/urandom")
        && urandom.read_exact(&mut random).is_ok()
    {
        h.update(random);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    h.update(nanos.to_be_bytes());
    h.update(std::process::id().to_be_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    h.finalize().into()
}

/// `2026-11-23` as unix seconds at 00:00 UTC that day.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(format!("{text:?} is not a date like 2026-11-23"));
    };
    let (y, m, d): (i64, i64, i64) = match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) if (1..=12).contains(&m) && (1..=31).contains(&d) => (y, m, d),
        _ => return Err(format!("{text:?} is not a date like 2026-11-23")),
    };
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400)
}

/// A human reference as the store keeps it: `sg-7f3a9c2d ` → `SG-7F3A9C2D`.
pub fn normalise_id(id: &str) -> String {
    id.trim().to_ascii_uppercase()
}

/// Unix seconds as `2026-11-23 10:01 UTC`, for messages to people.
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// `civil_from_days`).
/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_795_428_060), "2026-11-23 10:01 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn release_in_progress_reads_as_one_sentence() {
        let e = StoreError::ReleaseInProgress {
            id: "SG-7F3A9C2D".into(),
            by: "dpo".into(),
            since: 1_795_428_060,
        };
        assert_eq!(
            e.to_string(),
            "SG-7F3A9C2D is being released by dpo since 2026-11-23 10:01 UTC; if that release never \
             finished, check the relay's log and run `schoolgate held resolve`"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert!("purged".parse::<Status>().is_err());
    }

    #[test]
    fn new_ids_look_right_and_differ() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert!(is_hold_id(&a), "{a}");
        assert_eq!(normalise_id(&a), a);
        assert_eq!(new_claim_token().len(), 32);
        for not_an_id in [
            "",
            "SG-",
            "SG-7f3a9c2d",
            "SG-7F3A9C2",
            "SG-7F3A9C2DD",
            "XX-7F3A9C2D",
            "SG-7F3A9C2G",
        ] {
            assert!(!is_hold_id(not_an_id), "{not_an_id}");
        }
        assert!(is_hold_id("SG-7F3A9C2D"));
    }

    #[test]
    fn ids_are_normalised() {
        assert_eq!(normalise_id(" sg-7f3a9c2d\n"), "SG-7F3A9C2D");
    }
}

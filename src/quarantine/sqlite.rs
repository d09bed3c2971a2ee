//! The quarantine in one SQLite file: the embedded default for a single
//! relay (SPEC "One relay, then many").
//!
//! Why it is built this way:
//!
//! - **Durable before the milter answers.** WAL with `synchronous = FULL`
//!   syncs the log on every commit, so when [`SqliteStore::hold`] returns the
//!   message survives a power cut and the relay may discard its copy.
//! - **Exactly once across processes.** The milter, `schoolgate held
//!   release` and the review UI may be different processes on the same file.
//!   Every write is a `BEGIN IMMEDIATE` transaction — it takes the write lock
//!   before reading — and state changes are conditional updates
//!   (`… WHERE id = ? AND status = 'held'`), so of two reviewers releasing at
//!   once exactly one wins and the other is told who. A `busy_timeout` of 5 s
//!   makes the loser wait for the lock rather than fail.
//! - **One connection behind a mutex.** The milter calls the store from a
//!   blocking thread; one connection per store is simple and SQLite
//!   serialises writers anyway. A poisoned mutex is recovered: a panic
//!   inside a transaction rolled it back when the transaction was dropped.
//! - **Purged means gone.** `secure_delete` zeroes freed pages, and a purge
//!   checkpoints and truncates the WAL, so a purged body does not linger in
//!   free pages or old log frames.
//! - **Schema by `PRAGMA user_version`.** [`MIGRATIONS`] are applied in
//!   order in one transaction; a new migration is one more string at the
//!   end of the list, and a shipped one is never edited. A
//!   file from a newer schoolgate is refused rather than misread, and a file
//!   that is some other program's database is refused by its
//!   `application_id`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::audit::{AuditCheck, AuditRecord, ChainVerifier};
use super::{
    Claim, HeldMessage, HeldSummary, ListFilter, MILTER_ACTOR, NOTICE_KINDS, NOTICE_LEASE_SECONDS, NewHold, NewNotice,
    Notice, ReleaseOutcome, Session, Status, Store, StoreError, format_utc, is_hold_id, new_claim_token, new_id,
    normalise_id,
};
use crate::accounts::{self, Account, Role};

/// Marks the file as a schoolgate quarantine ("SGQT").
const APPLICATION_ID: i32 = 0x5347_5154;

/// How long a writer waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Fresh ids drawn before giving up (a clash is a 1 in 4 billion event per
/// held message).
const ID_ATTEMPTS: usize = 16;

/// The schema, one migration per entry: entry `i` takes `user_version`
/// from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATION_1: &str = "
CREATE TABLE held (
    id                  TEXT PRIMARY KEY NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('held', 'releasing', 'released', 'rejected')),
    queue_id            TEXT,
    sender              TEXT NOT NULL,
    recipients          TEXT NOT NULL,          -- JSON array of envelope recipients
    auth_user           TEXT,
    message             BLOB,                   -- the original message; NULL once purged
    message_bytes       INTEGER NOT NULL,
    verdict             TEXT NOT NULL,          -- the redacted verdict, as JSON
    action              TEXT NOT NULL,
    rules               TEXT NOT NULL,          -- ',personal-data,disclaimer,' (rule ids only)
    held_at             INTEGER NOT NULL,
    decided_at          INTEGER,
    decided_by          TEXT,
    note                TEXT,
    release_error       TEXT,
    release_claimed_by  TEXT,
    release_claimed_at  INTEGER,
    release_claim_token TEXT,
    release_reply       TEXT,
    purged_at           INTEGER,
    CHECK ((status = 'releasing') = (release_claim_token IS NOT NULL))
);
CREATE INDEX held_by_time ON held (held_at);
CREATE INDEX held_by_status ON held (status, held_at);

CREATE TABLE notice (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hold_id         TEXT NOT NULL REFERENCES held (id),
    kind            TEXT NOT NULL CHECK (kind IN ('hold', 'dpo', 'reject', 'release')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX notice_due ON notice (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX notice_by_hold ON notice (hold_id);

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    hold_id   TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_by_hold ON audit (hold_id);
CREATE INDEX audit_by_time ON audit (at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// Review accounts and their sessions, shared by every review server that
/// opens the file.
const MIGRATION_2: &str = "
CREATE TABLE account (
    name          TEXT PRIMARY KEY NOT NULL,   -- lower case, [a-z0-9._@-]{1,64}
    role          TEXT NOT NULL CHECK (role IN ('dpo', 'reviewer', 'auditor')),
    domains       TEXT NOT NULL,               -- JSON array of sender domains; [] = all
    password_hash TEXT NOT NULL,               -- Argon2id, as a PHC string
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
);

CREATE TABLE session (
    token_hash TEXT PRIMARY KEY NOT NULL,      -- SHA-256 of the token, hex; never the token
    account    TEXT NOT NULL REFERENCES account (name),
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX session_by_account ON session (account);
CREATE INDEX session_by_expiry ON session (expires_at);
";

/// The columns of an [`Account`], in the order [`account_row`] reads them.
const ACCOUNT_COLUMNS: &str = "name, role, domains, disabled, created_at";

const SUMMARY_COLUMNS: &str = "id, status, queue_id, sender, recipients, auth_user, rules, action, held_at, \
     decided_at, decided_by, note, release_error, release_claimed_by, release_claimed_at, release_reply, purged_at";

const NOTICE_COLUMNS: &str =
    "id, hold_id, kind, recipient, subject, body, created_at, attempts, next_attempt_at, last_error, sent_at";

const AUDIT_COLUMNS: &str = "seq, at, actor, action, hold_id, detail, prev_hash, hash";

/// The SQLite quarantine. Cheap to share (`Arc<SqliteStore>`); open one per
/// process.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Ids handed out before random ones, to test clashes.
    #[cfg(test)]
    scripted_ids: Mutex<std::collections::VecDeque<String>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        let code = match &e {
            rusqlite::Error::SqliteFailure(err, _) => Some(err.code),
            _ => None,
        };
        match code {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt(e.to_string()),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Database(format!(
                "another process kept it locked for more than {} seconds ({e})",
                BUSY_TIMEOUT.as_secs()
            )),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl SqliteStore {
    /// Open (creating if need be) the quarantine at `path`. The directory
    /// must exist: creating it with the right owner is the installer's job.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let in_path = |e: StoreError| match e {
            StoreError::Database(msg) => StoreError::Database(format!("{}: {msg}", path.display())),
            StoreError::Corrupt(msg) => StoreError::Corrupt(format!("{}: {msg}", path.display())),
            other => other,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(StoreError::Database(format!(
                "the directory {} for the quarantine database does not exist; create it, writable by \
                 schoolgate, or set quarantine.path",
                dir.display()
            )));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| in_path(e.into()))?;
        Self::configure(&conn).map_err(in_path)?;
        migrate(&mut conn).map_err(in_path)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            #[cfg(test)]
            scripted_ids: Mutex::new(Default::default()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(conn: &Connection) -> Result<(), StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "it cannot use write-ahead logging (journal mode stays {mode:?}); keep it on a local filesystem"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `f` in a `BEGIN IMMEDIATE` transaction, committed if `f` succeeds.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn next_id(&self) -> String {
        #[cfg(test)]
        if let Some(id) = self
            .scripted_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
        {
            return id;
        }
        new_id()
    }

    /// Hold under a fresh id, drawing again on a clash; the caller commits.
    fn insert_hold(
        &self,
        tx: &Connection,
        new: &NewHold,
        notices: &[NewNotice],
        now: i64,
    ) -> Result<String, StoreError> {
        for _ in 0..ID_ATTEMPTS {
            let id = self.next_id();
            if insert_hold_as(tx, &id, new, notices, now)? {
                return Ok(id);
            }
        }
        Err(StoreError::Database(format!(
            "no unused hold id was found in {ID_ATTEMPTS} draws"
        )))
    }
}

/// Insert the held row, its audit entry and its notices under `id`; false
/// (and nothing written) if `id` is taken. The caller commits.
fn insert_hold_as(
    tx: &Connection,
    id: &str,
    new: &NewHold,
    notices: &[NewNotice],
    now: i64,
) -> Result<bool, StoreError> {
    let verdict = serde_json::to_string(&new.verdict)
        .map_err(|e| StoreError::Database(format!("the verdict could not be written as JSON: {e}")))?;
    let recipients = serde_json::to_string(&new.recipients)
        .map_err(|e| StoreError::Database(format!("the recipients could not be written as JSON: {e}")))?;
    let mut rules: Vec<&str> = Vec::new();
    for fired in &new.verdict.rules {
        if !rules.contains(&fired.rule.as_str()) {
            rules.push(fired.rule.as_str());
        }
    }
    let rules_column = format!(",{},", rules.join(","));
    let action = new.verdict.action.as_str();
    let inserted = tx.execute(
        "INSERT INTO held (id, status, queue_id, sender, recipients, auth_user, message, message_bytes, \
         verdict, action, rules, held_at) VALUES (?1, 'held', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (id) DO NOTHING",
        params![
            id,
            new.queue_id,
            new.sender,
            recipients,
            new.auth_user,
            new.message,
            new.message.len() as i64,
            verdict,
            action,
            rules_column,
            now
        ],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    let detail = format!(
        "held: action {action}; rules {}; {} envelope recipient(s); {} bytes; queue id {}",
        if rules.is_empty() {
            "none".to_string()
        } else {
            rules.join(", ")
        },
        new.recipients.len(),
        new.message.len(),
        new.queue_id.as_deref().unwrap_or("unknown"),
    );
    append_audit(tx, MILTER_ACTOR, "hold", Some(id), &detail, now)?;
    for notice in notices {
        insert_notice(tx, notice, id, now)?;
    }
    Ok(true)
}

/// Apply the migrations this file lacks; refuse files we did not write or
/// cannot read.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // Most opens find the schema current and need no write lock.
    if schema_state(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = schema_state(&tx)?;
    if version == 0 {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// The schema version, after checking the file is ours and not too new.
fn schema_state(conn: &Connection) -> Result<i64, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let application_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if version == 0 {
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 || application_id != 0 {
            return Err(StoreError::Corrupt(
                "it is not a schoolgate quarantine (it has tables but no schoolgate schema)".to_string(),
            ));
        }
        return Ok(0);
    }
    if application_id != APPLICATION_ID {
        return Err(StoreError::Corrupt(
            "it is not a schoolgate quarantine (another program's database)".to_string(),
        ));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// Append one entry to the hash chain, inside the caller's write transaction.
fn append_audit(
    tx: &Connection,
    actor: &str,
    action: &str,
    hold_id: Option<&str>,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    let last: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let record = AuditRecord::next(
        last.as_ref().map(|(seq, hash)| (*seq, hash.as_str())),
        now,
        actor,
        action,
        hold_id,
        detail,
    );
    tx.execute(
        &format!("INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            record.seq,
            record.at,
            record.actor,
            record.action,
            record.hold_id,
            record.detail,
            record.prev_hash,
            record.hash
        ],
    )?;
    Ok(())
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        hold_id: r.get(4)?,
        detail: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

fn notice_row(r: &Row<'_>) -> rusqlite::Result<Notice> {
    Ok(Notice {
        id: r.get(0)?,
        hold_id: r.get(1)?,
        kind: r.get(2)?,
        to: r.get(3)?,
        subject: r.get(4)?,
        body: r.get(5)?,
        created_at: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_error: r.get(9)?,
        sent_at: r.get(10)?,
    })
}

/// A held row as read, before its text columns are checked.
struct SummaryRow {
    id: String,
    status: String,
    queue_id: Option<String>,
    sender: String,
    recipients: String,
    auth_user: Option<String>,
    rules: String,
    action: String,
    held_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    note: Option<String>,
    release_error: Option<String>,
    release_claimed_by: Option<String>,
    release_claimed_at: Option<i64>,
    release_reply: Option<String>,
    purged_at: Option<i64>,
}

/// Reads the columns of [`SUMMARY_COLUMNS`], in order, from the start of a row.
fn summary_row(r: &Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok(SummaryRow {
        id: r.get(0)?,
        status: r.get(1)?,
        queue_id: r.get(2)?,
        sender: r.get(3)?,
        recipients: r.get(4)?,
        auth_user: r.get(5)?,
        rules: r.get(6)?,
        action: r.get(7)?,
        held_at: r.get(8)?,
        decided_at: r.get(9)?,
        decided_by: r.get(10)?,
        note: r.get(11)?,
        release_error: r.get(12)?,
        release_claimed_by: r.get(13)?,
        release_claimed_at: r.get(14)?,
        release_reply: r.get(15)?,
        purged_at: r.get(16)?,
    })
}

impl SummaryRow {
    fn into_summary(self) -> Result<HeldSummary, StoreError> {
        let status = self
            .status
            .parse::<Status>()
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", self.id)))?;
        let recipients: Vec<String> = serde_json::from_str(&self.recipients)
            .map_err(|e| StoreError::Corrupt(format!("{}: the recipients are not a JSON list: {e}", self.id)))?;
        let rules = self
            .rules
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        Ok(HeldSummary {
            id: self.id,
            status,
            queue_id: self.queue_id,
            sender: self.sender,
            recipients,
            auth_user: self.auth_user,
            rules,
            action: self.action,
            held_at: self.held_at,
            decided_at: self.decided_at,
            decided_by: self.decided_by,
            note: self.note,
            release_error: self.release_error,
            release_claimed_by: self.release_claimed_by,
            release_claimed_at: self.release_claimed_at,
            release_reply: self.release_reply,
            purged_at: self.purged_at,
        })
    }
}

/// What the conditional operations look at before they act.
struct State {
    status: Status,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    claimed_by: Option<String>,
    claimed_at: Option<i64>,
    token: Option<String>,
    purged: bool,
}

fn state(conn: &Connection, id: &str) -> Result<Option<State>, StoreError> {
    let row = conn
        .query_row(
            "SELECT status, decided_by, decided_at, release_claimed_by, release_claimed_at, release_claim_token, \
             purged_at IS NOT NULL FROM held WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    State {
                        status: Status::Held,
                        decided_by: r.get(1)?,
                        decided_at: r.get(2)?,
                        claimed_by: r.get(3)?,
                        claimed_at: r.get(4)?,
                        token: r.get(5)?,
                        purged: r.get(6)?,
                    },
                ))
            },
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((status, mut state)) => {
            state.status = status
                .parse()
                .map_err(|e: String| StoreError::Corrupt(format!("{id}: {e}")))?;
            Ok(Some(state))
        }
    }
}

/// The error for acting on `id` in `state` when it is not plainly `held`.
fn not_held(id: &str, state: &State) -> StoreError {
    let by = || state.decided_by.clone().unwrap_or_else(|| "someone".to_string());
    let at = state.decided_at.unwrap_or_default();
    match state.status {
        Status::Releasing => StoreError::ReleaseInProgress {
            id: id.to_string(),
            by: state.claimed_by.clone().unwrap_or_else(|| "someone".to_string()),
            since: state.claimed_at.unwrap_or_default(),
        },
        Status::Released => StoreError::AlreadyReleased {
            id: id.to_string(),
            by: by(),
            at,
        },
        Status::Rejected => StoreError::AlreadyRejected {
            id: id.to_string(),
            by: by(),
            at,
        },
        Status::Held => StoreError::Purged { id: id.to_string() },
    }
}

fn with_note(detail: String, note: Option<&str>) -> String {
    match note {
        Some(note) if !note.trim().is_empty() => format!("{detail}; note: {note}"),
        _ => detail,
    }
}

fn insert_notice(tx: &Connection, notice: &NewNotice, hold_id: &str, now: i64) -> Result<i64, StoreError> {
    if !NOTICE_KINDS.contains(&notice.kind.as_str()) {
        return Err(StoreError::Database(format!(
            "{:?} is not a kind of notice (hold, dpo, reject or release)",
            notice.kind
        )));
    }
    let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM held WHERE id = ?1)", [hold_id], |r| {
        r.get(0)
    })?;
    if !exists {
        return Err(StoreError::NotFound {
            id: hold_id.to_string(),
        });
    }
    tx.execute(
        "INSERT INTO notice (hold_id, kind, recipient, subject, body, created_at, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![hold_id, notice.kind, notice.to, notice.subject, notice.body, now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// An account row as read, before its text columns are checked.
struct AccountRow {
    name: String,
    role: String,
    domains: String,
    disabled: bool,
    created_at: i64,
}

/// Reads the columns of [`ACCOUNT_COLUMNS`], in order, from the start of a row.
fn account_row(r: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        name: r.get(0)?,
        role: r.get(1)?,
        domains: r.get(2)?,
        disabled: r.get(3)?,
        created_at: r.get(4)?,
    })
}

impl AccountRow {
    fn into_account(self) -> Result<Account, StoreError> {
        let role = self
            .role
            .parse::<Role>()
            .map_err(|e| StoreError::Corrupt(format!("account {}: {e}", self.name)))?;
        let domains: Vec<String> = serde_json::from_str(&self.domains)
            .map_err(|e| StoreError::Corrupt(format!("account {}: the domains are not a JSON list: {e}", self.name)))?;
        Ok(Account {
            name: self.name,
            role,
            domains,
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

/// Whether an account exists, and if so whether it is disabled.
fn account_disabled(tx: &Connection, name: &str) -> Result<Option<bool>, StoreError> {
    Ok(tx
        .query_row("SELECT disabled FROM account WHERE name = ?1", [name], |r| r.get(0))
        .optional()?)
}

fn check_password_hash(hash: &str) -> Result<(), StoreError> {
    if accounts::is_password_hash(hash) {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "a password is stored only as an Argon2id hash (a PHC string), never as typed".to_string(),
        ))
    }
}

fn end_sessions(tx: &Connection, name: &str) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM session WHERE account = ?1", [name])?)
}

fn notice_state(tx: &Connection, id: i64) -> Result<Option<Option<i64>>, StoreError> {
    Ok(tx
        .query_row("SELECT sent_at FROM notice WHERE id = ?1", [id], |r| r.get(0))
        .optional()?)
}

impl Store for SqliteStore {
    fn hold(&self, new: NewHold, now: i64) -> Result<String, StoreError> {
        self.write(|tx| self.insert_hold(tx, &new, &[], now))
    }

    fn hold_with_notices(&self, new: NewHold, notices: Vec<NewNotice>, now: i64) -> Result<String, StoreError> {
        self.write(|tx| self.insert_hold(tx, &new, &notices, now))
    }

    fn hold_with_id(&self, id: &str, new: NewHold, notices: Vec<NewNotice>, now: i64) -> Result<String, StoreError> {
        let id = normalise_id(id);
        if !is_hold_id(&id) {
            return Err(StoreError::Database(format!(
                "{id:?} is not a hold id (SG- and 8 hex digits)"
            )));
        }
        self.write(|tx| match insert_hold_as(tx, &id, &new, &notices, now)? {
            true => Ok(id.clone()),
            false => Err(StoreError::IdTaken { id: id.clone() }),
        })
    }

    fn get(&self, id: &str) -> Result<Option<HeldMessage>, StoreError> {
        let id = normalise_id(id);
        let conn = self.lock();
        let row = conn
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS}, message, verdict FROM held WHERE id = ?1"),
                [&id],
                |r| {
                    Ok((
                        summary_row(r)?,
                        r.get::<_, Option<Vec<u8>>>(17)?,
                        r.get::<_, String>(18)?,
                    ))
                },
            )
            .optional()?;
        drop(conn);
        match row {
            None => Ok(None),
            Some((summary, message, verdict_json)) => Ok(Some(HeldMessage {
                summary: summary.into_summary()?,
                message,
                verdict_json,
            })),
        }
    }

    fn list(&self, filter: &ListFilter) -> Result<Vec<HeldSummary>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM held \
             WHERE (?1 IS NULL OR status = ?1) \
               AND (?2 IS NULL OR instr(rules, ',' || ?2 || ',') > 0) \
               AND (?3 IS NULL OR sender = ?3 COLLATE NOCASE) \
               AND (?4 IS NULL OR held_at >= ?4) \
             ORDER BY held_at DESC, rowid DESC LIMIT ?5 OFFSET ?6"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    filter.status.map(Status::as_str),
                    filter.rule.as_deref().map(|r| r.trim().to_ascii_lowercase()),
                    filter.sender.as_deref().map(str::trim),
                    filter.since,
                    filter.limit.map_or(-1, i64::from),
                    i64::from(filter.offset)
                ],
                summary_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        drop(conn);
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    fn claim_release(&self, id: &str, actor: &str, note: Option<&str>, now: i64) -> Result<Claim, StoreError> {
        let id = normalise_id(id);
        self.write(|tx| {
            let state = state(tx, &id)?.ok_or_else(|| StoreError::NotFound { id: id.clone() })?;
            if state.status != Status::Held || state.purged {
                return Err(not_held(&id, &state));
            }
            let token = new_claim_token();
            let claimed = tx.execute(
                "UPDATE held SET status = 'releasing', release_claimed_by = ?2, release_claimed_at = ?3, \
                 release_claim_token = ?4, note = ?5, release_error = NULL \
                 WHERE id = ?1 AND status = 'held' AND purged_at IS NULL",
                params![id, actor, now, token, note],
            )?;
            if claimed != 1 {
                return Err(StoreError::Database(format!("{id} changed while it was being claimed")));
            }
            let (sender, recipients, message, verdict_json) = tx.query_row(
                "SELECT sender, recipients, message, verdict FROM held WHERE id = ?1",
                [&id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<Vec<u8>>>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )?;
            let message =
                message.ok_or_else(|| StoreError::Corrupt(format!("{id} has no message but was not purged")))?;
            let recipients: Vec<String> = serde_json::from_str(&recipients)
                .map_err(|e| StoreError::Corrupt(format!("{id}: the recipients are not a JSON list: {e}")))?;
            let detail = with_note(
                format!("release started for {} envelope recipient(s)", recipients.len()),
                note,
            );
            append_audit(tx, actor, "release-claim", Some(&id), &detail, now)?;
            Ok(Claim {
                hold_id: id.clone(),
                token,
                actor: actor.to_string(),
                claimed_at: now,
                sender,
                recipients,
                message,
                verdict_json,
            })
        })
    }

    fn finish_release(&self, claim: &Claim, outcome: ReleaseOutcome, now: i64) -> Result<(), StoreError> {
        let id = &claim.hold_id;
        // The outer `?` is the transaction's failure; what is left, the release's.
        self.write(|tx| {
            let state = state(tx, id)?.ok_or_else(|| StoreError::NotFound { id: id.clone() })?;
            let current = state.status == Status::Releasing && state.token.as_deref() == Some(claim.token.as_str());
            if !current {
                // The outcome still happened; the log must say so.
                let what = match &outcome {
                    ReleaseOutcome::Delivered { reply } => format!("the relay accepted it ({reply})"),
                    ReleaseOutcome::Refused { error } => format!("the relay refused it ({error})"),
                };
                let detail = format!(
                    "a release claimed at {} finished after its claim was no longer current: {what}; \
                     the message is now {}",
                    format_utc(claim.claimed_at),
                    state.status
                );
                append_audit(tx, &claim.actor, "release-late", Some(id), &detail, now)?;
                return Ok(Err(StoreError::NotYours { id: id.clone() }));
            }
            match &outcome {
                ReleaseOutcome::Delivered { reply } => {
                    tx.execute(
                        "UPDATE held SET status = 'released', decided_at = ?3, decided_by = ?4, release_reply = ?5, \
                         release_error = NULL, release_claim_token = NULL, release_claimed_by = NULL, \
                         release_claimed_at = NULL \
                         WHERE id = ?1 AND status = 'releasing' AND release_claim_token = ?2",
                        params![id, claim.token, now, claim.actor, reply],
                    )?;
                    append_audit(
                        tx,
                        &claim.actor,
                        "release",
                        Some(id),
                        &format!("released; the relay answered: {reply}"),
                        now,
                    )?;
                }
                ReleaseOutcome::Refused { error } => {
                    tx.execute(
                        "UPDATE held SET status = 'held', release_error = ?3, release_claim_token = NULL, \
                         release_claimed_by = NULL, release_claimed_at = NULL \
                         WHERE id = ?1 AND status = 'releasing' AND release_claim_token = ?2",
                        params![id, claim.token, error],
                    )?;
                    append_audit(
                        tx,
                        &claim.actor,
                        "release-refused",
                        Some(id),
                        &format!("the relay refused the release, so the message stays held: {error}"),
                        now,
                    )?;
                }
            }
            Ok(Ok(()))
        })?
    }

    fn resolve_unknown_release(
        &self,
        id: &str,
        actor: &str,
        delivered: bool,
        note: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let id = normalise_id(id);
        self.write(|tx| {
            let state = state(tx, &id)?.ok_or_else(|| StoreError::NotFound { id: id.clone() })?;
            match state.status {
                Status::Releasing => {}
                Status::Held => return Err(StoreError::NotReleasing { id: id.clone() }),
                _ => return Err(not_held(&id, &state)),
            }
            let claimed = format!(
                "the release started by {} at {}",
                state.claimed_by.as_deref().unwrap_or("someone"),
                format_utc(state.claimed_at.unwrap_or_default())
            );
            let (changed, action, detail) = if delivered {
                let changed = tx.execute(
                    "UPDATE held SET status = 'released', decided_at = ?2, decided_by = ?3, note = coalesce(?4, note), \
                     release_claim_token = NULL, release_claimed_by = NULL, release_claimed_at = NULL \
                     WHERE id = ?1 AND status = 'releasing'",
                    params![id, now, actor, note],
                )?;
                let detail = format!("{claimed} never reported; resolved as delivered after checking the relay's log");
                (changed, "release", detail)
            } else {
                let error = format!("{claimed} never finished; {actor} found it was not delivered");
                let changed = tx.execute(
                    "UPDATE held SET status = 'held', note = coalesce(?2, note), release_error = ?3, \
                     release_claim_token = NULL, release_claimed_by = NULL, release_claimed_at = NULL \
                     WHERE id = ?1 AND status = 'releasing'",
                    params![id, note, error],
                )?;
                let detail =
                    format!("{claimed} never reported; resolved as not delivered, so the message is held again");
                (changed, "release-not-delivered", detail)
            };
            if changed != 1 {
                return Err(StoreError::Database(format!(
                    "{id} changed while it was being resolved"
                )));
            }
            append_audit(tx, actor, action, Some(&id), &with_note(detail, note), now)
        })
    }

    fn reject(&self, id: &str, actor: &str, note: Option<&str>, now: i64) -> Result<(), StoreError> {
        let id = normalise_id(id);
        self.write(|tx| {
            let state = state(tx, &id)?.ok_or_else(|| StoreError::NotFound { id: id.clone() })?;
            if state.status != Status::Held {
                return Err(not_held(&id, &state));
            }
            // A purged message can still be rejected: rejecting needs no body.
            let changed = tx.execute(
                "UPDATE held SET status = 'rejected', decided_at = ?2, decided_by = ?3, note = ?4 \
                 WHERE id = ?1 AND status = 'held'",
                params![id, now, actor, note],
            )?;
            if changed != 1 {
                return Err(StoreError::Database(format!(
                    "{id} changed while it was being rejected"
                )));
            }
            append_audit(
                tx,
                actor,
                "reject",
                Some(&id),
                &with_note("rejected".to_string(), note),
                now,
            )
        })
    }

    fn record_view(&self, id: &str, actor: &str, now: i64) -> Result<(), StoreError> {
        let id = normalise_id(id);
        self.write(|tx| {
            let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM held WHERE id = ?1)", [&id], |r| r.get(0))?;
            if !exists {
                return Err(StoreError::NotFound { id: id.clone() });
            }
            append_audit(tx, actor, "view", Some(&id), "viewed", now)
        })
    }

    fn purge(&self, older_than: i64, actor: &str, now: i64) -> Result<usize, StoreError> {
        let purged = self.write(|tx| {
            let due: Vec<(String, String, i64)> = tx
                .prepare(
                    "SELECT id, status, held_at FROM held \
                     WHERE held_at < ?1 AND status != 'releasing' AND purged_at IS NULL ORDER BY held_at, rowid",
                )?
                .query_map([older_than], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            for (id, status, held_at) in &due {
                tx.execute(
                    "UPDATE held SET message = NULL, purged_at = ?2 WHERE id = ?1 AND purged_at IS NULL",
                    params![id, now],
                )?;
                let detail = format!(
                    "message removed by retention (status {status}, held at {}); its record is kept",
                    format_utc(*held_at)
                );
                append_audit(tx, actor, "purge", Some(id), &detail, now)?;
            }
            Ok(due.len())
        })?;
        if purged > 0 {
            // Old WAL frames still hold the purged pages' former content;
            // with the pages rewritten (zeroed), restart the log. Best effort:
            // a reader in another process may keep it from truncating now,
            // and the next checkpoint overwrites the frames anyway.
            let conn = self.lock();
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        Ok(purged)
    }

    fn owe_notice(&self, notice: NewNotice, now: i64) -> Result<i64, StoreError> {
        let hold_id = normalise_id(&notice.hold_id);
        self.write(|tx| insert_notice(tx, &notice, &hold_id, now))
    }

    fn due_notices(&self, now: i64, limit: u32) -> Result<Vec<Notice>, StoreError> {
        self.write(|tx| {
            let mut due: Vec<Notice> = tx
                .prepare(&format!(
                    "SELECT {NOTICE_COLUMNS} FROM notice WHERE sent_at IS NULL AND next_attempt_at <= ?1 \
                     ORDER BY next_attempt_at, id LIMIT ?2"
                ))?
                .query_map(params![now, i64::from(limit)], notice_row)?
                .collect::<Result<_, _>>()?;
            let lease_until = now.saturating_add(NOTICE_LEASE_SECONDS);
            for notice in &mut due {
                tx.execute(
                    "UPDATE notice SET next_attempt_at = ?2 WHERE id = ?1",
                    params![notice.id, lease_until],
                )?;
                notice.next_attempt_at = lease_until;
            }
            Ok(due)
        })
    }

    fn notice_sent(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.write(|tx| match notice_state(tx, id)? {
            None => Err(StoreError::NotFound {
                id: format!("notice {id}"),
            }),
            Some(Some(_)) => Ok(()),
            Some(None) => {
                tx.execute(
                    "UPDATE notice SET sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
                    params![id, now],
                )?;
                Ok(())
            }
        })
    }

    fn notice_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<(), StoreError> {
        self.write(|tx| match notice_state(tx, id)? {
            None => Err(StoreError::NotFound {
                id: format!("notice {id}"),
            }),
            Some(Some(_)) => Ok(()),
            Some(None) => {
                tx.execute(
                    "UPDATE notice SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
                    params![id, error, retry_at],
                )?;
                Ok(())
            }
        })
    }

    fn audit(
        &self,
        actor: &str,
        action: &str,
        hold_id: Option<&str>,
        detail: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let hold_id = hold_id.map(normalise_id);
        self.write(|tx| append_audit(tx, actor, action, hold_id.as_deref(), detail, now))
    }

    fn audit_log(&self, since: Option<i64>) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE ?1 IS NULL OR at >= ?1 ORDER BY seq"
        ))?;
        let records = stmt.query_map([since], audit_row)?.collect::<Result<_, _>>()?;
        Ok(records)
    }

    fn audit_for(&self, hold_id: &str) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE hold_id = ?1 ORDER BY seq"
        ))?;
        let records = stmt
            .query_map([normalise_id(hold_id)], audit_row)?
            .collect::<Result<_, _>>()?;
        Ok(records)
    }

    fn verify_audit(&self) -> Result<AuditCheck, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        let mut verifier = ChainVerifier::new();
        while let Some(row) = rows.next()? {
            if let Err(broken) = verifier.push(&audit_row(row)?) {
                return Ok(broken);
            }
        }
        Ok(verifier.finish())
    }

    fn add_account(&self, account: &Account, password_hash: &str, actor: &str, now: i64) -> Result<(), StoreError> {
        accounts::check_name(&account.name).map_err(StoreError::Invalid)?;
        let domains = accounts::normalise_domains(&account.domains).map_err(StoreError::Invalid)?;
        check_password_hash(password_hash)?;
        let domains_json = serde_json::to_string(&domains)
            .map_err(|e| StoreError::Database(format!("the domains could not be written as JSON: {e}")))?;
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO account (name, role, domains, password_hash, disabled, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
                params![
                    account.name,
                    account.role.as_str(),
                    domains_json,
                    password_hash,
                    account.disabled,
                    now
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::AccountExists {
                    name: account.name.clone(),
                });
            }
            let detail = format!(
                "account {} added: role {}; {}{}",
                account.name,
                account.role,
                accounts::senders_text(&domains),
                if account.disabled { "; disabled" } else { "" }
            );
            append_audit(tx, actor, "account-add", None, &detail, now)
        })
    }

    fn set_password(&self, name: &str, password_hash: &str, actor: &str, now: i64) -> Result<(), StoreError> {
        let name = accounts::normalise_name(name);
        check_password_hash(password_hash)?;
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE account SET password_hash = ?2 WHERE name = ?1",
                params![name, password_hash],
            )?;
            if changed == 0 {
                return Err(StoreError::AccountNotFound { name: name.clone() });
            }
            let ended = end_sessions(tx, &name)?;
            let detail = format!("password of {name} changed; {ended} session(s) ended");
            append_audit(tx, actor, "account-passwd", None, &detail, now)
        })
    }

    fn disable_account(&self, name: &str, actor: &str, now: i64) -> Result<(), StoreError> {
        let name = accounts::normalise_name(name);
        self.write(|tx| match account_disabled(tx, &name)? {
            None => Err(StoreError::AccountNotFound { name: name.clone() }),
            Some(true) => Ok(()),
            Some(false) => {
                tx.execute("UPDATE account SET disabled = 1 WHERE name = ?1", [&name])?;
                let ended = end_sessions(tx, &name)?;
                let detail = format!("account {name} disabled; {ended} session(s) ended");
                append_audit(tx, actor, "account-disable", None, &detail, now)
            }
        })
    }

    fn account(&self, name: &str) -> Result<Option<(Account, String)>, StoreError> {
        let name = accounts::normalise_name(name);
        let conn = self.lock();
        let row = conn
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM account WHERE name = ?1"),
                [&name],
                |r| Ok((account_row(r)?, r.get::<_, String>(5)?)),
            )
            .optional()?;
        drop(conn);
        match row {
            None => Ok(None),
            Some((row, hash)) => Ok(Some((row.into_account()?, hash))),
        }
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let conn = self.lock();
        let rows = conn
            .prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY name"))?
            .query_map([], account_row)?
            .collect::<Result<Vec<_>, _>>()?;
        drop(conn);
        rows.into_iter().map(AccountRow::into_account).collect()
    }

    fn create_session(
        &self,
        token_hash: &str,
        account: &str,
        csrf: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        if !accounts::is_token_hash(token_hash) {
            return Err(StoreError::Invalid(
                "a session is stored under the SHA-256 of its token (64 lower-case hex digits), \
                 never under the token itself"
                    .to_string(),
            ));
        }
        if csrf.is_empty() {
            return Err(StoreError::Invalid("a session needs a CSRF token".to_string()));
        }
        if expires_at <= now {
            return Err(StoreError::Invalid("a session must expire after it starts".to_string()));
        }
        let name = accounts::normalise_name(account);
        self.write(|tx| {
            match account_disabled(tx, &name)? {
                None => return Err(StoreError::AccountNotFound { name: name.clone() }),
                Some(true) => return Err(StoreError::AccountDisabled { name: name.clone() }),
                Some(false) => {}
            }
            let inserted = tx.execute(
                "INSERT INTO session (token_hash, account, csrf, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (token_hash) DO NOTHING",
                params![token_hash, name, csrf, now, expires_at],
            )?;
            if inserted == 0 {
                return Err(StoreError::Invalid(
                    "a session with this token already exists; draw a new token".to_string(),
                ));
            }
            let detail = format!("{name} signed in; the session lasts until {}", format_utc(expires_at));
            append_audit(tx, &name, "login", None, &detail, now)
        })
    }

    fn session(&self, token_hash: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT a.name, a.role, a.domains, a.disabled, a.created_at, s.csrf, s.expires_at \
                 FROM session s JOIN account a ON a.name = s.account \
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND a.disabled = 0",
                params![token_hash, now],
                |r| Ok((account_row(r)?, r.get::<_, String>(5)?, r.get::<_, i64>(6)?)),
            )
            .optional()?;
        drop(conn);
        match row {
            None => Ok(None),
            Some((row, csrf, expires_at)) => Ok(Some(Session {
                account: row.into_account()?,
                csrf,
                expires_at,
            })),
        }
    }

    fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM session WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
    }

    fn delete_sessions_of(&self, account: &str) -> Result<usize, StoreError> {
        let name = accounts::normalise_name(account);
        self.write(|tx| end_sessions(tx, &name))
    }

    fn purge_sessions(&self, now: i64) -> Result<usize, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM session WHERE expires_at <= ?1", [now])?))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::accounts::{Account, Role};
    use crate::quarantine::conformance::{DAY, Harness, T0, conformance_tests, new_hold};
    use crate::rules::RuleId;

    /// A store in a temporary directory.
    struct SqliteHarness {
        dir: tempfile::TempDir,
        store: Arc<SqliteStore>,
    }

    impl SqliteHarness {
        fn new() -> SqliteHarness {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let store = SqliteStore::open(&dir.path().join("quarantine.sqlite")).expect("the store opens");
            SqliteHarness {
                dir,
                store: Arc::new(store),
            }
        }
    }

    impl Harness for SqliteHarness {
        fn store(&self) -> &dyn Store {
            &*self.store
        }

        fn handle(&self) -> Arc<dyn Store> {
            self.store.clone()
        }

        fn reopen(&self) -> Arc<dyn Store> {
            Arc::new(SqliteStore::open(&self.dir.path().join("quarantine.sqlite")).expect("opened again"))
        }
    }

    conformance_tests!(SqliteHarness::new());

    fn fresh() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(&dir.path().join("quarantine.sqlite")).expect("the store opens");
        (dir, store)
    }

    /// A second, bare connection: another process, or an attacker with the file.
    fn raw(store: &SqliteStore) -> Connection {
        let conn = Connection::open(store.path()).expect("the file opens");
        conn.busy_timeout(BUSY_TIMEOUT).expect("a busy timeout");
        conn
    }

    #[test]
    fn a_clashing_id_is_drawn_again() {
        let (_dir, store) = fresh();
        store
            .scripted_ids
            .lock()
            .expect("ids")
            .extend(["SG-0000000A", "SG-0000000A", "SG-0000000A", "SG-0000000B"].map(String::from));
        assert_eq!(
            store.hold(new_hold("a@s.example", &[]), T0).expect("held"),
            "SG-0000000A"
        );
        assert_eq!(
            store.hold(new_hold("a@s.example", &[]), T0).expect("held"),
            "SG-0000000B"
        );
        assert_eq!(store.audit_log(None).expect("log").len(), 2);
    }

    #[test]
    fn the_audit_log_is_append_only_in_the_database() {
        let (_dir, store) = fresh();
        let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
        store.record_view(&id, "dpo", T0 + 1).expect("viewed");
        store
            .audit("admin", "config-reload", None, "rules reloaded", T0 + 2)
            .expect("audited");
        let conn = raw(&store);
        let update = conn
            .execute("UPDATE audit SET detail = 'nothing' WHERE seq = 2", [])
            .expect_err("updates refused");
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = conn
            .execute("DELETE FROM audit WHERE seq = 2", [])
            .expect_err("deletes refused");
        assert!(delete.to_string().contains("append-only"), "{delete}");
        assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 3 });
        // The store's own connection is refused too.
        let conn = store.lock();
        assert!(conn.execute("DELETE FROM audit", []).is_err());
        drop(conn);
        assert_eq!(store.audit_log(None).expect("log").len(), 3);
    }

    #[test]
    fn purged_bodies_do_not_linger_in_the_file_or_its_log() {
        let (_dir, store) = fresh();
        let marker = b"PURGE-ME-A801234567345";
        let hold = |at| {
            let mut new = new_hold("a@school.example", &[RuleId::PersonalData]);
            new.message.extend_from_slice(marker);
            store.hold(new, at).expect("held")
        };
        let count = || {
            let mut found = 0;
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{}{suffix}", store.path().display())) {
                    found += bytes.windows(marker.len()).filter(|w| w == marker).count();
                }
            }
            found
        };
        let old = hold(T0);
        let released = hold(T0 + 1);
        let recent = hold(T0 + 40 * DAY);
        let claim = store.claim_release(&released, "dpo", None, T0 + 2).expect("claimed");
        store
            .finish_release(&claim, ReleaseOutcome::Delivered { reply: "250 ok".into() }, T0 + 3)
            .expect("released");
        assert!(count() >= 3, "the messages are in the file");
        let now = T0 + 41 * DAY;
        assert_eq!(store.purge(now - 30 * DAY, "retention", now).expect("purged"), 2);
        assert_eq!(count(), 1, "only the recent message still holds the marker");
        assert!(store.get(&old).expect("get").is_some_and(|h| h.message.is_none()));
        assert!(store.get(&recent).expect("get").is_some_and(|h| h.message.is_some()));
    }

    fn audited_store() -> (tempfile::TempDir, SqliteStore) {
        let (dir, store) = fresh();
        let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
        for i in 1..=4 {
            store.record_view(&id, "dpo", T0 + i).expect("viewed");
        }
        store.reject(&id, "dpo", Some("no"), T0 + 9).expect("rejected");
        assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 6 });
        (dir, store)
    }

    #[test]
    fn a_changed_audit_entry_is_detected() {
        let (_dir, store) = audited_store();
        let conn = raw(&store);
        conn.execute_batch("DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'released' WHERE seq = 6")
            .expect("the attacker edits the file");
        match store.verify_audit().expect("verify") {
            AuditCheck::Broken { seq, reason } => {
                assert_eq!(seq, 6);
                assert!(reason.contains("changed"), "{reason}");
            }
            ok => panic!("not detected: {ok:?}"),
        }
    }

    #[test]
    fn a_removed_audit_entry_is_detected() {
        let (_dir, store) = audited_store();
        raw(&store)
            .execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 3")
            .expect("the attacker edits the file");
        assert!(matches!(
            store.verify_audit().expect("verify"),
            AuditCheck::Broken { seq: 3, .. }
        ));

        // Renumbering the rest to close the gap breaks the chain instead.
        let (_dir, store) = audited_store();
        raw(&store)
            .execute_batch(
                "DROP TRIGGER audit_no_delete; DROP TRIGGER audit_no_update; DELETE FROM audit WHERE seq = 3; \
                 UPDATE audit SET seq = seq - 1 WHERE seq > 3",
            )
            .expect("the attacker edits the file");
        assert!(matches!(
            store.verify_audit().expect("verify"),
            AuditCheck::Broken { seq: 3, .. }
        ));
    }

    #[test]
    fn a_hold_survives_the_process_vanishing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.sqlite");
        let store = SqliteStore::open(&path).expect("open");
        let mut new = new_hold("a@school.example", &[RuleId::PersonalData]);
        new.message = b"Subject: x\r\n\r\n\x00\xff durable\r\n".to_vec();
        let id = store.hold(new, T0).expect("held");
        // No close, no checkpoint: as if the process were killed.
        std::mem::forget(store);
        let reopened = SqliteStore::open(&path).expect("reopen");
        let held = reopened.get(&id).expect("get").expect("still there");
        assert_eq!(
            held.message.as_deref(),
            Some(&b"Subject: x\r\n\r\n\x00\xff durable\r\n"[..])
        );
        assert_eq!(reopened.verify_audit().expect("verify"), AuditCheck::Ok { entries: 1 });
    }

    #[test]
    fn the_database_is_set_up_for_durability() {
        let (_dir, store) = fresh();
        let conn = store.lock();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("sync");
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).expect("fk");
        let secure: i64 = conn
            .query_row("PRAGMA secure_delete", [], |r| r.get(0))
            .expect("secure");
        assert_eq!((mode.as_str(), sync, fk, secure), ("wal", 2, 1, 1));
    }

    #[test]
    fn migrations_run_once_and_newer_files_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.sqlite");
        let first = SqliteStore::open(&path).expect("created");
        let id = first.hold(new_hold("a@school.example", &[]), T0).expect("held");
        let second = SqliteStore::open(&path).expect("opened again");
        assert!(second.get(&id).expect("get").is_some());
        drop((first, second));
        let conn = Connection::open(&path).expect("raw");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);

        conn.pragma_update(None, "user_version", 99).expect("set");
        drop(conn);
        let newer = SqliteStore::open(&path).expect_err("refused");
        assert!(
            matches!(
                newer,
                StoreError::NewerSchema {
                    found: 99,
                    supported: SCHEMA_VERSION
                }
            ),
            "{newer:?}"
        );
        assert!(newer.to_string().contains("schema version 99"), "{newer}");

        // Someone else's database.
        let other = dir.path().join("other.sqlite");
        Connection::open(&other)
            .expect("other")
            .execute_batch("CREATE TABLE t (x)")
            .expect("table");
        assert!(matches!(SqliteStore::open(&other), Err(StoreError::Corrupt(_))));

        // Not a database at all.
        let junk = dir.path().join("junk.sqlite");
        std::fs::write(&junk, vec![0x42; 8192]).expect("junk");
        assert!(matches!(SqliteStore::open(&junk), Err(StoreError::Corrupt(_))));

        // A missing directory is an error, not created.
        let missing = dir.path().join("no-such-dir").join("q.sqlite");
        let error = SqliteStore::open(&missing).expect_err("refused");
        assert!(error.to_string().contains("does not exist"), "{error}");
        assert!(!dir.path().join("no-such-dir").exists());
    }

    #[test]
    fn a_version_1_file_gains_accounts_and_keeps_its_mail() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.sqlite");
        let conn = Connection::open(&path).expect("raw");
        conn.pragma_update(None, "application_id", APPLICATION_ID).expect("id");
        conn.execute_batch(MIGRATION_1).expect("version 1");
        conn.pragma_update(None, "user_version", 1).expect("version");
        let record = AuditRecord::next(None, T0, "milter", "hold", Some("SG-0000000A"), "held");
        conn.execute(
            "INSERT INTO held (id, status, sender, recipients, message, message_bytes, verdict, action, rules, \
             held_at) VALUES ('SG-0000000A', 'held', 'a@school.example', '[\"p@example.com\"]', x'4869', 2, \
             '{}', 'hold', ',personal-data,', ?1)",
            [T0],
        )
        .expect("a held row");
        conn.execute(
            &format!("INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                record.seq,
                record.at,
                record.actor,
                record.action,
                record.hold_id,
                record.detail,
                record.prev_hash,
                record.hash
            ],
        )
        .expect("its audit entry");
        drop(conn);

        let store = SqliteStore::open(&path).expect("migrated");
        let version: i64 = store
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, 2);
        let held = store.get("SG-0000000A").expect("get").expect("kept");
        assert_eq!(held.message.as_deref(), Some(&b"Hi"[..]));
        assert!(store.accounts().expect("accounts").is_empty());
        let hash = crate::accounts::hash_password("a long enough password").expect("hash");
        let dpo = Account {
            name: "dpo".into(),
            role: Role::Dpo,
            domains: vec![],
            disabled: false,
            created_at: 0,
        };
        store.add_account(&dpo, &hash, "cli", T0 + 1).expect("added");
        assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 2 });
    }

    #[test]
    fn shipped_migrations_are_never_edited() {
        use sha2::{Digest, Sha256};
        // A file at version N was made by these exact statements; editing one
        // leaves such files different from new ones. Add a migration instead.
        let shipped = [
            "22b7ed3bb078e28a1d020333c84f932facd7bf6e9ffdf4fa8504fd1d17b4a1c7",
            "df7d20f96dfd16a70bfa520f71795461951635a6d4e34093d3c5f94df90783f2",
        ];
        assert_eq!(MIGRATIONS.len(), shipped.len(), "a new migration: add its hash here");
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let hash = crate::quarantine::audit::hex(&Sha256::digest(sql.as_bytes()));
            assert_eq!(Some(&hash.as_str()), shipped.get(i), "migration {} was edited", i + 1);
        }
    }

    #[test]
    fn no_password_or_session_token_is_kept_in_the_file() {
        let (_dir, store) = fresh();
        let password = "PASSWORD-MARKER-correct-horse";
        let token = crate::accounts::new_token().expect("token");
        let hash = crate::accounts::hash_password(password).expect("hash");
        let dpo = Account {
            name: "dpo".into(),
            role: Role::Dpo,
            domains: vec![],
            disabled: false,
            created_at: 0,
        };
        store.add_account(&dpo, &hash, "cli", T0).expect("added");
        let token_hash = crate::accounts::token_hash(&token);
        store
            .create_session(&token_hash, "dpo", "csrf", T0 + 60, T0)
            .expect("signed in");
        let stored: String = raw(&store)
            .query_row("SELECT token_hash FROM session", [], |r| r.get(0))
            .expect("the session row");
        assert_eq!(stored, token_hash);
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(mut file) = std::fs::read(format!("{}{suffix}", store.path().display())) {
                bytes.append(&mut file);
            }
        }
        assert!(bytes.windows(token_hash.len()).any(|w| w == token_hash.as_bytes()));
        for secret in [password, token.as_str()] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the file holds {secret}"
            );
        }
    }

    #[test]
    fn no_column_outside_the_message_holds_a_detected_value() {
        let (_dir, store) = fresh();
        let secrets = ["A801234567345", "Jane Doughnut", "943 476 5919"];
        let mut new = new_hold(
            "teacher@school.example",
            &[RuleId::PersonalData, RuleId::SensitiveSubject],
        );
        new.message = b"Subject: Jane Doughnut A801234567345\r\n\r\nNHS 943 476 5919, UPN A801234567345\r\n".to_vec();
        let id = store
            .hold_with_notices(
                new,
                vec![NewNotice {
                    hold_id: String::new(),
                    kind: "hold".into(),
                    to: "teacher@school.example".into(),
                    subject: "Your message was held".into(),
                    body: "It carried 1 Unique Pupil Number (A801…345).".into(),
                }],
                T0,
            )
            .expect("held");
        store.record_view(&id, "dpo", T0 + 1).expect("viewed");
        store.reject(&id, "dpo", Some("encrypt it"), T0 + 2).expect("rejected");

        let conn = raw(&store);
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
            .expect("tables")
            .query_map([], |r| r.get(0))
            .expect("tables")
            .collect::<Result<_, _>>()
            .expect("tables");
        // held, notice, audit, and (migration 2) account and session.
        assert_eq!(tables.len(), 5, "{tables:?}");
        for table in &tables {
            let columns: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .expect("columns")
                .query_map([], |r| r.get(0))
                .expect("columns")
                .collect::<Result<_, _>>()
                .expect("columns");
            for column in columns {
                if (table.as_str(), column.as_str()) == ("held", "message") {
                    continue;
                }
                let values: Vec<Vec<u8>> = conn
                    .prepare(&format!(
                        "SELECT CAST({column} AS BLOB) FROM {table} WHERE {column} IS NOT NULL"
                    ))
                    .expect("values")
                    .query_map([], |r| r.get(0))
                    .expect("values")
                    .collect::<Result<_, _>>()
                    .expect("values");
                for value in values {
                    let text = String::from_utf8_lossy(&value);
                    for secret in secrets {
                        assert!(!text.contains(secret), "{table}.{column} holds {secret}");
                    }
                }
            }
        }
    }
}

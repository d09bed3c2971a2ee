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
//!   order in one transaction; migration 2 is one more string in the list. A
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
    Notice, ReleaseOutcome, Status, Store, StoreError, format_utc, new_claim_token, new_hold_id, normalise_id,
};

/// Marks the file as a schoolgate quarantine ("SGQT").
const APPLICATION_ID: i32 = 0x5347_5154;

/// How long a writer waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Fresh ids drawn before giving up (a clash is a 1 in 4 billion event per
/// held message).
const ID_ATTEMPTS: usize = 16;

/// The schema, one migration per entry: entry `i` takes `user_version`
/// from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[MIGRATION_1];

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

    fn next_id(&self, seed: &str) -> String {
        #[cfg(test)]
        if let Some(id) = self
            .scripted_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
        {
            return id;
        }
        new_hold_id(seed)
    }

    /// Insert the held row and its audit entry; the caller commits.
    fn insert_hold(&self, tx: &Connection, new: &NewHold, now: i64) -> Result<String, StoreError> {
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
        let seed = new.queue_id.as_deref().unwrap_or_default();
        for _ in 0..ID_ATTEMPTS {
            let id = self.next_id(seed);
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
            if inserted == 1 {
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
                append_audit(tx, MILTER_ACTOR, "hold", Some(&id), &detail, now)?;
                return Ok(id);
            }
        }
        Err(StoreError::Database(format!(
            "no unused hold id was found in {ID_ATTEMPTS} draws"
        )))
    }
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

fn notice_state(tx: &Connection, id: i64) -> Result<Option<Option<i64>>, StoreError> {
    Ok(tx
        .query_row("SELECT sent_at FROM notice WHERE id = ?1", [id], |r| r.get(0))
        .optional()?)
}

impl Store for SqliteStore {
    fn hold(&self, new: NewHold, now: i64) -> Result<String, StoreError> {
        self.write(|tx| self.insert_hold(tx, &new, now))
    }

    fn hold_with_notices(&self, new: NewHold, notices: Vec<NewNotice>, now: i64) -> Result<String, StoreError> {
        self.write(|tx| {
            let id = self.insert_hold(tx, &new, now)?;
            for notice in &notices {
                insert_notice(tx, notice, &id, now)?;
            }
            Ok(id)
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
                    filter.rule,
                    filter.sender,
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
            let token = new_claim_token(&id);
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
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;
    use crate::finding::{Confidence, Finding, Kind, Location};
    use crate::rules::{RuleAction, RuleId};
    use crate::verdict::{Action, FiredRule, RecipientCounts, Rewrites, Verdict};

    /// 2026-11-23 10:01 UTC.
    const T0: i64 = 1_795_428_060;
    const DAY: i64 = 86_400;

    fn verdict(rules: &[RuleId]) -> Verdict {
        Verdict {
            action: Action::Hold,
            outbound: true,
            encrypted: false,
            rules: rules
                .iter()
                .map(|&rule| FiredRule {
                    rule,
                    action: if rule == RuleId::Disclaimer {
                        RuleAction::Rewrite
                    } else {
                        RuleAction::Hold
                    },
                    reason: format!("{} fired", rule.as_str()),
                })
                .collect(),
            findings: vec![Finding {
                kind: Kind::Upn,
                count: 1,
                confidence: Confidence::High,
                location: Location::Attachment("pupils.csv".into()),
                sample: "A801…345".into(),
            }],
            recipients: RecipientCounts {
                internal: 0,
                external: 1,
                trusted: 0,
                visible_external: 1,
            },
            skipped: vec![],
            monitor: None,
            rewrites: Rewrites::default(),
        }
    }

    fn new_hold(sender: &str, rules: &[RuleId]) -> NewHold {
        NewHold {
            queue_id: Some("4XyZ1Q".into()),
            sender: sender.into(),
            recipients: vec!["parent@example.com".into(), "head@school.example".into()],
            auth_user: Some("jsmith".into()),
            message: b"From: teacher@school.example\r\nSubject: report\r\n\r\nHello\r\n".to_vec(),
            verdict: verdict(rules),
        }
    }

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

    fn status_of(store: &SqliteStore, id: &str) -> Status {
        store.get(id).expect("get").expect("the hold").summary.status
    }

    fn actions_for(store: &SqliteStore, id: &str) -> Vec<String> {
        store
            .audit_for(id)
            .expect("the audit log")
            .into_iter()
            .map(|r| r.action)
            .collect()
    }

    #[test]
    fn a_held_message_comes_back_byte_for_byte() {
        let (_dir, store) = fresh();
        let message =
            b"From: teacher@school.example\r\nSubject: caf\xe9 \xff\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
                        line one\r\n\x00\x80\x81 raw 8-bit\r\nbare LF\nbare CR\r.\r\n"
                .to_vec();
        let mut new = new_hold("Teacher@School.example", &[RuleId::PersonalData, RuleId::Disclaimer]);
        new.message = message.clone();
        let expected_verdict = serde_json::to_string(&new.verdict).expect("json");
        let id = store.hold(new, T0).expect("held");
        assert!(id.starts_with("SG-") && id.len() == 11, "{id}");

        let held = store.get(&id).expect("get").expect("found");
        assert_eq!(held.message.as_deref(), Some(&message[..]));
        assert_eq!(held.verdict_json, expected_verdict);
        let s = &held.summary;
        assert_eq!(s.id, id);
        assert_eq!(s.status, Status::Held);
        assert_eq!(s.queue_id.as_deref(), Some("4XyZ1Q"));
        assert_eq!(s.sender, "Teacher@School.example");
        assert_eq!(s.recipients, vec!["parent@example.com", "head@school.example"]);
        assert_eq!(s.auth_user.as_deref(), Some("jsmith"));
        assert_eq!(s.rules, vec!["personal-data", "disclaimer"]);
        assert_eq!(s.action, "hold");
        assert_eq!(s.held_at, T0);
        assert_eq!((s.decided_at, s.purged_at, s.release_claimed_at), (None, None, None));

        // Ids are found however they are typed; unknown ones are not.
        assert!(store.get(&id.to_lowercase()).expect("get").is_some());
        assert!(store.get("SG-00000000").expect("get").is_none());

        let log = store.audit_log(None).expect("log");
        assert_eq!(log.len(), 1);
        assert_eq!((log[0].actor.as_str(), log[0].action.as_str()), ("milter", "hold"));
        assert_eq!(log[0].hold_id.as_deref(), Some(id.as_str()));
        // Debug output never carries the message.
        assert!(!format!("{held:?}").contains("raw 8-bit"));
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
    fn list_filters_and_pages_newest_first() {
        let (_dir, store) = fresh();
        let a = store
            .hold(new_hold("alice@school.example", &[RuleId::PersonalData]), T0)
            .expect("a");
        let b = store
            .hold(
                new_hold("bob@school.example", &[RuleId::Bcc, RuleId::Disclaimer]),
                T0 + 10,
            )
            .expect("b");
        let c = store
            .hold(
                new_hold(
                    "Alice@School.Example",
                    &[RuleId::SensitiveSubject, RuleId::PersonalData],
                ),
                T0 + 20,
            )
            .expect("c");
        let d = store
            .hold(new_hold("carol@school.example", &[RuleId::ProtectiveMarking]), T0 + 30)
            .expect("d");
        store.reject(&b, "dpo", Some("no"), T0 + 40).expect("rejected");

        let ids = |filter: ListFilter| -> Vec<String> {
            store.list(&filter).expect("list").into_iter().map(|s| s.id).collect()
        };
        assert_eq!(
            ids(ListFilter::default()),
            vec![d.clone(), c.clone(), b.clone(), a.clone()]
        );
        let held = ListFilter {
            status: Some(Status::Held),
            ..Default::default()
        };
        assert_eq!(ids(held), vec![d.clone(), c.clone(), a.clone()]);
        let rejected = ListFilter {
            status: Some(Status::Rejected),
            ..Default::default()
        };
        assert_eq!(ids(rejected), vec![b.clone()]);
        let rule = |r: &str| ListFilter {
            rule: Some(r.into()),
            ..Default::default()
        };
        assert_eq!(ids(rule("personal-data")), vec![c.clone(), a.clone()]);
        assert_eq!(ids(rule("disclaimer")), vec![b.clone()]);
        assert!(ids(rule("data")).is_empty(), "a rule id matches whole, not in part");
        assert!(ids(rule("%")).is_empty());
        let sender = ListFilter {
            sender: Some("ALICE@school.example".into()),
            ..Default::default()
        };
        assert_eq!(ids(sender), vec![c.clone(), a.clone()]);
        let since = ListFilter {
            since: Some(T0 + 20),
            ..Default::default()
        };
        assert_eq!(ids(since), vec![d.clone(), c.clone()]);
        let page = |offset| ListFilter {
            limit: Some(3),
            offset,
            ..Default::default()
        };
        assert_eq!(ids(page(0)), vec![d.clone(), c.clone(), b.clone()]);
        assert_eq!(ids(page(3)), vec![a.clone()]);
        assert!(ids(page(4)).is_empty());
        let both = ListFilter {
            status: Some(Status::Held),
            rule: Some("personal-data".into()),
            sender: Some("alice@school.example".into()),
            since: Some(T0 + 1),
            limit: Some(10),
            offset: 0,
        };
        assert_eq!(ids(both), vec![c]);

        let listed = store.list(&ListFilter::default()).expect("list");
        let rejected = listed.iter().find(|s| s.id == b).expect("b");
        assert_eq!(rejected.decided_by.as_deref(), Some("dpo"));
        assert_eq!(rejected.decided_at, Some(T0 + 40));
        assert_eq!(rejected.note.as_deref(), Some("no"));
    }

    #[test]
    fn two_processes_claiming_at_once_get_one_release() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("q.sqlite");
        let one = Arc::new(SqliteStore::open(&path).expect("one"));
        let two = Arc::new(SqliteStore::open(&path).expect("two"));
        for round in 0..20 {
            let id = one.hold(new_hold("a@school.example", &[]), T0 + round).expect("held");
            let barrier = Arc::new(Barrier::new(2));
            let racers: Vec<_> = [(one.clone(), "dpo"), (two.clone(), "deputy")]
                .into_iter()
                .map(|(store, actor)| {
                    let barrier = barrier.clone();
                    let id = id.clone();
                    std::thread::spawn(move || {
                        barrier.wait();
                        (actor, store.claim_release(&id, actor, Some("checked"), T0 + round))
                    })
                })
                .collect();
            let results: Vec<_> = racers.into_iter().map(|h| h.join().expect("no panic")).collect();
            let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            let winner = winners[0].0;
            let loser = results.iter().find(|(_, r)| r.is_err()).expect("a loser");
            match &loser.1 {
                Err(StoreError::ReleaseInProgress { id: lost, by, since }) => {
                    assert_eq!((lost, by.as_str(), *since), (&id, winner, T0 + round));
                }
                other => panic!("round {round}: the loser got {other:?}"),
            }
            assert_eq!(status_of(&two, &id), Status::Releasing);
        }
        assert_eq!(one.verify_audit().expect("verify"), AuditCheck::Ok { entries: 40 });
    }

    #[test]
    fn a_release_is_claimed_delivered_and_never_repeated() {
        let (_dir, store) = fresh();
        let mut new = new_hold("a@school.example", &[RuleId::PersonalData]);
        new.message = b"Subject: x\r\n\r\n\xe9t\xe9\r\n".to_vec();
        let id = store.hold(new, T0).expect("held");

        let claim = store
            .claim_release(&id, "dpo", Some("parent asked"), T0 + 60)
            .expect("claimed");
        assert_eq!(claim.hold_id, id);
        assert_eq!(claim.message, b"Subject: x\r\n\r\n\xe9t\xe9\r\n");
        assert_eq!(claim.sender, "a@school.example");
        assert_eq!(claim.recipients.len(), 2);
        assert!(!format!("{claim:?}").contains(&claim.token));

        let s = store.get(&id).expect("get").expect("found").summary;
        assert_eq!(s.status, Status::Releasing);
        assert_eq!(s.release_claimed_by.as_deref(), Some("dpo"));
        assert_eq!(s.release_claimed_at, Some(T0 + 60));
        assert_eq!(s.note.as_deref(), Some("parent asked"));

        // Everyone else is told, and nothing is purged from under the release.
        let busy = store
            .claim_release(&id, "deputy", None, T0 + 61)
            .expect_err("in progress");
        assert_eq!(
            busy.to_string(),
            format!(
                "{id} is being released by dpo since 2026-11-23 10:02 UTC; if that release never finished, \
                 check the relay's log and run `schoolgate held resolve`"
            )
        );
        assert!(matches!(
            store.reject(&id, "deputy", None, T0 + 61),
            Err(StoreError::ReleaseInProgress { .. })
        ));
        assert_eq!(store.purge(T0 + 100 * DAY, "retention", T0 + 62).expect("purge"), 0);

        let reply = "250 2.0.0 Ok: queued as 4XyZ".to_string();
        store
            .finish_release(&claim, ReleaseOutcome::Delivered { reply: reply.clone() }, T0 + 63)
            .expect("finished");
        let s = store.get(&id).expect("get").expect("found").summary;
        assert_eq!(s.status, Status::Released);
        assert_eq!(s.release_reply, Some(reply));
        assert_eq!((s.decided_by.as_deref(), s.decided_at), (Some("dpo"), Some(T0 + 63)));
        assert_eq!((s.release_claimed_by, s.release_claimed_at), (None, None));

        assert_eq!(
            store.claim_release(&id, "deputy", None, T0 + 70),
            Err(StoreError::AlreadyReleased {
                id: id.clone(),
                by: "dpo".into(),
                at: T0 + 63
            })
        );
        assert!(matches!(
            store.reject(&id, "deputy", None, T0 + 70),
            Err(StoreError::AlreadyReleased { .. })
        ));
        // Finishing twice is refused: the claim was spent.
        assert_eq!(
            store.finish_release(
                &claim,
                ReleaseOutcome::Delivered {
                    reply: "250 again".into()
                },
                T0 + 71
            ),
            Err(StoreError::NotYours { id: id.clone() })
        );
        assert_eq!(
            actions_for(&store, &id),
            ["hold", "release-claim", "release", "release-late"]
        );
    }

    #[test]
    fn a_refused_release_goes_back_to_held_with_the_error() {
        let (_dir, store) = fresh();
        let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
        let claim = store.claim_release(&id, "dpo", None, T0 + 1).expect("claimed");
        let error = "451 4.3.0 relay temporarily unavailable".to_string();
        store
            .finish_release(&claim, ReleaseOutcome::Refused { error: error.clone() }, T0 + 2)
            .expect("finished");
        let s = store.get(&id).expect("get").expect("found").summary;
        assert_eq!(s.status, Status::Held);
        assert_eq!(s.release_error, Some(error));
        assert_eq!((s.decided_at, s.release_reply), (None, None));
        assert_eq!(actions_for(&store, &id), ["hold", "release-claim", "release-refused"]);

        // It can be tried again; a fresh claim clears the old error.
        let again = store.claim_release(&id, "dpo", None, T0 + 3).expect("claimed again");
        assert_ne!(again.token, claim.token);
        assert_eq!(store.get(&id).expect("get").expect("found").summary.release_error, None);
        assert_eq!(
            store.finish_release(&claim, ReleaseOutcome::Delivered { reply: "250".into() }, T0 + 4),
            Err(StoreError::NotYours { id: id.clone() }),
            "the old claim cannot finish the new release"
        );
        assert_eq!(status_of(&store, &id), Status::Releasing);
        store
            .finish_release(&again, ReleaseOutcome::Delivered { reply: "250 ok".into() }, T0 + 5)
            .expect("finished");
        assert_eq!(status_of(&store, &id), Status::Released);
    }

    #[test]
    fn an_unknown_release_outcome_is_resolved_by_an_operator() {
        let (dir, store) = fresh();
        let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
        assert_eq!(
            store.resolve_unknown_release(&id, "admin", true, None, T0),
            Err(StoreError::NotReleasing { id: id.clone() })
        );
        // The releasing process dies: the row stays `releasing`.
        let dead = store.claim_release(&id, "dpo", None, T0 + 1).expect("claimed");
        drop(store);
        let store = SqliteStore::open(&dir.path().join("quarantine.sqlite")).expect("reopened");
        assert_eq!(status_of(&store, &id), Status::Releasing);

        store
            .resolve_unknown_release(&id, "admin", false, Some("not in the mail log"), T0 + 3600)
            .expect("resolved");
        let s = store.get(&id).expect("get").expect("found").summary;
        assert_eq!(s.status, Status::Held);
        assert!(
            s.release_error.as_deref().is_some_and(|e| e.contains("never finished")),
            "{s:?}"
        );
        assert_eq!(s.note.as_deref(), Some("not in the mail log"));

        // The dead process comes back after all: too late, but logged.
        assert_eq!(
            store.finish_release(&dead, ReleaseOutcome::Delivered { reply: "250".into() }, T0 + 3601),
            Err(StoreError::NotYours { id: id.clone() })
        );
        assert_eq!(status_of(&store, &id), Status::Held);

        store.claim_release(&id, "dpo", None, T0 + 4000).expect("claimed");
        store
            .resolve_unknown_release(&id, "admin", true, Some("queued as 9ABC in the log"), T0 + 5000)
            .expect("resolved");
        let s = store.get(&id).expect("get").expect("found").summary;
        assert_eq!(s.status, Status::Released);
        assert_eq!(
            (s.decided_by.as_deref(), s.decided_at),
            (Some("admin"), Some(T0 + 5000))
        );
        assert_eq!(
            actions_for(&store, &id),
            [
                "hold",
                "release-claim",
                "release-not-delivered",
                "release-late",
                "release-claim",
                "release"
            ]
        );
        assert!(matches!(
            store.resolve_unknown_release(&id, "admin", false, None, T0 + 5001),
            Err(StoreError::AlreadyReleased { .. })
        ));
        assert!(matches!(
            store.resolve_unknown_release("SG-00000000", "admin", false, None, T0),
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 6 });
    }

    #[test]
    fn reject_and_the_errors_of_deciding_twice() {
        let (_dir, store) = fresh();
        let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
        store
            .reject(&id, "dpo", Some("send it encrypted"), T0 + 5)
            .expect("rejected");
        let s = store.get(&id).expect("get").expect("found").summary;
        assert_eq!(s.status, Status::Rejected);
        assert_eq!(s.note.as_deref(), Some("send it encrypted"));
        let twice = store.reject(&id, "deputy", None, T0 + 6).expect_err("rejected already");
        assert_eq!(
            twice,
            StoreError::AlreadyRejected {
                id: id.clone(),
                by: "dpo".into(),
                at: T0 + 5
            }
        );
        assert_eq!(
            twice.to_string(),
            format!("{id} was already rejected by dpo at 2026-11-23 10:01 UTC")
        );
        assert!(matches!(
            store.claim_release(&id, "dpo", None, T0 + 7),
            Err(StoreError::AlreadyRejected { .. })
        ));
        for result in [
            store.reject("SG-DEADBEEF", "dpo", None, T0).map(|_| ()),
            store.claim_release("SG-DEADBEEF", "dpo", None, T0).map(|_| ()),
            store.record_view("SG-DEADBEEF", "dpo", T0),
        ] {
            assert_eq!(
                result,
                Err(StoreError::NotFound {
                    id: "SG-DEADBEEF".into()
                })
            );
        }
        store
            .record_view(&id.to_lowercase(), "auditor", T0 + 8)
            .expect("viewed");
        assert_eq!(actions_for(&store, &id), ["hold", "reject", "view"]);
        let view = store.audit_for(&id).expect("log").pop().expect("the view");
        assert_eq!((view.actor.as_str(), view.at), ("auditor", T0 + 8));
    }

    #[test]
    fn purge_removes_bodies_and_keeps_metadata_and_audit() {
        let (_dir, store) = fresh();
        let marker = b"PURGE-ME-A801234567345";
        let hold = |sender: &str, at| {
            let mut new = new_hold(sender, &[RuleId::PersonalData]);
            new.message.extend_from_slice(marker);
            store.hold(new, at).expect("held")
        };
        let old_released = hold("a@school.example", T0);
        let old_held = hold("b@school.example", T0 + 1);
        let old_releasing = hold("c@school.example", T0 + 2);
        let old_rejected = hold("d@school.example", T0 + 3);
        let recent = hold("e@school.example", T0 + 40 * DAY);
        let claim = store.claim_release(&old_released, "dpo", None, T0 + 10).expect("claim");
        store
            .finish_release(&claim, ReleaseOutcome::Delivered { reply: "250 ok".into() }, T0 + 11)
            .expect("released");
        let releasing = store
            .claim_release(&old_releasing, "dpo", None, T0 + 12)
            .expect("claim");
        store.reject(&old_rejected, "dpo", None, T0 + 13).expect("rejected");

        let now = T0 + 41 * DAY;
        let purged = store.purge(now - 30 * DAY, "retention", now).expect("purged");
        assert_eq!(purged, 3);
        for (id, status) in [
            (&old_released, Status::Released),
            (&old_held, Status::Held),
            (&old_rejected, Status::Rejected),
        ] {
            let held = store.get(id).expect("get").expect("kept");
            assert_eq!(held.message, None);
            assert_eq!(held.summary.purged_at, Some(now));
            assert_eq!(held.summary.status, status);
            assert_eq!(held.summary.rules, vec!["personal-data"]);
            assert!(held.verdict_json.contains("personal-data"));
            assert_eq!(actions_for(&store, id).last().map(String::as_str), Some("purge"));
        }
        for id in [&old_releasing, &recent] {
            let held = store.get(id).expect("get").expect("kept");
            assert!(held.message.is_some());
            assert_eq!(held.summary.purged_at, None);
        }
        assert_eq!(store.purge(now - 30 * DAY, "retention", now + 1).expect("again"), 0);

        // A purged held message cannot be released, but can be rejected.
        assert_eq!(
            store.claim_release(&old_held, "dpo", None, now + 2),
            Err(StoreError::Purged { id: old_held.clone() })
        );
        store
            .reject(&old_held, "dpo", Some("too late"), now + 3)
            .expect("rejected");
        // The release in progress finishes normally, and is purged later.
        store
            .finish_release(
                &releasing,
                ReleaseOutcome::Delivered { reply: "250 ok".into() },
                now + 4,
            )
            .expect("released");
        assert_eq!(store.purge(now - 30 * DAY, "retention", now + 5).expect("purged"), 1);
        assert!(matches!(store.verify_audit().expect("verify"), AuditCheck::Ok { .. }));

        // Nothing of the purged bodies lingers in the file or its log.
        let mut left = 0;
        for suffix in ["", "-wal"] {
            let file = format!("{}{suffix}", store.path().display());
            if let Ok(bytes) = std::fs::read(&file) {
                left += bytes.windows(marker.len()).filter(|w| w == marker).count();
            }
        }
        assert_eq!(left, 1, "only the recent message still holds the marker");
    }

    #[test]
    fn notices_fall_due_are_leased_retried_and_sent() {
        let (_dir, store) = fresh();
        let notice = |kind: &str, to: &str| NewNotice {
            hold_id: String::new(),
            kind: kind.into(),
            to: to.into(),
            subject: "Your message was held (SG-…)".into(),
            body: "It carried 1 Unique Pupil Number.".into(),
        };
        let id = store
            .hold_with_notices(
                new_hold("a@school.example", &[RuleId::PersonalData]),
                vec![notice("hold", "a@school.example"), notice("dpo", "dpo@school.example")],
                T0,
            )
            .expect("held");
        assert!(store.due_notices(T0 - 1, 10).expect("due").is_empty());
        let due = store.due_notices(T0, 10).expect("due");
        assert_eq!(due.len(), 2);
        assert!(
            due.iter()
                .all(|n| n.hold_id == id && n.attempts == 0 && n.sent_at.is_none())
        );
        assert_eq!(due.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(), ["hold", "dpo"]);
        let (to_sender, to_dpo) = (due[0].id, due[1].id);
        // Leased: a second sender does not pick them up meanwhile.
        assert!(store.due_notices(T0 + 1, 10).expect("due").is_empty());

        store
            .notice_failed(to_sender, "connection refused", T0 + 60)
            .expect("failed");
        assert!(store.due_notices(T0 + 59, 10).expect("due").is_empty());
        let retry = store.due_notices(T0 + 60, 10).expect("due");
        assert_eq!(retry.len(), 1);
        assert_eq!(retry[0].id, to_sender);
        assert_eq!(retry[0].attempts, 1);
        assert_eq!(retry[0].last_error.as_deref(), Some("connection refused"));
        store.notice_sent(to_sender, T0 + 61).expect("sent");
        store.notice_sent(to_sender, T0 + 62).expect("sent twice is fine");

        // The DPO's notice was leased by a sender that died: due again after the lease.
        let again = store.due_notices(T0 + NOTICE_LEASE_SECONDS, 10).expect("due");
        assert_eq!(again.iter().map(|n| n.id).collect::<Vec<_>>(), [to_dpo]);
        store.notice_sent(to_dpo, T0 + NOTICE_LEASE_SECONDS).expect("sent");
        assert!(store.due_notices(T0 + 365 * DAY, 10).expect("due").is_empty());

        // Owed later, with a limit.
        for _ in 0..3 {
            store
                .owe_notice(
                    NewNotice {
                        hold_id: id.to_lowercase(),
                        ..notice("reject", "a@school.example")
                    },
                    T0 + 100,
                )
                .expect("owed");
        }
        assert_eq!(store.due_notices(T0 + 100, 2).expect("due").len(), 2);
        assert_eq!(store.due_notices(T0 + 100, 2).expect("due").len(), 1);

        assert!(matches!(
            store.owe_notice(
                NewNotice {
                    hold_id: "SG-00000000".into(),
                    ..notice("hold", "x@y")
                },
                T0
            ),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.owe_notice(
                NewNotice {
                    hold_id: id.clone(),
                    ..notice("shout", "x@y")
                },
                T0
            ),
            Err(StoreError::Database(_))
        ));
        assert!(matches!(store.notice_sent(9999, T0), Err(StoreError::NotFound { .. })));
        assert!(matches!(
            store.notice_failed(9999, "x", T0),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn a_hold_and_its_notices_are_written_together_or_not_at_all() {
        let (_dir, store) = fresh();
        let bad = NewNotice {
            hold_id: String::new(),
            kind: "nonsense".into(),
            to: "a@school.example".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        assert!(
            store
                .hold_with_notices(new_hold("a@school.example", &[]), vec![bad], T0)
                .is_err()
        );
        assert!(store.list(&ListFilter::default()).expect("list").is_empty());
        assert!(store.audit_log(None).expect("log").is_empty());
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

        let log = store.audit_log(None).expect("log");
        assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(log[2].hold_id, None);
        assert_eq!(log[1].prev_hash, log[0].hash);
        assert_eq!(store.audit_log(Some(T0 + 1)).expect("log").len(), 2);
        let json = serde_json::to_string(&log[0]).expect("json");
        assert!(json.contains("\"prev_hash\""), "{json}");
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
        assert_eq!(tables.len(), 3, "{tables:?}");
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

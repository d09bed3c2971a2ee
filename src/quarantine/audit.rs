//! The audit log's hash chain, shared by every store.
//!
//! Why it is built this way: the database already refuses `UPDATE` and
//! `DELETE` on the audit table (triggers), but anyone with the file can drop
//! the triggers. So each entry also carries the SHA-256 of its own content
//! and of the previous entry's hash, and entries are numbered without gaps:
//! a changed entry no longer matches its hash, a removed one leaves a gap in
//! `seq` or a `prev_hash` that points nowhere. The encoding hashed is fixed
//! and unambiguous — a version tag, then every field length-prefixed
//! (integers as 8 big-endian bytes, the optional hold id with a presence
//! byte) — so no two different entries can hash the same bytes by moving a
//! separator. It lives apart from any database so that the PostgreSQL store
//! computes and checks exactly the same chain.
//!
//! What a chain cannot show on its own: entries cut off the *end* of the log.
//! Keeping the latest `hash` somewhere else (a daily log line, a report to
//! the DPO) anchors it.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tags the encoding, so a future change of fields cannot be confused with this one.
const DOMAIN: &[u8] = b"schoolgate-audit-v1";

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// 1, 2, 3, … without gaps.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: String,
    /// `hold`, `view`, `release`, `release-refused`, `reject`, `purge`, …
    pub action: String,
    pub hold_id: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The next entry after `prev` (`None`: the first), with its hash.
    pub fn next(
        prev: Option<(i64, &str)>,
        at: i64,
        actor: &str,
        action: &str,
        hold_id: Option<&str>,
        detail: &str,
    ) -> AuditRecord {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash.to_string()),
            None => (1, GENESIS_HASH.to_string()),
        };
        let hash = entry_hash(&prev_hash, seq, at, actor, action, hold_id, detail);
        AuditRecord {
            seq,
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            hold_id: hold_id.map(str::to_string),
            detail: detail.to_string(),
            prev_hash,
            hash,
        }
    }

    /// The hash this entry's content calls for.
    pub fn expected_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.seq,
            self.at,
            &self.actor,
            &self.action,
            self.hold_id.as_deref(),
            &self.detail,
        )
    }
}

/// SHA-256, as lower-case hex, of one entry in the fixed encoding.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    hold_id: Option<&str>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    field(&mut h, DOMAIN);
    field(&mut h, prev_hash.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(at.to_be_bytes());
    field(&mut h, actor.as_bytes());
    field(&mut h, action.as_bytes());
    match hold_id {
        Some(id) => {
            h.update([1u8]);
            field(&mut h, id.as_bytes());
        }
        None => h.update([0u8]),
    }
    field(&mut h, detail.as_bytes());
    hex(&h.finalize())
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum AuditCheck {
    /// Every entry is intact and none is missing before the last.
    Ok { entries: u64 },
    /// The first entry (by `seq`, or the `seq` expected there) found wrong.
    Broken { seq: i64, reason: String },
}

/// Checks a log one entry at a time, in `seq` order, so a store can stream
/// its rows through it.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    /// The last good entry: its seq and hash.
    last: Option<(i64, String)>,
    entries: u64,
}

impl ChainVerifier {
    pub fn new() -> ChainVerifier {
        ChainVerifier::default()
    }

    /// The next entry; `Err` with the check's verdict at the first break.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), AuditCheck> {
        let (expected_seq, expected_prev) = match &self.last {
            Some((seq, hash)) => (seq + 1, hash.as_str()),
            None => (1, GENESIS_HASH),
        };
        if record.seq != expected_seq {
            let reason = if record.seq > expected_seq {
                format!(
                    "entries {expected_seq} to {} are missing (the next entry is {})",
                    record.seq - 1,
                    record.seq
                )
            } else {
                format!("entry {} is out of order (expected {expected_seq})", record.seq)
            };
            return Err(AuditCheck::Broken {
                seq: expected_seq,
                reason,
            });
        }
        if record.prev_hash != expected_prev {
            return Err(AuditCheck::Broken {
                seq: record.seq,
                reason: "its prev_hash does not match the entry before it (an entry was removed or replaced)"
                    .to_string(),
            });
        }
        if record.expected_hash() != record.hash {
            return Err(AuditCheck::Broken {
                seq: record.seq,
                reason: "its content does not match its hash (the entry was changed)".to_string(),
            });
        }
        self.last = Some((record.seq, record.hash.clone()));
        self.entries += 1;
        Ok(())
    }

    pub fn finish(self) -> AuditCheck {
        AuditCheck::Ok { entries: self.entries }
    }
}

/// Check a whole log, oldest first.
pub fn verify<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> AuditCheck {
    let mut verifier = ChainVerifier::new();
    for record in records {
        if let Err(broken) = verifier.push(record) {
            return broken;
        }
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut log: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let prev = log.last().map(|r| (r.seq, r.hash.as_str()));
            let id = format!("SG-{i:08X}");
            let hold_id = if i % 2 == 0 { Some(id.as_str()) } else { None };
            let record = AuditRecord::next(prev, 1000 + i, "dpo", "view", hold_id, "looked");
            log.push(record);
        }
        log
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), AuditCheck::Ok { entries: 5 });
        assert_eq!(verify(&[]), AuditCheck::Ok { entries: 0 });
    }

    #[test]
    fn a_changed_entry_is_found() {
        let mut log = chain(5);
        log[2].detail = "nothing to see".into();
        assert!(matches!(verify(&log), AuditCheck::Broken { seq: 3, .. }));
    }

    #[test]
    fn a_changed_entry_with_a_fresh_hash_breaks_the_next_link() {
        let mut log = chain(5);
        log[2].actor = "someone-else".into();
        log[2].hash = log[2].expected_hash();
        assert!(matches!(verify(&log), AuditCheck::Broken { seq: 4, .. }));
    }

    #[test]
    fn removed_entries_are_found() {
        let mut log = chain(5);
        log.remove(2);
        assert!(matches!(verify(&log), AuditCheck::Broken { seq: 3, .. }));
        let mut log = chain(5);
        log.remove(0);
        assert!(matches!(verify(&log), AuditCheck::Broken { seq: 1, .. }));
    }

    #[test]
    fn renumbering_after_a_removal_is_found() {
        let mut log = chain(5);
        log.remove(2);
        for r in &mut log[2..] {
            r.seq -= 1;
        }
        assert!(matches!(verify(&log), AuditCheck::Broken { seq: 3, .. }));
    }

    #[test]
    fn the_encoding_is_unambiguous() {
        let a = entry_hash(GENESIS_HASH, 1, 0, "ab", "c", None, "");
        let b = entry_hash(GENESIS_HASH, 1, 0, "a", "bc", None, "");
        assert_ne!(a, b);
        let none = entry_hash(GENESIS_HASH, 1, 0, "a", "b", None, "");
        let empty = entry_hash(GENESIS_HASH, 1, 0, "a", "b", Some(""), "");
        assert_ne!(none, empty);
        assert_eq!(a.len(), 64);
    }
}

//! Release and reject: the DPO's decisions, shared by the CLI and (later)
//! the review UI.
//!
//! A release is exactly-once by design:
//! 1. the store moves the message `held → releasing` in one conditional
//!    update: of two reviewers releasing at the same moment, one wins and
//!    the other is told who is releasing it;
//! 2. the original message, with the rewrites its verdict asked for (Bcc,
//!    disclaimer), goes to its original envelope recipients through the
//!    relay's milter-free re-injection port;
//! 3. the relay's answer is recorded: accepted → `released` with the reply
//!    (`250 2.0.0 Ok: queued as …`); refused → back to `held` with the
//!    error shown, never "released".
//!
//! If the process dies between 2 and 3 the message stays `releasing`, and
//! every view says "release outcome unknown since T": an operator checks the
//! relay's log for the queue id and settles it with `held resolve`, so the
//! message is neither sent twice nor silently lost.

use crate::Engine;
use crate::notify::{self, Relay};
use crate::quarantine::{NewNotice, ReleaseOutcome, Store, StoreError};
use crate::verdict::Verdict;

/// Why a release or reject did not happen.
#[derive(Debug)]
pub enum DecisionError {
    Store(StoreError),
    /// The relay refused the message: it stays held, with this error recorded.
    Refused(String),
    Corrupt(String),
}

impl std::fmt::Display for DecisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecisionError::Store(e) => write!(f, "{e}"),
            DecisionError::Refused(e) => write!(f, "the relay refused the release, so the message stays held: {e}"),
            DecisionError::Corrupt(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for DecisionError {
    fn from(e: StoreError) -> Self {
        DecisionError::Store(e)
    }
}

/// The message as it leaves on release: the original with its verdict's rewrites applied.
pub fn released_message(engine: &Engine, message: &[u8], verdict_json: &str) -> Result<Vec<u8>, DecisionError> {
    let verdict = Verdict::from_json(verdict_json).map_err(DecisionError::Corrupt)?;
    Ok(engine.rewrite(message, &verdict).apply(message))
}

/// Release `id`; the relay's reply on success.
pub fn release(
    store: &dyn Store,
    engine: &Engine,
    id: &str,
    actor: &str,
    note: &str,
    now: i64,
) -> Result<String, DecisionError> {
    let claim = store.claim_release(id, actor, Some(note), now)?;
    // Whatever stops the message leaving (a verdict that cannot be read, a
    // relay that refuses) leaves it held with the error recorded.
    let sent = released_message(engine, &claim.message, &claim.verdict_json)
        .map_err(|e| e.to_string())
        .and_then(|outgoing| {
            Relay::new(engine.config())
                .send(&claim.sender, &claim.recipients, &outgoing)
                .map_err(|e| e.message)
        });
    match sent {
        Ok(reply) => {
            store.finish_release(&claim, ReleaseOutcome::Delivered { reply: reply.clone() }, now)?;
            Ok(reply)
        }
        Err(error) => {
            store.finish_release(&claim, ReleaseOutcome::Refused { error: error.clone() }, now)?;
            Err(DecisionError::Refused(error))
        }
    }
}

/// Reject `id`: it is never sent, and the sender is told why (the notice is queued and sent by the daemon).
pub fn reject(store: &dyn Store, id: &str, actor: &str, note: &str, now: i64) -> Result<(), DecisionError> {
    let held = store
        .get(id)?
        .ok_or_else(|| StoreError::NotFound { id: id.to_string() })?;
    store.reject(id, actor, Some(note), now)?;
    if !held.summary.sender.is_empty() {
        let notice = notify::reject_notice(&held.summary.id, &held.summary.sender, note);
        store.owe_notice(
            NewNotice {
                hold_id: held.summary.id.clone(),
                kind: notice.kind.to_string(),
                to: notice.to,
                subject: notice.subject,
                body: notice.body,
            },
            now,
        )?;
    }
    Ok(())
}

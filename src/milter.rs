//! The milter: indymilter callbacks ↔ the library. No policy here.
//!
//! Per connection a [`Session`]; per message a [`Transaction`] that collects
//! the envelope, the headers (with the leading-space option, so values are
//! byte-exact) and the body (capped), rebuilt at end of message into the raw
//! message the relay holds. Postfix does not call `abort` between messages
//! on one connection (MILTER.md), so a transaction starts fresh at every
//! MAIL and is dropped after every end of message.
//!
//! At end of message the verdict is made off the async threads, by a
//! bounded pool (`milter.workers`) within a time budget (`timeout_seconds`),
//! and a panic in that work is caught: any failure answers tempfail (or
//! accept, if configured) and is logged with the queue id. A hold is stored
//! durably by the [`Holder`] before the answer is discard; if storing fails
//! the answer is tempfail, so the relay keeps the message.

use std::ffi::CString;
use std::future::Future;
use std::io;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use indymilter::{Actions, Callbacks, ContextActions, EomContext, MacroStage, NegotiateContext, ProtoOpts, Status};
use tracing::{error, info, warn};

use crate::config::{OnError, Oversize};
use crate::rewrite::headers::HeaderEdit;
use crate::verdict::{Action, Verdict};
use crate::verdict_pool::{JobError, VerdictPool};
use crate::{Engine, Envelope, Finding};

/// A message to hold: everything the quarantine needs.
#[derive(Debug, Clone)]
pub struct HeldMail {
    pub queue_id: Option<String>,
    /// Only the start of the message was kept (over the size limit).
    pub truncated: bool,
    pub envelope: Envelope,
    pub auth_user: Option<String>,
    pub message: Vec<u8>,
    pub verdict: Verdict,
}

/// Where held mail goes: the quarantine, with its notices. Called from a
/// blocking thread; must return only once the message is durable.
pub trait Holder: Send + Sync {
    /// Store `mail`; the reference id, or why it could not be stored.
    fn hold(&self, mail: HeldMail) -> Result<String, String>;
}

/// What the milter runs with; swapped whole on reload.
pub struct Setup {
    pub engine: Arc<Engine>,
    pub holder: Arc<dyn Holder>,
}

/// Shared by every connection.
pub struct Milter {
    setup: RwLock<Arc<Setup>>,
    workers: VerdictPool,
    /// Replaces `milter.timeout_seconds` (tests use a budget too short to meet).
    budget: Option<Duration>,
}

impl Milter {
    /// A milter with `milter.workers` verdict threads (started now).
    pub fn new(setup: Setup) -> io::Result<Arc<Milter>> {
        Milter::start(setup, None)
    }

    /// A milter whose per-message time budget is `budget`, whatever the configuration says.
    pub fn with_budget(setup: Setup, budget: Duration) -> io::Result<Arc<Milter>> {
        Milter::start(setup, Some(budget))
    }

    fn start(setup: Setup, budget: Option<Duration>) -> io::Result<Arc<Milter>> {
        let workers = VerdictPool::new(setup.engine.config().milter.workers)?;
        Ok(Arc::new(Milter {
            setup: RwLock::new(Arc::new(setup)),
            workers,
            budget,
        }))
    }

    /// Use a new configuration from the next message on.
    pub fn reload(&self, setup: Setup) {
        match self.setup.write() {
            Ok(mut current) => *current = Arc::new(setup),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(setup),
        }
    }

    /// The engine messages are judged with now (after any reload).
    pub fn engine(&self) -> Arc<Engine> {
        self.current().engine.clone()
    }

    fn current(&self) -> Arc<Setup> {
        match self.setup.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The indymilter callbacks for this milter.
    pub fn callbacks(self: &Arc<Self>) -> Callbacks<Session> {
        let on_eom = self.clone();
        let on_mail = self.clone();
        Callbacks::new()
            .on_negotiate(|cx, actions, opts| Box::pin(negotiate(cx, actions, opts)))
            .on_mail(move |cx, args| {
                let sender = args
                    .first()
                    .map(|a| unbracket(&a.to_string_lossy()))
                    .unwrap_or_default();
                let auth_user = cx
                    .macros
                    .get(c"{auth_authen}")
                    .map(|v| v.to_string_lossy().into_owned());
                let session = cx.data.get_or_insert_with(Session::default);
                session.transaction = Some(Transaction {
                    sender,
                    auth_user,
                    // Read once per message, not once per body chunk.
                    limit: on_mail.current().engine.config().limits.max_message_bytes,
                    ..Transaction::default()
                });
                let status = session.reply(ProtoOpts::NOREPLY_MAIL);
                Box::pin(async move { status })
            })
            .on_rcpt(|cx, args| {
                if let Some(t) = cx.data.as_mut().and_then(|s| s.transaction.as_mut())
                    && let Some(rcpt) = args.first()
                {
                    t.recipients.push(unbracket(&rcpt.to_string_lossy()));
                }
                let status = reply(cx.data.as_ref(), ProtoOpts::NOREPLY_RCPT);
                Box::pin(async move { status })
            })
            .on_header(|cx, name, value| {
                if let Some(t) = cx.data.as_mut().and_then(|s| s.transaction.as_mut()) {
                    t.add_header(name.as_bytes(), value.as_bytes());
                }
                let status = reply(cx.data.as_ref(), ProtoOpts::NOREPLY_HEADER);
                Box::pin(async move { status })
            })
            .on_body(|cx, chunk| {
                if let Some(t) = cx.data.as_mut().and_then(|s| s.transaction.as_mut()) {
                    let limit = t.limit;
                    t.add_body(chunk.as_ref(), limit);
                }
                let status = reply(cx.data.as_ref(), ProtoOpts::NOREPLY_BODY);
                Box::pin(async move { status })
            })
            .on_eom(move |cx| {
                let milter = on_eom.clone();
                Box::pin(async move { milter.end_of_message(cx).await })
            })
            .on_abort(|cx| {
                // Idempotent: Postfix may call it twice, or not at all between messages.
                if let Some(session) = cx.data.as_mut() {
                    session.transaction = None;
                }
                Box::pin(async { Status::Continue })
            })
    }

    async fn end_of_message(&self, cx: &mut EomContext<Session>) -> Status {
        let Some(mut transaction) = cx.data.as_mut().and_then(|s| s.transaction.take()) else {
            return Status::Continue;
        };
        let queue_id = cx.macros.get(c"i").map(|v| v.to_string_lossy().into_owned());
        let setup = self.current();
        let config = setup.engine.config();
        let on_error = config.milter.on_error;
        let failure = |what: &str| {
            error!(queue_id = queue_id.as_deref().unwrap_or("-"), "{what}");
            match on_error {
                OnError::Tempfail => Status::Tempfail,
                OnError::Accept => Status::Accept,
            }
        };
        if transaction.truncated && config.milter.oversize == Oversize::Tempfail {
            return failure("message over the size limit: tempfail (milter.oversize)");
        }

        let raw = transaction.take_raw_message();
        let envelope = Envelope {
            sender: Some(transaction.sender),
            recipients: transaction.recipients,
        };
        let budget = self
            .budget
            .unwrap_or(Duration::from_secs(config.milter.timeout_seconds));
        let work_setup = setup.clone();
        let held = HeldMail {
            queue_id: queue_id.clone(),
            truncated: transaction.truncated,
            envelope,
            auth_user: transaction.auth_user,
            message: raw,
            verdict: placeholder_verdict(),
        };
        // Kept only when an over-budget scan is to be held (`unscannable = "hold"`).
        let fallback = (setup.engine.config().rule_action(crate::RuleId::Unscannable) == Some(crate::RuleAction::Hold))
            .then(|| held.clone());
        let task = self.workers.run(move || decide(&work_setup, held));
        let started = std::time::Instant::now();
        let outcome = match tokio::time::timeout(budget, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(JobError::Panicked)) => {
                return failure("the scan panicked; tempfail, the relay keeps the message");
            }
            Ok(Err(JobError::Unavailable)) => return failure("the verdict pool is not running"),
            Err(_) => {
                // Over budget: the unscannable rule says what happens — warn
                // lets it through; hold keeps it, unscanned, for the DPO.
                warn!(
                    queue_id = queue_id.as_deref().unwrap_or("-"),
                    "scan over its time budget"
                );
                let Some(mut held) = fallback else {
                    return Status::Continue;
                };
                held.verdict = over_budget_verdict(budget.as_secs());
                let holder = setup.holder.clone();
                return match tokio::task::spawn_blocking(move || holder.hold(held)).await {
                    Ok(Ok(id)) => {
                        info!(queue_id = queue_id.as_deref().unwrap_or("-"), hold = %id, "held unscanned (over budget)");
                        Status::Discard
                    }
                    Ok(Err(e)) => failure(&format!("could not store the held message, tempfail: {e}")),
                    Err(_) => failure("storing the held message panicked; tempfail"),
                };
            }
        };
        tracing::debug!(
            queue_id = queue_id.as_deref().unwrap_or("-"),
            micros = started.elapsed().as_micros() as u64,
            "verdict"
        );
        match outcome {
            Outcome::Approve { monitor_note } => {
                if let Some(note) = monitor_note
                    && let Err(e) = cx.actions.add_header("X-Schoolgate-Verdict", format!(" {note}")).await
                {
                    return failure(&format!("could not add the monitor header: {e}"));
                }
                Status::Continue
            }
            Outcome::Rewrite { headers, body } => match apply(cx, &headers, body.as_deref()).await {
                Ok(()) => Status::Continue,
                Err(e) => failure(&format!("could not rewrite: {e}")),
            },
            Outcome::ToHold(held) => {
                let holder = setup.holder.clone();
                match tokio::task::spawn_blocking(move || holder.hold(*held)).await {
                    Ok(Ok(id)) => {
                        info!(queue_id = queue_id.as_deref().unwrap_or("-"), hold = %id, "held");
                        Status::Discard
                    }
                    Ok(Err(e)) => failure(&format!("could not store the held message, tempfail: {e}")),
                    Err(_) => failure("storing the held message panicked; tempfail, the relay keeps the message"),
                }
            }
            Outcome::StoreFailed(e) => failure(&format!("could not store the held message, tempfail: {e}")),
        }
    }
}

/// What end of message does, decided off the async threads.
enum Outcome {
    Approve {
        monitor_note: Option<String>,
    },
    Rewrite {
        headers: Vec<HeaderEdit>,
        body: Option<Vec<u8>>,
    },
    /// To be stored; outside the scan's time budget, so a slow disk cannot
    /// make one message both stored and tempfailed.
    ToHold(Box<HeldMail>),
    StoreFailed(String),
}

/// The verdict of a message held because its scan did not finish in time.
fn over_budget_verdict(seconds: u64) -> Verdict {
    let reason = format!("the scan did not finish within {seconds} seconds");
    Verdict {
        action: Action::Hold,
        outbound: true,
        rules: vec![crate::verdict::FiredRule {
            rule: crate::RuleId::Unscannable,
            action: crate::RuleAction::Hold,
            reason: reason.clone(),
        }],
        findings: vec![Finding {
            kind: crate::Kind::Unscannable,
            count: 1,
            confidence: crate::Confidence::High,
            location: crate::Location::Body,
            sample: reason,
        }],
        ..placeholder_verdict()
    }
}

fn placeholder_verdict() -> Verdict {
    Verdict {
        action: Action::Approve,
        outbound: false,
        encrypted: false,
        rules: Vec::new(),
        findings: Vec::<Finding>::new(),
        recipients: Default::default(),
        skipped: Vec::new(),
        monitor: None,
        rewrites: Default::default(),
        attachments: Vec::new(),
    }
}

/// The pipeline for one message: verdict, then rewrite or hold.
fn decide(setup: &Setup, mut held: HeldMail) -> Outcome {
    let (verdict, rewrite) = setup
        .engine
        .inspect_and_rewrite(&held.message, &held.envelope, !held.truncated);
    match verdict.action {
        // Never hold (or rewrite the body of) a message we do not have whole.
        Action::Hold if held.truncated => {
            Outcome::StoreFailed("the message is over the size limit and cannot be held whole".into())
        }
        Action::Hold => {
            held.verdict = verdict;
            Outcome::ToHold(Box::new(held))
        }
        Action::Rewrite => {
            // A truncated message gets header edits only.
            let rewrite = rewrite.unwrap_or_else(|| setup.engine.rewrite(&held.message, &verdict));
            Outcome::Rewrite {
                body: if held.truncated {
                    None
                } else {
                    rewrite.new_body(&held.message)
                },
                headers: rewrite.headers,
            }
        }
        Action::Approve => Outcome::Approve {
            monitor_note: verdict.monitor.map(|m| {
                let rules: Vec<&str> = verdict.rules.iter().map(|r| r.rule.as_str()).collect();
                format!(
                    "monitor; would {}; rules={}",
                    m.enforce_action.as_str(),
                    rules.join(",")
                )
            }),
        },
    }
}

/// Send the edits: header changes in order, then the body in chunks.
async fn apply(cx: &mut EomContext<Session>, headers: &[HeaderEdit], body: Option<&[u8]>) -> Result<(), String> {
    for edit in headers {
        let result = match edit {
            HeaderEdit::Change { name, index, value } => {
                let index = i32::try_from(*index).map_err(|_| "header index out of range".to_string())?;
                cx.actions
                    .change_header(cstring(name)?, index, value.as_deref().map(cstring).transpose()?)
                    .await
            }
            HeaderEdit::Add { name, value } => cx.actions.add_header(cstring(name)?, cstring(value)?).await,
        };
        // Name the header, never its value: a log line carries no message content.
        result.map_err(|e| format!("{}: {e}", edit.target()))?;
    }
    if let Some(body) = body {
        for chunk in body.chunks(65535) {
            cx.actions
                .replace_body(chunk)
                .await
                .map_err(|e| format!("replace body: {e}"))?;
        }
    }
    Ok(())
}

fn cstring(value: &str) -> Result<CString, String> {
    CString::new(value.as_bytes().to_vec()).map_err(|_| format!("{value:?} holds a NUL byte"))
}

/// The actions schoolgate takes: Bcc and subject edits, the disclaimer.
pub const NEEDED_ACTIONS: Actions = Actions::ADD_HEADER
    .union(Actions::CHANGE_HEADER)
    .union(Actions::REPLACE_BODY);

/// Negotiation: leading space, and the actions schoolgate needs. Refuse to
/// run if the MTA does not offer them.
async fn negotiate(cx: &mut NegotiateContext<Session>, actions: Actions, opts: ProtoOpts) -> Status {
    if !actions.contains(NEEDED_ACTIONS) {
        error!("the MTA does not offer the milter actions schoolgate needs (add/change header, replace body)");
        return Status::Reject;
    }
    if !opts.contains(ProtoOpts::LEADING_SPACE) {
        error!("the MTA does not offer byte-exact header values (SMFIP_HDR_LEADSPC)");
        return Status::Reject;
    }
    let noreply = request_stages(cx, opts);
    cx.data = Some(Session {
        noreply,
        transaction: None,
    });
    Status::Continue
}

/// The stages that only collect data: the MTA need not wait for a reply.
const QUIET_STAGES: ProtoOpts = ProtoOpts::NOREPLY_MAIL
    .union(ProtoOpts::NOREPLY_RCPT)
    .union(ProtoOpts::NOREPLY_HEADER)
    .union(ProtoOpts::NOREPLY_BODY);

/// Ask the MTA (offering `opts`) for what schoolgate reads and nothing more;
/// the no-reply stages it granted. Public so `examples/null_milter`
/// negotiates exactly this.
///
/// The stages schoolgate does not use are skipped and the ones that only
/// collect data take no reply: a few round trips per message instead of one
/// per header (where the MTA offers it; Postfix ≥ 2.6 does). This needs the
/// listener's immediate ACKs (serve::NoDelay), or the MTA's back-to-back
/// writes stall on delayed ACKs. Only the macros schoolgate reads are asked
/// for, so the MTA does not send its default lists with every recipient and
/// message (Postfix honours this since 2.6).
pub fn request_stages<T: Send>(cx: &mut NegotiateContext<T>, opts: ProtoOpts) -> ProtoOpts {
    let skip =
        ProtoOpts::NO_CONNECT | ProtoOpts::NO_HELO | ProtoOpts::NO_DATA | ProtoOpts::NO_EOH | ProtoOpts::NO_UNKNOWN;
    cx.requested_actions = NEEDED_ACTIONS;
    cx.requested_opts = ProtoOpts::LEADING_SPACE | (opts & (skip | QUIET_STAGES));
    cx.requested_macros.insert(MacroStage::Mail, c"{auth_authen}".into());
    cx.requested_macros.insert(MacroStage::Rcpt, c"".into());
    cx.requested_macros.insert(MacroStage::Eom, c"i".into());
    opts & QUIET_STAGES
}

/// The status a data-collecting callback answers: no reply where negotiated.
fn reply(session: Option<&Session>, stage: ProtoOpts) -> Status {
    match session {
        Some(session) => session.reply(stage),
        None => Status::Continue,
    }
}

fn unbracket(address: &str) -> String {
    address.trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

/// Per-connection state.
#[derive(Debug, Default)]
pub struct Session {
    /// The no-reply options negotiated with the MTA.
    noreply: ProtoOpts,
    transaction: Option<Transaction>,
}

impl Session {
    fn reply(&self, stage: ProtoOpts) -> Status {
        if self.noreply.contains(stage) {
            Status::Noreply
        } else {
            Status::Continue
        }
    }
}

/// Per-message state.
#[derive(Debug, Default)]
struct Transaction {
    sender: String,
    recipients: Vec<String>,
    auth_user: Option<String>,
    /// The message as it arrives: the header fields, rebuilt with CRLF line
    /// endings, then (from the first body chunk) the blank line and the body.
    /// One buffer, so end of message hands it over without a copy.
    raw: Vec<u8>,
    /// The blank line after the headers is in `raw`: the body has begun.
    /// The MTA sends every header before the body.
    body_begun: bool,
    /// `limits.max_message_bytes` when the message began.
    limit: usize,
    /// Past the size limit: the rest was not kept.
    truncated: bool,
}

impl Transaction {
    /// A header as the MTA sent it (leading-space option: the value is exact, folds are bare LF).
    fn add_header(&mut self, name: &[u8], value: &[u8]) {
        self.raw.extend_from_slice(name);
        self.raw.push(b':');
        let mut from = 0;
        for lf in memchr::memchr_iter(b'\n', value) {
            if lf == 0 || value[lf - 1] != b'\r' {
                self.raw.extend_from_slice(&value[from..lf]);
                self.raw.extend_from_slice(b"\r\n");
                from = lf + 1;
            }
        }
        self.raw.extend_from_slice(&value[from..]);
        self.raw.extend_from_slice(b"\r\n");
    }

    /// End the headers with their blank line, once.
    fn begin_body(&mut self) {
        if !self.body_begun {
            self.raw.extend_from_slice(b"\r\n");
            self.body_begun = true;
        }
    }

    fn add_body(&mut self, chunk: &[u8], limit: usize) {
        self.begin_body();
        // The headers and the body so far; the blank line between them does not count.
        let room = limit.saturating_sub(self.raw.len() - 2);
        if chunk.len() > room {
            self.raw.extend_from_slice(&chunk[..room]);
            self.truncated = true;
        } else {
            self.raw.extend_from_slice(chunk);
        }
    }

    /// The whole message, taken out of the transaction.
    fn take_raw_message(&mut self) -> Vec<u8> {
        self.begin_body();
        std::mem::take(&mut self.raw)
    }
}

/// Run the milter on `listener` until `shutdown` completes; messages in
/// flight are finished first.
pub async fn run(
    listener: impl indymilter::Listener,
    milter: Arc<Milter>,
    shutdown: impl Future,
) -> std::io::Result<()> {
    let config = indymilter::Config {
        max_connections: 256,
        actions: NEEDED_ACTIONS,
        ..indymilter::Config::default()
    };
    indymilter::run(listener, milter.callbacks(), config, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_rebuilt_with_crlf() {
        let mut t = Transaction::default();
        t.add_header(b"To", b" One <one@x>,\n  Two <two@x>");
        t.add_header(b"Subject", b" hi");
        // A fold the MTA already sent as CRLF stays one CRLF; a value may begin with its fold.
        t.add_header(b"Received", b" from a\r\n\tby b");
        t.add_header(b"X-Folded", b"\n value\n");
        t.add_body(b"line\r\n", 1000);
        t.add_body(b"two\r\n", 1000);
        assert_eq!(
            t.take_raw_message(),
            b"To: One <one@x>,\r\n  Two <two@x>\r\nSubject: hi\r\nReceived: from a\r\n\tby b\r\n\
X-Folded:\r\n value\r\n\r\n\r\nline\r\ntwo\r\n"
        );
    }

    #[test]
    fn a_message_without_a_body_still_ends_its_headers() {
        let mut t = Transaction::default();
        t.add_header(b"Subject", b" hi");
        assert_eq!(t.take_raw_message(), b"Subject: hi\r\n\r\n");
    }

    #[test]
    fn the_body_stops_at_the_limit() {
        let mut t = Transaction::default();
        t.add_header(b"Subject", b" hi");
        t.add_body(&[b'x'; 100], 60);
        t.add_body(&[b'y'; 100], 60);
        let raw = t.take_raw_message();
        // 13 bytes of header, the blank line, and the body up to 60 bytes in all.
        assert_eq!(raw.len(), 60 + 2);
        assert!(raw.ends_with(&[b'x'; 47]));
        assert!(t.truncated);
    }
}

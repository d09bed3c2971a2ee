//! Milter conversations over a real socket, driven by `indymilter-test` as
//! Postfix would drive them: approve, rewrite (the exact edits), hold
//! (discard, stored byte for byte), a store that fails, a scan that panics,
//! several messages on one connection, abort mid-message, odd body chunks.

mod common;

use std::ffi::CString;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use indymilter_test::{EomAction, MacroStage, ProtoOpts, Status, TestConnection};
use schoolgate::extract::{DocumentReader, Extraction, ReadRequest};
use schoolgate::milter::{self, HeldMail, Holder, Milter, Setup};
use schoolgate::rewrite::headers::{HeaderBlock, milter_value};
use schoolgate::{Engine, Envelope};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Default)]
struct MemoryHolder {
    held: Mutex<Vec<HeldMail>>,
    fail: bool,
    panic: bool,
}

impl Holder for MemoryHolder {
    fn hold(&self, mail: HeldMail) -> Result<String, String> {
        if self.panic {
            panic!("a scan or store that panics");
        }
        if self.fail {
            return Err("disk full".into());
        }
        let mut held = self.held.lock().expect("not poisoned");
        held.push(mail);
        Ok(format!("SG-TEST{}", held.len()))
    }
}

struct Running {
    addr: SocketAddr,
    holder: Arc<MemoryHolder>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(holder: MemoryHolder) -> Running {
    start_with(holder, "", None).await
}

/// A milter with the fixture configuration plus `extra` TOML, and optionally a time budget.
async fn start_with(holder: MemoryHolder, extra: &str, budget: Option<std::time::Duration>) -> Running {
    start_reading_with(holder, extra, budget, None).await
}

/// As [`start_with`], with documents read by `reader`.
async fn start_reading_with(
    holder: MemoryHolder,
    extra: &str,
    budget: Option<std::time::Duration>,
    reader: Option<Arc<dyn DocumentReader>>,
) -> Running {
    let holder = Arc::new(holder);
    let source = std::fs::read_to_string(common::fixtures().join("schoolgate.toml")).expect("fixture config");
    let source = if extra.starts_with("mode") {
        source.replace("mode = \"enforce\"", extra)
    } else {
        format!("{source}\n{extra}")
    };
    let mut engine = Engine::new(
        schoolgate::config::Config::parse("t.toml", &source).expect("valid"),
        schoolgate::RulePack::builtin(),
    );
    if let Some(reader) = reader {
        engine = engine.with_document_reader(reader);
    }
    let setup = Setup {
        engine: Arc::new(engine),
        holder: holder.clone(),
    };
    let milter = match budget {
        Some(budget) => Milter::with_budget(setup, budget),
        None => Milter::new(setup),
    }
    .expect("verdict threads start");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(milter::run(listener, milter, stopped));
    Running {
        addr,
        holder,
        stop: Some(stop),
    }
}

/// A document reader that keeps every read waiting until the test drops the
/// sender: a scan that is certainly over its budget, however fast the build.
struct StalledReader(Mutex<std::sync::mpsc::Receiver<()>>);

impl DocumentReader for StalledReader {
    fn read(&self, _: &ReadRequest, _: &[u8]) -> Extraction {
        let _ = self.0.lock().expect("not poisoned").recv();
        Extraction::default()
    }
}

fn stalled_reader() -> (std::sync::mpsc::Sender<()>, Option<Arc<dyn DocumentReader>>) {
    let (release, wait) = std::sync::mpsc::channel();
    (release, Some(Arc::new(StalledReader(Mutex::new(wait)))))
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n").replace('\n', "\r\n");
    text.into_bytes()
}

fn fixture(name: &str) -> Vec<u8> {
    crlf(&std::fs::read(common::fixtures().join("messages").join(name)).expect("fixture"))
}

async fn open(addr: SocketAddr) -> TestConnection {
    // What Postfix offers; the milter skips connect, helo, data and eoh and asks for no replies while collecting.
    let conn = TestConnection::configure()
        .exact_leading_space(true)
        .open_tcp(addr)
        .await
        .expect("connects");
    assert!(
        conn.negotiated_opts()
            .contains(ProtoOpts::NOREPLY_HEADER | ProtoOpts::NO_HELO)
    );
    conn
}

/// One message as Postfix sends it: envelope, headers (exact values, folds as LF), body in `chunk`-sized pieces.
async fn send(
    conn: &mut TestConnection,
    from: &str,
    to: &[&str],
    raw: &[u8],
    chunk: usize,
) -> (indymilter_test::EomActions, Status) {
    assert_eq!(conn.mail([format!("<{from}>")]).await.expect("mail"), Status::Noreply);
    for rcpt in to {
        assert_eq!(conn.rcpt([format!("<{rcpt}>")]).await.expect("rcpt"), Status::Noreply);
    }
    conn.macros(MacroStage::Eom, [("i", "4XyZ1234")]).await.expect("macros");
    let block = HeaderBlock::parse(raw);
    for field in &block.fields {
        let value = CString::new(milter_value(field.value)).expect("no NUL");
        assert_eq!(conn.header(field.name, value).await.expect("header"), Status::Noreply);
    }
    for piece in raw[block.body_start..].chunks(chunk) {
        conn.body(piece.to_vec()).await.expect("body");
    }
    conn.eom().await.expect("eom")
}

fn replaced_body(actions: &indymilter_test::EomActions) -> Vec<u8> {
    actions
        .actions
        .iter()
        .filter_map(|a| match a {
            EomAction::ReplaceBody { chunk } => Some(chunk.to_vec()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn engine() -> Engine {
    common::engine()
}

#[tokio::test]
async fn approve_makes_no_modification() {
    let running = start(MemoryHolder::default()).await;
    let mut conn = open(running.addr).await;
    let raw = fixture("outlook-internal-staff-briefing-upn.eml");
    let (actions, status) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["head@oakfield.sch.uk"],
        &raw,
        65535,
    )
    .await;
    assert_eq!(status, Status::Continue);
    assert!(actions.actions.is_empty(), "{actions:?}");
}

#[tokio::test]
async fn rewrite_sends_the_exact_edits_and_body() {
    let running = start(MemoryHolder::default()).await;
    let mut conn = open(running.addr).await;
    let raw = fixture("outlook-five-parents-in-to.eml");
    let recipients = [
        "deepa.patel84@gmail.com",
        "t.nowak@outlook.com",
        "hannah.fox@icloud.com",
        "chidi.okafor@btinternet.com",
        "emmagreen.home@gmail.com",
    ];
    // Odd chunk sizes: cut mid-line and mid-CRLF.
    let (actions, status) = send(&mut conn, "l.bennett@oakfield.sch.uk", &recipients, &raw, 1001).await;
    assert_eq!(status, Status::Continue);
    assert!(
        actions.has_change_header("To", 1, " office@oakfield.sch.uk"),
        "{actions:?}"
    );
    assert!(
        actions.has_add_header("X-Schoolgate-Bcc", " moved 5 recipients"),
        "{actions:?}"
    );

    let engine = engine();
    let envelope = Envelope {
        sender: Some("l.bennett@oakfield.sch.uk".into()),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
    };
    let verdict = engine.inspect(&raw, &envelope);
    let expected = engine.rewrite(&raw, &verdict).new_body(&raw).expect("a new body");
    assert_eq!(replaced_body(&actions), expected);
}

#[tokio::test]
async fn hold_discards_and_stores_the_message_byte_for_byte() {
    let running = start(MemoryHolder::default()).await;
    let mut conn = open(running.addr).await;
    let raw = fixture("outlook-pupil-list-csv.eml");
    let (actions, status) = send(&mut conn, "s.jenkins@oakfield.sch.uk", &["parent@gmail.com"], &raw, 7).await;
    assert_eq!(status, Status::Discard);
    assert!(actions.actions.is_empty());
    let held = running.holder.held.lock().expect("lock");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].message, raw);
    assert_eq!(held[0].queue_id.as_deref(), Some("4XyZ1234"));
    assert_eq!(held[0].envelope.recipients, ["parent@gmail.com"]);
    assert_eq!(held[0].verdict.action, schoolgate::Action::Hold);
}

#[tokio::test]
async fn a_store_that_fails_tempfails() {
    let running = start(MemoryHolder {
        fail: true,
        ..MemoryHolder::default()
    })
    .await;
    let mut conn = open(running.addr).await;
    let raw = fixture("outlook-pupil-list-csv.eml");
    let (_, status) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &raw,
        65535,
    )
    .await;
    assert!(matches!(status, Status::Tempfail { .. }), "{status:?}");
}

#[tokio::test]
async fn a_panic_tempfails_that_message_and_the_milter_keeps_serving() {
    let running = start(MemoryHolder {
        panic: true,
        ..MemoryHolder::default()
    })
    .await;
    let mut conn = open(running.addr).await;
    let held = fixture("outlook-pupil-list-csv.eml");
    let (_, status) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &held,
        65535,
    )
    .await;
    assert!(matches!(status, Status::Tempfail { .. }), "{status:?}");
    // The same connection, then a new one, still work.
    let safe = fixture("outlook-plain-note-one-parent.eml");
    let (_, status) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &safe,
        65535,
    )
    .await;
    assert_eq!(status, Status::Continue);
    let mut other = open(running.addr).await;
    let (_, status) = send(
        &mut other,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &safe,
        65535,
    )
    .await;
    assert_eq!(status, Status::Continue);
}

#[tokio::test]
async fn several_messages_and_an_abort_on_one_connection() {
    let running = start(MemoryHolder::default()).await;
    let mut conn = open(running.addr).await;
    // A message abandoned mid-body (RSET) leaves nothing behind.
    conn.mail(["<s.jenkins@oakfield.sch.uk>"]).await.expect("mail");
    conn.rcpt(["<parent@gmail.com>"]).await.expect("rcpt");
    conn.header("Subject", " UPN B801200005001").await.expect("header");
    conn.body(b"half a body".to_vec()).await.expect("body");
    conn.abort().await.expect("abort");
    conn.abort().await.expect("a second abort is harmless");

    let held = fixture("outlook-pupil-list-csv.eml");
    let safe = fixture("outlook-internal-staff-briefing-upn.eml");
    let (_, first) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["head@oakfield.sch.uk"],
        &safe,
        65535,
    )
    .await;
    let (_, second) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &held,
        4096,
    )
    .await;
    let (_, third) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["head@oakfield.sch.uk"],
        &safe,
        13,
    )
    .await;
    assert_eq!(
        (first, second, third),
        (Status::Continue, Status::Discard, Status::Continue)
    );
    let stored = running.holder.held.lock().expect("lock");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].message, held, "only the second message, whole");
}

#[tokio::test]
async fn eight_bit_headers_and_crlf_bodies_are_kept_exactly() {
    let running = start(MemoryHolder::default()).await;
    let mut conn = open(running.addr).await;
    let raw = "From: \"Zo\u{eb} O\u{2019}Neil\" <z.oneil@oakfield.sch.uk>\r\nTo: parent@gmail.com\r\nSubject: Caf\u{e9} \u{2013} UPN B801200005001\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nPupil: Jamie Carter\r\nUPN B801200005001 \u{2013} caf\u{e9}\r\n.\r\n..leading dots\r\n";
    let (_, status) = send(
        &mut conn,
        "z.oneil@oakfield.sch.uk",
        &["parent@gmail.com"],
        raw.as_bytes(),
        5,
    )
    .await;
    assert_eq!(status, Status::Discard);
    let stored = running.holder.held.lock().expect("lock");
    assert_eq!(stored[0].message, raw.as_bytes());
}

#[tokio::test]
async fn over_budget_follows_the_unscannable_rule() {
    // Its PDF goes to a reader that does not answer within the budget.
    let raw = fixture("apple-pdf-transfer-summary.eml");
    let budget = Some(std::time::Duration::from_millis(20));
    // warn (the default): the message goes on.
    let (_release, reader) = stalled_reader();
    let running = start_reading_with(MemoryHolder::default(), "", budget, reader).await;
    let mut conn = open(running.addr).await;
    let (actions, status) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &raw,
        65535,
    )
    .await;
    assert_eq!(status, Status::Continue);
    assert!(actions.actions.is_empty());

    // hold: the message is kept, unscanned, for the DPO.
    let (_release, reader) = stalled_reader();
    let running = start_reading_with(
        MemoryHolder::default(),
        "[rules.unscannable]\naction = \"hold\"\n",
        budget,
        reader,
    )
    .await;
    let mut conn = open(running.addr).await;
    let (_, status) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &raw,
        65535,
    )
    .await;
    assert_eq!(status, Status::Discard);
    let held = running.holder.held.lock().expect("lock");
    assert_eq!(held.len(), 1, "stored once, by the over-budget path only");
    assert_eq!(held[0].verdict.rules[0].rule, schoolgate::RuleId::Unscannable);
    assert_eq!(held[0].message, raw);
}

#[tokio::test]
async fn monitor_mode_delivers_unchanged_with_a_verdict_header() {
    let running = start_with(MemoryHolder::default(), "mode = \"monitor\"", None).await;
    let mut conn = open(running.addr).await;
    let raw = fixture("outlook-pupil-list-csv.eml");
    let (actions, status) = send(
        &mut conn,
        "s.jenkins@oakfield.sch.uk",
        &["parent@gmail.com"],
        &raw,
        65535,
    )
    .await;
    assert_eq!(status, Status::Continue);
    assert!(
        actions.has_add_header(
            "X-Schoolgate-Verdict",
            " monitor; would hold; rules=personal-data,disclaimer"
        ),
        "{actions:?}"
    );
    assert_eq!(actions.actions.len(), 1, "nothing else changes");
    assert!(running.holder.held.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn an_mta_without_the_needed_actions_is_refused() {
    let running = start(MemoryHolder::default()).await;
    let refused = TestConnection::configure()
        .available_actions(indymilter_test::Actions::ADD_HEADER)
        .open_tcp(running.addr)
        .await;
    assert!(
        refused.is_err(),
        "negotiation must fail without change-header and replace-body"
    );
}

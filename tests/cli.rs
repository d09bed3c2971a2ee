//! The `schoolgate` binary as a technician uses it: exit codes, formats,
//! standard input, envelopes, and broken configuration and rules refused
//! with file, line and reason.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

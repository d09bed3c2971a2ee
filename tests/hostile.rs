//! The hostile-file suite: `fixtures/hostile/make_hostile.py` writes bombs,
//! lying headers, cycles and damaged files, each in a real-looking .eml.
//! Every one must come back with a verdict through the worker pool the
//! daemon uses — `unscannable` where the file cannot be read within limits,
//! never a silent "nothing found" — and the pool must keep serving after.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use schoolgate::config::Limits;
use schoolgate::extract::{DocumentReader, ReadRequest};
use schoolgate::verdict::Protection;
use schoolgate::worker::WorkerPool;
use schoolgate::{Action, Config, Engine, Envelope, Kind, Location, RuleId, RulePack, Verdict};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    eml: String,
    file: String,
    what: String,
    expect: String,
}

fn generate(dir: &Path) -> Vec<Case> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile/make_hostile.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .status()
        .expect("python3 runs the hostile-file generator");
    assert!(status.success(), "make_hostile.py failed");
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&manifest).expect("manifest parses")
}

fn pool(memory_mb: usize) -> Arc<WorkerPool> {
    Arc::new(WorkerPool::new(
        PathBuf::from(env!("CARGO_BIN_EXE_schoolgate")),
        memory_mb,
        2,
    ))
}

fn engine(pool: Arc<WorkerPool>) -> Engine {
    let config = Config::parse(
        "hostile.toml",
        "[organisation]\ninternal_domains = [\"oakfield.sch.uk\"]\n",
    )
    .expect("valid config");
    Engine::new(config, RulePack::builtin()).with_document_reader(pool)
}

/// Whether the verdict says the attachment (or something inside it) could not be read.
fn unscannable_under(verdict: &Verdict, root: &str) -> bool {
    let under = |location: &Location| location.to_string().starts_with(&format!("attachment:{root}"));
    verdict
        .findings
        .iter()
        .any(|f| f.kind == Kind::Unscannable && under(&f.location))
        || verdict
            .attachments
            .iter()
            .any(|a| a.protection == Protection::Unscannable && under(&a.location))
}

#[test]
fn every_hostile_file_gives_an_honest_verdict_and_the_workers_keep_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = generate(dir.path());
    assert!(cases.len() >= 20, "the suite has {} cases", cases.len());
    let engine = engine(pool(Limits::default().worker_memory_mb));
    let mut failures = Vec::new();
    for case in &cases {
        let raw = std::fs::read(dir.path().join(&case.eml)).expect("eml");
        let verdict = engine.inspect(&raw, &Envelope::default());
        let root = attachment_name(&raw).unwrap_or_else(|| case.file.clone());
        let unscannable = unscannable_under(&verdict, &root);
        let ok = match case.expect.as_str() {
            "unscannable" => unscannable,
            "readable" => !unscannable,
            "protected" => verdict
                .attachments
                .iter()
                .any(|a| a.protection == Protection::Protected),
            other => panic!("unknown expectation {other}"),
        };
        if !ok {
            failures.push(format!(
                "{} ({}): expected {}, got findings {:?}",
                case.eml,
                case.what,
                case.expect,
                verdict
                    .findings
                    .iter()
                    .map(|f| format!("{} {} {}", f.kind.as_str(), f.location, f.sample))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // After all that, the same pool still reads an ordinary spreadsheet of pupils.
    let verdict = engine.inspect(&ordinary_pupil_list(), &Envelope::default());
    assert_eq!(verdict.action, Action::Hold);
    assert!(verdict.fired(RuleId::PersonalData).is_some());
}

#[test]
fn a_worker_that_runs_out_of_memory_costs_one_attachment_and_is_replaced() {
    let pool = pool(Limits::default().worker_memory_mb);
    // 300 MB of zeros deflates to a few hundred KB; the entry limit is raised so the
    // worker really tries to hold it, under an address-space limit it cannot hold it in.
    let bomb = zip_of_zeros(300 * 1024 * 1024);
    let limits = Limits {
        max_entry_bytes: 1 << 30,
        max_unpacked_bytes: 1 << 30,
        max_ratio: usize::MAX,
        ..Limits::default()
    };
    let small = Arc::new(WorkerPool::new(PathBuf::from(env!("CARGO_BIN_EXE_schoolgate")), 200, 1));
    let request = ReadRequest {
        location: Location::Attachment("zeros.zip".to_string()),
        name: Some("zeros.zip".to_string()),
        content_type: "application/zip".to_string(),
        depth: 0,
        limits,
    };
    let read = small.read(&request, &bomb);
    let reasons: Vec<String> = read.notes.iter().map(|(_, note)| format!("{note:?}")).collect();
    // Either the allocation fails and is reported, or the worker dies of it: never a silent pass.
    assert!(reasons.iter().any(|r| r.contains("memory")), "{reasons:?}");
    // The next attachment is read by a fresh worker.
    let csv = zip_with("pupils.csv", b"Name,DOB\nAmy Smith,01/02/2015\n");
    let request = ReadRequest {
        location: Location::Attachment("pupils.zip".to_string()),
        name: Some("pupils.zip".to_string()),
        content_type: "application/zip".to_string(),
        depth: 0,
        limits: Limits::default(),
    };
    let read = small.read(&request, &csv);
    assert!(read.notes.is_empty(), "{:?}", read.notes);
    assert!(read.units.iter().any(|u| u.text.contains("Amy Smith")));
    drop(pool);
}

/// A stand-in worker program: a shell script doing `action` instead of answering.
fn fake_worker(dir: &Path, action: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-worker");
    std::fs::write(&path, format!("#!/bin/sh\n{action}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn reasons_from(pool: &WorkerPool, limits: Limits) -> Vec<String> {
    let request = ReadRequest {
        location: Location::Attachment("pupils.xlsx".to_string()),
        name: Some("pupils.xlsx".to_string()),
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
        depth: 0,
        limits,
    };
    let read = pool.read(&request, b"PK\x03\x04 not really");
    assert!(read.units.is_empty());
    assert_eq!(read.attachments.len(), 1, "the attachment is still listed");
    read.notes
        .into_iter()
        .map(|(location, note)| {
            assert_eq!(location, request.location);
            format!("{note:?}")
        })
        .collect()
}

#[test]
fn a_worker_that_crashes_or_hangs_makes_the_attachment_unscannable_every_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A parser that overflows its stack dies of SIGSEGV.
    let crashing = WorkerPool::new(fake_worker(dir.path(), "kill -SEGV $$"), 64, 1);
    for _ in 0..2 {
        let reasons = reasons_from(&crashing, Limits::default());
        assert!(reasons.iter().any(|r| r.contains("crashed")), "{reasons:?}");
    }
    // A parser stuck in a loop is killed at the wall-clock limit.
    let dir = tempfile::tempdir().expect("tempdir");
    let hanging = WorkerPool::new(fake_worker(dir.path(), "exec sleep 600"), 64, 1);
    let limits = Limits {
        worker_wall_seconds: 1,
        ..Limits::default()
    };
    let reasons = reasons_from(&hanging, limits);
    assert!(
        reasons.iter().any(|r| r.contains("longer than 1 seconds")),
        "{reasons:?}"
    );
    // A program that is not there at all.
    let missing = WorkerPool::new(dir.path().join("no-such-program"), 64, 1);
    let reasons = reasons_from(&missing, Limits::default());
    assert!(
        reasons.iter().any(|r| r.contains("could not be started")),
        "{reasons:?}"
    );
}

/// The filename of the first attachment in a message.
fn attachment_name(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(64 * 1024)]);
    let start = text.find("filename=\"")? + "filename=\"".len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_string())
}

fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .expect("entry");
    zip.write_all(data).expect("write");
    zip.finish().expect("finish");
    out.into_inner()
}

fn zip_of_zeros(size: usize) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().large_file(true);
    zip.start_file("zeros.csv", options).expect("entry");
    let block = vec![b'0'; 1024 * 1024];
    for _ in 0..size / block.len() {
        zip.write_all(&block).expect("write");
    }
    zip.finish().expect("finish");
    out.into_inner()
}

fn ordinary_pupil_list() -> Vec<u8> {
    use base64::Engine as _;
    let mut csv = String::from("Surname,Forename,Date of birth\n");
    for i in 0..8 {
        csv.push_str(&format!("Smith{i},Amy,0{}/03/2015\n", i + 1));
    }
    let zip = base64::engine::general_purpose::STANDARD.encode(zip_with("pupils.csv", csv.as_bytes()));
    format!(
        "From: head@oakfield.sch.uk\r\nTo: parent@example.com\r\nSubject: list\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
         --b\r\nContent-Type: application/zip; name=pupils.zip\r\nContent-Disposition: attachment; filename=\"pupils.zip\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{zip}\r\n--b--\r\n"
    )
    .into_bytes()
}

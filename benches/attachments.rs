//! Time to read big attachments, in process and through a warm worker, and
//! the worker's peak memory. Inputs are made by real tools:
//! `python3 benches/make_attachment_inputs.py` (see its header), then
//! `cargo bench --bench attachments`.

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use schoolgate::config::Limits;
use schoolgate::extract::{DocumentReader, ReadRequest, read_document};
use schoolgate::worker::WorkerPool;
use schoolgate::{Engine, Envelope, Location};

const INPUTS: &[(&str, &str)] = &[
    (
        "pupils-10000.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("report-100pages.pdf", "application/pdf"),
    ("mixed-20mb.zip", "application/zip"),
];

fn input(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-inputs")
        .join(name);
    std::fs::read(&path).ok()
}

fn request(name: &str, content_type: &str) -> ReadRequest {
    ReadRequest {
        location: Location::Attachment(name.to_string()),
        name: Some(name.to_string()),
        content_type: content_type.to_string(),
        depth: 0,
        limits: Limits::default(),
    }
}

fn attachments(c: &mut Criterion) {
    let pool = Arc::new(WorkerPool::new(
        PathBuf::from(env!("CARGO_BIN_EXE_schoolgate")),
        Limits::default().worker_memory_mb,
        1,
    ));
    let engine = Engine::new(Default::default(), schoolgate::RulePack::builtin()).with_document_reader(pool.clone());
    let mut group = c.benchmark_group("attachment");
    group.sample_size(10);
    for (name, content_type) in INPUTS {
        let Some(bytes) = input(name) else {
            eprintln!("{name} missing: run python3 benches/make_attachment_inputs.py first");
            continue;
        };
        let request = request(name, content_type);
        let read = read_document(&request, &bytes);
        let chars: usize = read.units.iter().map(|u| u.text.len()).sum();
        eprintln!(
            "{name}: {} bytes -> {chars} characters of text, notes {:?}",
            bytes.len(),
            read.notes
        );
        group.bench_function(format!("read {name} in process"), |b| {
            b.iter(|| read_document(&request, &bytes))
        });
        group.bench_function(format!("read {name} in a warm worker"), |b| {
            b.iter(|| pool.read(&request, &bytes))
        });
        let message = mail_with(name, content_type, &bytes);
        group.bench_function(format!("verdict on a mail carrying {name}"), |b| {
            b.iter(|| engine.inspect(&message, &Envelope::default()))
        });
    }
    group.finish();
    drop(engine);
    drop(pool);
    // SAFETY: getrusage writes into the zeroed struct we own.
    let children = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    eprintln!("peak resident memory of a worker: {} MiB", children.ru_maxrss / 1024);
}

fn mail_with(name: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut body = String::new();
    for line in encoded.as_bytes().chunks(76) {
        body.push_str(std::str::from_utf8(line).expect("base64 is ascii"));
        body.push_str("\r\n");
    }
    format!(
        "From: office@oakfield.sch.uk\r\nTo: parent@example.com\r\nSubject: As promised\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease see attached.\r\n\
         --b\r\nContent-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}--b--\r\n"
    )
    .into_bytes()
}

criterion_group!(benches, attachments);
criterion_main!(benches);

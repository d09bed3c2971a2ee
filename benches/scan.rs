//! Time to verdict for the messages a school relay sees most, and the
//! throughput of all detectors over plain text.
//!
//! - `typical_30k`: a 30 KB Outlook-style multipart/alternative message
//!   (windows-1252 quoted-printable text + HTML + a signature logo).
//! - `csv_10k_pupils`: a message with a 2 MB CSV attachment of 10,000 pupil rows.
//! - `plain_10mb`: a 10 MB plain-text body of ordinary school prose.
//! - `detect/prose_10mb`: the same prose straight through every detector
//!   (no MIME parsing): the detectors' throughput.
//!
//! - `outlook_typical_30k/rewrite`: the committed Outlook fixture
//!   (`fixtures/messages/outlook-typical-30kb.eml`) judged as the milter judges
//!   it (`inspect_and_rewrite`): it lacks the disclaimer, so a rewrite is planned;
//!   `/approve`: the same message with the disclaimer, as the Postfix load test sends it.
//!
//! Inputs are generated here, deterministically, so the figures are comparable run to run.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use schoolgate::detect::{PartReport, Scanner, TextFormat};
use schoolgate::{Engine, Envelope, RulePack, config::Config};

const PROSE: &str = "Dear parents and carers, thank you for a wonderful term. Year 4 visited the museum on \
Tuesday 12 March and the children were a credit to the school. Please remember that PE kits are needed \
on Mondays and Thursdays, and that the school office (01865 123456) is open from 8.15am. Our summer fair \
raised over £1,200 for new library books; tickets for the concert on 04/07/2025 are available from the \
office. If you have any questions please speak to your child's class teacher. Kind regards, Mrs Jenkins\n";

fn engine() -> Engine {
    let config = Config::parse(
        "bench.toml",
        "[organisation]\ninternal_domains = [\"oakfield.sch.uk\"]\nown_phones = [\"01865 123456\"]\n",
    )
    .expect("valid");
    Engine::new(config, RulePack::builtin())
}

fn envelope() -> Envelope {
    Envelope {
        sender: Some("s.jenkins@oakfield.sch.uk".into()),
        recipients: vec!["parent@gmail.com".into()],
    }
}

fn headers(content_type: &str) -> String {
    format!(
        "Received: from staff-pc.oakfield.sch.uk ([10.0.0.23]) by relay.oakfield.sch.uk\r\n\
From: \"Sarah Jenkins\" <s.jenkins@oakfield.sch.uk>\r\nTo: \"A Parent\" <parent@gmail.com>\r\n\
Subject: Summer term update\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\
Message-ID: <bench@oakfield.sch.uk>\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )
}

fn typical_message() -> Vec<u8> {
    let mut text = String::new();
    while text.len() < 9_000 {
        text.push_str(PROSE);
    }
    let qp = text.replace('£', "=A3").replace('\n', "=\r\n\r\n");
    let html = format!(
        "<html><head><style>p.MsoNormal{{margin:0cm}}</style></head><body><div class=WordSection1>{}</div></body></html>",
        text.lines()
            .map(|l| format!("<p class=MsoNormal>{l}<o:p></o:p></p>\r\n"))
            .collect::<String>()
    );
    let logo = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\r\n"
        .repeat(40);
    let mut m = headers("multipart/related; boundary=\"_rel_\"");
    m.push_str("--_rel_\r\nContent-Type: multipart/alternative; boundary=\"_alt_\"\r\n\r\n");
    m.push_str("--_alt_\r\nContent-Type: text/plain; charset=\"windows-1252\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    m.push_str(&qp);
    m.push_str("\r\n--_alt_\r\nContent-Type: text/html; charset=\"windows-1252\"\r\n\r\n");
    m.push_str(&html);
    m.push_str("\r\n--_alt_--\r\n--_rel_\r\nContent-Type: image/png; name=\"image001.png\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <image001.png@01DA>\r\n\r\n");
    m.push_str(&logo);
    m.push_str("--_rel_--\r\n");
    m.into_bytes()
}

fn csv_message() -> Vec<u8> {
    let first = [
        "Jamie", "Sam", "Amy", "Ben", "Cara", "Dev", "Ella", "Finn", "Grace", "Harry",
    ];
    let last = [
        "Carter", "Patel", "Jones", "Smith", "Lee", "Khan", "Brown", "Wilson", "Taylor", "Evans",
    ];
    let mut csv = String::from("UPN,Legal Surname,Legal Forename,Date of Birth,Gender,Year,Address,Postcode\r\n");
    for i in 0..10_000u32 {
        csv.push_str(&format!(
            "B80120000{:04},{},{},{:02}/{:02}/{},{},{},{} Acacia Road Oxford,OX4 {}AB\r\n",
            i % 10_000,
            last[(i / 10) as usize % 10],
            first[i as usize % 10],
            1 + i % 28,
            1 + i % 12,
            2012 + i % 7,
            if i % 2 == 0 { "F" } else { "M" },
            1 + i % 6,
            1 + i % 200,
            1 + i % 9
        ));
    }
    let mut m = headers("multipart/mixed; boundary=\"b\"");
    m.push_str("--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe list you asked for is attached.\r\n");
    m.push_str("--b\r\nContent-Type: text/csv; name=\"pupils.csv\"\r\nContent-Disposition: attachment; filename=\"pupils.csv\"\r\n\r\n");
    m.push_str(&csv);
    m.push_str("\r\n--b--\r\n");
    m.into_bytes()
}

fn plain_message(size: usize) -> Vec<u8> {
    let mut m = headers("text/plain; charset=utf-8");
    while m.len() < size {
        m.push_str(PROSE);
    }
    m.into_bytes()
}

fn bench(c: &mut Criterion) {
    let engine = engine();
    let envelope = envelope();
    let cases = [
        ("typical_30k", typical_message()),
        ("csv_10k_pupils", csv_message()),
        ("plain_10mb", plain_message(10 * 1024 * 1024)),
    ];
    let mut group = c.benchmark_group("inspect");
    for (name, raw) in &cases {
        group.throughput(Throughput::Bytes(raw.len() as u64));
        if raw.len() > 1024 * 1024 {
            group.sample_size(10);
        } else {
            group.sample_size(100);
        }
        group.bench_function(*name, |b| {
            b.iter(|| engine.inspect(black_box(raw), black_box(&envelope)))
        });
    }
    let outlook = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/messages/outlook-typical-30kb.eml"
    ))
    .expect("the Outlook fixture");
    // The same message once the disclaimer is in it: approved, as most mail is.
    let (verdict, _) = engine.inspect_and_rewrite(&outlook, &envelope, true);
    let outlook_approved = engine.output(&outlook, &verdict);
    group.sample_size(100);
    for (name, raw) in [
        ("outlook_typical_30k/rewrite", &outlook),
        ("outlook_typical_30k/approve", &outlook_approved),
    ] {
        group.throughput(Throughput::Bytes(raw.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| engine.inspect_and_rewrite(black_box(raw), black_box(&envelope), true))
        });
    }
    group.finish();

    // All detectors over one text, without parsing: the throughput target.
    let scanner = Scanner::new(&RulePack::builtin(), &engine.config().organisation);
    let mut text = String::new();
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(PROSE);
    }
    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("prose_10mb", |b| {
        b.iter(|| {
            let mut report = PartReport::default();
            scanner.scan(black_box(&text), TextFormat::Plain, &mut report);
            report
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

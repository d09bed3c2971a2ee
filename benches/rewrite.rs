//! Disclaimer insertion: on a typical 30 KB Outlook message, and on a 10 MB
//! message whose bulk is attachments. Only the text parts are re-encoded, so
//! the large case should cost little more than copying the attachments once.
//! Each size is timed three ways: the rewrite given the parse the milter
//! already made, the rewrite with its own parse, and a plain copy (the floor).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use schoolgate::config::Config;
use schoolgate::disclaimer::DisclaimerMatcher;
use schoolgate::rewrite;
use schoolgate::verdict::Rewrites;

const DISCLAIMER: &str = "This email and any attachments are confidential and intended solely for the addressee. If you have received it in error, please tell the sender and delete it.";

fn message(attachment_bytes: usize) -> Vec<u8> {
    let text = "Dear parents, thank you for a wonderful term. Please remember PE kits on Mondays.\r\n".repeat(120);
    let html = format!(
        "<html><body>{}</body></html>",
        "<p class=MsoNormal>Dear parents, thank you for a wonderful term.<o:p></o:p></p>\r\n".repeat(120)
    );
    let mut m = String::from(
        "From: \"Sarah Jenkins\" <s.jenkins@oakfield.sch.uk>\r\nTo: a@gmail.com, b@outlook.com\r\nSubject: Term\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mixed\"\r\n\r\n--mixed\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
    );
    m.push_str(&text);
    m.push_str("\r\n--alt\r\nContent-Type: text/html; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    m.push_str(&html);
    m.push_str("\r\n--alt--\r\n");
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    let mut added = 0;
    let mut n = 0;
    while added < attachment_bytes {
        n += 1;
        m.push_str(&format!("--mixed\r\nContent-Type: application/pdf; name=\"report{n}.pdf\"\r\nContent-Disposition: attachment; filename=\"report{n}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"));
        let lines = (2 * 1024 * 1024 / line.len()).min((attachment_bytes - added) / line.len() + 1);
        m.push_str(&line.repeat(lines));
        added += lines * line.len();
    }
    m.push_str("--mixed--\r\n");
    m.into_bytes()
}

fn bench(c: &mut Criterion) {
    let config = Config::parse("bench.toml", &format!("[disclaimer]\ntext = \"{DISCLAIMER}\"\n")).expect("valid");
    let matcher = DisclaimerMatcher::new(DISCLAIMER);
    let rewrites = Rewrites {
        disclaimer: true,
        ..Rewrites::default()
    };
    let mut group = c.benchmark_group("disclaimer");
    for (name, raw) in [
        ("typical_30k", message(14 * 1024)),
        ("attachments_10mb", message(10 * 1024 * 1024)),
    ] {
        group.throughput(Throughput::Bytes(raw.len() as u64));
        group.sample_size(if raw.len() > 1024 * 1024 { 20 } else { 100 });
        // With the parse the milter has already done for the verdict: the rewrite's own cost.
        let parsed = schoolgate::message::parse(&raw);
        group.bench_function(format!("{name}/rewrite"), |b| {
            b.iter(|| {
                let planned = rewrite::plan_parsed(black_box(&raw), parsed.as_ref(), &rewrites, &config, &matcher);
                planned.apply(&raw)
            })
        });
        // Standing alone (scan --output, a release): parsing included.
        group.bench_function(format!("{name}/parse_and_rewrite"), |b| {
            b.iter(|| {
                let planned = rewrite::plan(black_box(&raw), &rewrites, &config, &matcher);
                planned.apply(&raw)
            })
        });
        // The floor: one copy of the message.
        group.bench_function(format!("{name}/copy"), |b| b.iter(|| black_box(&raw).to_vec()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

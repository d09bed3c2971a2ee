//! Notices to staff and the DPO, and the SMTP client that re-injects mail
//! through the relay's milter-free port.
//!
//! A notice is written only from redacted material: the reference id, the
//! rules that fired with their reasons, the findings' redacted samples, what
//! to do next and who reviews. It never quotes the held message (its
//! subject may itself carry a pupil's name or number). Every notice says
//! `Auto-Submitted: auto-generated` (RFC 3834) so auto-responders stay
//! quiet; schoolgate itself still scans mail that carries that header.
//! Notices are queued in the quarantine at hold time and sent by a loop
//! with back-off, so a relay that is down delays a notice but never loses
//! or tempfails a message.

use std::fmt::Write;
use std::time::Duration;

use lettre::Transport;
use lettre::address::{Address, Envelope as SmtpEnvelope};

use crate::config::Config;
use crate::rules::RulePack;
use crate::verdict::Verdict;

/// A notice, ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `hold`, `dpo`, `reject`, `release`.
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// What a notice knows about the held message.
pub struct HoldFacts<'a> {
    pub id: &'a str,
    pub sender: &'a str,
    pub recipients: &'a [String],
    pub verdict: &'a Verdict,
    /// Unix seconds.
    pub held_at: i64,
}

/// The notices a hold owes: the sender's, and the DPO's when configured for immediate notices.
pub fn hold_notices(facts: &HoldFacts, config: &Config, pack: &RulePack) -> Vec<Notice> {
    let mut notices = Vec::new();
    let reviewer = match &config.notices.dpo {
        Some(dpo) => format!("the Data Protection Officer ({dpo})"),
        None => "the Data Protection Officer".to_string(),
    };
    if !facts.sender.is_empty() {
        let mut body = String::new();
        let _ = writeln!(
            body,
            "Your email to {} sent at {} has been held and has not been delivered.\n",
            recipients_phrase(facts.recipients.len()),
            utc(facts.held_at)
        );
        let _ = writeln!(body, "Reference: {}\n", facts.id);
        write_reasons(&mut body, facts.verdict, pack, true);
        let _ = writeln!(
            body,
            "Who reviews it: {reviewer}. If the email must go as it is, ask them to release {}; \
             otherwise you need do nothing: it will not be sent. You can also send a corrected email.",
            facts.id
        );
        notices.push(Notice {
            kind: "hold",
            to: facts.sender.to_string(),
            subject: format!("Your email was held for review ({})", facts.id),
            body,
        });
    }
    if let Some(dpo) = &config.notices.dpo
        && config.notices.digest == crate::config::Digest::Immediate
    {
        let mut body = String::new();
        let _ = writeln!(
            body,
            "A message from {} to {} was held at {}.\n",
            facts.sender,
            recipients_phrase(facts.recipients.len()),
            utc(facts.held_at)
        );
        let _ = writeln!(body, "Reference: {}\n", facts.id);
        write_reasons(&mut body, facts.verdict, pack, false);
        let _ = writeln!(
            body,
            "Review it with `schoolgate held show {}`, then `schoolgate held release {} --note …` or `schoolgate held reject {} --note …`.",
            facts.id, facts.id, facts.id
        );
        notices.push(Notice {
            kind: "dpo",
            to: dpo.clone(),
            subject: format!("Held for review: {}", facts.id),
            body,
        });
    }
    notices
}

/// The DPO's daily digest: every message held in the last day, by reference.
pub fn digest_notice(dpo: &str, held: &[crate::quarantine::HeldSummary], now: i64) -> Notice {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "{} held in the 24 hours to {}.\n",
        recipients_phrase(held.len()).replace("recipient", "message"),
        utc(now)
    );
    let mut per_rule: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for h in held {
        for rule in &h.rules {
            *per_rule.entry(rule.as_str()).or_default() += 1;
        }
    }
    for (rule, n) in &per_rule {
        let _ = writeln!(body, "  {rule}: {n}");
    }
    let _ = writeln!(body);
    for h in held {
        let _ = writeln!(
            body,
            "{}  {}  {}  from {} to {}  [{}]",
            h.id,
            h.status.as_str(),
            utc(h.held_at),
            if h.sender.is_empty() { "<>" } else { &h.sender },
            recipients_phrase(h.recipients.len()),
            h.rules.join(", ")
        );
    }
    let _ = writeln!(body, "\nReview them with `schoolgate held list --status held`.");
    Notice {
        kind: "digest",
        to: dpo.to_string(),
        subject: format!(
            "schoolgate: {} held for review",
            recipients_phrase(held.len()).replace("recipient", "message")
        ),
        body,
    }
}

/// The notice a rejection sends to the sender, with the DPO's note.
pub fn reject_notice(id: &str, sender: &str, note: &str) -> Notice {
    Notice {
        kind: "reject",
        to: sender.to_string(),
        subject: format!("Your held email was not sent ({id})"),
        body: format!(
            "Your email held under reference {id} has been reviewed and will not be sent.\n\n\
             The reviewer's note: {note}\n\n\
             If you still need to send it, please follow the note above or speak to the Data Protection Officer.\n"
        ),
    }
}

fn write_reasons(body: &mut String, verdict: &Verdict, pack: &RulePack, advice: bool) {
    let _ = writeln!(body, "Why:");
    for rule in &verdict.rules {
        let _ = writeln!(body, "  - {}: {}", pack.rule(rule.rule).description, rule.reason);
    }
    let shown: Vec<_> = verdict
        .findings
        .iter()
        .filter(|f| {
            f.kind.is_identifier() || f.kind.is_personal() || f.kind.is_keyword() || f.kind == crate::Kind::Unscannable
        })
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(body, "\nWhat was found (values are hidden):");
        for f in shown {
            let _ = writeln!(
                body,
                "  - {} in {} (for example {})",
                f.kind.counted(f.count),
                f.location,
                f.sample
            );
        }
    }
    if advice {
        let _ = writeln!(body, "\nWhat to do next:");
        for rule in &verdict.rules {
            let _ = writeln!(body, "  - {}", pack.rule(rule.rule).advice);
        }
    }
    let _ = writeln!(body);
}

fn recipients_phrase(n: usize) -> String {
    if n == 1 {
        "1 recipient".to_string()
    } else {
        format!("{n} recipients")
    }
}

/// `2026-11-23 10:01 UTC` from unix seconds.
pub fn utc(seconds: i64) -> String {
    crate::quarantine::format_utc(seconds)
}

/// RFC 5322 date-time from unix seconds.
fn rfc5322_date(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, m, d) = crate::quarantine::civil_from_days(days);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m as usize).saturating_sub(1)];
    format!(
        "{weekday}, {d} {month} {y} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A notice as a message: plain UTF-8 text, quoted-printable, marked auto-generated.
pub fn render(notice: &Notice, from: &str, now: i64, message_id: &str) -> Vec<u8> {
    let body = crate::rewrite::encoding::quoted_printable(notice.body.as_bytes(), true, "\r\n");
    let mut out = format!(
        "From: schoolgate <{from}>\r\nTo: {}\r\nSubject:{}\r\nDate: {}\r\nMessage-ID: <{message_id}>\r\n\
Auto-Submitted: auto-generated\r\nX-Schoolgate-Notice: {}\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        notice.to,
        crate::rewrite::headers::unstructured_value(&notice.subject).replace('\n', "\r\n"),
        rfc5322_date(now),
        notice.kind,
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out.extend_from_slice(b"\r\n");
    out
}

/// A failed SMTP delivery: whether trying again may help, and what the relay said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The relay's re-injection port (`relay.reinject`, no milters there).
pub struct Relay {
    transport: lettre::SmtpTransport,
}

impl Relay {
    pub fn new(config: &Config) -> Relay {
        let (host, port) =
            crate::config::split_host_port(&config.relay.reinject).unwrap_or_else(|| ("127.0.0.1".to_string(), 10026));
        let transport = lettre::SmtpTransport::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Relay { transport }
    }

    /// Send `message` to `recipients` from `sender` (empty for the null sender);
    /// the relay's final reply, e.g. `250 2.0.0 Ok: queued as 4XyZ`.
    pub fn send(&self, sender: &str, recipients: &[String], message: &[u8]) -> Result<String, SendError> {
        let parse = |a: &str| {
            a.parse::<Address>().map_err(|e| SendError {
                permanent: true,
                message: format!("{a:?} is not an address: {e}"),
            })
        };
        let from = if sender.is_empty() { None } else { Some(parse(sender)?) };
        let to = recipients.iter().map(|r| parse(r)).collect::<Result<Vec<_>, _>>()?;
        let envelope = SmtpEnvelope::new(from, to).map_err(|e| SendError {
            permanent: true,
            message: e.to_string(),
        })?;
        match self.transport.send_raw(&envelope, message) {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => Err(SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
        }
    }
}

/// How long to wait before trying a notice again after `attempts` failures: 1, 5, 15, 60 minutes, then 6 hours.
pub fn backoff_seconds(attempts: u32) -> i64 {
    match attempts {
        0 | 1 => 60,
        2 => 300,
        3 => 900,
        4 => 3600,
        _ => 6 * 3600,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_426_860), "2026-11-23 09:41 UTC");
        assert_eq!(rfc5322_date(1_795_426_860), "Mon, 23 Nov 2026 09:41:00 +0000");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn a_hold_notice_says_why_and_what_to_do_without_the_data() {
        let engine = crate::Engine::new(
            Config::parse(
                "t.toml",
                "[organisation]\ninternal_domains = [\"oakfield.sch.uk\"]\n[notices]\ndpo = \"dpo@oakfield.sch.uk\"\n",
            )
            .expect("valid"),
            RulePack::builtin(),
        );
        let raw = b"From: s.jenkins@oakfield.sch.uk\r\nTo: parent@gmail.com\r\nSubject: Jamie Carter B801200005001\r\n\r\nPupil: Jamie Carter\r\nUPN B801200005001\r\nNHS number 943 476 5919\r\n";
        let verdict = engine.inspect(raw, &crate::Envelope::default());
        let recipients = vec!["parent@gmail.com".to_string()];
        let facts = HoldFacts {
            id: "SG-TEST0001",
            sender: "s.jenkins@oakfield.sch.uk",
            recipients: &recipients,
            verdict: &verdict,
            held_at: 1_795_431_660,
        };
        let notices = hold_notices(&facts, engine.config(), engine.rules());
        assert_eq!(notices.len(), 2);
        let sender = &notices[0];
        assert_eq!(sender.to, "s.jenkins@oakfield.sch.uk");
        assert!(sender.body.contains("Reference: SG-TEST0001"));
        assert!(sender.body.contains("What to do next:"));
        assert!(
            sender
                .body
                .contains("the Data Protection Officer (dpo@oakfield.sch.uk)")
        );
        for notice in &notices {
            let rendered = String::from_utf8(render(notice, "schoolgate@oakfield.sch.uk", 0, "n1@oakfield.sch.uk"))
                .expect("utf-8");
            for secret in ["B801200005001", "943 476 5919", "9434765919", "Jamie Carter", "Jamie"] {
                assert!(!rendered.contains(secret), "{secret} in {rendered}");
            }
            assert!(rendered.contains("Auto-Submitted: auto-generated\r\n"));
        }
    }
}

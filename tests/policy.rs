//! The rules of SPEC.md, one behaviour at a time, on small messages built
//! the way a mail client writes them.

use schoolgate::config::Config;
use schoolgate::{Action, Engine, Envelope, RuleAction, RuleId, RulePack, Verdict};

const CONFIG: &str = r#"
[organisation]
internal_domains = ["oakfield.sch.uk"]
trusted_domains = ["northshire.gov.uk"]
own_address = "office@oakfield.sch.uk"
secure_tags = ["[secure]"]
[disclaimer]
text = "Oakfield Primary School: this email is confidential."
"#;

/// The test configuration plus `extra` (top-level keys such as `mode` go first).
fn engine(extra: &str) -> Engine {
    let source = if extra.starts_with('[') {
        format!("{CONFIG}\n{extra}")
    } else {
        format!("{extra}\n{CONFIG}")
    };
    let config = Config::parse("test.toml", &source).expect("valid config");
    Engine::new(config, RulePack::builtin())
}

fn message(to: &str, cc: &str, subject: &str, body: &str) -> Vec<u8> {
    let cc = if cc.is_empty() {
        String::new()
    } else {
        format!("Cc: {cc}\r\n")
    };
    format!(
        "From: \"Sarah Jenkins\" <s.jenkins@oakfield.sch.uk>\r\nTo: {to}\r\n{cc}Subject: {subject}\r\n\
Date: Mon, 11 Nov 2024 09:00:00 +0000\r\nMessage-ID: <t@oakfield.sch.uk>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"utf-8\"\r\n\r\n{body}\r\n\r\nOakfield Primary School: this email is confidential.\r\n"
    )
    .into_bytes()
}

fn verdict(engine: &Engine, raw: &[u8]) -> Verdict {
    engine.inspect(raw, &Envelope::default())
}

fn fired(verdict: &Verdict) -> Vec<&'static str> {
    verdict.rules.iter().map(|r| r.rule.as_str()).collect()
}

#[test]
fn sensitive_subjects() {
    let engine = engine("");
    let cases: &[(&str, bool)] = &[
        ("Safeguarding - Jamie Carter", true),
        ("Safeguarding concern", true),
        ("Child protection – strategy meeting", true),
        ("Medical needs: Poppy", true),
        ("Re: Behaviour incident – Leo", true),
        ("EHCP draft", true),
        ("In-year transfer - UPN B801200005001", true),
        ("Swimming form - DOB 03/10/2016", true),
        ("Safeguarding Training Day", false),
        ("Safeguarding update – spring term", false),
        ("Medical room closed Friday", false),
        ("Attendance - Year 4", false),
        ("Summer fair 2024 - hot food", false),
        ("Lunchtime today - Jamie", false),
        // Title Case subjects, where every word is capitalised (Outlook users write them so).
        ("Medical Room Closed Friday", false),
        ("Attendance - Willow Class", false),
        ("Concern about the heating in Rowan Class", false),
        ("Attendance Awards - Autumn Term Winners", false),
        ("Medical Needs - Poppy Lewis", true),
        ("Attendance Concern - Willow", true),
        ("Invoice INV-20417 - Health & Safety signage", false),
        ("Book order - Health and Social Care", false),
    ];
    for (subject, expected) in cases {
        let v = verdict(&engine, &message("parent@gmail.com", "", subject, "Hello"));
        assert_eq!(
            v.fired(RuleId::SensitiveSubject).is_some(),
            *expected,
            "{subject}: {}",
            v.to_json()
        );
    }
}

#[test]
fn sensitive_subject_can_rewrite_to_a_neutral_subject() {
    let engine =
        engine("[rules.sensitive-subject]\naction = \"rewrite\"\nneutral_subject = \"A message from school\"\n");
    let v = verdict(
        &engine,
        &message("parent@gmail.com", "", "Safeguarding concern", "Hello"),
    );
    assert_eq!(v.action, Action::Rewrite);
    assert_eq!(v.rewrites.subject.as_deref(), Some("A message from school"));
}

#[test]
fn bcc_counts_distinct_visible_external_addresses() {
    let engine = engine("");
    let cases: &[(&str, &str, bool)] = &[
        ("a@gmail.com", "", false),
        ("a@gmail.com, b@outlook.com", "", true),
        ("office@oakfield.sch.uk", "a@gmail.com, b@btinternet.com", true),
        ("a@gmail.com", "A@Gmail.com", false),
        ("a@gmail.com, la@northshire.gov.uk", "", true),
        ("office@oakfield.sch.uk, head@oakfield.sch.uk", "a@gmail.com", false),
        ("parents: a@gmail.com, b@gmail.com;", "", true),
    ];
    for (to, cc, expected) in cases {
        let v = verdict(&engine, &message(to, cc, "Trip", "Hello"));
        assert_eq!(
            v.fired(RuleId::Bcc).is_some(),
            *expected,
            "To {to} Cc {cc}: {}",
            v.to_json()
        );
        if *expected {
            let bcc = v.rewrites.bcc.as_ref().expect("a bcc rewrite");
            assert_eq!(bcc.placeholder, "office@oakfield.sch.uk");
            assert!(bcc.remove.iter().all(|a| !a.ends_with("oakfield.sch.uk")));
        }
    }
}

#[test]
fn internal_mail_is_approved_untouched() {
    let engine = engine("");
    let raw = message(
        "head@oakfield.sch.uk",
        "",
        "Safeguarding concern",
        "Pupil: Jamie Carter\nUPN B801200005001",
    );
    let v = verdict(&engine, &raw);
    assert_eq!(v.action, Action::Approve);
    assert!(v.rules.is_empty());
    assert!(!v.outbound);
    assert!(!v.findings.is_empty(), "findings are still reported for statistics");
}

#[test]
fn trusted_domains_and_secure_tags_protect_personal_data_only() {
    let engine = engine("");
    let body = "Pupil: Jamie Carter\nUPN B801200005001";
    let to_la = verdict(&engine, &message("la@northshire.gov.uk", "", "Transfer", body));
    assert_eq!(fired(&to_la), Vec::<&str>::new());
    let to_parent = verdict(&engine, &message("p@gmail.com", "", "Transfer", body));
    assert_eq!(fired(&to_parent), ["personal-data"]);
    let tagged = verdict(&engine, &message("p@gmail.com", "", "[SECURE] Transfer", body));
    assert_eq!(fired(&tagged), Vec::<&str>::new());
    let subdomain = verdict(
        &engine,
        &message("sw@childrens.northshire.gov.uk", "", "Transfer", body),
    );
    assert_eq!(fired(&subdomain), Vec::<&str>::new());
}

#[test]
fn special_category_needs_a_person_in_the_same_part() {
    let engine = engine("");
    let named = verdict(
        &engine,
        &message(
            "p@gmail.com",
            "",
            "Update",
            "Child: Jamie Carter\nThe SENCO will update his EHCP at the annual review.",
        ),
    );
    assert_eq!(fired(&named), ["personal-data"]);
    let general = verdict(
        &engine,
        &message(
            "p@gmail.com",
            "",
            "Update",
            "Our SENCO can explain how EHCP annual reviews work.",
        ),
    );
    assert_eq!(fired(&general), Vec::<&str>::new());
}

#[test]
fn overrides_and_monitor_mode() {
    let body = "UPN B801200005001";
    let off = engine("[rules.personal-data]\naction = \"off\"\n");
    assert_eq!(
        verdict(&off, &message("p@gmail.com", "", "x", body)).action,
        Action::Approve
    );

    let warn = engine("[rules.personal-data]\naction = \"warn\"\n");
    let v = verdict(&warn, &message("p@gmail.com", "", "x", body));
    assert_eq!(v.action, Action::Approve);
    assert_eq!(v.fired(RuleId::PersonalData).map(|r| r.action), Some(RuleAction::Warn));

    let monitor = engine("mode = \"monitor\"\n");
    let v = verdict(&monitor, &message("a@gmail.com, b@gmail.com", "", "x", body));
    assert_eq!(v.action, Action::Approve);
    assert!(v.rules.iter().all(|r| r.action == RuleAction::Warn));
    assert_eq!(v.monitor.map(|m| m.enforce_action), Some(Action::Hold));
    assert!(v.rewrites.is_empty(), "monitor mode asks for no rewrite");
}

#[test]
fn disclaimer_is_added_once_and_never_to_signed_mail() {
    let engine = engine("");
    let mut without = message("p@gmail.com", "", "Trip", "Hello");
    let cut = without.len() - "Oakfield Primary School: this email is confidential.\r\n".len();
    without.truncate(cut);
    let v = verdict(&engine, &without);
    assert_eq!(fired(&v), ["disclaimer"]);
    assert!(v.rewrites.disclaimer);

    let with = verdict(&engine, &message("p@gmail.com", "", "Trip", "Hello"));
    assert!(with.rules.is_empty());

    let signed = "From: s.jenkins@oakfield.sch.uk\r\nTo: p@gmail.com\r\nSubject: Trip\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\r\n\r\n\
--s\r\nContent-Type: text/plain\r\n\r\nHello\r\n--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\
Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n";
    let v = verdict(&engine, signed.as_bytes());
    assert!(v.rules.is_empty());
    assert_eq!(v.skipped.len(), 1);
    assert_eq!(v.skipped[0].rule, RuleId::Disclaimer);
}

#[test]
fn the_schools_own_bank_details_are_not_personal_data() {
    let body = "Please pay for the trip by bank transfer: bank details sort code 20-00-00, account number 55779911, \
        IBAN GB29 NWBK 6016 1331 9268 19.";
    let without = engine("");
    assert_eq!(
        fired(&verdict(&without, &message("p@gmail.com", "", "Trip", body))),
        ["personal-data"]
    );
    let source = CONFIG.replace(
        "secure_tags = [\"[secure]\"]",
        "secure_tags = [\"[secure]\"]\nown_bank_accounts = [\"20-00-00 55779911\", \"GB29 NWBK 6016 1331 9268 19\"]",
    );
    let with = Engine::new(Config::parse("test.toml", &source).expect("valid"), RulePack::builtin());
    assert!(fired(&verdict(&with, &message("p@gmail.com", "", "Trip", body))).is_empty());
}

/// `rows` parent contacts, as a client's plain text (tab-separated) or HTML table.
fn contacts_table(rows: usize, html: bool) -> String {
    let people: Vec<[String; 4]> = (0..rows)
        .map(|i| {
            [
                format!("Parent{} Lewis", ["A", "B", "C", "D", "E", "F", "G", "H"][i]),
                format!("Child{} Lewis", ["A", "B", "C", "D", "E", "F", "G", "H"][i]),
                format!("07700 9005{:02}", 10 + i),
                format!("parent{i}@example-mail.co.uk"),
            ]
        })
        .collect();
    let header = ["Parent", "Child", "Mobile", "Email"];
    if html {
        let row = |cells: &[&str]| {
            format!(
                "<tr>{}</tr>",
                cells.iter().map(|c| format!("<td>{c}</td>")).collect::<String>()
            )
        };
        let body: String = people.iter().map(|p| row(&p.each_ref().map(String::as_str))).collect();
        format!(
            "<html><body><p>The rota:</p><table>{}{body}</table></body></html>",
            row(&header)
        )
    } else {
        let body: String = people.iter().map(|p| p.join("\t") + "\r\n").collect();
        format!("The rota:\r\n\r\n{}\r\n{body}", header.join("\t"))
    }
}

fn reason(verdict: &Verdict) -> String {
    verdict
        .rules
        .iter()
        .map(|r| r.reason.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A message to an external parent whose body is `multipart/SUBTYPE` of two
/// parts, each (content type, text).
fn two_part_body(subtype: &str, parts: [(&str, String); 2]) -> Vec<u8> {
    let parts: String = parts
        .iter()
        .map(|(content_type, text)| format!("--b\r\nContent-Type: {content_type}; charset=\"utf-8\"\r\n\r\n{text}\r\n"))
        .collect();
    format!(
        "From: s.jenkins@oakfield.sch.uk\r\nTo: parent@gmail.com\r\nSubject: Rota\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/{subtype}; boundary=\"b\"\r\n\r\n{parts}--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn a_table_in_both_alternatives_counts_its_people_once() {
    let engine = engine("");
    // The HTML rendering has two more rows than the plain one: the larger count is the body's.
    let alternative = two_part_body(
        "alternative",
        [
            ("text/plain", contacts_table(5, false)),
            ("text/html", contacts_table(7, true)),
        ],
    );
    let v = verdict(&engine, &alternative);
    assert!(reason(&v).contains("a table of 7 people in the body"), "{}", reason(&v));

    // Two parts that are not alternatives are two tables: their people add up.
    let mixed = two_part_body(
        "mixed",
        [
            ("text/plain", contacts_table(5, false)),
            ("text/plain", contacts_table(5, false)),
        ],
    );
    let v = verdict(&engine, &mixed);
    assert!(
        reason(&v).contains("a table of 10 people in the body"),
        "{}",
        reason(&v)
    );
}

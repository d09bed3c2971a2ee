//! Table-driven tests of the whole scanner: every detector's valid examples
//! from DETECTORS.md are found, every invalid example and decoy is not.

use super::*;
use crate::config::Config;

fn scanner() -> Scanner {
    let config = Config::parse(
        "test.toml",
        "[organisation]\nown_postcodes = [\"OX4 2AB\"]\nown_phones = [\"01865 123456\"]\n",
    )
    .expect("valid config");
    Scanner::new(&RulePack::builtin(), &config.organisation)
}

fn scan(scanner: &Scanner, text: &str, format: TextFormat) -> PartReport {
    let mut report = PartReport::default();
    scanner.scan(text, format, &mut report);
    report
}

/// (name, text, kind, the confidence expected — `None` for "not reported")
type Case = (&'static str, &'static str, Kind, Option<Confidence>);

const CASES: &[Case] = &[
    // A number labelled as an ISBN or an order is not an NHS number, "health" nearby or not.
    (
        "isbn near health",
        "Health and Social Care student book, ISBN 0199138680",
        Kind::NhsNumber,
        None,
    ),
    (
        "purchase order near health",
        "Health & Safety signage: Purchase order no. 4010238712 - fire exit signs",
        Kind::NhsNumber,
        None,
    ),
    (
        "nhs number still found near health",
        "Health visitor notes: NHS number 943 476 5919",
        Kind::NhsNumber,
        Some(Confidence::High),
    ),
    // Typed in lower case: believed beside the identifier's keyword, not without it.
    (
        "nino lower case with keyword",
        "His national insurance number is np 47 29 83 b - he wrote it in lower case",
        Kind::Nino,
        Some(Confidence::High),
    ),
    (
        "nino lower case without keyword",
        "the codes were np 47 29 83 b and so on",
        Kind::Nino,
        None,
    ),
    (
        "upn lower case with keyword",
        "His UPN is b801200005001 - let me know",
        Kind::Upn,
        Some(Confidence::High),
    ),
    ("upn lower case without keyword", "ref p207000016049", Kind::Upn, None),
    // UPN: a strong shape, high on its own.
    (
        "upn valid",
        "Her UPN is B801200005001.",
        Kind::Upn,
        Some(Confidence::High),
    ),
    (
        "upn valid no context",
        "Ref P207000016049",
        Kind::Upn,
        Some(Confidence::High),
    ),
    (
        "upn temporary",
        "G80120000101A joined",
        Kind::Upn,
        Some(Confidence::High),
    ),
    ("upn temporary W", "W80120000101B", Kind::Upn, Some(Confidence::High)),
    ("upn H", "H801200001001", Kind::Upn, Some(Confidence::High)),
    ("upn bad check letter", "UPN A801200005001", Kind::Upn, None),
    ("upn help-page example", "UPN Q207000016049", Kind::Upn, None),
    ("upn letter inside", "UPN X80120000A001", Kind::Upn, None),
    // ULN: context required.
    ("uln with context", "ULN: 9276308686", Kind::Uln, Some(Confidence::High)),
    (
        "uln second",
        "Unique learner number 1000102504",
        Kind::Uln,
        Some(Confidence::High),
    ),
    ("uln bad check", "ULN: 9276308687", Kind::Uln, None),
    ("uln without context", "Order 9276308686 shipped", Kind::Uln, None),
    // NHS: context required.
    (
        "nhs spaced",
        "NHS number 943 476 5919",
        Kind::NhsNumber,
        Some(Confidence::High),
    ),
    (
        "nhs hyphens",
        "NHS no: 943-476-5870",
        Kind::NhsNumber,
        Some(Confidence::High),
    ),
    (
        "nhs unbroken",
        "Her GP has NHS 6541003238 on file",
        Kind::NhsNumber,
        Some(Confidence::High),
    ),
    ("nhs bad check", "NHS number 9434765871", Kind::NhsNumber, None),
    ("nhs quoted example 1", "NHS number 999 123 4560", Kind::NhsNumber, None),
    ("nhs quoted example 2", "NHS number 987 654 4321", Kind::NhsNumber, None),
    (
        "nhs-shaped order number",
        "Your order number is 943 476 5919, dispatched today.",
        Kind::NhsNumber,
        None,
    ),
    (
        "nhs-shaped invoice",
        "Invoice 6541003238 is now due.",
        Kind::NhsNumber,
        None,
    ),
    // NINO.
    (
        "nino spaced with context",
        "National Insurance number: JG 10 37 59 A",
        Kind::Nino,
        Some(Confidence::High),
    ),
    (
        "nino template",
        "National Insurance number: AB 12 34 56 C",
        Kind::Nino,
        None,
    ),
    (
        "nino real prefix",
        "NI number JG103759A for payroll",
        Kind::Nino,
        Some(Confidence::High),
    ),
    (
        "nino without context",
        "ref JG103759A",
        Kind::Nino,
        Some(Confidence::Medium),
    ),
    ("nino placeholder", "National Insurance: QQ123456C", Kind::Nino, None),
    ("nino bad prefix", "National Insurance: BG103759A", Kind::Nino, None),
    ("nino bad suffix", "National Insurance: JG103759E", Kind::Nino, None),
    // Payment cards.
    (
        "card with context",
        "Card number 4929 1234 5678 9007 expiry 09/27",
        Kind::PaymentCard,
        Some(Confidence::High),
    ),
    (
        "card alone",
        "4929123456789007",
        Kind::PaymentCard,
        Some(Confidence::Medium),
    ),
    ("card amex", "Amex 3714 496353 98431", Kind::PaymentCard, None),
    (
        "card test number",
        "Visa card 4111 1111 1111 1111",
        Kind::PaymentCard,
        None,
    ),
    (
        "card bad luhn",
        "Card number 4929 1234 5678 9006",
        Kind::PaymentCard,
        None,
    ),
    // Bank details.
    (
        "bank details",
        "Bank details: sort code 20-00-00 account number 55779911",
        Kind::BankAccount,
        Some(Confidence::High),
    ),
    (
        "sort code without account",
        "Sort code 20-00-00 only",
        Kind::BankAccount,
        None,
    ),
    (
        "date shaped like sort code",
        "Meeting on 12-05-23 at 4pm, 12345678 attendees",
        Kind::BankAccount,
        None,
    ),
    (
        "iban",
        "IBAN GB82 WEST 1234 5698 7654 32 thanks",
        Kind::Iban,
        Some(Confidence::High),
    ),
    (
        "iban unbroken",
        "GB29NWBK60161331926819",
        Kind::Iban,
        Some(Confidence::High),
    ),
    ("iban bad check", "IBAN GB82 WEST 1234 5698 7654 33", Kind::Iban, None),
    // Passport and licence.
    (
        "passport",
        "Passport number 123456789",
        Kind::PassportUk,
        Some(Confidence::High),
    ),
    ("nine digits alone", "Reference 123456789", Kind::PassportUk, None),
    (
        "licence",
        "Driving licence MORGA753116SM9IJ",
        Kind::DrivingLicenceUk,
        Some(Confidence::High),
    ),
    // Dates of birth.
    (
        "dob label",
        "DOB: 12/03/2015",
        Kind::DateOfBirth,
        Some(Confidence::High),
    ),
    (
        "dob words",
        "Jamie was born on 12th March 2015.",
        Kind::DateOfBirth,
        Some(Confidence::High),
    ),
    (
        "dob iso",
        "Date of birth 2015-03-12",
        Kind::DateOfBirth,
        Some(Confidence::High),
    ),
    ("dob after", "12.03.15 (DOB)", Kind::DateOfBirth, Some(Confidence::High)),
    (
        "term date",
        "Term starts on 04/09/2024 and ends 20/12/2024.",
        Kind::DateOfBirth,
        None,
    ),
    (
        "meeting date",
        "The meeting is on 12 March 2025 in the hall.",
        Kind::DateOfBirth,
        None,
    ),
    ("impossible date", "DOB: 31/02/2015", Kind::DateOfBirth, None),
    // Postcodes.
    (
        "postcode with address",
        "Home address: 12 Acacia Road, Oxford OX4 1AA",
        Kind::PostcodeUk,
        Some(Confidence::Medium),
    ),
    (
        "own postcode",
        "Oakfield Primary, Oxford OX4 2AB",
        Kind::PostcodeUk,
        None,
    ),
    ("postcode alone", "Trip to the museum, OX1 3PW", Kind::PostcodeUk, None),
    // Phones.
    (
        "phone next to a name",
        "Pupil: Jamie Carter, mum's mobile 07700 900123",
        Kind::PhoneUk,
        Some(Confidence::Medium),
    ),
    ("phone alone", "Call the office on 07700 900123", Kind::PhoneUk, None),
    (
        "own phone",
        "Pupil: Jamie Carter, call 01865 123456",
        Kind::PhoneUk,
        None,
    ),
    // Names.
    (
        "name label",
        "Pupil: Jamie Carter",
        Kind::PersonName,
        Some(Confidence::High),
    ),
    (
        "child label",
        "Child's name - Zoë O'Neil",
        Kind::PersonName,
        Some(Confidence::High),
    ),
    ("not a name", "Name: The Oakfield Summer Fair", Kind::PersonName, None),
    (
        "file name is not a label",
        "Please save the file name: Report",
        Kind::PersonName,
        None,
    ),
    // Keywords.
    (
        "sen standing alone",
        "He is on SEN support.",
        Kind::Send,
        Some(Confidence::Medium),
    ),
    ("sent is not sen", "I sent the consent form.", Kind::Send, None),
    ("send the verb", "Please send it back.", Kind::Send, None),
    (
        "safeguarding phrase",
        "This is a child protection matter.",
        Kind::Safeguarding,
        Some(Confidence::Medium),
    ),
    (
        "marking",
        "OFFICIAL-SENSITIVE\nMinutes",
        Kind::ProtectiveMarking,
        Some(Confidence::Medium),
    ),
    ("not a marking", "It is no secret.", Kind::ProtectiveMarking, None),
];

#[test]
fn detectors_find_valid_examples_and_skip_decoys() {
    let scanner = scanner();
    let mut failures = Vec::new();
    for (name, text, kind, expected) in CASES {
        let report = scan(&scanner, text, TextFormat::Plain);
        let got = report.confidence(*kind).filter(|c| *c >= Confidence::Medium);
        if got != *expected {
            failures.push(format!("{name}: {kind} expected {expected:?}, got {got:?} in {text:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn column_headers_are_context_for_cells() {
    let scanner = scanner();
    let csv = "Forename,Surname,Date of Birth,NHS Number,Postcode\n\
        Jamie,Carter,12/03/2015,943 476 5919,OX4 1AA\n\
        Sam,Patel,01/02/2016,943 476 5870,OX4 1AB\n\
        Amy,Jones,03/04/2015,654 100 3238,OX4 1AD\n\
        Ben,Smith,05/06/2015,,OX4 1AE\n\
        Cara,Lee,07/08/2015,,OX4 1AF\n";
    let report = scan(&scanner, csv, TextFormat::Csv);
    assert!(report.has(Kind::DateOfBirth, Confidence::High));
    assert!(report.has(Kind::NhsNumber, Confidence::High));
    assert!(report.has(Kind::PersonName, Confidence::High));
    assert!(report.table_of_people, "five rows of names and dates of birth");
    assert_eq!(report.people_rows, 5);
    let findings = report.findings(&Location::Attachment("pupils.csv".into()));
    let dob = findings.iter().find(|f| f.kind == Kind::DateOfBirth).expect("dob");
    assert_eq!(dob.count, 5);
}

#[test]
fn a_schedule_of_parents_evening_is_not_a_table_of_people() {
    let scanner = scanner();
    let text = "Parent\tDate\tTime\nMrs Carter\t12/03/2025\t16:00\nMr Patel\t12/03/2025\t16:10\n\
        Ms Jones\t12/03/2025\t16:20\nMr Smith\t12/03/2025\t16:30\nMrs Lee\t12/03/2025\t16:40\n";
    let report = scan(&scanner, text, TextFormat::Html);
    assert!(!report.table_of_people);
    assert!(!report.has(Kind::DateOfBirth, Confidence::Low));
}

#[test]
fn a_birth_word_belongs_to_the_nearest_date_only() {
    let scanner = scanner();
    let report = scan(
        &scanner,
        "DOB: 12/03/2015  Start date: 01/09/2019  Leaving date: 20/07/2026",
        TextFormat::Plain,
    );
    let findings = report.findings(&Location::Body);
    let dob = findings.iter().find(|f| f.kind == Kind::DateOfBirth).expect("dob");
    assert_eq!(dob.count, 1);
}

#[test]
fn passwords_after_phrases() {
    let scanner = scanner();
    let cases: &[(&str, bool)] = &[
        ("The password is Oakfield2024!", true),
        ("password: Tr33house", true),
        ("PW: kx93-pq", true),
        ("The code to open it is 4471XZ.", true),
        ("The password will follow by phone.", false),
        ("I'll send the password separately", false),
        ("The password is the usual one", false),
        ("Passcode sent by text", false),
    ];
    for (text, expected) in cases {
        let report = scan(&scanner, text, TextFormat::Plain);
        assert_eq!(report.password_given, *expected, "{text}");
    }
}

#[test]
fn a_newsletter_about_safeguarding_names_nobody() {
    let scanner = scanner();
    let text = "Safeguarding update: our DSL is Mrs Carter. Early help is available to every family; \
        if you have a child protection concern, please speak to us.";
    let report = scan(&scanner, text, TextFormat::Plain);
    assert!(report.has(Kind::Safeguarding, Confidence::Medium));
    assert!(!report.has_person_reference());
}

#[test]
fn no_full_value_leaves_the_scanner() {
    let scanner = scanner();
    let text = "UPN B801200005001 NHS number 943 476 5919 DOB 12/03/2015 ULN 9276308686 \
        NI number JG103759A card 4929 1234 5678 9007 exp 09/27 IBAN GB82 WEST 1234 5698 7654 32 \
        Pupil: Jamie Carter, home address OX4 1AA";
    let report = scan(&scanner, text, TextFormat::Plain);
    let json = serde_json::to_string(&report.findings(&Location::Body)).expect("serialises");
    for value in [
        "B801200005001",
        "943 476 5919",
        "9434765919",
        "12/03/2015",
        "9276308686",
        "JG103759A",
        "4929 1234 5678 9007",
        "GB82 WEST 1234 5698 7654 32",
        "Jamie Carter",
        "OX4 1AA",
    ] {
        assert!(!json.contains(value), "{value} leaked: {json}");
    }
}

/// Found by the property test: windows after a label or a password phrase
/// ended inside a multi-byte character.
#[test]
fn windows_never_split_a_character() {
    let scanner = scanner();
    for label in ["Name: ", "password is ", "NHS "] {
        for pad in 0..4 {
            let text = format!("{label}{}{}", "x".repeat(pad), "’".repeat(60));
            let _ = scan(&scanner, &text, TextFormat::Plain);
        }
    }
}

#[test]
fn mask_hides_every_reported_value() {
    let scanner = scanner();
    let text =
        "Pupil: Jamie Carter\nDOB: 12/03/2015\nUPN B801200005001, NHS number 943 476 5919.\nThe trip is on 12/03/2025.";
    let masked = scanner.mask(text, TextFormat::Plain);
    for value in ["Jamie Carter", "12/03/2015", "B801200005001", "943 476 5919"] {
        assert!(!masked.contains(value), "{value} in {masked}");
    }
    assert!(masked.contains("[upn: B801…001]"), "{masked}");
    assert!(masked.contains("The trip is on 12/03/2025."), "{masked}");
}

#[test]
fn labels_in_forms() {
    let scanner = scanner();
    let text = "Child's Name: JAMIE CARTER\nSurname: Carter   Forename: Jamie\nPupil name: Zoë O'Neil-Smith\nName: CARTER, Jamie\n";
    let masked = scanner.mask(text, TextFormat::Plain);
    for value in ["JAMIE CARTER", "Carter ", "Jamie\n", "Zoë", "CARTER, Jamie"] {
        assert!(!masked.contains(value), "{value:?} in {masked}");
    }
}

#[test]
fn number_runs_start_at_six_digits_or_a_second_group() {
    let scanner = scanner();
    let runs = |text: &str| -> Vec<String> {
        let (candidates, _) = scanner.find(text);
        candidates
            .iter()
            .filter(|c| c.shape == Shape::NumberRun)
            .map(|c| text[c.start..c.end].to_string())
            .collect()
    };
    // Years, times and amounts are not candidates: none is an identifier.
    assert!(runs("Year 6 trip, 2024: leave at 0830, 45 pupils, cost 300.").is_empty());
    // Every identifier's digits still are, whole.
    assert_eq!(runs("sort code 20-00-00 account 55779911"), ["20-00-00", "55779911"]);
    assert_eq!(
        runs("NHS 943 476 5919 and ULN 1234567890"),
        ["943 476 5919", "1234567890"]
    );
    assert_eq!(runs("card 4111 1111 1111 1111"), ["4111 1111 1111 1111"]);
    assert_eq!(runs("passport 123456789"), ["123456789"]);
}

//! Redacted samples: enough of a value for the sender and the DPO to know
//! which one was meant, never enough to be the value. This is the only form
//! in which a detected value leaves the scanner.

use crate::finding::Kind;

/// The redacted sample of `value`, a value of `kind` as it was written.
pub fn redact(kind: Kind, value: &str) -> String {
    let compact: String = value.chars().filter(|c| c.is_alphanumeric()).collect();
    match kind {
        // `A801…345`
        Kind::Upn => ends(&compact, 4, 3),
        // `943 … 5919`
        Kind::NhsNumber => format!("{} … {}", head(&compact, 3), tail(&compact, 4)),
        Kind::Uln => ends(&compact, 2, 3),
        Kind::Nino => ends(&compact, 2, 1),
        Kind::PaymentCard | Kind::BankAccount => format!("…{}", tail(&compact, 4)),
        Kind::Iban => ends(&compact, 4, 2),
        Kind::PassportUk | Kind::DrivingLicenceUk => ends(&compact, 1, 2),
        // The year only: `…/2015`.
        Kind::DateOfBirth => match value.trim().rsplit_once(|c: char| !c.is_alphanumeric()) {
            Some((_, year)) if year.len() == 4 => format!("…/{year}"),
            _ => "…".to_string(),
        },
        // The outward code only: `OX4 …`.
        Kind::PostcodeUk => {
            let outward = compact.len().saturating_sub(3);
            format!("{} …", &compact[..outward.min(compact.len())].to_uppercase())
        }
        Kind::PhoneUk => ends(&compact, 4, 2),
        Kind::EmailAddress => match value.rsplit_once('@') {
            Some((local, domain)) => format!("{}…@{}", head(local, 1), domain),
            None => "…".to_string(),
        },
        // Initials: `J… C…`.
        Kind::PersonName => value
            .split_whitespace()
            .map(|word| format!("{}…", head(word, 1)))
            .collect::<Vec<_>>()
            .join(" "),
        // Keyword categories and markings are vocabulary, not personal data.
        _ => value.to_string(),
    }
}

fn head(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn tail(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    match s.char_indices().nth(count.saturating_sub(n)) {
        Some((i, _)) => &s[i..],
        None => "",
    }
}

/// The first `h` and last `t` characters, but never more than half the value.
fn ends(s: &str, h: usize, t: usize) -> String {
    let count = s.chars().count();
    let (h, t) = if h + t > count / 2 + 1 {
        (count / 4, count / 4)
    } else {
        (h, t)
    };
    format!("{}…{}", head(s, h), tail(s, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_match_the_spec_and_hide_the_value() {
        let cases: &[(&str, Kind, &str, &str)] = &[
            ("upn as in SPEC", Kind::Upn, "A801200005001", "A801…001"),
            ("nhs as in SPEC", Kind::NhsNumber, "943 476 5919", "943 … 5919"),
            ("uln", Kind::Uln, "9276308686", "92…686"),
            ("nino", Kind::Nino, "AB 12 34 56 C", "AB…C"),
            ("card", Kind::PaymentCard, "4929 1234 5678 9012", "…9012"),
            ("iban", Kind::Iban, "GB82 WEST 1234 5698 7654 32", "GB82…32"),
            ("dob", Kind::DateOfBirth, "12/03/2015", "…/2015"),
            ("dob in words", Kind::DateOfBirth, "12 March 2015", "…/2015"),
            ("postcode", Kind::PostcodeUk, "OX4 1AA", "OX4 …"),
            ("phone", Kind::PhoneUk, "07700 900123", "0770…23"),
            ("email", Kind::EmailAddress, "jamie.carter@gmail.com", "j…@gmail.com"),
            ("name", Kind::PersonName, "Jamie Carter", "J… C…"),
            ("short value", Kind::PassportUk, "123", "…"),
        ];
        for (name, kind, value, sample) in cases {
            assert_eq!(redact(*kind, value), *sample, "{name}");
            assert_ne!(redact(*kind, value), *value, "{name}: sample is the value");
        }
    }
}

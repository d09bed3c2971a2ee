//! The vocabulary shared by the detectors, the policy and every output:
//! what was found ([`Kind`]), how sure we are ([`Confidence`]), where
//! ([`Location`]), and the redacted [`Finding`] that leaves the scanner.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every kind of finding, named as in SPEC.md and the verdict JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Upn,
    Uln,
    NhsNumber,
    Nino,
    PaymentCard,
    BankAccount,
    Iban,
    PassportUk,
    DrivingLicenceUk,
    DateOfBirth,
    PostcodeUk,
    PhoneUk,
    EmailAddress,
    PersonName,
    Safeguarding,
    Send,
    Health,
    Fsm,
    Behaviour,
    Hr,
    ProtectiveMarking,
    Unscannable,
    ImageOnly,
}

impl Kind {
    pub const ALL: [Kind; 23] = [
        Kind::Upn,
        Kind::Uln,
        Kind::NhsNumber,
        Kind::Nino,
        Kind::PaymentCard,
        Kind::BankAccount,
        Kind::Iban,
        Kind::PassportUk,
        Kind::DrivingLicenceUk,
        Kind::DateOfBirth,
        Kind::PostcodeUk,
        Kind::PhoneUk,
        Kind::EmailAddress,
        Kind::PersonName,
        Kind::Safeguarding,
        Kind::Send,
        Kind::Health,
        Kind::Fsm,
        Kind::Behaviour,
        Kind::Hr,
        Kind::ProtectiveMarking,
        Kind::Unscannable,
        Kind::ImageOnly,
    ];

    /// The keyword categories, each a vocabulary file under `rules/keywords/`.
    pub const KEYWORD_CATEGORIES: [Kind; 7] = [
        Kind::Safeguarding,
        Kind::Send,
        Kind::Health,
        Kind::Fsm,
        Kind::Behaviour,
        Kind::Hr,
        Kind::ProtectiveMarking,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Upn => "upn",
            Kind::Uln => "uln",
            Kind::NhsNumber => "nhs_number",
            Kind::Nino => "nino",
            Kind::PaymentCard => "payment_card",
            Kind::BankAccount => "bank_account",
            Kind::Iban => "iban",
            Kind::PassportUk => "passport_uk",
            Kind::DrivingLicenceUk => "driving_licence_uk",
            Kind::DateOfBirth => "date_of_birth",
            Kind::PostcodeUk => "postcode_uk",
            Kind::PhoneUk => "phone_uk",
            Kind::EmailAddress => "email_address",
            Kind::PersonName => "person_name",
            Kind::Safeguarding => "safeguarding",
            Kind::Send => "send",
            Kind::Health => "health",
            Kind::Fsm => "fsm",
            Kind::Behaviour => "behaviour",
            Kind::Hr => "hr",
            Kind::ProtectiveMarking => "protective_marking",
            Kind::Unscannable => "unscannable",
            Kind::ImageOnly => "image_only",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Identifiers: one `high` finding is personal data on its own (SPEC rule 1).
    pub fn is_identifier(self) -> bool {
        matches!(
            self,
            Kind::Upn
                | Kind::Uln
                | Kind::NhsNumber
                | Kind::Nino
                | Kind::PaymentCard
                | Kind::BankAccount
                | Kind::Iban
                | Kind::PassportUk
                | Kind::DrivingLicenceUk
        )
    }

    /// Special categories: personal data when a person is named beside them (SPEC rule 2).
    pub fn is_special_category(self) -> bool {
        matches!(self, Kind::Safeguarding | Kind::Send | Kind::Health)
    }

    pub fn is_keyword(self) -> bool {
        Kind::KEYWORD_CATEGORIES.contains(&self)
    }

    /// Kinds that describe a person, for table columns and rows of people.
    pub fn is_personal(self) -> bool {
        self.is_identifier()
            || matches!(
                self,
                Kind::DateOfBirth | Kind::PostcodeUk | Kind::PhoneUk | Kind::EmailAddress | Kind::PersonName
            )
    }

    /// Words for a person who reads a notice: "Unique Pupil Numbers".
    pub fn plural_label(self) -> &'static str {
        match self {
            Kind::Upn => "Unique Pupil Numbers",
            Kind::Uln => "Unique Learner Numbers",
            Kind::NhsNumber => "NHS numbers",
            Kind::Nino => "National Insurance numbers",
            Kind::PaymentCard => "payment card numbers",
            Kind::BankAccount => "bank account details",
            Kind::Iban => "IBANs",
            Kind::PassportUk => "passport numbers",
            Kind::DrivingLicenceUk => "driving licence numbers",
            Kind::DateOfBirth => "dates of birth",
            Kind::PostcodeUk => "home postcodes",
            Kind::PhoneUk => "phone numbers",
            Kind::EmailAddress => "email addresses",
            Kind::PersonName => "names of people",
            Kind::Safeguarding => "safeguarding terms",
            Kind::Send => "special educational needs terms",
            Kind::Health => "health terms",
            Kind::Fsm => "free school meals terms",
            Kind::Behaviour => "exclusion or behaviour terms",
            Kind::Hr => "staff HR terms",
            Kind::ProtectiveMarking => "protective markings",
            Kind::Unscannable => "parts that could not be read",
            Kind::ImageOnly => "scanned images without text",
        }
    }

    /// One of them: "Unique Pupil Number".
    pub fn singular_label(self) -> &'static str {
        match self {
            Kind::Upn => "Unique Pupil Number",
            Kind::Uln => "Unique Learner Number",
            Kind::NhsNumber => "NHS number",
            Kind::Nino => "National Insurance number",
            Kind::PaymentCard => "payment card number",
            Kind::BankAccount => "set of bank account details",
            Kind::Iban => "IBAN",
            Kind::PassportUk => "passport number",
            Kind::DrivingLicenceUk => "driving licence number",
            Kind::DateOfBirth => "date of birth",
            Kind::PostcodeUk => "home postcode",
            Kind::PhoneUk => "phone number",
            Kind::EmailAddress => "email address",
            Kind::PersonName => "name of a person",
            Kind::Safeguarding => "safeguarding term",
            Kind::Send => "special educational needs term",
            Kind::Health => "health term",
            Kind::Fsm => "free school meals term",
            Kind::Behaviour => "exclusion or behaviour term",
            Kind::Hr => "staff HR term",
            Kind::ProtectiveMarking => "protective marking",
            Kind::Unscannable => "part that could not be read",
            Kind::ImageOnly => "scanned image without text",
        }
    }

    /// `n` of them in words: "3 Unique Pupil Numbers", "1 NHS number".
    pub fn counted(self, n: usize) -> String {
        if n == 1 {
            format!("1 {}", self.singular_label())
        } else {
            format!("{n} {}", self.plural_label())
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Kind::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown kind {name:?}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Where in the message a finding was made.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    Subject,
    Body,
    /// An attachment's path: `pupils.csv`, or `forward.eml/pupils.csv` inside a container.
    Attachment(String),
}

impl Location {
    pub fn is_attachment(&self) -> bool {
        matches!(self, Location::Attachment(_))
    }

    /// A member of this location (an attachment of a forwarded message, a zip entry).
    pub fn member(&self, name: &str) -> Location {
        match self {
            Location::Attachment(parent) => Location::Attachment(format!("{parent}/{name}")),
            _ => Location::Attachment(name.to_string()),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Subject => f.write_str("subject"),
            Location::Body => f.write_str("body"),
            Location::Attachment(name) => write!(f, "attachment:{name}"),
        }
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(match text.as_str() {
            "subject" => Location::Subject,
            "body" => Location::Body,
            other => Location::Attachment(other.strip_prefix("attachment:").unwrap_or(other).to_string()),
        })
    }
}

/// One kind found in one location: what leaves the scanner. It never holds a
/// full detected value, only `sample`, which is redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    /// Distinct values of this kind in this location.
    pub count: usize,
    pub confidence: Confidence,
    pub location: Location,
    pub sample: String,
}

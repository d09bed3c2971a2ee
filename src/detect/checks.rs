//! Pure validators for the identifiers in `DETECTORS.md`.
//!
//! Why it is built this way:
//! - The regexes that find candidates stay loose (they must tolerate the spaces,
//!   hyphens and no-break spaces people type); every *decision* lives here, as a
//!   small pure function over the text exactly as matched. That keeps the check
//!   algorithms testable on their own against the published valid/invalid examples.
//! - Validators run once per candidate on every outbound message, so they do not
//!   allocate: separators are skipped while iterating, and where a compact copy is
//!   needed it goes into a fixed stack buffer ([`Compact`]).
//! - A passing checksum is *evidence*, not a verdict: about 1 in 11 random 10-digit
//!   strings passes the NHS, ULN, UTR or Luhn checks. Confidence (context words,
//!   column headers) is decided by the caller; these functions only say whether the
//!   string can be the identifier at all. Letters are compared case-insensitively;
//!   the candidate regex decides whether lower case is ever offered.
//! - Nothing here panics on any input: all indexing is on lengths checked first.

/// Characters people put between the groups of an identifier: space, tab,
/// hyphen, no-break and figure spaces, and the Unicode hyphens/dashes that
/// word processors substitute for `-`.
fn is_sep(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '-' | '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}'
    )
}

/// The values (0–9) of the ASCII digits in `s`, in order; every other
/// character is skipped. Validators check separately that nothing but
/// separators was skipped.
pub fn digits_of(s: &str) -> impl DoubleEndedIterator<Item = u8> + '_ {
    s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0')
}

/// Longest compacted identifier we ever need (an IBAN: 34 characters).
const COMPACT_CAP: usize = 34;

/// `s` with separators removed and ASCII letters upper-cased, in a stack buffer.
struct Compact {
    buf: [u8; COMPACT_CAP],
    len: usize,
}

impl Compact {
    /// `None` when `s` holds anything but ASCII letters, digits and separators,
    /// or more than [`COMPACT_CAP`] of them.
    fn new(s: &str) -> Option<Self> {
        let mut out = Compact {
            buf: [0; COMPACT_CAP],
            len: 0,
        };
        for c in s.chars() {
            if is_sep(c) {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return None;
            }
            let slot = out.buf.get_mut(out.len)?;
            // ASCII checked above, so the cast is lossless.
            *slot = (c as u8).to_ascii_uppercase();
            out.len += 1;
        }
        Some(out)
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Compact `s` and require exactly `n` ASCII digits.
fn digits_exact<const N: usize>(s: &str) -> Option<[u8; N]> {
    let c = Compact::new(s)?;
    let b = c.bytes();
    if b.len() != N || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [0u8; N];
    for (o, &d) in out.iter_mut().zip(b) {
        *o = d - b'0';
    }
    Some(out)
}

/// Σ dᵢ × wᵢ with weights 10, 9, …, 1 over ten digits.
fn weighted_10_to_1(d: &[u8; 10]) -> u32 {
    d.iter().zip((1..=10u32).rev()).map(|(&x, w)| u32::from(x) * w).sum()
}

fn two_digits(a: u8, b: u8) -> Option<u8> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some((a - b'0') * 10 + (b - b'0'))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// UPN
// ---------------------------------------------------------------------------

/// Check-letter table of the UPN (no I, O or S).
const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

fn upn_letter_index(b: u8) -> Option<u32> {
    UPN_LETTERS
        .iter()
        .position(|&l| l == b)
        .and_then(|i| u32::try_from(i).ok())
}

/// Unique Pupil Number: 13 characters `[check letter][11 digits][digit or
/// letter]`; Σ p × value over positions 2–13 (a final letter counts as its
/// index in the check-letter table) mod 23 selects the check letter.
pub fn upn_valid(s: &str) -> bool {
    let Some(c) = Compact::new(s) else {
        return false;
    };
    let b = c.bytes();
    if b.len() != 13 {
        return false;
    }
    let Some(check) = upn_letter_index(b[0]) else {
        return false;
    };
    if !b[1..12].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = if b[12].is_ascii_digit() {
        u32::from(b[12] - b'0')
    } else {
        match upn_letter_index(b[12]) {
            Some(v) => v,
            None => return false,
        }
    };
    let body: u32 = b[1..12].iter().zip(2u32..).map(|(&d, p)| p * u32::from(d - b'0')).sum();
    (body + 13 * last) % 23 == check
}

/// DfE local-authority codes (census list), as inclusive ranges.
const LA_CODES: &[(u16, u16)] = &[
    (1, 5),
    (201, 213),
    (301, 320),
    (330, 336),
    (340, 344),
    (350, 359),
    (370, 373),
    (380, 384),
    (390, 394),
    (420, 420),
    (660, 681),
    (701, 708),
    (800, 803),
    (805, 808),
    (810, 813),
    (815, 816),
    (820, 823),
    (825, 826),
    (830, 831),
    (835, 841),
    (845, 846),
    (850, 852),
    (855, 857),
    (860, 861),
    (865, 896),
    (908, 909),
    (916, 916),
    (919, 919),
    (921, 921),
    (925, 926),
    (928, 929),
    (931, 931),
    (933, 933),
    (935, 938),
    (940, 941),
];

/// Whether `code` is on the DfE local-authority list. New codes appear when
/// authorities merge: use this to raise confidence, never to reject.
pub fn la_code_known(code: u16) -> bool {
    LA_CODES.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
}

/// Whether the LA code in positions 2–4 of the UPN `s` is on the DfE list.
/// `false` if `s` is not UPN-shaped (13 characters after removing separators).
pub fn upn_la_code_known(s: &str) -> bool {
    let Some(c) = Compact::new(s) else {
        return false;
    };
    let b = c.bytes();
    if b.len() != 13 || !b[1..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let code = b[1..4].iter().fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    la_code_known(code)
}

// ---------------------------------------------------------------------------
// ULN, NHS number, UTR
// ---------------------------------------------------------------------------

/// Unique Learner Number: 10 digits, first not 0, Σ dᵢ × (10..1) ≡ 10 (mod 11).
/// No number is both a valid ULN and a valid NHS number.
pub fn uln_valid(s: &str) -> bool {
    match digits_exact::<10>(s) {
        Some(d) => d[0] != 0 && weighted_10_to_1(&d) % 11 == 10,
        None => false,
    }
}

/// NHS number: 10 digits, unbroken or grouped 3-3-4 (spaces or hyphens);
/// Σ dᵢ × (10..1) ≡ 0 (mod 11), which is the published "11 − r, 11 → 0,
/// 10 → invalid" rule. Numbers of one repeated digit (0000000000,
/// 1111111111, …) all pass the sum and are rejected.
pub fn nhs_valid(s: &str) -> bool {
    // Grouping: the digit runs must be [10] or [3, 3, 4].
    let mut groups = [0usize; 3];
    let mut n_groups = 0usize;
    let mut in_group = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_group {
                if n_groups == groups.len() {
                    return false;
                }
                n_groups += 1;
                in_group = true;
            }
            groups[n_groups - 1] += 1;
        } else if is_sep(c) {
            in_group = false;
        } else {
            return false;
        }
    }
    let grouping_ok = matches!((n_groups, groups), (1, [10, 0, 0]) | (3, [3, 3, 4]));
    if !grouping_ok {
        return false;
    }
    let Some(d) = digits_exact::<10>(s) else {
        return false;
    };
    if d.iter().all(|&x| x == d[0]) {
        return false;
    }
    weighted_10_to_1(&d).is_multiple_of(11)
}

/// HMRC Unique Taxpayer Reference: 10 digits, the first is a check digit:
/// `"21987654321"[(Σ d₂..d₁₀ × 6,7,8,9,10,5,4,3,2) mod 11]`.
pub fn utr_valid(s: &str) -> bool {
    const WEIGHTS: [u32; 9] = [6, 7, 8, 9, 10, 5, 4, 3, 2];
    const CHECK: &[u8; 11] = b"21987654321";
    let Some(d) = digits_exact::<10>(s) else {
        return false;
    };
    let sum: u32 = d[1..].iter().zip(WEIGHTS).map(|(&x, w)| u32::from(x) * w).sum();
    // `sum % 11` is < 11, so the index is in range.
    CHECK.get(sum as usize % 11).is_some_and(|&c| c - b'0' == d[0])
}

// ---------------------------------------------------------------------------
// National Insurance number
// ---------------------------------------------------------------------------

/// Compacted NINO shape: 2 letters, 6 digits, suffix A–D (prefix unchecked).
fn nino_shape(s: &str) -> Option<Compact> {
    let c = Compact::new(s)?;
    let b = c.bytes();
    let ok = b.len() == 9
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2..8].iter().all(u8::is_ascii_digit)
        && matches!(b[8], b'A'..=b'D');
    ok.then_some(c)
}

/// National Insurance number: two prefix letters (neither D, F, I, Q, U, V; O
/// never second; BG, GB, KN, NK, NT, TN, ZZ never issued), six digits, suffix
/// A–D. Spaces or hyphens anywhere. There is no check digit.
pub fn nino_valid(s: &str) -> bool {
    let Some(c) = nino_shape(s) else {
        return false;
    };
    let b = c.bytes();
    let (p0, p1) = (b[0], b[1]);
    let first_ok = !matches!(p0, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
    let second_ok = !matches!(p1, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V' | b'O');
    let never_issued = matches!(&[p0, p1], b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ");
    first_ok && second_ok && !never_issued
}

/// Template values that are not findings: the QQ prefix (HMRC's own example,
/// `QQ 12 34 56 C`), and the digits 123456 or 000000 with any prefix
/// (`AB123456C`). Needs the NINO shape.
pub fn nino_is_placeholder(s: &str) -> bool {
    let Some(c) = nino_shape(s) else {
        return false;
    };
    let b = c.bytes();
    &b[0..2] == b"QQ" || &b[2..8] == b"123456" || &b[2..8] == b"000000"
}

// ---------------------------------------------------------------------------
// Payment cards
// ---------------------------------------------------------------------------

/// Compact `s` to 1–19 ASCII digits (bytes, not values).
fn card_digits(s: &str) -> Option<Compact> {
    let c = Compact::new(s)?;
    let b = c.bytes();
    (!b.is_empty() && b.len() <= 19 && b.iter().all(u8::is_ascii_digit)).then_some(c)
}

/// Luhn (mod 10) check over the digits of `digits`; separators are skipped,
/// anything else fails. Empty input fails.
pub fn luhn_valid(digits: &str) -> bool {
    if !digits.chars().all(|c| c.is_ascii_digit() || is_sep(c)) {
        return false;
    }
    let mut sum = 0u32;
    let mut n = 0usize;
    for (i, d) in digits_of(digits).rev().enumerate() {
        let d = u32::from(d);
        sum += if i % 2 == 1 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
        n += 1;
    }
    n > 0 && sum.is_multiple_of(10)
}

/// The card scheme whose prefix *and* length fit `digits` (separators
/// skipped), or `None`. Lengths: Visa 13/16/19; Mastercard 16; Amex 15;
/// Discover, JCB 16–19; Diners 14–19; Maestro 13–19.
pub fn card_issuer(digits: &str) -> Option<&'static str> {
    let c = card_digits(digits)?;
    let b = c.bytes();
    let len = b.len();
    if len < 13 {
        return None; // shorter than any scheme issues
    }
    let prefix = |n: usize| -> u32 { b.iter().take(n).fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0')) };
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    if (p2 == 34 || p2 == 37) && len == 15 {
        return Some("American Express");
    }
    if p1 == 4 && matches!(len, 13 | 16 | 19) {
        return Some("Visa");
    }
    if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16 {
        return Some("Mastercard");
    }
    if (16..=19).contains(&len) && (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65) {
        return Some("Discover");
    }
    if (16..=19).contains(&len) && (3528..=3589).contains(&p4) {
        return Some("JCB");
    }
    if (14..=19).contains(&len) && ((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39)) {
        return Some("Diners Club");
    }
    if (13..=19).contains(&len) && (p2 == 50 || (56..=69).contains(&p2)) {
        return Some("Maestro");
    }
    None
}

/// Published test numbers (payment processors' sandbox documentation).
const TEST_CARDS: &[&str] = &[
    "4111111111111111",
    "4242424242424242",
    "4012888888881881",
    "4222222222222",
    "4000056655665556",
    "4444333322221111",
    "4005519200000004",
    "4917610000000000",
    "5555555555554444",
    "5105105105105100",
    "5200828282828210",
    "5454545454545454",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "378734493671000",
    "6011111111111117",
    "6011000990139424",
    "6011000000000012",
    "30569309025904",
    "38520000023237",
    "3530111333300000",
    "3566002020360505",
    "6200000000000005",
    "6759649826438453",
];

/// Whether `digits` (separators skipped) is a well-known test card number:
/// a finding of confidence `low` at most.
pub fn card_is_test_number(digits: &str) -> bool {
    match card_digits(digits) {
        Some(c) => TEST_CARDS.iter().any(|t| t.as_bytes() == c.bytes()),
        None => false,
    }
}

/// Payment card number: 13–19 digits (any grouping), Luhn valid, and a
/// scheme prefix that fits the length.
pub fn payment_card_valid(s: &str) -> bool {
    let Some(c) = card_digits(s) else {
        return false;
    };
    (13..=19).contains(&c.bytes().len()) && luhn_valid(s) && card_issuer(s).is_some()
}

// ---------------------------------------------------------------------------
// Bank details
// ---------------------------------------------------------------------------

/// IBAN lengths from the SWIFT IBAN registry.
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// IBAN, any country: separators removed, 2 letters + 2 check digits + up to
/// 30 letters/digits; the registry length for known countries (15–34 for
/// others); GB and IE also need their `[A-Z]{4}\d{14}` layout; then the
/// ISO 7064 mod-97 check (first four characters moved to the end, letters →
/// 10..35) must give 1, computed digit by digit without big numbers.
pub fn iban_valid(s: &str) -> bool {
    let Some(c) = Compact::new(s) else {
        return false;
    };
    let b = c.bytes();
    if b.len() < 15
        || !b[0].is_ascii_uppercase()
        || !b[1].is_ascii_uppercase()
        || !b[2].is_ascii_digit()
        || !b[3].is_ascii_digit()
    {
        return false;
    }
    // 00, 01 and 99 are never issued (01 would also pass mod 97).
    if matches!(&b[2..4], b"00" | b"01" | b"99") {
        return false;
    }
    let country = [b[0], b[1]];
    if let Some(&(_, n)) = IBAN_LENGTHS.iter().find(|(cc, _)| **cc == country)
        && b.len() != n
    {
        return false;
    }
    if matches!(&country, b"GB" | b"IE")
        && !(b[4..8].iter().all(u8::is_ascii_uppercase) && b[8..].iter().all(u8::is_ascii_digit))
    {
        return false;
    }
    let mut r = 0u32;
    for &ch in b[4..].iter().chain(&b[..4]) {
        r = if ch.is_ascii_digit() {
            (r * 10 + u32::from(ch - b'0')) % 97
        } else {
            (r * 100 + u32::from(ch - b'A') + 10) % 97
        };
    }
    r == 1
}

/// UK sort code as printed: `NN-NN-NN` or `NN NN NN` (one separator kind).
/// Shape only; see [`sort_code_could_be_date`] for the main false positive.
pub fn sort_code_shape(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 8
        && (b[2] == b'-' || b[2] == b' ')
        && b[5] == b[2]
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
}

/// Whether a sort-code-shaped string also reads as a date `dd-mm-yy`
/// (day 01–31, month 01–12), e.g. `12-05-23`.
pub fn sort_code_could_be_date(s: &str) -> bool {
    if !sort_code_shape(s) {
        return false;
    }
    let b = s.trim().as_bytes();
    let day = two_digits(b[0], b[1]);
    let month = two_digits(b[3], b[4]);
    matches!((day, month), (Some(1..=31), Some(1..=12)))
}

/// UK bank account number: 8 digits (separators skipped).
pub fn account_number_shape(s: &str) -> bool {
    digits_exact::<8>(s).is_some()
}

// ---------------------------------------------------------------------------
// Driving licence, passport
// ---------------------------------------------------------------------------

fn days_in_month(month: u8) -> u8 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// GB driving licence number, 16 characters (separators skipped):
/// `[A-Z9]{5}\d(0[1-9]|1[0-2]|5[1-9]|6[0-2])(0[1-9]|[12]\d|3[01])\d[A-Z9]{2}[A-Z0-9][A-Z]{2}`,
/// checked by hand, plus sanity: the surname field is letters padded with 9s
/// (starts with a letter, no letter after a 9), the day fits the month
/// (29 allowed in February), and the first initial is a letter.
pub fn driving_licence_valid(s: &str) -> bool {
    let Some(c) = Compact::new(s) else {
        return false;
    };
    let b = c.bytes();
    if b.len() != 16 {
        return false;
    }
    // Surname: letters, then only 9s.
    let surname = &b[0..5];
    if !surname[0].is_ascii_uppercase() {
        return false;
    }
    let mut padding = false;
    for &ch in surname {
        match ch {
            b'9' => padding = true,
            b'A'..=b'Z' if !padding => {}
            _ => return false,
        }
    }
    if !b[5].is_ascii_digit() || !b[10].is_ascii_digit() {
        return false;
    }
    let Some(month) = two_digits(b[6], b[7]) else {
        return false;
    };
    let month = match month {
        1..=12 => month,
        51..=62 => month - 50,
        _ => return false,
    };
    let Some(day) = two_digits(b[8], b[9]) else {
        return false;
    };
    if day == 0 || day > days_in_month(month) {
        return false;
    }
    // Initials: a letter, then a letter or 9 (no middle name).
    if !b[11].is_ascii_uppercase() || !(b[12].is_ascii_uppercase() || b[12] == b'9') {
        return false;
    }
    b[13].is_ascii_alphanumeric() && b[14].is_ascii_uppercase() && b[15].is_ascii_uppercase()
}

/// UK passport number shape: 9 digits, or (older) 1 letter + 6 digits.
/// Separators skipped. Shape only: needs passport words nearby.
pub fn passport_shape(s: &str) -> bool {
    let Some(c) = Compact::new(s) else {
        return false;
    };
    match c.bytes() {
        b if b.len() == 9 => b.iter().all(u8::is_ascii_digit),
        [first, rest @ ..] if rest.len() == 6 => first.is_ascii_uppercase() && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run a table of `(name, input, expected)` through `f`, reporting every
    /// failing case by name.
    fn table(what: &str, f: fn(&str) -> bool, cases: &[(&str, &str, bool)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter(|(_, input, want)| f(input) != *want)
            .map(|(name, input, want)| format!("{what}: {name} ({input:?}) expected {want}"))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn digits_of_skips_everything_else() {
        let v: Vec<u8> = digits_of("94-3 a7").collect();
        assert_eq!(v, vec![9, 4, 3, 7]);
    }

    #[test]
    fn upn() {
        table(
            "upn_valid",
            upn_valid,
            &[
                ("doc valid permanent", "B801200005001", true),
                ("doc valid 2", "P207000016049", true),
                ("doc valid temporary A", "G80120000101A", true),
                ("doc valid temporary B", "W80120000101B", true),
                ("doc valid 3", "H801200001001", true),
                ("lower case accepted", "b801200005001", true),
                ("with spaces", "B801 2000 05001", true),
                ("doc invalid wrong letter", "A801200005001", false),
                ("doc invalid help-page example", "Q207000016049", false),
                ("doc invalid letter inside", "X80120000A001", false),
                ("check letter I never used", "I801200005001", false),
                ("final letter O not in table", "G80120000101O", false),
                ("final letter S not in table", "G80120000101S", false),
                ("too short", "B80120000500", false),
                ("too long", "B8012000050011", false),
                ("no letter", "1801200005001", false),
                ("order number decoy", "ORD1234567890", false),
                ("empty", "", false),
                ("punctuation", "B801200005001.", false),
            ],
        );
    }

    #[test]
    fn upn_la_codes() {
        table(
            "upn_la_code_known",
            upn_la_code_known,
            &[
                ("801 Bristol", "B801200005001", true),
                ("207 Kensington", "P207000016049", true),
                ("001 first range", "A001200005001", true),
                ("941 last code", "A941200005001", true),
                ("999 unknown", "B999200005001", false),
                ("000 unknown", "B000200005001", false),
                ("804 gap", "B804200005001", false),
                ("not a UPN", "801", false),
            ],
        );
        assert!(la_code_known(420));
        assert!(!la_code_known(421));
    }

    #[test]
    fn uln() {
        table(
            "uln_valid",
            uln_valid,
            &[
                ("doc valid", "9276308686", true),
                ("doc valid 2", "1000102504", true),
                ("doc invalid", "9276308687", false),
                ("leading zero", "0276308686", false),
                ("nine digits", "927630868", false),
                ("eleven digits", "92763086860", false),
                ("letters", "92763O8686", false),
                ("NHS number is not a ULN", "9434765919", false),
            ],
        );
    }

    #[test]
    fn nhs() {
        table(
            "nhs_valid",
            nhs_valid,
            &[
                ("doc valid spaced", "943 476 5919", true),
                ("doc valid hyphens", "943-476-5870", true),
                ("doc valid unbroken", "6541003238", true),
                ("doc invalid", "9434765871", false),
                ("doc invalid often-quoted 1", "999 123 4560", false),
                ("doc invalid often-quoted 2", "987 654 4321", false),
                ("all zeros", "0000000000", false),
                ("all ones passes sum but rejected", "1111111111", false),
                ("all sevens spaced", "777 777 7777", false),
                ("wrong grouping 4-3-3", "9434 765 919", false),
                ("wrong grouping 5-5", "94347 65919", false),
                ("too many groups", "943 476 59 19", false),
                ("nine digits", "943476591", false),
                ("letter inside", "943 476 591A", false),
                ("ULN is not an NHS number", "9276308686", false),
                ("order number decoy", "1234567890", false),
            ],
        );
    }

    #[test]
    fn single_digit_errors_are_caught() {
        // Not UTR: its table maps remainders 1 and 10 to the same digit, so
        // some single-digit errors pass (e.g. 1955839661 -> 1555839661).
        type Validator = fn(&str) -> bool;
        let cases: [(&str, Validator); 3] = [
            ("B801200005001", upn_valid),
            ("9434765919", nhs_valid),
            ("9276308686", uln_valid),
        ];
        for (good, f) in cases {
            assert!(f(good), "{good} should pass");
            for i in 0..good.len() {
                for d in b'0'..=b'9' {
                    let mut v = good.as_bytes().to_vec();
                    if v[i] == d {
                        continue;
                    }
                    v[i] = d;
                    let s = String::from_utf8_lossy(&v).into_owned();
                    assert!(!f(&s), "{good} -> {s} still passes");
                }
            }
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let inputs = [
            "",
            " ",
            "-",
            "é",
            "£123",
            "１２３４５６７８９０",
            "B80120000500é",
            "\u{0}",
            "9434765919\u{2013}",
            "GB82 WEST 1234 5698 7654 32 GB82 WEST 1234",
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "99999999999999999999999",
        ];
        let fs: [fn(&str) -> bool; 18] = [
            upn_valid,
            upn_la_code_known,
            uln_valid,
            nhs_valid,
            utr_valid,
            nino_valid,
            nino_is_placeholder,
            luhn_valid,
            card_is_test_number,
            payment_card_valid,
            iban_valid,
            sort_code_shape,
            sort_code_could_be_date,
            account_number_shape,
            driving_licence_valid,
            passport_shape,
            |s| card_issuer(s).is_some(),
            |s| digits_of(s).count() > 100,
        ];
        for s in inputs {
            for f in fs {
                let _ = f(s);
            }
        }
    }

    #[test]
    fn no_uln_is_an_nhs_number() {
        let mut ulns = 0;
        for n in (1_000_000_000u64..9_999_999_999).step_by(99_991).take(100_000) {
            let s = n.to_string();
            if uln_valid(&s) {
                ulns += 1;
                assert!(!nhs_valid(&s), "{s} is both ULN and NHS valid");
            }
        }
        assert!(ulns > 1000, "sample found only {ulns} ULNs");
    }

    #[test]
    fn utr() {
        table(
            "utr_valid",
            utr_valid,
            &[
                ("doc valid", "1955839661", true),
                ("doc valid grouped 5-5", "19558 39661", true),
                ("wrong check digit", "2955839661", false),
                ("changed body digit", "1955839662", false),
                ("nine digits", "195583966", false),
                ("with K suffix", "1955839661K", false),
            ],
        );
    }

    #[test]
    fn nino() {
        table(
            "nino_valid",
            nino_valid,
            &[
                ("compact", "AB123456C", true),
                ("spaced pairs", "AB 12 34 56 C", true),
                ("hyphens", "JG-10-37-52-A", true),
                ("lower case", "jg103752a", true),
                ("O first is allowed", "OA123456A", true),
                ("suffix E", "JG103752E", false),
                ("no suffix", "JG103752", false),
                ("QQ placeholder prefix", "QQ123456C", false),
                ("D first", "DA123456A", false),
                ("F first", "FA123456A", false),
                ("I first", "IA123456A", false),
                ("U first", "UA123456A", false),
                ("V first", "VA123456A", false),
                ("O second", "AO123456A", false),
                ("Q second", "AQ123456A", false),
                ("BG never issued", "BG123456A", false),
                ("GB never issued", "GB123456A", false),
                ("KN never issued", "KN123456A", false),
                ("NK never issued", "NK123456A", false),
                ("NT never issued", "NT123456A", false),
                ("TN never issued", "TN123456A", false),
                ("ZZ never issued", "ZZ123456A", false),
                ("five digits", "JG10375A", false),
                ("digit prefix", "J1103752A", false),
                ("order reference decoy", "PO123456A1", false),
            ],
        );
        table(
            "nino_is_placeholder",
            nino_is_placeholder,
            &[
                ("HMRC template", "QQ 12 34 56 C", true),
                ("QQ other digits", "QQ987654A", true),
                ("AB123456C", "AB123456C", true),
                ("any prefix 123456", "JG123456D", true),
                ("zeros", "JG000000A", true),
                ("real-looking", "JG103752A", false),
                ("not NINO shaped", "QQ12345C", false),
            ],
        );
    }

    #[test]
    fn luhn() {
        table(
            "luhn_valid",
            luhn_valid,
            &[
                ("visa test", "4111 1111 1111 1111", true),
                ("amex test", "3782-822463-10005", true),
                ("single zero", "0", true),
                ("off by one", "4111111111111112", false),
                ("empty", "", false),
                ("letters", "4111a11111111111", false),
            ],
        );
    }

    #[test]
    fn issuers() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("visa 16", "4111111111111111", Some("Visa")),
            ("visa 13", "4222222222222", Some("Visa")),
            ("visa 15 does not fit", "411111111111111", None),
            ("mastercard 51", "5105105105105100", Some("Mastercard")),
            ("mastercard 2-series", "2223003122003222", Some("Mastercard")),
            ("mastercard 2-series 15 digits", "222300312200322", None),
            ("amex 34", "340000000000009", Some("American Express")),
            ("amex 37", "378282246310005", Some("American Express")),
            ("amex 16 does not fit", "3782822463100050", None),
            ("discover 6011", "6011111111111117", Some("Discover")),
            ("discover 65", "6500000000000002", Some("Discover")),
            ("jcb", "3530111333300000", Some("JCB")),
            ("diners 14", "30569309025904", Some("Diners Club")),
            ("diners 38", "38520000023237", Some("Diners Club")),
            ("maestro 50", "5018000000000009", Some("Maestro")),
            ("maestro 67 13 digits", "6759000000005", Some("Maestro")),
            ("unknown prefix 1", "1234567890123456", None),
            ("grouped", "4111 1111 1111 1111", Some("Visa")),
        ];
        for (name, input, want) in cases {
            assert_eq!(card_issuer(input), *want, "card_issuer: {name}");
        }
    }

    #[test]
    fn cards() {
        table(
            "payment_card_valid",
            payment_card_valid,
            &[
                ("visa grouped", "4111 1111 1111 1111", true),
                ("amex 4-6-5", "3782 822463 10005", true),
                ("mastercard", "5555-5555-5555-4444", true),
                ("visa 13", "4222222222222", true),
                ("luhn ok but no issuer", "1234567812345670", false),
                ("issuer ok but luhn bad", "4111111111111112", false),
                ("twelve digits", "411111111113", false),
                ("twenty digits", "41111111111111111113", false),
                ("all zeros", "0000000000000000", false),
                ("order number decoy", "ORD 4111 1111 1111 1111", false),
            ],
        );
        table(
            "card_is_test_number",
            card_is_test_number,
            &[
                ("4111", "4111 1111 1111 1111", true),
                ("4242", "4242424242424242", true),
                ("5555", "5555555555554444", true),
                ("amex 378282", "378282246310005", true),
                ("4000056655665556", "4000056655665556", true),
                ("5105", "5105105105105100", true),
                ("6011", "6011111111111117", true),
                ("amex 371449", "3714 496353 98431", true),
                ("4012", "4012888888881881", true),
                ("ordinary valid card", "4539578763621486", false),
            ],
        );
        for t in TEST_CARDS {
            assert!(payment_card_valid(t), "test card {t} should be card-valid");
        }
    }

    #[test]
    fn iban() {
        table(
            "iban_valid",
            iban_valid,
            &[
                ("doc GB 1", "GB82 WEST 1234 5698 7654 32", true),
                ("doc GB 2", "GB29 NWBK 6016 1331 9268 19", true),
                ("GB compact lower case", "gb82west12345698765432", true),
                ("DE", "DE89 3704 0044 0532 0130 00", true),
                ("FR", "FR14 2004 1010 0505 0001 3M02 606", true),
                ("NL", "NL91 ABNA 0417 1643 00", true),
                ("BE", "BE68 5390 0754 7034", true),
                ("IE", "IE29 AIBK 9311 5212 3456 78", true),
                ("ES", "ES91 2100 0418 4502 0005 1332", true),
                ("CH", "CH93 0076 2011 6238 5295 7", true),
                ("NO 15", "NO93 8601 1117 947", true),
                ("GB check digit changed", "GB83 WEST 1234 5698 7654 32", false),
                ("GB transposed digits", "GB82 WEST 1234 5698 7654 23", false),
                ("GB too short", "GB82 WEST 1234 5698 7654 3", false),
                ("GB digits in bank code", "GB82 W3ST 1234 5698 7654 32", false),
                ("DE wrong length", "DE89 3704 0044 0532 0130 000", false),
                ("no country", "1282 WEST 1234 5698 7654 32", false),
                ("punctuation", "GB82.WEST.1234.5698.7654.32", false),
                ("too long", "XX00 1234 5678 9012 3456 7890 1234 5678 9", false),
                ("order reference decoy", "PO12 3456 7890 1234", false),
            ],
        );
    }

    #[test]
    fn bank_shapes() {
        table(
            "sort_code_shape",
            sort_code_shape,
            &[
                ("hyphens", "40-47-84", true),
                ("spaces", "40 47 84", true),
                ("mixed separators", "40-47 84", false),
                ("unbroken", "404784", false),
                ("three-digit group", "404-78-4", false),
                ("letters", "4O-47-84", false),
            ],
        );
        table(
            "sort_code_could_be_date",
            sort_code_could_be_date,
            &[
                ("date", "12-05-23", true),
                ("not a date (month 47)", "40-47-84", false),
                ("not a date (day 40)", "40-05-23", false),
            ],
        );
        table(
            "account_number_shape",
            account_number_shape,
            &[
                ("eight digits", "31926819", true),
                ("seven digits", "3192681", false),
                ("nine digits", "319268190", false),
                ("letter", "3192681A", false),
            ],
        );
    }

    #[test]
    fn driving_licence() {
        table(
            "driving_licence_valid",
            driving_licence_valid,
            &[
                ("DVLA sample", "MORGA753116SM9IJ", true),
                ("printed with spaces", "MORGA 753116 SM9IJ", true),
                ("woman (month +50)", "JONES861200J99AB", true),
                ("short surname padded", "FOX99802150AB1CD", true),
                ("29 February", "SMITH802290AB1CD", true),
                ("30 February", "SMITH802300AB1CD", false),
                ("31 April", "SMITH804310AB1CD", false),
                ("month 13", "SMITH813150AB1CD", false),
                ("month 63", "SMITH863150AB1CD", false),
                ("month 50", "SMITH850150AB1CD", false),
                ("day 00", "SMITH801000AB1CD", false),
                ("day 32", "SMITH801320AB1CD", false),
                ("9 before letters", "FO9X9802150AB1CD", false),
                ("surname starts with 9", "99999802150AB1CD", false),
                ("first initial 9", "SMITH80215099AB1", false),
                ("digit in last two", "SMITH802150AB1C1", false),
                ("fifteen chars", "SMITH802150AB1C", false),
            ],
        );
    }

    #[test]
    fn passport() {
        table(
            "passport_shape",
            passport_shape,
            &[
                ("nine digits", "925076473", true),
                ("old letter + six", "A123456", true),
                ("eight digits", "92507647", false),
                ("two letters", "AB123456", false),
                ("letter + seven", "A1234567", false),
            ],
        );
    }
}

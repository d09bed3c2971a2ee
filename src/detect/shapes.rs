//! The shapes of every pattern-based detector, compiled into one
//! multi-pattern regex (regex-automata's meta engine, leftmost-first, ASCII
//! word boundaries so the lazy DFA never gives up on non-ASCII text). One
//! pass finds every candidate; the checks in `checks.rs` and the context
//! rules in `mod.rs` decide which candidates are findings.
//!
//! Digits are one shape, a run of digit groups: NHS numbers, ULNs, card
//! numbers, sort codes and account numbers are told apart afterwards by
//! trying the check algorithms on the run's sub-spans, so two detectors
//! never fight over the same digits.

use regex_automata::Input;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;

/// What a pattern of the combined regex looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Iban,
    Upn,
    Nino,
    DrivingLicence,
    Email,
    Postcode,
    DateNumeric,
    DateWords,
    Phone,
    NumberRun,
}

const MONTHS: &str = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec";

/// The patterns; every one but `Email` matches only text holding an ASCII digit.
pub fn patterns() -> Vec<(Shape, String)> {
    let b = r"(?-u:\b)";
    let postcode = r"GIR ?0AA|[A-PR-UWYZ][0-9][A-HJKPSTUW]? ?[0-9][ABD-HJLNP-UW-Z]{2}|[A-PR-UWYZ][0-9][0-9] ?[0-9][ABD-HJLNP-UW-Z]{2}|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]? ?[0-9][ABD-HJLNP-UW-Z]{2}|[A-PR-UWYZ][A-HK-Y][0-9][0-9] ?[0-9][ABD-HJLNP-UW-Z]{2}";
    vec![
        (
            Shape::Iban,
            format!(r"{b}[A-Z]{{2}}[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{b}"),
        ),
        (Shape::Upn, format!(r"{b}[A-HJ-NP-RT-Z][0-9]{{11}}[0-9A-HJ-NP-RT-Z]{b}")),
        (
            Shape::Nino,
            format!(r"{b}[A-Z]{{2}}[ -]?[0-9]{{2}}[ -]?[0-9]{{2}}[ -]?[0-9]{{2}}[ -]?[A-D]{b}"),
        ),
        (
            Shape::DrivingLicence,
            format!(r"{b}[A-Z9]{{5}}[0-9]{{6}}[A-Z9]{{2}}[A-Z0-9][A-Z]{{2}}{b}"),
        ),
        (
            Shape::Email,
            format!(r"{b}[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"),
        ),
        (Shape::Postcode, format!(r"{b}(?:{postcode}){b}")),
        (
            Shape::DateNumeric,
            format!(
                r"{b}(?:[0-9]{{1,2}}[/.][0-9]{{1,2}}[/.](?:[0-9]{{4}}|[0-9]{{2}})|[0-9]{{1,2}}-[0-9]{{1,2}}-[0-9]{{4}}|[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}){b}"
            ),
        ),
        (
            Shape::DateWords,
            format!(
                r"(?i:{b}[0-9]{{1,2}}(?:st|nd|rd|th)?(?: of)? (?:{MONTHS})[a-z]*\.?,? [0-9]{{4}}{b}|{b}(?:{MONTHS})[a-z]*\.? [0-9]{{1,2}}(?:st|nd|rd|th)?,? [0-9]{{4}}{b})"
            ),
        ),
        (
            Shape::Phone,
            format!(r"(?:\+44 ?(?:\(0\) ?)?|\(0|{b}0)[1-37][0-9]{{1,4}}\)?[ -]?[0-9]{{3,4}}[ -]?[0-9]{{3,4}}{b}"),
        ),
        (Shape::NumberRun, format!(r"{b}[0-9]{{2,}}(?:[ -][0-9]{{2,}})*{b}")),
    ]
}

pub struct Shapes {
    /// Every shape that holds a digit, run only around digits.
    digits: Regex,
    digit_shapes: Vec<Shape>,
    /// Addresses, found through their `@`.
    email: Regex,
}

/// One candidate: a shape and where it is.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub shape: Shape,
    pub start: usize,
    pub end: usize,
}

/// How far a match may reach before its first digit ("September 12, 2015",
/// "MORGA753116SM9IJ") and after its last ("GB82 WEST …", "OX4 1AA").
const REACH_BEFORE: usize = 16;
const REACH_AFTER: usize = 16;
/// Digit windows closer than this are searched as one.
const JOIN: usize = 64;

impl Shapes {
    pub fn new() -> Shapes {
        let build = |sources: &[String]| {
            Regex::builder()
                .configure(meta::Config::new().match_kind(regex_automata::MatchKind::LeftmostFirst))
                .syntax(syntax::Config::new().unicode(true).utf8(true))
                .build_many(sources)
                .expect("the detector patterns are fixed and tested")
        };
        let (email, digit): (Vec<_>, Vec<_>) = patterns().into_iter().partition(|(shape, _)| *shape == Shape::Email);
        let (digit_shapes, digit_sources): (Vec<Shape>, Vec<String>) = digit.into_iter().unzip();
        let email_sources: Vec<String> = email.into_iter().map(|(_, s)| s).collect();
        Shapes {
            digits: build(&digit_sources),
            digit_shapes,
            email: build(&email_sources),
        }
    }

    /// Every candidate in `text`, left to right, never overlapping.
    ///
    /// Prose is mostly letters: the digit shapes are searched only in
    /// windows around digits (found a 32-byte block at a time), which keeps
    /// the cost of a 10 MB letter near the cost of reading it once.
    pub fn find(&self, text: &str) -> Vec<Candidate> {
        let mut found: Vec<Candidate> = Vec::new();
        for window in digit_windows(text) {
            let input = Input::new(text).range(window);
            found.extend(self.digits.find_iter(input).map(|m| Candidate {
                shape: self.digit_shapes[m.pattern().as_usize()],
                start: m.start(),
                end: m.end(),
            }));
        }
        if memchr::memchr(b'@', text.as_bytes()).is_some() {
            found.extend(self.email.find_iter(text).map(|m| Candidate {
                shape: Shape::Email,
                start: m.start(),
                end: m.end(),
            }));
            found.sort_by_key(|c| (c.start, std::cmp::Reverse(c.end)));
            let mut last_end = 0;
            found.retain(|c| {
                let keep = c.start >= last_end;
                if keep {
                    last_end = c.end;
                }
                keep
            });
        }
        found
    }
}

/// Ranges of `text` around its digits, on char boundaries, merged when close.
fn digit_windows(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut windows: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(block) = bytes.get(i..i + 32)
            && !block.iter().fold(false, |any, b| any | b.is_ascii_digit())
        {
            i += 32;
            continue;
        }
        if bytes[i].is_ascii_digit() {
            let start = floor_boundary(text, i.saturating_sub(REACH_BEFORE));
            let end = ceil_boundary(text, i + 1 + REACH_AFTER);
            match windows.last_mut() {
                Some(last) if start <= last.end + JOIN => last.end = end,
                _ => windows.push(start..end),
            }
        }
        i += 1;
    }
    windows
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl Default for Shapes {
    fn default() -> Self {
        Shapes::new()
    }
}

/// A calendar date read from a candidate: (day, month, year with four digits).
pub fn parse_date(s: &str, shape: Shape) -> Option<(u32, u32, u32)> {
    let (day, month, year) = match shape {
        Shape::DateNumeric => {
            let parts: Vec<&str> = s.split(['/', '.', '-']).collect();
            let [a, b, c] = parts.as_slice() else { return None };
            if a.len() == 4 {
                (c.parse().ok()?, b.parse().ok()?, a.parse().ok()?)
            } else {
                (a.parse().ok()?, b.parse().ok()?, c.parse::<u32>().ok()?)
            }
        }
        Shape::DateWords => {
            let lower = s.to_lowercase();
            let words: Vec<&str> = lower
                .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
                .filter(|w| !w.is_empty() && *w != "of")
                .collect();
            let [a, b, c] = words.as_slice() else { return None };
            let number = |w: &str| {
                w.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                    .parse::<u32>()
                    .ok()
            };
            let (day, month) = match (number(a), month_number(b), month_number(a), number(b)) {
                (Some(d), Some(m), _, _) => (d, m),
                (_, _, Some(m), Some(d)) => (d, m),
                _ => return None,
            };
            (day, month, c.parse().ok()?)
        }
        _ => return None,
    };
    let year = match year {
        0..=99 => {
            if year <= 40 {
                2000 + year
            } else {
                1900 + year
            }
        }
        1900..=2099 => year,
        _ => return None,
    };
    let days = match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    (1..=days).contains(&day).then_some((day, month, year))
}

fn month_number(word: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if word.len() < 3 {
        return None;
    }
    let word = if word == "sept" { "sep" } else { word };
    NAMES
        .iter()
        .position(|name| name.starts_with(word))
        .map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes_in(text: &str) -> Vec<(Shape, String)> {
        let shapes = Shapes::new();
        shapes
            .find(text)
            .into_iter()
            .map(|c| (c.shape, text[c.start..c.end].to_string()))
            .collect()
    }

    #[test]
    fn each_shape_is_found() {
        let cases: &[(&str, &str, Shape, &str)] = &[
            ("upn", "UPN B801200005001.", Shape::Upn, "B801200005001"),
            (
                "iban",
                "IBAN GB82 WEST 1234 5698 7654 32 please",
                Shape::Iban,
                "GB82 WEST 1234 5698 7654 32",
            ),
            ("nino spaced", "NI AB 12 34 56 C", Shape::Nino, "AB 12 34 56 C"),
            (
                "licence",
                "licence MORGA753116SM9IJ",
                Shape::DrivingLicence,
                "MORGA753116SM9IJ",
            ),
            (
                "email",
                "write to jamie.carter@gmail.com.",
                Shape::Email,
                "jamie.carter@gmail.com",
            ),
            ("postcode", "lives at OX4 1AA now", Shape::Postcode, "OX4 1AA"),
            ("date slashes", "DOB 12/03/2015", Shape::DateNumeric, "12/03/2015"),
            ("date iso", "born 2015-03-12", Shape::DateNumeric, "2015-03-12"),
            (
                "date words",
                "born on 12th March 2015",
                Shape::DateWords,
                "12th March 2015",
            ),
            (
                "date us words",
                "born March 12, 2015",
                Shape::DateWords,
                "March 12, 2015",
            ),
            ("mobile", "call 07700 900123", Shape::Phone, "07700 900123"),
            ("international", "call +44 7700 900123", Shape::Phone, "+44 7700 900123"),
            (
                "landline in brackets",
                "call (01865) 123456",
                Shape::Phone,
                "(01865) 123456",
            ),
            ("nhs run", "NHS 943 476 5919", Shape::NumberRun, "943 476 5919"),
            (
                "card run",
                "card 4929-1234-5678-9012",
                Shape::NumberRun,
                "4929-1234-5678-9012",
            ),
        ];
        for (name, text, shape, value) in cases {
            let found = shapes_in(text);
            assert!(found.iter().any(|(s, v)| s == shape && v == value), "{name}: {found:?}");
        }
    }

    #[test]
    fn dates_are_checked() {
        assert_eq!(parse_date("12/03/2015", Shape::DateNumeric), Some((12, 3, 2015)));
        assert_eq!(parse_date("2015-03-12", Shape::DateNumeric), Some((12, 3, 2015)));
        assert_eq!(parse_date("1.2.15", Shape::DateNumeric), Some((1, 2, 2015)));
        assert_eq!(parse_date("31/02/2015", Shape::DateNumeric), None);
        assert_eq!(parse_date("12/13/2015", Shape::DateNumeric), None);
        assert_eq!(parse_date("12th March 2015", Shape::DateWords), Some((12, 3, 2015)));
        assert_eq!(parse_date("March 12, 2015", Shape::DateWords), Some((12, 3, 2015)));
        assert_eq!(parse_date("3 Marching 2015", Shape::DateWords), None);
    }
}

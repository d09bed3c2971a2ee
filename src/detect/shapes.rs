//! The shapes of every pattern-based detector. They are compiled, with the
//! rule pack's terms, into the scanner's one multi-pattern regex
//! (regex-automata's meta engine, leftmost-first, ASCII word boundaries so
//! the lazy DFA never gives up on non-ASCII text). One pass finds every
//! candidate; the checks in `checks.rs` and the context rules in `mod.rs`
//! decide which candidates are findings.
//!
//! Digits are one shape, a run of digit groups: NHS numbers, ULNs, card
//! numbers, sort codes and account numbers are told apart afterwards by
//! trying the check algorithms on the run's sub-spans, so two detectors
//! never fight over the same digits.

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

/// The shape patterns, in priority order.
pub fn patterns() -> Vec<(Shape, String)> {
    let b = r"(?-u:\b)";
    let postcode = r"GIR ?0AA|[A-PR-UWYZ][0-9][A-HJKPSTUW]? ?[0-9][ABD-HJLNP-UW-Z]{2}|[A-PR-UWYZ][0-9][0-9] ?[0-9][ABD-HJLNP-UW-Z]{2}|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]? ?[0-9][ABD-HJLNP-UW-Z]{2}|[A-PR-UWYZ][A-HK-Y][0-9][0-9] ?[0-9][ABD-HJLNP-UW-Z]{2}";
    vec![
        (
            Shape::Iban,
            format!(r"{b}[A-Z]{{2}}[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{b}"),
        ),
        // UPN and NINO in any case (a parent types "np 47 29 83 b"); the
        // detector asks for a keyword nearby before it believes a lower-case one.
        (
            Shape::Upn,
            format!(r"{b}(?i-u:[A-HJ-NP-RT-Z][0-9]{{11}}[0-9A-HJ-NP-RT-Z]){b}"),
        ),
        (
            Shape::Nino,
            format!(r"{b}(?i-u:[A-Z]{{2}}[ -]?[0-9]{{2}}[ -]?[0-9]{{2}}[ -]?[0-9]{{2}}[ -]?[A-D]){b}"),
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
        // A lone group of under six digits is never an identifier (the
        // shortest, a sort code, has six): not matching it spares the
        // automaton a match for every year, time and quantity in prose.
        (
            Shape::NumberRun,
            format!(r"{b}(?:[0-9]{{6,}}(?:[ -][0-9]{{2,}})*|[0-9]{{2,}}(?:[ -][0-9]{{2,}})+){b}"),
        ),
    ]
}

/// One candidate: a shape and where it is.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub shape: Shape,
    pub start: usize,
    pub end: usize,
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
        let (shapes, sources): (Vec<Shape>, Vec<String>) = patterns().into_iter().unzip();
        let regex = regex_automata::meta::Regex::new_many(&sources).expect("compiles");
        regex
            .find_iter(text)
            .map(|m| (shapes[m.pattern().as_usize()], text[m.start()..m.end()].to_string()))
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

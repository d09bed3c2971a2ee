//! Is the configured disclaimer already in a text? Replies quote it with
//! `> `, clients re-wrap it, HTML turns it into other whitespace: the
//! disclaimer's words are matched in order, case-insensitively, with any run
//! of non-alphanumeric characters between them. One regex compiled at start
//! (its first word is a literal the regex engine searches for quickly), so
//! the check costs little even on a 10 MB body. The scanner's presence check
//! and the rewriter's idempotency check are this one function.

use regex::Regex;

pub struct DisclaimerMatcher {
    regex: Option<Regex>,
}

impl DisclaimerMatcher {
    pub fn new(disclaimer: &str) -> DisclaimerMatcher {
        let words: Vec<String> = disclaimer
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(regex::escape)
            .collect();
        let regex = (!words.is_empty()).then(|| {
            let pattern = format!(r"(?i){}", words.join(r"[^\p{L}\p{N}]+"));
            Regex::new(&pattern).expect("escaped words always compile")
        });
        DisclaimerMatcher { regex }
    }

    /// Whether `text` carries the disclaimer, however it was re-wrapped or quoted.
    pub fn present_in(&self, text: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_however_it_was_rewrapped() {
        let matcher =
            DisclaimerMatcher::new("This email is confidential. If you received it in error, tell the sender.");
        let cases: &[(&str, &str, bool)] = &[
            (
                "as written",
                "Hi\n\nThis email is confidential. If you received it in error, tell the sender.\n",
                true,
            ),
            (
                "quoted and re-wrapped",
                "> This email is\n> confidential.  If you\n> received it in error, tell the sender.",
                true,
            ),
            (
                "other case",
                "THIS EMAIL IS CONFIDENTIAL. IF YOU RECEIVED IT IN ERROR, TELL THE SENDER.",
                true,
            ),
            (
                "html turned text",
                "This\u{a0}email is confidential.\tIf you received it in error,\ntell the sender.",
                true,
            ),
            ("only a part", "This email is confidential.", false),
            ("absent", "Kind regards, Sarah", false),
        ];
        for (name, text, expected) in cases {
            assert_eq!(matcher.present_in(text), *expected, "{name}");
        }
    }
}

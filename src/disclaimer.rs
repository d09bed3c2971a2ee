//! Is the configured disclaimer already in a text? Replies quote it with
//! `> `, clients re-wrap it, HTML turns it into other whitespace: the
//! disclaimer's words are matched in order, case-insensitively, with any run
//! of characters that are neither letters nor digits between them (the first
//! word may end a longer word, the last may begin one). The scanner's
//! presence check and the rewriter's idempotency check are this one function.
//!
//! It runs on every outbound message, so it is built to cost nearly nothing
//! when the caches are cold (the milter's case: Postfix runs between two
//! messages): one SIMD search for the disclaimer's longest word, then a walk
//! over the words around each place it occurs. A regex of the whole
//! disclaimer did the same job with a lazy DFA over Unicode classes, and was
//! 8 % of the milter's CPU under load.

use aho_corasick::AhoCorasick;

pub struct DisclaimerMatcher {
    /// `None` when the disclaimer has no words (nothing to look for).
    words: Option<Words>,
}

struct Words {
    /// The disclaimer's words, lower case.
    words: Vec<String>,
    /// Which word the search looks for: the longest (rarest in prose).
    anchor: usize,
    /// Finds the anchor in any ASCII case (and its upper and title case forms).
    finder: AhoCorasick,
}

impl DisclaimerMatcher {
    pub fn new(disclaimer: &str) -> DisclaimerMatcher {
        let words: Vec<String> = disclaimer
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let Some(anchor) = (0..words.len()).max_by_key(|&i| (words[i].chars().count(), std::cmp::Reverse(i))) else {
            return DisclaimerMatcher { words: None };
        };
        let lower = words[anchor].clone();
        let title: String = lower
            .chars()
            .take(1)
            .flat_map(char::to_uppercase)
            .chain(lower.chars().skip(1))
            .collect();
        let mut forms = vec![lower.to_uppercase(), title, lower];
        forms.sort_by_key(|f| f.to_ascii_lowercase());
        forms.dedup_by_key(|f| f.to_ascii_lowercase());
        let finder = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(forms)
            .expect("three short literals always build");
        DisclaimerMatcher {
            words: Some(Words { words, anchor, finder }),
        }
    }

    /// Whether `text` carries the disclaimer, however it was re-wrapped or quoted.
    pub fn present_in(&self, text: &str) -> bool {
        self.words.as_ref().is_some_and(|w| {
            w.finder
                .find_overlapping_iter(text)
                .any(|hit| w.around(text, hit.start(), hit.end()))
        })
    }
}

impl Words {
    /// Whether the disclaimer's words surround the anchor found at `start..end`.
    fn around(&self, text: &str, start: usize, end: usize) -> bool {
        let last = self.words.len() - 1;
        let letter_before = text[..start].chars().next_back().is_some_and(char::is_alphanumeric);
        let letter_after = text[end..].chars().next().is_some_and(char::is_alphanumeric);
        if (self.anchor > 0 && letter_before) || (self.anchor < last && letter_after) {
            return false;
        }
        let mut at = start;
        for (i, word) in self.words[..self.anchor].iter().enumerate().rev() {
            // The first word may end a longer one.
            match word_before(text, at) {
                Some((from, found))
                    if (i == 0 && found.to_lowercase().ends_with(word.as_str())) || same_word(found, word) =>
                {
                    at = from
                }
                _ => return false,
            }
        }
        let mut at = end;
        for (i, word) in self.words.iter().enumerate().skip(self.anchor + 1) {
            // The last word may begin a longer one.
            match word_after(text, at) {
                Some((to, found))
                    if (i == last && found.to_lowercase().starts_with(word.as_str())) || same_word(found, word) =>
                {
                    at = to
                }
                _ => return false,
            }
        }
        true
    }
}

/// The word that ends before `at`, past at least one separator: where it
/// starts, and the word.
fn word_before(text: &str, at: usize) -> Option<(usize, &str)> {
    let gap = text[..at].trim_end_matches(|c: char| !c.is_alphanumeric()).len();
    let from = text[..gap].trim_end_matches(char::is_alphanumeric).len();
    (gap < at).then_some((from, &text[from..gap]))
}

/// The word that starts after `at`, past at least one separator: where it
/// ends, and the word.
fn word_after(text: &str, at: usize) -> Option<(usize, &str)> {
    let from = text.len() - text[at..].trim_start_matches(|c: char| !c.is_alphanumeric()).len();
    let to = text.len() - text[from..].trim_start_matches(char::is_alphanumeric).len();
    (from > at).then_some((to, &text[from..to]))
}

/// `found` is `word` (lower case) in any case.
fn same_word(found: &str, word: &str) -> bool {
    found.chars().flat_map(char::to_lowercase).eq(word.chars())
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
            (
                "the longest word alone first",
                "Confidential: the figures.\nThis email is confidential. If you received it in error, tell the sender.",
                true,
            ),
            (
                "first and last words may touch letters",
                "xThis email is confidential. If you received it in error, tell the senders",
                true,
            ),
            (
                "inner words are whole",
                "This email is nonconfidential. If you received it in error, tell the sender.",
                false,
            ),
            (
                "a word missing",
                "This email is confidential. If you received it, tell the sender.",
                false,
            ),
            ("absent", "Kind regards, Sarah", false),
        ];
        for (name, text, expected) in cases {
            assert_eq!(matcher.present_in(text), *expected, "{name}");
        }
    }

    proptest::proptest! {
        /// The word walk agrees with the regex it replaced,
        /// `(?i)word[^\p{L}\p{N}]+word…`, on the disclaimer written with
        /// random separators, cases and damage (a word dropped, or touching
        /// a letter), between random prose.
        #[test]
        fn agrees_with_the_whole_disclaimer_regex(
            before in proptest::collection::vec(proptest::sample::select(NOISE.to_vec()), 0..12),
            after in proptest::collection::vec(proptest::sample::select(NOISE.to_vec()), 0..12),
            edits in proptest::collection::vec((0u8..3, 0u8..40, proptest::sample::select(SEPARATORS.to_vec())), 13),
        ) {
            let disclaimer = "This email is confidential. If you received it in error, tell the sender.";
            let words: Vec<&str> = disclaimer.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
            let mut text = before.concat();
            for (word, (case, damage, separator)) in words.iter().zip(&edits) {
                let word = match case {
                    0 => word.to_string(),
                    1 => word.to_uppercase(),
                    _ => word.to_lowercase(),
                };
                match damage {
                    0 => {}
                    1 => text.push_str(&format!("x{word}")),
                    2 => text.push_str(&format!("{word}x")),
                    _ => text.push_str(&word),
                }
                text.push_str(separator);
            }
            text.push_str(&after.concat());
            static REGEX: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
                regex::Regex::new(r"(?i)This[^\p{L}\p{N}]+email[^\p{L}\p{N}]+is[^\p{L}\p{N}]+confidential[^\p{L}\p{N}]+If[^\p{L}\p{N}]+you[^\p{L}\p{N}]+received[^\p{L}\p{N}]+it[^\p{L}\p{N}]+in[^\p{L}\p{N}]+error[^\p{L}\p{N}]+tell[^\p{L}\p{N}]+the[^\p{L}\p{N}]+sender").expect("compiles")
            });
            proptest::prop_assert_eq!(DisclaimerMatcher::new(disclaimer).present_in(&text), REGEX.is_match(&text), "{:?}", text);
        }
    }

    const NOISE: &[&str] = &["Confidential", "sender", "is", "tell", "é", "7", " ", "\n> ", ". "];
    const SEPARATORS: &[&str] = &[" ", "  ", "\n> ", "\u{a0}", ". ", ", ", " - ", "\t", "\r\n"];

    #[test]
    fn non_ascii_words_and_no_words() {
        let welsh =
            DisclaimerMatcher::new("Mae'r e-bost hwn yn gyfrinachol. Ysgol Gynradd Tŷ'r Fferm, Rhosllannerchrugog.");
        assert!(
            welsh.present_in("> MAE'R E-BOST HWN YN GYFRINACHOL.\n> Ysgol Gynradd Tŷ'r Fferm,\n> Rhosllannerchrugog.")
        );
        let accented = DisclaimerMatcher::new("Confidentialité assurée");
        assert!(accented.present_in("… Confidentialité  assurée."));
        assert!(accented.present_in("CONFIDENTIALITÉ ASSURÉE"));
        assert!(!accented.present_in("Confidentialite assuree"));
        let empty = DisclaimerMatcher::new(" -- ");
        assert!(!empty.present_in("anything -- "));
    }
}

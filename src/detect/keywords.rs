//! Every word list of the rule pack — keyword categories, context words,
//! sensitive-subject terms, password phrases — as patterns of the scanner's
//! one combined automaton, each term tagged with every list it belongs to.
//!
//! Why not a separate Aho-Corasick pass: the shapes regex and an
//! Aho-Corasick DFA each cost about 2 ns a byte on school prose, and the two
//! passes together missed the 300 MB/s target; one lazy DFA over shapes and
//! terms together costs the same as either alone (see `benches/scan.rs`).
//!
//! A term written wholly in capitals in the rule pack (an acronym such as
//! `SEN`, a marking such as `OFFICIAL-SENSITIVE`) matches only in capitals;
//! every term must stand alone, so "sent", "consent" and "Send" are not
//! special educational needs. The combined automaton reports one match per
//! position (leftmost-first, longest term first), so a term's hit also
//! reports the shorter terms nested in it ("child protection plan" carries
//! "child protection").

use std::collections::BTreeMap;

use crate::finding::Kind;
use crate::rules::{RulePack, Term};

/// Which list a term came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// A keyword category (`safeguarding`, `send`, …).
    Category(Kind),
    /// A context word for a detector kind.
    Context(Kind),
    /// The sensitive-subject vocabulary.
    Subject,
    /// A phrase that introduces a password.
    Password,
    /// A topic that is sensitive in a subject naming a person.
    SubjectTopic,
}

/// One distinct term (compared in lower case) and its uses.
#[derive(Debug, Clone)]
struct Entry {
    /// As the rule pack writes it (capitals for acronyms).
    written: String,
    /// Tags that hold only when the text has the written capitals.
    exact: Vec<Tag>,
    /// Tags that hold in any case.
    loose: Vec<Tag>,
    /// Shorter terms inside this one, at word boundaries: (byte offset, entry).
    nested: Vec<(usize, usize)>,
}

/// One term found in a text.
#[derive(Debug, Clone, Copy)]
pub struct KeywordHit {
    pub start: usize,
    pub end: usize,
    entry: usize,
    /// The text has the term's written capitals.
    exact: bool,
}

pub struct Vocabulary {
    entries: Vec<Entry>,
    /// Regex sources, and the entry each belongs to.
    patterns: Vec<(String, usize)>,
}

impl Vocabulary {
    pub fn new(pack: &RulePack) -> Vocabulary {
        let mut by_lower: BTreeMap<String, Entry> = BTreeMap::new();
        let mut add = |term: &Term, tag: Tag| {
            let entry = by_lower.entry(term.text.to_lowercase()).or_insert_with(|| Entry {
                written: term.text.clone(),
                exact: Vec::new(),
                loose: Vec::new(),
                nested: Vec::new(),
            });
            if term.exact_case {
                entry.written = term.text.clone();
                entry.exact.push(tag);
            } else {
                entry.loose.push(tag);
            }
        };
        for (kind, list) in &pack.keywords {
            list.iter().for_each(|t| add(t, Tag::Category(*kind)));
        }
        for (kind, list) in &pack.context {
            list.iter().for_each(|t| add(t, Tag::Context(*kind)));
        }
        pack.sensitive_subject.iter().for_each(|t| add(t, Tag::Subject));
        pack.subject_topics.iter().for_each(|t| add(t, Tag::SubjectTopic));
        for phrase in &pack.password_phrases {
            let term = Term {
                text: phrase.clone(),
                exact_case: false,
            };
            add(&term, Tag::Password);
        }

        let lower: Vec<String> = by_lower.keys().cloned().collect();
        let mut entries: Vec<Entry> = by_lower.into_values().collect();
        for (i, outer) in lower.iter().enumerate() {
            for (j, inner) in lower.iter().enumerate() {
                if i == j || inner.len() >= outer.len() {
                    continue;
                }
                for (offset, _) in outer.match_indices(inner.as_str()) {
                    if super::keywords::stands_alone(outer, offset, offset + inner.len()) {
                        entries[i].nested.push((offset, j));
                    }
                }
            }
        }

        // Longest first, so that at one position the longest term wins; the
        // exact-case form of a term before its any-case form.
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(entries[i].written.len()));
        let mut patterns = Vec::new();
        for i in order {
            let entry = &entries[i];
            // A phrase may be wrapped onto the next line ("the password is\nWren#3150").
            let escaped = regex::escape(&entry.written).replace(' ', r"\s+");
            let (before, after) = boundaries(&entry.written);
            if !entry.exact.is_empty() {
                patterns.push((format!("{before}{escaped}{after}"), i));
            }
            if !entry.loose.is_empty() {
                patterns.push((format!("{before}(?i:{escaped}){after}"), i));
            }
        }
        Vocabulary { entries, patterns }
    }

    /// The regex sources of every term, in the order `pattern` indexes them.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|(p, _)| p.as_str())
    }

    /// Record the match of pattern `pattern` at `start..end`, with the terms nested in it.
    pub fn push_hit(&self, text: &str, pattern: usize, start: usize, end: usize, hits: &mut Vec<KeywordHit>) {
        let entry = self.patterns[pattern].1;
        if !stands_alone(text, start, end) {
            return;
        }
        let matched = &text[start..end];
        hits.push(KeywordHit {
            start,
            end,
            entry,
            exact: matched == self.entries[entry].written,
        });
        // Offsets of nested terms hold only where case folding kept the length.
        if matched.len() != self.entries[entry].written.len() {
            return;
        }
        for &(offset, inner) in &self.entries[entry].nested {
            let (s, e) = (start + offset, start + offset + self.entries[inner].written.len());
            if let Some(slice) = text.get(s..e) {
                hits.push(KeywordHit {
                    start: s,
                    end: e,
                    entry: inner,
                    exact: slice == self.entries[inner].written,
                });
            }
        }
    }

    /// The tags of a hit that hold for the case it was written in.
    pub fn tags(&self, hit: &KeywordHit) -> impl Iterator<Item = Tag> + '_ {
        let entry = &self.entries[hit.entry];
        let exact: &[Tag] = if hit.exact { &entry.exact } else { &[] };
        entry.loose.iter().chain(exact).copied()
    }

    pub fn has_tag(&self, hit: &KeywordHit, tag: Tag) -> bool {
        self.tags(hit).any(|t| t == tag)
    }

    /// The term as the rule pack writes it.
    pub fn term(&self, hit: &KeywordHit) -> &str {
        &self.entries[hit.entry].written
    }
}

/// ASCII word boundaries around a term that begins or ends with a letter or digit.
fn boundaries(term: &str) -> (&'static str, &'static str) {
    let edge = |c: Option<char>| {
        if c.is_some_and(|c| c.is_ascii_alphanumeric()) {
            r"(?-u:\b)"
        } else {
            ""
        }
    };
    (edge(term.chars().next()), edge(term.chars().next_back()))
}

/// No letter or digit touches `text[start..end]` on either side (Unicode-aware).
pub fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let first = text[start..end].chars().next();
    let last = text[start..end].chars().next_back();
    // Where the term itself begins or ends with punctuation ("pw:"), that side needs no check.
    let touches = |outside: Option<char>, inside: Option<char>| matches!((outside, inside), (Some(o), Some(i)) if o.is_alphanumeric() && i.is_alphanumeric());
    !touches(before, first) && !touches(after, last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::meta::Regex;

    fn find(vocabulary: &Vocabulary, text: &str) -> Vec<KeywordHit> {
        let regex = Regex::new_many(&vocabulary.patterns().collect::<Vec<_>>()).expect("compiles");
        let mut hits = Vec::new();
        for m in regex.find_iter(text) {
            vocabulary.push_hit(text, m.pattern().as_usize(), m.start(), m.end(), &mut hits);
        }
        hits
    }

    fn categories(vocabulary: &Vocabulary, text: &str) -> Vec<(String, Kind)> {
        let mut out = Vec::new();
        for hit in find(vocabulary, text) {
            for tag in vocabulary.tags(&hit) {
                if let Tag::Category(kind) = tag {
                    out.push((text[hit.start..hit.end].to_string(), kind));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn acronyms_need_capitals_and_to_stand_alone() {
        let vocabulary = Vocabulary::new(&RulePack::builtin());
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, Kind)]);
        let cases: &[Case] = &[
            (
                "SEN alone",
                "He is on the SEN register.",
                &[("SEN register", Kind::Send), ("SEN", Kind::Send)],
            ),
            ("sent is not SEN", "I sent the consent forms and Send them back", &[]),
            ("cinema and lace", "A cinema trip; lace up your shoes. Lac", &[]),
            ("LAC in capitals", "She is LAC.", &[("LAC", Kind::Safeguarding)]),
            (
                "nested phrase",
                "A Child Protection plan",
                &[
                    ("Child Protection", Kind::Safeguarding),
                    ("Child Protection plan", Kind::Safeguarding),
                ],
            ),
            (
                "marking in capitals",
                "OFFICIAL-SENSITIVE",
                &[("OFFICIAL-SENSITIVE", Kind::ProtectiveMarking)],
            ),
            ("secret in prose", "It is no secret that we protect pupils.", &[]),
        ];
        for (name, text, expected) in cases {
            let mut want: Vec<(String, Kind)> = expected.iter().map(|(t, k)| (t.to_string(), *k)).collect();
            want.sort();
            assert_eq!(categories(&vocabulary, text), want, "{name}");
        }
    }

    #[test]
    fn one_term_carries_every_list_it_is_in() {
        let vocabulary = Vocabulary::new(&RulePack::builtin());
        let hits = find(&vocabulary, "Re: child protection");
        let hit = hits
            .iter()
            .find(|h| vocabulary.term(h) == "child protection")
            .expect("found");
        assert!(vocabulary.has_tag(hit, Tag::Category(Kind::Safeguarding)));
        assert!(vocabulary.has_tag(hit, Tag::Subject));
    }

    #[test]
    fn a_longer_term_that_does_not_stand_alone_hides_nothing() {
        let vocabulary = Vocabulary::new(&RulePack::builtin());
        // "NHS no" must not swallow "NHS" in "NHS number".
        let hits = find(&vocabulary, "NHS number 943 476 5919");
        assert!(
            hits.iter()
                .any(|h| vocabulary.has_tag(h, Tag::Context(Kind::NhsNumber)))
        );
    }
}

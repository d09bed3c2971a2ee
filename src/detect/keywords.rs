//! Every word list of the rule pack in one Aho-Corasick automaton: keyword
//! categories, context words, sensitive-subject terms and password phrases.
//! One pass over a text finds them all; each hit carries the tags of every
//! list its term belongs to.
//!
//! The automaton ignores ASCII case; two checks follow each hit: the term
//! must stand alone (no letter or digit touching it on either side), and a
//! term written in capitals in the rule pack (an acronym such as `SEN` or a
//! marking such as `OFFICIAL-SENSITIVE`) must appear in capitals, so that
//! "sent", "consent" and "Send" are not special educational needs.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

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
}

#[derive(Debug, Clone, Copy)]
struct TagEntry {
    tag: Tag,
    exact_case: bool,
}

/// One term found in a text.
#[derive(Debug, Clone, Copy)]
pub struct KeywordHit {
    pub start: usize,
    pub end: usize,
    pub pattern: usize,
}

pub struct Keywords {
    automaton: AhoCorasick,
    /// The term as written in the rule pack, per pattern.
    terms: Vec<String>,
    tags: Vec<Vec<TagEntry>>,
}

impl Keywords {
    pub fn new(pack: &RulePack) -> Keywords {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        let mut tags: Vec<Vec<TagEntry>> = Vec::new();
        let mut add = |term: &Term, tag: Tag| {
            let key = term.text.to_lowercase();
            let id = *index.entry(key).or_insert_with(|| {
                terms.push(term.text.clone());
                tags.push(Vec::new());
                terms.len() - 1
            });
            tags[id].push(TagEntry {
                tag,
                exact_case: term.exact_case,
            });
        };
        for (kind, list) in &pack.keywords {
            list.iter().for_each(|t| add(t, Tag::Category(*kind)));
        }
        for (kind, list) in &pack.context {
            list.iter().for_each(|t| add(t, Tag::Context(*kind)));
        }
        pack.sensitive_subject.iter().for_each(|t| add(t, Tag::Subject));
        for phrase in &pack.password_phrases {
            add(
                &Term {
                    text: phrase.clone(),
                    exact_case: false,
                },
                Tag::Password,
            );
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(terms.iter().map(|t| t.to_lowercase()))
            .or_else(|_| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(terms.iter().map(|t| t.to_lowercase()))
            })
            .expect("the rule pack's terms are plain strings");
        Keywords { automaton, terms, tags }
    }

    /// Every term standing alone in `text`, overlapping ones included, in order of start.
    pub fn find(&self, text: &str) -> Vec<KeywordHit> {
        let bytes = text.as_bytes();
        let mut hits: Vec<KeywordHit> = self
            .automaton
            .find_overlapping_iter(text)
            .filter(|m| stands_alone(text, m.start(), m.end()))
            .map(|m| KeywordHit {
                start: m.start(),
                end: m.end(),
                pattern: m.pattern().as_usize(),
            })
            .filter(|h| {
                // A hit whose only uses need exact case must be in the term's case.
                self.tags[h.pattern].iter().any(|e| !e.exact_case)
                    || bytes[h.start..h.end] == *self.terms[h.pattern].as_bytes()
            })
            .collect();
        hits.sort_by_key(|h| (h.start, h.end));
        hits
    }

    /// The tags of a hit that hold for the case it was written in.
    pub fn tags<'a>(&'a self, text: &'a str, hit: &KeywordHit) -> impl Iterator<Item = Tag> + 'a {
        let exact = text.as_bytes()[hit.start..hit.end] == *self.terms[hit.pattern].as_bytes();
        self.tags[hit.pattern]
            .iter()
            .filter(move |e| exact || !e.exact_case)
            .map(|e| e.tag)
    }

    pub fn has_tag(&self, text: &str, hit: &KeywordHit, tag: Tag) -> bool {
        self.tags(text, hit).any(|t| t == tag)
    }

    /// The term as the rule pack writes it.
    pub fn term(&self, hit: &KeywordHit) -> &str {
        &self.terms[hit.pattern]
    }
}

/// No letter or digit touches `text[start..end]` on either side.
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

    fn categories(keywords: &Keywords, text: &str) -> Vec<(String, Kind)> {
        let mut out = Vec::new();
        for hit in keywords.find(text) {
            for tag in keywords.tags(text, &hit) {
                if let Tag::Category(kind) = tag {
                    out.push((text[hit.start..hit.end].to_string(), kind));
                }
            }
        }
        out
    }

    #[test]
    fn acronyms_need_capitals_and_to_stand_alone() {
        let keywords = Keywords::new(&RulePack::builtin());
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
                "phrase any case",
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
            let mut got = categories(&keywords, text);
            got.sort_by(|a, b| a.0.cmp(&b.0));
            let mut want: Vec<(String, Kind)> = expected.iter().map(|(t, k)| (t.to_string(), *k)).collect();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn one_term_carries_every_list_it_is_in() {
        let keywords = Keywords::new(&RulePack::builtin());
        let text = "Re: child protection";
        let hits = keywords.find(text);
        let hit = hits
            .iter()
            .find(|h| keywords.term(h) == "child protection")
            .expect("found");
        assert!(keywords.has_tag(text, hit, Tag::Category(Kind::Safeguarding)));
        assert!(keywords.has_tag(text, hit, Tag::Subject));
    }
}

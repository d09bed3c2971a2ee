//! The detectors, compiled once into a [`Scanner`] and run over each text of
//! a message: the subject, each body part, each readable attachment.
//!
//! One pass of a multi-pattern regex finds every identifier-, date-,
//! postcode-, phone-, address- and label-shaped candidate, and every
//! keyword, context word, subject term and password phrase. The candidates
//! are then checked (check digits, calendars) and weighed with what
//! surrounds them: context words within a window, the header of the table
//! column they sit in, other personal data in the same table row. Only the
//! redacted sample and a hash of each value leave this module, in a
//! [`PartReport`].

pub mod checks;
pub mod keywords;
pub mod redact;
pub mod shapes;
pub mod table;

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{Hash, Hasher};

use crate::config::{Organisation, compact_upper, normalise_phone};
use crate::extract::floor_char_boundary;
use crate::finding::{Confidence, Finding, Kind, Location};
use crate::rules::RulePack;
use keywords::{KeywordHit, Tag, Vocabulary};
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use shapes::{Candidate, Shape};
pub use table::TextFormat;
use table::{HeaderIndex, Table};

/// Characters either side of an identifier in which a context word counts
/// (Purview looks 300 characters either way).
const CONTEXT_WINDOW: usize = 300;
/// A birth-date context word must be close: "DOB: 12/03/2015", "born on …".
const DOB_WINDOW_BEFORE: usize = 50;
const DOB_WINDOW_AFTER: usize = 16;
/// Address words for postcodes, names for phone numbers: a line or so.
const NEAR_WINDOW: usize = 120;

/// Everything found in one location (the subject, the body, one attachment).
#[derive(Debug, Default, Clone)]
pub struct PartReport {
    tallies: BTreeMap<Kind, Tally>,
    /// Sensitive-subject vocabulary present (meaningful for the subject).
    pub subject_terms: BTreeSet<String>,
    /// Subject topics present ("safeguarding", "medical"), sensitive beside a name.
    pub subject_topics: BTreeSet<String>,
    /// The text reads as naming a person (set for the subject only).
    pub names_a_person: bool,
    /// A password phrase followed by what looks like a password.
    pub password_given: bool,
    /// Rows of tables that hold two or more personal kinds.
    pub people_rows: usize,
    /// SPEC's "table of people": at least five such rows, two or more personal kinds.
    pub table_of_people: bool,
    /// Why this part could not be read (fully), if it could not.
    pub unscannable: Vec<String>,
    pub image_only: bool,
}

#[derive(Debug, Clone)]
struct Tally {
    values: HashSet<u64>,
    confidence: Confidence,
    sample: String,
}

impl PartReport {
    /// Record one value of `kind`; `value` is used for its hash and redacted sample only.
    pub fn add(&mut self, kind: Kind, confidence: Confidence, value: &str) {
        let key = value_key(kind, value);
        match self.tallies.get_mut(&kind) {
            Some(tally) => {
                tally.values.insert(key);
                if confidence > tally.confidence {
                    tally.confidence = confidence;
                    tally.sample = redact::redact(kind, value);
                }
            }
            None => {
                self.tallies.insert(
                    kind,
                    Tally {
                        values: HashSet::from([key]),
                        confidence,
                        sample: redact::redact(kind, value),
                    },
                );
            }
        }
    }

    /// The strongest confidence of `kind` here.
    pub fn confidence(&self, kind: Kind) -> Option<Confidence> {
        self.tallies.get(&kind).map(|t| t.confidence)
    }

    pub fn has(&self, kind: Kind, at_least: Confidence) -> bool {
        self.confidence(kind).is_some_and(|c| c >= at_least)
    }

    pub fn kinds(&self) -> impl Iterator<Item = (Kind, Confidence, usize)> + '_ {
        self.tallies.iter().map(|(k, t)| (*k, t.confidence, t.values.len()))
    }

    /// A named person, a date of birth or an identifier: what makes a
    /// special-category keyword personal data (SPEC rule 2).
    pub fn has_person_reference(&self) -> bool {
        self.tallies.iter().any(|(kind, tally)| {
            tally.confidence >= Confidence::Medium
                && (kind.is_identifier() || matches!(kind, Kind::PersonName | Kind::DateOfBirth))
        })
    }

    pub fn merge(&mut self, other: PartReport) {
        for (kind, tally) in other.tallies {
            match self.tallies.get_mut(&kind) {
                Some(mine) => {
                    mine.values.extend(tally.values);
                    if tally.confidence > mine.confidence {
                        mine.confidence = tally.confidence;
                        mine.sample = tally.sample;
                    }
                }
                None => {
                    self.tallies.insert(kind, tally);
                }
            }
        }
        self.subject_terms.extend(other.subject_terms);
        self.subject_topics.extend(other.subject_topics);
        self.names_a_person |= other.names_a_person;
        self.password_given |= other.password_given;
        self.people_rows += other.people_rows;
        self.table_of_people |= other.table_of_people;
        self.unscannable.extend(other.unscannable);
        self.image_only |= other.image_only;
    }

    /// The findings to report: medium and high confidence, plus the parts that could not be read.
    pub fn findings(&self, location: &Location) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self
            .tallies
            .iter()
            .filter(|(_, t)| t.confidence >= Confidence::Medium)
            .map(|(kind, t)| Finding {
                kind: *kind,
                count: t.values.len(),
                confidence: t.confidence,
                location: location.clone(),
                sample: t.sample.clone(),
            })
            .collect();
        if let Some(reason) = self.unscannable.first() {
            findings.push(Finding {
                kind: Kind::Unscannable,
                count: self.unscannable.len(),
                confidence: Confidence::High,
                location: location.clone(),
                sample: reason.clone(),
            });
        }
        if self.image_only {
            findings.push(Finding {
                kind: Kind::ImageOnly,
                count: 1,
                confidence: Confidence::High,
                location: location.clone(),
                sample: "no text layer".to_string(),
            });
        }
        findings
    }
}

/// A hash standing for a value, so distinct values can be counted without keeping them.
fn value_key(kind: Kind, value: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    kind.hash(&mut hasher);
    for c in value.chars().filter(|c| c.is_alphanumeric()) {
        c.to_lowercase().for_each(|l| l.hash(&mut hasher));
    }
    hasher.finish()
}

/// All detectors, compiled from the rule pack and the organisation's settings.
pub struct Scanner {
    /// Shapes and terms in one leftmost-first regex: one pass a text.
    automaton: Regex,
    /// The shape of each of the automaton's first patterns; the rest are terms.
    shapes: Vec<Shape>,
    keywords: Vocabulary,
    headers: HeaderIndex,
    not_passwords: HashSet<String>,
    own_postcodes: HashSet<String>,
    own_phones: HashSet<String>,
    /// Capitalised words that are not names (lower case), topic words included.
    not_names: HashSet<String>,
    group_nouns: HashSet<String>,
    /// The school's own bank details: sort code + account digits, and IBANs.
    own_accounts: HashSet<String>,
}

/// One value found, before it is tallied.
#[derive(Debug, Clone)]
struct Hit {
    kind: Kind,
    confidence: Confidence,
    start: usize,
    end: usize,
    /// The value as written, when it differs from `text[start..end]` (a name after its label).
    value: Option<String>,
}

/// What one pass over a text found, before judging.
struct Analysis<'t> {
    text: &'t str,
    candidates: Vec<Candidate>,
    keyword_hits: Vec<KeywordHit>,
    tables: Vec<Table>,
}

impl Analysis<'_> {
    fn context<'a>(&'a self, keywords: &'a Vocabulary) -> Context<'a> {
        Context {
            text: self.text,
            hits: &self.keyword_hits,
            keywords,
            tables: &self.tables,
        }
    }
}

/// What the scan of one text knows about its surroundings.
struct Context<'a> {
    text: &'a str,
    hits: &'a [KeywordHit],
    keywords: &'a Vocabulary,
    tables: &'a [Table],
}

impl Context<'_> {
    /// A context word for `kind` within `before` characters before or `after` after the span.
    fn near(&self, kind: Kind, start: usize, end: usize, before: usize, after: usize) -> bool {
        let from = start.saturating_sub(before);
        let to = end.saturating_add(after);
        let first = self.hits.partition_point(|h| h.end < from);
        self.hits[first..]
            .iter()
            .take_while(|h| h.start <= to)
            .any(|h| self.keywords.has_tag(h, Tag::Context(kind)))
    }

    /// The kind named by the header of the table column holding `offset`.
    fn column(&self, offset: usize) -> Option<Kind> {
        self.tables.iter().find_map(|t| {
            let (_, column) = t.cell_at(offset)?;
            t.columns.get(column).copied().flatten()
        })
    }
}

impl Scanner {
    pub fn new(pack: &RulePack, organisation: &Organisation) -> Scanner {
        let keywords = Vocabulary::new(pack);
        let (shapes, mut sources): (Vec<Shape>, Vec<String>) = shapes::patterns().into_iter().unzip();
        sources.extend(keywords.patterns().map(str::to_string));
        let automaton = Regex::builder()
            .configure(meta::Config::new().match_kind(regex_automata::MatchKind::LeftmostFirst))
            .syntax(syntax::Config::new().unicode(true).utf8(true))
            .build_many(&sources)
            .expect("shape patterns are fixed and terms are escaped");
        Scanner {
            automaton,
            shapes,
            keywords,
            headers: HeaderIndex::new(&pack.table_headers),
            not_passwords: pack.not_passwords.iter().cloned().collect(),
            own_postcodes: organisation.own_postcodes.iter().cloned().collect(),
            own_phones: organisation.own_phones.iter().cloned().collect(),
            own_accounts: organisation
                .own_bank_accounts
                .iter()
                .flat_map(|a| [digits_only(a), compact_upper(a)])
                .collect(),
            group_nouns: pack.group_nouns.iter().cloned().collect(),
            not_names: pack
                .not_names
                .iter()
                .cloned()
                // Each word of a topic too: "Health and Social Care" names no one.
                .chain(pack.subject_topics.iter().flat_map(|t| {
                    let topic = t.text.to_lowercase();
                    let words: Vec<String> = topic.split_whitespace().map(str::to_string).collect();
                    std::iter::once(topic).chain(words)
                }))
                .collect(),
        }
    }

    /// Scan one text and add what it holds to `report`.
    pub fn scan(&self, text: &str, format: TextFormat, report: &mut PartReport) {
        let analysis = self.analyse(text, format);
        let context = analysis.context(&self.keywords);

        for hit in &analysis.keyword_hits {
            for tag in self.keywords.tags(hit) {
                match tag {
                    Tag::Category(kind) => report.add(kind, Confidence::Medium, self.keywords.term(hit)),
                    Tag::Subject => {
                        report.subject_terms.insert(self.keywords.term(hit).to_lowercase());
                    }
                    Tag::Password => report.password_given |= self.password_follows(text, hit.end),
                    Tag::SubjectTopic => {
                        report.subject_topics.insert(self.keywords.term(hit).to_lowercase());
                    }
                    Tag::Context(_) => {}
                }
            }
        }

        let hits = self.values(&context, &analysis.candidates);

        let (people_rows, table_of_people) = people_rows(&context, &hits);
        report.people_rows += people_rows;
        report.table_of_people |= table_of_people;
        for hit in &hits {
            if hit.confidence >= Confidence::Medium {
                let value = hit.value.as_deref().unwrap_or(&text[hit.start..hit.end]);
                report.add(hit.kind, hit.confidence, value);
            }
        }
    }

    /// Every value found in the text, judged in its context.
    fn values(&self, cx: &Context, candidates: &[Candidate]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for hit in cx.hits {
            if self.keywords.has_tag(hit, Tag::Context(Kind::PersonName))
                && let Some((start, name)) = labelled_name(cx.text, hit.start, hit.end)
            {
                hits.push(Hit {
                    kind: Kind::PersonName,
                    confidence: Confidence::High,
                    start,
                    end: start + name.len(),
                    value: None,
                });
            }
        }
        for (index, candidate) in candidates.iter().enumerate() {
            self.judge(candidate, candidates, index, cx, &mut hits);
        }
        self.add_table_cells(cx, &mut hits);
        raise_phones_near_names(&mut hits);
        hits
    }

    /// `text` with every personal value the detectors would report replaced
    /// by its redacted sample, in brackets: how a message's text is shown
    /// outside the quarantine (`held show`, the review UI).
    pub fn mask(&self, text: &str, format: TextFormat) -> String {
        let analysis = self.analyse(text, format);
        let context = analysis.context(&self.keywords);
        let mut hits: Vec<Hit> = self
            .values(&context, &analysis.candidates)
            .into_iter()
            .filter(|h| h.confidence >= Confidence::Medium && h.kind.is_personal())
            .collect();
        hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for hit in hits {
            if hit.start < at {
                continue;
            }
            out.push_str(&text[at..hit.start]);
            let value = &text[hit.start..hit.end];
            out.push_str(&format!("[{}: {}]", hit.kind, redact::redact(hit.kind, value)));
            at = hit.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The automaton's pass and the tables of one text.
    fn analyse<'t>(&self, text: &'t str, format: TextFormat) -> Analysis<'t> {
        let (candidates, keyword_hits) = self.find(text);
        Analysis {
            text,
            candidates,
            keyword_hits,
            tables: table::find_tables(text, format, &self.headers),
        }
    }

    /// One pass of the automaton: shape candidates, and term hits sorted by start.
    fn find(&self, text: &str) -> (Vec<Candidate>, Vec<KeywordHit>) {
        let mut candidates = Vec::new();
        let mut hits = Vec::new();
        for m in self.automaton.find_iter(text) {
            let pattern = m.pattern().as_usize();
            match self.shapes.get(pattern) {
                Some(&shape) => candidates.push(Candidate {
                    shape,
                    start: m.start(),
                    end: m.end(),
                }),
                None => self
                    .keywords
                    .push_hit(text, pattern - self.shapes.len(), m.start(), m.end(), &mut hits),
            }
        }
        hits.sort_by_key(|h| (h.start, h.end));
        (candidates, hits)
    }

    /// Decide what one candidate is, if anything.
    fn judge(&self, candidate: &Candidate, all: &[Candidate], index: usize, cx: &Context, hits: &mut Vec<Hit>) {
        let text = cx.text;
        let (start, end) = (candidate.start, candidate.end);
        let value = &text[start..end];
        let column = cx.column(start);
        let hit = |kind, confidence| Hit {
            kind,
            confidence,
            start,
            end,
            value: None,
        };
        let with_context =
            |kind: Kind| column == Some(kind) || cx.near(kind, start, end, CONTEXT_WINDOW, CONTEXT_WINDOW);
        // A letter-bearing identifier typed in lower case is believed only beside its keyword.
        let typed_lower = value.bytes().any(|b| b.is_ascii_lowercase());
        match candidate.shape {
            Shape::Upn | Shape::Nino if typed_lower && !with_context(kind_of_shape(candidate.shape)) => {}
            Shape::Upn if checks::upn_valid(value) => {
                let strong = checks::upn_la_code_known(value) || with_context(Kind::Upn);
                hits.push(hit(
                    Kind::Upn,
                    if strong { Confidence::High } else { Confidence::Medium },
                ));
            }
            Shape::Iban => {
                if let Some(end) = longest_valid_iban(value)
                    && !self.own_accounts.contains(&compact_upper(&value[..end]))
                {
                    hits.push(Hit {
                        end: start + end,
                        ..hit(Kind::Iban, Confidence::High)
                    });
                }
            }
            Shape::Nino if checks::nino_valid(value) && !checks::nino_is_placeholder(value) => {
                let confidence = if with_context(Kind::Nino) {
                    Confidence::High
                } else {
                    Confidence::Medium
                };
                hits.push(hit(Kind::Nino, confidence));
            }
            Shape::DrivingLicence if checks::driving_licence_valid(value) => {
                let confidence = if with_context(Kind::DrivingLicenceUk) {
                    Confidence::High
                } else {
                    Confidence::Medium
                };
                hits.push(hit(Kind::DrivingLicenceUk, confidence));
            }
            Shape::Email => {
                let confidence = if column == Some(Kind::EmailAddress) {
                    Confidence::High
                } else {
                    Confidence::Low
                };
                hits.push(hit(Kind::EmailAddress, confidence));
            }
            Shape::Postcode if !self.own_postcodes.contains(&compact_upper(value)) => {
                let confidence = if column == Some(Kind::PostcodeUk) {
                    Confidence::High
                } else if cx.near(Kind::PostcodeUk, start, end, NEAR_WINDOW, 0) {
                    Confidence::Medium
                } else {
                    Confidence::Low
                };
                hits.push(hit(Kind::PostcodeUk, confidence));
            }
            Shape::DateNumeric | Shape::DateWords
                if shapes::parse_date(value, candidate.shape).is_some()
                    && self.is_birth_date(cx, all, index, column) =>
            {
                hits.push(hit(Kind::DateOfBirth, Confidence::High));
            }
            Shape::Phone => {
                let Some(digits) = normalise_phone(value.trim_start_matches('(')) else {
                    return;
                };
                if self.own_phones.contains(&digits)
                    || !matches!(digits.as_bytes().get(1), Some(b'1' | b'2' | b'3' | b'7'))
                {
                    return;
                }
                let confidence = if column == Some(Kind::PhoneUk) {
                    Confidence::High
                } else {
                    Confidence::Low
                };
                hits.push(hit(Kind::PhoneUk, confidence));
            }
            Shape::NumberRun => self.judge_number_run(start, value, column, cx, hits),
            _ => {}
        }
    }

    /// A date is a birth date when its column says so, or a birth word sits
    /// just before it with no other date in between, or just after it.
    fn is_birth_date(&self, cx: &Context, all: &[Candidate], index: usize, column: Option<Kind>) -> bool {
        if column == Some(Kind::DateOfBirth) {
            return true;
        }
        let candidate = &all[index];
        let previous_date_end = all[..index]
            .iter()
            .rev()
            .find(|c| matches!(c.shape, Shape::DateNumeric | Shape::DateWords))
            .map_or(0, |c| c.end);
        let from = candidate.start.saturating_sub(DOB_WINDOW_BEFORE).max(previous_date_end);
        let before = cx.near(
            Kind::DateOfBirth,
            candidate.start,
            candidate.start,
            candidate.start - from,
            0,
        );
        let next_date_start = all[index + 1..]
            .iter()
            .find(|c| matches!(c.shape, Shape::DateNumeric | Shape::DateWords))
            .map_or(usize::MAX, |c| c.start);
        let after_window = DOB_WINDOW_AFTER.min(next_date_start.saturating_sub(candidate.end));
        before || cx.near(Kind::DateOfBirth, candidate.end, candidate.end, 0, after_window)
    }

    /// Split a run of digit groups into the identifiers it holds.
    fn judge_number_run(&self, base: usize, run: &str, column: Option<Kind>, cx: &Context, hits: &mut Vec<Hit>) {
        let groups = digit_groups(run);
        let mut i = 0;
        while i < groups.len() {
            let mut taken = None;
            for j in (i + 1..=groups.len().min(i + 6)).rev() {
                let span = groups[i].0..groups[j - 1].1;
                let value = &run[span.clone()];
                let (start, end) = (base + span.start, base + span.end);
                let digits: usize = groups[i..j].iter().map(|g| g.1 - g.0).sum();
                let near =
                    |kind: Kind, window: usize| column == Some(kind) || cx.near(kind, start, end, window, window);
                let found = match digits {
                    13..=19 if checks::payment_card_valid(value) => {
                        let confidence = if checks::card_is_test_number(&value.replace([' ', '-'], "")) {
                            Confidence::Low
                        } else if near(Kind::PaymentCard, CONTEXT_WINDOW) || expiry_near(cx.text, end) {
                            Confidence::High
                        } else {
                            Confidence::Medium
                        };
                        Some((Kind::PaymentCard, confidence))
                    }
                    10 if checks::nhs_valid(value) => {
                        let confidence = if labelled_as_other_number(cx.text, start) {
                            // Every ISBN-10 passes the NHS check (both are weighted mod 11).
                            Confidence::Low
                        } else if near(Kind::NhsNumber, CONTEXT_WINDOW) {
                            Confidence::High
                        } else {
                            Confidence::Low
                        };
                        Some((Kind::NhsNumber, confidence))
                    }
                    10 if j == i + 1 && checks::uln_valid(value) => {
                        let confidence = if near(Kind::Uln, CONTEXT_WINDOW) {
                            Confidence::High
                        } else {
                            Confidence::Low
                        };
                        Some((Kind::Uln, confidence))
                    }
                    6 if j == i + 3 && checks::sort_code_shape(value) => {
                        let account = account_near(cx.text, end);
                        let own =
                            account.is_some_and(|a| self.own_accounts.contains(&digits_only(&format!("{value}{a}"))));
                        let confidence = if own {
                            Confidence::Low
                        } else if account.is_some() && near(Kind::BankAccount, CONTEXT_WINDOW) {
                            Confidence::High
                        } else {
                            Confidence::Low
                        };
                        Some((Kind::BankAccount, confidence))
                    }
                    9 if j == i + 1 && near(Kind::PassportUk, NEAR_WINDOW) => {
                        Some((Kind::PassportUk, Confidence::High))
                    }
                    _ => None,
                };
                if let Some((kind, confidence)) = found {
                    hits.push(Hit {
                        kind,
                        confidence,
                        start,
                        end,
                        value: None,
                    });
                    taken = Some(j);
                    break;
                }
            }
            i = taken.unwrap_or(i + 1);
        }
    }

    /// Names in the name columns of headed tables. A forename and a surname
    /// in columns of their own (single words side by side) are one person;
    /// a cell holding a whole name ("Pupil name", "Parent name") is one.
    fn add_table_cells(&self, cx: &Context, hits: &mut Vec<Hit>) {
        for table in cx.tables.iter().filter(|t| t.has_header) {
            for row in &table.rows {
                let mut parts: Vec<std::ops::Range<usize>> = Vec::new();
                let mut flush = |parts: &mut Vec<std::ops::Range<usize>>| {
                    if let (Some(first), Some(last)) = (parts.first(), parts.last()) {
                        let words: Vec<&str> = parts.iter().map(|c| cx.text[c.clone()].trim()).collect();
                        hits.push(Hit {
                            kind: Kind::PersonName,
                            confidence: Confidence::High,
                            start: first.start,
                            end: last.end,
                            value: Some(words.join(" ")),
                        });
                    }
                    parts.clear();
                };
                for (column, cell) in row.cells.iter().enumerate() {
                    let value = cx.text[cell.clone()].trim();
                    let is_name = table.columns.get(column).copied().flatten() == Some(Kind::PersonName)
                        && looks_like_name(value);
                    if !is_name {
                        flush(&mut parts);
                    } else if value.contains([' ', ',']) {
                        flush(&mut parts);
                        parts.push(cell.clone());
                        flush(&mut parts);
                    } else {
                        parts.push(cell.clone());
                    }
                }
                flush(&mut parts);
            }
        }
    }

    /// Whether a subject line reads as naming a person: a capitalised word
    /// ("Jamie", "O'Neil") that is neither a common word of subjects (or its
    /// plural) nor an acronym, nor the name of a class or place ("Willow
    /// Class": the word before a group noun). Only used beside a subject topic, where a wrong guess costs
    /// a DPO one look and a right one stops "Safeguarding - Jamie Carter".
    pub fn names_a_person(&self, subject: &str) -> bool {
        let words: Vec<&str> = subject
            .split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '’' || c == '-'))
            .map(|w| w.trim_matches(['\'', '’', '-']))
            .filter(|w| w.chars().count() >= 2)
            .collect();
        words.iter().enumerate().any(|(i, word)| {
            let mut chars = word.chars();
            let title_case =
                chars.next().is_some_and(char::is_uppercase) && chars.all(|c| c.is_lowercase() || "'’-".contains(c));
            if !title_case {
                return false;
            }
            let lower = word.to_lowercase();
            let base = lower.trim_end_matches("'s").trim_end_matches("’s");
            // "Awards" is a word when "award" is: a plural is no name.
            let singular = base.strip_suffix('s').unwrap_or(base);
            let names_a_group = words
                .get(i + 1)
                .is_some_and(|next| self.group_nouns.contains(&next.to_lowercase()));
            ![base, singular, lower.as_str()]
                .iter()
                .any(|w| self.not_names.contains(*w))
                && !names_a_group
        })
    }

    /// After a password phrase: a token that is not an ordinary word of prose.
    fn password_follows(&self, text: &str, from: usize) -> bool {
        let rest = &text[from..floor_char_boundary(text, from + 80)];
        let rest = rest.trim_start_matches([' ', '\t', '\r', '\n', ':', '=', '-']);
        let rest = rest.trim_start_matches(['"', '\'', '“', '‘']);
        let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        let token = token.trim_end_matches(['.', ',', ';', ')', '"', '\'', '”', '’', '!', '?']);
        let lower = token.to_lowercase();
        token.chars().count() >= 4 && !self.not_passwords.contains(&lower) && !lower.starts_with("http")
    }
}

/// The kind a letter-bearing identifier shape stands for.
fn kind_of_shape(shape: Shape) -> Kind {
    match shape {
        Shape::Upn => Kind::Upn,
        _ => Kind::Nino,
    }
}

/// A phone number next to a person's name is personal data (DETECTORS.md).
fn raise_phones_near_names(hits: &mut [Hit]) {
    let mut names: Vec<usize> = hits
        .iter()
        .filter(|h| h.kind == Kind::PersonName)
        .map(|h| h.start)
        .collect();
    // Sorted, so each phone costs a binary search, not a walk over every name (a 10,000-row sheet).
    names.sort_unstable();
    for hit in hits
        .iter_mut()
        .filter(|h| h.kind == Kind::PhoneUk && h.confidence == Confidence::Low)
    {
        let first_near = names.partition_point(|&n| n + NEAR_WINDOW < hit.start);
        if names.get(first_near).is_some_and(|&n| n <= hit.start + NEAR_WINDOW) {
            hit.confidence = Confidence::Medium;
        }
    }
}

/// Rows holding two or more personal kinds, and whether they make a table of people.
fn people_rows(cx: &Context, hits: &[Hit]) -> (usize, bool) {
    let mut total = 0;
    let mut table_of_people = false;
    for table in cx.tables {
        let span = table.span();
        let mut row_kinds: Vec<BTreeSet<Kind>> = vec![BTreeSet::new(); table.rows.len()];
        for hit in hits.iter().filter(|h| span.contains(&h.start) && h.kind.is_personal()) {
            if let Some((row, _)) = table.cell_at(hit.start) {
                row_kinds[row].insert(hit.kind);
            }
        }
        // Headed columns count for their non-empty cells even where no pattern matched ("12 Acacia Road").
        for (row, kinds) in table.rows.iter().zip(row_kinds.iter_mut()) {
            for (column, cell) in row.cells.iter().enumerate() {
                if let Some(kind) = table.columns.get(column).copied().flatten()
                    && !cx.text[cell.clone()].trim().is_empty()
                    && matches!(kind, Kind::PostcodeUk | Kind::PersonName)
                {
                    kinds.insert(kind);
                }
            }
        }
        let rows = row_kinds.iter().filter(|k| k.len() >= 2).count();
        let kinds: BTreeSet<Kind> = row_kinds.iter().filter(|k| k.len() >= 2).flatten().copied().collect();
        total += rows;
        table_of_people |= rows >= 5 && kinds.len() >= 2;
    }
    (total, table_of_people)
}

/// Digit groups of a run as byte ranges.
fn digit_groups(run: &str) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = None;
    for (i, b) in run.bytes().enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                groups.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        groups.push((s, run.len()));
    }
    groups
}

/// The longest prefix of an IBAN-shaped match, cut at a group boundary, that passes mod 97.
fn longest_valid_iban(value: &str) -> Option<usize> {
    let mut ends: Vec<usize> = value.match_indices(' ').map(|(i, _)| i).collect();
    ends.push(value.len());
    ends.into_iter().rev().find(|&end| checks::iban_valid(&value[..end]))
}

/// An 8-digit account number right after a sort code ("12-34-56 12345678", "sort code 12-34-56, account 12345678").
fn account_near(text: &str, from: usize) -> Option<&str> {
    let window = &text[from..floor_char_boundary(text, from + 60)];
    let bytes = window.as_bytes();
    let mut run_start = 0;
    let mut run = 0;
    for (i, b) in bytes.iter().enumerate() {
        if b.is_ascii_digit() {
            if run == 0 {
                run_start = i;
            }
            run += 1;
        } else {
            if run == 8 {
                return Some(&window[run_start..i]);
            }
            run = 0;
        }
    }
    (run == 8).then(|| &window[run_start..])
}

/// Labels that say the number after them is something other than a
/// person's: "ISBN 0199138680", "Purchase order 4010238712". A ten-digit
/// number so labelled is not an NHS number, whatever "health" is near
/// ("Health & Safety signage", "Health and Social Care" textbooks).
const OTHER_NUMBER_LABELS: &[&str] = &["isbn", "isbn-10", "order", "po", "invoice", "tracking", "consignment"];

/// Whether the words just before `start` label the number there as one of [`OTHER_NUMBER_LABELS`].
fn labelled_as_other_number(text: &str, start: usize) -> bool {
    let before = &text[floor_char_boundary(text, start.saturating_sub(30))..start];
    let mut label = before
        .trim_end_matches([' ', '\t', ':', '#', '.', '-'])
        .to_ascii_lowercase();
    for filler in [" number", " no", " num", " ref"] {
        if let Some(rest) = label.strip_suffix(filler) {
            label = rest.trim_end_matches([' ', '.']).to_string();
        }
    }
    OTHER_NUMBER_LABELS.iter().any(|l| {
        label
            .strip_suffix(l)
            .is_some_and(|rest| !rest.ends_with(|c: char| c.is_ascii_alphanumeric()))
    })
}

fn digits_only(value: &str) -> String {
    value.chars().filter(char::is_ascii_digit).collect()
}

/// An expiry date (`MM/YY`) shortly after a card number.
fn expiry_near(text: &str, from: usize) -> bool {
    let window = &text[from..floor_char_boundary(text, from + 60)];
    window.as_bytes().windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b'/'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
            && {
                let month = (w[0] - b'0') * 10 + (w[1] - b'0');
                (1..=12).contains(&month)
            }
    })
}

/// Words that follow a label but are not a name ("Name: The …", "Child: Year 4").
const NOT_NAMES: &[&str] = &[
    "The",
    "This",
    "That",
    "These",
    "Those",
    "Year",
    "Class",
    "Group",
    "All",
    "Any",
    "None",
    "Not",
    "Unknown",
    "Please",
    "Your",
    "Our",
    "Their",
    "His",
    "Her",
    "See",
    "Same",
    "Various",
    "Reception",
    "Nursery",
];

/// The name after a "Name:"-style label at `label_start..label_end`, if the
/// label starts its line or cell and a separator and capitalised words follow.
fn labelled_name(text: &str, label_start: usize, label_end: usize) -> Option<(usize, &str)> {
    let line_start = text[..label_start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..label_start];
    let label_starts_cell = before.trim().is_empty()
        || before.ends_with('\t')
        || before.ends_with("  ")
        || before.trim_end().ends_with(['|', ',', ';', '(', '.', ')']);
    if !label_starts_cell {
        return None;
    }
    let rest = &text[label_end..floor_char_boundary(text, label_end + 120)];
    let after_label = rest.trim_start_matches([' ', '\t']);
    let after_separator = after_label
        .strip_prefix([':', '-', '–'])?
        .trim_start_matches([' ', '\t']);
    let name_start = label_end + (rest.len() - after_separator.len());
    // The name ends with its line or cell.
    let line = &after_separator[..after_separator
        .find(['\n', '\r', '\t'])
        .unwrap_or(after_separator.len())];
    // One to four name words: "Jamie Carter", "Zoë O'Neil", "Mary-Jane Smith",
    // and as MIS exports write them, "JAMIE CARTER" or "CARTER, Jamie".
    let mut end = 0;
    let mut words = 0;
    for word in line.split(' ') {
        let trimmed = word.trim_end_matches([',', '.', ';', ')', ':']);
        if words == 4 || !is_name_word(trimmed) {
            break;
        }
        let offset = word.as_ptr() as usize - line.as_ptr() as usize;
        end = offset + trimmed.len();
        words += 1;
        // Punctuation ends the name, except the comma of "SURNAME, Forename".
        if trimmed.len() < word.len() && !(words == 1 && word.ends_with(',')) {
            break;
        }
    }
    if words == 0 {
        return None;
    }
    let name = &after_separator[..end];
    let first = name.split([' ', ',']).next()?;
    (!NOT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(first))).then_some((name_start, name))
}

/// A word of a name: capitalised ("Jamie", "O'Neil", "Mary-Jane") or in capitals ("CARTER").
fn is_name_word(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else { return false };
    let rest: Vec<char> = chars.collect();
    let letters = |f: fn(&char) -> bool| rest.iter().all(|c| f(c) || "'’-".contains(*c));
    first.is_uppercase() && !rest.is_empty() && (letters(|c| c.is_lowercase()) || letters(|c| c.is_uppercase()))
}

/// A table cell that reads as a person's name: one to four words of letters.
fn looks_like_name(value: &str) -> bool {
    let words: Vec<&str> = value.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    !words.is_empty()
        && words.len() <= 4
        && value.chars().count() <= 60
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_alphabetic)
                && w.chars().all(|c| c.is_alphabetic() || "'’-.".contains(c))
        })
}

#[cfg(test)]
mod tests;

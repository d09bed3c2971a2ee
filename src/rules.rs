//! The rule pack: rule table, keyword vocabularies, context words, table
//! headers and password phrases, as files a technician can read and edit.
//!
//! The files in `rules/` are compiled in as the defaults. A directory given
//! to [`RulePack::load`] (`rules_dir` in the config, or `schoolgate rules
//! check DIR`) replaces them file by file: a file it lacks keeps the built-in
//! one. Loading checks everything and reports every error at once, each with
//! its file and line, so an unknown rule id or kind is refused rather than
//! silently ignored (the mistake rspamd users keep reporting).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::ConfigError;
use crate::finding::Kind;

/// The rules of SPEC.md, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    PersonalData,
    PasswordInMessage,
    ProtectiveMarking,
    SensitiveSubject,
    Bcc,
    Unscannable,
    Disclaimer,
}

impl RuleId {
    pub const ALL: [RuleId; 7] = [
        RuleId::PersonalData,
        RuleId::PasswordInMessage,
        RuleId::ProtectiveMarking,
        RuleId::SensitiveSubject,
        RuleId::Bcc,
        RuleId::Unscannable,
        RuleId::Disclaimer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::PersonalData => "personal-data",
            RuleId::PasswordInMessage => "password-in-message",
            RuleId::ProtectiveMarking => "protective-marking",
            RuleId::SensitiveSubject => "sensitive-subject",
            RuleId::Bcc => "bcc",
            RuleId::Unscannable => "unscannable",
            RuleId::Disclaimer => "disclaimer",
        }
    }

    pub fn names() -> Vec<&'static str> {
        RuleId::ALL.iter().map(|r| r.as_str()).collect()
    }

    /// The actions a technician may give this rule.
    pub fn allowed_actions(self) -> &'static [RuleAction] {
        use RuleAction::*;
        match self {
            RuleId::SensitiveSubject | RuleId::Bcc => &[Hold, Rewrite, Warn, Off],
            RuleId::Disclaimer => &[Rewrite, Warn, Off],
            _ => &[Hold, Warn, Off],
        }
    }

    pub fn allows(self, action: RuleAction) -> bool {
        self.allowed_actions().contains(&action)
    }
}

impl FromStr for RuleId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse()
            .map_err(|_| serde::de::Error::custom(format!("unknown rule {name:?}")))
    }
}

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Approve, but log and count.
    Warn,
    Rewrite,
    Hold,
    /// Never fires.
    Off,
}

impl RuleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Warn => "warn",
            RuleAction::Rewrite => "rewrite",
            RuleAction::Hold => "hold",
            RuleAction::Off => "off",
        }
    }
}

impl FromStr for RuleAction {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "warn" => Ok(RuleAction::Warn),
            "rewrite" => Ok(RuleAction::Rewrite),
            "hold" => Ok(RuleAction::Hold),
            "off" => Ok(RuleAction::Off),
            _ => Err(()),
        }
    }
}

/// One row of the rule table.
#[derive(Debug, Clone)]
pub struct RuleDef {
    pub description: String,
    pub action: RuleAction,
    /// What the sender should do, in plain words.
    pub advice: String,
}

/// A vocabulary term and how it must be matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    /// Written wholly in capitals in the file: an acronym, matched in capitals only.
    pub exact_case: bool,
}

impl Term {
    fn new(text: &str) -> Term {
        let exact_case = text.chars().any(char::is_alphabetic) && !text.chars().any(char::is_lowercase);
        Term {
            text: text.to_string(),
            exact_case,
        }
    }
}

/// Everything under `rules/`, validated.
#[derive(Debug, Clone)]
pub struct RulePack {
    pub rules: BTreeMap<RuleId, RuleDef>,
    /// Keyword category → terms.
    pub keywords: BTreeMap<Kind, Vec<Term>>,
    pub sensitive_subject: Vec<Term>,
    pub password_phrases: Vec<String>,
    /// Lower-case words that, after a password phrase, mean no password was given.
    pub not_passwords: Vec<String>,
    /// Detector kind → context words.
    pub context: BTreeMap<Kind, Vec<Term>>,
    /// Personal kind → lower-case column headers.
    pub table_headers: BTreeMap<Kind, Vec<String>>,
    /// Subject topics: sensitive in a subject that also names a person.
    pub subject_topics: Vec<Term>,
    /// Lower-case capitalised words that are not names.
    pub not_names: Vec<String>,
    /// Lower-case nouns that make the capitalised word before them the name
    /// of a class, group or place ("Willow Class"), not of a person.
    pub group_nouns: Vec<String>,
}

/// The built-in files, by their path under `rules/`.
const BUILTIN: &[(&str, &str)] = &[
    ("rules.toml", include_str!("../rules/rules.toml")),
    (
        "keywords/safeguarding.txt",
        include_str!("../rules/keywords/safeguarding.txt"),
    ),
    ("keywords/send.txt", include_str!("../rules/keywords/send.txt")),
    ("keywords/health.txt", include_str!("../rules/keywords/health.txt")),
    ("keywords/fsm.txt", include_str!("../rules/keywords/fsm.txt")),
    (
        "keywords/behaviour.txt",
        include_str!("../rules/keywords/behaviour.txt"),
    ),
    ("keywords/hr.txt", include_str!("../rules/keywords/hr.txt")),
    (
        "keywords/protective_marking.txt",
        include_str!("../rules/keywords/protective_marking.txt"),
    ),
    ("sensitive-subject.txt", include_str!("../rules/sensitive-subject.txt")),
    ("password.toml", include_str!("../rules/password.toml")),
    ("context.toml", include_str!("../rules/context.toml")),
    ("table-headers.toml", include_str!("../rules/table-headers.toml")),
    ("subject-topics.toml", include_str!("../rules/subject-topics.toml")),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    description: String,
    action: Spanned<String>,
    advice: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPassword {
    phrases: Vec<Spanned<String>>,
    not_passwords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubjectTopics {
    topics: Vec<Spanned<String>>,
    not_names: Vec<String>,
    #[serde(default)]
    group_nouns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWords {
    words: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeaders {
    headers: Vec<Spanned<String>>,
}

/// Where one file's text came from, for error messages.
struct Source {
    name: String,
    text: String,
}

impl RulePack {
    /// The compiled-in rule pack.
    pub fn builtin() -> RulePack {
        RulePack::from_sources(|file| Ok(builtin_source(file)))
            .expect("the built-in rule pack is checked by the test suite")
    }

    /// The rule pack with `dir`'s files in place of the built-in ones; every
    /// error found, not just the first.
    pub fn load(dir: &Path) -> Result<RulePack, Vec<ConfigError>> {
        if !dir.is_dir() {
            return Err(vec![ConfigError::whole_file(
                &dir.display().to_string(),
                "is not a directory of rules",
            )]);
        }
        RulePack::from_sources(|file| {
            let path = dir.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Source {
                    name: path.display().to_string(),
                    text,
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(builtin_source(file)),
                Err(e) => Err(ConfigError::whole_file(
                    &path.display().to_string(),
                    format!("cannot read: {e}"),
                )),
            }
        })
    }

    fn from_sources(read: impl Fn(&str) -> Result<Source, ConfigError>) -> Result<RulePack, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut read_ok = |file: &str| match read(file) {
            Ok(source) => Some(source),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let sources: BTreeMap<&str, Source> = BUILTIN
            .iter()
            .filter_map(|(file, _)| read_ok(file).map(|s| (*file, s)))
            .collect();
        if sources.len() != BUILTIN.len() {
            return Err(errors);
        }
        let source = |file: &str| &sources[file];

        let rules = parse_rule_table(source("rules.toml"), &mut errors);
        let mut keywords = BTreeMap::new();
        for kind in Kind::KEYWORD_CATEGORIES {
            let file = format!("keywords/{}.txt", kind.as_str());
            keywords.insert(kind, parse_term_list(source(&file), &mut errors));
        }
        let sensitive_subject = parse_term_list(source("sensitive-subject.txt"), &mut errors);
        let (password_phrases, not_passwords) = parse_password(source("password.toml"), &mut errors);
        let context = parse_kind_table(source("context.toml"), &mut errors, |raw: RawWords| raw.words)
            .into_iter()
            .map(|(kind, words)| (kind, words.iter().map(|w| Term::new(w)).collect()))
            .collect();
        let table_headers = parse_kind_table(source("table-headers.toml"), &mut errors, |raw: RawHeaders| raw.headers)
            .into_iter()
            .map(|(kind, headers)| (kind, headers.iter().map(|h| normalise_header(h)).collect()))
            .collect();

        let (subject_topics, not_names, group_nouns) = parse_subject_topics(source("subject-topics.toml"), &mut errors);

        if errors.is_empty() {
            Ok(RulePack {
                rules,
                keywords,
                sensitive_subject,
                password_phrases,
                not_passwords,
                context,
                table_headers,
                subject_topics,
                not_names,
                group_nouns,
            })
        } else {
            Err(errors)
        }
    }

    pub fn rule(&self, id: RuleId) -> &RuleDef {
        self.rules.get(&id).expect("a loaded rule pack defines every rule")
    }
}

fn builtin_source(file: &str) -> Source {
    let text = BUILTIN
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| *text)
        .expect("every rule file has a built-in version");
    Source {
        name: format!("rules/{file} (built in)"),
        text: text.to_string(),
    }
}

/// A column header as compared: lower case, punctuation other than `/` and `'` dropped, spaces collapsed.
pub fn normalise_header(header: &str) -> String {
    let cleaned: String = header
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '/' || c == '\'' || c == '.' {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches('.')
        .to_string()
}

fn parse_toml<T: serde::de::DeserializeOwned>(source: &Source, errors: &mut Vec<ConfigError>) -> Option<T> {
    toml::from_str(&source.text)
        .map_err(|e| errors.push(ConfigError::from_toml(&source.name, &source.text, &e)))
        .ok()
}

fn parse_rule_table(source: &Source, errors: &mut Vec<ConfigError>) -> BTreeMap<RuleId, RuleDef> {
    let mut rules = BTreeMap::new();
    let Some(raw) = parse_toml::<BTreeMap<String, Spanned<RawRule>>>(source, errors) else {
        return rules;
    };
    for (key, rule) in raw {
        let span = rule.span();
        let rule = rule.into_inner();
        let Ok(id) = key.parse::<RuleId>() else {
            errors.push(ConfigError::at(
                &source.name,
                &source.text,
                Some(span),
                format!("there is no rule {key:?} (rules are: {})", RuleId::names().join(", ")),
            ));
            continue;
        };
        let action = rule
            .action
            .get_ref()
            .parse::<RuleAction>()
            .ok()
            .filter(|a| id.allows(*a));
        let Some(action) = action else {
            errors.push(ConfigError::at(
                &source.name,
                &source.text,
                Some(rule.action.span()),
                format!("{key}: {:?} is not an action of this rule", rule.action.get_ref()),
            ));
            continue;
        };
        rules.insert(
            id,
            RuleDef {
                description: rule.description,
                action,
                advice: rule.advice,
            },
        );
    }
    for id in RuleId::ALL {
        if !rules.contains_key(&id) && !errors.iter().any(|e| e.file == source.name) {
            errors.push(ConfigError::whole_file(&source.name, format!("rule {id} is missing")));
        }
    }
    rules
}

/// One term a line; `#` starts a comment line.
fn parse_term_list(source: &Source, errors: &mut Vec<ConfigError>) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::new();
    for (index, line) in source.text.lines().enumerate() {
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let error = |message: String| ConfigError {
            file: source.name.clone(),
            line: index + 1,
            message,
        };
        if text.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            errors.push(error(format!("{text:?} is too short to be a term")));
        } else if terms.iter().any(|t| t.text == text) {
            errors.push(error(format!("{text:?} is listed twice")));
        } else {
            terms.push(Term::new(text));
        }
    }
    if terms.is_empty() && !source.text.trim().is_empty() {
        errors.push(ConfigError::whole_file(&source.name, "lists no terms"));
    }
    terms
}

fn parse_password(source: &Source, errors: &mut Vec<ConfigError>) -> (Vec<String>, Vec<String>) {
    let Some(raw) = parse_toml::<RawPassword>(source, errors) else {
        return (Vec::new(), Vec::new());
    };
    let mut phrases = Vec::new();
    for phrase in raw.phrases {
        let text = phrase.get_ref().trim().to_lowercase();
        if text.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            errors.push(ConfigError::at(
                &source.name,
                &source.text,
                Some(phrase.span()),
                format!("phrase {:?} is too short", phrase.get_ref()),
            ));
        } else {
            phrases.push(text);
        }
    }
    let not_passwords = raw.not_passwords.iter().map(|w| w.trim().to_lowercase()).collect();
    (phrases, not_passwords)
}

/// Topics, words that are not names, and group nouns.
type SubjectWords = (Vec<Term>, Vec<String>, Vec<String>);

fn parse_subject_topics(source: &Source, errors: &mut Vec<ConfigError>) -> SubjectWords {
    let Some(raw) = parse_toml::<RawSubjectTopics>(source, errors) else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let mut topics = Vec::new();
    for topic in raw.topics {
        if topic.get_ref().chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            errors.push(ConfigError::at(
                &source.name,
                &source.text,
                Some(topic.span()),
                format!("topic {:?} is too short", topic.get_ref()),
            ));
        } else {
            topics.push(Term::new(topic.get_ref().trim()));
        }
    }
    let lower = |words: &[String]| words.iter().map(|w| w.trim().to_lowercase()).collect();
    (topics, lower(&raw.not_names), lower(&raw.group_nouns))
}

/// A TOML file of `[kind]` tables, each holding one list.
fn parse_kind_table<T: serde::de::DeserializeOwned>(
    source: &Source,
    errors: &mut Vec<ConfigError>,
    list: impl Fn(T) -> Vec<Spanned<String>>,
) -> BTreeMap<Kind, Vec<String>> {
    let mut out = BTreeMap::new();
    let Some(raw) = parse_toml::<BTreeMap<String, Spanned<T>>>(source, errors) else {
        return out;
    };
    for (key, table) in raw {
        let span = table.span();
        let Some(kind) = Kind::from_name(&key).filter(|k| k.is_personal() || *k == Kind::DateOfBirth) else {
            errors.push(ConfigError::at(
                &source.name,
                &source.text,
                Some(span),
                format!("there is no detector kind {key:?}"),
            ));
            continue;
        };
        let mut values = Vec::new();
        for item in list(table.into_inner()) {
            if item.get_ref().trim().is_empty() {
                errors.push(ConfigError::at(
                    &source.name,
                    &source.text,
                    Some(item.span()),
                    "an entry cannot be empty",
                ));
            } else {
                values.push(item.get_ref().trim().to_string());
            }
        }
        out.insert(kind, values);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_is_valid_and_complete() {
        let pack = RulePack::from_sources(|f| Ok(builtin_source(f))).expect("built-in pack loads");
        for id in RuleId::ALL {
            assert!(pack.rules.contains_key(&id), "{id}");
        }
        assert_eq!(pack.rule(RuleId::PersonalData).action, RuleAction::Hold);
        assert_eq!(pack.rule(RuleId::Bcc).action, RuleAction::Rewrite);
        assert_eq!(pack.rule(RuleId::Unscannable).action, RuleAction::Warn);
        for kind in Kind::KEYWORD_CATEGORIES {
            assert!(!pack.keywords[&kind].is_empty(), "{kind}");
        }
        let sen = pack.keywords[&Kind::Send]
            .iter()
            .find(|t| t.text == "SEN")
            .expect("SEN listed");
        assert!(sen.exact_case);
        let plan = pack.keywords[&Kind::Send]
            .iter()
            .find(|t| t.text == "EHC plan")
            .expect("listed");
        assert!(!plan.exact_case);
        assert!(pack.table_headers[&Kind::DateOfBirth].contains(&"date of birth".to_string()));
    }

    #[test]
    fn directory_errors_are_all_reported_with_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("rules.toml"),
            "[personal-data]\ndescription = \"x\"\naction = \"rewrite\"\nadvice = \"y\"\n\n[no-such-rule]\ndescription = \"x\"\naction = \"hold\"\nadvice = \"y\"\n",
        )
        .expect("write");
        std::fs::create_dir(dir.path().join("keywords")).expect("mkdir");
        std::fs::write(dir.path().join("keywords/health.txt"), "asthma\nx\nasthma\n").expect("write");
        std::fs::write(dir.path().join("context.toml"), "[shoe_size]\nwords = [\"shoe\"]\n").expect("write");
        let errors = RulePack::load(dir.path()).expect_err("broken pack");
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has("rules.toml:3: personal-data: \"rewrite\" is not an action"),
            "{text:?}"
        );
        assert!(has("rules.toml:6: there is no rule \"no-such-rule\""), "{text:?}");
        assert!(has("health.txt:2: \"x\" is too short"), "{text:?}");
        assert!(has("health.txt:3: \"asthma\" is listed twice"), "{text:?}");
        assert!(
            has("context.toml:1: there is no detector kind \"shoe_size\""),
            "{text:?}"
        );
    }

    #[test]
    fn files_a_directory_lacks_keep_the_builtin_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("keywords")).expect("mkdir");
        std::fs::write(dir.path().join("keywords/fsm.txt"), "# ours\nfree dinners\n").expect("write");
        let pack = RulePack::load(dir.path()).expect("valid");
        assert_eq!(pack.keywords[&Kind::Fsm], vec![Term::new("free dinners")]);
        assert_eq!(
            pack.keywords[&Kind::Health],
            RulePack::builtin().keywords[&Kind::Health]
        );
    }

    #[test]
    fn headers_normalise() {
        assert_eq!(normalise_header("  Date of Birth: "), "date of birth");
        assert_eq!(normalise_header("D.O.B."), "d.o.b");
        assert_eq!(normalise_header("Parent/Carer"), "parent/carer");
    }
}

//! Facts and findings → [`Verdict`], by the rules of SPEC.md.
//!
//! Each rule is a small function that says whether it fires and why; the
//! action comes from the configuration, else the rule pack. The overall
//! action is the strongest (hold > rewrite > approve), and monitor mode turns
//! every hold and rewrite into a warn while recording what enforce mode
//! would have done.
//!
//! Where SPEC is silent: a labelled name together with a date of birth in
//! the same part ("Name: …  DOB: …") is personal data too; trusted domains
//! satisfy `protective-marking` as they satisfy `personal-data` (the route
//! is secure); and `unscannable` also covers a message cut short by limits.

use std::collections::BTreeMap;

use crate::config::{Config, Mode};
use crate::detect::PartReport;
use crate::extract::Attachment;
use crate::finding::{Confidence, Finding, Kind, Location};
use crate::message::{Structure, domain_of, normalise_address};
use crate::rules::{RuleAction, RuleId, RulePack};
use crate::verdict::{Action, BccRewrite, FiredRule, MonitorNote, RecipientCounts, Rewrites, Skipped, Verdict};

/// The recipients of a message, classified.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    pub internal: Vec<String>,
    /// Every recipient outside the internal domains, trusted ones included.
    pub external: Vec<String>,
    pub trusted: Vec<String>,
    /// Distinct external addresses visible in To and Cc.
    pub visible_external: Vec<String>,
}

impl Recipients {
    /// Classify the envelope recipients and the addresses visible in To and Cc.
    pub fn classify(
        envelope: &[String],
        visible: &[String],
        internal_domains: &[String],
        trusted_domains: &[String],
    ) -> Recipients {
        let mut out = Recipients::default();
        let mut seen = Vec::new();
        for address in envelope.iter().map(|a| normalise_address(a)) {
            if seen.contains(&address) {
                continue;
            }
            seen.push(address.clone());
            let domain = domain_of(&address).unwrap_or_default();
            if in_domains(&domain, internal_domains) {
                out.internal.push(address);
            } else {
                if in_domains(&domain, trusted_domains) {
                    out.trusted.push(address.clone());
                }
                out.external.push(address);
            }
        }
        for address in visible.iter().map(|a| normalise_address(a)) {
            let domain = domain_of(&address).unwrap_or_default();
            if !in_domains(&domain, internal_domains) && !out.visible_external.contains(&address) {
                out.visible_external.push(address);
            }
        }
        out
    }

    pub fn outbound(&self) -> bool {
        !self.external.is_empty()
    }

    /// External recipients outside the trusted domains.
    pub fn untrusted(&self) -> usize {
        self.external.len() - self.trusted.len()
    }

    fn counts(&self) -> RecipientCounts {
        RecipientCounts {
            internal: self.internal.len(),
            external: self.external.len(),
            trusted: self.trusted.len(),
            visible_external: self.visible_external.len(),
        }
    }
}

/// `domain` is one of `domains` or a subdomain of one.
pub fn in_domains(domain: &str, domains: &[String]) -> bool {
    domains
        .iter()
        .any(|d| domain == d || domain.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
}

/// Everything the rules look at.
pub struct Facts<'a> {
    pub recipients: &'a Recipients,
    pub structure: Structure,
    pub subject: &'a str,
    /// Findings by location; the subject's under [`Location::Subject`].
    pub reports: &'a BTreeMap<Location, PartReport>,
    pub attachments: &'a [Attachment],
    /// The configured disclaimer is already in the message's own text.
    pub disclaimer_present: bool,
}

/// Apply the rules.
pub fn decide(facts: &Facts, config: &Config, pack: &RulePack) -> Verdict {
    let recipients = facts.recipients;
    let outbound = recipients.outbound();
    let findings: Vec<Finding> = facts
        .reports
        .iter()
        .flat_map(|(location, r)| r.findings(location))
        .collect();
    let mut verdict = Verdict {
        action: Action::Approve,
        outbound,
        encrypted: facts.structure.encrypted,
        rules: Vec::new(),
        findings,
        recipients: recipients.counts(),
        skipped: Vec::new(),
        monitor: None,
        rewrites: Rewrites::default(),
        attachments: Vec::new(),
    };
    // Internal mail is approved untouched; its findings are still counted.
    if !outbound {
        return verdict;
    }

    let protected = facts.structure.encrypted || has_secure_tag(facts.subject, &config.organisation.secure_tags);
    let fire = |rule: RuleId, reason: String, verdict: &mut Verdict| {
        let action = config.rule_action(rule).unwrap_or(pack.rule(rule).action);
        if action != RuleAction::Off {
            verdict.rules.push(FiredRule { rule, action, reason });
        }
        action
    };

    if !protected && recipients.untrusted() > 0 {
        if let Some(evidence) = personal_data(facts.reports) {
            let reason = format!(
                "{evidence} sent unencrypted to {}",
                count_of(recipients.untrusted(), "external recipient")
            );
            fire(RuleId::PersonalData, reason, &mut verdict);
        }
        if let Some(location) = marked(facts.reports) {
            let reason = format!(
                "a protective marking in {} sent unencrypted to {}",
                describe(location),
                count_of(recipients.untrusted(), "external recipient")
            );
            fire(RuleId::ProtectiveMarking, reason, &mut verdict);
        }
    }

    if facts.attachments.iter().any(|a| a.protected) && password_given(facts.reports) {
        let reason = "a password-protected attachment with its password in the same email".to_string();
        fire(RuleId::PasswordInMessage, reason, &mut verdict);
    }

    if let Some(reason) = sensitive_subject(facts.reports)
        && fire(RuleId::SensitiveSubject, reason, &mut verdict) == RuleAction::Rewrite
    {
        verdict.rewrites.subject = Some(config.neutral_subject());
    }

    if recipients.visible_external.len() >= 2 {
        let reason = format!(
            "{} can see each other's addresses in To and Cc",
            count_of(recipients.visible_external.len(), "external recipient")
        );
        if fire(RuleId::Bcc, reason, &mut verdict) == RuleAction::Rewrite {
            verdict.rewrites.bcc = Some(BccRewrite {
                remove: recipients.visible_external.clone(),
                placeholder: config.bcc_placeholder(),
            });
        }
    }

    let unreadable: Vec<&Location> = facts
        .reports
        .iter()
        .filter(|(_, r)| !r.unscannable.is_empty())
        .map(|(l, _)| l)
        .collect();
    if let Some(first) = unreadable.first() {
        let reason = match unreadable.len() {
            1 => format!(
                "{} could not be read: {}",
                describe(first),
                facts.reports[*first].unscannable[0]
            ),
            n => format!("{n} parts could not be read, among them {}", describe(first)),
        };
        fire(RuleId::Unscannable, reason, &mut verdict);
    }

    if !facts.disclaimer_present {
        if facts.structure.signed || facts.structure.encrypted {
            let what = if facts.structure.encrypted {
                "encrypted"
            } else {
                "signed"
            };
            verdict.skipped.push(Skipped {
                rule: RuleId::Disclaimer,
                reason: format!("message is {what}"),
            });
        } else if fire(RuleId::Disclaimer, "disclaimer missing".to_string(), &mut verdict) == RuleAction::Rewrite {
            verdict.rewrites.disclaimer = true;
        }
    }

    let enforce_action = verdict
        .rules
        .iter()
        .map(|r| match r.action {
            RuleAction::Hold => Action::Hold,
            RuleAction::Rewrite => Action::Rewrite,
            RuleAction::Warn | RuleAction::Off => Action::Approve,
        })
        .max()
        .unwrap_or(Action::Approve);
    if config.mode == Mode::Monitor {
        for rule in &mut verdict.rules {
            if matches!(rule.action, RuleAction::Hold | RuleAction::Rewrite) {
                rule.action = RuleAction::Warn;
            }
        }
        verdict.monitor = Some(MonitorNote {
            mode: Mode::Monitor,
            enforce_action,
        });
        verdict.rewrites = Rewrites::default();
    } else {
        verdict.action = enforce_action;
    }
    verdict
}

fn has_secure_tag(subject: &str, tags: &[String]) -> bool {
    let subject = subject.to_lowercase();
    tags.iter().any(|tag| subject.contains(tag.as_str()))
}

/// SPEC's "personal data present", as evidence in plain words, or `None`.
fn personal_data(reports: &BTreeMap<Location, PartReport>) -> Option<String> {
    let mut evidence = Vec::new();
    for (location, report) in reports {
        let where_ = describe(location);
        // 1. A high-confidence identifier.
        let identifiers: Vec<String> = report
            .kinds()
            .filter(|(kind, confidence, _)| kind.is_identifier() && *confidence == Confidence::High)
            .map(|(kind, _, count)| kind.counted(count))
            .collect();
        if !identifiers.is_empty() {
            evidence.push(format!("{} in {where_}", identifiers.join(" and ")));
            continue;
        }
        // 3. A table of people.
        if report.table_of_people {
            evidence.push(format!("a table of {} people in {where_}", report.people_rows));
            continue;
        }
        // 2. A special category about a person.
        let special: Vec<Kind> = report
            .kinds()
            .filter(|(kind, confidence, _)| kind.is_special_category() && *confidence >= Confidence::Medium)
            .map(|(kind, _, _)| kind)
            .collect();
        if !special.is_empty() && report.has_person_reference() {
            let labels: Vec<&str> = special.iter().map(|k| k.plural_label()).collect();
            evidence.push(format!("{} about a named person in {where_}", labels.join(" and ")));
            continue;
        }
        // A named person with a date of birth.
        if report.has(Kind::PersonName, Confidence::High) && report.has(Kind::DateOfBirth, Confidence::High) {
            evidence.push(format!("a named person's date of birth in {where_}"));
        }
    }
    (!evidence.is_empty()).then(|| evidence.join("; "))
}

fn marked(reports: &BTreeMap<Location, PartReport>) -> Option<&Location> {
    reports
        .iter()
        .find(|(_, r)| r.has(Kind::ProtectiveMarking, Confidence::Medium))
        .map(|(l, _)| l)
}

fn password_given(reports: &BTreeMap<Location, PartReport>) -> bool {
    [Location::Subject, Location::Body]
        .iter()
        .any(|l| reports.get(l).is_some_and(|r| r.password_given))
}

fn sensitive_subject(reports: &BTreeMap<Location, PartReport>) -> Option<String> {
    let subject = reports.get(&Location::Subject)?;
    let identifiers: Vec<Kind> = subject
        .kinds()
        .filter(|(k, c, _)| k.is_identifier() && *c >= Confidence::Medium)
        .map(|(k, _, _)| k)
        .collect();
    if let Some(kind) = identifiers.first() {
        return Some(format!("the subject line carries {}", article_label(*kind)));
    }
    if subject.has(Kind::DateOfBirth, Confidence::Medium) {
        return Some("the subject line carries a date of birth".to_string());
    }
    if subject.has(Kind::PersonName, Confidence::Medium) {
        return Some("the subject line names a person".to_string());
    }
    if let Some(term) = subject.subject_terms.iter().next() {
        return Some(format!("the subject line mentions \"{term}\""));
    }
    let topic = subject
        .subject_topics
        .iter()
        .next()
        .filter(|_| subject.names_a_person)?;
    Some(format!(
        "the subject line seems to name a person and mentions \"{topic}\""
    ))
}

fn describe(location: &Location) -> String {
    match location {
        Location::Subject => "the subject".to_string(),
        Location::Body => "the body".to_string(),
        Location::Attachment(name) => format!("attachment {name}"),
    }
}

fn count_of(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn article_label(kind: Kind) -> String {
    format!("an identifier (a {})", kind.singular_label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_include_subdomains_only_at_a_dot() {
        let domains = vec!["oakfield.sch.uk".to_string()];
        assert!(in_domains("oakfield.sch.uk", &domains));
        assert!(in_domains("staff.oakfield.sch.uk", &domains));
        assert!(!in_domains("notoakfield.sch.uk", &domains));
        assert!(!in_domains("oakfield.sch.uk.evil.com", &domains));
    }

    #[test]
    fn recipients_are_classified_once_each() {
        let envelope = [
            "a@oakfield.sch.uk",
            "P@Gmail.com",
            "p@gmail.com",
            "la@northshire.gov.uk",
        ]
        .map(String::from);
        let visible = ["p@gmail.com", "la@northshire.gov.uk", "a@oakfield.sch.uk"].map(String::from);
        let r = Recipients::classify(
            &envelope,
            &visible,
            &["oakfield.sch.uk".into()],
            &["northshire.gov.uk".into()],
        );
        assert_eq!(r.internal, ["a@oakfield.sch.uk"]);
        assert_eq!(r.external, ["p@gmail.com", "la@northshire.gov.uk"]);
        assert_eq!(r.trusted, ["la@northshire.gov.uk"]);
        assert_eq!(r.untrusted(), 1);
        assert_eq!(r.visible_external.len(), 2);
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(Kind::Upn.counted(3), "3 Unique Pupil Numbers");
        assert_eq!(Kind::Upn.counted(1), "1 Unique Pupil Number");
        assert_eq!(count_of(1, "external recipient"), "1 external recipient");
    }
}

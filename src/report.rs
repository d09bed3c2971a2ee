//! The readable report `schoolgate scan` prints by default: the decision,
//! each rule with its reason and what the sender should do, the redacted
//! findings, and the recipients.

use std::fmt::Write;

use crate::rules::{RuleAction, RulePack};
use crate::verdict::{Action, Verdict};

pub fn text(verdict: &Verdict, pack: &RulePack) -> String {
    let mut out = String::new();
    let headline = match verdict.action {
        Action::Approve => "APPROVE: the message can go as it is.",
        Action::Rewrite => "REWRITE: the message goes out with safe changes.",
        Action::Hold => "HOLD: the message is kept for the Data Protection Officer to review.",
    };
    let _ = writeln!(out, "{headline}");
    if let Some(monitor) = &verdict.monitor {
        let _ = writeln!(
            out,
            "(monitor mode: nothing is enforced; in enforce mode this message would be: {})",
            monitor.enforce_action.as_str()
        );
    }
    if !verdict.rules.is_empty() {
        let _ = writeln!(out, "\nRules:");
        for rule in &verdict.rules {
            let _ = writeln!(out, "  {} ({}): {}", rule.rule, rule.action.as_str(), rule.reason);
            if matches!(rule.action, RuleAction::Hold | RuleAction::Warn) {
                let _ = writeln!(out, "    What to do: {}", pack.rule(rule.rule).advice);
            }
        }
    }
    if !verdict.skipped.is_empty() {
        let _ = writeln!(out, "\nNot applied:");
        for skipped in &verdict.skipped {
            let _ = writeln!(out, "  {}: {}", skipped.rule, skipped.reason);
        }
    }
    if !verdict.findings.is_empty() {
        let _ = writeln!(out, "\nFindings (values redacted):");
        write_findings(&mut out, verdict);
    }
    let r = &verdict.recipients;
    let _ = writeln!(
        out,
        "\nRecipients: {} internal, {} external ({} trusted), {} external visible in To/Cc{}",
        r.internal,
        r.external,
        r.trusted,
        r.visible_external,
        if verdict.encrypted {
            "; the message is encrypted"
        } else {
            ""
        }
    );
    out
}

/// One line per finding, redacted: `upn x3 (high) in attachment:pupils.csv: B801…001`.
pub fn write_findings(out: &mut String, verdict: &Verdict) {
    for f in &verdict.findings {
        let _ = writeln!(
            out,
            "  {} x{} ({}) in {}: {}",
            f.kind,
            f.count,
            f.confidence.as_str(),
            f.location,
            f.sample
        );
    }
}

//! The verdict: what schoolgate decided about one message, and why. Its JSON
//! form is the contract of SPEC.md (`schoolgate scan --format json`); the
//! milter, the quarantine and the review UI read the same structure.

use serde::{Deserialize, Serialize};

use crate::config::Mode;
use crate::finding::{Finding, Location};
use crate::rules::{RuleAction, RuleId};

/// The overall decision, strongest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Approve,
    Rewrite,
    Hold,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Rewrite => "rewrite",
            Action::Hold => "hold",
        }
    }

    /// `schoolgate scan`'s exit code: 0 approve, 1 rewrite, 2 hold.
    pub fn exit_code(self) -> u8 {
        match self {
            Action::Approve => 0,
            Action::Rewrite => 1,
            Action::Hold => 2,
        }
    }
}

/// One rule that fired, with the action it takes and a reason in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    pub rule: RuleId,
    pub action: RuleAction,
    pub reason: String,
}

/// A rewrite that could not be applied (e.g. the disclaimer on signed mail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub rule: RuleId,
    pub reason: String,
}

/// Recipient counts. `external` includes `trusted`; `visible_external` counts
/// distinct external addresses in To and Cc.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientCounts {
    pub internal: usize,
    pub external: usize,
    pub trusted: usize,
    pub visible_external: usize,
}

/// The changes the verdict asks for, for the rewriter to apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrites {
    /// `bcc`: external addresses to take out of To and Cc (lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcc: Option<BccRewrite>,
    /// `disclaimer`: append the configured disclaimer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disclaimer: bool,
    /// `sensitive-subject` in rewrite mode: the new subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Rewrites {
    pub fn is_empty(&self) -> bool {
        self.bcc.is_none() && !self.disclaimer && self.subject.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BccRewrite {
    pub remove: Vec<String>,
    /// What To becomes if nothing is left in it.
    pub placeholder: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub action: Action,
    pub outbound: bool,
    pub encrypted: bool,
    pub rules: Vec<FiredRule>,
    pub findings: Vec<Finding>,
    pub recipients: RecipientCounts,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// In monitor mode: what enforce mode would have done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorNote>,
    #[serde(default, skip_serializing_if = "Rewrites::is_empty")]
    pub rewrites: Rewrites,
    /// Every attachment and archive entry seen, and what could be done with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentState>,
}

/// One attachment (or archive entry) in the verdict: what the DPO's view lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentState {
    pub location: Location,
    pub content_type: String,
    pub size: usize,
    pub protection: Protection,
}

/// What schoolgate could do with an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Encrypted: a password is needed to open it (its content counts as protected).
    Protected,
    /// Read and scanned.
    Readable,
    /// Pictures of text only (a scan): readable, nothing to scan.
    ImageOnly,
    /// Could not be read within limits; see its `unscannable` finding.
    Unscannable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorNote {
    pub mode: Mode,
    pub enforce_action: Action,
}

impl Verdict {
    /// A verdict as stored (`to_json`'s output).
    pub fn from_json(json: &str) -> Result<Verdict, String> {
        serde_json::from_str(json).map_err(|e| format!("a stored verdict cannot be read: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a verdict always serialises")
    }

    pub fn fired(&self, rule: RuleId) -> Option<&FiredRule> {
        self.rules.iter().find(|r| r.rule == rule)
    }
}

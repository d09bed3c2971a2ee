//! schoolgate: an outbound data-loss-prevention milter for schools.
//!
//! The library's face is [`Engine::inspect`]: one message and its envelope
//! in, one [`Verdict`] out. `schoolgate scan`, the milter and a DPO's
//! release all call it, so they can never disagree. The pipeline runs
//! `message → extract → detect → policy`; it knows nothing of milters, web
//! servers or databases.

pub mod accounts;
pub mod config;
pub mod detect;
pub mod disclaimer;
pub mod extract;
pub mod finding;
pub mod message;
pub mod milter;
pub mod notify;
pub mod policy;
pub mod protect;
pub mod quarantine;
pub mod release;
pub mod report;
pub mod review;
pub mod review_text;
pub mod rewrite;
pub mod rules;
pub mod serve;
pub mod verdict;
pub mod verdict_pool;
pub mod worker;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use config::{Config, ConfigError, Mode};
use detect::{PartReport, Scanner, TextFormat};
pub use finding::{Confidence, Finding, Kind, Location};
use message::{HeaderFacts, Structure};
use policy::{Facts, Recipients};
pub use rules::{RuleAction, RuleId, RulePack};
pub use verdict::{Action, Verdict};

/// Each attachment seen, with what its reading came to.
fn attachment_states(
    attachments: &[extract::Attachment],
    reports: &BTreeMap<Location, PartReport>,
) -> Vec<verdict::AttachmentState> {
    use verdict::Protection;
    attachments
        .iter()
        .map(|a| {
            let report = reports.get(&a.location);
            let protection = if a.protected {
                Protection::Protected
            } else if report.is_some_and(|r| !r.unscannable.is_empty()) {
                Protection::Unscannable
            } else if report.is_some_and(|r| r.image_only) {
                Protection::ImageOnly
            } else {
                Protection::Readable
            };
            verdict::AttachmentState {
                location: a.location.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                protection,
            }
        })
        .collect()
}

/// The envelope of a message, as the relay gives it (MAIL FROM, RCPT TO).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub sender: Option<String>,
    pub recipients: Vec<String>,
}

/// A configuration with its rule pack and compiled detectors: built once,
/// then used for every message.
pub struct Engine {
    config: Config,
    pack: RulePack,
    scanner: Scanner,
    disclaimer: disclaimer::DisclaimerMatcher,
    /// Where attachments that need a parser are read; `None` reads them in this process.
    documents: Option<Arc<dyn extract::DocumentReader>>,
}

impl Engine {
    pub fn new(config: Config, pack: RulePack) -> Engine {
        let scanner = Scanner::new(&pack, &config.organisation);
        let disclaimer = disclaimer::DisclaimerMatcher::new(&config.disclaimer.text);
        Engine {
            config,
            pack,
            scanner,
            disclaimer,
            documents: None,
        }
    }

    /// Read Office, PDF and archive attachments through `reader` (the
    /// daemon's and the CLI's worker pool, [`worker::WorkerPool`]) instead of
    /// in this process.
    pub fn with_document_reader(mut self, reader: Arc<dyn extract::DocumentReader>) -> Engine {
        self.documents = Some(reader);
        self
    }

    /// The engine for a configuration file (or the built-in defaults when
    /// `path` is `None`), with the rule pack it names.
    pub fn load(path: Option<&Path>) -> Result<Engine, Vec<ConfigError>> {
        let config = match path {
            Some(path) => Config::load(path).map_err(|e| vec![e])?,
            None => Config::default(),
        };
        let pack = match &config.rules_dir {
            Some(dir) => RulePack::load(dir)?,
            None => RulePack::builtin(),
        };
        Ok(Engine::new(config, pack))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn rules(&self) -> &RulePack {
        &self.pack
    }

    /// Decide what to do with one message. Never fails: what cannot be read
    /// becomes an `unscannable` finding.
    pub fn inspect(&self, raw: &[u8], envelope: &Envelope) -> Verdict {
        self.inspect_partial(raw, envelope, true)
    }

    /// [`Engine::inspect`] for a message of which only the start is at hand
    /// (`complete` false: the milter stopped buffering at the size limit);
    /// the rest is reported as unscannable.
    pub fn inspect_partial(&self, raw: &[u8], envelope: &Envelope, complete: bool) -> Verdict {
        self.judge(raw, envelope, complete, false).0
    }

    /// The verdict and, for a rewrite of a message at hand whole, its edits,
    /// from one parse (the milter's path: parsing twice cost a tenth of the
    /// time to verdict).
    pub fn inspect_and_rewrite(
        &self,
        raw: &[u8],
        envelope: &Envelope,
        complete: bool,
    ) -> (Verdict, Option<rewrite::Rewrite>) {
        self.judge(raw, envelope, complete, true)
    }

    fn judge(
        &self,
        raw: &[u8],
        envelope: &Envelope,
        complete: bool,
        want_rewrite: bool,
    ) -> (Verdict, Option<rewrite::Rewrite>) {
        let limits = &self.config.limits;
        let mut reports: BTreeMap<Location, PartReport> = BTreeMap::new();
        let readable = if raw.len() > limits.max_message_bytes || !complete {
            reports.entry(Location::Body).or_default().unscannable.push(format!(
                "the message is larger than {} bytes; only the start was read",
                limits.max_message_bytes
            ));
            &raw[..raw.len().min(limits.max_message_bytes)]
        } else {
            raw
        };

        let parsed = message::parse(readable);
        let (headers, structure, extraction) = match &parsed {
            Some(message) => {
                let structure = Structure::read(message);
                (
                    HeaderFacts::read(message),
                    structure,
                    extract::extract(message, structure, limits, self.documents.as_deref()),
                )
            }
            None => (
                HeaderFacts::default(),
                Structure::default(),
                extract::Extraction::default(),
            ),
        };

        let subject = reports.entry(Location::Subject).or_default();
        self.scanner
            .scan(&extract::normalise_spaces(&headers.subject), TextFormat::Plain, subject);
        subject.names_a_person = self.scanner.names_a_person(&headers.subject);
        // People counted in each rendering of a body (plain, HTML) that has two.
        let mut alternatives: BTreeMap<Location, [usize; 2]> = BTreeMap::new();
        for unit in &extraction.units {
            let report = reports.entry(unit.location.clone()).or_default();
            let before = report.people_rows;
            self.scanner.scan(&unit.text, unit.format, report);
            let side = match unit.rendering {
                extract::Rendering::Whole => continue,
                extract::Rendering::PlainOnly => 0,
                extract::Rendering::HtmlOnly => 1,
            };
            alternatives.entry(unit.location.clone()).or_default()[side] += report.people_rows - before;
            report.people_rows = before;
        }
        for (location, [plain, html]) in alternatives {
            reports.entry(location).or_default().people_rows += plain.max(html);
        }
        for (location, note) in &extraction.notes {
            let report = reports.entry(location.clone()).or_default();
            match note {
                extract::Note::Unscannable(reason) => report.unscannable.push(reason.clone()),
                extract::Note::ImageOnly => report.image_only = true,
            }
        }

        let recipients = self.recipients(envelope, &headers);
        let disclaimer_present = recipients.outbound()
            && extraction
                .units
                .iter()
                .filter(|u| u.location == Location::Body)
                .any(|u| self.disclaimer.present_in(&u.text));
        let facts = Facts {
            recipients: &recipients,
            structure,
            subject: &headers.subject,
            reports: &reports,
            attachments: &extraction.attachments,
            disclaimer_present,
        };
        let mut verdict = policy::decide(&facts, &self.config, &self.pack);
        verdict.attachments = attachment_states(&extraction.attachments, &reports);
        let rewrite = (want_rewrite && complete && verdict.action == Action::Rewrite)
            .then(|| rewrite::plan_parsed(raw, parsed.as_ref(), &verdict.rewrites, &self.config, &self.disclaimer));
        (verdict, rewrite)
    }

    /// `text` with every personal value replaced by its redacted sample.
    pub fn mask(&self, text: &str) -> String {
        self.scanner.mask(text, TextFormat::Plain)
    }

    /// The edits `verdict` asks for on `raw` (the message it was made from):
    /// header edits and a new body for the milter, or a whole message via
    /// [`rewrite::Rewrite::apply`].
    pub fn rewrite(&self, raw: &[u8], verdict: &Verdict) -> rewrite::Rewrite {
        rewrite::plan(raw, &verdict.rewrites, &self.config, &self.disclaimer)
    }

    /// The message as it should leave: unchanged for approve, rewritten for
    /// rewrite, and for hold as it would be released (SPEC, `scan --output`).
    pub fn output(&self, raw: &[u8], verdict: &Verdict) -> Vec<u8> {
        self.rewrite(raw, verdict).apply(raw)
    }

    /// Envelope recipients (or, without an envelope, To, Cc and Bcc),
    /// classified against the internal and trusted domains. With no internal
    /// domains configured, the sender's domain is the internal one.
    fn recipients(&self, envelope: &Envelope, headers: &HeaderFacts) -> Recipients {
        let visible: Vec<String> = headers
            .to
            .iter()
            .chain(&headers.cc)
            .map(|m| m.address.clone())
            .collect();
        let envelope_recipients: Vec<String> = if envelope.recipients.is_empty() {
            visible
                .iter()
                .cloned()
                .chain(headers.bcc.iter().map(|m| m.address.clone()))
                .collect()
        } else {
            envelope.recipients.clone()
        };
        let organisation = &self.config.organisation;
        let internal = if organisation.internal_domains.is_empty() {
            let sender = envelope
                .sender
                .clone()
                .or_else(|| headers.from.first().map(|m| m.address.clone()))
                .unwrap_or_default();
            message::domain_of(&sender).into_iter().collect()
        } else {
            organisation.internal_domains.clone()
        };
        Recipients::classify(&envelope_recipients, &visible, &internal, &organisation.trusted_domains)
    }
}

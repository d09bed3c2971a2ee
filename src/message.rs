//! Parsing: raw bytes → mail-parser's model, plus the facts the policy needs
//! from the headers (subject, visible recipients) and from the structure
//! (encrypted? signed?).
//!
//! mail-parser never fails on broken MIME: it gives best-effort parts with
//! byte offsets into the raw message, which is what the rewriter needs later
//! to change one part and leave every other byte as the sender wrote it.

use std::sync::LazyLock;

use mail_parser::{Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

use crate::protect::{self, PgpArmor, Pkcs7Kind};

/// Parse a message; `None` only for input with nothing in it.
///
/// Only the headers schoolgate reads are parsed into structures (MIME,
/// Subject, From, To, Cc, Bcc); the rest (Received, Date, DKIM, …) stay raw
/// text: parsing them all was about 7 % of the milter's CPU under load.
pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
        MessageParser::new()
            .with_mime_headers()
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::From)
            .header_address(HeaderName::To)
            .header_address(HeaderName::Cc)
            .header_address(HeaderName::Bcc)
            .default_header_raw()
    });
    PARSER.parse(raw)
}

/// One address of a header, with its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    /// As written, trimmed; compare with [`normalise_address`].
    pub address: String,
}

/// The headers the policy reads.
#[derive(Debug, Clone, Default)]
pub struct HeaderFacts {
    pub subject: String,
    pub from: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
}

impl HeaderFacts {
    pub fn read(message: &Message) -> HeaderFacts {
        HeaderFacts {
            subject: message.subject().unwrap_or_default().to_string(),
            from: mailboxes(message, HeaderName::From),
            to: mailboxes(message, HeaderName::To),
            cc: mailboxes(message, HeaderName::Cc),
            bcc: mailboxes(message, HeaderName::Bcc),
        }
    }
}

/// Every address of every header named `name` (a message may carry several To headers).
fn mailboxes(message: &Message, name: HeaderName) -> Vec<Mailbox> {
    let mut out = Vec::new();
    for header in message.root_part().headers.iter().filter(|h| h.name == name) {
        if let HeaderValue::Address(address) = &header.value {
            let addrs: Vec<_> = match address {
                Address::List(list) => list.iter().collect(),
                Address::Group(groups) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
            };
            for addr in addrs {
                if let Some(address) = addr.address.as_deref().map(str::trim).filter(|a| a.contains('@')) {
                    out.push(Mailbox {
                        name: addr.name.as_deref().map(str::to_string),
                        address: address.to_string(),
                    });
                }
            }
        }
    }
    out
}

/// `"Jo.Bloggs@Example.COM"` → `jo.bloggs@example.com`, brackets and spaces dropped.
pub fn normalise_address(address: &str) -> String {
    address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

/// The domain of an address, lower case.
pub fn domain_of(address: &str) -> Option<String> {
    normalise_address(address)
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_string())
        .filter(|d| !d.is_empty())
}

/// How the message as a whole is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Structure {
    /// S/MIME enveloped, PGP/MIME, or an encrypted inline PGP block as the whole body.
    pub encrypted: bool,
    /// `multipart/signed` or S/MIME signed-data: readable, but never to be modified.
    pub signed: bool,
}

impl Structure {
    pub fn read(message: &Message) -> Structure {
        let root = message.root_part();
        let Some(ct) = root.content_type() else {
            return Structure {
                encrypted: inline_pgp_encrypted(message),
                signed: false,
            };
        };
        let ctype = ct.ctype().to_ascii_lowercase();
        let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
        match (ctype.as_str(), subtype.as_str()) {
            ("multipart", "encrypted") => Structure {
                encrypted: true,
                signed: false,
            },
            ("multipart", "signed") => Structure {
                encrypted: false,
                signed: true,
            },
            ("application", "pkcs7-mime" | "x-pkcs7-mime") => {
                let kind = ct.attribute("smime-type").and_then(protect::smime_type_is_encrypted);
                let kind = match kind {
                    Some(true) => Pkcs7Kind::Enveloped,
                    Some(false) => Pkcs7Kind::Signed,
                    None => protect::pkcs7_kind(part_bytes(message, 0)),
                };
                pkcs7_structure(kind)
            }
            ("application", "octet-stream") if has_extension(root.attachment_name(), &["p7m"]) => {
                pkcs7_structure(protect::pkcs7_kind(part_bytes(message, 0)))
            }
            _ => Structure {
                encrypted: inline_pgp_encrypted(message) || rights_managed(message),
                signed: false,
            },
        }
    }
}

/// An Outlook rights-managed (IRM/RMS) message: the real message is the
/// encrypted `message.rpmsg` attachment; the wrapper's text is only a notice.
fn rights_managed(message: &Message) -> bool {
    message.attachments().any(|part| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("application")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("x-microsoft-rpmsg-message"))
        }) || part
            .attachment_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("message.rpmsg"))
    })
}

fn pkcs7_structure(kind: Pkcs7Kind) -> Structure {
    Structure {
        encrypted: kind.is_encrypted(),
        signed: kind == Pkcs7Kind::Signed,
    }
}

/// A plain-text body that is wholly one encrypted PGP message block.
fn inline_pgp_encrypted(message: &Message) -> bool {
    let texts: Vec<&str> = message
        .text_body
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .collect();
    !texts.is_empty()
        && texts.iter().all(|text| {
            protect::pgp_inline_is_whole_body(text) && protect::pgp_message_kind(text) == Some(PgpArmor::Encrypted)
        })
}

/// The decoded bytes of part `id` (empty for containers).
pub fn part_bytes<'a>(message: &'a Message, id: usize) -> &'a [u8] {
    match message.parts.get(id).map(|p| &p.body) {
        Some(PartType::Binary(b) | PartType::InlineBinary(b)) => b.as_ref(),
        Some(PartType::Text(t) | PartType::Html(t)) => t.as_bytes(),
        _ => &[],
    }
}

/// Whether `name` ends in one of `extensions` (lower case, no dot).
pub fn has_extension(name: Option<&str>, extensions: &[&str]) -> bool {
    name.and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(_, ext)| extensions.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_from_every_to_and_cc_header_and_groups() {
        let raw = b"From: \"Sarah Jenkins\" <S.Jenkins@oakfield.sch.uk>\r\nTo: a@x.com, \"B, Parent\" <b@y.com>\r\nTo: parents: c@z.com, d@z.com;\r\nCc: =?UTF-8?B?w4lsb2RpZQ==?= <e@w.com>\r\nSubject: =?UTF-8?Q?Caf=C3=A9?=\r\n\r\nHi\r\n";
        let message = parse(raw).expect("parses");
        let facts = HeaderFacts::read(&message);
        let to: Vec<&str> = facts.to.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(to, ["a@x.com", "b@y.com", "c@z.com", "d@z.com"]);
        assert_eq!(facts.cc[0].name.as_deref(), Some("Élodie"));
        assert_eq!(facts.subject, "Café");
        assert_eq!(domain_of(&facts.from[0].address).as_deref(), Some("oakfield.sch.uk"));
    }

    #[test]
    fn structure_of_signed_and_encrypted_messages() {
        let cases: &[(&str, &str, Structure)] = &[
            (
                "pgp/mime",
                "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b--\r\n",
                Structure {
                    encrypted: true,
                    signed: false,
                },
            ),
            (
                "smime enveloped",
                "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n",
                Structure {
                    encrypted: true,
                    signed: false,
                },
            ),
            (
                "multipart signed",
                "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
                Structure {
                    encrypted: false,
                    signed: true,
                },
            ),
            (
                "plain",
                "Content-Type: text/plain\r\n\r\nhello\r\n",
                Structure::default(),
            ),
        ];
        for (name, raw, expected) in cases {
            let message = parse(raw.as_bytes()).expect("parses");
            assert_eq!(Structure::read(&message), *expected, "{name}");
        }
    }
}

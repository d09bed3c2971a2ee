//! Property tests over generated MIME trees (mixed, alternative, related,
//! forwarded messages; text in several charsets and transfer encodings;
//! binary attachments): rewriting twice equals rewriting once, attachments
//! and forwarded messages stay byte-identical, and the disclaimer appears
//! exactly once in the message's own text.

use std::sync::OnceLock;

use base64::Engine as _;
use mail_parser::{MessageParser, PartType};
use proptest::prelude::*;
use schoolgate::config::Config;
use schoolgate::rewrite::encoding::quoted_printable;
use schoolgate::{Engine, Envelope, RulePack};

const DISCLAIMER: &str =
    "Oakfield Primary School: this email is confidential – if it reached you in error, please delete it.";

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let config = Config::parse(
            "props.toml",
            &format!(
                "[organisation]\ninternal_domains = [\"oakfield.sch.uk\"]\nown_address = \"office@oakfield.sch.uk\"\n[disclaimer]\ntext = \"{DISCLAIMER}\"\n"
            ),
        )
        .expect("valid");
        Engine::new(config, RulePack::builtin())
    })
}

#[derive(Debug, Clone)]
enum Node {
    Text {
        html: bool,
        charset: &'static str,
        cte: &'static str,
        flowed: bool,
        words: Vec<&'static str>,
    },
    Attachment {
        name: String,
        bytes: Vec<u8>,
    },
    Multipart {
        subtype: &'static str,
        children: Vec<Node>,
    },
    Forward(Box<Node>),
}

const WORDS: &[&str] = &[
    "Dear",
    "parents",
    "the",
    "trip",
    "is",
    "on",
    "Friday",
    "café",
    "naïve",
    "£5",
    "–",
    "“quoted”",
    "it’s",
    "😀",
    "Здравствуйте",
    "=",
    "From",
    ">",
    "a",
    "very-long-word-that-keeps-going-and-going-and-going-for-a-while",
    "\n",
    "\n\n",
    "  ",
    "end.",
];

fn text_node() -> impl Strategy<Value = Node> {
    (
        any::<bool>(),
        prop::sample::select(vec!["us-ascii", "utf-8", "windows-1252", "iso-8859-1"]),
        prop::sample::select(vec!["7bit", "8bit", "quoted-printable", "base64"]),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..60),
    )
        .prop_map(|(html, charset, cte, flowed, words)| Node::Text {
            html,
            charset,
            cte,
            flowed,
            words,
        })
}

fn tree() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        3 => text_node(),
        1 => ("[a-z]{1,8}\\.(pdf|docx|png)", prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(name, bytes)| Node::Attachment { name, bytes }),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            3 => (prop::sample::select(vec!["mixed", "alternative", "related"]), prop::collection::vec(inner.clone(), 1..4))
                .prop_map(|(subtype, children)| Node::Multipart { subtype, children }),
            1 => inner.prop_map(|node| Node::Forward(Box::new(node))),
        ]
    })
}

/// Render a node as a MIME entity (headers + body), CRLF line endings.
fn render(node: &Node, counter: &mut usize, out: &mut String, attachments: &mut Vec<String>) {
    match node {
        Node::Text {
            html,
            charset,
            cte,
            flowed,
            words,
        } => {
            let mut text = words.join(" ");
            if *html {
                text = format!("<html><body><p>{}</p></body></html>", text.replace('\n', "<br>"));
            }
            let text = text.replace('\n', "\r\n");
            // Keep to what the charset can carry; 7bit only for ASCII.
            let text: String = match *charset {
                "us-ascii" => text.chars().filter(char::is_ascii).collect(),
                "windows-1252" | "iso-8859-1" => {
                    text.chars().filter(|c| (*c as u32) < 0x100 && *c != '\u{80}').collect()
                }
                _ => text,
            };
            let bytes: Vec<u8> = match *charset {
                "windows-1252" | "iso-8859-1" => text.chars().map(|c| c as u32 as u8).collect(),
                _ => text.as_bytes().to_vec(),
            };
            let cte = if *cte == "7bit" && !bytes.is_ascii() {
                "quoted-printable"
            } else {
                cte
            };
            let subtype = if *html { "html" } else { "plain" };
            let format = if *flowed && !*html { "; format=flowed" } else { "" };
            out.push_str(&format!(
                "Content-Type: text/{subtype}; charset=\"{charset}\"{format}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
            ));
            match cte {
                "base64" => out.push_str(&wrap76(&base64::engine::general_purpose::STANDARD.encode(&bytes))),
                "quoted-printable" => out.push_str(
                    &String::from_utf8(quoted_printable(&bytes, *charset == "utf-8", "\r\n")).expect("ascii"),
                ),
                _ => out.push_str(&String::from_utf8_lossy(&bytes)),
            }
            out.push_str("\r\n");
        }
        Node::Attachment { name, bytes } => {
            let entity = format!(
                "Content-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                wrap76(&base64::engine::general_purpose::STANDARD.encode(bytes))
            );
            attachments.push(entity.clone());
            out.push_str(&entity);
            out.push_str("\r\n");
        }
        Node::Multipart { subtype, children } => {
            *counter += 1;
            let boundary = format!("=_b{counter}_");
            out.push_str(&format!(
                "Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n"
            ));
            for child in children {
                out.push_str(&format!("--{boundary}\r\n"));
                render(child, counter, out, attachments);
            }
            out.push_str(&format!("--{boundary}--\r\n"));
        }
        Node::Forward(inner) => {
            let mut nested = String::from("From: someone@example.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n");
            let mut ignored = Vec::new();
            render(inner, counter, &mut nested, &mut ignored);
            let entity = format!(
                "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n{nested}"
            );
            attachments.push(nested);
            out.push_str(&entity);
            out.push_str("\r\n");
        }
    }
}

fn wrap76(text: &str) -> String {
    text.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn message(node: &Node) -> (Vec<u8>, Vec<String>) {
    let mut raw = String::from(
        "From: \"Sarah Jenkins\" <s.jenkins@oakfield.sch.uk>\r\nTo: a.parent@gmail.com, \"Parent, B\" <b.parent@outlook.com>\r\nSubject: Trip\r\nMIME-Version: 1.0\r\n",
    );
    let mut attachments = Vec::new();
    render(node, &mut 0, &mut raw, &mut attachments);
    // An attachment that is the whole message moves into a multipart of its
    // own when the text part is added: its data, not its headers, stays put.
    if let Node::Attachment { bytes, .. } = node {
        attachments = vec![wrap76(&base64::engine::general_purpose::STANDARD.encode(bytes))];
    }
    (raw.into_bytes(), attachments)
}

/// The disclaimer's occurrences in the message's own (top-level) text parts.
fn disclaimer_counts(raw: &[u8]) -> (usize, usize, usize, usize) {
    let message = MessageParser::default().parse(raw).expect("parses");
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let needle = squash(DISCLAIMER);
    let (mut plain, mut html, mut plain_parts, mut html_parts) = (String::new(), String::new(), 0, 0);
    for id in message
        .text_body
        .iter()
        .chain(&message.html_body)
        .collect::<std::collections::BTreeSet<_>>()
    {
        match &message.parts[*id as usize].body {
            PartType::Text(t) => {
                plain.push_str(t);
                plain.push('\n');
                plain_parts += 1;
            }
            PartType::Html(h) => {
                html.push_str(&schoolgate::extract::html::html_to_text(h, usize::MAX).text);
                html.push('\n');
                html_parts += 1;
            }
            _ => {}
        }
    }
    (
        squash(&plain).matches(&needle).count(),
        plain_parts,
        squash(&html).matches(&needle).count(),
        html_parts,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rewriting_twice_equals_once_and_leaves_other_parts_alone(node in tree()) {
        let engine = engine();
        let (raw, attachments) = message(&node);
        let verdict = engine.inspect(&raw, &Envelope::default());
        prop_assert!(verdict.rewrites.bcc.is_some());
        let once = engine.output(&raw, &verdict);
        let again = engine.inspect(&once, &Envelope::default());
        prop_assert!(again.rewrites.is_empty(), "second verdict still asks: {}", again.to_json());
        let twice = engine.output(&once, &again);
        prop_assert_eq!(&twice, &once);

        for entity in &attachments {
            prop_assert!(memchr::memmem::find(&once, entity.as_bytes()).is_some(), "an attachment changed");
        }
        let rewrite = engine.rewrite(&raw, &verdict);
        if rewrite.skipped.is_empty() {
            let (plain, plain_parts, html, html_parts) = disclaimer_counts(&once);
            if plain_parts > 0 {
                prop_assert_eq!(plain, 1, "disclaimer in plain text");
            }
            if html_parts > 0 {
                prop_assert_eq!(html, 1, "disclaimer in html");
            }
        }
    }
}

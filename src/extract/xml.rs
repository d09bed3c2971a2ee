//! A cheap pass over an XML part before a reader trusts it: nesting depth
//! within the limit, and no entity declarations. Office and OpenDocument
//! files never declare entities, so a DOCTYPE that does is an attack
//! (billion laughs) even though our readers never expand it: the text it
//! stands for is lost, and "nothing found" would be a lie.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Why `xml` cannot be trusted to give all its text, if it cannot.
pub fn check(xml: &[u8], max_depth: usize) -> Result<(), String> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = false;
    let mut buffer = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event_into(&mut buffer) {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > max_depth {
                    return Err(format!("its XML is nested more than {max_depth} deep"));
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::DocType(doctype)) if memchr::memmem::find(doctype.as_ref().as_bytes(), b"ENTITY").is_some() => {
                return Err("its XML declares entities (a billion-laughs attack)".to_string());
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(error) => return Err(format!("its XML is damaged ({error})")),
        }
        buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_entities_are_refused() {
        assert_eq!(check(b"<a><b>text</b></a>", 100), Ok(()));
        let deep = format!("{}{}", "<a>".repeat(101), "</a>".repeat(101));
        assert!(check(deep.as_bytes(), 100).unwrap_err().contains("nested"));
        let laughs = br#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "lol">]><d>&a;</d>"#;
        assert!(check(laughs, 100).unwrap_err().contains("entities"));
    }
}

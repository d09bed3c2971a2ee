//! HTML for the review UI, written by hand: every value from a message, a
//! verdict or a form goes through [`esc`], pages carry no script, and the
//! only stylesheet is our own (`/static/app.css`), so the Content-Security-
//! Policy can be `default-src 'none'`. A message is shown as text inside
//! `<pre>`, never as HTML.

use std::fmt::Write;

use crate::accounts::Account;

/// `text` safe inside an element or a double-quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `text` as one query-string or path component.
pub fn url_component(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// A whole page: the navigation for `account` (none on the sign-in page) around `body`.
pub fn page(title: &str, account: Option<(&Account, &str)>, body: &str) -> String {
    let nav = match account {
        Some((account, csrf)) => format!(
            r#"<nav><a href="/held">Held mail</a> <a href="/audit">Audit log</a> <a href="/dashboard">Dashboard</a>
<span class="who">{} ({})</span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button type="submit">Sign out</button></form></nav>"#,
            esc(&account.name),
            account.role.as_str(),
            esc(csrf)
        ),
        None => String::new(),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{} · schoolgate</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header><strong>schoolgate</strong> review</header>
{nav}
<main>
{body}
</main>
</body>
</html>
"#,
        esc(title)
    )
}

/// A hidden CSRF field for a form.
pub fn csrf_field(csrf: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(csrf))
}

/// A short message at the top of a page.
pub fn flash(kind: &str, text: &str) -> String {
    format!(r#"<p class="flash {kind}" role="status">{}</p>"#, esc(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'q'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"
        );
        assert_eq!(esc("a\u{0}b\u{1b}c\nd"), "a\u{fffd}b\u{fffd}c\nd");
        assert_eq!(url_component("a b&c/é"), "a%20b%26c%2F%C3%A9");
    }
}

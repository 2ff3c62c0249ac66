//! HTML for the reports puntos writes (a migration's, a simulation's): text made safe to put
//! between tags or in an attribute.

/// `text` with `&`, `<`, `>`, `"` and `'` written as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_quotes_become_entities() {
        assert_eq!(
            super::escape(r#"<b class="x">Tom's & co</b>"#),
            "&lt;b class=&quot;x&quot;&gt;Tom&#39;s &amp; co&lt;/b&gt;"
        );
    }
}

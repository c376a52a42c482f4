//! Text from evidence made safe for a terminal: decoded artifacts carry attacker-chosen strings
//! (event-log data, boot paths, claims, JSON keys), which must not move the cursor, rewrite
//! earlier lines or reorder what is shown.

/// Control characters (other than line breaks) and bidirectional-text controls become visible
/// escapes.
pub fn printable(text: &str) -> String {
    escape(text, true)
}

/// One value (a command line, a path, a claim): as [`printable`], and line breaks escaped too,
/// so that the value cannot start a line of its own.
pub fn printable_value(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, keep_line_breaks: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // Unicode's Bidi_Control characters, and the line and paragraph separators some
        // terminals break lines at.
        let bidi = matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        let separator = matches!(c, '\u{2028}' | '\u{2029}');
        let kept = keep_line_breaks && c == '\n';
        if (c.is_control() && !kept) || bidi || separator {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        assert_eq!(printable("a\nb\r"), "a\nb\\u{d}");
        assert_eq!(printable_value("a\nb\u{202e}"), "a\\u{a}b\\u{202e}");
        assert_eq!(printable_value("plain text"), "plain text");
        assert_eq!(
            printable_value("a\u{2028}b\u{2029}c\u{061c}d\u{85}"),
            "a\\u{2028}b\\u{2029}c\\u{61c}d\\u{85}"
        );
    }
}

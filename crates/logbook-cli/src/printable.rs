//! Text printed to a terminal is stored data, and stored data is anyone's: a key name or
//! a message holding ESC could make the operator's terminal write to the clipboard
//! (OSC 52) or rewrite the screen. Every control character is printed escaped instead.

use std::borrow::Cow;

/// `text` with each control character (C0, DEL and C1) written as `\u{…}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain ü"), "plain ü");
        assert_eq!(
            printable("x\u{1b}]52;c;aGk=\u{7}y\u{9b}"),
            "x\\u{1b}]52;c;aGk=\\u{7}y\\u{9b}"
        );
        assert_eq!(printable("a\tb\nc"), "a\\u{9}b\\u{a}c");
    }
}

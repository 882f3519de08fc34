//! Text patterns bound as SQL parameters.

/// `%text%` for LIKE/ILIKE, with the wildcards `%` and `_` (and the escape `\`) in `text`
/// escaped, so a search for `50%` finds that text and nothing else.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

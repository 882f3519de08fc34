//! Which group an error falls in. A client's own fingerprint decides when it sends one;
//! otherwise the error's type, its message with the parts that vary per occurrence taken
//! out (numbers, ids, hex, quoted values), and its top in-app frames — so "user 17 not
//! found" and "user 42 not found" from the same place are one group.

use sha2::{Digest, Sha256};

/// In-app frames that take part in the key: enough to tell two call sites apart, few
/// enough that a change deep in the stack does not split a group.
pub const KEY_FRAMES: usize = 3;

/// The group key: hex of the first 16 bytes of a SHA-256 over the parts.
pub fn fingerprint(
    client: Option<&[String]>,
    error_type: &str,
    message: &str,
    in_app_frames: &[String],
) -> String {
    let mut hash = Sha256::new();
    match client {
        Some(parts) if !parts.is_empty() => {
            hash.update(b"client");
            for part in parts {
                hash.update([0]);
                hash.update(part.as_bytes());
            }
        }
        _ => {
            hash.update(b"default\0");
            hash.update(error_type.as_bytes());
            hash.update([0]);
            hash.update(normalise(message).as_bytes());
            for frame in in_app_frames.iter().take(KEY_FRAMES) {
                hash.update([0]);
                hash.update(frame.as_bytes());
            }
        }
    }
    crate::hex::encode(&hash.finalize()[..16])
}

/// The frames of a stack trace as text, innermost first, as `file:function`: Python's
/// (`File "x.py", line 3, in f`) and Java's (`at pkg.Class.method(File.java:3)`) forms;
/// line numbers are left out, as they move with every release. Every line is read (the
/// trace is bounded by the event's size): a deep Python stack lists its innermost frame
/// last.
pub fn frames_of_trace(trace: &str) -> Vec<String> {
    let mut frames: Vec<String> = Vec::new();
    let mut innermost_last = false;
    for line in trace.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("File \"") {
            innermost_last = true;
            let file = rest.split('"').next().unwrap_or_default();
            let function = rest.rsplit_once(", in ").map_or("?", |(_, f)| f.trim());
            frames.push(format!("{file}:{function}"));
        } else if let Some(rest) = line.strip_prefix("at ") {
            let call = rest.split('(').next().unwrap_or_default().trim();
            let (place, function) = call.rsplit_once('.').unwrap_or(("?", call));
            frames.push(format!("{place}:{function}"));
        }
    }
    if innermost_last {
        frames.reverse();
    }
    frames.truncate(crate::error_groups::report::MAX_FRAMES);
    // A frame is kept as long as a reported one may be (the group's culprit column).
    for frame in &mut frames {
        if let Some((cut, _)) = frame
            .char_indices()
            .nth(crate::error_groups::report::MAX_FRAME)
        {
            frame.truncate(cut);
        }
    }
    frames
}

/// The message with what varies per occurrence replaced: quoted text by `<str>`, runs of
/// hex or id-like characters holding a digit by `<id>`, numbers by `<n>`.
pub fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        if matches!(c, '"' | '\'' | '`')
            && let Some(end) = rest[1..].find(c)
        {
            out.push_str("<str>");
            rest = &rest[end + 2..];
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '-' {
            let len = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '-'))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            out.push_str(replacement(word).unwrap_or(word));
            rest = &rest[len..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// What a word that varies per occurrence becomes; `None` for an ordinary word.
fn replacement(word: &str) -> Option<&'static str> {
    if !word.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = word.trim_start_matches('-');
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Some("<n>");
    }
    let hex = word.strip_prefix("0x").unwrap_or(word);
    if hex.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Some("<id>");
    }
    // Mixed letters and digits, long enough to be an id rather than a word like "utf8".
    (word.len() >= 8).then_some("<id>")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_frame_is_cut_to_what_the_store_keeps() {
        let trace = format!(
            "Traceback:\n  File \"/{}.py\", line 1, in f\n",
            "p".repeat(600)
        );
        let frames = frames_of_trace(&trace);
        assert_eq!(frames.len(), 1);
        assert_eq!(
            frames[0].chars().count(),
            crate::error_groups::report::MAX_FRAME
        );
    }

    use super::*;

    #[test]
    fn numbers_ids_hex_and_quoted_values_are_taken_out() {
        assert_eq!(normalise("user 17 not found"), "user <n> not found");
        assert_eq!(normalise("user 42 not found"), "user <n> not found");
        assert_eq!(normalise("took -3.5 s"), "took <n>.<n> s");
        assert_eq!(
            normalise("row 550e8400-e29b-41d4-a716-446655440000 is locked"),
            "row <id> is locked"
        );
        assert_eq!(normalise("bad pointer 0x7ffee4a1"), "bad pointer <id>");
        assert_eq!(normalise("order ab12cd34ef gone"), "order <id> gone");
        assert_eq!(
            normalise("frame 3fa9 lost"),
            "frame <id> lost",
            "short hex too"
        );
        assert_eq!(
            normalise("see rfc7231"),
            "see rfc7231",
            "a short word with digits stays"
        );
        assert_eq!(
            normalise("no key 'alice' in \"users\""),
            "no key <str> in <str>"
        );
        assert_eq!(normalise("it's fine"), "it's fine", "a lone quote stays");
        assert_eq!(
            normalise("utf8 and ipv6"),
            "utf8 and ipv6",
            "short words stay"
        );
        assert_eq!(normalise("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn the_same_error_from_the_same_place_is_one_group() {
        let frames = vec!["app.users:load".to_owned()];
        let a = fingerprint(None, "KeyError", "user 17 not found", &frames);
        let b = fingerprint(None, "KeyError", "user 42 not found", &frames);
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        assert_ne!(
            a,
            fingerprint(None, "ValueError", "user 17 not found", &frames)
        );
        assert_ne!(a, fingerprint(None, "KeyError", "user 17 gone", &frames));
        let elsewhere = vec!["app.orders:load".to_owned()];
        assert_ne!(
            a,
            fingerprint(None, "KeyError", "user 17 not found", &elsewhere)
        );
    }

    #[test]
    fn only_the_top_frames_take_part() {
        let top: Vec<String> = (0..KEY_FRAMES).map(|i| format!("f{i}")).collect();
        let mut deeper = top.clone();
        deeper.push("somewhere:else".to_owned());
        assert_eq!(
            fingerprint(None, "E", "m", &top),
            fingerprint(None, "E", "m", &deeper)
        );
        assert_ne!(
            fingerprint(None, "E", "m", &top),
            fingerprint(None, "E", "m", &top[..KEY_FRAMES - 1])
        );
    }

    #[test]
    fn frames_are_read_from_python_and_java_traces_innermost_first() {
        let python = "Traceback (most recent call last):\n  File \"app/views.py\", line 33, in checkout\n    charge(x)\n  File \"app/billing.py\", line 7, in charge\n    1/0\nZeroDivisionError: division by zero";
        assert_eq!(
            frames_of_trace(python),
            vec!["app/billing.py:charge", "app/views.py:checkout"]
        );
        let java = "java.lang.IllegalStateException: boom\n\tat com.shop.Billing.charge(Billing.java:7)\n\tat com.shop.Views.checkout(Views.java:33)";
        assert_eq!(
            frames_of_trace(java),
            vec!["com.shop.Billing:charge", "com.shop.Views:checkout"]
        );
        assert!(frames_of_trace("no frames here").is_empty());
        let deep: String = (0..300)
            .map(|i| format!("  File \"f.py\", line {i}, in level{i}\n"))
            .collect();
        let frames = frames_of_trace(&deep);
        assert_eq!(frames.len(), crate::error_groups::report::MAX_FRAMES);
        assert_eq!(
            frames[0], "f.py:level299",
            "the innermost of a deep stack comes first"
        );
    }

    #[test]
    fn a_client_fingerprint_decides_alone() {
        let parts = vec!["checkout".to_owned(), "timeout".to_owned()];
        let a = fingerprint(Some(&parts), "E1", "one", &[]);
        assert_eq!(a, fingerprint(Some(&parts), "E2", "two", &["x".to_owned()]));
        let joined = vec!["checkouttimeout".to_owned()];
        assert_ne!(a, fingerprint(Some(&joined), "E1", "one", &[]));
        assert_eq!(
            fingerprint(Some(&[]), "E", "m", &[]),
            fingerprint(None, "E", "m", &[]),
            "an empty client fingerprint means the default"
        );
    }
}

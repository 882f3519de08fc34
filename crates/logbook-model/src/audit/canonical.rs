//! RFC 8785 JSON Canonicalization Scheme: the one byte string a JSON value hashes as, so
//! a verifier in any language gets the same hash from the same event. Written by a
//! maintained canonicaliser (`serde_json_canonicalizer`, numbers by ECMAScript's rules
//! through `ryu-js`), checked against PyPI's `rfc8785` on every test run
//! (`scripts/audit_interop.py`).

use serde_json::Value;

/// The RFC 8785 text of `value`.
pub fn to_string(value: &Value) -> String {
    serde_json_canonicalizer::to_string(value)
        .expect("a JSON value holds no number that is not finite")
}

/// The spelling events were hashed with before Logbook used RFC 8785's number rules to
/// the letter: numbers printed by Rust's shortest round-trip formatting (which, where two
/// shortest spellings tie, may pick the one ECMAScript does not) and integers with every
/// digit. Verification accepts it for those events only, so nothing stored is re-hashed.
pub fn legacy_to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&number(f)),
            _ => out.push_str("null"),
        },
        Value::String(s) => out.push_str(&serde_json::to_string(s).expect("a string serializes")),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Keys sorted by UTF-16 code units, as the RFC says (not by UTF-8 bytes).
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).expect("a key serializes"));
                out.push(':');
                write(value, out);
            }
            out.push('}');
        }
    }
}

/// ECMAScript's Number::toString: shortest round-trip digits, exponent form outside
/// [1e-6, 1e21).
fn number(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let magnitude = f.abs();
    if (1e-6..1e21).contains(&magnitude) {
        return format!("{f}");
    }
    let exponential = format!("{f:e}");
    match exponential.split_once('e') {
        Some((digits, exponent)) if !exponent.starts_with('-') => format!("{digits}e+{exponent}"),
        _ => exponential,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ties_between_shortest_spellings_go_to_the_even_digit() {
        // Two 17-digit spellings are equally near this double; ECMAScript (and RFC 8785)
        // take the even one, Rust's formatting the other.
        let tie = -1222959661288647.2_f64;
        assert_eq!(to_string(&json!(tie)), "-1222959661288647.2");
        assert_eq!(legacy_to_string(&json!(tie)), "-1222959661288647.3");
        assert_eq!(to_string(&json!(9007199254740993u64)), "9007199254740992");
    }

    #[test]
    fn the_old_spelling_wrote_integers_with_every_digit() {
        assert_eq!(
            legacy_to_string(&json!(1152921504606846977i64)),
            "1152921504606846977"
        );
        assert_eq!(
            legacy_to_string(&json!(-1152921504606846977i64)),
            "-1152921504606846977"
        );
        assert_eq!(legacy_to_string(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(to_string(&json!(u64::MAX)), "18446744073709552000");
    }

    #[test]
    fn rfc_8785_examples() {
        assert_eq!(
            to_string(&json!({"b": 1, "a": [true, null, "x\né\u{1}"]})),
            r#"{"a":[true,null,"x\né\u0001"],"b":1}"#
        );
        assert_eq!(to_string(&json!(1e21)), "1e+21");
        assert_eq!(to_string(&json!(1.5e-7)), "1.5e-7");
        assert_eq!(to_string(&json!(0.1)), "0.1");
        assert_eq!(to_string(&json!(-0.0)), "0");
        assert_eq!(to_string(&json!(333333333.3333333)), "333333333.3333333");
        for value in [
            json!({"b": 1, "a": [true, null, 1e21, 1.5e-7, -0.0]}),
            json!("é\u{1}"),
        ] {
            assert_eq!(
                to_string(&value),
                legacy_to_string(&value),
                "the two agree away from ties"
            );
        }
        // U+FFFD sorts after U+1F600 in UTF-8 bytes but before it in UTF-16 units.
        assert_eq!(
            to_string(&json!({"\u{1F600}": 1, "\u{FFFD}": 2})),
            "{\"\u{1F600}\":1,\"\u{FFFD}\":2}"
        );
    }
}

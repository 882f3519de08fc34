//! The field-level difference between a resource's state before and after a change:
//! `{"field": {"from": …, "to": …}}`, nested object fields named by dotted paths.
//! Arrays and scalars compare as wholes.

use serde_json::{Map, Value, json};

pub fn changes(before: &Value, after: &Value) -> Value {
    let mut out = Map::new();
    walk("", before, after, &mut out);
    Value::Object(out)
}

fn walk(path: &str, before: &Value, after: &Value, out: &mut Map<String, Value>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let (from, to) = (
                    b.get(key).unwrap_or(&Value::Null),
                    a.get(key).unwrap_or(&Value::Null),
                );
                walk(&child, from, to, out);
            }
        }
        _ if before != after => {
            let name = if path.is_empty() {
                "value".to_owned()
            } else {
                path.to_owned()
            };
            out.insert(name, json!({"from": before, "to": after}));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_changed_leaf() {
        let before =
            json!({"name": "Acme", "plan": {"tier": "free", "seats": 3}, "tags": ["a"], "gone": 1});
        let after = json!({"name": "Acme", "plan": {"tier": "pro", "seats": 3}, "tags": ["a", "b"], "new": true});
        assert_eq!(
            changes(&before, &after),
            json!({
                "gone": {"from": 1, "to": null},
                "new": {"from": null, "to": true},
                "plan.tier": {"from": "free", "to": "pro"},
                "tags": {"from": ["a"], "to": ["a", "b"]},
            })
        );
        assert_eq!(
            changes(&json!(1), &json!(2)),
            json!({"value": {"from": 1, "to": 2}})
        );
        assert_eq!(changes(&before, &before), json!({}));
    }
}

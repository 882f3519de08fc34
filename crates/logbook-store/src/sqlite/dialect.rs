//! SQLite's side of [`crate::dialect`]: `?` placeholders, times as microseconds, UUIDs as
//! blobs, addresses as text, one parameter per list item, and the registered functions
//! for what SQLite lacks (see `functions.rs`).

use rusqlite::types::Value;

use super::micros;
use crate::{
    conditions::{Param, Test},
    dialect::{Dialect, common_test},
};

pub struct Sqlite;

/// The event columns with an index led by `(tenant_id, column, created_at)`.
const LED_BY_TENANT_AND: [&str; 4] = ["event_type", "user_id", "fingerprint", "ip_address"];

impl Dialect for Sqlite {
    type Value = Value;

    fn placeholder(_: usize) -> String {
        "?".into()
    }

    fn value(param: Param, _: &Test) -> Value {
        match param {
            Param::Text(text) => Value::Text(text),
            Param::SmallInt(n) => Value::Integer(n.into()),
            Param::Int(n) => Value::Integer(n),
            Param::Bool(b) => Value::Integer(b.into()),
            Param::Time(at) => Value::Integer(micros(at)),
            Param::Ip(ip) => Value::Text(ip.to_string()),
            Param::Uuid(id) => Value::Blob(id.as_bytes().to_vec()),
            Param::TextList(values) => Value::Text(values.join(",")),
            Param::MaybeText(text) => text.map_or(Value::Null, Value::Text),
            Param::MaybeTime(at) => at.map_or(Value::Null, |at| Value::Integer(micros(at))),
        }
    }

    fn list(values: Vec<String>) -> Vec<Value> {
        // SQLite binds no arrays.
        values.into_iter().map(Value::Text).collect()
    }

    fn test(test: &Test, column: &str, marks: &[String]) -> String {
        let mark = marks.first().map_or("NULL", String::as_str);
        if matches!(test, Test::Equals) && LED_BY_TENANT_AND.contains(&column) {
            // An index led by (tenant_id, column) gives the page in its order, so it is the
            // right plan whatever the value; the hint keeps the planner from walking the
            // primary key when statistics are sampled or stale (it once read a million rows
            // for one user's page of fifty).
            return format!("likelihood({column} = {mark}, 0.001)");
        }
        common_test(test, column, mark).unwrap_or_else(|| match test {
            Test::OneOf => format!("{column} IN ({})", marks.join(", ")),
            Test::InNetwork => format!("ip_in_net({column}, {mark})"),
            // instr() finds the first occurrence, so 1 means "starts with"; LIKE would
            // ignore case and treat % and _ as wildcards.
            Test::StartsWith => format!("instr({column}, {mark}) = 1"),
            _ => format!("contains_folded({column}, {mark})"),
        })
    }

    const FAILED: &'static str = "success = 0";
    const SMALLER: &'static str = "MIN";
    const LARGER: &'static str = "MAX";

    fn day_of(column: &str) -> String {
        format!("({column} / 86400000000 * 86400000000)")
    }

    const IP_TEXT: &'static str = "ip_address";

    fn json_text(column: &str, key: &str) -> String {
        format!("json_extract({column}, '$.{key}')")
    }

    fn json_number(column: &str, key: &str) -> String {
        format!(
            "CASE WHEN json_type({column}, '$.{key}') IN ('integer', 'real') \
             THEN CAST(json_extract({column}, '$.{key}') AS REAL) END"
        )
    }

    fn month_of(column: &str) -> String {
        format!("strftime('%Y-%m', {column} / 1000000, 'unixepoch')")
    }

    fn hour_of(column: &str) -> String {
        format!("({column} / 3600000000 * 3600000000)")
    }

    fn seconds_between(later: &str, earlier: &str) -> String {
        format!("(({later} - {earlier}) / 1000000.0)")
    }
}

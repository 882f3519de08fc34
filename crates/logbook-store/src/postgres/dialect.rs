//! PostgreSQL's side of [`crate::dialect`]: `$n` placeholders, typed parameters (a list
//! is one array), CIDR containment on `inet`, and `ILIKE` over an escaped pattern.

use tokio_postgres::types::ToSql;

use crate::{
    conditions::{Param, Test},
    dialect::{Dialect, common_test},
    pattern::contains_pattern,
};

pub struct Postgres;

pub type Value = Box<dyn ToSql + Sync + Send>;

impl Dialect for Postgres {
    type Value = Value;

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    fn value(param: Param, test: &Test) -> Value {
        match param {
            Param::Text(text) if matches!(test, Test::Contains) => {
                Box::new(contains_pattern(&text))
            }
            Param::Text(text) => Box::new(text),
            Param::SmallInt(n) => Box::new(n),
            Param::Int(n) => Box::new(n),
            Param::Bool(b) => Box::new(b),
            Param::Time(at) => Box::new(at),
            Param::Ip(ip) => Box::new(ip),
            Param::Uuid(id) => Box::new(id),
            Param::TextList(values) => Box::new(values),
            Param::MaybeText(text) => Box::new(text),
            Param::MaybeTime(at) => Box::new(at),
        }
    }

    fn list(values: Vec<String>) -> Vec<Value> {
        vec![Box::new(values)]
    }

    fn test(test: &Test, column: &str, marks: &[String]) -> String {
        let mark = marks.first().map_or("NULL", String::as_str);
        common_test(test, column, mark).unwrap_or_else(|| match test {
            Test::OneOf => format!("{column} = ANY({mark})"),
            Test::InNetwork => format!("{column} <<= {mark}::text::inet"),
            Test::StartsWith => format!("starts_with({column}, {mark})"),
            _ => format!("{column} ILIKE {mark}"),
        })
    }

    const FAILED: &'static str = "NOT success";
    const SMALLER: &'static str = "LEAST";
    const LARGER: &'static str = "GREATEST";

    fn day_of(column: &str) -> String {
        format!("date_trunc('day', {column}, 'UTC')")
    }

    const IP_TEXT: &'static str = "host(ip_address)";

    fn json_text(column: &str, key: &str) -> String {
        format!("({column} ->> '{key}')")
    }

    fn json_number(column: &str, key: &str) -> String {
        format!(
            "CASE WHEN jsonb_typeof({column} -> '{key}') = 'number' \
             THEN ({column} ->> '{key}')::float8 END"
        )
    }

    fn month_of(column: &str) -> String {
        format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')")
    }

    fn hour_of(column: &str) -> String {
        format!("date_trunc('hour', {column}, 'UTC')")
    }

    fn seconds_between(later: &str, earlier: &str) -> String {
        format!("EXTRACT(EPOCH FROM ({later} - {earlier}))::float8")
    }
}

/// The parameters of a statement, as tokio-postgres takes them.
pub fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

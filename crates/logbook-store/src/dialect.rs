//! What differs between SQLite's SQL and PostgreSQL's for the statements built from
//! conditions: placeholders, how a value binds (times as microseconds or `timestamptz`,
//! addresses as text or `inet`, lists one by one or as an array), a false boolean, and
//! the tests SQLite lacks natively (CIDR, Unicode case-folded substring). Each statement
//! in [`crate::statements`] is written once against this trait.

use logbook_model::TenantId;

use crate::conditions::{Condition, Param, Test};

pub trait Dialect {
    /// One bound parameter.
    type Value;
    /// The placeholder of the `n`th parameter, counting from 1.
    fn placeholder(n: usize) -> String;
    /// A value as this database binds it, for `test` (a substring search may reshape it).
    fn value(param: Param, test: &Test) -> Self::Value;
    /// A list's values: one parameter per item, or one array.
    fn list(values: Vec<String>) -> Vec<Self::Value>;
    /// `column` put to `test`, given the placeholders of its values.
    fn test(test: &Test, column: &str, marks: &[String]) -> String;
    /// The condition "this event failed", as the partial indexes spell it.
    const FAILED: &'static str;
    /// The smaller and the larger of two values (`LEAST`/`GREATEST`; SQLite's scalar
    /// `MIN`/`MAX`).
    const SMALLER: &'static str;
    const LARGER: &'static str;
    /// The start of the UTC day of a time column (a `timestamptz`; SQLite's microseconds).
    fn day_of(column: &str) -> String;
    /// The start of the UTC hour of a time column.
    fn hour_of(column: &str) -> String;
    /// A text member of the JSON column (NULL when absent).
    fn json_text(column: &str, key: &str) -> String;
    /// A numeric member of the JSON column as a float (NULL when absent or not a number).
    fn json_number(column: &str, key: &str) -> String;
    /// The UTC month of a time column as `YYYY-MM`.
    fn month_of(column: &str) -> String;
    /// The event's address as text.
    const IP_TEXT: &'static str;
    /// Seconds from the time column `earlier` to `later`, as a float.
    fn seconds_between(later: &str, earlier: &str) -> String;
}

/// A WHERE clause scoped to one tenant, with its parameters in order.
pub struct Where<D: Dialect> {
    pub sql: String,
    pub params: Vec<D::Value>,
}

impl<D: Dialect> Where<D> {
    /// No condition yet: for statements that only bind values.
    pub fn values() -> Self {
        Self {
            sql: String::new(),
            params: Vec::new(),
        }
    }

    pub fn new(tenant: TenantId) -> Self {
        let mut clause = Self {
            sql: String::new(),
            params: Vec::new(),
        };
        let mark = clause.bind(Param::Uuid(tenant.0));
        clause.sql = format!("tenant_id = {mark}");
        clause
    }

    /// Adds a parameter; returns its placeholder.
    pub fn bind(&mut self, param: Param) -> String {
        self.bind_value(D::value(param, &Test::Equals))
    }

    fn bind_value(&mut self, value: D::Value) -> String {
        self.params.push(value);
        D::placeholder(self.params.len())
    }

    /// Adds `AND sql` as it is: for conditions with no parameter.
    pub fn and_sql(&mut self, sql: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(sql);
    }

    /// Adds one condition, its value bound.
    pub fn condition(&mut self, c: Condition) {
        let values = match c.param {
            Param::TextList(values) => D::list(values),
            param => vec![D::value(param, &c.test)],
        };
        let marks: Vec<String> = values.into_iter().map(|v| self.bind_value(v)).collect();
        self.and_sql(&D::test(&c.test, c.column, &marks));
    }

    pub fn conditions(&mut self, conditions: Vec<Condition>) {
        conditions.into_iter().for_each(|c| self.condition(c));
    }

    /// `AND (column, id)` past `cursor` in the direction `cmp` (`<` or `>`): keyset paging.
    pub fn after(&mut self, column: &str, cmp: &str, cursor: logbook_model::Cursor) {
        let at = self.bind(Param::Time(cursor.created_at));
        let same = self.bind(Param::Time(cursor.created_at));
        let id = self.bind(Param::Uuid(cursor.id));
        self.and_sql(&format!(
            "({column} {cmp} {at} OR ({column} = {same} AND id {cmp} {id}))"
        ));
    }
}

/// The time buckets a statement reads, for a backend whose indexes are led by a bucket
/// (SQLite's hours, see `sqlite/hours.rs`): naming them lets each lookup seek bucket by
/// bucket instead of walking the whole index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buckets {
    /// The bucket of a row, as the index spells it.
    pub of_row: &'static str,
    pub first: i64,
    pub last: i64,
}

impl<D: Dialect> Where<D> {
    /// `AND` the row's bucket is one of `buckets`, listed one by one so an index led by
    /// the bucket is searched once per bucket.
    pub fn in_buckets(&mut self, buckets: Buckets) {
        let first = self.bind(Param::Int(buckets.first));
        let last = self.bind(Param::Int(buckets.last));
        self.and_sql(&format!(
            "{} IN (WITH RECURSIVE bucket(n) AS (SELECT {first} UNION ALL \
             SELECT n + 1 FROM bucket WHERE n < {last}) SELECT n FROM bucket)",
            buckets.of_row
        ));
    }
}

/// The comparison each test makes, where both databases spell it alike.
pub fn common_test(test: &Test, column: &str, mark: &str) -> Option<String> {
    Some(match test {
        Test::Equals => format!("{column} = {mark}"),
        Test::NotEquals => format!("{column} <> {mark}"),
        Test::AtLeast => format!("{column} >= {mark}"),
        Test::Before => format!("{column} < {mark}"),
        Test::OneOf | Test::InNetwork | Test::StartsWith | Test::Contains => return None,
    })
}

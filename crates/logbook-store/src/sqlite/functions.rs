//! SQL functions SQLite lacks and the queries need: CIDR matching, Unicode case-folding
//! substring search and PostgreSQL's `percentile_cont(0.95)`, so both backends answer
//! the same questions the same way.

use std::net::IpAddr;

use ipnet::IpNet;
use logbook_model::summary::percentile_cont;
use rusqlite::{
    Connection, Result,
    functions::{Aggregate, Context, FunctionFlags},
};

pub fn register(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("ip_in_net", 2, flags, |ctx| {
        let ip: Option<String> = ctx.get(0)?;
        let net: String = ctx.get(1)?;
        let (Some(ip), Ok(net)) = (ip, net.parse::<IpNet>()) else {
            return Ok(false);
        };
        Ok(ip.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)))
    })?;
    // Case-insensitive substring over all of Unicode, as PostgreSQL's ILIKE under a UTF-8
    // locale: SQLite's LIKE folds ASCII only (Ärger would miss ärger).
    conn.create_scalar_function("contains_folded", 2, flags, |ctx| {
        let haystack: Option<String> = ctx.get(0)?;
        let needle: String = ctx.get(1)?;
        Ok(haystack.is_some_and(|h| h.to_lowercase().contains(&needle.to_lowercase())))
    })?;
    conn.create_aggregate_function("percentile_95", 1, flags, Percentile95)
}

struct Percentile95;

impl Aggregate<Vec<f64>, Option<f64>> for Percentile95 {
    fn init(&self, _: &mut Context<'_>) -> Result<Vec<f64>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, values: &mut Vec<f64>) -> Result<()> {
        if let Some(value) = ctx.get::<Option<f64>>(0)? {
            values.push(value);
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, values: Option<Vec<f64>>) -> Result<Option<f64>> {
        let mut values = values.unwrap_or_default();
        values.sort_by(f64::total_cmp);
        Ok(percentile_cont(&values, 0.95))
    }
}

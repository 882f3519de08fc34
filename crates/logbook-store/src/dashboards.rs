//! Dashboards: the statements both backends run, written once against [`Dialect`]. A
//! dashboard is kept whole as JSON, its widgets inside; its owner and visibility are
//! columns, for listing what a key may see.

use logbook_model::{TenantId, dashboards::Dashboard};
use uuid::Uuid;

use crate::{
    alerts::to_json,
    conditions::Param,
    dialect::{Dialect, Where},
};

pub fn insert<D: Dialect>(tenant: TenantId, d: &Dashboard) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let marks = [
        v.bind(Param::Uuid(tenant.0)),
        v.bind(Param::Uuid(d.id)),
        v.bind(Param::Uuid(d.owner_id)),
        v.bind(Param::Text(d.visibility.as_str().to_owned())),
        v.bind(Param::Text(d.name.clone())),
        v.bind(Param::Text(to_json(d))),
    ]
    .join(", ");
    let sql = format!(
        "INSERT INTO dashboards (tenant_id, id, owner_id, visibility, name, body) VALUES ({marks})"
    );
    (sql, v)
}

pub fn update<D: Dialect>(tenant: TenantId, d: &Dashboard) -> (String, Where<D>) {
    let mut v = Where::<D>::values();
    let visibility = v.bind(Param::Text(d.visibility.as_str().to_owned()));
    let name = v.bind(Param::Text(d.name.clone()));
    let body = v.bind(Param::Text(to_json(d)));
    let tenant = v.bind(Param::Uuid(tenant.0));
    let id = v.bind(Param::Uuid(d.id));
    let sql = format!(
        "UPDATE dashboards SET visibility = {visibility}, name = {name}, body = {body} \
         WHERE tenant_id = {tenant} AND id = {id}"
    );
    (sql, v)
}

/// The tenant's dashboards `viewer` may see (its own, and every one not private); with
/// no viewer, all of them.
pub fn visible<D: Dialect>(tenant: TenantId, viewer: Option<Uuid>) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let seen_by = match viewer {
        Some(viewer) => {
            let private = w.bind(Param::Text("private".into()));
            let viewer = w.bind(Param::Uuid(viewer));
            format!(" AND (visibility <> {private} OR owner_id = {viewer})")
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT body FROM dashboards WHERE {}{seen_by} ORDER BY name, id",
        w.sql
    );
    (sql, w)
}

pub fn get<D: Dialect>(tenant: TenantId, id: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(id));
    let sql = format!("SELECT body FROM dashboards WHERE {} AND id = {id}", w.sql);
    (sql, w)
}

pub fn delete<D: Dialect>(tenant: TenantId, id: Uuid) -> (String, Where<D>) {
    let mut w = Where::<D>::new(tenant);
    let id = w.bind(Param::Uuid(id));
    let sql = format!("DELETE FROM dashboards WHERE {} AND id = {id}", w.sql);
    (sql, w)
}

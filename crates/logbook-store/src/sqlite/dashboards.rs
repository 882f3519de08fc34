//! Dashboards on SQLite.

use async_trait::async_trait;
use logbook_model::{TenantId, dashboards::Dashboard};
use uuid::Uuid;

use super::{
    SqliteStore,
    documents::{bodies, execute},
};
use crate::{DashboardStore, Result, dashboards as statements};

#[async_trait]
impl DashboardStore for SqliteStore {
    async fn dashboards(&self, tenant: TenantId, viewer: Option<Uuid>) -> Result<Vec<Dashboard>> {
        self.read(move |conn| {
            bodies(
                conn,
                statements::visible(tenant, viewer),
                "listing dashboards",
            )
        })
        .await
    }

    async fn dashboard(&self, tenant: TenantId, id: Uuid) -> Result<Option<Dashboard>> {
        self.read(move |conn| {
            Ok(bodies(conn, statements::get(tenant, id), "reading a dashboard")?.pop())
        })
        .await
    }

    async fn put_dashboard(
        &self,
        tenant: TenantId,
        dashboard: &Dashboard,
        replace: bool,
    ) -> Result<bool> {
        let dashboard = dashboard.clone();
        self.write(move |conn| {
            let statement = if replace {
                statements::update(tenant, &dashboard)
            } else {
                statements::insert(tenant, &dashboard)
            };
            Ok(execute(conn, statement, "storing a dashboard")? == 1)
        })
        .await
    }

    async fn delete_dashboard(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
        self.write(move |conn| {
            Ok(execute(conn, statements::delete(tenant, id), "deleting a dashboard")? == 1)
        })
        .await
    }
}

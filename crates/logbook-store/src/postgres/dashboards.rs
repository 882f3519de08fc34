//! Dashboards on PostgreSQL: reads under row-level security, writes as the owner.

use async_trait::async_trait;
use logbook_model::{TenantId, dashboards::Dashboard};
use uuid::Uuid;

use super::{
    PgStore,
    documents::{bodies, execute},
};
use crate::{DashboardStore, Result, dashboards as statements};

#[async_trait]
impl DashboardStore for PgStore {
    async fn dashboards(&self, tenant: TenantId, viewer: Option<Uuid>) -> Result<Vec<Dashboard>> {
        let client = self.tenant_client(tenant).await?;
        bodies(
            &client,
            statements::visible(tenant, viewer),
            "listing dashboards",
        )
        .await
    }

    async fn dashboard(&self, tenant: TenantId, id: Uuid) -> Result<Option<Dashboard>> {
        let client = self.tenant_client(tenant).await?;
        Ok(
            bodies(&client, statements::get(tenant, id), "reading a dashboard")
                .await?
                .pop(),
        )
    }

    async fn put_dashboard(
        &self,
        tenant: TenantId,
        dashboard: &Dashboard,
        replace: bool,
    ) -> Result<bool> {
        let client = self.client().await?;
        let statement = if replace {
            statements::update(tenant, dashboard)
        } else {
            statements::insert(tenant, dashboard)
        };
        Ok(execute(&client, statement, "storing a dashboard").await? == 1)
    }

    async fn delete_dashboard(&self, tenant: TenantId, id: Uuid) -> Result<bool> {
        let client = self.client().await?;
        Ok(execute(
            &client,
            statements::delete(tenant, id),
            "deleting a dashboard",
        )
        .await?
            == 1)
    }
}

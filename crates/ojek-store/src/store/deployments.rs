//! Deployment records: one row per attempt to apply (or roll back to) a revision of an app in
//! an environment. The deploy code calls [`Store::start_deployment`] before it talks to the
//! cluster and [`Store::finish_deployment`] once with the outcome; this module only records,
//! it never talks to a cluster.
//!
//! Auditing: a deployment is audited once, when it finishes (`deploy.apply` or
//! `deploy.rollback`, in the finishing transaction), because only then is there something to
//! say: which revision the environment ran before, which it runs now, and how the attempt
//! ended. Starting writes no audit entry; a start whose process died is finished (and so
//! audited) by [`Store::finish_stale_deployments`], so every attempt ends up with exactly one
//! entry.
//!
//! Reads by app name go through the live app's id: an app deleted and created again (perhaps
//! by another team) starts with an empty history, while the records of the deleted one stay,
//! readable by id.

use serde_json::json;
use sqlx::AnyConnection;

use super::{Audit, Store, append_audit};
use crate::error::{map, map_named};
use crate::rows::{self, DEPLOYMENT_COLS, DEPLOYMENT_META_COLS, now_ms};
use crate::*;

/// What an interrupted deployment's summary says.
const INTERRUPTED: &str = "interrupted";

impl Store {
    /// Records that a deployment starts (result `running`, no audit entry yet: see the module
    /// docs). `NotFound` if the app (in `expected_team_id`, when set) or the revision is
    /// missing; `AlreadyExists` if a deployment of the app to that environment is still
    /// running; `InvalidInput` if the environment is empty.
    pub async fn start_deployment(&self, new: &NewDeployment, actor: &Actor) -> Result<DeploymentRecord> {
        if new.environment.trim().is_empty() {
            return Err(StoreError::InvalidInput(
                "a deployment needs an environment".into(),
            ));
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // A no-op update locks the app row: a delete waits until the record is written.
        let app: Option<(i64, i64)> =
            sqlx::query_as("UPDATE apps SET head = head WHERE name = $1 RETURNING id, team_id")
                .bind(&new.app)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        let (app_id, team_id) = app
            .filter(|(_, team)| new.expected_team_id.is_none_or(|t| t == *team))
            .ok_or_else(|| StoreError::NotFound(format!("app {}", new.app)))?;
        let revision: Option<i64> =
            sqlx::query_scalar("SELECT number FROM revisions WHERE app_id = $1 AND number = $2")
                .bind(app_id)
                .bind(new.revision)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        if revision.is_none() {
            return Err(StoreError::NotFound(format!(
                "app {} rev {}",
                new.app, new.revision
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deployments (app_id, app, team_id, environment, target, cluster, revision, kind, \
             actor_id, actor_name, via, started_at, result, summary) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'running', '') RETURNING id",
        )
        .bind(app_id)
        .bind(&new.app)
        .bind(team_id)
        .bind(&new.environment)
        .bind(new.target.as_str())
        .bind(redact_url(&new.cluster))
        .bind(new.revision)
        .bind(new.kind.as_str())
        .bind(actor.user_id)
        .bind(&actor.name)
        .bind(&actor.via)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            map_named(e, || {
                format!("a running deployment of app {} to {}", new.app, new.environment)
            })
        })?;
        let record = fetch_deployment(&mut tx, id).await?;
        tx.commit().await.map_err(map)?;
        record.ok_or_else(|| StoreError::Corrupt(format!("deployment {id} vanished")))
    }

    /// Records how a running deployment ended, and audits it in the same transaction
    /// (`deploy.apply` / `deploy.rollback`; before = the environment's previous successful
    /// deployment, after = this one, each as `{deployment, revision, result, hash}`).
    ///
    /// `hash`: of what was applied (`None` when nothing was, e.g. `Unreachable`); `summary`:
    /// one line (line breaks become spaces); `report`: the deploy report.
    /// `NotFound` if there is no such deployment; `InvalidInput` if it has already finished
    /// or `result` is `Running` (nothing is written then, not even an audit entry).
    pub async fn finish_deployment(
        &self,
        id: i64,
        result: DeployResult,
        hash: Option<&str>,
        summary: &str,
        report: &serde_json::Value,
        actor: &Actor,
    ) -> Result<DeploymentRecord> {
        if result == DeployResult::Running {
            return Err(StoreError::InvalidInput(
                "a deployment cannot be finished as running".into(),
            ));
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // Only from running: of two finishers, the second finds no running row.
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE deployments SET result = $1, finished_at = $2, hash = $3, summary = $4, report = $5 \
             WHERE id = $6 AND result = 'running' RETURNING id",
        )
        .bind(result.as_str())
        .bind(now)
        .bind(hash.map(str::to_owned))
        .bind(one_line(summary))
        .bind(report.to_string())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map)?;
        let record = fetch_deployment(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("deployment {id}")))?;
        if updated.is_none() {
            return Err(StoreError::InvalidInput(format!(
                "deployment {id} has already finished ({})",
                record.result.as_str()
            )));
        }
        audit_finished(&mut tx, &record, actor).await?;
        tx.commit().await.map_err(map)?;
        Ok(record)
    }

    /// Finishes deployments left `running` by a process that died: those started at least
    /// `older_than_ms` ago become `failed` with summary `interrupted` and no report, each
    /// audited (as the system) like any finish. Call it on server start, with an age longer
    /// than any deploy can take, so that deploys of other replicas still in flight are left
    /// alone. Returns the deployments it finished, oldest first.
    pub async fn finish_stale_deployments(&self, older_than_ms: i64) -> Result<Vec<DeploymentRecord>> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE deployments SET result = 'failed', finished_at = $1, summary = $2 \
             WHERE result = 'running' AND started_at <= $3 RETURNING id",
        )
        .bind(now)
        .bind(INTERRUPTED)
        .bind(now.saturating_sub(older_than_ms.max(0)))
        .fetch_all(&mut *tx)
        .await
        .map_err(map)?;
        ids.sort_unstable();
        let mut finished = Vec::with_capacity(ids.len());
        for id in ids {
            let record = fetch_deployment(&mut tx, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("deployment {id} vanished")))?;
            audit_finished(&mut tx, &record, &Actor::system()).await?;
            finished.push(record);
        }
        tx.commit().await.map_err(map)?;
        Ok(finished)
    }

    /// An app's deployments without reports, newest first; `environment`: only there;
    /// `before`: only ids below it (pagination cursor). The page size is clamped to 1..=500.
    pub async fn deployments(
        &self,
        app: &str,
        environment: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeploymentRecord>> {
        let sql = format!(
            "SELECT {DEPLOYMENT_META_COLS} FROM deployments d JOIN apps a ON a.id = d.app_id \
             WHERE a.name = $1 AND ($2 = '' OR d.environment = $2) AND d.id < $3 \
             ORDER BY d.id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(app)
            .bind(environment.unwrap_or(""))
            .bind(before.unwrap_or(i64::MAX))
            .bind(rows::page_size(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.iter().map(rows::deployment).collect()
    }

    /// Per environment an app was ever deployed to (by name): its newest deployment and its
    /// newest successful one, without reports. An attempt that did not succeed (the cluster
    /// was unreachable, the rollout failed) is the `last` but never the `last_succeeded`.
    pub async fn current_deployments(&self, app: &str) -> Result<Vec<EnvironmentStatus>> {
        let newest = |only_succeeded: &str| {
            format!(
                "SELECT {DEPLOYMENT_META_COLS} FROM deployments d WHERE d.id IN \
                 (SELECT MAX(n.id) FROM deployments n JOIN apps a ON a.id = n.app_id \
                  WHERE a.name = $1{only_succeeded} GROUP BY n.environment) \
                 ORDER BY d.environment"
            )
        };
        let mut status: Vec<EnvironmentStatus> = Vec::new();
        let rows = sqlx::query(&newest(""))
            .bind(app)
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        for row in &rows {
            let last = rows::deployment(row)?;
            status.push(EnvironmentStatus {
                environment: last.environment.clone(),
                last,
                last_succeeded: None,
            });
        }
        let rows = sqlx::query(&newest(" AND n.result = 'succeeded'"))
            .bind(app)
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        for row in &rows {
            let succeeded = rows::deployment(row)?;
            if let Some(env) = status.iter_mut().find(|s| s.environment == succeeded.environment) {
                env.last_succeeded = Some(succeeded);
            }
        }
        Ok(status)
    }

    /// One deployment, with its report (also one of a deleted app). Callers check its
    /// `team_id` before showing it.
    pub async fn deployment(&self, id: i64) -> Result<Option<DeploymentRecord>> {
        let mut conn = self.pool.acquire().await.map_err(map)?;
        fetch_deployment(&mut conn, id).await
    }
}

/// One whole deployment.
async fn fetch_deployment(conn: &mut AnyConnection, id: i64) -> Result<Option<DeploymentRecord>> {
    let sql = format!("SELECT {DEPLOYMENT_COLS} FROM deployments d WHERE d.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(map)?;
    row.as_ref().map(rows::deployment).transpose()
}

/// Appends the audit entry of a deployment that has just finished.
async fn audit_finished(conn: &mut AnyConnection, record: &DeploymentRecord, actor: &Actor) -> Result<()> {
    // What the environment ran before this attempt (as far as ojek knows).
    let previous: Option<(i64, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, revision, result, hash FROM deployments \
         WHERE app_id = (SELECT app_id FROM deployments WHERE id = $1) AND environment = $2 \
         AND result = 'succeeded' AND id < $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(record.id)
    .bind(&record.environment)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map)?;
    let audit = Audit {
        action: record.kind.audit_action(),
        team_id: Some(record.team_id),
        app: Some(&record.app),
        target: format!(
            "app {} rev {} to {}",
            record.app, record.revision, record.environment
        ),
        before: previous.map(|(id, revision, result, hash)| {
            json!({"deployment": id, "revision": revision, "result": result, "hash": hash})
        }),
        after: Some(json!({
            "deployment": record.id,
            "revision": record.revision,
            "result": record.result.as_str(),
            "hash": record.hash,
        })),
    };
    append_audit(conn, actor, record.finished_at.unwrap_or_else(now_ms), audit).await
}

/// A summary on one line: line breaks become spaces.
fn one_line(summary: &str) -> String {
    summary
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_one_line() {
        assert_eq!(one_line("applied 3 objects"), "applied 3 objects");
        assert_eq!(one_line(" failed:\r\n  pod crashed\n"), "failed: pod crashed");
    }

    #[test]
    fn results_round_trip() {
        for r in DeployResult::ALL {
            assert_eq!(DeployResult::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).ok(), Some(json!(r.as_str())));
        }
        assert_eq!(DeployResult::parse("Succeeded"), None);
        for k in [DeployKind::Apply, DeployKind::Rollback] {
            assert_eq!(DeployKind::parse(k.as_str()), Some(k));
        }
        for t in [DeployTarget::Kubernetes, DeployTarget::Nomad] {
            assert_eq!(DeployTarget::parse(t.as_str()), Some(t));
        }
    }
}

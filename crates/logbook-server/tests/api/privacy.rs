use chrono::{Duration, Utc};
use logbook_model::pseudonym::Pseudonymizer;
use logbook_server::Anonymization;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp};

/// The anonymization job, configured for ACTIVITY after 30 days, through the real app.
pub async fn the_job_anonymizes_old_activity(backend: Backend) {
    let pseudonymizer = Pseudonymizer::new([3; 32]);
    let anonymization = Anonymization {
        rules: vec!["ACTIVITY=30".parse().unwrap()],
        pseudonymizer: pseudonymizer.clone(),
    };
    let app =
        TestApp::with_config(backend, |config| config.anonymization = Some(anonymization)).await;
    let old = (Utc::now() - Duration::days(40)).to_rfc3339();
    let events = json!([
        {"event_type": "ACTIVITY", "created_at": old, "user_id": "alice", "ip_address": "198.51.100.7", "user_agent": "UA", "message": "old"},
        {"event_type": "ACTIVITY", "user_id": "alice", "ip_address": "198.51.100.7", "message": "new"},
        {"event_type": "REQUEST", "created_at": old, "user_id": "alice", "ip_address": "198.51.100.7", "message": "request"},
    ]);
    assert_eq!(
        app.post_events(&app.admin, events.to_string()).await.body["accepted"],
        3
    );
    app.app.run_jobs_once().await.unwrap();
    let items = app.get("/api/v1/logs", &app.admin).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    let by_message = |m: &str| items.iter().find(|e| e["message"] == m).unwrap().clone();
    let anonymized = by_message("old");
    assert_eq!(
        (
            &anonymized["user_id"],
            &anonymized["ip_address"],
            &anonymized["user_agent"]
        ),
        (
            &json!(pseudonymizer.pseudonym("alice")),
            &Value::Null,
            &Value::Null
        )
    );
    assert_eq!(by_message("new")["user_id"], "alice");
    assert_eq!(by_message("request")["ip_address"], "198.51.100.7");
}

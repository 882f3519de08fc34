use std::sync::Arc;

use chrono::Duration;
use logbook_model::{
    EventQuery, FailedAuthQuery, TenantId,
    summary::{CountryCount, DAY, DailyBucket, HOUR, HourlyBucket, Summary, first_bucket},
};
use logbook_store::Store;

use crate::support::{append, at, event, minutes_ago, now};

fn with(
    mut e: logbook_model::Event,
    f: impl FnOnce(&mut logbook_model::Event),
) -> logbook_model::Event {
    f(&mut e);
    e
}

pub async fn summary_counts_seed_fields(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let since = now() - Duration::hours(24);
    let ip = |s: &str| Some(s.parse().unwrap());
    let events = vec![
        with(event(t, "REQUEST", minutes_ago(1)), |e| {
            (e.user_id, e.ip_address) = (Some("u1".into()), ip("10.0.0.1"))
        }),
        with(event(t, "REQUEST", minutes_ago(2)), |e| {
            (e.user_id, e.ip_address) = (Some("u2".into()), ip("10.0.0.2"))
        }),
        with(event(t, "REQUEST", minutes_ago(3)), |e| {
            e.ip_address = ip("10.0.0.1")
        }),
        // Exactly at the window's start: inside.
        with(event(t, "REQUEST", since), |e| {
            (e.user_id, e.ip_address) = (Some("u3".into()), ip("10.0.0.3"))
        }),
        // One microsecond before: outside.
        with(
            event(t, "REQUEST", since - Duration::microseconds(1)),
            |e| (e.user_id, e.ip_address) = (Some("u9".into()), ip("10.0.0.9")),
        ),
        with(event(t, "AUTH_LOGIN", minutes_ago(4)), |e| {
            (e.user_id, e.ip_address) = (Some("u1".into()), ip("10.0.0.1"))
        }),
        with(event(t, "AUTH_LOGIN", minutes_ago(5)), |e| {
            e.user_id = Some("u1".into())
        }),
        with(event(t, "AUTH_LOGIN", minutes_ago(6)), |e| {
            (e.user_id, e.ip_address, e.success) = (Some("u4".into()), ip("10.0.0.4"), false)
        }),
        with(event(t, "AUTH_FAILURE", minutes_ago(7)), |e| {
            (e.ip_address, e.success) = (ip("10.0.0.4"), false)
        }),
        with(event(t, "AUTH_FAILURE", minutes_ago(8)), |e| {
            (e.ip_address, e.success) = (ip("10.0.0.4"), false)
        }),
        with(event(t, "AUTH_FAILURE", minutes_ago(9)), |e| {
            e.ip_address = ip("10.0.0.4")
        }),
        with(event(t, "RATE_LIMIT", minutes_ago(10)), |e| {
            (e.ip_address, e.success) = (ip("10.0.0.4"), false)
        }),
    ];
    append(&store, &events).await;
    assert_eq!(
        store.summary(t, since).await.unwrap(),
        Summary {
            total_requests: 4,
            successful_logins: 2,
            auth_failures: 3,
            rate_limit_hits: 1,
            unique_users: 4,
            unique_ips: 4,
        }
    );
}

/// Floats compared to a millionth, as the two databases may round the last bit apart.
fn round(value: Option<f64>) -> Option<i64> {
    value.map(|v| (v * 1e6).round() as i64)
}

fn hourly_key(b: &HourlyBucket) -> (String, String, [i64; 5], Option<i64>, Option<i32>) {
    (
        b.bucket.to_rfc3339(),
        b.event_type.clone(),
        [
            b.total_count,
            b.success_count,
            b.failure_count,
            b.unique_users,
            b.unique_ips,
        ],
        round(b.avg_response_time_ms),
        b.max_response_time_ms,
    )
}

pub async fn hourly_buckets_from_the_first_whole_hour(store: Arc<dyn Store>) {
    let t = TenantId::new();
    // now() is 12:30, so a 3-hour window starts at 09:30 and its first whole bucket at 10:00.
    let first = first_bucket(now(), Duration::hours(3), HOUR);
    assert_eq!(first, at("2026-03-10T10:00:00Z"));
    let ip = |s: &str| Some(s.parse().unwrap());
    let events = vec![
        with(
            event(t, "REQUEST", at("2026-03-10T09:59:59.999999Z")),
            |e| e.response_time_ms = Some(999),
        ),
        with(event(t, "REQUEST", at("2026-03-10T10:00:00Z")), |e| {
            (e.response_time_ms, e.user_id, e.ip_address) =
                (Some(100), Some("u1".into()), ip("10.0.0.1"))
        }),
        with(event(t, "REQUEST", at("2026-03-10T10:30:00Z")), |e| {
            (e.response_time_ms, e.user_id, e.ip_address, e.success) =
                (Some(300), Some("u2".into()), ip("10.0.0.1"), false)
        }),
        with(event(t, "AUTH_LOGIN", at("2026-03-10T10:45:00Z")), |e| {
            e.user_id = Some("u1".into())
        }),
        with(event(t, "REQUEST", at("2026-03-10T12:10:00Z")), |e| {
            (e.response_time_ms, e.user_id, e.ip_address) =
                (Some(50), Some("u1".into()), ip("10.0.0.2"))
        }),
    ];
    append(&store, &events).await;
    let buckets: Vec<_> = store
        .hourly(t, first)
        .await
        .unwrap()
        .iter()
        .map(hourly_key)
        .collect();
    let hb = |bucket: &str, ty: &str, counts: [i64; 5], avg: Option<f64>, max: Option<i32>| {
        (
            at(bucket).to_rfc3339(),
            ty.to_owned(),
            counts,
            round(avg),
            max,
        )
    };
    assert_eq!(
        buckets,
        vec![
            hb(
                "2026-03-10T12:00:00Z",
                "REQUEST",
                [1, 1, 0, 1, 1],
                Some(50.0),
                Some(50)
            ),
            hb(
                "2026-03-10T10:00:00Z",
                "AUTH_LOGIN",
                [1, 1, 0, 1, 0],
                None,
                None
            ),
            hb(
                "2026-03-10T10:00:00Z",
                "REQUEST",
                [2, 1, 1, 2, 1],
                Some(200.0),
                Some(300)
            ),
        ]
    );
}

pub async fn daily_buckets_with_p95(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let first = first_bucket(now(), Duration::days(2), DAY);
    assert_eq!(first, at("2026-03-09T00:00:00Z"));
    let us = |e: &mut logbook_model::Event| e.geo_country = Some("US".into());
    let mut events = vec![
        with(event(t, "REQUEST", at("2026-03-08T23:59:59Z")), us),
        with(event(t, "REQUEST", at("2026-03-09T01:00:00Z")), |e| {
            us(e);
            (e.response_time_ms, e.user_id, e.ip_address, e.fingerprint) = (
                Some(10),
                Some("u1".into()),
                Some("10.0.0.1".parse().unwrap()),
                Some("f1".into()),
            );
        }),
        with(event(t, "REQUEST", at("2026-03-09T02:00:00Z")), |e| {
            us(e);
            (
                e.response_time_ms,
                e.user_id,
                e.ip_address,
                e.fingerprint,
                e.success,
            ) = (
                Some(20),
                Some("u2".into()),
                Some("10.0.0.1".parse().unwrap()),
                Some("f2".into()),
                false,
            );
        }),
        with(event(t, "REQUEST", at("2026-03-09T03:00:00Z")), |e| {
            us(e);
            (e.response_time_ms, e.user_id, e.ip_address) = (
                Some(30),
                Some("u2".into()),
                Some("10.0.0.2".parse().unwrap()),
            );
        }),
        with(event(t, "REQUEST", at("2026-03-09T04:00:00Z")), |e| {
            e.response_time_ms = Some(40)
        }),
    ];
    events.extend((1..=10).map(|ms| {
        with(
            event(
                t,
                "REQUEST",
                at("2026-03-10T05:00:00Z") + Duration::seconds(ms),
            ),
            |e| (e.geo_country, e.response_time_ms) = (Some("DE".into()), Some(ms as i32)),
        )
    }));
    append(&store, &events).await;
    let got = store.daily(t, first).await.unwrap();
    let key = |b: &DailyBucket| {
        (
            b.bucket.to_rfc3339(),
            b.event_type.clone(),
            b.geo_country.clone(),
            [
                b.total_count,
                b.success_count,
                b.failure_count,
                b.unique_users,
                b.unique_ips,
                b.unique_fingerprints,
            ],
            round(b.avg_response_time_ms),
            round(b.p95_response_time_ms),
        )
    };
    let db = |bucket: &str, country: Option<&str>, counts: [i64; 6], avg: f64, p95: f64| {
        (
            at(bucket).to_rfc3339(),
            "REQUEST".to_owned(),
            country.map(str::to_owned),
            counts,
            round(Some(avg)),
            round(Some(p95)),
        )
    };
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        vec![
            // percentile_cont(0.95) of 1..=10 is 9.55; of 10, 20, 30 it is 29.
            db(
                "2026-03-10T00:00:00Z",
                Some("DE"),
                [10, 10, 0, 0, 0, 0],
                5.5,
                9.55
            ),
            db(
                "2026-03-09T00:00:00Z",
                Some("US"),
                [3, 2, 1, 2, 2, 2],
                20.0,
                29.0
            ),
            db("2026-03-09T00:00:00Z", None, [1, 1, 0, 0, 0, 0], 40.0, 40.0),
        ]
    );
}

pub async fn by_country_counts_and_failures(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let since = now() - Duration::hours(24);
    let country = |c: Option<&str>, success: bool, at| {
        with(event(t, "REQUEST", at), |e| {
            (e.geo_country, e.success) = (c.map(str::to_owned), success)
        })
    };
    let events = vec![
        country(Some("US"), true, minutes_ago(1)),
        country(Some("US"), false, minutes_ago(2)),
        country(Some("US"), true, since),
        country(Some("DE"), true, minutes_ago(3)),
        country(None, false, minutes_ago(4)),
        country(None, false, minutes_ago(5)),
        country(Some("FR"), true, since - Duration::microseconds(1)),
    ];
    append(&store, &events).await;
    let c = |country: Option<&str>, count, failures| CountryCount {
        geo_country: country.map(str::to_owned),
        count,
        failures,
    };
    assert_eq!(
        store.by_country(t, since).await.unwrap(),
        vec![c(Some("US"), 3, 1), c(None, 2, 2), c(Some("DE"), 1, 0)]
    );
}

pub async fn failed_auth_combines_identifiers(store: Arc<dyn Store>) {
    let t = TenantId::new();
    let since = now() - Duration::minutes(15);
    let a = "203.0.113.7";
    let b = "203.0.113.8";
    let attempt = |ty: &str, ip: &str, user: Option<&str>, fp: Option<&str>, success: bool, at| {
        with(event(t, ty, at), |e| {
            (e.ip_address, e.user_id, e.fingerprint, e.success) = (
                Some(ip.parse().unwrap()),
                user.map(str::to_owned),
                fp.map(str::to_owned),
                success,
            )
        })
    };
    let events = vec![
        attempt(
            "AUTH_LOGIN",
            a,
            Some("u1"),
            Some("f1"),
            false,
            minutes_ago(1),
        ),
        attempt("AUTH_FAILURE", a, Some("u2"), Some("f1"), false, since),
        attempt(
            "AUTH_FAILURE",
            a,
            Some("u1"),
            Some("f1"),
            false,
            since - Duration::microseconds(1),
        ),
        attempt(
            "AUTH_LOGIN",
            a,
            Some("u1"),
            Some("f1"),
            true,
            minutes_ago(2),
        ),
        attempt("REQUEST", a, Some("u1"), Some("f1"), false, minutes_ago(3)),
        attempt("AUTH_FAILURE", b, Some("u1"), None, false, minutes_ago(4)),
    ];
    let mut other = attempt(
        "AUTH_FAILURE",
        a,
        Some("u1"),
        Some("f1"),
        false,
        minutes_ago(1),
    );
    other.tenant_id = TenantId::new();
    append(&store, &events).await;
    append(&store, &[other]).await;

    let count = |ip: Option<&str>, user: Option<&str>, fp: Option<&str>| {
        let store = store.clone();
        let query = FailedAuthQuery {
            ip: ip.map(|i| i.parse().unwrap()),
            user_id: user.map(str::to_owned),
            fingerprint: fp.map(str::to_owned),
            since,
        };
        async move { store.count_failed_auth(t, &query).await.unwrap() }
    };
    assert_eq!(count(Some(a), None, None).await, 2);
    assert_eq!(count(Some("::ffff:203.0.113.7"), None, None).await, 2);
    assert_eq!(count(None, Some("u1"), None).await, 2);
    assert_eq!(count(None, None, Some("f1")).await, 2);
    assert_eq!(count(Some(a), Some("u1"), None).await, 1);
    assert_eq!(count(Some(a), Some("u2"), Some("f1")).await, 1);
    assert_eq!(count(Some(b), None, Some("f1")).await, 0);
}

pub async fn every_answer_is_scoped_to_the_tenant(store: Arc<dyn Store>) {
    let (mine, theirs) = (TenantId::new(), TenantId::new());
    let attempt = |t| {
        with(event(t, "AUTH_FAILURE", minutes_ago(1)), |e| {
            (
                e.ip_address,
                e.user_id,
                e.success,
                e.geo_country,
                e.response_time_ms,
            ) = (
                Some("198.51.100.1".parse().unwrap()),
                Some("u1".into()),
                false,
                Some("US".into()),
                Some(5),
            )
        })
    };
    append(&store, &[attempt(theirs), attempt(theirs), attempt(mine)]).await;
    let since = now() - Duration::hours(24);
    assert_eq!(
        store
            .list_events(mine, &EventQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(store.summary(mine, since).await.unwrap().auth_failures, 1);
    assert_eq!(store.hourly(mine, since).await.unwrap()[0].total_count, 1);
    assert_eq!(
        store.daily(mine, since - Duration::days(1)).await.unwrap()[0].total_count,
        1
    );
    assert_eq!(store.by_country(mine, since).await.unwrap()[0].count, 1);
    let q = FailedAuthQuery {
        ip: Some("198.51.100.1".parse().unwrap()),
        user_id: None,
        fingerprint: None,
        since,
    };
    assert_eq!(store.count_failed_auth(mine, &q).await.unwrap(), 1);
    let nobody = TenantId::new();
    assert!(
        store
            .list_events(nobody, &EventQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store.summary(nobody, since).await.unwrap(),
        Summary::default()
    );
    assert!(store.hourly(nobody, since).await.unwrap().is_empty());
    assert_eq!(store.count_failed_auth(nobody, &q).await.unwrap(), 0);
}

//! The client against a server that misbehaves on purpose. Each test records events with
//! unique ids and counts, from both ends, what became of them: nothing hangs, nothing is
//! stored twice, and every event not delivered is counted the way the contract in the
//! crate's README (numbered clauses, cited below) says it may be.

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering::Relaxed},
    },
    time::Duration,
};

use logbook_client::Client;
use support::{
    Misbehaving, ReadAnswer, Reply, Tally, answer_reads, closed_address, record, scratch_dir,
    tally, within,
};

/// Long enough for a slow machine, short enough to call a hang a hang.
const PATIENCE: Duration = Duration::from_secs(60);

fn client(url: &str, spool: Option<&std::path::Path>) -> logbook_client::ClientBuilder {
    let builder = Client::builder(url, "lbk_test")
        .batch_size(50)
        .max_age(Duration::from_millis(20))
        .timeout(Duration::from_secs(1));
    match spool {
        Some(dir) => builder.spool_dir(dir),
        None => builder,
    }
}

fn all_delivered(sent: usize) -> Tally {
    Tally {
        sent,
        delivered: sent,
        duplicated: 0,
        counted_lost: 0,
        unaccounted: 0,
    }
}

/// Waits until the server has stored `n` distinct events.
async fn stored(server: &Misbehaving, n: usize) {
    within(PATIENCE, "delivery", async {
        loop {
            let unique: std::collections::HashSet<String> = server.stored().into_iter().collect();
            if unique.len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Clause 5: the whole exchange is bounded. A `200` whose body never comes is a failure
/// like any other; the batch, already stored, is sent again under its key and stored once;
/// later events go through.
#[tokio::test]
async fn a_stalled_answer_body_times_out_and_is_stored_once() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |n, _| match n {
        0 => Reply::StoreAndStallBody,
        _ => Reply::Store,
    })
    .await;
    let spool = scratch_dir("stalled");
    let client = client(&server.url(), Some(&spool)).build();
    let mut sent = record(&client, "stalled", 0..50);
    within(PATIENCE, "flush", client.flush()).await;
    sent.extend(record(&client, "after", 0..200));
    within(PATIENCE, "flush", client.flush()).await;
    stored(&server, 250).await;
    let counters = client.counters();
    within(PATIENCE, "shutdown", client.shutdown()).await;
    let attempts = server.attempts();
    assert_eq!(attempts[1].key, attempts[0].key, "the retry keeps its key");
    assert_eq!(
        tally(&counters, &server.stored(), &sent),
        all_delivered(250)
    );
}

/// Clause 5: a status line sent a byte a second is no answer within the timeout.
#[tokio::test]
async fn a_status_line_a_byte_a_second_times_out() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |n, _| match n {
        0 => Reply::StoreAndDribble,
        _ => Reply::Store,
    })
    .await;
    let spool = scratch_dir("dribble");
    let client = client(&server.url(), Some(&spool)).build();
    let sent = record(&client, "dribble", 0..120);
    within(PATIENCE, "flush", client.flush()).await;
    stored(&server, 120).await;
    assert!(client.counters().retried.load(Relaxed) > 0);
    assert_eq!(
        tally(&client.counters(), &server.stored(), &sent),
        all_delivered(120)
    );
}

/// Clause 9: an answer without end is read no further than its first 4 KiB, and the
/// batch counts as stored.
#[tokio::test]
async fn an_answer_without_end_is_read_no_further_than_its_limit() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| {
        Reply::StoreAndTalkForever
    })
    .await;
    let client = client(&server.url(), None).build();
    let sent = record(&client, "endless", 0..200);
    within(PATIENCE, "flush", client.flush()).await;
    assert_eq!(
        server.attempts().len(),
        4,
        "each batch sent once: its answer was taken"
    );
    assert_eq!(
        tally(&client.counters(), &server.stored(), &sent),
        all_delivered(200)
    );
}

/// A query's answer is read whole up to 16 MiB, and one without end is cut off there
/// with an error, not read into memory for ever.
#[tokio::test]
async fn a_query_answer_is_read_up_to_sixteen_mebibytes() {
    let limit = 16 * 1024 * 1024;
    for size in [2 * 1024 * 1024, limit] {
        let padding = "x".repeat(size - r#"{"total":7,"pad":""}"#.len());
        let body = format!(r#"{{"total":7,"pad":"{padding}"}}"#);
        assert_eq!(body.len(), size);
        let large = answer_reads(ReadAnswer::Json(body)).await;
        let client = client(&format!("http://{large}"), None).build();
        let summary = within(PATIENCE, "a large answer", client.summary(24)).await;
        assert_eq!(summary.unwrap()["total"], 7, "{size} bytes are read whole");
    }

    let endless = answer_reads(ReadAnswer::Endless).await;
    let client = self::client(&format!("http://{endless}"), None)
        .timeout(Duration::from_secs(30))
        .build();
    let error = within(PATIENCE, "an endless answer", client.summary(24))
        .await
        .unwrap_err();
    assert!(error.contains("longer than 16777216 bytes"), "{error}");
}

/// A query Logbook refuses fails with the status and the start of its explanation.
#[tokio::test]
async fn a_refused_query_says_why() {
    let detail = r#"{"title":"Forbidden","detail":"this key may not read"}"#;
    let refusing = answer_reads(ReadAnswer::Status(403, detail.into())).await;
    let client = client(&format!("http://{refusing}"), None).build();
    let error = within(PATIENCE, "a refusal", client.summary(24))
        .await
        .unwrap_err();
    assert!(
        error.starts_with("403") && error.contains(detail),
        "{error}"
    );
}

/// Clause 5: `Retry-After` is waited, live and when the spool is sent again; without one
/// the backoff grows (each wait at least half its backoff: 100, 200, 400 ms…).
#[tokio::test]
async fn retry_after_and_backoff_are_waited_live_and_from_the_spool() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |n, _| match n {
        0 => Reply::Status(503, Some(2)),
        1 => Reply::Status(429, Some(2)),
        2..=5 => Reply::Status(502, None),
        _ => Reply::Store,
    })
    .await;
    let spool = scratch_dir("retry-after");
    let client = client(&server.url(), Some(&spool)).batch_size(100).build();
    let sent = record(&client, "later", 0..100);
    stored(&server, 100).await;
    let at: Vec<_> = server.attempts().iter().map(|a| a.at).collect();
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[0] >= Duration::from_secs(2),
        "503's Retry-After, replayed from the spool: {gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_secs(2),
        "429's Retry-After: {gaps:?}"
    );
    // The backoff went on doubling under the Retry-Afters: 400, 800, 1600, 3200 ms.
    for (gap, backoff_ms) in gaps[2..].iter().zip([400, 800, 1600, 3200]) {
        assert!(
            *gap >= Duration::from_millis(backoff_ms / 2),
            "backoff {backoff_ms} ms: {gaps:?}"
        );
    }
    // Each wait is drawn from half the backoff to all of it; the last, from 1.6 s to
    // 3.2 s, with as much again for a slow machine.
    assert!(
        gaps[5] < Duration::from_millis(6400),
        "the jitter stays within the backoff: {gaps:?}"
    );
    assert!(
        at.len() == 7
            && server
                .attempts()
                .iter()
                .all(|a| a.key == server.attempts()[0].key)
    );
    assert_eq!(
        tally(&client.counters(), &server.stored(), &sent),
        all_delivered(100)
    );
}

/// Clause 6: a batch too large goes again in halves, until they fit; an event too large
/// alone is counted as rejected.
#[tokio::test]
async fn a_batch_too_large_is_sent_in_halves() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, attempt| {
        if attempt.ids.len() > 30 || attempt.ids.iter().any(|id| id == "halves-7") {
            Reply::Status(413, None)
        } else {
            Reply::Store
        }
    })
    .await;
    let client = client(&server.url(), None).batch_size(200).build();
    let sent = record(&client, "halves", 0..400);
    within(PATIENCE, "flush", client.flush()).await;
    assert_eq!(client.counters().rejected.load(Relaxed), 1);
    let Tally {
        delivered,
        duplicated,
        counted_lost,
        unaccounted,
        ..
    } = tally(&client.counters(), &server.stored(), &sent);
    assert_eq!(
        (delivered, duplicated, counted_lost, unaccounted),
        (399, 0, 1, 0)
    );
}

/// Clause 7: a refused key keeps the batch (in the spool) until a key works.
#[tokio::test]
async fn a_refused_key_keeps_the_batch_until_a_key_works() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |n, _| match n {
        0 | 1 => Reply::Status(401, None),
        2 | 3 => Reply::Status(403, None),
        _ => Reply::Store,
    })
    .await;
    let spool = scratch_dir("unauthorized");
    let client = client(&server.url(), Some(&spool)).batch_size(100).build();
    let sent = record(&client, "key", 0..100);
    stored(&server, 100).await;
    assert_eq!(client.counters().unauthorized.load(Relaxed), 400);
    assert_eq!(
        tally(&client.counters(), &server.stored(), &sent),
        all_delivered(100)
    );
}

/// Clauses 4 and 8: events the answer names are counted as rejected, one by one; a batch
/// refused with another 4xx is counted as rejected whole.
#[tokio::test]
async fn refused_events_are_counted_as_rejected() {
    // The third batch's answer names 40 events, more than its first 4 KiB hold.
    let long: Vec<String> = (110..150).map(|n| format!("refused-{n}")).collect();
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), move |_, attempt| {
        if attempt.ids.iter().any(|id| id == "refused-60") {
            Reply::Status(400, None)
        } else if attempt.ids.iter().any(|id| id == "refused-110") {
            Reply::StoreRejecting(long.clone())
        } else {
            Reply::StoreRejecting(vec!["refused-3".into(), "refused-7".into()])
        }
    })
    .await;
    let client = client(&server.url(), None).build();
    let sent = record(&client, "refused", 0..150);
    within(PATIENCE, "flush", client.flush()).await;
    let counters = client.counters();
    assert_eq!(
        (counters.sent.load(Relaxed), counters.rejected.load(Relaxed)),
        (48 + 10, 52 + 40)
    );
    let Tally {
        delivered,
        duplicated,
        unaccounted,
        ..
    } = tally(&client.counters(), &server.stored(), &sent);
    assert_eq!((delivered, duplicated, unaccounted), (58, 0, 0));
}

/// Clause 12: without a spool, three failures in a row drop the outbox, counted, and
/// flush does not wait for a server that is not there.
#[tokio::test]
async fn without_a_spool_three_failures_drop_and_count() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| {
        Reply::Status(503, None)
    })
    .await;
    let client = client(&server.url(), None).build();
    let sent = record(&client, "nowhere", 0..100);
    // While Logbook is away, what waits for it is settled for a flush.
    within(PATIENCE, "flush", client.flush()).await;
    let counters = client.counters();
    within(PATIENCE, "the third failure", async {
        while counters.dropped.load(Relaxed) < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    within(PATIENCE, "shutdown", client.shutdown()).await;
    assert_eq!(server.attempts().len(), 3);
    let Tally {
        delivered,
        counted_lost,
        unaccounted,
        ..
    } = tally(&counters, &server.stored(), &sent);
    assert_eq!((delivered, counted_lost, unaccounted), (0, 100, 0));
    assert_eq!(counters.dropped.load(Relaxed), 100);
}

/// Clauses 2, 3 and 13, and the crash window: against slow answers, batches wait on disk,
/// not in memory and not on the floor; only the batch being sent is memory-only; a close
/// gives up after `timeout` and keeps the rest for the next run.
#[tokio::test]
async fn slow_answers_send_batches_to_the_spool_and_a_close_keeps_them() {
    let slow = Arc::new(AtomicBool::new(true));
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), {
        let slow = slow.clone();
        move |_, _| match slow.load(Relaxed) {
            true => Reply::StoreSlowly(Duration::from_millis(700)),
            false => Reply::Store,
        }
    })
    .await;
    let spool = scratch_dir("slow");
    let client = client(&server.url(), Some(&spool)).build();
    let sent = record(&client, "slow", 0..1000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The crash window: all but the batch being sent is on disk.
    let on_disk = spooled_events(&spool);
    assert_eq!(on_disk, 950, "all but the batch being sent is on disk");
    let counters = client.counters();
    within(PATIENCE, "shutdown", client.shutdown()).await;
    assert_eq!(counters.dropped.load(Relaxed), 0);
    assert!(
        spooled_events(&spool) > 0,
        "the close kept what it could not send"
    );

    slow.store(false, Relaxed);
    let next_run = self::client(&server.url(), Some(&spool)).build();
    within(PATIENCE, "flush", next_run.flush()).await;
    stored(&server, 1000).await;
    assert_eq!(spooled_events(&spool), 0);
    let Tally {
        delivered,
        duplicated,
        unaccounted,
        ..
    } = tally(&counters, &server.stored(), &sent);
    assert_eq!((delivered, duplicated, unaccounted), (1000, 0, 0));
    assert_eq!(
        server.stored(),
        sent,
        "in the order recorded, across the restart"
    );
}

/// Clause 3: batches that waited in memory behind a failed attempt go to the spool ahead
/// of nothing and in their order, and the next run sends them in that order.
#[tokio::test]
async fn spooled_batches_keep_their_order_across_a_restart() {
    let away = Arc::new(AtomicBool::new(true));
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), {
        let away = away.clone();
        move |n, _| match (n, away.load(Relaxed)) {
            (0, _) => Reply::StoreAndDribble,
            (_, true) => Reply::Status(503, None),
            (_, false) => Reply::Store,
        }
    })
    .await;
    let spool = scratch_dir("restart-order");
    // Nothing is old enough to leave memory before the first attempt fails.
    let first_run = client(&server.url(), Some(&spool))
        .max_age(Duration::from_secs(30))
        .build();
    let sent = record(&first_run, "ordered", 0..500);
    let counters = first_run.counters();
    within(PATIENCE, "the first attempt's failure", async {
        while counters.retried.load(Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    within(PATIENCE, "shutdown", first_run.shutdown()).await;
    assert_eq!(spooled_events(&spool), 500);

    away.store(false, Relaxed);
    let next_run = client(&server.url(), Some(&spool)).build();
    within(PATIENCE, "flush", next_run.flush()).await;
    assert_eq!(server.stored(), sent, "in the order recorded, each once");
}

/// Clause 3: the spool holds no more than `spool_max_bytes`; what it cannot take is
/// dropped and counted (clause 12), none lost unaccounted.
#[tokio::test]
async fn the_spool_holds_no_more_than_its_bound() {
    let address = closed_address().await;
    let spool = scratch_dir("bounded");
    let bound = 1500;
    let client = client(&format!("http://{address}"), Some(&spool))
        .spool_max_bytes(bound)
        .build();
    record(&client, "bounded", 0..500);
    let counters = client.counters();
    within(PATIENCE, "every event kept or dropped", async {
        while spooled_events(&spool) + (counters.dropped.load(Relaxed) as usize) < 500 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let size: u64 = batch_files(&spool)
        .iter()
        .map(|file| std::fs::metadata(file).unwrap().len())
        .sum();
    assert!(size <= bound, "{size} bytes spooled");
    assert!(
        spooled_events(&spool) > 50 && counters.dropped.load(Relaxed) > 0,
        "several batches fit, not all"
    );
    assert_eq!(
        spooled_events(&spool) + counters.dropped.load(Relaxed) as usize,
        500
    );
}

/// Clauses 2 and 11: without a spool, batches wait for a slow server in memory up to
/// `outbox_max_bytes`, none lost; past the bound they are dropped, counted.
#[tokio::test]
async fn without_a_spool_a_slow_server_keeps_batches_in_memory_up_to_the_bound() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| {
        Reply::StoreSlowly(Duration::from_millis(100))
    })
    .await;
    let roomy = client(&server.url(), None)
        .outbox_max_bytes(64 * 1024)
        .build();
    let sent = record(&roomy, "roomy", 0..500);
    within(PATIENCE, "flush", roomy.flush()).await;
    assert_eq!(
        tally(&roomy.counters(), &server.stored(), &sent),
        all_delivered(500)
    );

    // Room for a few of the ten batches: those wait and arrive, the rest are dropped.
    let cramped = client(&server.url(), None).outbox_max_bytes(1024).build();
    let sent = record(&cramped, "cramped", 0..500);
    within(PATIENCE, "flush", cramped.flush()).await;
    let counters = cramped.counters();
    let Tally {
        delivered,
        counted_lost,
        unaccounted,
        ..
    } = tally(&counters, &server.stored(), &sent);
    assert!(
        delivered > 50 && counters.dropped.load(Relaxed) > 0,
        "{delivered} delivered"
    );
    assert_eq!((counted_lost as usize + delivered, unaccounted), (500, 0));
}

/// Clause 2: with a spool, a batch waits in memory behind the one being sent for
/// `max_age`, no less (the spool is for what has waited), then moves to the spool.
#[tokio::test]
async fn a_batch_waits_in_memory_no_longer_than_max_age() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| {
        Reply::StoreSlowly(Duration::from_secs(15))
    })
    .await;
    let spool = scratch_dir("max-age");
    let client = client(&server.url(), Some(&spool))
        .max_age(Duration::from_secs(4))
        .timeout(Duration::from_secs(20))
        .build();
    record(&client, "young", 0..500);
    // Past several checks of the outbox, none of its batches yet as old as max_age.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(spooled_events(&spool), 0, "young batches wait in memory");
    within(PATIENCE, "spooling", async {
        while spooled_events(&spool) < 450 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(spooled_events(&spool), 450, "all but the batch being sent");
}

/// Clauses 3 and 13, and flush: batches are delivered oldest first, whichever way they
/// went (memory, spool, back to the spool after a failure); a flush waits for its own;
/// a close goes on delivering within `timeout`.
#[tokio::test]
async fn batches_arrive_in_order_and_a_close_delivers_within_its_timeout() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |n, _| match n {
        0 => Reply::Status(503, None),
        _ => Reply::StoreSlowly(Duration::from_millis(30)),
    })
    .await;
    let spool = scratch_dir("order");
    let client = client(&server.url(), Some(&spool))
        .outbox_max_bytes(1024)
        .timeout(Duration::from_secs(20))
        .build();
    let mut sent = record(&client, "first", 0..300);
    within(PATIENCE, "the failure", async {
        while server.attempts().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    sent.extend(record(&client, "order", 0..700));
    within(PATIENCE, "the spool's delivery", async {
        while client.counters().sent.load(Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    within(PATIENCE, "flush", client.flush()).await;
    let stored = server.stored();
    assert_eq!(
        stored.len(),
        1000,
        "the flush waited for every event before it"
    );
    sent.extend(record(&client, "last", 0..500));
    let counters = client.counters();
    within(PATIENCE, "shutdown", client.shutdown()).await;
    assert_eq!(spooled_events(&spool), 0, "the close delivered the spool");
    assert!(counters.spooled.load(Relaxed) > 0, "some went by the spool");
    assert_eq!(server.stored(), sent, "in the order recorded, each once");
}

/// Clause 13 and shutdown: an exchange under way when the close's time is up is cut
/// short, and its batch kept under its key, stored once when sent again.
#[tokio::test]
async fn a_close_cuts_short_an_exchange_when_its_time_is_up() {
    let slow = Arc::new(AtomicBool::new(true));
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), {
        let slow = slow.clone();
        move |_, _| match slow.load(Relaxed) {
            true => Reply::StoreSlowly(Duration::from_millis(2500)),
            false => Reply::Store,
        }
    })
    .await;
    let spool = scratch_dir("cut-short");
    let client = client(&server.url(), Some(&spool))
        .timeout(Duration::from_secs(3))
        .build();
    let sent = record(&client, "cut", 0..500);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counters = client.counters();
    let closed = std::time::Instant::now();
    within(PATIENCE, "shutdown", client.shutdown()).await;
    let took = closed.elapsed();
    // The second exchange starts about 2 s into the close and would end 2.5 s later.
    assert!(
        took < Duration::from_millis(4000),
        "the close took {took:?}"
    );
    assert_eq!(counters.dropped.load(Relaxed), 0);
    let delivered_then = counters.sent.load(Relaxed) as usize;
    assert_eq!(spooled_events(&spool) + delivered_then, 500);

    slow.store(false, Relaxed);
    let next_run = self::client(&server.url(), Some(&spool)).build();
    within(PATIENCE, "flush", next_run.flush()).await;
    let Tally {
        delivered,
        duplicated,
        unaccounted,
        ..
    } = tally(&counters, &server.stored(), &sent);
    assert_eq!((delivered, duplicated, unaccounted), (500, 0, 0));
}

/// Flush under load: events recorded after a flush do not hold it up, however slow the
/// server and however much is spooled.
#[tokio::test]
async fn a_flush_under_steady_load_waits_only_for_what_came_before_it() {
    let server = Misbehaving::start("127.0.0.1:0".parse().unwrap(), |_, _| {
        Reply::StoreSlowly(Duration::from_millis(300))
    })
    .await;
    let spool = scratch_dir("steady");
    let client = client(&server.url(), Some(&spool)).build();
    let before = record(&client, "before", 0..10);
    let load = tokio::spawn({
        let client = client.clone();
        async move {
            for round in 0.. {
                record(&client, &format!("load-{round}"), 0..50);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    within(PATIENCE, "flush", client.flush()).await;
    load.abort();
    let stored = server.stored();
    assert!(
        before.iter().all(|id| stored.contains(id)),
        "its own events are in"
    );
}

/// Clause 13 and shutdown: closed while Logbook is away, the client does not spend its
/// `timeout` retrying; it keeps everything in the spool and stops.
#[tokio::test]
async fn a_close_while_logbook_is_away_keeps_everything_and_stops() {
    let address = closed_address().await;
    let spool = scratch_dir("away-close");
    let client = client(&format!("http://{address}"), Some(&spool))
        .timeout(Duration::from_secs(30))
        .build();
    record(&client, "kept", 0..200);
    let counters = client.counters();
    let started = std::time::Instant::now();
    within(PATIENCE, "shutdown", client.shutdown()).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the close waited {:?}, as if Logbook might still answer",
        started.elapsed()
    );
    assert_eq!(spooled_events(&spool), 200);
    assert_eq!(counters.dropped.load(Relaxed), 0);
}

/// The spool's own words: a file that cannot be read back (one deleted under the client,
/// one truncated) is set aside and counted, and the spool goes on with the rest.
#[tokio::test]
async fn unreadable_spool_files_are_set_aside_and_the_rest_is_sent() {
    let address = closed_address().await;
    let spool = scratch_dir("unreadable");
    let client = client(&format!("http://{address}"), Some(&spool)).build();
    let sent = record(&client, "kept", 0..500);
    within(PATIENCE, "flush", client.flush()).await;
    let mut files = batch_files(&spool);
    assert_eq!(
        files.len(),
        10,
        "every batch spooled while the server was away"
    );
    files.sort();
    std::fs::remove_file(&files[0]).unwrap();
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..bytes.len() / 2]).unwrap();

    let server = Misbehaving::start(address, |_, _| Reply::Store).await;
    stored(&server, 400).await;
    let later = record(&client, "later", 0..100);
    within(PATIENCE, "flush", client.flush()).await;
    stored(&server, 500).await;
    assert_eq!(client.counters().quarantined.load(Relaxed), 100);
    assert_eq!(
        std::fs::read_dir(spool.join("quarantine")).unwrap().count(),
        1
    );
    // The spool's files are named in the order of their batches: the two set aside were
    // the oldest, and the rest arrived in the order recorded.
    assert_eq!(server.stored()[..400], sent[100..]);
    let sent: Vec<String> = sent.into_iter().chain(later).collect();
    let Tally {
        delivered,
        duplicated,
        counted_lost,
        unaccounted,
        ..
    } = tally(&client.counters(), &server.stored(), &sent);
    assert_eq!(
        (delivered, duplicated, counted_lost, unaccounted),
        (500, 0, 100, 0)
    );
}

/// Clause 11: a disk that refuses the write (a 64 KiB tmpfs) drops the batch, counted, and
/// says why; what was spooled is sent once the server is back. The spool runs in a child
/// process with a mount namespace of its own, where it can mount the tmpfs.
#[test]
fn a_full_disk_drops_and_counts_and_says_why() {
    if std::env::var_os("LOGBOOK_CLIENT_FULL_DISK").is_some() {
        return;
    }
    let dir = scratch_dir("full-disk");
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs {dir} && exec {exe} --exact full_disk_child --ignored --nocapture",
        dir = dir.display(),
        exe = std::env::current_exe().unwrap().display()
    );
    let can_mount = std::process::Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            &format!("mount -t tmpfs tmpfs {}", dir.display()),
        ])
        .status()
        .is_ok_and(|status| status.success());
    if !can_mount {
        // Where user namespaces are off this cannot be tested; in CI it must be.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI cannot mount a tmpfs: this test must run there"
        );
        eprintln!("cannot mount a tmpfs here (no unshare or user namespaces): not tested");
        return;
    }
    let output = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .env("LOGBOOK_CLIENT_FULL_DISK", &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test: {stdout}"
    );
    assert!(
        stderr.contains("No space left on device"),
        "the log says why: {stderr}"
    );
    assert!(
        !stderr.contains("size bound"),
        "not mistaken for the spool's bound: {stderr}"
    );
}

#[tokio::test]
#[ignore = "run by a_full_disk_drops_and_counts_and_says_why in its own mount namespace"]
async fn full_disk_child() {
    let Some(spool) = std::env::var_os("LOGBOOK_CLIENT_FULL_DISK") else {
        return;
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let spool = std::path::PathBuf::from(spool);
    let address = closed_address().await;
    // Ids that do not compress, so 64 KiB fills.
    let client = client(&format!("http://{address}"), Some(&spool)).build();
    let sent: Vec<String> = (0..3000)
        .map(|n| {
            let id = format!("disk-{n}-{}", uuid::Uuid::new_v4());
            client.record(logbook_client::Event::new("REQUEST").request_id(id.clone()));
            id
        })
        .collect();
    within(PATIENCE, "flush", client.flush()).await;
    let dropped = client.counters().dropped.load(Relaxed);
    assert!(
        dropped > 0 && dropped < 3000,
        "some spooled, the rest dropped: {dropped}"
    );

    let server = Misbehaving::start(address, |_, _| Reply::Store).await;
    stored(&server, 3000 - dropped as usize).await;
    let Tally {
        duplicated,
        unaccounted,
        delivered,
        ..
    } = tally(&client.counters(), &server.stored(), &sent);
    assert_eq!(
        (duplicated, unaccounted, delivered as u64),
        (0, 0, 3000 - dropped)
    );
}

fn batch_files(spool: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(spool)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".ndjson.gz"))
        .collect()
}

/// Events in the spool's files, from their names (`…_{events}.ndjson.gz`).
fn spooled_events(spool: &std::path::Path) -> usize {
    batch_files(spool)
        .iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            name.strip_suffix(".ndjson.gz")?
                .rsplit_once('_')?
                .1
                .parse::<usize>()
                .ok()
        })
        .sum()
}

//! A batch as it travels: gzip-compressed NDJSON with its idempotency key, so a batch sent
//! twice (a retry, a replay after a restart) is stored once.

use std::io::{Read, Write};

use bytes::Bytes;

use crate::Event;

#[derive(Clone, Debug)]
pub struct Batch {
    /// The order batches were made in; its halves share it.
    pub seq: u64,
    pub key: String,
    pub body: Bytes,
    pub events: usize,
    /// When it was made (or read back from the spool).
    pub made: std::time::Instant,
}

impl Batch {
    pub fn of(seq: u64, events: &[Event]) -> Self {
        let lines: Vec<String> = events.iter().map(Event::to_json).collect();
        Self {
            seq,
            key: uuid::Uuid::new_v4().to_string(),
            body: gzip_lines(&lines),
            events: events.len(),
            made: std::time::Instant::now(),
        }
    }

    /// The batch in two halves, for a server that found it too large; `None` for a batch
    /// of one event (or one that does not decompress). Each half has a key of its own,
    /// made from the batch's, so a retried half is still stored once.
    pub fn halves(&self) -> Option<(Self, Self)> {
        if self.events < 2 {
            return None;
        }
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&self.body[..])
            .read_to_string(&mut text)
            .ok()?;
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let (first, second) = lines.split_at(lines.len() / 2);
        let half = |lines: &[String], n: u8| Self {
            seq: self.seq,
            key: format!("{}.{n}", self.key),
            body: gzip_lines(lines),
            events: lines.len(),
            made: self.made,
        };
        Some((half(first, 1), half(second, 2)))
    }
}

fn gzip_lines(lines: &[String]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for line in lines {
        let _ = writeln!(encoder, "{line}");
    }
    Bytes::from(encoder.finish().expect("gzip into memory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_hold_every_event_once_under_keys_of_their_own() {
        let events: Vec<Event> = (0..5)
            .map(|i| Event::new("REQUEST").message(format!("m{i}")))
            .collect();
        let batch = Batch::of(7, &events);
        let (a, b) = batch.halves().unwrap();
        assert_eq!((a.events, b.events, a.seq, b.seq), (2, 3, 7, 7));
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with(&batch.key));
        let text = |batch: &Batch| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&batch.body[..])
                .read_to_string(&mut text)
                .unwrap();
            text
        };
        assert_eq!(text(&a) + &text(&b), text(&batch));
        assert!(Batch::of(1, &events[..1]).halves().is_none());
    }
}

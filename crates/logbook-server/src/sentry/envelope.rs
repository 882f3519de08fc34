//! The Sentry envelope framing (develop.sentry.dev/sdk/data-model/envelopes): a JSON
//! header line, then items, each a JSON header line and a payload — `length` bytes when
//! the header gives a length, else up to the next newline. Only the framing is read here;
//! payloads are JSON read by serde. Item types Logbook does not store (sessions,
//! transactions, attachments, client reports…) are framed and skipped, never refused.

use serde::Deserialize;

/// Most items one envelope may hold (SDKs send one event with a few attachments).
pub const MAX_ITEMS: usize = 100;

/// One item: its type and its payload bytes.
pub struct Item<'a> {
    pub kind: String,
    pub payload: &'a [u8],
}

#[derive(Deserialize)]
struct ItemHeader {
    #[serde(rename = "type")]
    kind: String,
    length: Option<u64>,
}

/// The envelope's items, or why it is not an envelope.
pub fn items(body: &[u8]) -> Result<Vec<Item<'_>>, String> {
    let (header, mut rest) = line(body);
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(header)
        .map_err(|e| format!("the envelope header is not a JSON object: {e}"))?;
    let mut items = Vec::new();
    loop {
        while let [b'\n' | b'\r', tail @ ..] = rest {
            rest = tail;
        }
        if rest.is_empty() {
            return Ok(items);
        }
        if items.len() == MAX_ITEMS {
            return Err(format!("an envelope holds at most {MAX_ITEMS} items"));
        }
        let (header, after) = line(rest);
        let header: ItemHeader = serde_json::from_slice(header)
            .map_err(|e| format!("item {}: its header is not valid: {e}", items.len()))?;
        let (payload, after) = match header.length {
            Some(length) => {
                let length = usize::try_from(length)
                    .ok()
                    .filter(|n| *n <= after.len())
                    .ok_or_else(|| {
                        format!(
                            "item {}: its length {length} runs past the envelope's end",
                            items.len()
                        )
                    })?;
                after.split_at(length)
            }
            None => line(after),
        };
        items.push(Item {
            kind: header.kind,
            payload,
        });
        rest = after;
    }
}

/// The bytes up to the first newline, and those after it.
fn line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(body: &[u8]) -> Vec<(String, Vec<u8>)> {
        items(body)
            .unwrap()
            .into_iter()
            .map(|i| (i.kind, i.payload.to_vec()))
            .collect()
    }

    #[test]
    fn items_with_and_without_a_length() {
        let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n\
            {\"type\":\"attachment\",\"length\":10}\n\xef\xbb\xbfHello\r\n\n\
            {\"type\":\"event\"}\n{\"message\":\"hi\"}\n";
        assert_eq!(
            kinds(body),
            vec![
                ("attachment".to_owned(), b"\xef\xbb\xbfHello\r\n".to_vec()),
                ("event".to_owned(), b"{\"message\":\"hi\"}".to_vec()),
            ]
        );
        assert_eq!(
            kinds(b"{}\n{\"type\":\"session\"}\n{}"),
            vec![("session".to_owned(), b"{}".to_vec())],
            "the last payload may end without a newline"
        );
        assert!(kinds(b"{}").is_empty());
        assert!(kinds(b"{}\n\n").is_empty());
    }

    #[test]
    fn broken_envelopes_are_refused_with_a_reason() {
        let refused = |body: &[u8]| items(body).err().unwrap();
        assert!(refused(b"").contains("header"));
        assert!(refused(b"[1]\n").contains("header"));
        assert!(refused(b"{}\n{\"length\":2}\nab").contains("item 0"));
        assert!(refused(b"{}\n{\"type\":\"event\",\"length\":99}\nab").contains("runs past"));
        assert!(
            refused(b"{}\n{\"type\":\"event\",\"length\":18446744073709551615}\nab")
                .contains("runs past")
        );
        let many = format!(
            "{{}}\n{}",
            "{\"type\":\"x\",\"length\":0}\n".repeat(MAX_ITEMS + 1)
        );
        assert!(refused(many.as_bytes()).contains("at most"));
        let enough = format!(
            "{{}}\n{}",
            "{\"type\":\"x\",\"length\":0}\n".repeat(MAX_ITEMS)
        );
        assert_eq!(items(enough.as_bytes()).unwrap().len(), MAX_ITEMS);
    }

    /// A bounded fuzzer: mutated envelopes never panic the framing or the event reader,
    /// and every payload found lies inside the body.
    #[test]
    fn mutated_envelopes_never_panic() {
        let seed: &[u8] = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n\
            {\"type\":\"event\",\"length\":61}\n\
            {\"exception\":{\"values\":[{\"type\":\"E\",\"value\":\"v\"}]},\"level\":1}\n\
            {\"type\":\"attachment\",\"length\":3}\nabc\n{\"type\":\"event\"}\n{\"user\":{\"id\":[1]}}";
        let tokens: [&[u8]; 8] = [
            b"\n",
            b"{",
            b"}",
            b"\"length\":",
            b"99999999999",
            b"\"type\"",
            b"[",
            b"\\",
        ];
        let mut state = 0x5eed_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..50_000 {
            let mut body = seed.to_vec();
            for _ in 0..(next() % 6) {
                let at = (next() as usize) % (body.len() + 1);
                match next() % 4 {
                    0 if at < body.len() => body[at] = next() as u8,
                    1 if at < body.len() => {
                        body.remove(at);
                    }
                    2 => body.truncate(at),
                    _ => {
                        let token = tokens[(next() as usize) % tokens.len()];
                        body.splice(at..at, token.iter().copied());
                    }
                }
            }
            if let Ok(items) = items(&body) {
                assert!(items.len() <= MAX_ITEMS);
                for item in items {
                    let range = body.as_ptr_range();
                    assert!(item.payload.is_empty() || range.contains(&item.payload.as_ptr()));
                    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(item.payload) {
                        let _ = super::super::event::report(&value, "1");
                    }
                }
            }
        }
    }
}

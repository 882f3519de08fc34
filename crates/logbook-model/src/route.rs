//! The endpoint a request went to, as a route template: `/items/{id}` rather than
//! `/items/8412` and `/items/8413`, so performance figures group by endpoint, not by
//! every id ever requested.

use std::borrow::Cow;

use crate::event::Limits;

/// What stands for an id in a template.
pub const ID: &str = "{id}";

/// The endpoint of a request: the route the application matched (the client layer sends
/// it as `metadata.route`) when it is given and not longer than a path may be, else the
/// path without its query, each segment that looks like an id collapsed to `{id}`.
pub fn endpoint<'a>(matched: Option<&'a str>, path: &'a str) -> Cow<'a, str> {
    match matched {
        Some(route) if !route.is_empty() && route.len() <= Limits::REQUEST_PATH => {
            Cow::Borrowed(route)
        }
        _ => template(path),
    }
}

/// `path` without its query or fragment, segments that look like ids as `{id}`.
pub fn template(path: &str) -> Cow<'_, str> {
    let path = path
        .split_once(['?', '#'])
        .map_or(path, |(before, _)| before);
    if !path.split('/').any(looks_like_id) {
        return Cow::Borrowed(path);
    }
    let mut template = String::with_capacity(path.len() + ID.len());
    for (index, segment) in path.split('/').enumerate() {
        if index > 0 {
            template.push('/');
        }
        template.push_str(if looks_like_id(segment) { ID } else { segment });
    }
    Cow::Owned(template)
}

/// Numbers, UUIDs, long hex strings, and long tokens mixing letters and digits (object
/// ids, hashes, slugs with ids): what an application puts in a path to name one thing.
fn looks_like_id(segment: &str) -> bool {
    if segment.is_empty() {
        return false;
    }
    let digits = segment.bytes().filter(u8::is_ascii_digit).count();
    let hex = segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    digits == segment.len()
        || (hex && digits > 0 && segment.len() >= 8)
        || (digits >= 2
            && segment.len() >= 16
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths_collapse_and_words_stay() {
        for (path, expected) in [
            ("/items/8412", "/items/{id}"),
            ("/items/8412/notes/7?page=2", "/items/{id}/notes/{id}"),
            (
                "/users/3f2b8c1e-9d4a-4c1b-8e2f-0a1b2c3d4e5f/profile",
                "/users/{id}/profile",
            ),
            ("/blobs/9f86d081884c7d65", "/blobs/{id}"),
            ("/orders/ord_2xYk39Qa81bZpL0w", "/orders/{id}"),
            ("/api/v1/health", "/api/v1/health"),
            ("/api/v2/deadbeef", "/api/v2/deadbeef"),
            ("/search#results", "/search"),
            // Short hex with a digit (or a dash) is an id; short words and mixes are not.
            ("/blobs/9f86d081", "/blobs/{id}"),
            ("/v/ab12-cd34", "/v/{id}"),
            ("/tags/a1b2c3gz", "/tags/a1b2c3gz"),
            ("/x/abc1", "/x/abc1"),
            ("/p/ab12xy", "/p/ab12xy"),
            (
                "/files/report.2024.v12345.pdf",
                "/files/report.2024.v12345.pdf",
            ),
            ("/", "/"),
            ("", ""),
        ] {
            assert_eq!(template(path), expected, "{path}");
        }
        assert!(matches!(template("/api/v1/items"), Cow::Borrowed(_)));
    }

    #[test]
    fn any_path_templates_without_panic_once_and_for_all() {
        // A small alphabet of what paths are made of, in every mix a generator reaches.
        let alphabet = [
            '/', '1', '9', 'a', 'f', 'z', '-', '_', '?', '#', '%', '{', 'é', '0',
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let len = (state % 40) as usize;
            let path: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let once = template(&path).into_owned();
            assert_eq!(template(&once), once, "{path:?}");
            assert!(!once.contains(['?', '#']), "{path:?}");
            assert!(once.len() <= path.len() * 4, "{path:?}");
        }
    }

    #[test]
    fn a_matched_route_wins_unless_empty_or_too_long() {
        assert_eq!(
            endpoint(Some("/items/{item}"), "/items/12"),
            "/items/{item}"
        );
        assert_eq!(endpoint(Some(""), "/items/12"), "/items/{id}");
        assert_eq!(endpoint(None, "/items/12"), "/items/{id}");
        let long = "/x".repeat(Limits::REQUEST_PATH);
        assert_eq!(endpoint(Some(&long), "/items/12"), "/items/{id}");
    }
}

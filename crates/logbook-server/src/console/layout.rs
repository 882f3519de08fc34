//! The page shell and the small pieces every page draws with.

use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::{api::Refusal, session::Session};

/// The console's sections, in the order of its navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Events,
    Audit,
    Errors,
    Performance,
    Alerts,
    Monitors,
    Dashboards,
    Admin,
}

const SECTIONS: [(Section, &str, &str); 9] = [
    (Section::Overview, "Overview", "/console"),
    (Section::Events, "Events", "/console/events"),
    (Section::Audit, "Audit trail", "/console/audit"),
    (Section::Errors, "Errors", "/console/errors"),
    (Section::Performance, "Performance", "/console/performance"),
    (Section::Alerts, "Alerts", "/console/alerts"),
    (Section::Monitors, "Monitors", "/console/monitors"),
    (Section::Dashboards, "Dashboards", "/console/dashboards"),
    (Section::Admin, "Admin", "/console/admin"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Logbook" }
            link rel="icon" href="/console/assets/icon.svg" type="image/svg+xml";
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A whole page for a signed-in person.
pub fn page(session: &Session, section: Section, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console" { "Logbook" }
                    nav aria-label="Sections" {
                        ul {
                            @for (each, name, href) in SECTIONS {
                                @if each != Section::Admin || session.is_admin() {
                                    li {
                                        @if each == section {
                                            a href=(href) aria-current="page" { (name) }
                                        } @else {
                                            a href=(href) { (name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    form.sign-out method="post" action="/console/sign-out" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// The sign-in form, with a message when the last try failed.
pub fn sign_in(status: StatusCode, csrf: &str, next: &str, message: Option<&str>) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head("Sign in"))
            body.narrow {
                main #main {
                    h1 { "Sign in to Logbook" }
                    @if let Some(message) = message {
                        p.error role="alert" { (message) }
                    }
                    form method="post" action="/console/sign-in" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="next" value=(next);
                        label for="key" { "API key" }
                        input #key type="password" name="key" autocomplete="off" required
                            placeholder="lbk_…" autofocus;
                        p.hint { "A key with the read scope; admin pages need the admin scope. \
                                  The first start of the server printed an admin key." }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// A page saying why something could not be done.
pub fn refusal(status: StatusCode, detail: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head("Not possible"))
            body.narrow {
                main #main {
                    h1 { (status.canonical_reason().unwrap_or("Error")) }
                    p.error role="alert" { (detail) }
                    p { a href="/console" { "Back to the overview" } }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// What a page answers when the API refused it: to sign in again when the key is no
/// longer good, else the API's own words.
pub fn refused(refusal: Refusal) -> Response {
    if refusal.status == StatusCode::UNAUTHORIZED {
        return axum::response::Redirect::to("/console/sign-in").into_response();
    }
    self::refusal(refusal.status, &refusal.detail)
}

/// A time as UTC, which the page's script shows in the viewer's zone (UTC on hover).
pub fn time(value: &Value) -> Markup {
    match value.as_str() {
        Some(at) => html! {
            time datetime=(at) title=(format!("{at} UTC")) { (short_utc(at)) }
        },
        None => html! { "—" },
    }
}

/// `2026-12-05T18:41:42.224224Z` as `2026-12-05 18:41:42 UTC`.
fn short_utc(at: &str) -> String {
    match at.get(..19) {
        Some(head) if at.len() > 19 => format!("{} UTC", head.replace('T', " ")),
        _ => at.to_owned(),
    }
}

/// A value as text: strings as they are, numbers and booleans written, nothing as a dash.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        },
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        other => other.to_string(),
    }
}

/// A count with thousands separated.
pub fn count(value: &Value) -> String {
    let Some(n) = value.as_i64() else {
        return text(value);
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// JSON as a nested list: objects' keys as terms, arrays as numbered items.
pub fn tree(value: &Value) -> Markup {
    match value {
        Value::Object(fields) if !fields.is_empty() => html! {
            dl.tree {
                @for (name, inner) in fields {
                    dt { (name) }
                    dd { (tree(inner)) }
                }
            }
        },
        Value::Array(items) if !items.is_empty() => html! {
            ol.tree start="0" {
                @for item in items { li { (tree(item)) } }
            }
        },
        Value::String(s) => html! { code { (s) } },
        other => html! { code { (other.to_string()) } },
    }
}

/// A row of summary cards.
pub fn cards(items: &[(&str, String)]) -> Markup {
    html! {
        ul.cards {
            @for (label, figure) in items {
                li { span.figure { (figure) } span.label { (label) } }
            }
        }
    }
}

/// A form's hidden CSRF field.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

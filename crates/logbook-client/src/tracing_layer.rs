//! A `tracing` layer: every tracing event at or above a level becomes a Logbook event of
//! type LOG, with its level as severity, its `message` as message, its other fields and
//! target under metadata.
//!
//! ```no_run
//! # fn demo(client: logbook_client::Client) {
//! use tracing_subscriber::prelude::*;
//! let layer = logbook_client::tracing_layer::LogbookTracingLayer::new(client, tracing::Level::WARN);
//! tracing_subscriber::registry().with(layer).init();
//! # }
//! ```

use serde_json::{Map, Value, json};
use tracing::{Level, Subscriber, field::Field};
use tracing_subscriber::{Layer, layer::Context};

use crate::{Client, Event};

pub struct LogbookTracingLayer {
    client: Client,
    min: Level,
}

impl LogbookTracingLayer {
    /// Sends events of level `min` and more severe.
    pub fn new(client: Client, min: Level) -> Self {
        Self { client, min }
    }
}

fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG | Level::TRACE => "debug",
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    other: Map<String, Value>,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, json!(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, json!(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, json!(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, json!(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, json!(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, json!(format!("{value:?}")));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.other.insert(field.name().to_owned(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for LogbookTracingLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        // Level ordering in tracing: ERROR < WARN < … < TRACE, "more verbose is greater".
        if *metadata.level() > self.min || metadata.target().starts_with("logbook_client") {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields
            .other
            .insert("target".into(), json!(metadata.target()));
        let mut logged = Event::new("LOG")
            .severity(severity(metadata.level()))
            .metadata(Value::Object(fields.other));
        if let Some(message) = fields.message {
            logged = logged.message(message);
        }
        self.client.record(logged);
    }
}

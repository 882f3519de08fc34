//! Just enough protobuf to read OTLP logs: the wire format's four kinds of field, and
//! the messages of `ExportLogsServiceRequest`. Unknown fields are skipped, as protobuf
//! readers must, so newer senders still work.

use serde_json::{Map, Value, json};

use super::Record;

pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    /// Read past: no field Logbook maps is 32-bit.
    Fixed32,
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

type Result<T> = std::result::Result<T, String>;

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or("field runs past the end")?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The next field, or `None` at the end of the message.
    pub fn field(&mut self) -> Result<Option<(u64, Wire<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
                Wire::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Wire::Fixed32
            }
            other => return Err(format!("unsupported wire type {other}")),
        };
        Ok(Some((key >> 3, wire)))
    }
}

fn text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string field is not UTF-8".into())
}

/// `ExportLogsServiceRequest` → records.
pub fn decode(body: &[u8]) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    let mut request = Reader::new(body);
    while let Some((number, wire)) = request.field()? {
        if let (1, Wire::Bytes(resource_logs)) = (number, wire) {
            resource_logs_into(resource_logs, &mut records)?;
        }
    }
    Ok(records)
}

fn resource_logs_into(buf: &[u8], records: &mut Vec<Record>) -> Result<()> {
    let mut resource = Map::new();
    let mut scopes: Vec<&[u8]> = Vec::new();
    let mut reader = Reader::new(buf);
    while let Some((number, wire)) = reader.field()? {
        match (number, wire) {
            (1, Wire::Bytes(r)) => {
                let mut fields = Reader::new(r);
                while let Some((n, w)) = fields.field()? {
                    if let (1, Wire::Bytes(kv)) = (n, w) {
                        let (key, value) = key_value(kv)?;
                        resource.insert(key, value);
                    }
                }
            }
            (2, Wire::Bytes(scope_logs)) => scopes.push(scope_logs),
            _ => {}
        }
    }
    for scope_logs in scopes {
        let mut scope = None;
        let mut reader = Reader::new(scope_logs);
        let mut logs = Vec::new();
        while let Some((number, wire)) = reader.field()? {
            match (number, wire) {
                (1, Wire::Bytes(s)) => {
                    let mut fields = Reader::new(s);
                    while let Some((n, w)) = fields.field()? {
                        if let (1, Wire::Bytes(name)) = (n, w) {
                            scope = Some(text(name)?);
                        }
                    }
                }
                (2, Wire::Bytes(log)) => logs.push(log),
                _ => {}
            }
        }
        for log in logs {
            let mut record = log_record(log)?;
            record.resource = resource.clone();
            record.scope = scope.clone();
            records.push(record);
        }
    }
    Ok(())
}

fn log_record(buf: &[u8]) -> Result<Record> {
    let mut record = Record::default();
    let mut reader = Reader::new(buf);
    while let Some((number, wire)) = reader.field()? {
        match (number, wire) {
            (1, Wire::Fixed64(t)) => record.time_nanos = t,
            (2, Wire::Varint(n)) => record.severity_number = n as i64,
            (3, Wire::Bytes(t)) => record.severity_text = text(t)?,
            (5, Wire::Bytes(b)) => record.body = Some(any_value(b)?),
            (6, Wire::Bytes(kv)) => {
                let (key, value) = key_value(kv)?;
                record.attributes.insert(key, value);
            }
            (9, Wire::Bytes(id)) => record.trace_id = id.to_vec(),
            (10, Wire::Bytes(id)) => record.span_id = id.to_vec(),
            (11, Wire::Fixed64(t)) => record.observed_nanos = t,
            (12, Wire::Bytes(name)) => record.event_name = Some(text(name)?),
            _ => {}
        }
    }
    Ok(record)
}

fn key_value(buf: &[u8]) -> Result<(String, Value)> {
    let (mut key, mut value) = (String::new(), Value::Null);
    let mut reader = Reader::new(buf);
    while let Some((number, wire)) = reader.field()? {
        match (number, wire) {
            (1, Wire::Bytes(k)) => key = text(k)?,
            (2, Wire::Bytes(v)) => value = any_value(v)?,
            _ => {}
        }
    }
    Ok((key, value))
}

fn any_value(buf: &[u8]) -> Result<Value> {
    let mut value = Value::Null;
    let mut reader = Reader::new(buf);
    while let Some((number, wire)) = reader.field()? {
        value = match (number, wire) {
            (1, Wire::Bytes(s)) => Value::String(text(s)?),
            (2, Wire::Varint(b)) => Value::Bool(b != 0),
            (3, Wire::Varint(i)) => json!(i as i64),
            (4, Wire::Fixed64(bits)) => json!(f64::from_bits(bits)),
            (5, Wire::Bytes(array)) => {
                let mut items = Vec::new();
                let mut values = Reader::new(array);
                while let Some((n, w)) = values.field()? {
                    if let (1, Wire::Bytes(item)) = (n, w) {
                        items.push(any_value(item)?);
                    }
                }
                Value::Array(items)
            }
            (6, Wire::Bytes(list)) => {
                let mut map = Map::new();
                let mut values = Reader::new(list);
                while let Some((n, w)) = values.field()? {
                    if let (1, Wire::Bytes(kv)) = (n, w) {
                        let (k, v) = key_value(kv)?;
                        map.insert(k, v);
                    }
                }
                Value::Object(map)
            }
            (7, Wire::Bytes(bytes)) => Value::String(logbook_model::hex::encode(bytes)),
            _ => value,
        };
    }
    Ok(value)
}

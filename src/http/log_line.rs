//! The local server's text log line, as `tracing-subscriber`'s compact format lays it out
//! (`<time> <level> <target>: <message> <name>=<value> ...`), written straight into the line
//! buffer.
//!
//! The subscriber's own compact format styled every part through `nu_ansi_term` even with
//! colour off, padded and escaped each field through `fmt` wrappers and printed its own
//! timestamp type: about 1.6 µs (12,600 instructions) a line, one line per request, the
//! largest single cost of a lookup after its rendering. This one writes the same text.
//! Control characters in values are escaped, as the subscriber's format does, so a logged
//! value cannot start a line of its own or send terminal escapes. The service opens no spans,
//! so there is no span context to print.

use std::fmt::{self, Write as _};

use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The compact text line.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CompactLine;

impl<S, N> FormatEvent<S, N> for CompactLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write_timestamp(&mut writer, OffsetDateTime::now_utc())?;
        write!(writer, " {:>5} {}:", meta.level(), meta.target())?;
        let mut fields = Fields {
            out: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// `2026-12-02T07:17:20.123456Z`: RFC 3339 in UTC, to the microsecond.
fn write_timestamp(out: &mut impl fmt::Write, t: OffsetDateTime) -> fmt::Result {
    write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Writes each field as ` name=value` (the message as ` value`). Text is escaped; numbers
/// and booleans cannot need it.
struct Fields<'a, 'w> {
    out: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.name(field).and_then(|()| value(self.out));
        }
    }

    fn name(&mut self, field: &Field) -> fmt::Result {
        self.out.write_char(' ')?;
        match field.name() {
            "message" => Ok(()),
            name => {
                self.out.write_str(name)?;
                self.out.write_char('=')
            }
        }
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |out| Escaped(out).write_str(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |out| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |out| write!(Escaped(out), "{value:?}"));
    }
}

/// Passes text through with control characters escaped (`\n`, `\r`, `\t`, `\u{1b}`).
struct Escaped<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Control characters are C0 (below 0x20), DEL, and C1, whose UTF-8 starts with 0xC2:
        // text without those bytes, nearly all of it, is written as it is.
        if !s.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
            return self.0.write_str(s);
        }
        let mut rest = s;
        while let Some(at) = rest.find(char::is_control) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(self.0, "{}", c.escape_default())?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn line_of(log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .event_format(CompactLine)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = captured.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn fields_follow_the_message_in_order_and_values_are_escaped() {
        let cases: [(&str, fn(), &str); 5] = [
            (
                "request line",
                || {
                    tracing::info!(
                        tenant = %"default",
                        route = %"/scim/v2/Users/{id}",
                        status = 200u16,
                        latency_ms = 0.5,
                        ok = true,
                        "request"
                    );
                },
                " INFO scim_lambda::http::log_line::tests: request tenant=default \
                 route=/scim/v2/Users/{id} status=200 latency_ms=0.5 ok=true\n",
            ),
            (
                "debug value",
                || tracing::warn!(error = ?"x\"y", "failed"),
                " WARN scim_lambda::http::log_line::tests: failed error=\"x\\\"y\"\n",
            ),
            (
                "a new line in a value cannot start a line",
                || tracing::error!(value = %"a\nb\u{1b}[31m", "odd"),
                "ERROR scim_lambda::http::log_line::tests: odd value=a\\nb\\u{1b}[31m\n",
            ),
            (
                "C1 controls are escaped, other two-byte characters are not",
                || tracing::info!(value = %"\u{85}é£", "odd"),
                " INFO scim_lambda::http::log_line::tests: odd value=\\u{85}é£\n",
            ),
            (
                "message only",
                || tracing::info!("listening on {}", "127.0.0.1:8080"),
                " INFO scim_lambda::http::log_line::tests: listening on 127.0.0.1:8080\n",
            ),
        ];
        for (name, log, expected) in cases {
            let line = line_of(log);
            // `2026-12-02T07:17:20.123456Z` first, then the rest.
            let (time, rest) = line.split_at(27);
            assert!(
                OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).is_ok(),
                "{name}: {time}"
            );
            assert_eq!(
                rest.trim_start_matches(' '),
                expected.trim_start(),
                "{name}"
            );
            assert_eq!(line.matches('\n').count(), 1, "{name}");
        }
    }

    #[test]
    fn timestamps_are_padded_rfc3339_in_utc() {
        let cases: [(i64, &str); 3] = [
            (0, "1970-01-01T00:00:00.000000Z"),
            (1_764_659_840_123_456, "2025-12-02T07:17:20.123456Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
        ];
        for (micros, expected) in cases {
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let mut out = String::new();
            assert!(write_timestamp(&mut out, t).is_ok());
            assert_eq!(out, expected);
        }
    }
}

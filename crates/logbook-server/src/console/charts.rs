//! Charts as inline SVG, drawn on the server: they need no script, and the stylesheet
//! colours them for light and dark pages (series classes `s0`…`s7`).

use maud::{Markup, html};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
/// Room for the axis labels.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 22.0;
/// Room above the highest grid line for its label.
const TOP: f64 = 10.0;
const SERIES_CLASSES: usize = 8;

/// One named series of values, one per bucket.
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

fn series_class(index: usize) -> String {
    format!("s{}", index % SERIES_CLASSES)
}

/// A round number at or above `max`, so the axis reads well.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    let scaled = max / magnitude;
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|s| scaled <= *s)
        .unwrap_or(10.0);
    step * magnitude
}

/// A value as short as it can be written: whole numbers without decimals, others to two.
fn figure(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let two = format!("{value:.2}");
        two.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn frame(label: &str, top: f64, labels: &[String], content: Markup) -> Markup {
    let plot_width = WIDTH - LEFT;
    let every = labels.len().div_ceil(8).max(1);
    let step = plot_width / labels.len().max(1) as f64;
    html! {
        svg.chart viewBox=(format!("0 -{TOP} {WIDTH} {}", HEIGHT + BOTTOM + TOP)) role="img" aria-label=(label) {
            @for i in 0..=4 {
                @let y = HEIGHT - HEIGHT * f64::from(i) / 4.0;
                line.grid x1=(LEFT) x2=(WIDTH) y1=(y) y2=(y) {}
                text.axis x=(LEFT - 4.0) y=(y + 4.0) text-anchor="end" { (figure(top * f64::from(i) / 4.0)) }
            }
            (content)
            @for (i, name) in labels.iter().enumerate() {
                @if i % every == 0 {
                    text.axis x=(LEFT + step * (i as f64 + 0.5)) y=(HEIGHT + 16.0) text-anchor="middle" { (name) }
                }
            }
        }
    }
}

/// Bars per bucket, the series stacked, with a legend.
pub fn stacked_bars(label: &str, buckets: &[String], series: &[Series]) -> Markup {
    let totals: Vec<f64> = (0..buckets.len())
        .map(|b| {
            series
                .iter()
                .map(|s| s.values.get(b).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let top = nice_ceiling(totals.iter().copied().fold(0.0, f64::max));
    let step = (WIDTH - LEFT) / buckets.len().max(1) as f64;
    let bar = (step * 0.8).max(1.0);
    // Each series' rectangle in each bucket sits on the ones below it.
    let mut rects = Vec::new();
    for (b, bucket) in buckets.iter().enumerate() {
        let mut base = 0.0;
        for (i, s) in series.iter().enumerate() {
            let value = s.values.get(b).copied().unwrap_or(0.0);
            if value > 0.0 {
                let h = HEIGHT * value / top;
                let y = HEIGHT - HEIGHT * base / top - h;
                let x = LEFT + step * b as f64 + (step - bar) / 2.0;
                rects.push((
                    i,
                    x,
                    y,
                    h,
                    format!("{bucket} · {}: {}", s.name, figure(value)),
                ));
                base += value;
            }
        }
    }
    let content = html! {
        @for (i, x, y, h, title) in rects {
            rect class=(series_class(i)) x=(figure(x)) y=(figure(y)) width=(figure(bar)) height=(figure(h)) { title { (title) } }
        }
    };
    html! {
        figure {
            (frame(label, top, buckets, content))
            (legend(series))
        }
    }
}

/// Lines over the buckets, one per series, with a legend.
pub fn lines(label: &str, buckets: &[String], series: &[Series]) -> Markup {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let top = nice_ceiling(max);
    let step = (WIDTH - LEFT) / buckets.len().max(1) as f64;
    let content = html! {
        @for (i, s) in series.iter().enumerate() {
            @let points = s.values.iter().enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(b, v)| format!("{:.1},{:.1}", LEFT + step * (b as f64 + 0.5), HEIGHT - HEIGHT * v / top))
                .collect::<Vec<_>>().join(" ");
            polyline class=(format!("line {}", series_class(i))) points=(points) {}
            @for (b, v) in s.values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
                circle class=(series_class(i)) cx=(format!("{:.1}", LEFT + step * (b as f64 + 0.5))) cy=(format!("{:.1}", HEIGHT - HEIGHT * v / top)) r="3" {
                    title { (buckets.get(b).map_or("", String::as_str)) " · " (s.name) ": " (figure(*v)) }
                }
            }
        }
    };
    html! {
        figure {
            (frame(label, top, buckets, content))
            (legend(series))
        }
    }
}

fn legend(series: &[Series]) -> Markup {
    html! {
        @if series.len() > 1 {
            ul.legend {
                @for (i, s) in series.iter().enumerate() {
                    li { span class=(format!("swatch {}", series_class(i))) {} (s.name) }
                }
            }
        }
    }
}

/// Horizontal bars: one per named value, longest first as given.
pub fn bars(label: &str, items: &[(String, f64)]) -> Markup {
    let max = items.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0);
    html! {
        @if items.is_empty() {
            p.empty { "Nothing yet." }
        } @else {
            table.bars aria-label=(label) {
                tbody {
                    @for (name, value) in items {
                        tr {
                            th scope="row" { (name) }
                            td.figure { (figure(*value)) }
                            td.bar {
                                svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" {
                                    rect.s0 x="0" y="1" height="8" width=(format!("{:.1}", 100.0 * value / max)) {}
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A small line of values, for a table cell.
pub fn sparkline(label: &str, values: &[f64]) -> Markup {
    let max = values.iter().copied().fold(0.0, f64::max).max(1.0);
    let step = 100.0 / values.len().max(1) as f64;
    html! {
        svg.spark viewBox="0 0 100 20" preserveAspectRatio="none" role="img" aria-label=(label) {
            @for (i, v) in values.iter().enumerate() {
                @let h = 18.0 * v / max;
                rect.s0 x=(format!("{:.1}", step * i as f64)) y=(format!("{:.1}", 19.0 - h)) width=(format!("{:.1}", (step * 0.8).max(0.5))) height=(format!("{:.1}", h.max(0.5))) {}
            }
        }
    }
}

/// A strip of checks, oldest first: up, degraded, down.
pub fn uptime(label: &str, statuses: &[String]) -> Markup {
    let step = 100.0 / statuses.len().max(1) as f64;
    html! {
        svg.uptime viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label=(label) {
            @for (i, status) in statuses.iter().enumerate() {
                rect class=(format!("status-{status}")) x=(format!("{:.2}", step * i as f64)) y="0" width=(format!("{:.2}", (step * 0.85).max(0.3))) height="10" {
                    title { (status) }
                }
            }
        }
    }
}

/// Shares of a whole as a ring, with a legend.
pub fn pie(label: &str, items: &[(String, f64)]) -> Markup {
    let total: f64 = items.iter().map(|(_, v)| v.max(0.0)).sum();
    // A circumference of 100, so dash lengths are percents.
    let radius = 100.0 / (2.0 * std::f64::consts::PI);
    let mut slices = Vec::new();
    let mut offset = 25.0;
    for (i, (name, value)) in items.iter().enumerate() {
        let share = if total > 0.0 {
            100.0 * value.max(0.0) / total
        } else {
            0.0
        };
        slices.push((i, name, *value, share, offset));
        offset -= share;
    }
    html! {
        figure.pie {
            svg viewBox="0 0 42 42" role="img" aria-label=(label) {
                circle.ring cx="21" cy="21" r=(figure(radius)) {}
                @for (i, name, value, share, offset) in slices {
                    circle class=(format!("slice {}", series_class(i))) cx="21" cy="21" r=(figure(radius))
                        stroke-dasharray=(format!("{} {}", figure(share), figure(100.0 - share))) stroke-dashoffset=(figure(offset)) {
                        title { (name) ": " (figure(value)) }
                    }
                }
            }
            (legend_of(items))
        }
    }
}

fn legend_of(items: &[(String, f64)]) -> Markup {
    html! {
        ul.legend {
            @for (i, (name, value)) in items.iter().enumerate() {
                li { span class=(format!("swatch {}", series_class(i))) {} (name) " (" (figure(*value)) ")" }
            }
        }
    }
}

/// A value against its full scale, as a filled bar with the figure.
pub fn gauge(label: &str, value: f64, max: f64, unit: &str) -> Markup {
    let share = if max > 0.0 {
        (value / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    html! {
        figure.gauge {
            span.figure { (figure(value)) (unit) }
            svg viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label=(format!("{label}: {} of {}", figure(value), figure(max))) {
                rect.track x="0" y="0" width="100" height="8" {}
                rect.s0 x="0" y="0" width=(figure(100.0 * share)) height="8" {}
            }
        }
    }
}

/// Counts by weekday (rows, Monday first) and hour of the day (columns), darker for more.
pub fn heatmap(label: &str, cells: &[[f64; 24]; 7]) -> Markup {
    let max = cells.iter().flatten().copied().fold(0.0, f64::max).max(1.0);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    html! {
        svg.heatmap viewBox="0 0 268 80" role="img" aria-label=(label) {
            @for (d, row) in cells.iter().enumerate() {
                text.axis x="0" y=(d * 10 + 8) { (DAYS[d]) }
                @for (h, value) in row.iter().enumerate() {
                    rect.s0 x=(28 + h * 10) y=(d * 10) width="9" height="9"
                        fill-opacity=(figure(0.08 + 0.92 * value / max)) {
                        title { (DAYS[d]) " " (format!("{h:02}:00")) ": " (figure(*value)) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round_and_above_the_largest_value() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(240.0), 250.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }

    #[test]
    fn stacked_bars_stack_each_bucket_to_its_total() {
        let buckets = vec!["10:00".to_owned()];
        let series = [
            Series {
                name: "a".into(),
                values: vec![3.0],
            },
            Series {
                name: "b".into(),
                values: vec![1.0],
            },
        ];
        let svg = stacked_bars("test", &buckets, &series).into_string();
        // top 5: a is 3/5 of the height from the bottom, b sits on it.
        assert!(
            svg.contains(r#"x="115.2" y="80" width="537.6" height="120""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"x="115.2" y="40" width="537.6" height="40""#),
            "{svg}"
        );
    }

    #[test]
    fn chart_text_is_escaped() {
        let svg = bars("x", &[("<script>".into(), 1.0)]).into_string();
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
    }
}

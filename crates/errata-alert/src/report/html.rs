//! The HTML page of `stats`: one self-contained file, inline SVG charts and the tables.
//!
//! One series per code (the top [`super::TOP_CODES`], the rest folded into `other`); with a
//! comparison, the two windows side by side, the earlier ("before") on the left, and each code's
//! change from before to after in the legend.

use std::fmt::Write;

use super::{fmt_change, fmt_windows, Before, Stats, Window};
use crate::alert::thousands;

use errata_catalog::text::escape_html as esc;

/// Colours of the code series, in order; `other` is grey.
const PALETTE: [&str; 5] = ["#c0392b", "#2471a3", "#d68910", "#229954", "#7d3c98"];
const OTHER: &str = "#7f8c8d";

fn colour(i: usize, code: &str) -> &'static str {
    if code == "other" {
        OTHER
    } else {
        PALETTE[i % PALETTE.len()]
    }
}

fn polyline(series: &[u64], max: u64, width: f64, height: f64, n: usize) -> String {
    let step = if n > 1 { width / (n - 1) as f64 } else { 0.0 };
    let mut pts = String::new();
    for (i, v) in series.iter().enumerate() {
        let x = 40.0 + step * i as f64;
        let y = 10.0 + height - (*v as f64 / max.max(1) as f64) * height;
        let _ = write!(pts, "{x:.1},{y:.1} ");
    }
    pts.trim_end().to_string()
}

/// One window's chart: a polyline per code series, on a scale shared with the other window.
fn chart(stats: &Stats, title: &str, window: Window, lanes: &[(&str, &[u64])], max: u64) -> String {
    let (w, h) = (560.0, 180.0);
    let n = lanes.iter().map(|(_, s)| s.len()).max().unwrap_or(0).max(2);
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"errors per {} min, {}\">",
        esc(title),
        w + 60.0,
        h + 40.0,
        stats.bucket_minutes,
        esc(title)
    );
    let _ = write!(
        svg,
        "<line x1=\"40\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#999\"/><line x1=\"40\" y1=\"10\" x2=\"40\" y2=\"{y}\" stroke=\"#999\"/>\
         <text x=\"36\" y=\"16\" text-anchor=\"end\" font-size=\"11\">{max}</text><text x=\"36\" y=\"{y}\" text-anchor=\"end\" font-size=\"11\">0</text>",
        y = 10.0 + h,
        x2 = 40.0 + w,
        max = thousands(max)
    );
    for (i, (code, series)) in lanes.iter().enumerate() {
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
            colour(i, code),
            polyline(series, max, w, h, n),
            esc(code)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"40\" y=\"{}\" font-size=\"11\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text></svg></figure>",
        h + 28.0,
        esc(&window.from.format("%Y-%m-%d %H:%M:%S").to_string()),
        40.0 + w,
        h + 28.0,
        esc(&window.to.format("%Y-%m-%d %H:%M:%S UTC").to_string())
    );
    svg
}

fn charts(stats: &Stats) -> String {
    let window: Vec<(&str, &[u64])> = stats
        .code_series
        .iter()
        .map(|c| (c.code.as_str(), c.series.as_slice()))
        .collect();
    let vs: Option<Vec<(&str, &[u64])>> = stats.vs.map(|_| {
        stats
            .code_series
            .iter()
            .map(|c| (c.code.as_str(), c.vs_series.as_deref().unwrap_or(&[])))
            .collect()
    });
    let max = window
        .iter()
        .chain(vs.iter().flatten())
        .flat_map(|(_, s)| s.iter().copied())
        .max()
        .unwrap_or(0);
    match (stats.vs, vs) {
        (Some(vs_window), Some(vs)) => {
            let (left, right) = match stats.before {
                Some(Before::Window) => (
                    chart(stats, "before", stats.window, &window, max),
                    chart(stats, "after", vs_window, &vs, max),
                ),
                _ => (
                    chart(stats, "before", vs_window, &vs, max),
                    chart(stats, "after", stats.window, &window, max),
                ),
            };
            format!("<div class=\"pair\">{left}{right}</div>")
        }
        _ => chart(stats, "errors", stats.window, &window, max),
    }
}

fn legend(stats: &Stats) -> String {
    let mut out = String::from("<ul class=\"legend\">");
    for (i, c) in stats.code_series.iter().enumerate() {
        let row = stats.codes.iter().find(|r| r.code == c.code);
        let figures = match row {
            Some(r) if stats.vs.is_some() => fmt_change(r, stats.before),
            Some(r) => thousands(r.count),
            // `other`: the folded codes together.
            None => {
                let a: u64 = c.series.iter().sum();
                match &c.vs_series {
                    Some(b) => {
                        let b: u64 = b.iter().sum();
                        let other = super::StatsRow {
                            code: c.code.clone(),
                            status: 0,
                            route: String::new(),
                            count: a,
                            vs_count: Some(b),
                            change_pct: match stats.before {
                                Some(Before::Window) => super::change_pct(a, b),
                                _ => super::change_pct(b, a),
                            },
                        };
                        fmt_change(&other, stats.before)
                    }
                    None => thousands(a),
                }
            }
        };
        let _ = write!(
            out,
            "<li><span class=\"key\" style=\"background:{}\"></span><code>{}</code> {}</li>",
            colour(i, &c.code),
            esc(&c.code),
            esc(&figures)
        );
    }
    out.push_str("</ul>");
    out
}

pub(super) fn page(stats: &Stats) -> String {
    let has_vs = stats.vs.is_some();
    let mut rows = String::new();
    for r in &stats.rows {
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td>{}</tr>",
            esc(&r.code),
            r.status,
            esc(&r.route),
            thousands(r.count),
            if has_vs {
                format!("<td class=\"n\">{}</td>", esc(&fmt_change(r, stats.before)))
            } else {
                String::new()
            }
        );
    }
    let summary = match (stats.vs_total, stats.change_pct) {
        (Some(vs), _) => {
            let total = super::StatsRow {
                code: String::new(),
                status: 0,
                route: String::new(),
                count: stats.total,
                vs_count: Some(vs),
                change_pct: stats.change_pct,
            };
            fmt_change(&total, stats.before)
        }
        _ => thousands(stats.total),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>errata stats</title>\
<style>body{{font:14px system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse}}\
td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}.n{{text-align:right;font-variant-numeric:tabular-nums}}\
svg{{width:100%;height:auto}}figure{{margin:0;flex:1;max-width:640px}}.pair{{display:flex;gap:1rem;flex-wrap:wrap}}\
.legend{{list-style:none;padding:0}}.key{{display:inline-block;width:.8rem;height:.8rem;margin-right:.4rem}}</style></head><body>\
<h1>Errors {from} → {to}</h1><p>Total: <strong>{summary}</strong>{windows}</p><p class=\"source\">{source}</p>{charts}{legend}\
<table><thead><tr><th>code</th><th>status</th><th>route</th><th class=\"n\">count</th>{vs_head}</tr></thead><tbody>{rows}</tbody></table>\
</body></html>\n",
        from = esc(&stats.window.from.format("%Y-%m-%d %H:%M:%S").to_string()),
        to = esc(&stats.window.to.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        windows = fmt_windows(stats)
            .map(|w| format!(" — {}", esc(&w)))
            .unwrap_or_default(),
        source = esc(stats.source.as_deref().unwrap_or("")),
        charts = charts(stats),
        legend = legend(stats),
        vs_head = if has_vs { "<th class=\"n\">before → after</th>" } else { "" },
    )
}

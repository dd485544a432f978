//! The HTML page of `stats`: one self-contained file, an inline SVG chart and the tables.

use std::fmt::Write;

use super::{fmt_change, Stats};
use crate::alert::thousands;

use errata_catalog::text::escape_html as esc;

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

fn chart(stats: &Stats) -> String {
    let (w, h) = (720.0, 200.0);
    let n = stats
        .series
        .len()
        .max(stats.vs_series.as_ref().map_or(0, Vec::len))
        .max(2);
    let max = stats
        .series
        .iter()
        .chain(stats.vs_series.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"errors per {} min\">",
        w + 60.0,
        h + 40.0,
        stats.bucket_minutes
    );
    let _ = write!(
        svg,
        "<line x1=\"40\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#999\"/><line x1=\"40\" y1=\"10\" x2=\"40\" y2=\"{y}\" stroke=\"#999\"/>\
         <text x=\"36\" y=\"16\" text-anchor=\"end\" font-size=\"11\">{max}</text><text x=\"36\" y=\"{y}\" text-anchor=\"end\" font-size=\"11\">0</text>",
        y = 10.0 + h,
        x2 = 40.0 + w,
        max = thousands(max)
    );
    if let Some(vs) = &stats.vs_series {
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"#999\" stroke-dasharray=\"4 3\" stroke-width=\"1.5\" points=\"{}\"><title>before</title></polyline>",
            polyline(vs, max, w, h, n)
        );
    }
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"{}\"><title>errors</title></polyline>",
        polyline(&stats.series, max, w, h, n)
    );
    let _ = write!(
        svg,
        "<text x=\"40\" y=\"{}\" font-size=\"11\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text></svg>",
        h + 28.0,
        esc(&stats.window.from.format("%Y-%m-%d %H:%M").to_string()),
        40.0 + w,
        h + 28.0,
        esc(&stats.window.to.format("%Y-%m-%d %H:%M UTC").to_string())
    );
    svg
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
                format!("<td class=\"n\">{}</td>", esc(&fmt_change(r)))
            } else {
                String::new()
            }
        );
    }
    let summary = match (stats.vs_total, stats.change_pct) {
        (Some(b), Some(p)) => format!(
            "{} → {} ({})",
            thousands(b),
            thousands(stats.total),
            super::format_pct(p)
        ),
        _ => thousands(stats.total),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>errata stats</title>\
<style>body{{font:14px system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse}}\
td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}.n{{text-align:right;font-variant-numeric:tabular-nums}}\
svg{{max-width:800px;width:100%;height:auto}}</style></head><body>\
<h1>Errors {from} → {to}</h1><p>Total: <strong>{summary}</strong>{vs}</p>{chart}\
<table><thead><tr><th>code</th><th>status</th><th>route</th><th class=\"n\">count</th>{vs_head}</tr></thead><tbody>{rows}</tbody></table>\
</body></html>\n",
        from = esc(&stats.window.from.format("%Y-%m-%d %H:%M").to_string()),
        to = esc(&stats.window.to.format("%Y-%m-%d %H:%M UTC").to_string()),
        vs = stats
            .vs
            .map(|v| format!(
                " — compared with {} → {} (dashed)",
                esc(&v.from.format("%Y-%m-%d %H:%M").to_string()),
                esc(&v.to.format("%Y-%m-%d %H:%M").to_string())
            ))
            .unwrap_or_default(),
        chart = chart(stats),
        vs_head = if has_vs { "<th class=\"n\">before → after</th>" } else { "" },
    )
}

//! The report's charts, drawn as SVG with plotters: percentile plots from whole
//! histograms, the run over time from the per-second series, a sweep against its offered
//! rate, and bar groups for a comparison. Every chart is drawn from aggregates, never
//! from per-request points, so a long run's page stays small; each series also gets a
//! marker shape and a dash so the charts read without colour.

use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Pixel size of every chart; the page scales it down to the column's width.
const SIZE: (u32, u32) = (760, 300);
/// A series' colour by position; markers and dashes tell them apart without it.
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];
/// Most points a line gets: longer series are averaged over windows of seconds.
pub const MAX_POINTS: usize = 720;
/// The percentile plot's right end: 10^-4 of the requests are slower (p99.99).
const NINES: f64 = 4.0;

/// One named line of (x, y) points.
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
}

/// A horizontal or vertical marker line with its label.
#[derive(Clone)]
pub struct Mark {
    /// Legend text.
    pub label: String,
    /// Where it crosses its axis.
    pub at: f64,
}

/// A shaded span of the x axis (a phase, a sweep step) and its label.
pub struct Band {
    /// Label drawn at its top.
    pub label: String,
    /// Start, in x units.
    pub from: f64,
    /// End, in x units.
    pub to: f64,
    /// Whether it is shaded (every other one is, so neighbours stay apart).
    pub shaded: bool,
}

/// What a line chart draws.
pub struct LineChart<'a> {
    /// Title, drawn above.
    pub title: &'a str,
    /// The x axis' name.
    pub x_label: &'a str,
    /// The y axis' name.
    pub y_label: &'a str,
    /// The lines.
    pub lines: Vec<Line>,
    /// Horizontal marks (thresholds).
    pub levels: Vec<Mark>,
    /// Vertical marks (the sweep's knee).
    pub verticals: Vec<Mark>,
    /// Shaded spans (phases).
    pub bands: Vec<Band>,
    /// Whether x is a percentile axis (0 … [`NINES`] nines), labelled as percentiles.
    pub percentile_axis: bool,
}

type Result<T> = std::result::Result<T, String>;

fn drawing<E: std::fmt::Debug>(e: E) -> String {
    format!("the chart could not be drawn: {e:?}")
}

/// The points of a histogram's percentile plot: x counts the nines (0 = p0, 2 = p99,
/// 4 = p99.99), y is the value at that percentile in shown units.
pub fn percentile_points(h: &Histogram<u64>, scale: f64) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    (0..=80)
        .map(|k| {
            let x = f64::from(k) * NINES / 80.0;
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 * scale)
        })
        .collect()
}

/// The percentile a nines count stands for, as an axis label: 0, 90, 99, 99.9, 99.99.
fn nines_label(x: &f64) -> String {
    let p = 100.0 * (1.0 - 10f64.powf(-x));
    let text = format!("{p:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Averages a long series over windows so it has at most [`MAX_POINTS`] points.
pub fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let window = points.len().div_ceil(MAX_POINTS);
    points
        .chunks(window)
        .map(|c| {
            let n = c.len() as f64;
            (c[0].0, c.iter().map(|p| p.1).sum::<f64>() / n)
        })
        .collect()
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        (0.0, 1.0)
    } else if hi - lo < 1e-9 {
        (lo, lo + 1.0)
    } else {
        (lo, hi)
    }
}

/// Draws a line chart as an SVG document.
pub fn line_chart(spec: &LineChart) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw_lines(&root, spec)?;
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

fn draw_lines<'b>(root: &DrawingArea<SVGBackend<'b>, Shift>, spec: &LineChart) -> Result<()> {
    root.fill(&WHITE).map_err(drawing)?;
    let xs = spec.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = if spec.percentile_axis { (0.0, NINES) } else { range(xs.chain(spec.bands.iter().flat_map(|b| [b.from, b.to]))) };
    let ys = spec.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).chain(spec.levels.iter().map(|m| m.at));
    let (_, y1) = range(ys.chain([0.0]));
    let y1 = y1 * 1.08;
    let mut chart = ChartBuilder::on(root)
        .caption(spec.title, ("sans-serif", 17))
        .margin(8)
        .margin_right(28)
        .x_label_area_size(38)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(drawing)?;
    let percentile_label = |x: &f64| nines_label(x);
    let plain_label = |v: &f64| short_number(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(spec.x_label).y_desc(spec.y_label).light_line_style(WHITE.mix(0.0)).y_label_formatter(&plain_label);
    if spec.percentile_axis {
        mesh.x_labels(5).x_label_formatter(&percentile_label);
    } else {
        mesh.x_label_formatter(&plain_label);
    }
    mesh.draw().map_err(drawing)?;
    for band in &spec.bands {
        if band.shaded {
            let shade = BLACK.mix(0.06).filled();
            chart.draw_series([Rectangle::new([(band.from, 0.0), (band.to, y1)], shade)]).map_err(drawing)?;
        }
        chart
            .draw_series([Text::new(band.label.clone(), (band.from, y1 * 0.97), ("sans-serif", 12).into_font().color(&BLACK))])
            .map_err(drawing)?;
    }
    for (i, line) in spec.lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let style = colour.stroke_width(2);
        if i % 2 == 0 {
            chart.draw_series(LineSeries::new(line.points.iter().copied(), style)).map_err(drawing)?;
        } else {
            chart.draw_series(DashedLineSeries::new(line.points.iter().copied(), 7, 4, style)).map_err(drawing)?;
        }
        let every = (line.points.len() / 8).max(1);
        let points = line.points.iter().step_by(every).copied();
        // The same shape marks the line and its legend entry, in pixels or data units.
        macro_rules! markers {
            (|$p:ident| $shape:expr) => {{
                chart.draw_series(points.map(|$p| $shape)).map_err(drawing)?.label(line.label.clone()).legend(move |$p| $shape);
            }};
        }
        match i % 4 {
            0 => markers!(|p| Circle::new(p, 4, colour.filled())),
            1 => markers!(|p| TriangleMarker::new(p, 5, colour.filled())),
            2 => markers!(|p| Cross::new(p, 4, colour.stroke_width(2))),
            _ => markers!(|p| EmptyElement::at(p) + Rectangle::new([(-3, -3), (3, 3)], colour.filled())),
        }
    }
    for mark in &spec.levels {
        let red = RGBColor(200, 0, 0);
        chart
            .draw_series(DashedLineSeries::new([(x0, mark.at), (x1, mark.at)], 3, 3, red.stroke_width(1)))
            .map_err(drawing)?
            .label(mark.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red.stroke_width(1)));
    }
    for mark in &spec.verticals {
        chart
            .draw_series(DashedLineSeries::new([(mark.at, 0.0), (mark.at, y1)], 3, 3, BLACK.stroke_width(1)))
            .map_err(drawing)?;
        chart
            .draw_series([Text::new(mark.label.clone(), (mark.at, y1 * 0.9), ("sans-serif", 12).into_font().color(&BLACK))])
            .map_err(drawing)?;
    }
    if !spec.lines.is_empty() || !spec.levels.is_empty() {
        chart
            .configure_series_labels()
            .position(if spec.percentile_axis { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperLeft })
            .border_style(BLACK.mix(0.4))
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(drawing)?;
    }
    Ok(())
}

/// A number as an axis shows it: few digits, k and M for thousands and millions.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    let text = if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    text.replace(".0M", "M")
}

/// One group of bars (a statistic), one bar per series (a target).
pub struct BarGroup {
    /// Group label under the axis.
    pub label: String,
    /// One value per series, in series order; None draws no bar.
    pub values: Vec<Option<f64>>,
}

/// Draws grouped bars as an SVG document: `series` names the bars of each group.
pub fn bar_chart(title: &str, y_label: &str, series: &[String], groups: &[BarGroup]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (_, y1) = range(groups.iter().flat_map(|g| g.values.iter().flatten().copied()).chain([0.0]));
        // Head room for the legend, a line per series, above the tallest bar.
        let y1 = y1 * (1.15 + 0.1 * series.len() as f64);
        let n = groups.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n as f64, 0.0..y1)
            .map_err(drawing)?;
        let group_label = |x: &f64| groups.get(x.floor() as usize).filter(|_| x.fract() > 0.4 && x.fract() < 0.6).map_or(String::new(), |g| g.label.clone());
        let plain_label = |v: &f64| short_number(*v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(4 * n + 1)
            .x_label_formatter(&group_label)
            .y_desc(y_label)
            .y_label_formatter(&plain_label)
            .draw()
            .map_err(drawing)?;
        let width = 0.8 / series.len().max(1) as f64;
        for (s, name) in series.iter().enumerate() {
            let colour = COLOURS[s % COLOURS.len()];
            let bars = groups.iter().enumerate().filter_map(|(g, group)| {
                let v = (*group.values.get(s)?)?;
                let left = g as f64 + 0.1 + s as f64 * width;
                Some(Rectangle::new([(left, 0.0), (left + width * 0.9, v)], colour.filled()))
            });
            chart
                .draw_series(bars)
                .map_err(drawing)?
                .label(format!("{}. {name}", s + 1))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
            // The bar's number above it, so the order reads without the colours.
            let numbers = groups.iter().enumerate().filter_map(|(g, group)| {
                let v = (*group.values.get(s)?)?;
                let left = g as f64 + 0.1 + s as f64 * width;
                Some(Text::new(format!("{}", s + 1), (left, v + y1 * 0.02), ("sans-serif", 11).into_font().color(&BLACK)))
            });
            chart.draw_series(numbers).map_err(drawing)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK.mix(0.4))
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::new_histogram;

    #[test]
    fn percentile_points_follow_the_histogram_to_its_tail() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v).expect("in range");
        }
        let points = percentile_points(&h, 1.0);
        assert_eq!(points.len(), 81);
        assert_eq!(points[0].0, 0.0);
        let p99 = points.iter().find(|p| (p.0 - 2.0).abs() < 1e-9).expect("p99 point").1;
        assert!((p99 - 9_900.0).abs() < 20.0, "p99 {p99}");
        assert!(points.windows(2).all(|w| w[0].1 <= w[1].1), "a percentile plot never falls");
        assert!(percentile_points(&new_histogram(), 1.0).is_empty());
    }

    #[test]
    fn axis_labels_name_the_percentiles() {
        let labels: Vec<String> = [0.0, 1.0, 2.0, 3.0, 4.0].iter().map(nines_label).collect();
        assert_eq!(labels, ["0", "90", "99", "99.9", "99.99"]);
        assert_eq!(short_number(12_345.0), "12k");
        assert_eq!(short_number(2_500_000.0), "2.5M");
        assert_eq!(short_number(0.25), "0.250");
    }

    #[test]
    fn long_series_are_thinned_to_a_bounded_number_of_points() {
        // An hour of seconds whose value is the second itself: windows of five seconds,
        // each drawn at its first second with the mean of its five.
        let points: Vec<(f64, f64)> = (0..3600).map(|s| (f64::from(s), f64::from(s))).collect();
        let window = 3600usize.div_ceil(MAX_POINTS);
        let thinned = thin(points);
        assert_eq!(thinned.len(), 3600 / window, "window {window}");
        assert!(thinned.len() <= MAX_POINTS && thinned.len() > MAX_POINTS / 2);
        for (i, (x, y)) in thinned.iter().enumerate() {
            let first = (i * window) as f64;
            assert_eq!((*x, *y), (first, first + (window - 1) as f64 / 2.0), "window {i}");
        }
        // A short series is kept as it is.
        let short = vec![(0.0, 1.0), (1.0, 3.0)];
        assert_eq!(thin(short.clone()), short);
    }

    #[test]
    fn a_chart_is_an_svg_with_its_title_and_legend() {
        let svg = line_chart(&LineChart {
            title: "TTFT <p95>",
            x_label: "percentile",
            y_label: "ms",
            lines: vec![Line { label: "ttft".into(), points: vec![(0.0, 1.0), (4.0, 9.0)] }],
            levels: vec![Mark { label: "ttft p95 < 8ms".into(), at: 8.0 }],
            verticals: Vec::new(),
            bands: Vec::new(),
            percentile_axis: true,
        })
        .expect("draws");
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("TTFT &lt;p95&gt;"), "the title is escaped text");
        assert!(svg.contains("ttft p95 &lt; 8ms"));
        assert!(svg.contains("99.99"));
        let bars = bar_chart("TTFT by target", "ms", &["a".into(), "b".into()], &[BarGroup { label: "p50".into(), values: vec![Some(1.0), None] }])
            .expect("draws");
        assert!(bars.contains("1. a") && bars.contains("2. b"));
    }
}

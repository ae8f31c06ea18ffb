//! The HTML page the reports are drawn on: one self-contained file. Its content security
//! policy forbids the browser to fetch anything (no script, no font, no image from
//! elsewhere), so it opens from disk with no network and shows the same on any machine;
//! it prints, and every chart has a caption and its numbers in a table beside it.

use std::fmt::Write;

/// What the page allows itself: inline styles and nothing from anywhere.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 48px;color:#1a1a1a;line-height:1.45}\
h1{font-size:1.6em;margin:24px 0 4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}\
h3{margin-top:24px}\
table{border-collapse:collapse;margin:8px 0 16px;font-size:.9em}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:0 20px}\
figure{margin:12px 0 24px;break-inside:avoid}figure svg{max-width:100%;height:auto;display:block}\
figcaption{font-size:.9em;color:#333}\
.verdict{display:inline-block;font-weight:700;padding:2px 10px;border:2px solid;border-radius:4px;margin-right:8px}\
.pass{color:#0a6b2d;border-color:#0a6b2d}.fail{color:#a40000;border-color:#a40000}.note{color:#6b4e00;border-color:#6b4e00}\
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;word-break:break-all;font-size:.85em;margin:4px 0}\
details{margin:4px 0 12px}summary{cursor:pointer}\
nav a{margin-right:12px}\
@media print{nav{display:none}h2{break-after:avoid}body{max-width:none}}";

/// Escapes text for HTML content and attribute values (the XML escaping JUnit uses too).
pub use crate::text::escape_markup as escape;

/// A page being written.
pub struct Page {
    html: String,
    figures: usize,
}

impl Page {
    /// A page with its head and `title` as its heading.
    pub fn new(title: &str) -> Page {
        let mut html = String::with_capacity(64 * 1024);
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            escape(title),
            escape(title)
        );
        Page { html, figures: 0 }
    }

    /// Links to the page's sections, `(id, title)`.
    pub fn nav(&mut self, sections: &[(&str, &str)]) {
        self.html.push_str("<nav aria-label=\"Sections\">");
        for (id, title) in sections {
            let _ = write!(self.html, "<a href=\"#{id}\">{}</a>", escape(title));
        }
        self.html.push_str("</nav>\n");
    }

    /// A section heading with an anchor.
    pub fn section(&mut self, id: &str, title: &str) {
        let _ = writeln!(self.html, "<h2 id=\"{id}\">{}</h2>", escape(title));
    }

    /// A smaller heading.
    pub fn heading(&mut self, title: &str) {
        let _ = writeln!(self.html, "<h3>{}</h3>", escape(title));
    }

    /// A paragraph of text.
    pub fn para(&mut self, text: &str) {
        let _ = writeln!(self.html, "<p>{}</p>", escape(text));
    }

    /// A verdict badge (its word says it; the colour only repeats it) and its line.
    pub fn verdict(&mut self, passed: Option<bool>, word: &str, text: &str) {
        let class = match passed {
            Some(true) => "pass",
            Some(false) => "fail",
            None => "note",
        };
        let _ = writeln!(self.html, "<p><span class=\"verdict {class}\">{}</span>{}</p>", escape(word), escape(text));
    }

    /// A table: the first row is the header; cells that read as numbers align right.
    pub fn table(&mut self, rows: &[Vec<String>]) {
        if rows.len() < 2 {
            return;
        }
        self.html.push_str("<table>\n<thead><tr>");
        for cell in &rows[0] {
            let _ = write!(self.html, "<th scope=\"col\">{}</th>", escape(cell));
        }
        self.html.push_str("</tr></thead>\n<tbody>\n");
        for row in &rows[1..] {
            self.html.push_str("<tr>");
            for cell in row {
                let numeric = cell.trim_end_matches('%').replace(',', "").parse::<f64>().is_ok();
                let class = if numeric { " class=\"num\"" } else { "" };
                let _ = write!(self.html, "<td{class}>{}</td>", escape(cell));
            }
            self.html.push_str("</tr>\n");
        }
        self.html.push_str("</tbody></table>\n");
    }

    /// A chart with its caption, and its numbers in a table that opens below it (the
    /// text alternative). A chart that could not be drawn says why.
    pub fn figure(&mut self, svg: Result<String, String>, caption: &str, data: &[Vec<String>]) {
        self.figures += 1;
        let id = format!("fig{}", self.figures);
        match svg {
            Ok(svg) => {
                let _ = write!(self.html, "<figure>\n<div role=\"img\" aria-labelledby=\"{id}\">{svg}</div>\n");
            }
            Err(why) => {
                let _ = write!(self.html, "<figure>\n<p>{}</p>\n", escape(&why));
            }
        }
        let _ = writeln!(self.html, "<figcaption id=\"{id}\">{}</figcaption>", escape(caption));
        self.details("The numbers", data);
        self.html.push_str("</figure>\n");
    }

    /// A table that opens on request, under a summary line.
    pub fn details(&mut self, summary: &str, rows: &[Vec<String>]) {
        if rows.len() < 2 {
            return;
        }
        let _ = writeln!(self.html, "<details><summary>{}</summary>", escape(summary));
        self.table(rows);
        self.html.push_str("</details>\n");
    }

    /// Starts a grid that sets the figures after it side by side where the page is wide.
    pub fn begin_charts(&mut self) {
        self.html.push_str("<div class=\"charts\">\n");
    }

    /// Ends the grid.
    pub fn end_charts(&mut self) {
        self.html.push_str("</div>\n");
    }

    /// Preformatted text (an excerpt of a response), escaped.
    pub fn pre(&mut self, text: &str) {
        let _ = writeln!(self.html, "<pre>{}</pre>", escape(text));
    }

    /// A list of items, each given as already-escaped HTML.
    pub fn raw_list(&mut self, items: &[String]) {
        if items.is_empty() {
            return;
        }
        self.html.push_str("<ul>\n");
        for item in items {
            let _ = writeln!(self.html, "<li>{item}</li>");
        }
        self.html.push_str("</ul>\n");
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        self.html.push_str("</body>\n</html>\n");
        self.html
    }
}

/// A link to a file of the report folder (a capture), by its relative path.
pub fn file_link(path: &str) -> String {
    // Only relative paths inside the folder are linked; anything else is shown as text.
    if path.contains("..") || path.contains(':') || path.starts_with('/') {
        return escape(path);
    }
    format!("<a href=\"{}\">{}</a>", escape(path), escape(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere_it_is_written() {
        let mut page = Page::new("<script>alert(1)</script>");
        page.para("a < b & \"c\"");
        page.table(&[vec!["h".into()], vec!["<img src=x>".into()]]);
        page.pre("</pre><script>");
        page.figure(Err("<b>".into()), "caption <i>", &[]);
        let html = page.finish();
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<b>") && !html.contains("<i>"));
        assert!(html.contains("a &lt; b &amp; &quot;c&quot;"));
        assert!(html.contains("Content-Security-Policy"));
    }

    #[test]
    fn only_relative_paths_inside_the_folder_are_links() {
        assert_eq!(file_link("captures/req-0001.sse"), "<a href=\"captures/req-0001.sse\">captures/req-0001.sse</a>");
        assert!(!file_link("https://example.com/x").contains("<a"));
        assert!(!file_link("../secret").contains("<a"));
        assert!(!file_link("/etc/passwd").contains("<a"));
    }
}

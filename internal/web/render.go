package web

import (
	"bytes"
	"html"
	"strconv"
)

// The pages are written by the functions below rather than by html/template:
// text/template calls methods by name through reflection, and a binary that
// does so keeps every exported method of every type it links (the linker can
// no longer tell which are unused). That doubled kspan's binary, and so its
// resident memory, for three small pages. Every value is escaped by esc (or
// is a number); the markup around them is fixed.

// page accumulates one HTML page.
type page struct{ bytes.Buffer }

// raw writes fixed markup.
func (p *page) raw(s ...string) {
	for _, x := range s {
		p.WriteString(x)
	}
}

// esc writes text, escaped for an element's content or a quoted attribute
// value (& < > " ').
func (p *page) esc(s string) { p.WriteString(html.EscapeString(s)) }

func (p *page) int(n int)     { p.WriteString(strconv.Itoa(n)) }
func (p *page) int64(n int64) { p.WriteString(strconv.FormatInt(n, 10)) }

// plural writes n and the noun, with an s unless n is 1.
func (p *page) plural(n int, noun string) {
	p.int(n)
	p.raw(" ", noun)
	if n != 1 {
		p.raw("s")
	}
}

func (p *page) head(title string) {
	p.raw(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>`)
	p.esc(title)
	p.raw(` · kspan</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/viewer.js" defer></script>
</head>
`)
}

func (p *page) top(st Stats) {
	p.raw(`<header class="top">
  <a class="brand" href="/">kspan</a>
  <span class="tagline">Kubernetes Events as traces</span>
  <span class="stats">`)
	p.plural(st.Traces, "trace")
	p.raw(" · ")
	p.plural(st.Spans, "span")
	p.raw(" in memory")
	if st.Evicted.Traces != 0 {
		p.raw(" · ")
		p.int(st.Evicted.Traces)
		p.raw(" evicted")
	}
	p.raw("</span>\n</header>\n")
}

func renderNotFound(p *page, v notFound) {
	p.head("Not found")
	p.raw("<body>\n")
	p.top(v.Stats)
	p.raw(`<main class="notfound">
  <h1>Not found</h1>
  <p>`)
	p.esc(v.What)
	p.raw(`</p>
  <p><a href="/">All traces</a></p>
</main>
</body>
</html>
`)
}

func renderList(p *page, v listView) {
	p.head("Traces")
	p.raw(`<body class="list" data-live="`)
	if v.Live {
		p.raw("1")
	}
	p.raw(`" data-version="`)
	p.WriteString(strconv.FormatUint(v.Stats.Version, 10))
	p.raw("\">\n")
	p.top(v.Stats)
	f := v.Filter
	input := func(label, name, value, extra string) {
		p.raw(`    <label>`, label, ` <input name="`, name, `" value="`)
		p.esc(value)
		p.raw(`"`, extra, ` autocomplete="off"></label>`, "\n")
	}
	p.raw("<main>\n  <form class=\"filters\" method=\"get\" action=\"/\">\n")
	input("Namespace", "namespace", f.Namespace, ` list="namespaces"`)
	input("Kind", "kind", f.Kind, ` list="kinds" size="12"`)
	input("Name", "name", f.Name, ` placeholder="part of a name"`)
	input("Reason", "reason", f.Reason, ` list="reasons" size="14"`)
	if f.UID != "" {
		p.raw(`    <input type="hidden" name="uid" value="`)
		p.esc(f.UID)
		p.raw("\">\n")
	}
	p.raw(`    <label class="check"><input type="checkbox" name="errors" value="1"`)
	if f.Errors {
		p.raw(" checked")
	}
	p.raw("> with warnings</label>\n    <button type=\"submit\">Filter</button>\n")
	if v.Filtered {
		p.raw("    <a class=\"clear\" href=\"/\">Clear</a>\n")
	}
	for _, dl := range []struct {
		id   string
		opts []string
	}{{"namespaces", v.Namespaces}, {"kinds", v.Kinds}, {"reasons", v.Reasons}} {
		p.raw(`    <datalist id="`, dl.id, `">`)
		for _, o := range dl.opts {
			p.raw(`<option value="`)
			p.esc(o)
			p.raw(`">`)
		}
		p.raw("</datalist>\n")
	}
	p.raw("  </form>\n")
	if f.UID != "" {
		p.raw(`  <p class="note">Traces of the object with UID <code>`)
		p.esc(f.UID)
		p.raw("</code>.</p>\n")
	}
	switch {
	case len(v.Rows) > 0:
		p.raw(`  <table class="traces">
    <thead><tr><th>Trace</th><th>Namespace</th><th>Start</th><th class="num">Duration</th><th class="num">Spans</th><th class="num">Warnings</th></tr></thead>
    <tbody>
`)
		for _, r := range v.Rows {
			p.raw(`      <tr class="trace-row`)
			if r.Errors != 0 {
				p.raw(" has-errors")
			}
			p.raw(`" data-trace="`)
			p.esc(r.ID)
			p.raw(`">
        <td class="name"><a href="/trace/`)
			p.esc(r.ID)
			p.raw(`"><span class="object">`)
			if r.Object != "" {
				p.esc(r.Object)
			} else {
				p.esc(r.RootName)
			}
			p.raw(`</span></a> <span class="root">`)
			p.esc(r.RootName)
			p.raw("</span></td>\n        <td>")
			p.esc(r.Namespace)
			p.raw("</td>\n        <td class=\"time\"><time datetime=\"")
			p.esc(r.StartExact)
			p.raw(`">`)
			p.esc(r.Start)
			p.raw("</time></td>\n        <td class=\"num\">")
			p.esc(r.Duration)
			p.raw("</td>\n        <td class=\"num\">")
			p.int(r.Spans)
			p.raw("</td>\n        <td class=\"num\">")
			if r.Errors != 0 {
				p.raw(`<span class="badge warn">`)
				p.int(r.Errors)
				p.raw(`</span>`)
			} else {
				p.raw(`<span class="zero">0</span>`)
			}
			p.raw("</td>\n      </tr>\n")
		}
		p.raw("    </tbody>\n  </table>\n  <p class=\"foot\">")
		p.int(len(v.Rows))
		p.raw(" of ")
		p.plural(v.Stats.Traces, "trace")
		if v.Live {
			p.raw(" · refreshes by itself while kspan watches")
		}
		p.raw("</p>\n")
	case v.Filtered:
		p.raw(`  <p class="empty">No trace matches these filters. <a href="/">Show all traces</a>.</p>` + "\n")
	default:
		p.raw(`  <p class="empty">No traces yet. A trace appears here once it is complete: when nothing has joined it for <code>-linger</code>.`)
		if v.Live {
			p.raw(" This page refreshes by itself.")
		}
		p.raw("</p>\n")
	}
	p.raw("</main>\n</body>\n</html>\n")
}

func renderTrace(p *page, v traceView) {
	title := v.Object
	if title == "" {
		title = v.RootName
	}
	p.head(title)
	p.raw("<body class=\"trace\">\n")
	p.top(v.Stats)
	p.raw(`<main>
  <nav class="crumbs"><a href="/">Traces</a> ›</nav>
  <h1><span class="object">`)
	p.esc(v.Object)
	p.raw(`</span> <span class="root">`)
	p.esc(v.RootName)
	p.raw("</span></h1>\n  <p class=\"meta\">\n    <span>")
	p.esc(v.Duration)
	p.raw("</span> ·\n    <span>")
	p.plural(v.Spans, "span")
	p.raw("</span>\n")
	if v.Warnings != 0 {
		p.raw(`     · <span class="badge warn">`)
		p.plural(v.Warnings, "warning")
		p.raw("</span>\n")
	}
	if v.Orphans != 0 {
		p.raw("     · <span>")
		p.plural(v.Orphans, "orphan")
		p.raw("</span>\n")
	}
	p.raw("    · <span>")
	p.esc(v.Start)
	p.raw("</span>\n    · trace <code class=\"trace-id\">")
	p.esc(v.ID)
	p.raw("</code>\n    · <a href=\"/api/traces/")
	p.esc(v.ID)
	p.raw(`">OTLP/JSON</a>
  </p>
  <div class="toolbar">
    <button type="button" data-act="expand">Expand all</button>
    <button type="button" data-act="collapse">Collapse all</button>
`)
	if len(v.Components) > 0 {
		p.raw(`    <span class="legend">`)
		for _, c := range v.Components {
			p.raw(`<span class="chip"><span class="swatch `)
			p.esc(c.Color)
			p.raw(`"></span>`)
			p.esc(c.Name)
			p.raw(`</span>`)
		}
		p.raw("</span>\n")
	}
	p.raw("  </div>\n  <div class=\"waterfall\" style=\"--tick: ")
	p.esc(v.TickWidth)
	p.raw(`" data-total="`)
	p.int64(v.TotalNanos)
	p.raw(`">
    <div class="row head">
      <span class="mark"></span><span class="off">start</span><span class="dur">duration</span><span class="label">span</span>
      <span class="track ruler">`)
	for _, t := range v.Ticks {
		p.raw(`<span class="tick" style="left: `)
		p.esc(t.Left)
		p.raw(`">`)
		p.esc(t.Label)
		p.raw(`</span>`)
	}
	p.raw("</span>\n    </div>\n")
	for _, n := range v.Nodes {
		renderNode(p, n)
	}
	p.raw(`  </div>
  <p class="hint">Click a span for its message and attributes; ▾ folds its children.</p>
</main>
</body>
</html>
`)
}

func renderNode(p *page, n *nodeView) {
	p.raw("\n<div class=\"node\" id=\"span-")
	p.esc(n.ID)
	p.raw(`" data-span="`)
	p.esc(n.ID)
	p.raw(`" data-parent="`)
	p.esc(n.Parent)
	p.raw(`"`)
	if n.Orphan {
		p.raw(` data-orphan="1"`)
	}
	p.raw(` data-off="`)
	p.int64(n.OffNanos)
	p.raw(`" data-dur="`)
	p.int64(n.DurNanos)
	p.raw("\">\n  <div class=\"row")
	if n.Warn {
		p.raw(" warn")
	}
	if n.Root {
		p.raw(" root")
	}
	p.raw("\" tabindex=\"0\" aria-expanded=\"false\">\n    <span class=\"mark\">")
	if n.Warn {
		p.raw(`<span class="bang" title="Warning">!</span>`)
	}
	p.raw("</span>\n    <span class=\"off\">")
	p.esc(n.Off)
	p.raw("</span>\n    <span class=\"dur\">")
	p.esc(n.Dur)
	p.raw("</span>\n    <span class=\"label\" style=\"--d: ")
	p.int(n.Depth)
	p.raw(`">`)
	if len(n.Children) > 0 {
		p.raw(`<button type="button" class="toggle" aria-expanded="true" title="Fold the `)
		p.int(n.Descendants)
		p.raw(` spans below">▾</button>`)
	} else {
		p.raw(`<span class="leaf"></span>`)
	}
	if n.Orphan {
		p.raw(`<span class="orphan" title="its parent span is not in this trace">orphan</span>`)
	}
	p.raw(`<span class="name">`)
	p.esc(n.Name)
	p.raw(`</span><span class="msg">`)
	p.esc(n.Message)
	p.raw(`</span><span class="folded">+`)
	p.int(n.Descendants)
	p.raw("</span></span>\n    <span class=\"track\"><span class=\"bar ")
	p.esc(n.Color)
	if n.Warn {
		p.raw(" warn")
	}
	p.raw(`" style="left: `)
	p.esc(n.Left)
	p.raw(`; width: `)
	p.esc(n.Width)
	p.raw("\"></span></span>\n  </div>\n  <div class=\"detail\" hidden>\n    <div class=\"detail-head\"><span class=\"name\">")
	p.esc(n.Name)
	p.raw(`</span>`)
	if n.Warn {
		p.raw(` <span class="badge warn">Warning</span>`)
	}
	p.raw("</div>\n")
	if n.FullMessage != "" {
		p.raw(`    <p class="message">`)
		p.esc(n.FullMessage)
		p.raw("</p>\n")
	}
	if n.Warn {
		p.raw(`    <p class="status">Status ERROR`)
		if n.Status != n.FullMessage {
			p.raw(": ")
			p.esc(n.Status)
		} else {
			p.raw(", with the message above")
		}
		p.raw("</p>\n")
	}
	p.raw("    <dl class=\"times\">\n      <dt>start</dt><dd>")
	p.esc(n.StartTime)
	p.raw(" (")
	p.esc(n.Off)
	p.raw(")</dd>\n      <dt>end</dt><dd>")
	p.esc(n.EndTime)
	p.raw(" (lasted ")
	p.esc(n.Dur)
	p.raw(")</dd>\n      <dt>span</dt><dd><code>")
	p.esc(n.ID)
	p.raw(`</code>`)
	if n.Parent != "" {
		p.raw(`, parent <a href="#span-`)
		p.esc(n.Parent)
		p.raw(`"><code>`)
		p.esc(n.Parent)
		p.raw(`</code></a>`)
	}
	p.raw("</dd>\n")
	if n.Object != "" {
		p.raw(`      <dt>object</dt><dd>`)
		p.esc(n.Object)
		p.raw(` · <a class="object-traces" href="`)
		p.esc(n.ObjectFilter)
		p.raw(`">`)
		if n.OtherTraces != 0 {
			p.plural(n.OtherTraces, "other trace")
		} else {
			p.raw("no other traces")
		}
		p.raw("</a></dd>\n")
	}
	p.raw("    </dl>\n    <table class=\"attrs\">\n      <tbody>\n      ")
	for _, a := range n.Attrs {
		p.raw(`<tr><th>`)
		p.esc(a.Key)
		p.raw(`</th><td>`)
		p.esc(a.Value)
		p.raw(`</td></tr>`)
	}
	p.raw("\n      </tbody>\n    </table>\n")
	if len(n.Links) > 0 {
		p.raw(`    <table class="attrs links">
      <thead><tr><th colspan="2">Links</th></tr></thead>
      <tbody>
      `)
		for _, l := range n.Links {
			p.raw(`<tr><th><a href="/trace/`)
			p.esc(l.TraceID)
			p.raw(`#span-`)
			p.esc(l.SpanID)
			p.raw(`">trace `)
			p.esc(l.TraceID)
			p.raw(` span `)
			p.esc(l.SpanID)
			p.raw(`</a></th><td>`)
			for _, a := range l.Attrs {
				p.esc(a.Key)
				p.raw("=")
				p.esc(a.Value)
				p.raw(" ")
			}
			p.raw(`</td></tr>`)
		}
		p.raw("\n      </tbody>\n    </table>\n")
	}
	p.raw("  </div>\n")
	if len(n.Children) > 0 {
		p.raw(`  <div class="children">`)
		for _, c := range n.Children {
			renderNode(p, c)
		}
		p.raw("</div>\n")
	}
	p.raw("</div>\n")
}

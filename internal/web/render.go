package web

import (
	"bytes"
	"html"
	"strconv"
	"strings"

	"github.com/kspan-project/kspan/internal/printable"
)

// The pages are written by the functions below rather than by html/template:
// text/template calls methods by name through reflection, and a binary that
// does so keeps every exported method of every type it links (the linker can
// no longer tell which are unused). That doubled kspan's binary, and so its
// resident memory, for three small pages. Every value is escaped by esc (or
// is a number); the markup around them is fixed. esc also drops the
// characters that would let a name pass for another (printable.Text): the
// cluster's text is shown as written, never as it would like to look.

// page accumulates one HTML page.
type page struct{ bytes.Buffer }

// raw writes fixed markup.
func (p *page) raw(s string) { p.WriteString(s) }

// tag writes markup and values in turn, tag(m0, v0, m1, v1, ..., mN): the
// markup as it is, each value escaped.
func (p *page) tag(parts ...string) {
	for i, x := range parts {
		if i%2 == 0 {
			p.WriteString(x)
		} else {
			p.esc(x)
		}
	}
}

// esc writes text, escaped for an element's content or a quoted attribute
// value (& < > " '), without control characters (but line feeds and tabs),
// bidirectional controls or zero-width characters.
func (p *page) esc(s string) { p.WriteString(html.EscapeString(printable.Text(s))) }

func (p *page) int(n int)     { p.WriteString(strconv.Itoa(n)) }
func (p *page) int64(n int64) { p.WriteString(strconv.FormatInt(n, 10)) }

// plural writes n and the noun, with an s unless n is 1.
func (p *page) plural(n int, noun string) {
	p.int(n)
	p.raw(" " + noun)
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
		p.tag(`    <label>`+label+` <input name="`+name+`" value="`, value, `"`+extra+` autocomplete="off"></label>`+"\n")
	}
	p.raw("<main>\n  <form class=\"filters\" method=\"get\" action=\"/\">\n")
	input("Namespace", "namespace", f.Namespace, ` list="namespaces"`)
	input("Kind", "kind", f.Kind, ` list="kinds" size="12"`)
	input("Name", "name", f.Name, ` placeholder="part of a name"`)
	input("Reason", "reason", f.Reason, ` list="reasons" size="14"`)
	p.raw(`    <label>Rollout <select name="outcome">`)
	for _, o := range []string{"", "complete", "failed", "superseded", "in_progress", "unknown"} {
		p.raw(`<option value="` + o + `"`)
		if o == f.Outcome {
			p.raw(" selected")
		}
		label := strings.ReplaceAll(o, "_", " ")
		if o == "" {
			label = "any"
		}
		p.raw(">" + label + "</option>")
	}
	p.raw("</select></label>\n")
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
		p.raw(`    <datalist id="` + dl.id + `">`)
		for _, o := range dl.opts {
			p.raw(`<option value="`)
			p.esc(o)
			p.raw(`">`)
		}
		p.raw("</datalist>\n")
	}
	p.raw("  </form>\n")
	if v.Rollouts {
		p.raw(`  <p class="note"><a href="/rollouts">`)
		p.plural(v.Open, "rollout")
		p.raw(" in progress</a>")
		if v.Stuck > 0 {
			p.raw(` · <a class="badge warn" href="/rollouts?stuck=1">`)
			p.int(v.Stuck)
			p.raw(" stuck</a>")
		}
		p.raw("</p>\n")
	}
	if f.UID != "" {
		p.raw(`  <p class="note">Traces of the object with UID <code>`)
		p.esc(f.UID)
		p.raw("</code>.</p>\n")
	}
	switch {
	case len(v.Rows) > 0:
		p.raw(`  <table class="traces">
    <thead><tr><th>Trace</th><th>Namespace</th><th>Start</th><th class="num">Duration</th><th>Rollout</th><th class="num">Spans</th><th class="num">Warnings</th></tr></thead>
    <tbody>
`)
		for _, r := range v.Rows {
			p.raw(`      <tr class="trace-row`)
			if r.Errors != 0 {
				p.raw(" has-errors")
			}
			p.tag(`" data-trace="`, r.ID, `">
        <td class="name"><a href="/trace/`, r.ID, `"><span class="object">`)
			if r.Object != "" {
				p.esc(r.Object)
			} else {
				p.esc(r.RootName)
			}
			p.tag(`</span></a> <span class="root">`, r.RootName, "</span></td>\n        <td>", r.Namespace,
				"</td>\n        <td class=\"time\"><time datetime=\"", r.StartExact, `">`, r.Start,
				"</time></td>\n        <td class=\"num\">", r.Duration, "</td>\n        <td>")
			if r.Outcome != "" {
				p.tag(`<span class="outcome `, r.Outcome, `">`, r.Rollout, "</span>")
			}
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
	p.tag(`</span> <span class="root">`, v.RootName, "</span></h1>\n  <p class=\"meta\">\n    <span>", v.Duration, "</span> ·\n    <span>")
	p.plural(v.Spans, "span")
	p.raw("</span>\n")
	if v.Outcome != "" {
		p.tag(`     · <span class="outcome `, v.Outcome, `">rollout `, v.Rollout, "</span>\n")
	}
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
	p.tag("    · <span>", v.Start, "</span>\n    · trace <code class=\"trace-id\">", v.ID,
		"</code>\n    · <a href=\"/api/traces/", v.ID, `">OTLP/JSON</a>
  </p>
  <div class="toolbar">
    <button type="button" data-act="expand">Expand all</button>
    <button type="button" data-act="collapse">Collapse all</button>
`)
	if len(v.Components) > 0 {
		p.raw(`    <span class="legend">`)
		for _, c := range v.Components {
			p.tag(`<span class="chip"><span class="swatch `, c.Color, `"></span>`, c.Name, `</span>`)
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
		p.tag(`<span class="tick" style="left: `, t.Left, `">`, t.Label, `</span>`)
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
	p.tag("\n<div class=\"node\" id=\"span-", n.ID, `" data-span="`, n.ID, `" data-parent="`, n.Parent, `"`)
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
	p.tag("</span>\n    <span class=\"off\">", n.Off, "</span>\n    <span class=\"dur\">", n.Dur,
		"</span>\n    <span class=\"label\" style=\"--d: ")
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
	p.tag(`<span class="name">`, n.Name, `</span><span class="msg">`, n.Message, `</span><span class="folded">+`)
	p.int(n.Descendants)
	p.raw("</span></span>\n    <span class=\"track\"><span class=\"bar ")
	p.esc(n.Color)
	if n.Warn {
		p.raw(" warn")
	}
	p.tag(`" style="left: `, n.Left, `; width: `, n.Width,
		"\"></span></span>\n  </div>\n  <div class=\"detail\" hidden>\n    <div class=\"detail-head\"><span class=\"name\">", n.Name, `</span>`)
	if n.Warn {
		p.raw(` <span class="badge warn">Warning</span>`)
	}
	p.raw("</div>\n")
	if n.FullMessage != "" {
		p.tag(`    <p class="message">`, n.FullMessage, "</p>\n")
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
	p.tag("    <dl class=\"times\">\n      <dt>start</dt><dd>", n.StartTime, " (", n.Off, ")</dd>\n      <dt>end</dt><dd>", n.EndTime,
		" (lasted ", n.Dur, ")</dd>\n      <dt>span</dt><dd><code>", n.ID, `</code>`)
	if n.Parent != "" {
		p.tag(`, parent <a href="#span-`, n.Parent, `"><code>`, n.Parent, `</code></a>`)
	}
	p.raw("</dd>\n")
	if n.Object != "" {
		p.tag(`      <dt>object</dt><dd>`, n.Object, ` · <a class="object-traces" href="`, n.ObjectFilter, `">`)
		if n.OtherTraces != 0 {
			p.plural(n.OtherTraces, "other trace")
		} else {
			p.raw("no other traces")
		}
		p.raw("</a></dd>\n")
	}
	p.raw("    </dl>\n    <table class=\"attrs\">\n      <tbody>\n      ")
	for _, a := range n.Attrs {
		p.tag(`<tr><th>`, a.Key, `</th><td>`, a.Value, `</td></tr>`)
	}
	p.raw("\n      </tbody>\n    </table>\n")
	if len(n.Links) > 0 {
		p.raw(`    <table class="attrs links">
      <thead><tr><th colspan="2">Links</th></tr></thead>
      <tbody>
      `)
		for _, l := range n.Links {
			p.tag(`<tr><th><a href="/trace/`, l.TraceID, `#span-`, l.SpanID, `">trace `, l.TraceID, ` span `, l.SpanID, `</a></th><td>`)
			for _, a := range l.Attrs {
				p.tag("", a.Key, "=", a.Value, " ")
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

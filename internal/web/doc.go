// Package web is kspan's built-in trace viewer. A Store is one more sink
// beside the terminal tree and the OTLP outputs: it keeps the most recent
// traces in memory, bounded by count and bytes. A Server serves them to a
// browser as server-rendered pages (a filterable trace list and one
// waterfall per trace, laid out by package tree so the browser and the
// terminal tell the same story) and as OTLP/JSON. Templates, CSS and the
// little JavaScript there is are embedded: the viewer works offline.
//
// Flow: correlate.Engine → sink.Fanout → Store ← Server ← browser.
package web

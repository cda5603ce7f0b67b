package web

import (
	"fmt"
	"time"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/printable"
	"github.com/kspan-project/kspan/internal/tree"
)

// rolloutsView is the page of rollouts in progress.
type rolloutsView struct {
	Stats      Stats
	Rows       []rolloutRow
	StuckOnly  bool
	StuckAfter string
	// Open and Stuck count every rollout in progress, and the stuck ones.
	Open, Stuck int
}

type rolloutRow struct {
	Object, Kind      string
	Generation        int64
	Since, SinceExact string
	Age               string
	Stuck             bool
	// Counts say the status's replicas (a Job's pods).
	Counts string
	// Condition is the condition that says how it goes (a Deployment's
	// Progressing), "" when none.
	Condition string
	Warnings  []warningRow
	// Trace is the rollout's trace ID; Stored says the viewer holds some
	// of it (streamed spans), so the link leads somewhere.
	Trace  string
	Stored bool
}

type warningRow struct {
	At, Object, Reason, Message string
	Count                       int32
}

func newRolloutsView(st *Store, open []correlate.OpenRollout, stuckAfter time.Duration, stuckOnly bool, now time.Time) rolloutsView {
	v := rolloutsView{Stats: st.Stats(), StuckOnly: stuckOnly, StuckAfter: tree.Duration(stuckAfter)}
	for _, r := range open {
		age := now.Sub(r.Since)
		stuck := age >= stuckAfter
		v.Open++
		if stuck {
			v.Stuck++
		}
		if stuckOnly && !stuck {
			continue
		}
		row := rolloutRow{
			Object: printable.Line(r.Kind + " " + r.Namespace + "/" + r.Name), Kind: r.Kind, Generation: r.Generation,
			Since: r.Since.UTC().Format(timeLayout), SinceExact: r.Since.UTC().Format(time.RFC3339Nano),
			Age: tree.Duration(age.Truncate(time.Second)), Stuck: stuck, Trace: r.Trace.String(),
		}
		_, row.Stored = st.Trace(r.Trace)
		s := r.Status
		if r.Kind == "Job" {
			row.Counts = fmt.Sprintf("%d active · %d succeeded · %d failed", s.Active, s.Succeeded, s.Failed)
		} else {
			row.Counts = fmt.Sprintf("%d/%d updated · %d ready · %d available", s.Updated, s.Desired, s.Ready, s.Available)
		}
		if c := s.Condition("Progressing"); c != nil {
			row.Condition = printable.Line(c.Reason + ": " + c.Message)
		}
		for _, w := range r.Warnings {
			row.Warnings = append(row.Warnings, warningRow{At: w.At.UTC().Format(timeLayout), Object: printable.Line(w.Kind + " " + w.Name),
				Reason: printable.Line(w.Reason), Message: printable.Line(w.Message), Count: w.Count})
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func renderRollouts(p *page, v rolloutsView) {
	p.head("Rollouts in progress")
	p.raw("<body class=\"rollouts\">\n")
	p.top(v.Stats)
	p.raw(`<main>
  <nav class="crumbs"><a href="/">Traces</a> ›</nav>
  <h1>Rollouts in progress</h1>
  <p class="meta">`)
	p.plural(v.Open, "rollout")
	p.raw(" waiting for an outcome · ")
	p.int(v.Stuck)
	p.tag(" stuck (in progress for ", v.StuckAfter, " or more) · ")
	if v.StuckOnly {
		p.raw(`<a href="/rollouts">show all</a>`)
	} else {
		p.raw(`<a href="/rollouts?stuck=1">stuck only</a>`)
	}
	p.raw("</p>\n")
	if len(v.Rows) == 0 {
		p.raw(`  <p class="empty">No rollout is waiting for its outcome.</p>` + "\n</main>\n</body>\n</html>\n")
		return
	}
	p.raw(`  <table class="traces rollouts">
    <thead><tr><th>Rollout</th><th>Since</th><th class="num">For</th><th>Status</th><th>Latest warnings</th></tr></thead>
    <tbody>
`)
	for _, r := range v.Rows {
		p.raw(`      <tr class="rollout-row`)
		if r.Stuck {
			p.raw(" stuck")
		}
		p.raw("\">\n        <td class=\"name\">")
		if r.Stored {
			p.tag(`<a href="/trace/`, r.Trace, `"><span class="object">`, r.Object, "</span></a>")
		} else {
			p.tag(`<span class="object">`, r.Object, "</span>")
		}
		p.raw(` <span class="root">generation `)
		p.WriteString(fmt.Sprint(r.Generation))
		p.tag("</span></td>\n        <td class=\"time\"><time datetime=\"", r.SinceExact, `">`, r.Since, "</time></td>\n        <td class=\"num\">")
		if r.Stuck {
			p.tag(`<span class="badge warn">`, r.Age, "</span>")
		} else {
			p.esc(r.Age)
		}
		p.tag("</td>\n        <td>", r.Counts, "")
		if r.Condition != "" {
			p.tag(`<br><span class="condition">`, r.Condition, "</span>")
		}
		p.raw("</td>\n        <td>")
		if len(r.Warnings) == 0 {
			p.raw(`<span class="zero">none</span>`)
		}
		for _, w := range r.Warnings {
			p.tag(`<div class="warning"><span class="reason">`, w.Reason, `</span> <span class="object">`, w.Object, "</span>")
			if w.Count > 1 {
				p.raw(" ×")
				p.int(int(w.Count))
			}
			p.tag(`<br><span class="message">`, w.Message, `</span> <time>`, w.At, "</time></div>")
		}
		p.raw("</td>\n      </tr>\n")
	}
	p.raw("    </tbody>\n  </table>\n</main>\n</body>\n</html>\n")
}

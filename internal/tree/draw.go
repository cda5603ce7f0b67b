package tree

import (
	"bytes"
	"fmt"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kspan-project/kspan/internal/printable"
	"github.com/kspan-project/kspan/internal/span"
)

// row is one span's line before layout.
type row struct {
	s        *span.Span
	warn     bool
	label    string // tree connectors, name and detail, not yet truncated
	branch   int    // runes of label that are tree connectors
	off, dur string
}

// Escape codes, used only with Options.Color.
const (
	reset = "\x1b[0m"
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
	red   = "\x1b[31m"
)

// palette colours bars by reporting component: ANSI 256 colours that read
// on dark and light backgrounds, red left out for warnings.
var palette = [...]int{33, 37, 71, 136, 97, 173, 67, 108}

func draw(buf *bytes.Buffer, t *trace, opt Options) {
	width := opt.width()
	var rows []row
	for _, r := range layout(t) {
		rows = walk(rows, t, r, "", "")
	}

	writeHeader(buf, t, rows, width, opt.Color)

	offW, durW, maxLabel := 0, 0, 0
	for _, r := range rows {
		offW = max(offW, len(r.off))
		durW = max(durW, len(r.dur))
		maxLabel = max(maxLabel, utf8.RuneCountInString(r.label))
	}
	// gutter, offset, duration and the gaps between the four columns
	avail := width - (2 + offW + 2 + durW + 2 + 2)
	minBar := max(10, avail/3)
	labelW := max(1, min(maxLabel, avail-minBar))
	barW := max(1, avail-labelW)

	for _, r := range rows {
		if r.warn {
			buf.WriteString(paint(opt.Color, red, "!") + " ")
		} else {
			buf.WriteString("  ")
		}
		pad(buf, offW-len(r.off))
		buf.WriteString(r.off)
		buf.WriteString("  ")
		pad(buf, durW-len(r.dur))
		buf.WriteString(r.dur)
		buf.WriteString("  ")
		text := truncate(r.label, labelW)
		n := utf8.RuneCountInString(text)
		if opt.Color {
			branch := prefixRunes(text, min(r.branch, n))
			text = paint(true, dim, branch) + paint(r.warn, red, text[len(branch):])
		}
		buf.WriteString(text)
		pad(buf, labelW-n+2)
		writeBar(buf, t, r, barW, opt.Color)
		buf.WriteByte('\n')
	}
}

// walk appends the rows of n and its subtree in drawing order. lead is the
// connector drawn before n, indent what its children's connectors follow.
func walk(rows []row, t *trace, n *Node, lead, indent string) []row {
	s := n.Span
	branch := lead
	if n.Orphan {
		branch += "(orphan) "
	}
	rows = append(rows, row{
		s:      s,
		warn:   s.Error,
		label:  branch + label(s),
		branch: utf8.RuneCountInString(branch),
		off:    "+" + human(s.Start.Sub(t.start)),
		dur:    human(s.End.Sub(s.Start)),
	})
	for i, c := range n.Children {
		if i == len(n.Children)-1 {
			rows = walk(rows, t, c, indent+"└─ ", indent+"   ")
		} else {
			rows = walk(rows, t, c, indent+"├─ ", indent+"│  ")
		}
	}
	return rows
}

// label is a span's name and what it says: the event message, or for a
// span without one (a synthetic root) the object's name.
func label(s *span.Span) string {
	detail := s.Attr(span.KeyEventMessage)
	if detail == "" {
		detail = s.Attr(span.KeyObjectName)
	}
	name := printable.Line(s.Name)
	if detail = printable.Line(detail); detail != "" {
		return name + "  " + detail
	}
	return name
}

// writeHeader names the trace: its root object and root span, then its
// size, then when and which trace. Parts are packed greedily onto as few
// lines as the width allows, least important last, so a narrow terminal
// wraps the header rather than losing the warning count.
func writeHeader(buf *bytes.Buffer, t *trace, rows []row, width int, color bool) {
	root := t.roots[0].s
	parts := make([]string, 0, 8)
	if object := Object(root); object != "" {
		parts = append(parts, object)
	}
	parts = append(parts, printable.Line(root.Name))
	if o := RolloutOutcome(root); o != "" {
		parts = append(parts, o)
	}
	parts = append(parts, human(t.end.Sub(t.start)), plural(len(rows), "span"))
	warnings, orphans := 0, 0
	for _, r := range rows {
		if r.warn {
			warnings++
		}
	}
	for _, r := range t.roots {
		if r.orphan {
			orphans++
		}
	}
	if warnings > 0 {
		parts = append(parts, plural(warnings, "warning"))
	}
	if orphans > 0 {
		parts = append(parts, plural(orphans, "orphan"))
	}
	parts = append(parts, t.start.UTC().Format("2006-01-02 15:04:05 UTC"), "trace "+root.TraceID.String())

	line := "●"
	n := 1
	for i, p := range parts {
		p = truncate(p, width-2)
		pn := utf8.RuneCountInString(p)
		switch {
		case i == 0:
			line += " " + p
			n += 1 + pn
		case n+3+pn <= width:
			line += " · " + p
			n += 3 + pn
		default:
			buf.WriteString(paint(color, bold, line))
			buf.WriteByte('\n')
			line, n = "  "+p, 2+pn
		}
	}
	buf.WriteString(paint(color, bold, line))
	buf.WriteByte('\n')
}

// RolloutOutcome says how the rollout a root span stands for ended:
// "rollout complete after 4.60s", "rollout failed: ProgressDeadlineExceeded
// after 10m0s", "rollout in progress"; "" for any other span, and when no
// status was seen (unknown).
func RolloutOutcome(root *span.Span) string {
	o := root.Attr(span.KeyRolloutOutcome)
	if o == "" || o == "unknown" {
		return ""
	}
	p := "rollout " + strings.ReplaceAll(o, "_", " ")
	if r := root.Attr(span.KeyRolloutReason); o == "failed" && r != "" {
		p += ": " + r
	}
	if d, ok := root.Find(span.KeyRolloutDuration); ok {
		p += " after " + human(time.Duration(d.Int)*time.Millisecond)
	}
	return printable.Line(p)
}

// writeBar draws the span's place in the trace: a dotted lead-in up to the
// cell where it starts, then full blocks with an eighth-block end, or a thin
// mark for a span with no duration.
func writeBar(buf *bytes.Buffer, t *trace, r row, barW int, color bool) {
	total := durNanos(t.end.Sub(t.start))
	from := min(durNanos(r.s.Start.Sub(t.start)), total)
	to := min(max(durNanos(r.s.End.Sub(t.start)), from), total)
	eighths := uint64(barW) * 8
	var cell, n uint64 // start cell; length in eighths of a cell
	if total > 0 {
		cell = min(scale(from, eighths, total, false)/8, uint64(barW)-1)
		if to > from {
			n = max(scale(to, eighths, total, true), cell*8+1) - cell*8
		}
	}
	if cell > 0 {
		buf.WriteString(paint(color, dim, strings.Repeat("·", int(cell))))
	}
	var bar string
	if n == 0 {
		bar = "▏"
	} else {
		bar = strings.Repeat("█", int(n/8)) + eighthBlocks[n%8]
	}
	if i := ColorIndex(r.s.Attr(span.KeyEventComponent)); color && i >= 0 {
		bar = paint(true, fmt.Sprintf("\x1b[38;5;%dm", palette[i]), bar)
	}
	buf.WriteString(bar)
}

var eighthBlocks = [8]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// scale returns x*units/total, rounded down or to nearest, without
// overflow: x <= total, so the quotient fits.
func scale(x, units, total uint64, round bool) uint64 {
	hi, lo := bits.Mul64(x, units)
	q, rem := bits.Div64(hi, lo, total)
	if round && rem >= total-rem {
		q++
	}
	return q
}

func durNanos(d time.Duration) uint64 { return uint64(max(d, 0)) }

// human formats a duration in at most six characters for anything under
// 100 days, with two decimals while under 100 seconds.
func human(d time.Duration) string {
	d = max(d, 0)
	if cs := (d + 5*time.Millisecond) / (10 * time.Millisecond); cs < 100*100 {
		return fmt.Sprintf("%d.%02ds", cs/100, cs%100)
	}
	if s := (d + time.Second/2) / time.Second; s < 3600 {
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	if m := (d + time.Minute/2) / time.Minute; m < 100*60 {
		return fmt.Sprintf("%dh%02dm", m/60, m%60)
	}
	h := (d + time.Hour/2) / time.Hour
	return fmt.Sprintf("%dd%02dh", h/24, h%24)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// truncate shortens s to n runes, ending in "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return prefixRunes(s, n-1) + "…"
}

// prefixRunes is the first n runes of s.
func prefixRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

func pad(buf *bytes.Buffer, n int) {
	for range n {
		buf.WriteByte(' ')
	}
}

func paint(on bool, code, s string) string {
	if !on || s == "" {
		return s
	}
	return code + s + reset
}

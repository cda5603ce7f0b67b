package web

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kspan-project/kspan/internal/correlate"
	"github.com/kspan-project/kspan/internal/span"
)

// The browser tests drive a real headless Chromium (Debian's chromium
// package; make test installs it) over the DevTools protocol. Without it
// they fail: a skipped browser test would pass a broken page.

// chromiumPath is KSPAN_CHROMIUM, else /usr/bin/chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("KSPAN_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("no Chromium at %s (%v): the viewer's browser tests need it; install it with `apt-get install -y chromium` (make test does), or point KSPAN_CHROMIUM at one", p, err)
	}
	return p
}

// artifactDir is where screenshots go: $KSPAN_TEST_ARTIFACTS/web when set
// (make test sets it), else a temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if d := os.Getenv("KSPAN_TEST_ARTIFACTS"); d != "" {
		dir = filepath.Join(d, "web")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser starts Chromium with the flags ../shared/LOCAL-CLUSTER.md gives
// and a fresh profile, and returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return tab
}

// serveOnLoopback serves the viewer as kspan does: Listen on 127.0.0.1
// with an ephemeral port, Run until the test ends.
func serveOnLoopback(t *testing.T, st *Store, opt ViewerOptions) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	srv, err := Listen("127.0.0.1:0", NewViewer(st, opt), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("viewer: %v", err)
		}
	})
	return strings.TrimSuffix(srv.URL(), "/")
}

func screenshot(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	save(t, dir, name, png)
}

func save(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// do runs steps in the tab, failing the test on an error.
func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs an action in the tab and returns its value.
func value[T any](t *testing.T, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(tab, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	return value(t, tab, "evaluating "+expr, chromedp.Evaluate[T](expr))
}

type css = chromedp.CSS

// layoutCheck is what checkLayout finds wrong on a waterfall page.
type layoutCheck struct {
	Nodes, Rows, Ticks int
	BadParent          []string
	BadTrack           []string
	BadBar             []string
	Hidden             []string
}

// checkLayout measures the waterfall in the browser: every span's node
// sits inside its parent's, every row is drawn, all tracks (and the
// ruler) share one left edge and width, and each bar starts and ends where
// its span's times put it on that axis.
const checkLayout = `(() => {
  const wf = document.querySelector('.waterfall');
  const total = Number(wf.dataset.total);
  const axis = wf.querySelector('.row.head .track').getBoundingClientRect();
  const r = {Nodes: 0, Rows: 0, Ticks: wf.querySelectorAll('.tick').length, BadParent: [], BadTrack: [], BadBar: [], Hidden: []};
  for (const n of wf.querySelectorAll('.node')) {
    r.Nodes++;
    const id = n.dataset.span;
    const p = n.parentElement.closest('.node');
    if (p ? p.dataset.span !== n.dataset.parent : (n.dataset.parent !== '' && n.dataset.orphan !== '1')) r.BadParent.push(id);
    const row = n.querySelector(':scope > .row');
    const rb = row.getBoundingClientRect();
    if (rb.height < 10 || row.offsetParent === null) { r.Hidden.push(id); continue; }
    r.Rows++;
    const tb = row.querySelector('.track').getBoundingClientRect();
    if (Math.abs(tb.left - axis.left) > 0.5 || Math.abs(tb.width - axis.width) > 0.5) r.BadTrack.push(id + ' ' + tb.left + '+' + tb.width);
    const bb = row.querySelector('.bar').getBoundingClientRect();
    const off = Number(n.dataset.off), dur = Number(n.dataset.dur);
    const x = total > 0 ? axis.left + axis.width * off / total : axis.left;
    const w = total > 0 ? axis.width * dur / total : 0;
    if (Math.abs(bb.left - x) > 1 || Math.abs(bb.width - Math.max(w, 3)) > 1) r.BadBar.push(id + ' at ' + bb.left + '+' + bb.width + ', want ' + x + '+' + w);
  }
  return r;
})()`

func checkWaterfall(t *testing.T, tab context.Context, spans int) {
	t.Helper()
	got := value(t, tab, "measuring the waterfall", chromedp.Evaluate[layoutCheck](checkLayout))
	if got.Nodes != spans || got.Rows != spans {
		t.Errorf("%d nodes, %d rows drawn, for %d spans (hidden: %v)", got.Nodes, got.Rows, spans, got.Hidden)
	}
	if got.Ticks < 2 {
		t.Errorf("%d ticks on the ruler", got.Ticks)
	}
	for what, bad := range map[string][]string{"not under its parent": got.BadParent, "off the common axis": got.BadTrack, "with a misplaced bar": got.BadBar} {
		if len(bad) > 0 {
			t.Errorf("%d span(s) %s: %v", len(bad), what, bad)
		}
	}
}

func TestBrowserListWaterfallAndSpan(t *testing.T) {
	st := replayed(t, captures...)
	base := serveOnLoopback(t, st, ViewerOptions{})
	tab := browser(t)
	dir := artifactDir(t)

	// The list: one row per trace.
	do(t, tab, "loading the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("table.traces")))
	if rows := eval[int](t, tab, `document.querySelectorAll('tr.trace-row').length`); rows != st.Stats().Traces {
		t.Errorf("%d rows in the list, %d traces stored", rows, st.Stats().Traces)
	}
	screenshot(t, tab, dir, "list.png")

	// Open the rollout's trace from the list.
	tr := st.List(Filter{Namespace: "e2e-deploy", Kind: "Deployment"})[0]
	do(t, tab, "opening a trace",
		chromedp.Click(css(fmt.Sprintf(`tr[data-trace="%s"] a`, tr.ID))),
		chromedp.WaitVisible(css(".waterfall")))
	if loc := value(t, tab, "reading the location", chromedp.Location()); !strings.HasSuffix(loc, "/trace/"+tr.ID.String()) {
		t.Errorf("the link led to %s", loc)
	}
	checkWaterfall(t, tab, len(tr.Spans))
	screenshot(t, tab, dir, "trace.png")

	// Click a span: its panel shows its message and every attribute.
	var sched *span.Span
	for i := range tr.Spans {
		if strings.HasSuffix(tr.Spans[i].Name, ".Scheduled") {
			sched = &tr.Spans[i]
			break
		}
	}
	if sched == nil {
		t.Fatal("no Scheduled span in the rollout")
	}
	node := "#span-" + sched.SpanID.String()
	do(t, tab, "clicking a span",
		chromedp.Click(css(node+" > .row .name")),
		chromedp.WaitVisible(css(node+" > .detail")))
	message := value(t, tab, "reading the message", chromedp.Text(css(node+" > .detail .message")))
	attrs := eval[[][]string](t, tab, fmt.Sprintf(`[...document.querySelectorAll('%s > .detail .attrs tr')].map(tr => [tr.querySelector('th').textContent, tr.querySelector('td').textContent])`, node))
	var want [][]string
	for _, a := range attrViews(sched.AllAttrs()) {
		want = append(want, []string{a.Key, a.Value})
	}
	if !slices.EqualFunc(attrs, want, slices.Equal) {
		t.Errorf("the panel shows\n%q\nwant\n%q", attrs, want)
	}
	if message != sched.Attr(span.KeyEventMessage) {
		t.Errorf("the panel's message %q, want %q", message, sched.Attr(span.KeyEventMessage))
	}
	do(t, tab, "scrolling to the span", chromedp.ScrollIntoView(css(node)))
	save(t, dir, "span.png", value(t, tab, "screenshot of the span", chromedp.Screenshot(css(node))))

	// Fold the span's parent and unfold it.
	parent := "#span-" + sched.Parent.String()
	shown := fmt.Sprintf(`document.querySelector('%s > .row').offsetParent !== null`, node)
	do(t, tab, "folding", chromedp.Click(css(parent+" > .row .toggle")))
	if eval[bool](t, tab, shown) {
		t.Error("a folded span's child is still shown")
	}
	do(t, tab, "unfolding", chromedp.Click(css(parent+" > .row .toggle")))
	if !eval[bool](t, tab, shown) {
		t.Error("an unfolded span's child is hidden")
	}

	// The object's other traces are a click away.
	href := value(t, tab, "reading the object link", chromedp.AttributeValue(css(node+" > .detail a.object-traces"), "href"))
	if want := "/?uid=" + sched.Attr(span.KeyObjectUID); !href.Exists || href.Value != want {
		t.Errorf("object link %+v, want %q", href, want)
	}
}

func TestBrowserWarningMarked(t *testing.T) {
	st := replayed(t, captures...)
	base := serveOnLoopback(t, st, ViewerOptions{})
	tab := browser(t)
	dir := artifactDir(t)

	// Filter the list with its form to the traces with warnings.
	do(t, tab, "filtering the list",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css("form.filters")),
		chromedp.Click(css(`input[name="errors"]`)),
		chromedp.Submit(css("form.filters")),
		chromedp.WaitVisible(css("a.clear"))) // only on the filtered page
	warned := st.List(Filter{Errors: true})
	if rows := eval[int](t, tab, `document.querySelectorAll('tr.trace-row').length`); rows != len(warned) || rows != 1 {
		t.Fatalf("%d rows with warnings, want %d (and 1)", rows, len(warned))
	}
	tr := warned[0]
	do(t, tab, "opening the trace",
		chromedp.Click(css(`tr.trace-row a`)),
		chromedp.WaitVisible(css(".waterfall")))
	checkWaterfall(t, tab, len(tr.Spans))

	var failed *span.Span
	for i := range tr.Spans {
		if tr.Spans[i].Error {
			failed = &tr.Spans[i]
		}
	}
	if failed == nil || failed.Name != "Pod.FailedScheduling" {
		t.Fatalf("the warning is %+v", failed)
	}
	node := "#span-" + failed.SpanID.String()
	mark := value(t, tab, "reading the mark", chromedp.Text(css(node+" > .row .bang"), chromedp.NodeVisible))
	color := eval[string](t, tab, fmt.Sprintf(`getComputedStyle(document.querySelector('%s > .row .name')).color`, node))
	warnRows := eval[int](t, tab, `document.querySelectorAll('.waterfall .row.warn').length`)
	if mark != "!" || color != "rgb(198, 40, 40)" || warnRows != tr.Errors {
		t.Errorf("warning mark %q, name colour %s, %d warning rows for %d warnings", mark, color, warnRows, tr.Errors)
	}
	do(t, tab, "opening the warning",
		chromedp.Click(css(node+" > .row .msg")),
		chromedp.WaitVisible(css(node+" > .detail .status")))
	screenshot(t, tab, dir, "warning.png")
}

// While live, the list shows new traces without a reload by hand.
func TestBrowserListRefreshesWhileLive(t *testing.T) {
	st := NewStore(Limits{})
	base := serveOnLoopback(t, st, ViewerOptions{Live: true})
	tab := browser(t)
	do(t, tab, "loading the empty list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("p.empty")))
	tr := trace("arrived", 0, 3)
	export(t, st, tr)
	do(t, tab, "waiting for the new trace",
		chromedp.WaitVisible(css(fmt.Sprintf(`tr[data-trace="%s"]`, tr[0].TraceID))))
}

// The list says how each rollout ended and filters by it with its form;
// the page of rollouts in progress marks the stuck one.
func TestBrowserRolloutOutcomes(t *testing.T) {
	st := replayed(t, "live-job/events.json", "live-job/objects.json", "kspan-v0/deployment-2-pods.yaml")
	base := serveOnLoopback(t, st, ViewerOptions{
		Rollouts: func() []correlate.OpenRollout { return openRollouts(time.Now()) }, StuckAfter: 15 * time.Minute})
	tab := browser(t)
	dir := artifactDir(t)

	do(t, tab, "filtering the list by outcome",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css("form.filters")),
		chromedp.SetValue(css(`select[name="outcome"]`), "complete"),
		chromedp.Submit(css("form.filters")),
		chromedp.WaitVisible(css("a.clear")))
	outcomes := eval[[]string](t, tab, `[...document.querySelectorAll('tr.trace-row .outcome')].map(e => e.textContent)`)
	if len(outcomes) != 1 || outcomes[0] != "complete after 3.00s" {
		t.Errorf("outcomes listed %q, want the Job's complete alone", outcomes)
	}
	color := eval[string](t, tab, `getComputedStyle(document.querySelector('tr.trace-row .outcome')).color`)
	if color != "rgb(46, 125, 50)" {
		t.Errorf("a complete outcome drawn in %s", color)
	}
	screenshot(t, tab, dir, "list-outcome.png")

	do(t, tab, "opening the rollouts in progress",
		chromedp.Navigate(base+"/"),
		chromedp.Click(css(`a[href="/rollouts"]`)),
		chromedp.WaitVisible(css("table.rollouts")))
	rows := eval[int](t, tab, `document.querySelectorAll('tr.rollout-row').length`)
	stuck := eval[string](t, tab, `document.querySelector('tr.rollout-row.stuck .object').textContent`)
	if rows != 2 || stuck != "Deployment shop/web<b>" {
		t.Errorf("%d rollouts drawn, the stuck one %q", rows, stuck)
	}
	screenshot(t, tab, dir, "rollouts.png")
}

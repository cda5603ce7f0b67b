package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kspan-project/kspan/internal/live"
	"github.com/kspan-project/kspan/internal/record"
	"github.com/kspan-project/kspan/internal/replay"
	"github.com/kspan-project/kspan/internal/sink"
	"github.com/kspan-project/kspan/internal/span"
)

// showOptions is what kspan show (kubectl kspan) reads from its flags:
// replay's settings, where the cluster is, and which object.
type showOptions struct {
	Config
	Client    live.ClientOptions
	Namespace string
	Since     time.Duration
}

func newShowFlags(prog string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *showOptions) {
	s := &showOptions{Config: defaultConfig(getenv), Since: time.Hour}
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	s.Config.bind(fs)
	fs.StringVar(&s.Client.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&s.Client.Context, "context", "", "kubeconfig context to use (default: its current context)")
	fs.StringVar(&s.Namespace, "n", "", "namespace of the object (default: the kubeconfig context's, else default)")
	fs.DurationVar(&s.Since, "since", s.Since, "draw the changes whose Events are this recent (the apiserver keeps Events for an hour by default)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags] KIND/NAME\n\n"+
			"Draws the recent changes of one object (deploy/web, sts/db, job/backup, pod/web-0...)\n"+
			"from the Events and objects the apiserver holds now: it lists them, watches nothing\n"+
			"and installs nothing in the cluster, and replays them as kspan replay does.\n\nFlags:\n", prog)
		fs.PrintDefaults()
	}
	return fs, s
}

// runShow lists what the apiserver holds about KIND/NAME's namespace and
// replays it, keeping the traces the object takes part in.
func runShow(ctx context.Context, prog string, args []string, env Env) error {
	fs, s := newShowFlags(prog, env.Getenv, env.Stderr)
	// Flags may come after the object too, as kubectl takes them.
	var objArgs []string
	for rest := args; ; {
		if help, err := parseFlags(fs, rest, env.Stderr); help || err != nil {
			return err
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		objArgs, rest = append(objArgs, rest[0]), rest[1:]
	}
	if err := s.Config.complete(); err != nil {
		return &exitError{ExitUsage, err}
	}
	target, err := parseTarget(objArgs)
	if err != nil {
		fs.Usage()
		return &exitError{ExitUsage, err}
	}
	if s.Since <= 0 {
		return &exitError{ExitUsage, fmt.Errorf("-since %v: must be positive", s.Since)}
	}
	cfg := s.Config
	log := newLogger(env.Stderr, cfg)
	cfg.warnEnv(log)

	held, err := live.ListFor(ctx, s.Client, live.ListRequest{Resource: target.resource, Name: target.name, Namespace: s.Namespace}, log)
	if err != nil {
		return err
	}
	recs, dropped := recentRecords(held.Records, time.Now().Add(-s.Since))
	log.Debug("listed", "object", held.Object.String(), "records", len(held.Records), "older_events_left_out", dropped)

	ui, out, err := openOutputs(ctx, cfg, env, log)
	if err != nil {
		return err
	}
	defer ui.close()
	keep := &objectTraces{next: out, obj: held.Object, keep: map[span.TraceID]bool{}}
	res, err := replayInto(ctx, cfg, log, out, replay.Options{Records: recs, Sink: keep})
	if err != nil {
		return err
	}
	if keep.spans == 0 {
		log.Warn("no changes of the object in the Events the apiserver holds", "object", held.Object.String(), "since", s.Since, "events", res.Stats.Events)
	}
	return ui.serve(ctx)
}

// target is KIND/NAME as kubectl takes it: a resource (deploy,
// deployments.apps...) and a name, as one argument or two.
type target struct{ resource, name string }

func parseTarget(args []string) (target, error) {
	var t target
	switch len(args) {
	case 1:
		var ok bool
		t.resource, t.name, ok = strings.Cut(args[0], "/")
		if !ok {
			return t, fmt.Errorf("%q: want KIND/NAME (deploy/web) or KIND NAME", args[0])
		}
	case 2:
		t.resource, t.name = args[0], args[1]
	default:
		return t, errors.New("want one object: KIND/NAME (deploy/web) or KIND NAME")
	}
	if t.resource == "" || t.name == "" || strings.Contains(t.name, "/") || strings.Contains(t.resource, "/") {
		return t, fmt.Errorf("%q: want KIND/NAME (deploy/web) or KIND NAME", strings.Join(args, " "))
	}
	return t, nil
}

// recentRecords leaves out the Events last seen before since; objects all
// stay (they date the changes and carry the ownership).
func recentRecords(recs []record.Record, since time.Time) (kept []record.Record, dropped int) {
	for _, r := range recs {
		if r.Event != nil && r.Event.Last.Before(since) && r.Event.First.Before(since) {
			dropped++
			continue
		}
		kept = append(kept, r)
	}
	return kept, dropped
}

// objectTraces passes on the traces that the object takes part in: a span
// of it, or of something it owns (its span carries the owner's UID as
// k8s.<kind>.uid), or, when the object is gone, its name.
type objectTraces struct {
	next  sink.Sink
	obj   live.ObjectRef
	keep  map[span.TraceID]bool
	spans int
}

func (o *objectTraces) Export(ctx context.Context, spans []span.Span) error {
	for i := range spans {
		if !o.keep[spans[i].TraceID] && o.involves(&spans[i]) {
			o.keep[spans[i].TraceID] = true
		}
	}
	var out []span.Span
	for _, s := range spans {
		if o.keep[s.TraceID] {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	o.spans += len(out)
	return o.next.Export(ctx, out)
}

func (o *objectTraces) involves(s *span.Span) bool {
	p := "k8s." + strings.ToLower(o.obj.Kind)
	if o.obj.UID != "" {
		return s.Attr(p+".uid") == o.obj.UID
	}
	return s.Attr(p+".name") == o.obj.Name && (o.obj.Namespace == "" || s.Attr(span.KeyNamespace) == o.obj.Namespace)
}

func (o *objectTraces) Close(context.Context) error { return nil }

var _ sink.Sink = (*objectTraces)(nil)

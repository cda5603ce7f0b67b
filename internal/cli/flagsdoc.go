package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// FlagsReference writes the flags reference (docs/flags.md) from the flag
// definitions themselves: the flags both commands take, then live mode's
// own, then replay's own, then show's own, each with its default as the program sees it
// with no environment (the environment variables that change a default
// are in the meaning). A test fails when docs/flags.md differs from it.
func FlagsReference(w io.Writer) error {
	noEnv := func(string) string { return "" }
	liveFS, _ := newLiveFlags(noEnv, io.Discard)
	replayFS, _ := newReplayFlags(noEnv, io.Discard)
	showFS, _ := newShowFlags("kspan show", noEnv, io.Discard)
	in := func(fs *flag.FlagSet, name string) bool { return fs.Lookup(name) != nil }
	var shared, liveOnly, replayOnly, showOnly []*flag.Flag
	liveFS.VisitAll(func(f *flag.Flag) {
		if in(replayFS, f.Name) {
			shared = append(shared, f)
		} else {
			liveOnly = append(liveOnly, f)
		}
	})
	replayFS.VisitAll(func(f *flag.Flag) {
		if !in(liveFS, f.Name) {
			replayOnly = append(replayOnly, f)
		}
	})
	showFS.VisitAll(func(f *flag.Flag) {
		if !in(replayFS, f.Name) {
			showOnly = append(showOnly, f)
		}
	})
	var b strings.Builder
	b.WriteString("# Flags\n\n<!-- Generated from the flag definitions by `go test ./internal/cli -run TestFlagsReference -update`; do not edit. -->\n\n" +
		"`kspan [flags]` watches the cluster (live mode); `kspan replay [flags] FILE...` replays recorded\n" +
		"Events and objects; `kspan show [flags] KIND/NAME` (or `kubectl kspan KIND/NAME`) draws one\n" +
		"object's recent changes from what the apiserver holds, with replay's flags but\n" +
		"`-reorder-window` and its own. `kspan -h`, `kspan replay -h` and `kspan show -h` print the same.\n")
	for _, sec := range []struct {
		title string
		flags []*flag.Flag
	}{
		{"Both commands", shared},
		{"Live mode only (`kspan`)", liveOnly},
		{"Replay only (`kspan replay`)", replayOnly},
		{"Show only (`kspan show`, `kubectl kspan`)", showOnly},
	} {
		fmt.Fprintf(&b, "\n## %s\n\n| flag | default | meaning |\n|---|---|---|\n", sec.title)
		for _, f := range sec.flags {
			def := "`" + f.DefValue + "`"
			if f.DefValue == "" {
				def = "none"
			}
			fmt.Fprintf(&b, "| `-%s` | %s | %s |\n", f.Name, cell(def), cell(f.Usage))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

package printable

import (
	"strings"
	"testing"
)

// spoofers are the characters that must never reach a person: they ring,
// move the cursor, reorder or hide text.
var spoofers = []rune{
	'\a', '\b', '\x1b', '\x7f', '\u0085', '\u009b', // BEL, BS, ESC, DEL, NEL, CSI
	'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', // embeddings and overrides
	'\u2066', '\u2067', '\u2068', '\u2069', // isolates
	'\u200e', '\u200f', '\u061c', // marks
	'\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', // zero-width
}

func TestLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"plain":                "plain",
		"a\nb\r\n\tc":          "a b c",
		"  lead and trail  \n": "lead and trail",
		"two  spaces":          "two spaces",
		"esc\x1b[31mred":       "esc [31mred",
		"bidi\u202eevil":       "bidievil",
		"gnp.exe\u202egpj":     "gnp.exegpj",
		"zero\u200bwidth":      "zerowidth",
		"arabic\u061cmark":     "arabicmark",
		"bad\xffutf8":          "badutf8",
		"line\u2028sep":        "line sep",
		"ünï 日本":               "ünï 日本",
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
	for _, r := range spoofers {
		if got := Line("a" + string(r) + "b"); strings.ContainsRune(got, r) {
			t.Errorf("Line keeps %U: %q", r, got)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"plain":                      "plain",
		"two\nlines\tand a tab":      "two\nlines\tand a tab",
		"crlf\r\nlf\rcr":             "crlf\nlf\ncr",
		"  kept  spaces ":            "  kept  spaces ",
		"bell\a esc\x1b[2J":          "bell esc[2J",
		"deploy/\u202eweb\u2069-1":   "deploy/web-1",
		"para\u2029graph":            "para\ngraph",
		"c1\u0085\u009bcontrols\xff": "c1controls",
		"ünï 日本":                     "ünï 日本",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	for _, r := range spoofers {
		if got := Text("a" + string(r) + "b"); got != "ab" {
			t.Errorf("Text keeps %U: %q", r, got)
		}
	}
}

// The common case, text with nothing to remove, is returned as it is.
func TestAsIsAllocatesNothing(t *testing.T) {
	const s = "Scaled up replica set web-5d9c to 3 from 2 — ünï"
	if n := testing.AllocsPerRun(100, func() { _, _ = Line(s), Text(s) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// Whatever the input, nothing that moves, rings, reorders or hides is
// left, and cleaning twice changes nothing more.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "plain", "a\r\nb\rc", "web-\u202e1-bed", "\x1b[2J\a", " two  spaces ", "\xff\u0085\u2028", "ünï 日本\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, text := Line(s), Text(s)
		for _, r := range line {
			if r == '\uFFFD' || Hidden(r) || control(r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("Line(%q) = %q keeps %U", s, line, r)
			}
		}
		if strings.HasPrefix(line, " ") || strings.HasSuffix(line, " ") || strings.Contains(line, "  ") {
			t.Fatalf("Line(%q) = %q: spaces not collapsed", s, line)
		}
		for _, r := range text {
			if r == '\uFFFD' || Hidden(r) || control(r) && r != '\n' && r != '\t' || r == '\u2028' || r == '\u2029' {
				t.Fatalf("Text(%q) = %q keeps %U", s, text, r)
			}
		}
		if Line(line) != line || Text(text) != text {
			t.Fatalf("not idempotent: %q -> %q, %q", s, line, text)
		}
	})
}

package printable

import (
	"strings"
	"unicode/utf8"
)

// Line is s on one line: invisible characters (Hidden) and invalid UTF-8
// go, and runs of control characters and white space, line breaks
// included, become one space; leading and trailing ones go.
func Line(s string) string {
	if lineAsIs(s) {
		return s
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError, Hidden(r):
			continue
		case r == ' ' || breaks(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Text is s with its lines kept: invisible characters (Hidden), invalid
// UTF-8 and control characters go, except line feeds and tabs. A carriage
// return before a line feed goes, another becomes a line feed, as do the
// Unicode line and paragraph separators.
func Text(s string) string {
	if textAsIs(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\n', r == '\t':
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			r = '\n'
		case r == '\u2028', r == '\u2029':
			r = '\n'
		case r == utf8.RuneError, Hidden(r), control(r):
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Hidden reports the invisible characters that reorder or hide text: the
// bidirectional embeddings, overrides, isolates and marks (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C), the zero-width characters
// (U+200B–U+200D, U+2060–U+2064, U+FEFF), the soft hyphen and the
// Mongolian vowel separator.
func Hidden(r rune) bool {
	return r == '\u00ad' || r == '\u061c' || r == '\u180e' || (r >= '\u200b' && r <= '\u200f') ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2060' && r <= '\u2069') || r == '\ufeff'
}

// control reports the C0 and C1 control characters and DEL.
func control(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

// breaks reports what Line turns into a space besides the space itself.
func breaks(r rune) bool { return control(r) || r == '\u2028' || r == '\u2029' }

// lineAsIs reports whether Line would return s unchanged (the common case,
// which then allocates nothing).
func lineAsIs(s string) bool {
	prev := ' ' // a leading space is trimmed
	for _, r := range s {
		if r == utf8.RuneError || Hidden(r) || breaks(r) || (r == ' ' && prev == ' ') {
			return false
		}
		prev = r
	}
	return prev != ' ' // a trailing space is trimmed; "" is returned as it is either way
}

// textAsIs reports whether Text would return s unchanged.
func textAsIs(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || Hidden(r) || (control(r) && r != '\n' && r != '\t') || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

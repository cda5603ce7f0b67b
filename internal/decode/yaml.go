package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/kspan-project/kspan/internal/record"
)

// yamlDoc is one document of a multi-document YAML stream.
type yamlDoc struct {
	n    int // 1-based
	line int // the line its text starts on
	text []byte
}

// splitYAML cuts a YAML stream at its "---" lines. Text before the first
// separator is a document only if it holds more than blanks.
func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	start, n, lineNo, startLine := 0, 1, 1, 1
	flush := func(end int) {
		text := data[start:end]
		if len(docs) > 0 || len(bytes.TrimSpace(text)) > 0 {
			docs = append(docs, yamlDoc{n: n, line: startLine, text: text})
			n++
		}
	}
	for pos := 0; pos < len(data); lineNo++ {
		eol := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if eol >= 0 {
			next = pos + eol + 1
		}
		line := bytes.TrimRight(data[pos:next], "\r\n")
		if isSeparator(line) {
			flush(pos)
			start, startLine = pos+3, lineNo // content may follow "--- " on the same line
		}
		pos = next
	}
	flush(len(data))
	return docs
}

func isSeparator(line []byte) bool {
	return bytes.Equal(line, []byte("---")) ||
		bytes.HasPrefix(line, []byte("--- ")) || bytes.HasPrefix(line, []byte("---\t"))
}

// v0Comment is the line the earlier kspan's --capture-to put at the top of
// each document.
type v0Comment struct {
	Time  string `json:"time"`
	Style string `json:"style"`
	Kind  string `json:"kind"`
}

// v0Time returns the observation time of a document written by the earlier
// kspan: its first non-blank line is `# {"time":"...","style":...}`. It
// returns zero for other documents.
func v0Time(text []byte) (time.Time, error) {
	for line := range bytes.Lines(text) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		body, ok := bytes.CutPrefix(line, []byte("#"))
		body = bytes.TrimSpace(body)
		if !ok || !bytes.HasPrefix(body, []byte("{")) || !bytes.Contains(body, []byte(`"time"`)) {
			return time.Time{}, nil
		}
		var c v0Comment
		if err := json.Unmarshal(body, &c); err != nil {
			return time.Time{}, fmt.Errorf("earlier kspan's capture comment: %w", err)
		}
		t, err := time.Parse(time.RFC3339Nano, c.Time)
		if err != nil {
			return time.Time{}, fmt.Errorf("earlier kspan's capture comment: %w", err)
		}
		return t.UTC(), nil
	}
	return time.Time{}, nil
}

// yamlStream decodes YAML documents, each an object, a List or a watch
// event wrapper. If no document is even a mapping, the input is not YAML
// made by kubectl or kspan at all, and its problems become one.
func (d *decoder) yamlStream(data []byte) {
	before := len(d.probs)
	mappings := 0
	for _, doc := range splitYAML(data) {
		at := where{name: d.name, doc: doc.n}
		if err := d.checkSize(doc); err != nil {
			d.problem(at, err)
			mappings++ // too large to tell, not proof that the input is something else
			continue
		}
		obs, err := v0Time(doc.text)
		if err != nil {
			d.problem(at, err) // the object itself may still be fine
		}
		js, err := yaml.YAMLToJSON(doc.text)
		if err != nil {
			d.problem(at, fmt.Errorf("malformed YAML: %w", err))
			continue
		}
		js = bytes.TrimSpace(js)
		if bytes.Equal(js, []byte("null")) { // empty, or comments only
			continue
		}
		if js[0] != '{' {
			d.problem(at, fmt.Errorf("a YAML %s, not a Kubernetes object", yamlKind(js[0])))
			continue
		}
		mappings++
		var w wire
		if err := tolerate(json.Unmarshal(js, &w), &w, js, ""); err != nil {
			d.problem(at, err)
			continue
		}
		d.value(&w, js, at, obs, record.Upsert, false)
	}
	if mappings == 0 && len(d.probs) > before {
		first := d.probs[before].Err
		d.probs = d.probs[:before]
		d.problem(where{name: d.name}, fmt.Errorf(
			"not kubectl JSON or YAML output nor a kspan capture: %w", first))
	}
}

func yamlKind(c byte) string {
	switch c {
	case '[':
		return "sequence"
	case '"':
		return "string"
	}
	return "scalar"
}

// checkSize refuses a document larger than the bound on a document, its
// aliases expanded: a few megabytes behind an anchor used a few hundred
// times would take gigabytes to decode. A document without both an anchor
// and an alias sign is its own size and is not parsed here.
func (d *decoder) checkSize(doc yamlDoc) error {
	max := d.lim.document
	if len(doc.text) > max {
		return fmt.Errorf("document of %d bytes from line %d, over the bound of %s on a document: skipped",
			len(doc.text), doc.line, size(max))
	}
	if bytes.IndexByte(doc.text, '&') < 0 || bytes.IndexByte(doc.text, '*') < 0 {
		return nil
	}
	var root yaml3.Node
	if yaml3.Unmarshal(doc.text, &root) != nil {
		return nil // the decoder reports it
	}
	if n := expandedSize(&root, map[*yaml3.Node]int{}, max); n > max {
		return fmt.Errorf("document from line %d expands its aliases to more than %s (the bound on a document): skipped",
			doc.line, size(max))
	}
	return nil
}

// expandedSize is about the number of bytes node n stands for once its
// aliases are expanded, or max+1 if that is more than max. memo holds the
// sizes of anchored nodes, so that each is walked once.
func expandedSize(n *yaml3.Node, memo map[*yaml3.Node]int, max int) int {
	if n == nil {
		return 0
	}
	if s, ok := memo[n]; ok {
		return s
	}
	if n.Anchor != "" {
		memo[n] = 0 // an alias inside its own anchor: the YAML decoder refuses it
	}
	var s int
	switch n.Kind {
	case yaml3.AliasNode:
		s = expandedSize(n.Alias, memo, max)
	case yaml3.ScalarNode:
		s = len(n.Value) + 1
	default:
		s = 2
		for _, c := range n.Content {
			if s += expandedSize(c, memo, max); s > max {
				break
			}
		}
	}
	s = min(s, max+1)
	if n.Anchor != "" {
		memo[n] = s
	}
	return s
}

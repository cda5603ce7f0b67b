package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kspan-project/kspan/internal/record"
)

// yamlDoc is one document of a multi-document YAML stream.
type yamlDoc struct {
	n    int // 1-based
	text []byte
}

// splitYAML cuts a YAML stream at its "---" lines. Text before the first
// separator is a document only if it holds more than blanks.
func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	start, n := 0, 1
	flush := func(end int) {
		text := data[start:end]
		if len(docs) > 0 || len(bytes.TrimSpace(text)) > 0 {
			docs = append(docs, yamlDoc{n: n, text: text})
			n++
		}
	}
	for pos := 0; pos < len(data); {
		eol := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if eol >= 0 {
			next = pos + eol + 1
		}
		line := bytes.TrimRight(data[pos:next], "\r\n")
		if isSeparator(line) {
			flush(pos)
			start = pos + 3 // content may follow "--- " on the same line
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

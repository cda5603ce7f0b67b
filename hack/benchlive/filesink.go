package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/kspan-project/kspan/internal/span"
)

// fileSink reads what a Collector's file exporter writes (OTLP/JSON, a
// line per batch, logs or traces) as it grows, and keeps per Event UID the
// highest count a log record or span carried (k8s.event.uid and
// k8s.event.count are the same keys in the contrib k8s_events receiver's
// logs and in kspan's spans), so that the harness can wait until a
// Collector has delivered every Event.
type fileSink struct {
	path  string
	mu    sync.Mutex
	off   int64
	have  map[string]int64
	items int64 // log records and spans read
}

func newFileSink(path string) *fileSink {
	_ = os.Remove(path)
	return &fileSink{path: path, have: map[string]int64{}}
}

// otlpLine is the part of an OTLP/JSON line the sink reads.
type otlpLine struct {
	ResourceSpans []struct {
		ScopeSpans []struct {
			Spans []struct {
				Attributes []keyValue `json:"attributes"`
			} `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
	ResourceLogs []struct {
		ScopeLogs []struct {
			LogRecords []struct {
				Attributes []keyValue `json:"attributes"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value struct {
		StringValue string          `json:"stringValue"`
		IntValue    json.RawMessage `json:"intValue"` // a string in OTLP/JSON, a number in some writers
	} `json:"value"`
}

// read takes in the whole lines written since the last read.
func (s *fileSink) read() {
	f, err := os.Open(s.path)
	if err != nil {
		return // not written yet
	}
	defer f.Close()
	if _, err := f.Seek(s.off, io.SeekStart); err != nil {
		return
	}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return // an incomplete line is read again next time
		}
		s.off += int64(len(line))
		if err := s.take(line); err != nil {
			logf("%s at byte %d: %v", s.path, s.off, err)
		}
	}
}

func (s *fileSink) take(line []byte) error {
	var l otlpLine
	if err := json.Unmarshal(line, &l); err != nil {
		return err
	}
	for _, rs := range l.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s.note(sp.Attributes)
			}
		}
	}
	for _, rl := range l.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				s.note(r.Attributes)
			}
		}
	}
	return nil
}

func (s *fileSink) note(attrs []keyValue) {
	s.items++
	var uid string
	count := int64(1)
	for _, a := range attrs {
		switch a.Key {
		case span.KeyEventUID:
			uid = a.Value.StringValue
		case span.KeyEventCount:
			if n, err := strconv.ParseInt(strings.Trim(string(a.Value.IntValue), `"`), 10, 64); err == nil {
				count = max(count, n)
			}
		}
	}
	if uid != "" {
		s.have[uid] = max(s.have[uid], count)
	}
}

// covered reads what is new and returns a copy of the highest count
// delivered per Event UID, and how many records and spans were read.
func (s *fileSink) covered() (map[string]int64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	out := make(map[string]int64, len(s.have))
	for k, v := range s.have {
		out[k] = v
	}
	return out, s.items
}

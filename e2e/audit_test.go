package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requests counts kspan's requests in the apiserver's audit log since t.
type requests struct {
	total, lists, watches int
	objectGets            int // GETs of one named object: what an owner walk by API would cost
	discovery             int
	// relists are lists and watches that begin with every object
	// (sendInitialEvents, client-go's streaming list).
	relists int
}

func kspanRequests(t *testing.T, since time.Time) requests {
	t.Helper()
	f, err := os.Open(filepath.Join(env.dir, "audit.log"))
	if err != nil {
		t.Fatalf("the apiserver's audit log: %v", err)
	}
	defer f.Close()
	var r requests
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Stage     string    `json:"stage"`
			Verb      string    `json:"verb"`
			UserAgent string    `json:"userAgent"`
			URI       string    `json:"requestURI"`
			Received  time.Time `json:"requestReceivedTimestamp"`
			ObjectRef *struct {
				Name string `json:"name"`
			} `json:"objectRef"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || !strings.HasPrefix(ev.UserAgent, "kspan") || ev.Received.Before(since) {
			continue
		}
		if ev.Stage != "ResponseComplete" && !(ev.Verb == "watch" && ev.Stage == "ResponseStarted") {
			continue
		}
		r.total++
		switch {
		case ev.Verb == "list":
			r.lists++
			r.relists++
		case ev.Verb == "watch":
			r.watches++
			if strings.Contains(ev.URI, "sendInitialEvents=true") {
				r.relists++
			}
		case ev.Verb == "get" && ev.ObjectRef != nil && ev.ObjectRef.Name != "":
			r.objectGets++
		case ev.Verb == "get":
			r.discovery++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

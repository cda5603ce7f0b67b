package httpserve

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Hosts are the names a server answers to in a request's Host header: its
// defence against DNS rebinding. There a web page makes its own name (say
// evil.example.com) resolve to this machine's address, and the browser,
// seeing one origin, lets the page read the answers; but the request
// still carries that name in Host, and a server that answers only names it
// was given cannot be read that way.
//
// Always answered: localhost (and names under .localhost), IP addresses
// (a page cannot rebind an address: one at http://127.0.0.1:7380/ is this
// server), and an empty Host (HTTP/1.0; no browser sends it). Other names
// must be listed. The port is not compared: rebinding changes the name,
// not the port, and forwarding (kubectl port-forward, ssh -L) changes the
// port, not the name. The zero value answers only what is always answered.
type Hosts struct {
	any   bool
	names []string // lower case, no trailing dot; ".example.com" also matches its subdomains
	flag  string   // the flag that lists them, for messages
}

// ParseHosts reads a comma-separated list of host names, or "*" for any
// host; a name starting with a dot (".example.com") matches that domain and
// every name under it. flag names the list in errors and refusals.
func ParseHosts(list, flag string) (Hosts, error) {
	h := Hosts{flag: flag}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case name == "*":
			h.any = true
		case !validName(name):
			return Hosts{}, fmt.Errorf("%s %q: want host names without scheme or port (example.com, .example.com for its subdomains), comma-separated, or *", flag, name)
		default:
			h.names = append(h.names, strings.TrimSuffix(strings.ToLower(name), "."))
		}
	}
	return h, nil
}

// validName accepts letters, digits, hyphens, underscores and dots.
func validName(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return strings.Trim(s, ".") != ""
}

// With adds the host of addr (host:port, the address the server was told
// to listen on) when it is a name, so that the name the user gave is
// answered.
func (h Hosts) With(addr string) Hosts {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" || !validName(host) {
		return h
	}
	h.names = append(h.names[:len(h.names):len(h.names)], strings.TrimSuffix(strings.ToLower(host), "."))
	return h
}

// Any reports whether every Host is answered ("*" was listed).
func (h Hosts) Any() bool { return h.any }

// Listed reports whether any name (or "*") was listed or added.
func (h Hosts) Listed() bool { return h.any || len(h.names) > 0 }

// Allows reports whether a request whose Host header is host is answered.
func (h Hosts) Allows(host string) bool {
	if h.any || host == "" {
		return true
	}
	name := host
	bracketed := false
	if n, _, err := net.SplitHostPort(host); err == nil {
		name, bracketed = n, strings.HasPrefix(host, "[")
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		bracketed = true
	}
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")), ".")
	// An address; an IPv6 one (and its zone) only in brackets, as a Host
	// writes it: "::%.evil.example.com:80" parses as an address with a zone.
	if a, err := netip.ParseAddr(name); err == nil && (a.Is4() || bracketed) {
		return true
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	for _, n := range h.names {
		if name == n || strings.HasPrefix(n, ".") && (name == n[1:] || strings.HasSuffix(name, n)) {
			return true
		}
	}
	return false
}

// Refusal says why r must not be answered: 421 Misdirected Request for a
// Host that is not allowed, and 403 Forbidden for a request other than GET
// or HEAD sent by a page of another origin (its Origin header names
// another host than Host). It returns 0 for a request to answer.
func (h Hosts) Refusal(r *http.Request) (status int, msg string) {
	if !h.Allows(r.Host) {
		msg := fmt.Sprintf("this server does not answer to the name %q: it answers localhost and IP addresses", r.Host)
		if h.flag != "" {
			msg += ", and the names listed with " + h.flag
		}
		return http.StatusMisdirectedRequest, msg
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return 0, ""
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return 0, "" // not sent by a browser's cross-origin request
	}
	if u, err := url.Parse(origin); err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return http.StatusForbidden, fmt.Sprintf("a %s from the origin %q is refused: only pages of this server may send one", r.Method, origin)
	}
	return 0, ""
}

// Check serves next the requests Refusal lets through and refuses the
// others in plain text.
func (h Hosts) Check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, msg := h.Refusal(r); status != 0 {
			http.Error(w, msg, status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

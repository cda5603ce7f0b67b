package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout bounds how long requests in flight may finish after Run's
// context ends.
const ShutdownTimeout = 5 * time.Second

// Server is an http.Server on a listener bound by Listen, served by Run.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	what string
}

// Listen binds addr (host:port; port 0 picks a free one) for srv; what
// names the server in errors ("the viewer", "metrics").
func Listen(addr string, srv *http.Server, what string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for %s: %w", what, err)
	}
	return &Server{ln: ln, srv: srv, what: what}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close releases the listener of a server that is not running; Run releases
// it itself, so Close after Run does nothing.
func (s *Server) Close() error {
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("closing the listener of %s: %w", s.what, err)
	}
	return nil
}

// Run serves until ctx is done, then shuts down: it stops accepting, lets
// requests in flight finish for up to ShutdownTimeout, and returns once the
// server has stopped.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving %s: %w", s.what, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(shutCtx)
	if err != nil {
		err = errors.Join(err, s.srv.Close()) // requests that did not finish in time
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stopping %s: %w", s.what, err)
	}
	return nil
}

package live

import (
	"net"
	"slices"
	"testing"
	"time"
)

// scriptConn is a net.Conn whose reads return the scripted sizes, one per
// read, and count them.
type scriptConn struct {
	net.Conn
	sizes []int
}

func (c *scriptConn) Read(b []byte) (int, error) {
	n := min(c.sizes[0], len(b))
	c.sizes = c.sizes[1:]
	return n, nil
}

// fakeClock is a pacer's clock: sleeping advances it, and each read takes
// step.
type fakeClock struct {
	t      time.Time
	step   time.Duration
	sleeps []time.Duration
}

func (f *fakeClock) now() time.Time {
	f.t = f.t.Add(f.step)
	return f.t
}

func (f *fakeClock) sleep(d time.Duration) {
	f.sleeps = append(f.sleeps, d)
	f.t = f.t.Add(d)
}

func pacedFor(sizes []int, on bool) (*pacedConn, *fakeClock) {
	clk := &fakeClock{t: time.Date(2026, 12, 2, 0, 0, 0, 200e6, time.UTC), step: time.Millisecond}
	p := newPacer(100 * time.Millisecond)
	p.now, p.sleep = clk.now, clk.sleep
	p.on.Store(on)
	return &pacedConn{Conn: &scriptConn{sizes: sizes}, p: p}, clk
}

func readAll(t *testing.T, c *pacedConn, n int) {
	t.Helper()
	buf := make([]byte, 16<<10)
	for range n {
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPacedConn: after a read that drains the socket (a short read) the
// next waits out the rest of the wait; full reads, bulk windows and a
// pacer not yet on do not wait.
func TestPacedConn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		on     bool
		sizes  []int
		sleeps int // how many reads waited
	}{
		{"trickle", true, []int{2000, 2000, 2000, 2000}, 3},
		{"off until synced", false, []int{2000, 2000, 2000, 2000}, 0},
		{"full reads", true, []int{16 << 10, 16 << 10, 16 << 10, 500, 2000}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clk := pacedFor(tc.sizes, tc.on)
			readAll(t, c, len(tc.sizes))
			if len(clk.sleeps) != tc.sleeps {
				t.Errorf("%d reads waited (%v), want %d", len(clk.sleeps), clk.sleeps, tc.sleeps)
			}
			for _, d := range clk.sleeps {
				if d <= 0 || d > 100*time.Millisecond {
					t.Errorf("waited %v, want within (0, 100ms]", d)
				}
			}
		})
	}
}

// TestPacedConnBulk: a list, 64 kB and more within one wait and then
// short reads while it keeps coming (a read a millisecond), is never
// paced; once a whole wait brings less than 64 kB, pacing resumes.
func TestPacedConnBulk(t *testing.T) {
	bulk := append(slices.Repeat([]int{16 << 10}, 5), slices.Repeat([]int{4000}, 300)...)
	c, clk := pacedFor(append(bulk, slices.Repeat([]int{100}, 300)...), true)
	readAll(t, c, len(bulk))
	if len(clk.sleeps) != 0 {
		t.Fatalf("the list was paced: %v", clk.sleeps)
	}
	readAll(t, c, 300)
	if len(clk.sleeps) == 0 {
		t.Error("pacing did not resume after the list")
	}
}

// TestPacedConnSeconds: no wait carries a read across a whole second, and
// reads near one are not paced, so that every observation is stamped in
// the second its bytes arrived in.
func TestPacedConnSeconds(t *testing.T) {
	c, clk := pacedFor(slices.Repeat([]int{100}, 3000), true)
	buf := make([]byte, 16<<10)
	for range 3000 {
		before, slept := clk.t, len(clk.sleeps)
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		// What the read returns arrived by the time it was asked for;
		// a wait must not carry it into the next second.
		if len(clk.sleeps) > slept && !before.Truncate(time.Second).Equal(clk.t.Truncate(time.Second)) {
			t.Fatalf("a read asked for at %s waited until %s, across a second",
				before.Format("15:04:05.000"), clk.t.Format("15:04:05.000"))
		}
	}
	if len(clk.sleeps) < 20 {
		t.Fatalf("%d waits over %v, want pacing between the seconds", len(clk.sleeps), clk.t.Sub(time.Date(2026, 12, 2, 0, 0, 0, 200e6, time.UTC)))
	}
	for _, tc := range []struct {
		at   string
		want string // "" for at once
	}{
		{"00:00:00.005", ""},
		{"00:00:00.995", ""},
		{"00:00:00.990", ""},
		{"00:00:00.500", "00:00:00.600"},
		{"00:00:00.950", "00:00:00.990"},
		{"00:00:00.010", "00:00:00.110"},
	} {
		now, _ := time.Parse("15:04:05.000", tc.at)
		got := c.p.resumeAt(now)
		if want, _ := time.Parse("15:04:05.000", tc.want); tc.want == "" && !got.IsZero() || tc.want != "" && !got.Equal(want) {
			t.Errorf("resumeAt(%s) = %v, want %q", tc.at, got.Format("15:04:05.000"), tc.want)
		}
	}
}

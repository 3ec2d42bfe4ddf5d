package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// Writes queued together commit in one group: a write whose fn fails is
// undone alone (its partial change never reaches the disk) and gets its own
// error, the writes around it and an event queued among them commit, in
// order, and what was committed is there after the store is reopened.
func TestGroupCommit(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	for _, h := range []*Host{
		{MACs: []string{"52:54:00:00:01:01"}, Hostname: "g01"},
		{MACs: []string{"52:54:00:00:01:02"}, Hostname: "g02"},
		{MACs: []string{"52:54:00:00:01:03"}, Hostname: "g03"},
	} {
		if err := s.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	label := func(v string) func(*Host) (*Event, error) {
		return func(h *Host) (*Event, error) {
			h.Labels = map[string]string{"g": v}
			return &Event{Kind: "test", Detail: "label " + v}, nil
		}
	}
	boom := errors.New("boom")

	type result struct {
		name string
		err  error
	}
	results := make(chan result, 5)
	write := func(name string, f func() error) { go func() { results <- result{name, f()} }() }
	// The first write holds the writer inside its group until released, so
	// the writes after it queue, in order, and are taken as one group. It
	// is released on any failure too: a test that stops here must not
	// leave the writer (and the store's Close) waiting.
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	write("first", func() error {
		return s.groupWrite(ctx, writeReq{apply: func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-release
			_, err := s.updateHostTx(ctx, tx, "g01", label("first"))
			return err
		}})
	})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first write was not taken by the writer in 10 s")
	}
	write("a", func() error { _, err := s.UpdateHostLogged(ctx, "g02", label("a")); return err })
	waitFor(t, func() bool { return len(s.writes) == 1 })
	write("failing", func() error {
		// Writes to the database, then fails: the savepoint must undo it.
		return s.groupWrite(ctx, writeReq{apply: func(ctx context.Context, tx *sql.Tx) error {
			h, err := s.updateHostTx(ctx, tx, "g03", label("partial"))
			if err != nil || h.Labels["g"] != "partial" {
				return fmt.Errorf("the write before the failure: %v", err)
			}
			return boom
		}})
	})
	waitFor(t, func() bool { return len(s.writes) == 2 })
	write("event", func() error {
		return s.AddEvent(ctx, Event{HostID: "52:54:00:00:01:02", Kind: "test", Detail: "plain event"})
	})
	waitFor(t, func() bool { return len(s.writes) == 3 })
	write("b", func() error { _, err := s.UpdateHostLogged(ctx, "g02", label("b")); return err })
	waitFor(t, func() bool { return len(s.writes) == 4 })
	free()

	for range 5 {
		r := <-results
		switch {
		case r.name == "failing" && !errors.Is(r.err, boom):
			t.Errorf("failing write = %v, want its own error", r.err)
		case r.name != "failing" && r.err != nil:
			t.Errorf("write %s = %v, want nil (a failing neighbour must not fail it)", r.name, r.err)
		}
	}
	s.Close()
	again, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	for host, want := range map[string]string{"g01": "first", "g02": "b", "g03": ""} {
		h, err := again.GetHost(ctx, host)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Labels["g"]; got != want {
			t.Errorf("host %s label after reopening = %q, want %q", host, got, want)
		}
	}
	evs, err := again.Events(ctx, "52:54:00:00:01:02", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Detail)
	}
	want := []string{"label a", "plain event", "label b"}
	if len(got) != len(want) {
		t.Fatalf("events of g02 = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events of g02 = %q, want %q (arrival order)", got, want)
		}
	}
	evs, err = again.Events(ctx, "52:54:00:00:01:03", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("the failed write left events: %v", evs)
	}
}

// A write queued as the store closes gets an error, never a hang.
func TestGroupWriteAfterClose(t *testing.T) {
	s, _ := openTemp(t)
	s.Close()
	done := make(chan error, 1)
	go func() { done <- s.AddEvent(context.Background(), Event{HostID: "x", Kind: "test"}) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("AddEvent on a closed store = nil, want an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("AddEvent on a closed store hangs")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// QueueEvent returns while the writer is still busy, and the event is
// committed once it is free, its outcome passed to done.
func TestQueueEvent(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	s.wsem <- struct{}{} // the writer cannot commit yet
	outcome := make(chan error, 1)
	returned := make(chan error, 1)
	go func() {
		returned <- s.QueueEvent(ctx, Event{HostID: "52:54:00:00:02:01", Kind: KindIPXE, Detail: "served boot.ipxe"}, func(err error) { outcome <- err })
	}()
	select {
	case err := <-returned:
		if err != nil {
			t.Fatalf("QueueEvent = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("QueueEvent waited for the commit")
	}
	select {
	case err := <-outcome:
		t.Fatalf("outcome %v before the writer could commit", err)
	case <-time.After(50 * time.Millisecond):
	}
	<-s.wsem
	if err := <-outcome; err != nil {
		t.Fatalf("queued event: %v", err)
	}
	evs, err := s.Events(ctx, "52:54:00:00:02:01", 0)
	if err != nil || len(evs) != 1 || evs[0].Kind != KindIPXE {
		t.Fatalf("events after the commit: %v %v", evs, err)
	}
}

func TestHoldGroup(t *testing.T) {
	now := time.Unix(1000, 0)
	queued := func(age time.Duration) writeReq {
		return writeReq{ev: &Event{}, after: func(error) {}, at: now.Add(-age)}
	}
	waited := writeReq{ev: &Event{}, done: make(chan error, 1)}
	update := writeReq{apply: func(context.Context, *sql.Tx) error { return nil }, done: make(chan error, 1)}
	many := make([]writeReq, eventHoldCount)
	for i := range many {
		many[i] = queued(time.Millisecond)
	}
	for _, c := range []struct {
		name    string
		batch   []writeReq
		closing bool
		want    bool
	}{
		{"nothing to hold", nil, false, false},
		{"a queued event, just queued: held", []writeReq{queued(0)}, false, true},
		{"queued events younger than the hold: held", []writeReq{queued(9 * time.Millisecond), queued(time.Millisecond)}, false, true},
		{"the oldest queued event has waited the hold: committed", []writeReq{queued(eventHold), queued(0)}, false, false},
		{"a waited event goes now, and the held ones with it", []writeReq{queued(0), waited}, false, false},
		{"a host write goes now, and the held ones with it", []writeReq{queued(0), update}, false, false},
		{"enough queued events for a group: committed", many, false, false},
		{"closing: committed", []writeReq{queued(0)}, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := holdGroup(c.batch, now, c.closing); got != c.want {
				t.Errorf("holdGroup = %v, want %v", got, c.want)
			}
		})
	}
}

// Queued events do not take a commit each: they go with the next write
// somebody waits for, in the order they were queued; a read of the
// timeline sees them at once; closing the store commits those still held.
func TestQueuedEventsShareCommits(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	const host = "52:54:00:00:03:01"
	var mu sync.Mutex
	var outcomes []error
	done := func(err error) { mu.Lock(); outcomes = append(outcomes, err); mu.Unlock() }
	before := s.groups.Load()
	for i := range 50 {
		if err := s.QueueEvent(ctx, Event{HostID: host, Kind: KindTFTP, Detail: fmt.Sprintf("queued %02d", i)}, done); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddEvent(ctx, Event{HostID: host, Kind: "test", Detail: "waited"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := len(outcomes)
	for _, err := range outcomes {
		if err != nil {
			t.Errorf("queued event: %v", err)
		}
	}
	mu.Unlock()
	if n != 50 {
		t.Fatalf("%d of 50 queued events committed when the write queued after them returned", n)
	}
	// The 50 events were queued within microseconds: without the hold they
	// took 51 commits; with it one, or a few when the hold ran out between.
	if g := s.groups.Load() - before; g > 10 {
		t.Errorf("51 writes took %d group commits, want at most 10", g)
	}
	if err := s.QueueEvent(ctx, Event{HostID: host, Kind: KindTFTP, Detail: "read at once"}, nil); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, host, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 52 || evs[50].Detail != "waited" || evs[51].Detail != "read at once" {
		t.Fatalf("timeline has %d events (want 52, the waited one 51st, the one queued just before the read last): %v", len(evs), evs[max(0, len(evs)-3):])
	}
	for i := range 50 {
		if want := fmt.Sprintf("queued %02d", i); evs[i].Detail != want {
			t.Fatalf("event %d = %q, want %q (queue order)", i, evs[i].Detail, want)
		}
	}
	if err := s.QueueEvent(ctx, Event{HostID: host, Kind: KindTFTP, Detail: "held at close"}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	again, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	evs, err = again.Events(ctx, host, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 53 || evs[52].Detail != "held at close" {
		t.Fatalf("after reopening, %d events (want 53, the last queued before Close last)", len(evs))
	}
}

func TestSplitGroup(t *testing.T) {
	now := time.Unix(1000, 0)
	queued := func(name, host string, age time.Duration) writeReq {
		return writeReq{ev: &Event{HostID: host, Detail: name}, host: host, after: func(error) {}, at: now.Add(-age)}
	}
	waited := func(name, host string) writeReq {
		return writeReq{ev: &Event{HostID: host, Detail: name}, host: host, done: make(chan error, 1)}
	}
	update := func(name, host string) writeReq {
		return writeReq{ev: &Event{Detail: name}, host: host, apply: func(context.Context, *sql.Tx) error { return nil }, done: make(chan error, 1)}
	}
	const x, y = "52:54:00:00:00:0a", "52:54:00:00:00:0b"
	names := func(rs []writeReq) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ev.Detail)
		}
		return out
	}
	cases := []struct {
		name         string
		batch        []writeReq
		commit, held []string
	}{
		{"queued events only: all held (holdGroup decides)",
			[]writeReq{queued("ex1", x, 0), queued("ey1", y, 0)}, nil, []string{"ex1", "ey1"}},
		{"a host write goes first with its own host's events, in order; others stay held",
			[]writeReq{queued("ey1", y, time.Millisecond), queued("ex1", x, time.Millisecond), update("kx", x), queued("ex2", x, 0), queued("ey2", y, 0)},
			[]string{"ex1", "kx", "ex2"}, []string{"ey1", "ey2"}},
		{"a waited event is a write somebody waits for",
			[]writeReq{queued("ey1", y, 0), waited("wx", x)}, []string{"wx"}, []string{"ey1"}},
		{"two hosts' writes take both hosts' events",
			[]writeReq{queued("ex1", x, 0), queued("ey1", y, 0), update("ky", y), update("kx", x)},
			[]string{"ex1", "ey1", "ky", "kx"}, nil},
		{"the oldest held event is due: the held events go too",
			[]writeReq{queued("ey1", y, eventHold), queued("ex1", x, 0), update("kx", x), queued("ey2", y, 0)},
			[]string{"ey1", "ex1", "kx", "ey2"}, nil},
		{"a write whose host is not known (by hostname, a flush): everything goes",
			[]writeReq{queued("ey1", y, 0), update("k?", ""), queued("ex1", x, 0)},
			[]string{"ey1", "k?", "ex1"}, nil},
		{"host writes only", []writeReq{update("kx", x), update("ky", y)}, []string{"kx", "ky"}, nil},
	}
	// Due, but more other hosts' events held than one group takes: the
	// oldest eventHoldCount go, the rest stay held in order.
	many := []writeReq{update("kx", x)}
	var wantCommit, wantHeld []string
	wantCommit = append(wantCommit, "kx")
	for i := range eventHoldCount + 3 {
		name := fmt.Sprintf("ey%03d", i)
		many = append(many, queued(name, y, eventHold))
		if i < eventHoldCount {
			wantCommit = append(wantCommit, name)
		} else {
			wantHeld = append(wantHeld, name)
		}
	}
	for _, c := range append(cases, struct {
		name         string
		batch        []writeReq
		commit, held []string
	}{"due, more held than a group takes: the oldest go", many, wantCommit, wantHeld}) {
		t.Run(c.name, func(t *testing.T) {
			commit, held := splitGroup(c.batch, now)
			if got := names(commit); !slices.Equal(got, c.commit) {
				t.Errorf("commit = %q, want %q", got, c.commit)
			}
			if got := names(held); !slices.Equal(got, c.held) {
				t.Errorf("held = %q, want %q", got, c.held)
			}
		})
	}
}

// An update that keeps a host's MACs and hostname (a kickstart fetch, a
// report) writes only its document; one that changes them is checked and
// writes their rows as before.
func TestUpdateHostKeys(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	for _, h := range []*Host{
		{MACs: []string{"52:54:00:00:04:01"}, Hostname: "k01", State: StateBuild},
		{MACs: []string{"52:54:00:00:04:02"}, Hostname: "k02"},
	} {
		if err := s.PutHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateHostLogged(ctx, "52:54:00:00:04:01", func(h *Host) (*Event, error) {
		h.State = StateInstalling
		return &Event{Kind: "kickstart", Detail: "fetched"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func(*Host) error
		want error
	}{
		{"another host's MAC", func(h *Host) error { h.MACs = append(h.MACs, "52:54:00:00:04:02"); return nil }, ErrConflict},
		{"another host's name, other case", func(h *Host) error { h.Hostname = "K02"; return nil }, ErrConflict},
		{"a free second MAC", func(h *Host) error { h.MACs = append(h.MACs, "52:54:00:00:04:03"); return nil }, nil},
		{"a free name", func(h *Host) error { h.Hostname = "k01b"; return nil }, nil},
	} {
		if _, err := s.UpdateHost(ctx, "52:54:00:00:04:01", c.fn); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	s.Close()
	again, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	for _, key := range []string{"52:54:00:00:04:01", "52:54:00:00:04:03", "k01b"} {
		h, err := again.GetHost(ctx, key)
		if err != nil || h.Hostname != "k01b" || h.State != StateInstalling || len(h.MACs) != 2 {
			t.Errorf("host by %s after reopening: %+v, %v; want k01b, installing, two MACs", key, h, err)
		}
	}
	if _, err := again.GetHost(ctx, "k01"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}
	hs, err := again.ListHosts(ctx, HostFilter{State: StateInstalling})
	if err != nil || len(hs) != 1 || hs[0].Hostname != "k01b" {
		t.Errorf("hosts installing: %v, %v; want k01b (the state column follows the document)", hs, err)
	}
}

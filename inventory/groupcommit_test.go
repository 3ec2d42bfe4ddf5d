package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

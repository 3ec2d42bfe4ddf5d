package inventory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Writers of one process take turns: a failed (rolled back) write gives its
// turn back, and many concurrent read-modify-write updates of one host all
// commit, none lost, each in its own transaction.
func TestWriteTurns(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.PutHost(ctx, &Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "w01"}); err != nil {
		t.Fatal(err)
	}
	t.Run("rollback releases the turn", func(t *testing.T) {
		boom := errors.New("boom")
		if _, err := s.UpdateHost(ctx, "w01", func(*Host) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("UpdateHost = %v, want boom", err)
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.PutHost(c, &Host{MACs: []string{"52:54:00:00:00:02"}, Hostname: "w02"}); err != nil {
			t.Fatalf("a write after a rolled-back one: %v", err)
		}
	})
	t.Run("a cancelled wait for the turn returns", func(t *testing.T) {
		s.wsem <- struct{}{} // some writer holds the turn
		c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		err := s.PutHost(c, &Host{MACs: []string{"52:54:00:00:00:03"}, Hostname: "w03"})
		<-s.wsem
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("PutHost while the turn is held = %v, want the context's deadline", err)
		}
	})
	t.Run("concurrent updates all commit", func(t *testing.T) {
		const n = 200
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UpdateHostLogged(ctx, "w01", func(h *Host) (*Event, error) {
					if h.Labels == nil {
						h.Labels = map[string]string{}
					}
					c, _ := strconv.Atoi(h.Labels["count"])
					h.Labels["count"] = strconv.Itoa(c + 1)
					return &Event{Kind: "test", Detail: fmt.Sprint("update ", i)}, nil
				})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		h, err := s.GetHost(ctx, "w01")
		if err != nil {
			t.Fatal(err)
		}
		if h.Labels["count"] != strconv.Itoa(n) {
			t.Fatalf("count = %s after %d concurrent updates", h.Labels["count"], n)
		}
	})
}

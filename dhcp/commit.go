package dhcp

import (
	"context"
	"time"

	"github.com/netkick/netkick/inventory"
)

// maxBatch bounds how many requests share one transaction; commitWindow is
// how long the committer gathers requests before it commits.
const (
	maxBatch     = 1024
	commitWindow = 2 * time.Millisecond
)

type commitReq struct {
	leases []inventory.Lease
	done   chan error
}

// committer makes leases durable in groups: every request that arrives
// while a transaction commits joins the next one, so one fsync serves many
// ACKs and durability does not cap the request rate.
type committer struct {
	save func(context.Context, []inventory.Lease) error
	ch   chan commitReq
}

func newCommitter(save func(context.Context, []inventory.Lease) error) *committer {
	return &committer{save: save, ch: make(chan commitReq, 4096)}
}

// enqueue queues leases in order; the returned channel yields the commit result.
// Call it under the allocator lock so the store sees changes in allocation order.
func (c *committer) enqueue(ctx context.Context, ls []inventory.Lease) chan error {
	done := make(chan error, 1)
	if len(ls) == 0 {
		done <- nil
		return done
	}
	select {
	case c.ch <- commitReq{leases: ls, done: done}:
	case <-ctx.Done(): // shutting down: the committer may be gone
		done <- ctx.Err()
	}
	return done
}

// barrier returns a channel that yields once every request queued before it
// has committed (with the error of the batch it joined); it writes nothing.
func (c *committer) barrier(ctx context.Context) chan error {
	done := make(chan error, 1)
	select {
	case c.ch <- commitReq{done: done}:
	case <-ctx.Done():
		done <- ctx.Err()
	}
	return done
}

func (c *committer) run(ctx context.Context) {
	for {
		var first commitReq
		select {
		case first = <-c.ch:
		case <-ctx.Done():
			c.failPending(ctx.Err())
			return
		}
		batch := []commitReq{first}
		all := append([]inventory.Lease(nil), first.leases...)
		// Gather for a short window: each transaction costs an fsync and a
		// handful of system calls, so fewer, larger commits leave more of the
		// machine for answering. The window is small next to DHCP timeouts.
		window := time.NewTimer(commitWindow)
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-c.ch:
				batch = append(batch, r)
				all = append(all, r.leases...)
			case <-window.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		window.Stop()
		// The commit runs even if ctx ends meanwhile: a started batch finishes.
		var err error
		if len(all) > 0 { // barriers alone write nothing
			err = c.save(context.WithoutCancel(ctx), all)
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (c *committer) failPending(err error) {
	for {
		select {
		case r := <-c.ch:
			r.done <- err
		default:
			return
		}
	}
}

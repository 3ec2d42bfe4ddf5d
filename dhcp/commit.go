package dhcp

import (
	"context"
	"errors"
	"fmt"
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
	// claims are the request's conditional writes on a shared store.
	claims []inventory.LeaseClaim
	// undo puts the allocator's view back when a claim of the request lost
	// or the store failed.
	undo func(*allocator)
	done chan error
}

// errClaimLost says a claim on the shared store found its address held by
// another client (another server gave it first).
var errClaimLost = errors.New("address is held by another client in the shared lease store")

// committer makes leases durable in groups: every request that arrives
// while a transaction commits joins the next one, so one fsync serves many
// ACKs and durability does not cap the request rate. On a shared store it
// sends claims instead (claim is set): one transaction for the group, each
// claim checked by the store, the losers told so.
type committer struct {
	save  func(context.Context, []inventory.Lease) error
	claim func(context.Context, []inventory.LeaseClaim) ([]inventory.ClaimResult, error)
	// fix queues a change of the allocator's view (what holds an address
	// whose claim lost, a request's undo); the server applies it under its
	// lock. It must not block.
	fix func(func(*allocator))
	// storeErr is told the result of every batch of claims (nil: it committed).
	storeErr func(error)
	ch       chan commitReq
	// While the shared store fails, batches within retry of the last failure
	// fail at once with lastErr (the replies that can go without the store
	// go at once); retry doubles up to maxRetry, and the first batch after
	// it tries the store again.
	lastErr error
	retry   time.Duration
	nextTry time.Time
}

// Reconnect backoff of the shared store.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// sendClaims sends a batch to the shared store unless the store failed
// recently (see retry), and keeps the backoff.
func (c *committer) sendClaims(ctx context.Context, claims []inventory.LeaseClaim) ([]inventory.ClaimResult, error) {
	if c.lastErr != nil && time.Now().Before(c.nextTry) {
		return nil, c.lastErr
	}
	// A store that does not answer fails the batch rather than hold every reply.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
	res, err := c.claim(cctx, claims)
	cancel()
	if err == nil {
		c.lastErr, c.retry = nil, 0
	} else {
		c.retry = min(max(2*c.retry, minRetry), maxRetry)
		c.lastErr, c.nextTry = err, time.Now().Add(c.retry)
	}
	c.storeErr(err)
	return res, err
}

func newCommitter(save func(context.Context, []inventory.Lease) error) *committer {
	return &committer{save: save, ch: make(chan commitReq, 4096)}
}

// claimsOf turns the lease writes of a client's request into claims: a
// bound or declined lease is taken unless another client holds the
// address; a released one ends only the client's own lease.
func claimsOf(mac string, ls []inventory.Lease) []inventory.LeaseClaim {
	out := make([]inventory.LeaseClaim, len(ls))
	for i, l := range ls {
		rule := inventory.ClaimFree
		if l.State == inventory.LeaseReleased {
			rule = inventory.ClaimOwn
		}
		out[i] = inventory.LeaseClaim{Lease: l, By: mac, Rule: rule}
	}
	return out
}

// enqueue queues mac's lease writes in order; the returned channel yields
// the commit result. Call it under the allocator lock so the store sees
// changes in allocation order.
func (c *committer) enqueue(ctx context.Context, mac string, ls []inventory.Lease) chan error {
	if c.claim != nil {
		return c.claims(ctx, claimsOf(mac, ls), nil)
	}
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

// giveBack queues the lease writes that end mac's own decline of a
// reservation (allocator.giveBack): on the shared store they may replace
// only that decline (inventory.ClaimUndecline), not the bound lease or
// release rule a request's writes follow, which a decline always refuses.
func (c *committer) giveBack(ctx context.Context, mac string, ls []inventory.Lease) chan error {
	if c.claim == nil {
		return c.enqueue(ctx, mac, ls)
	}
	cs := make([]inventory.LeaseClaim, len(ls))
	for i, l := range ls {
		cs[i] = inventory.LeaseClaim{Lease: l, By: mac, Rule: inventory.ClaimUndecline}
	}
	return c.claims(ctx, cs, nil)
}

// claims queues claims on the shared store; the channel yields nil when
// every claim that takes an address won, errClaimLost when one lost, or the
// store's error.
func (c *committer) claims(ctx context.Context, cs []inventory.LeaseClaim, undo func(*allocator)) chan error {
	done := make(chan error, 1)
	if len(cs) == 0 {
		done <- nil
		return done
	}
	select {
	case c.ch <- commitReq{claims: cs, undo: undo, done: done}:
	case <-ctx.Done():
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
		claims := append([]inventory.LeaseClaim(nil), first.claims...)
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
				claims = append(claims, r.claims...)
			case <-window.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		window.Stop()
		if c.claim != nil {
			c.runClaims(ctx, batch, claims)
			continue
		}
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

// runClaims sends one batch of claims and tells each request its outcome.
func (c *committer) runClaims(ctx context.Context, batch []commitReq, claims []inventory.LeaseClaim) {
	var res []inventory.ClaimResult
	var err error
	if len(claims) > 0 {
		res, err = c.sendClaims(ctx, claims)
	}
	k := 0
	for _, r := range batch {
		var rerr error
		for _, cl := range r.claims {
			switch {
			case err != nil:
				rerr = err
			case !res[k].Won:
				cl, held := cl, res[k].Held
				c.fix(func(a *allocator) { a.learn(cl, held) })
				if cl.Rule == inventory.ClaimFree || cl.Rule == inventory.ClaimOffer || cl.Rule == inventory.ClaimUndecline {
					rerr = fmt.Errorf("%s for %s: %w", cl.Lease.IP, cl.By, errClaimLost)
				}
			}
			k++
		}
		if rerr != nil && r.undo != nil {
			c.fix(r.undo)
		}
		r.done <- rerr
	}
}

// claimTimeout bounds one batch of claims: past it the replies waiting for
// it are answered as the store being unreachable.
const claimTimeout = 2 * time.Second

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

package inventory

import (
	"context"
	"log/slog"
	"time"
)

// changeChannel is the LISTEN/NOTIFY channel every inventory write notifies.
const changeChannel = "netkick_inventory"

// Watch signals on the returned channel (coalesced: at most one signal
// pending) after every committed inventory write, by any server, until ctx
// ends. It holds one connection LISTENing; when that connection is lost it
// logs, signals once (the caller reloads, as changes may have been missed),
// and reconnects with backoff from 100 ms to 30 s. Callers keep their poll
// as the fallback for the time it is down.
func (s *Postgres) Watch(ctx context.Context, log *slog.Logger) <-chan struct{} {
	ch := make(chan struct{}, 1)
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	go func() {
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := s.listen(ctx, signal, func() { backoff = 100 * time.Millisecond })
			if ctx.Err() != nil {
				return
			}
			if log != nil {
				log.Warn("inventory change notifications lost; polling until reconnected", "store", s.name, "err", err, "retry_in", backoff)
			}
			signal()
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}()
	return ch
}

// listen LISTENs on one pooled connection until it fails or ctx ends;
// connected is called once listening.
func (s *Postgres) listen(ctx context.Context, signal, connected func()) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection holds a LISTEN: never hand it back to the pool.
	conn := c.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+changeChannel); err != nil {
		return err
	}
	connected()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		signal()
	}
}

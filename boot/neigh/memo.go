package neigh

import (
	"context"
	"net/netip"
	"sync"
)

// Memo is a table whose answers are shared by the checks of one request:
// inside a context made by WithMemo, an address is asked of the kernel once
// and the same answer given to every later question in that context (a
// kickstart fetch or an install report is checked before its write and again
// inside it). Outside such a context, and in every other request, it asks
// the table each time: what one request was told never answers another, so
// a machine that takes over an address is checked against the table as it is
// now. It is safe for concurrent use.
type Memo struct {
	table Lookup
}

// NewMemo returns a Memo over table.
func NewMemo(table Lookup) *Memo { return &Memo{table: table} }

type memoKey struct{}

// answers is one request's remembered answers.
type answers struct {
	mu sync.Mutex
	m  map[netip.Addr]Entry
}

// WithMemo returns a context in which a Memo remembers what the table said
// (one request's scope). Calling it on a context that has one already keeps
// that one.
func WithMemo(ctx context.Context) context.Context {
	if _, ok := ctx.Value(memoKey{}).(*answers); ok {
		return ctx
	}
	return context.WithValue(ctx, memoKey{}, &answers{m: map[netip.Addr]Entry{}})
}

// Lookup answers from the request's memo when the context has one and it
// holds addr; otherwise it asks the table, and keeps an answer it got (not
// an error) in the request's memo if there is one.
func (m *Memo) Lookup(ctx context.Context, addr netip.Addr) (Entry, error) {
	addr = addr.Unmap()
	a, _ := ctx.Value(memoKey{}).(*answers)
	if a != nil {
		a.mu.Lock()
		e, ok := a.m[addr]
		a.mu.Unlock()
		if ok {
			return e, nil
		}
	}
	e, err := m.table.Lookup(ctx, addr)
	if err == nil && a != nil {
		a.mu.Lock()
		a.m[addr] = e
		a.mu.Unlock()
	}
	return e, err
}

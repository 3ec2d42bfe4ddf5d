// Package provision holds the operations people and machines perform on the
// inventory: add, set (a partial edit), replace, remove, tag and untag, build,
// the install report, import, and the kickstart fetch. Each rule is checked
// here once; each change is one store transaction followed by one event on the
// host's timeline naming who made it and what changed. The CLI's local mode,
// the HTTP API and the web page are thin adapters over a Service.
package provision

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/provision/urls"
)

// DefaultTokenTTL is how long a build token stays valid: long enough for slow installs.
const DefaultTokenTTL = 6 * time.Hour

// Errors callers branch on besides inventory's ErrInvalid, ErrNotFound and ErrConflict.
var (
	// ErrStale: the If-Match value does not name the host's current version.
	ErrStale = errors.New("stale")
	// ErrInUse: what is being deleted is still named by other entries.
	ErrInUse = errors.New("in use")
	// ErrRefused: a machine's request was refused (the reason is for the log only).
	ErrRefused = errors.New("refused")
)

// Error is a refusal with a hint for the user and, for ErrInUse, the users.
type Error struct {
	Kind  error    // one of the sentinel errors above or inventory's
	Msg   string   // what failed, on which input
	Hint  string   // how to fix it
	Users []string // for ErrInUse: the entries that still name it
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, hint, format string, a ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, a...), Hint: hint}
}

// HintOf returns the hint an error carries, if any.
func HintOf(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Hint
	}
	return ""
}

// Actor names who made a change, for the timeline and the logs.
type Actor struct {
	// Via is how the change came in: "cli" (local data dir), "api", "web", "host" (the machine itself), "server",
	// or "unauthenticated" (a request refused for its missing or wrong token; Name is its address).
	Via string
	// Name is the API token's name, the web user, the local user or the machine's address.
	Name string
}

// Who returns the actor as it appears on the timeline.
func (a Actor) String() string {
	switch a.Via {
	case "cli":
		if a.Name != "" {
			return "local CLI (" + a.Name + ")"
		}
		return "local CLI"
	case "api":
		return "API token " + quoteIfOdd(a.Name)
	case "web":
		return "web user " + quoteIfOdd(a.Name)
	case "host":
		return "the machine at " + a.Name
	case "unauthenticated":
		return "an unauthenticated client at " + a.Name
	case "":
		return "netkick"
	default:
		if a.Name != "" {
			return a.Via + " " + quoteIfOdd(a.Name)
		}
		return a.Via
	}
}

func quoteIfOdd(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '@') {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

// LeaseFinder tells the address a host currently holds, if any (the DHCP lease store).
type LeaseFinder interface {
	LeaseIP(ctx context.Context, mac string) (string, error)
}

// Binder decides whether a requester is the machine it claims to be, beyond
// its token (e.g. its source address holds the host's lease and its MAC is in
// the neighbour table). A nil error binds.
type Binder interface {
	Bind(ctx context.Context, h *inventory.Host, r Requester) error
}

// AddrBinder adapts a check on the requester's source address (such as
// bind.Binder.Check: lease or reservation, and the neighbour table) to a
// Binder. An address that does not parse is refused.
type AddrBinder func(ctx context.Context, h *inventory.Host, addr netip.Addr) error

// Bind checks r's source address.
func (f AddrBinder) Bind(ctx context.Context, h *inventory.Host, r Requester) error {
	a, err := netip.ParseAddr(r.Addr)
	if err != nil {
		return fmt.Errorf("request for host %s has no usable source address %q", h.Hostname, r.Addr)
	}
	return f(ctx, h, a.Unmap())
}

// Requester is what the server knows about the machine that asks.
type Requester struct {
	Addr  string // source IP address, e.g. 192.0.2.10
	Token string // the ?token= it presented
	// Base is the base URL the request came in on, used only when the
	// service has no public URL configured.
	Base string
}

// Options configure a Service.
type Options struct {
	Store    inventory.Store
	Renderer *kickstart.Renderer
	// URLs builds every URL a machine is given from the public base URL;
	// without one, each request's own base is used (see Requester.Base).
	URLs urls.URLs
	// TokenTTL is how long a build token is valid (default DefaultTokenTTL).
	TokenTTL time.Duration
	// Leases, when set, tells a host's leased address for the source check.
	Leases LeaseFinder
	// Binder, when set, is asked in addition to the token and address checks.
	Binder Binder
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Random is the source of build tokens (default crypto/rand).
	Random io.Reader
	// Power opens the driver for a host's BMC (default: power.Open with
	// power.DefaultLimits).
	Power PowerOpener
	// Discovery is the discovery boot discovered machines get (kernel,
	// initrd, after); nil: they get local boot.
	Discovery *boot.Discovery
	// Warn receives failures that do not fail the operation (an event that
	// could not be recorded); nil: dropped.
	Warn func(msg string, args ...any)
	// Audit, when set, gets one line per change made: who, the operation,
	// the host or entry (see audit); nil: none.
	Audit *slog.Logger
}

// Service performs the operations. It is safe for concurrent use.
type Service struct {
	o       Options
	urls    atomic.Pointer[urls.URLs]
	ks      ksCache
	fetches fetchLog
	hosts   hostCache
}

// New checks the options and returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("provision: a Store is required")
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	s := &Service{o: o}
	s.urls.Store(&o.URLs)
	return s, nil
}

// Store returns the store the service writes to (for reads by adapters).
func (s *Service) Store() inventory.Store { return s.o.Store }

// URLs returns the service's URL builder.
func (s *Service) URLs() urls.URLs { return *s.urls.Load() }

// SetURLs changes the public base URL (a server learns its port once it listens).
func (s *Service) SetURLs(u urls.URLs) { s.urls.Store(&u) }

// updateLogged runs fn on the stored host and records the event it returns
// (nil: none) in the same transaction.
func (s *Service) updateLogged(ctx context.Context, key string, fn func(*inventory.Host) (*inventory.Event, error)) (*inventory.Host, error) {
	return s.o.Store.UpdateHostLogged(ctx, key, fn)
}

// putLogged saves a host and its event in one transaction.
func (s *Service) putLogged(ctx context.Context, h *inventory.Host, kind, detail string) error {
	return s.o.Store.PutHostLogged(ctx, h, inventory.Event{Kind: kind, Detail: detail, Time: s.o.Now()})
}

// event records one timeline entry; a failure to record is reported, not fatal.
func (s *Service) event(ctx context.Context, hostID, kind, detail string) {
	if err := s.o.Store.AddEvent(ctx, inventory.Event{HostID: hostID, Kind: kind, Detail: detail}); err != nil && s.o.Warn != nil {
		s.o.Warn("record event", "host", hostID, "kind", kind, "err", err)
	}
}

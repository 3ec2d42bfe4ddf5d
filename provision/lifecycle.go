package provision

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/neigh"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
)

// Build puts a host in build mode with a fresh one-time token (128 bits)
// valid for ttl (0: the service's). Its next network boot installs.
func (s *Service) Build(ctx context.Context, a Actor, key string, ttl time.Duration) (out *inventory.Host, err error) {
	defer func() { s.audit(a, "host build", onHost(out, key), err) }()
	if ttl <= 0 {
		ttl = s.o.TokenTTL
	}
	tok, err := s.newToken()
	if err != nil {
		return nil, err
	}
	now := s.o.Now()
	return s.updateLogged(ctx, key, func(h *inventory.Host) (*inventory.Event, error) {
		next, err := boot.Next(h.State, boot.EventBuild)
		if err != nil {
			return nil, err
		}
		h.State, h.BuildToken, h.TokenExpires = next, tok, now.Add(ttl).UTC()
		return &inventory.Event{Kind: "build", Time: now,
			Detail: "build mode on by " + a.String() + "; token valid until " + h.TokenExpires.Format(time.RFC3339)}, nil
	})
}

func (s *Service) newToken() (string, error) {
	raw := make([]byte, 16)
	if _, err := io.ReadFull(s.o.Random, raw); err != nil {
		return "", fmt.Errorf("make a build token: %w", err)
	}
	return hex.EncodeToString(raw), nil
}

// knownIP is the address a host's requests must come from: its reservation, else its lease.
func (s *Service) knownIP(ctx context.Context, h *inventory.Host) string {
	if h.IP != "" {
		return h.IP
	}
	if s.o.Leases != nil {
		if ip, err := s.o.Leases.LeaseIP(ctx, h.ID()); err == nil {
			return ip
		}
	}
	return ""
}

// refusal wraps the reason a machine was refused: the reason goes to the
// log, the machine sees only that it was refused.
type refusal struct{ reason error }

func (r *refusal) Error() string { return r.reason.Error() }
func (r *refusal) Unwrap() error { return ErrRefused }

// Reason returns the loggable reason of a refusal (or err itself).
func Reason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason.Error()
	}
	return err.Error()
}

func refused(reason error) error { return &refusal{reason: reason} }

// access checks a machine's kickstart fetch: lifecycle and token (boot), its
// address against the host's, and the binder's check if one is set.
func (s *Service) access(ctx context.Context, h *inventory.Host, r Requester) error {
	if err := boot.KickstartAccess(h, r.Token, r.Addr, s.knownIP(ctx, h), s.o.Now()); err != nil {
		return refused(err)
	}
	if s.o.Binder != nil {
		if err := s.o.Binder.Bind(ctx, h, r); err != nil {
			return refused(err)
		}
	}
	return nil
}

// Fetched is a served kickstart.
type Fetched struct {
	Host *inventory.Host // the host the kickstart was rendered from
	Body []byte
}

// Kickstart is the machine's kickstart fetch: check access, move a building
// host to installing (one transaction, the access checked again inside it),
// record the fetch on the timeline, and render from that same host value.
func (s *Service) Kickstart(ctx context.Context, mac string, r Requester) (f *Fetched, err error) {
	// Its machine check runs twice (before the write and inside it): one
	// answer of the neighbour table serves both, and no other request.
	ctx = neigh.WithMemo(ctx)
	asked := mac // as asked for, even when it is no MAC
	defer func() {
		var h *inventory.Host
		if f != nil {
			h = f.Host
		}
		s.audit(Actor{Via: "host", Name: r.Addr}, "kickstart fetch", onHost(h, asked), err)
	}()
	mac, err = inventory.NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	if s.o.Renderer == nil {
		return nil, errors.New("provision: no kickstart renderer configured")
	}
	h, err := s.o.Store.GetHost(ctx, mac)
	if err != nil {
		return nil, err
	}
	if err := s.access(ctx, h, r); err != nil {
		return nil, err
	}
	fetched := "kickstart fetched by " + r.Addr
	if h.State == inventory.StateBuild {
		// The first fetch of a build: the state moves and the fetch is on
		// the timeline, in one transaction, the access checked again inside.
		var denied error
		h, err = s.updateLogged(ctx, mac, func(h *inventory.Host) (*inventory.Event, error) {
			if err := s.access(ctx, h, r); err != nil {
				denied = err
				return nil, err
			}
			next, err := boot.Next(h.State, boot.EventFetched)
			h.State = next
			return &inventory.Event{Kind: "kickstart", Detail: fetched, Time: s.o.Now()}, err
		})
		if denied != nil {
			return nil, denied
		}
		if err != nil {
			return nil, err
		}
		s.fetches.record(h.ID(), true, s.o.Now())
	} else if s.fetches.record(h.ID(), false, s.o.Now()) {
		// Refetches (the installer retrying) at most once a minute per host.
		s.event(ctx, h.ID(), "kickstart", fetched)
	}
	gen, err := s.o.Store.Generation(ctx)
	if err != nil {
		return nil, err
	}
	u := s.URLs().Or(r.Base)
	key := mac + " " + u.Base() + " " + h.BuildToken + " " + strconv.FormatUint(s.o.Renderer.Generation(), 10) // templates reloaded: render again
	if out, ok := s.ks.get(gen, key); ok {
		return &Fetched{Host: h, Body: out}, nil
	}
	out, err := s.o.Renderer.Kickstart(ctx, pinned{s.o.Store, h}, kickstart.Request{Host: mac, URLs: u, Token: h.BuildToken})
	if err != nil {
		return nil, err
	}
	s.ks.put(gen, key, out)
	return &Fetched{Host: h, Body: out}, nil
}

// RenderKickstart renders what a host would be served now, without any
// access check or state change (for admins: `netkick render kickstart`).
// base is used when the service has no public URL of its own.
func (s *Service) RenderKickstart(ctx context.Context, key, base string) ([]byte, error) {
	if s.o.Renderer == nil {
		return nil, errors.New("provision: no kickstart renderer configured")
	}
	h, err := s.o.Store.GetHost(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.o.Renderer.Kickstart(ctx, pinned{s.o.Store, h}, kickstart.Request{Host: h.ID(), URLs: s.URLs().Or(base), Token: h.BuildToken})
}

// pinned is the store with one host fixed: rendering reads the same host
// value the access check and the state change saw.
type pinned struct {
	inventory.Store
	h *inventory.Host
}

func (p pinned) GetHost(ctx context.Context, key string) (*inventory.Host, error) {
	if m, err := inventory.NormalizeMAC(key); err == nil && m == p.h.ID() || strings.EqualFold(key, p.h.Hostname) {
		c := cloneHost(p.h)
		return c, nil
	}
	return p.Store.GetHost(ctx, key)
}

// Report is the install's report (built or failed) with the host's token:
// checked, the state moved and the token burnt in one transaction, then
// recorded. detail is what the installer sent (already trimmed).
func (s *Service) Report(ctx context.Context, mac string, r Requester, t boot.Transition, detail string) (out *inventory.Host, err error) {
	ctx = neigh.WithMemo(ctx) // one answer of the neighbour table for both machine checks
	defer func() { s.audit(Actor{Via: "host", Name: r.Addr}, "report "+string(t), onHost(out, mac), err) }()
	mac, err = inventory.NormalizeMAC(mac)
	if err != nil {
		return nil, refused(err)
	}
	msg := "reported by " + r.Addr
	if detail != "" {
		msg += ":\n" + detail
	}
	// The machine check first, outside the write transaction: it may ask the
	// kernel to resolve an address and wait for it. Inside, it is asked again
	// on the host value the change is made to.
	if s.o.Binder != nil {
		if h, err := s.o.Store.GetHost(ctx, mac); err == nil {
			if err := s.o.Binder.Bind(ctx, h, r); err != nil {
				return nil, refused(err)
			}
		}
	}
	var denied error
	h, err := s.updateLogged(ctx, mac, func(h *inventory.Host) (*inventory.Event, error) {
		if err := boot.CallbackAccess(h, r.Token, s.o.Now()); err != nil {
			denied = refused(err)
			return nil, denied
		}
		if s.o.Binder != nil {
			if err := s.o.Binder.Bind(ctx, h, r); err != nil {
				denied = refused(err)
				return nil, denied
			}
		}
		next, err := boot.Next(h.State, t)
		if err != nil {
			denied = refused(err)
			return nil, denied
		}
		h.State, h.BuildToken, h.TokenExpires = next, "", time.Time{} // the token is burnt
		return &inventory.Event{Kind: string(t), Detail: msg, Time: s.o.Now()}, nil
	})
	switch {
	case denied != nil:
		return nil, denied
	case errors.Is(err, inventory.ErrNotFound):
		return nil, refused(err)
	case err != nil:
		return nil, err
	}
	return h, nil
}

// CancelBuild takes a host out of build mode (or an install under way): it
// goes back to installed when it was installed before the build, else to
// ready, and its build token is burnt, in one transaction with one event.
func (s *Service) CancelBuild(ctx context.Context, a Actor, key string) (out *inventory.Host, err error) {
	defer func() { s.audit(a, "host build cancel", onHost(out, key), err) }()
	h, err := s.o.Store.GetHost(ctx, key)
	if err != nil {
		return nil, err
	}
	events, err := s.o.Store.Events(ctx, h.ID(), 0)
	if err != nil {
		return nil, err
	}
	back := stateBeforeBuild(events)
	now := s.o.Now()
	return s.updateLogged(ctx, key, func(h *inventory.Host) (*inventory.Event, error) {
		if !boot.Installing(h.State) {
			return nil, fail(inventory.ErrInvalid, "only a host in build mode or installing has a build to cancel",
				"host %s is %s, not building: nothing to cancel", h.Hostname, h.State)
		}
		h.State, h.BuildToken, h.TokenExpires = back, "", time.Time{} // the token is burnt
		return &inventory.Event{Kind: string(boot.EventCancel), Time: now,
			Detail: "build cancelled by " + a.String() + "; back to " + string(back)}, nil
	})
}

// stateBeforeBuild decides where a cancelled build goes back to, from the
// host's timeline (any order): installed when the lifecycle event before
// the latest build left it installed (a report "built", or a cancel back to
// installed), else ready.
func stateBeforeBuild(events []inventory.Event) inventory.State {
	ev := append([]inventory.Event(nil), events...)
	sort.SliceStable(ev, func(i, j int) bool {
		if !ev[i].Time.Equal(ev[j].Time) {
			return ev[i].Time.After(ev[j].Time)
		}
		return ev[i].ID > ev[j].ID
	}) // newest first
	seenBuild := false
	for _, e := range ev {
		switch boot.Transition(e.Kind) {
		case boot.EventBuild:
			seenBuild = true // a build asked again while building keeps what came before
		case boot.EventBuilt:
			if seenBuild {
				return inventory.StateInstalled
			}
		case boot.EventFailed:
			if seenBuild {
				return inventory.StateReady
			}
		case boot.EventCancel:
			if seenBuild {
				if strings.HasSuffix(e.Detail, "back to "+string(inventory.StateInstalled)) {
					return inventory.StateInstalled
				}
				return inventory.StateReady
			}
		}
	}
	return inventory.StateReady
}

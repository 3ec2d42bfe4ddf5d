package httpd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// DefaultTokenTTL is how long a build token stays valid: long enough for slow installs.
const DefaultTokenTTL = 6 * time.Hour

// StartBuild puts a host in build mode with a fresh one-time token (128 bits)
// valid for ttl. Its next network boot installs.
func StartBuild(ctx context.Context, st inventory.Store, key string, ttl time.Duration, now time.Time) (*inventory.Host, error) {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	h, err := st.UpdateHost(ctx, key, func(h *inventory.Host) error {
		next, err := boot.Next(h.State, boot.EventBuild)
		if err != nil {
			return err
		}
		h.State, h.BuildToken, h.TokenExpires = next, hex.EncodeToString(raw), now.Add(ttl).UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = st.AddEvent(ctx, inventory.Event{HostID: h.ID(), Kind: "build", Detail: "build mode on; token valid until " + h.TokenExpires.Format(time.RFC3339)})
	return h, nil
}

// BuildResponse answers POST /api/v1/hosts/{mac}/build.
type BuildResponse struct {
	Host         *inventory.Host `json:"host"`
	Token        string          `json:"token"`
	Expires      time.Time       `json:"expires"`
	KickstartURL string          `json:"kickstart_url"`
}

// LeaseFinder tells the address a host currently holds, if any (the DHCP lease store).
type LeaseFinder interface {
	LeaseIP(ctx context.Context, mac string) (string, error)
}

// knownIP is the address a host's requests must come from: its reservation, else its lease.
func (s *Server) knownIP(ctx context.Context, h *inventory.Host) string {
	if h.IP != "" {
		return h.IP
	}
	if s.opts.Leases != nil {
		if ip, err := s.opts.Leases.LeaseIP(ctx, h.ID()); err == nil {
			return ip
		}
	}
	return ""
}

// bound checks, when a Binder is configured, that the request comes from
// the machine h's token belongs to.
func (s *Server) bound(c echo.Context, h *inventory.Host) error {
	if s.opts.Bind == nil {
		return nil
	}
	return s.opts.Bind.Check(c.Request().Context(), h, remoteAddr(c))
}

// refusedFor is forbidden for a request about a known host: the refusal
// also goes on the host's timeline (coalesced, as any fetch event).
func (s *Server) refusedFor(c echo.Context, h *inventory.Host, what string, reason error) error {
	s.fetchEvent(c, h.ID(), inventory.KindRefused, what, what+" refused to "+c.RealIP()+": "+reason.Error())
	return s.forbidden(c, what, reason)
}

// forbidden logs the reason and answers a bare 403.
func (s *Server) forbidden(c echo.Context, what string, reason error) error {
	s.failures.fail(c.RealIP(), time.Now())
	s.log.Warn(what+" refused", "remote", c.RealIP(), "path", c.Request().URL.Path, "reason", reason.Error())
	return &apiError{status: http.StatusForbidden, msg: what + " refused", hint: "the reason is in the netkick server log"}
}

func (s *Server) lifecycleRoutes(e *echo.Echo, api *echo.Group) {
	api.POST("/hosts/:mac/build", func(c echo.Context) error {
		h, err := StartBuild(c.Request().Context(), s.opts.Store, c.Param("mac"), s.opts.TokenTTL, time.Now())
		if err != nil {
			return err
		}
		// The admin may see the token: it can render the host's files anyway.
		return c.JSON(http.StatusOK, BuildResponse{Host: h, Token: h.BuildToken, Expires: h.TokenExpires,
			KickstartURL: s.serverURL(c) + "/ks/" + h.ID() + "?token=" + h.BuildToken})
	})
	// Install reports authenticate with the host's build token, not the admin token.
	limit := s.limitFailures
	e.POST("/api/v1/hosts/:mac/built", s.report(boot.EventBuilt), limit)
	e.POST("/api/v1/hosts/:mac/failed", s.report(boot.EventFailed), limit)
}

// report handles the %post callback (built) and the failure report (failed).
func (s *Server) report(t boot.Transition) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		mac, err := inventory.NormalizeMAC(c.Param("mac"))
		if err != nil {
			return s.forbidden(c, "install report", err)
		}
		detail := "reported by " + c.RealIP()
		if t == boot.EventFailed {
			b, _ := io.ReadAll(io.LimitReader(c.Request().Body, 64<<10))
			if tail := lastLines(string(b), 4096); tail != "" {
				detail += ":\n" + tail
			}
		}
		token := c.QueryParam("token")
		// The machine check first: a harvested token from elsewhere
		// changes nothing (and the reporter learns nothing).
		if h, err := s.opts.Store.GetHost(ctx, mac); err == nil {
			if err := s.bound(c, h); err != nil {
				return s.refusedFor(c, h, "install report", err)
			}
		} else if !errors.Is(err, inventory.ErrNotFound) {
			return err
		}
		var refusal error
		h, err := s.opts.Store.UpdateHost(ctx, mac, func(h *inventory.Host) error {
			if err := boot.CallbackAccess(h, token, time.Now()); err != nil {
				refusal = err
				return err
			}
			next, err := boot.Next(h.State, t)
			if err != nil {
				refusal = err
				return err
			}
			h.State, h.BuildToken, h.TokenExpires = next, "", time.Time{} // the token is burnt
			return nil
		})
		switch {
		case refusal != nil:
			return s.forbidden(c, "install report", refusal)
		case errors.Is(err, inventory.ErrNotFound):
			return s.forbidden(c, "install report", err)
		case err != nil:
			return err
		}
		s.event(ctx, h.ID(), string(t), detail)
		return c.JSON(http.StatusOK, map[string]string{"host": h.Hostname, "state": string(h.State)})
	}
}

func lastLines(s string, max int) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "?"))
	if len(s) > max {
		s = s[len(s)-max:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s
}

// failureLimiter counts refused requests per client address in fixed windows.
type failureLimiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	start  time.Time
	counts map[string]int
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	return &failureLimiter{max: max, window: window, counts: map[string]int{}}
}

func (l *failureLimiter) roll(now time.Time) {
	if now.Sub(l.start) >= l.window {
		l.start, l.counts = now, map[string]int{}
	}
}

func (l *failureLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	l.counts[ip]++
}

func (l *failureLimiter) blocked(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	return l.counts[ip] >= l.max
}

// limitFailures refuses clients with too many recent refused requests (429).
func (s *Server) limitFailures(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.failures.blocked(c.RealIP(), time.Now()) {
			return &apiError{status: http.StatusTooManyRequests, msg: "too many refused requests from " + c.RealIP(),
				hint: "wait a minute; check the token you are sending"}
		}
		return next(c)
	}
}

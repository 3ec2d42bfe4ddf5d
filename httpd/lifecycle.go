package httpd

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// DefaultTokenTTL is how long a build token stays valid: long enough for slow installs.
const DefaultTokenTTL = provision.DefaultTokenTTL

// BuildResponse answers POST /api/v1/hosts/{mac}/build.
type BuildResponse struct {
	Host         *inventory.Host `json:"host"`
	Token        string          `json:"token"`
	Expires      time.Time       `json:"expires"`
	KickstartURL string          `json:"kickstart_url"`
}

// LeaseFinder tells the address a host currently holds, if any (the DHCP lease store).
type LeaseFinder = provision.LeaseFinder

// refusedFor is forbidden for a machine's request naming mac: when mac is a
// known host's, the refusal also goes on its timeline (a fetch event,
// coalesced like any other, so refusals cannot flood it).
func (s *Server) refusedFor(c echo.Context, mac, what string, reason error) error {
	if h, err := s.opts.Store.GetHost(c.Request().Context(), mac); err == nil {
		s.fetchEvent(c, h.ID(), inventory.KindRefused, what, what+" refused to "+c.RealIP()+": "+provision.Reason(reason))
	}
	return s.forbidden(c, what, reason)
}

// forbidden logs the reason and answers a bare 403.
func (s *Server) forbidden(c echo.Context, what string, reason error) error {
	s.log.Warn(what+" refused", "remote", c.RealIP(), "path", c.Request().URL.Path, "reason", provision.Reason(reason))
	return s.refusal(c, &apiError{status: http.StatusForbidden, msg: what + " refused", hint: "the reason is in the netkick server log"})
}

func (s *Server) lifecycleRoutes(e *echo.Echo, api *echo.Group) {
	api.POST("/hosts/:mac/build", func(c echo.Context) error {
		var ttl time.Duration
		if v := c.QueryParam("ttl"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return badRequest("ttl "+v+": want a duration such as 2h", "leave ttl out for the server's default")
			}
			ttl = d
		}
		h, err := s.prov.Build(c.Request().Context(), actorOf(c), c.Param("mac"), ttl)
		if err != nil {
			return err
		}
		// The admin may see the token: it can render the host's files anyway.
		return c.JSON(http.StatusOK, BuildResponse{Host: h, Token: h.BuildToken, Expires: h.TokenExpires,
			KickstartURL: s.urls(c).Kickstart(h.ID(), h.BuildToken)})
	})
	api.DELETE("/hosts/:mac/build", func(c echo.Context) error {
		h, err := s.prov.CancelBuild(c.Request().Context(), actorOf(c), c.Param("mac"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, h)
	})
	// Install reports authenticate with the host's build token, not the admin token.
	e.POST("/api/v1/hosts/:mac/built", s.report(boot.EventBuilt))
	e.POST("/api/v1/hosts/:mac/failed", s.report(boot.EventFailed))
}

// report handles the %post callback (built) and the failure report (failed).
func (s *Server) report(t boot.Transition) echo.HandlerFunc {
	return func(c echo.Context) error {
		detail := ""
		if t == boot.EventFailed {
			b, _ := io.ReadAll(io.LimitReader(c.Request().Body, 64<<10))
			detail = lastLines(string(b), 4096)
		}
		h, err := s.prov.Report(c.Request().Context(), c.Param("mac"), s.requester(c), t, detail)
		switch {
		case errors.Is(err, provision.ErrRefused):
			return s.refusedFor(c, c.Param("mac"), "install report", err)
		case err != nil:
			return err
		}
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

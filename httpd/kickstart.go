package httpd

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
)

// handleKickstart serves GET /ks/:mac?token=…, the host's rendered kickstart,
// only to that host while it is building (see boot.KickstartAccess).
func (s *Server) handleKickstart(c echo.Context) error {
	start := time.Now()
	mac, err := inventory.NormalizeMAC(c.Param("mac"))
	if err != nil {
		s.metrics.render("kickstart", "bad_request", 0)
		return badRequest(err.Error(), "ask for /ks/<mac>?token=…, e.g. /ks/52:54:00:12:34:56")
	}
	ctx := c.Request().Context()
	h, err := s.opts.Store.GetHost(ctx, mac)
	if errors.Is(err, inventory.ErrNotFound) {
		s.metrics.render("kickstart", "not_found", 0)
		s.failures.fail(c.RealIP(), time.Now())
		return &apiError{status: http.StatusNotFound, msg: "no host with MAC " + mac,
			hint: "register it with `netkick host add " + mac + " --hostname NAME --profile PROFILE`"}
	}
	if err != nil {
		return err
	}
	token := c.QueryParam("token")
	if err := boot.KickstartAccess(h, token, c.RealIP(), s.knownIP(ctx, h), time.Now()); err != nil {
		s.metrics.render("kickstart", "forbidden", 0)
		return s.forbidden(c, "kickstart", err)
	}
	if err := s.bound(c, h); err != nil {
		s.metrics.render("kickstart", "forbidden", 0)
		return s.refusedFor(c, h, "kickstart", err)
	}
	first := h.State == inventory.StateBuild
	if first {
		if h, err = s.opts.Store.UpdateHost(ctx, mac, func(h *inventory.Host) error {
			next, err := boot.Next(h.State, boot.EventFetched)
			h.State = next
			return err
		}); err != nil {
			return err
		}
	}
	// The first fetch of a build is always on the timeline; refetches (the
	// installer retrying) at most once a minute per host.
	if s.fetches.record(h.ID(), first, time.Now()) {
		s.event(ctx, h.ID(), "kickstart", "kickstart fetched by "+c.RealIP())
	}
	server := s.serverURL(c)
	gen, err := s.opts.Store.Generation(ctx)
	if err != nil {
		return err
	}
	key := mac + " " + server + " " + token
	if out, ok := s.ks.get(gen, key); ok {
		s.metrics.render("kickstart", "ok", time.Since(start))
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", out)
	}
	out, err := s.opts.Renderer.Kickstart(ctx, s.opts.Store, kickstart.Request{Host: mac, Server: server, Token: token})
	if err != nil {
		s.metrics.render("kickstart", "error", 0)
		return &apiError{status: http.StatusInternalServerError, msg: err.Error(),
			hint: "check the host's profile and the templates with `netkick render kickstart " + mac + "`"}
	}
	s.ks.put(gen, key, out)
	s.metrics.render("kickstart", "ok", time.Since(start))
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", out)
}

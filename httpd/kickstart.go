package httpd

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
)

// handleKickstart serves GET /ks/:mac, the host's rendered kickstart.
func (s *Server) handleKickstart(c echo.Context) error {
	start := time.Now()
	mac, err := inventory.NormalizeMAC(c.Param("mac"))
	if err != nil {
		s.metrics.render("kickstart", "bad_request", 0)
		return badRequest(err.Error(), "ask for /ks/<mac>, e.g. /ks/52:54:00:12:34:56")
	}
	ctx := c.Request().Context()
	server := s.serverURL(c)
	gen, err := s.opts.Store.Generation(ctx)
	if err != nil {
		return err
	}
	key := mac + " " + server
	if out, ok := s.ks.get(gen, key); ok {
		s.metrics.render("kickstart", "ok", time.Since(start))
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", out)
	}
	out, err := s.opts.Renderer.Kickstart(ctx, s.opts.Store, kickstart.Request{Host: mac, Server: server})
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		s.metrics.render("kickstart", "not_found", 0)
		return &apiError{status: http.StatusNotFound, msg: "no host with MAC " + mac,
			hint: "register it with `netkick host add " + mac + " --hostname NAME --profile PROFILE`"}
	case err != nil:
		s.metrics.render("kickstart", "error", 0)
		return &apiError{status: http.StatusInternalServerError, msg: err.Error(),
			hint: "check the host's profile and the templates with `netkick render kickstart " + mac + "`"}
	}
	s.ks.put(gen, key, out)
	s.metrics.render("kickstart", "ok", time.Since(start))
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", out)
}

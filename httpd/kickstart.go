package httpd

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// handleKickstart serves GET /ks/:mac?token=…, the host's rendered kickstart,
// only to that host while it is building (provision decides).
func (s *Server) handleKickstart(c echo.Context) error {
	start := time.Now()
	mac, err := inventory.NormalizeMAC(c.Param("mac"))
	if err != nil {
		s.metrics.render("kickstart", "bad_request", 0)
		return badRequest(err.Error(), "ask for /ks/<mac>?token=…, e.g. /ks/52:54:00:12:34:56")
	}
	f, err := s.prov.Kickstart(c.Request().Context(), mac, s.requester(c))
	switch {
	case err == nil:
		s.metrics.render("kickstart", "ok", time.Since(start))
		noteHost(c, f.Host.Hostname, mac)
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", f.Body)
	case errors.Is(err, inventory.ErrNotFound):
		s.metrics.render("kickstart", "not_found", 0)
		return s.refusal(c, &apiError{status: http.StatusNotFound, msg: "no host with MAC " + mac,
			hint: "register it with `netkick host add " + mac + " --hostname NAME --profile PROFILE`"})
	case errors.Is(err, provision.ErrRefused):
		s.metrics.render("kickstart", "forbidden", 0)
		return s.refusedFor(c, mac, "kickstart", err)
	default:
		s.metrics.render("kickstart", "error", 0)
		return &apiError{status: http.StatusInternalServerError, msg: err.Error(),
			hint: "check the host's profile and the templates with `netkick render kickstart " + mac + "`"}
	}
}

// requester is what the request says about the machine asking.
func (s *Server) requester(c echo.Context) provision.Requester {
	return provision.Requester{Addr: c.RealIP(), Token: c.QueryParam("token"), Base: s.serverURL(c)}
}

package httpd

import (
	"context"
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
	case s.storeDown(c.Request().Context()) != nil:
		// The fetch moves the host to installing and spends its token, and
		// the token check reads the host's lease: without the store nothing
		// is served, and a refusal could be the outage's. 503 + Retry-After
		// asks the installer to come back once the store answers.
		s.metrics.render("kickstart", "store_unreachable", 0)
		c.Response().Header().Set("Retry-After", kickstartRetryAfter)
		return &apiError{status: http.StatusServiceUnavailable,
			msg:  "kickstart of " + mac + " not served: the inventory store is unreachable, so this fetch can be neither checked nor recorded (" + err.Error() + ")",
			hint: "the installer may retry after " + kickstartRetryAfter + " s; the store's state is on /healthz"}
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

// kickstartRetryAfter is the Retry-After (seconds) of a kickstart refused
// because the store does not answer.
const kickstartRetryAfter = "30"

// storeDown returns the store's error when it does not answer within 2 s
// (nil when it does): what tells an outage from a failed render.
func (s *Server) storeDown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.opts.Store.Generation(ctx)
	return err
}

package httpd

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/internal/redact"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// accessKey is the echo context key of what handlers learned for the
// request's access line.
const accessKey = "netkick.access"

// access is what a handler knows about a request that its route does not
// say: the host it was for, and a stage other than the route's.
type access struct {
	host  string // hostname (MAC) when known
	stage string
}

func accessOf(c echo.Context) access {
	a, _ := c.Get(accessKey).(access)
	return a
}

// noteHost records the host a request was for, as "hostname (mac)" or
// whichever of the two is known.
func noteHost(c echo.Context, hostname, mac string) {
	a := accessOf(c)
	switch {
	case hostname != "" && mac != "" && hostname != mac:
		a.host = hostname + " (" + mac + ")"
	case hostname != "":
		a.host = hostname
	default:
		a.host = mac
	}
	c.Set(accessKey, a)
}

// noteStage overrides the stage the route gives (a generated config under /boot/).
func noteStage(c echo.Context, stage string) {
	a := accessOf(c)
	a.stage = stage
	c.Set(accessKey, a)
}

// accessLog writes one line for the request: kickstarts, boot configs and
// API calls at info, changes through the web page at info, everything else
// (boot files, the repository, the page's reads, /metrics) at debug. The
// path's secret parameters (build tokens) are REDACTED; the body is never
// logged.
func (s *Server) accessLog(c echo.Context, stage string, status int, dur time.Duration) {
	req := c.Request()
	level := slog.LevelDebug
	switch stage {
	case stageKickstart, stageBootConfig, stageAPI:
		level = slog.LevelInfo
	case stageWeb:
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			level = slog.LevelInfo
		}
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	host := accessOf(c).host
	if host == "" {
		host = hostParam(c)
	}
	attrs := []slog.Attr{
		slog.String("stage", stage),
		slog.String("method", req.Method),
		slog.String("path", redact.Target(req.URL.Path, req.URL.RawQuery)),
		slog.Int("status", status),
		slog.String("host", host),
		slog.String("source", c.RealIP()),
		slog.Duration("duration", dur.Round(time.Microsecond)),
		slog.Int64("bytes", c.Response().Size),
	}
	if a, ok := c.Get(actorKey).(provision.Actor); ok {
		attrs = append(attrs, slog.String("by", a.String()))
	}
	s.log.LogAttrs(ctx, level, "access", attrs...)
}

// hostParam is the host a route names: its :mac parameter (a MAC or a
// hostname in the API) or /boot.ipxe's ?mac=, in the canonical spelling
// when it is a MAC.
func hostParam(c echo.Context) string {
	v := c.Param("mac")
	switch {
	case v != "":
	case c.Path() == "/boot.ipxe":
		v = c.QueryParam("mac")
	case c.Path() == "/hosts/*": // the web page's /hosts/{key}[/…]
		v, _, _ = strings.Cut(c.Param("*"), "/")
	}
	if m, err := inventory.NormalizeMAC(v); err == nil {
		return m
	}
	if len(v) > 64 {
		v = v[:64]
	}
	return v
}

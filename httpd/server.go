// Package httpd is netkick's HTTP face (labstack/echo): per-host kickstarts,
// the admin API, /healthz and /metrics. It holds no decisions of its own: it
// asks kickstart, boot and inventory, and maps their errors to HTTP statuses.
package httpd

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/provision"
	"github.com/netkick/netkick/provision/check"
	"github.com/netkick/netkick/provision/urls"
	"github.com/netkick/netkick/web"
)

// Options configure a Server.
type Options struct {
	Store    inventory.Store
	Renderer *kickstart.Renderer
	// AdminToken guards /api/v1; it must not be empty.
	AdminToken string
	// PublicURL is the base URL installers use to reach netkick; empty: taken
	// from each request's Host header.
	PublicURL string
	Logger    *slog.Logger
	// RepoRoot holds the yum repositories published at /repo/{name}/
	// (one directory per repository, e.g. RepoRoot/cpan); empty: none.
	RepoRoot string
	// Registry holds the collectors /metrics exposes; the server registers
	// its own (netkick_http_*, netkick_render*, netkick_store_up,
	// netkick_power_hosts) on it. nil: a registry of its own with only those.
	Registry *prometheus.Registry
	// Boot is the boot tree served at /boot/ and /boot.ipxe; nil: not served.
	Boot *bootfs.Tree
	// TokenTTL is how long a build token is valid (default 6h).
	TokenTTL time.Duration
	// Discovery is the discovery boot discovered machines get; nil: none.
	Discovery *boot.Discovery
	// Leases, when set, tells a host's leased address for the source check.
	Leases LeaseFinder
	// FailureLimit is how many refused requests a client may make per minute before 429 (default 20).
	FailureLimit int
	// Binder, when set, is asked whether a machine's request comes from the
	// machine it names (see provision.Binder).
	Binder provision.Binder
	// Check, when set, runs `netkick check` on this server's facts for
	// GET /api/v1/check.
	Check func(ctx context.Context) []check.Problem
	// FetchEventsPerSource bounds the fetch events (boot.ipxe, boot files,
	// refusals) one client address puts on timelines per minute
	// (inventory.DefaultFetchEventsPerSource when 0).
	FetchEventsPerSource int
	// Limits bound connections (see Limits); zero fields take defaults.
	Limits Limits
	// AdminTLS says HTTPS (ServeTLS) serves the admin API and the web page:
	// over plain HTTP the API is refused (403 naming the HTTPS URL) and the
	// page redirects there, while what machines fetch (kickstarts, boot
	// files, iPXE scripts, repositories, install reports) stays on HTTP.
	AdminTLS bool
	// WebHeartbeat is how often the web page's event stream sends a
	// heartbeat (web's default when 0).
	WebHeartbeat time.Duration
}

// Server is the HTTP server's state.
type Server struct {
	opts     Options
	log      *slog.Logger
	metrics  *metrics
	echo     *echo.Echo
	prov     *provision.Service
	failures *failureLimiter
	gate     *inventory.EventGate
	limits   Limits
	conns    *connLimiter
	// metricsHandler serves the registry at /metrics.
	metricsHandler echo.HandlerFunc
	// httpsPort is the port ServeTLS bound (0: none yet), for redirects.
	httpsPort atomic.Int32
}

// New builds the server and its routes.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Renderer == nil {
		return nil, errors.New("httpd: Store and Renderer are required")
	}
	if len(opts.AdminToken) < 16 {
		return nil, errors.New("httpd: the admin token must be at least 16 characters")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.FailureLimit <= 0 {
		opts.FailureLimit = 20
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: newMetrics(), failures: newFailureLimiter(opts.FailureLimit, time.Minute),
		gate: inventory.NewEventGate(opts.FetchEventsPerSource)}
	s.limits = opts.Limits.withDefaults()
	s.conns = newConnLimiter(s.limits.MaxConns, s.limits.MaxConnsPerClient)
	var pub urls.URLs
	if opts.PublicURL != "" {
		u, err := urls.New(opts.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("httpd: %w", err)
		}
		pub = u
	}
	prov, err := provision.New(provision.Options{Store: opts.Store, Renderer: opts.Renderer, URLs: pub, TokenTTL: opts.TokenTTL,
		Leases: opts.Leases, Binder: opts.Binder, Discovery: opts.Discovery, Warn: opts.Logger.Warn, Audit: opts.Logger})
	if err != nil {
		return nil, err
	}
	s.prov = prov
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	for _, c := range append(s.metrics.collectors(), s.conns, newStoreCollector(s), newPowerCollector(s)) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("httpd: register metrics: %w (one HTTP server per registry)", err)
		}
	}
	s.metricsHandler = echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.Recover())
	e.Use(s.observe)
	if err := s.routes(e); err != nil {
		return nil, err
	}
	s.echo = e
	return s, nil
}

// Handler returns the HTTP handler (for http.Server or tests).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve listens on addr until ctx is done, then shuts down gracefully.
// ready, if not nil, receives the bound address once listening.
func (s *Server) Serve(ctx context.Context, addr string, ready func(string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("HTTP listen on %s: %w (choose another address with --http)", addr, err)
	}
	return s.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on a listener the caller opened (e.g. inside a
// network namespace); it takes ownership of ln.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, ready func(string)) error {
	addr := ln.Addr().String()
	s.echo.Listener = &limitListener{Listener: ln, l: s.conns}
	hs := s.echo.Server
	hs.ReadHeaderTimeout, hs.ReadTimeout, hs.IdleTimeout = s.limits.ReadHeaderTimeout, s.limits.ReadTimeout, s.limits.IdleTimeout
	hs.MaxHeaderBytes = 64 << 10
	hs.ConnState = s.conns.connState
	s.log.Info("HTTP limits", "max_conns", s.limits.MaxConns, "max_conns_per_client", s.limits.MaxConnsPerClient,
		"read_header_timeout", s.limits.ReadHeaderTimeout, "read_timeout", s.limits.ReadTimeout, "idle_timeout", s.limits.IdleTimeout)
	errc := make(chan error, 1)
	go func() { errc <- s.echo.Start(addr) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.echo.ListenerAddr() == nil {
		select {
		case err := <-errc:
			return fmt.Errorf("HTTP listen on %s: %w (choose another address with --http)", addr, err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("HTTP listen on %s: timed out", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ready != nil {
		ready(s.echo.ListenerAddr().String())
	}
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.echo.Shutdown(sctx)
}

// handleHealth answers 200 "ok" while the store answers, and 503 "degraded"
// naming the failure when it does not (a shared database lost): the server
// still serves what it can decide without the store, and a load balancer
// or monitor can tell.
func (s *Server) handleHealth(c echo.Context) error {
	if err := s.storeDown(c.Request().Context()); err != nil {
		return c.String(http.StatusServiceUnavailable, "degraded: inventory store unreachable: "+err.Error()+"\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

func (s *Server) routes(e *echo.Echo) error {
	e.GET("/healthz", s.handleHealth)
	e.GET("/metrics", s.metricsHandler)
	e.GET("/ks/:mac", s.handleKickstart)
	s.repoRoutes(e)

	api := e.Group("/api/v1", middleware.BodyLimit("1M"), s.requireAdmin)
	s.lifecycleRoutes(e, api)
	s.discoveredRoutes(e, api)
	s.hostRoutes(api)
	s.powerRoutes(api)
	s.profileRoutes(api)
	s.clusterRoutes(api)
	s.layoutRoutes(api)
	s.tokenRoutes(api)
	s.dumpRoutes(e, api)
	s.checkRoutes(api)
	s.bootRoutes(e)
	return s.webRoutes(e)
}

// webRoutes mounts the web page (package web) at /.
func (s *Server) webRoutes(e *echo.Echo) error {
	w, err := web.New(web.Options{Prov: s.prov, AdminToken: s.opts.AdminToken, Render: s.render, Log: s.log, Heartbeat: s.opts.WebHeartbeat})
	if err != nil {
		return err
	}
	wh := w.Handler()
	h := echo.WrapHandler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !s.plainWeb(rw, r) {
			wh.ServeHTTP(rw, r)
		}
	}))
	for _, p := range web.Paths {
		e.GET(p, h)
		e.POST(p, h)
	}
	return nil
}

// observe counts each request by route and status, times it by stage and
// writes its access line.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		dur := time.Since(start)
		status := c.Response().Status
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		stage := stageOf(route)
		if a := accessOf(c); a.stage != "" {
			stage = a.stage
		}
		s.metrics.request(route, stage, status, dur)
		s.accessLog(c, stage, status, dur)
		return nil
	}
}

// requireAdmin lets in the bootstrap admin token (compared in constant
// time) or a named API token, and records which one as the request's actor.
// A valid token is never refused for other requests' failures.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	want := []byte(s.opts.AdminToken)
	return func(c echo.Context) error {
		if err := s.plainAdmin(c); err != nil {
			return err
		}
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		got, ok := strings.CutPrefix(auth, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), want) == 1 {
			c.Set(actorKey, provision.Actor{Via: "api", Name: provision.AdminTokenName})
			return next(c)
		}
		if ok {
			a, found, err := s.prov.Authenticate(c.Request().Context(), got)
			if err != nil {
				return err
			}
			if found {
				c.Set(actorKey, a)
				return next(c)
			}
		}
		s.log.Warn("api: admin token missing or wrong", "remote", c.RealIP(), "uri", c.Request().URL.Path)
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions {
			// A change refused before it reached the core: audited there too.
			s.prov.AuditRefused(provision.Actor{Via: "unauthenticated", Name: c.RealIP()}, m+" "+c.Path(), hostParam(c), "admin token missing or wrong")
		}
		return s.refusal(c, &apiError{status: http.StatusUnauthorized, msg: "admin token missing or wrong",
			hint: "send Authorization: Bearer <token>: <data>/admin.token on the server, or a token made with `netkick token add NAME`"})
	}
}

// apiError is an error with an HTTP status and a hint for the user.
type apiError struct {
	status int
	msg    string
	hint   string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(msg, hint string) error {
	return &apiError{status: http.StatusBadRequest, msg: msg, hint: hint}
}

// statusOf maps an error to a status and hint.
func statusOf(err error) (int, string, string) {
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg, ae.hint
	case errors.As(err, &he):
		return he.Code, fmt.Sprint(he.Message), ""
	case errors.Is(err, provision.ErrStale):
		return http.StatusPreconditionFailed, err.Error(), hintOr(err, "GET the host again for its current ETag and repeat the change")
	case errors.Is(err, provision.ErrInUse):
		return http.StatusConflict, err.Error(), hintOr(err, "change what still uses it first")
	case errors.Is(err, provision.ErrRefused):
		return http.StatusForbidden, "refused", "the reason is in the netkick server log"
	case errors.Is(err, inventory.ErrInvalid):
		return http.StatusBadRequest, err.Error(), hintOr(err, "fix the value named in the error and send the request again")
	case errors.Is(err, inventory.ErrNotFound):
		return http.StatusNotFound, err.Error(), hintOr(err, "list what exists with GET /api/v1/hosts or `netkick host list`")
	case errors.Is(err, inventory.ErrConflict):
		return http.StatusConflict, err.Error(), hintOr(err, "the name or MAC is taken by another entry; remove or rename that entry first")
	default:
		return http.StatusInternalServerError, err.Error(), "see the server log for details"
	}
}

func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg, hint := statusOf(err)
	if status >= 500 {
		s.log.Error("http request failed", "uri", c.Request().URL.Path, "err", err)
	}
	body := map[string]any{"error": msg}
	if hint != "" {
		body["hint"] = hint
	}
	var pe *provision.Error
	if errors.As(err, &pe) && len(pe.Users) > 0 {
		body["users"] = pe.Users
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

// decodeJSON reads a JSON body strictly: unknown fields are an error.
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("request body: "+err.Error(), "send a JSON object with the documented fields (see docs/api.md)")
	}
	return nil
}

func hintOr(err error, def string) string {
	if h := provision.HintOf(err); h != "" {
		return h
	}
	return def
}

// actorOf names who makes an API request, for the timeline.
func actorOf(c echo.Context) provision.Actor {
	if a, ok := c.Get(actorKey).(provision.Actor); ok {
		return a
	}
	return provision.Actor{Via: "api", Name: "admin"}
}

// actorKey is the echo context key of the request's actor.
const actorKey = "netkick.actor"

// urls builds the URLs a machine is given: from the public base URL, or
// without one, from the base this request came in on.
func (s *Server) urls(c echo.Context) urls.URLs {
	return s.prov.URLs().Or(s.serverURL(c))
}

// serverURL is the base URL the client used to reach us, unless configured.
func (s *Server) serverURL(c echo.Context) string { return s.baseOf(c.Request()) }

// baseOf is serverURL for a plain request.
func (s *Server) baseOf(r *http.Request) string {
	if u := s.prov.URLs(); !u.IsZero() {
		return u.Base()
	}
	return "http://" + r.Host
}

// SetPublicURL sets the base URL of every URL a machine is given (serve sets
// it once it knows the port it listens on).
func (s *Server) SetPublicURL(base string) error {
	u, err := urls.New(base)
	if err != nil {
		return err
	}
	s.prov.SetURLs(u)
	return nil
}

// DiscoveryBoot is the discovery boot of a discovered machine (the boot
// tree's bootfs.DiscoveryFunc).
func (s *Server) DiscoveryBoot(ctx context.Context, mac string, withToken bool) (*boot.Discovery, error) {
	return s.prov.DiscoveryBoot(ctx, mac, withToken)
}

// PublicURL is the base URL the server gives machines ("" when it uses each request's own).
func (s *Server) PublicURL() string { return s.prov.URLs().Base() }

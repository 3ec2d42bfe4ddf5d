// Package web is netkick's web page: the hosts table, a host's page (edit,
// roles, build, timeline, what it would be served), profiles, layouts and
// LVS clusters, with live updates over Server-Sent Events. Pages are
// html/template (everything shown is escaped), assets are embedded, logins
// are the admin token or a named API token turned into a session cookie, and
// every state-changing form carries a CSRF token. It writes only through
// provision, as the CLI and the API do; httpd mounts it at /.
package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/netkick/netkick/provision"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// RenderFunc answers exactly what `netkick render KIND HOST` prints (kind:
// kickstart, pxelinux, ipxe or grub), for a request that came in on r.
type RenderFunc func(ctx context.Context, kind, host string, r *http.Request) ([]byte, error)

// Options configure the page.
type Options struct {
	Prov *provision.Service
	// AdminToken is the bootstrap admin token; named API tokens log in too.
	AdminToken string
	Render     RenderFunc
	Log        *slog.Logger
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// PerPage is the hosts table's page size (default 50).
	PerPage int
	// Poll is how often the event stream looks at the store (default 1s);
	// Heartbeat how often it sends a comment to keep proxies open (default 15s).
	Poll, Heartbeat time.Duration
	Now             func() time.Time
}

// Web is the page's state; Handler serves it.
type Web struct {
	o        Options
	tmpl     map[string]*template.Template
	sessions *sessions
	static   http.Handler
}

// New parses the templates and returns the page.
func New(o Options) (*Web, error) {
	if o.Prov == nil || o.Render == nil {
		return nil, errors.New("web: Prov and Render are required")
	}
	if len(o.AdminToken) < 16 {
		return nil, errors.New("web: the admin token must be at least 16 characters")
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.PerPage <= 0 {
		o.PerPage = 50
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return &Web{o: o, tmpl: t, sessions: newSessions(o.Now), static: http.StripPrefix("/web/static/", http.FileServerFS(sub))}, nil
}

// Paths are the path prefixes the page owns (httpd routes them here).
var Paths = []string{"/", "/login", "/logout", "/hosts", "/hosts/*", "/profiles", "/layouts", "/layouts/*", "/clusters", "/discovered", "/discovered/*", "/web/*"}

// Handler serves the page.
func (w *Web) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /web/static/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Cache-Control", "max-age=300")
		w.static.ServeHTTP(rw, r)
	})
	m.HandleFunc("GET /login", w.loginForm)
	m.HandleFunc("POST /login", w.login)
	m.Handle("POST /logout", w.authed(w.logout))
	m.Handle("GET /{$}", w.authed(w.hostsPage))
	m.Handle("GET /hosts", w.authed(w.hostsPage))
	m.Handle("GET /hosts/{key}", w.authed(w.hostPage))
	m.Handle("POST /hosts/{key}/edit", w.authed(w.editHost))
	m.Handle("POST /hosts/{key}/roles", w.authed(w.rolesHost))
	m.Handle("POST /hosts/{key}/build", w.authed(w.buildHost))
	m.Handle("POST /hosts/{key}/build/cancel", w.authed(w.cancelBuild))
	m.Handle("POST /hosts/{key}/power", w.authed(w.powerHost))
	m.Handle("POST /hosts/{key}/reinstall", w.authed(w.reinstallHost))
	m.Handle("GET /profiles", w.authed(w.profilesPage))
	m.Handle("GET /layouts", w.authed(w.layoutsPage))
	m.Handle("GET /clusters", w.authed(w.clustersPage))
	m.Handle("GET /discovered", w.authed(w.discoveredPage))
	m.Handle("POST /discovered/{mac}/adopt", w.authed(w.adoptDiscovered))
	m.Handle("GET /web/events", w.authed(w.events))
	return secure(m)
}

// secure sets the headers every answer carries.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(rw, r)
	})
}

// checkToken names who a login token belongs to.
func (w *Web) checkToken(ctx context.Context, tok string) (string, bool, error) {
	if subtle.ConstantTimeCompare([]byte(tok), []byte(w.o.AdminToken)) == 1 {
		return provision.AdminTokenName, true, nil
	}
	a, ok, err := w.o.Prov.Authenticate(ctx, tok)
	return a.Name, ok, err
}

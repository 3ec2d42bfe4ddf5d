package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/netkick/netkick/provision"
)

const (
	sessionCookie = "netkick_session"
	// loginCookie carries the login form's CSRF token before a session exists.
	loginCookie = "netkick_login"
)

// session is one login: who, its CSRF token, when it ends.
type session struct {
	user    string
	csrf    string
	expires time.Time
}

// sessions are held in memory: a restart logs everyone out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, now: now}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func (s *sessions) create(user string, ttl time.Duration) (string, *session) {
	id := randomHex(32)
	ss := &session{user: user, csrf: randomHex(32), expires: s.now().Add(ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m { // drop expired logins as new ones come
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	s.m[id] = ss
	return id, ss
}

func (s *sessions) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[id]
	if ss == nil {
		return nil
	}
	if s.now().After(ss.expires) {
		delete(s.m, id)
		return nil
	}
	return ss
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

type ctxKey struct{}

func sessionOf(r *http.Request) *session {
	ss, _ := r.Context().Value(ctxKey{}).(*session)
	return ss
}

// authed lets a request with a live session in; a page without one is sent
// to the login form, anything else is refused. A POST must carry the
// session's CSRF token in its "csrf" field.
func (w *Web) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var ss *session
		if c, err := r.Cookie(sessionCookie); err == nil {
			ss = w.sessions.get(c.Value)
		}
		if ss == nil {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/web/") {
				http.Redirect(rw, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.o.Prov.AuditRefused(provision.Actor{Via: "unauthenticated", Name: remoteIP(r)}, r.Pattern, pathHost(r), "not logged in")
			}
			http.Error(rw, "not logged in: log in at /login", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodPost {
			got := r.PostFormValue("csrf")
			if subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) != 1 {
				w.o.Log.Warn("web: form without a valid CSRF token refused", "uri", r.URL.Path, "remote", r.RemoteAddr)
				w.o.Prov.AuditRefused(provision.Actor{Via: "web", Name: ss.user}, r.Pattern, pathHost(r), "CSRF token missing or wrong")
				http.Error(rw, "CSRF token missing or wrong: reload the page and send the form again", http.StatusForbidden)
				return
			}
		}
		h(rw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss)))
	})
}

func (w *Web) loginForm(rw http.ResponseWriter, r *http.Request) {
	tok := randomHex(16)
	http.SetCookie(rw, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: 3600})
	w.page(rw, r, http.StatusOK, "login", map[string]any{"CSRF": tok, "Next": safeNext(r.URL.Query().Get("next")), "Error": ""})
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		http.Error(rw, "CSRF token missing or wrong: open /login again and send the form from there", http.StatusForbidden)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	user, ok, err := w.checkToken(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if !ok {
		w.o.Log.Warn("web: login with a wrong token", "remote", r.RemoteAddr)
		w.page(rw, r, http.StatusUnauthorized, "login", map[string]any{"CSRF": c.Value, "Next": next,
			"Error": "That token is not the admin token nor a named API token (see <data>/admin.token or `netkick token add NAME`)."})
		return
	}
	id, ss := w.sessions.create(user, w.o.SessionTTL)
	http.SetCookie(rw, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: ss.expires})
	http.SetCookie(rw, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1})
	w.o.Log.Info("web: login", "user", user, "remote", r.RemoteAddr)
	http.Redirect(rw, r, next, http.StatusSeeOther)
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		w.sessions.drop(c.Value)
	}
	http.SetCookie(rw, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(rw, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target on this site: a path, never //host or a URL.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") || strings.HasPrefix(n, "/login") {
		return "/"
	}
	return n
}

// remoteIP is the address of the request's client, without its port.
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// pathHost is the host (or discovered machine) a route's path names, if any.
func pathHost(r *http.Request) string {
	if k := r.PathValue("key"); k != "" {
		return k
	}
	return r.PathValue("mac")
}

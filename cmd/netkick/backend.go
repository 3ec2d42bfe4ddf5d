package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/kickstart/layout"
)

// backend is the inventory as the CLI sees it: a local data dir or a running server.
type backend interface {
	ListHosts(ctx context.Context, f inventory.HostFilter) ([]inventory.Host, error)
	GetHost(ctx context.Context, key string) (*inventory.Host, error)
	PutHost(ctx context.Context, h *inventory.Host) error
	DeleteHost(ctx context.Context, key string) error
	ChangeRoles(ctx context.Context, key string, rc httpd.RolesChange) (*inventory.Host, error)
	Events(ctx context.Context, key string) ([]inventory.Event, error)
	ListProfiles(ctx context.Context) ([]inventory.Profile, error)
	PutProfile(ctx context.Context, p *inventory.Profile) error
	GetLayout(ctx context.Context, name string) (*inventory.Layout, error)
	ListLayouts(ctx context.Context) ([]inventory.Layout, error)
	PutLayout(ctx context.Context, l *inventory.Layout) error
	Render(ctx context.Context, kind, key string) ([]byte, error)
	Build(ctx context.Context, key string, ttl time.Duration) (*httpd.BuildResponse, error)
	Export(ctx context.Context) (*inventory.Dump, error)
	Import(ctx context.Context, d *inventory.Dump) error
	Close() error
}

// storeFlags are the flags of every command that reads the inventory.
type storeFlags struct {
	data      string
	server    string
	tokenFile string
	templates string
	publicURL string
}

func (sf *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.data, "data", "./netkick-data", "local data directory (safe to use while a server runs on it)")
	fs.StringVar(&sf.server, "server", os.Getenv("NETKICK_SERVER"), "URL of a running netkick server instead of --data (env NETKICK_SERVER)")
	fs.StringVar(&sf.tokenFile, "token-file", "", "admin token file for --server (default: env NETKICK_TOKEN, else <data>/admin.token)")
	fs.StringVar(&sf.templates, "templates", "", "template directory overriding the built-in templates (local mode)")
	fs.StringVar(&sf.publicURL, "public-url", "", "base URL installers use to reach netkick (local render; default http://<hostname>:8080)")
}

func (sf *storeFlags) open() (backend, error) {
	if sf.server != "" {
		tok, err := sf.token()
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(sf.server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usageError{fmt.Sprintf("--server %q: want a URL such as http://127.0.0.1:8080", sf.server)}
		}
		return &remote{base: strings.TrimRight(sf.server, "/"), token: tok, c: &http.Client{Timeout: 60 * time.Second}}, nil
	}
	st, err := inventory.OpenSQLite(filepath.Join(sf.data, "inventory.db"))
	if err != nil {
		return nil, err
	}
	r, err := kickstart.New(kickstart.Options{TemplateDir: sf.templates})
	if err != nil {
		st.Close()
		return nil, err
	}
	pub := sf.publicURL
	if pub == "" {
		hn, _ := os.Hostname()
		if hn == "" {
			hn = "localhost"
		}
		pub = "http://" + hn + ":8080"
	}
	return &local{Store: st, r: r, publicURL: pub}, nil
}

func (sf *storeFlags) token() (string, error) {
	if sf.tokenFile == "" {
		if t := strings.TrimSpace(os.Getenv("NETKICK_TOKEN")); t != "" {
			return t, nil
		}
		sf.tokenFile = filepath.Join(sf.data, "admin.token")
	}
	b, err := os.ReadFile(sf.tokenFile)
	if err != nil {
		return "", fmt.Errorf("read admin token: %w (copy <data>/admin.token from the server and pass --token-file, or set NETKICK_TOKEN)", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// local works on the SQLite store directly.
type local struct {
	inventory.Store
	r         *kickstart.Renderer
	publicURL string
}

func (l *local) ChangeRoles(ctx context.Context, key string, rc httpd.RolesChange) (*inventory.Host, error) {
	for _, r := range append(append([]string{}, rc.Add...), rc.Remove...) {
		if err := inventory.ValidateName("role", r); err != nil {
			return nil, err
		}
	}
	h, err := l.UpdateHost(ctx, key, func(h *inventory.Host) error {
		h.Roles = httpd.ApplyRoles(h.Roles, rc)
		return nil
	})
	if err == nil {
		_ = l.AddEvent(ctx, inventory.Event{HostID: h.ID(), Kind: "roles", Detail: "roles now: " + strings.Join(h.Roles, " ")})
	}
	return h, err
}

func (l *local) Events(ctx context.Context, key string) ([]inventory.Event, error) {
	h, err := l.GetHost(ctx, key)
	if err != nil {
		return nil, err
	}
	ev, err := l.Store.Events(ctx, h.ID(), 0)
	// As the API does: what clients sent leaves escaped, never raw.
	for i := range ev {
		ev[i].Detail = inventory.EscapeControl(ev[i].Detail, true)
	}
	return ev, err
}

func (l *local) Render(ctx context.Context, kind, key string) ([]byte, error) {
	switch kind {
	case "kickstart":
		return l.r.Kickstart(ctx, l.Store, kickstart.Request{Host: key, Server: l.publicURL})
	case "pxelinux", "ipxe":
		req := bootfs.Request{BaseURL: strings.TrimRight(l.publicURL, "/")}
		if kind == "ipxe" {
			req.FileBase = req.BaseURL + "/boot/"
		}
		out, err := bootfs.Render(ctx, l.Store, nil, kind, key, req)
		return []byte(out), err
	default:
		return nil, usageError{"cannot render " + kind + "; want: kickstart, pxelinux or ipxe"}
	}
}

func (l *local) Build(ctx context.Context, key string, ttl time.Duration) (*httpd.BuildResponse, error) {
	h, err := httpd.StartBuild(ctx, l.Store, key, ttl, time.Now())
	if err != nil {
		return nil, err
	}
	return &httpd.BuildResponse{Host: h, Token: h.BuildToken, Expires: h.TokenExpires,
		KickstartURL: l.publicURL + "/ks/" + h.ID() + "?token=" + h.BuildToken}, nil
}

func (l *local) Export(ctx context.Context) (*inventory.Dump, error) {
	return inventory.Export(ctx, l.Store)
}
func (l *local) Import(ctx context.Context, d *inventory.Dump) error {
	for i := range d.Layouts {
		if err := layout.Validate(&d.Layouts[i]); err != nil {
			return fmt.Errorf("layouts[%d]: %w", i, err)
		}
	}
	if err := httpd.ValidateImport(ctx, l.Store, d); err != nil {
		return err
	}
	return inventory.Import(ctx, l.Store, d)
}

// remote talks to a running server's API.
type remote struct {
	base  string
	token string
	c     *http.Client
}

// apiErr is an error answered by the server.
type apiErr struct {
	status int
	msg    string
	hint   string
}

func (e *apiErr) Error() string {
	s := fmt.Sprintf("server said %d: %s", e.status, e.msg)
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	return s
}

func (e *apiErr) Is(target error) bool {
	switch e.status {
	case http.StatusNotFound:
		return target == inventory.ErrNotFound
	case http.StatusBadRequest:
		return target == inventory.ErrInvalid
	case http.StatusConflict:
		return target == inventory.ErrConflict
	}
	return false
}

func (r *remote) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is `netkick serve` running there?)", method, r.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error, Hint string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &apiErr{status: resp.StatusCode, msg: e.Error, hint: e.Hint}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = b
		return nil
	default:
		return json.Unmarshal(b, out)
	}
}

func esc(s string) string { return url.PathEscape(s) }

func (r *remote) ListHosts(ctx context.Context, f inventory.HostFilter) ([]inventory.Host, error) {
	q := url.Values{}
	if f.State != "" {
		q.Set("state", string(f.State))
	}
	if f.Role != "" {
		q.Set("role", f.Role)
	}
	if f.Cluster != "" {
		q.Set("cluster", f.Cluster)
	}
	var out []inventory.Host
	return out, r.do(ctx, "GET", "/api/v1/hosts?"+q.Encode(), nil, &out)
}

func (r *remote) GetHost(ctx context.Context, key string) (*inventory.Host, error) {
	var h inventory.Host
	return &h, r.do(ctx, "GET", "/api/v1/hosts/"+esc(key), nil, &h)
}

func (r *remote) PutHost(ctx context.Context, h *inventory.Host) error {
	if len(h.MACs) == 0 {
		return errors.New("host has no MAC")
	}
	return r.do(ctx, "PUT", "/api/v1/hosts/"+esc(h.MACs[0]), h, h)
}

func (r *remote) DeleteHost(ctx context.Context, key string) error {
	return r.do(ctx, "DELETE", "/api/v1/hosts/"+esc(key), nil, nil)
}

func (r *remote) ChangeRoles(ctx context.Context, key string, rc httpd.RolesChange) (*inventory.Host, error) {
	var h inventory.Host
	return &h, r.do(ctx, "POST", "/api/v1/hosts/"+esc(key)+"/roles", rc, &h)
}

func (r *remote) Events(ctx context.Context, key string) ([]inventory.Event, error) {
	var ev []inventory.Event
	return ev, r.do(ctx, "GET", "/api/v1/hosts/"+esc(key)+"/events", nil, &ev)
}

func (r *remote) ListProfiles(ctx context.Context) ([]inventory.Profile, error) {
	var out []inventory.Profile
	return out, r.do(ctx, "GET", "/api/v1/profiles", nil, &out)
}

func (r *remote) PutProfile(ctx context.Context, p *inventory.Profile) error {
	return r.do(ctx, "PUT", "/api/v1/profiles/"+esc(p.Name), p, p)
}

func (r *remote) GetLayout(ctx context.Context, name string) (*inventory.Layout, error) {
	var l inventory.Layout
	return &l, r.do(ctx, "GET", "/api/v1/layouts/"+esc(name), nil, &l)
}

func (r *remote) ListLayouts(ctx context.Context) ([]inventory.Layout, error) {
	var out []inventory.Layout
	return out, r.do(ctx, "GET", "/api/v1/layouts", nil, &out)
}

func (r *remote) PutLayout(ctx context.Context, l *inventory.Layout) error {
	return r.do(ctx, "PUT", "/api/v1/layouts/"+esc(l.Name), l, l)
}

func (r *remote) Render(ctx context.Context, kind, key string) ([]byte, error) {
	var b []byte
	return b, r.do(ctx, "GET", "/api/v1/hosts/"+esc(key)+"/render/"+esc(kind), nil, &b)
}

func (r *remote) Build(ctx context.Context, key string, ttl time.Duration) (*httpd.BuildResponse, error) {
	var br httpd.BuildResponse
	return &br, r.do(ctx, "POST", "/api/v1/hosts/"+esc(key)+"/build", nil, &br)
}

func (r *remote) Export(ctx context.Context) (*inventory.Dump, error) {
	var d inventory.Dump
	return &d, r.do(ctx, "GET", "/api/v1/export", nil, &d)
}

func (r *remote) Import(ctx context.Context, d *inventory.Dump) error {
	return r.do(ctx, "POST", "/api/v1/import", d, nil)
}

func (r *remote) Close() error { return nil }

// parseOpen parses a command's flags and opens the inventory it names;
// it returns the positional arguments.
func (sf *storeFlags) parseOpen(fs *flag.FlagSet, args []string) ([]string, backend, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	b, err := sf.open()
	if err != nil {
		return nil, nil, err
	}
	return pos, b, nil
}

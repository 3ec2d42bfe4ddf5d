package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/provision"
	"github.com/netkick/netkick/provision/urls"

	"github.com/spf13/pflag"
)

// backend is the inventory as the CLI sees it: a local data dir or a running server.
type backend interface {
	ListHosts(ctx context.Context, f inventory.HostFilter) ([]inventory.Host, error)
	GetHost(ctx context.Context, key string) (*inventory.Host, error)
	// AddHost adds a new host; an existing MAC or hostname is refused unless replace.
	AddHost(ctx context.Context, h *inventory.Host, replace bool) (*inventory.Host, error)
	// SetHost changes only what c names, on the version of the host just read.
	SetHost(ctx context.Context, key string, c provision.Change) (*inventory.Host, error)
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
	CancelBuild(ctx context.Context, key string) (*inventory.Host, error)
	// Export reads the inventory; with secrets, the BMC settings and passwords too.
	Export(ctx context.Context, secrets bool) (*inventory.Dump, error)
	Import(ctx context.Context, d *inventory.Dump, o provision.ImportOptions) (*provision.ImportResult, error)
	AddToken(ctx context.Context, name string) (string, error)
	ListTokens(ctx context.Context) ([]inventory.APIToken, error)
	RevokeToken(ctx context.Context, name string) error
	// BMC settings and power (power.go).
	GetBMC(ctx context.Context, key string) (*provision.BMCView, error)
	SetBMC(ctx context.Context, key string, c provision.BMCChange) (*provision.BMCView, error)
	Power(ctx context.Context, key, action string) (*provision.PowerResult, error)
	Reinstall(ctx context.Context, key string, ttl time.Duration) (*provision.PowerResult, error)
	PowerStatusAll(ctx context.Context, parallel int) ([]provision.PowerResult, error)
	Close() error
}

// storeFlags are the flags of every command that reads the inventory.
type storeFlags struct {
	data      string
	server    string
	tokenFile string
	templates string
	publicURL string
	// ca is a PEM file of CA certificates trusted, besides the system's,
	// for an https:// --server.
	ca string
	// create lets open make a missing data directory (import does).
	create bool
}

// register adds them to the root command: they are global, given before or
// after the subcommand.
func (sf *storeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&sf.data, "data", envData(), "local data directory, safe to use while a server runs on it (env NETKICK_DATA)")
	fs.StringVar(&sf.server, "server", os.Getenv("NETKICK_SERVER"), "URL of a running netkick server instead of --data (env NETKICK_SERVER)")
	fs.StringVar(&sf.tokenFile, "token-file", "", "admin token file: read with --server (default: env NETKICK_TOKEN, else <data>/admin.token); serve creates it on first start")
	fs.StringVar(&sf.templates, "templates", "", "template directory overriding the built-in templates (serve, and local render)")
	fs.StringVar(&sf.ca, "ca", os.Getenv("NETKICK_CA"), "PEM file of the CA that signed an https:// --server's certificate, trusted besides the system's CAs (env NETKICK_CA)")
	fs.StringVar(&sf.publicURL, "public-url", "", "base URL installers use to reach netkick (serve default: the Host header of each request; local render default: the one the server on this data dir recorded, else http://<hostname>:8080)")
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
		c, err := serverClient(u.Scheme, sf.ca)
		if err != nil {
			return nil, err
		}
		return &remote{base: strings.TrimRight(sf.server, "/"), token: tok, c: c}, nil
	}
	if !sf.create {
		if err := sf.needData(); err != nil {
			return nil, err
		}
	}
	st, err := inventory.OpenSQLite(filepath.Join(sf.data, "inventory.db"))
	if err != nil {
		return nil, err
	}
	// Render as the server on this data dir does: its public URL and
	// renderer options, as it recorded them (flags override).
	var ko kickstart.Options
	pub := sf.publicURL
	served, err := provision.ReadServed(sf.data)
	switch {
	case err == nil:
		ko = served.Kickstart
		if pub == "" {
			pub = served.PublicURL
		}
	case !errors.Is(err, fs.ErrNotExist):
		st.Close()
		return nil, err
	}
	if sf.templates != "" {
		ko.TemplateDir = sf.templates
	}
	r, err := kickstart.New(ko)
	if err != nil {
		st.Close()
		return nil, err
	}
	if pub == "" {
		// No server has run on this data dir yet.
		hn, _ := os.Hostname()
		if hn == "" {
			hn = "localhost"
		}
		pub = "http://" + hn + ":8080"
	}
	u, err := urls.New(pub)
	if err != nil {
		st.Close()
		return nil, usageError{err.Error()}
	}
	// Changes made here bypass the server, so their audit lines go to the
	// data dir's audit.log (0600) instead of the server's log.
	audit := slog.New(slog.NewTextHandler(appendFile(filepath.Join(sf.data, "audit.log")), nil))
	p, err := provision.New(provision.Options{Store: st, Renderer: r, URLs: u, Audit: audit})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &local{Store: st, p: p, actor: localActor()}, nil
}

// appendFile is a log destination opened for each line (O_APPEND, 0600),
// so a CLI run holds no file open and lines of concurrent runs do not mix.
type appendFile string

func (p appendFile) Write(b []byte) (int, error) {
	f, err := os.OpenFile(string(p), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// serverClient is the HTTP client for --server: for https, the server's
// certificate is verified against the system's CAs and those in caFile.
func serverClient(scheme, caFile string) (*http.Client, error) {
	c := &http.Client{Timeout: 60 * time.Second}
	if scheme != "https" || caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w (name the PEM file of the CA certificate that signed the server's)", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageError{fmt.Sprintf("--ca %s holds no PEM certificate (want -----BEGIN CERTIFICATE----- blocks)", caFile)}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Transport = t
	return c, nil
}

// tlsHint says how to fix a failed certificate check of --server; empty:
// err is no such failure.
func tlsHint(err error) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "the server's certificate is not signed by a CA this machine trusts: pass --ca FILE (or set NETKICK_CA) naming the PEM certificate of the CA that signed it"
	case errors.As(err, &he):
		return "the server's certificate does not name the host in --server: use a name or address the certificate holds"
	case errors.As(err, &ie):
		return "the server's certificate is not valid (expired, not yet valid or not for a server): renew it on the server, then systemctl reload netkick"
	}
	return ""
}

// localActor names the local user for the timeline.
func localActor() provision.Actor {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return provision.Actor{Via: "cli", Name: name}
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

// local works on the SQLite store directly, through the same provision
// operations the server runs.
type local struct {
	inventory.Store
	p     *provision.Service
	actor provision.Actor
}

func (l *local) AddHost(ctx context.Context, h *inventory.Host, replace bool) (*inventory.Host, error) {
	return hinted2(l.p.Add(ctx, l.actor, *h, provision.AddOptions{Replace: replace}))
}

func (l *local) SetHost(ctx context.Context, key string, c provision.Change) (*inventory.Host, error) {
	return hinted2(l.p.Set(ctx, l.actor, key, c, ""))
}

func (l *local) DeleteHost(ctx context.Context, key string) error {
	_, err := l.p.Remove(ctx, l.actor, key, "")
	return hinted(err)
}

func (l *local) ChangeRoles(ctx context.Context, key string, rc httpd.RolesChange) (*inventory.Host, error) {
	return hinted2(l.p.Roles(ctx, l.actor, key, rc.Add, rc.Remove, ""))
}

func (l *local) PutProfile(ctx context.Context, p *inventory.Profile) error {
	return hinted(l.p.PutProfile(ctx, l.actor, p))
}

func (l *local) PutLayout(ctx context.Context, lay *inventory.Layout) error {
	return hinted(l.p.PutLayout(ctx, l.actor, lay))
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
	base := l.p.URLs().Base()
	switch kind {
	case "kickstart":
		return l.p.RenderKickstart(ctx, key, base)
	case "pxelinux", "ipxe", "grub":
		req := bootfs.Request{BaseURL: base}
		if kind == "ipxe" {
			req.FileBase = l.p.URLs().BootRoot()
		}
		out, err := bootfs.Render(ctx, l.Store, nil, kind, key, req)
		return []byte(out), err
	default:
		return nil, usageError{"cannot render " + kind + "; want: kickstart, pxelinux, ipxe or grub"}
	}
}

func (l *local) Build(ctx context.Context, key string, ttl time.Duration) (*httpd.BuildResponse, error) {
	h, err := l.p.Build(ctx, l.actor, key, ttl)
	if err != nil {
		return nil, hinted(err)
	}
	return &httpd.BuildResponse{Host: h, Token: h.BuildToken, Expires: h.TokenExpires,
		KickstartURL: l.p.URLs().Kickstart(h.ID(), h.BuildToken)}, nil
}

func (l *local) CancelBuild(ctx context.Context, key string) (*inventory.Host, error) {
	h, err := l.p.CancelBuild(ctx, l.actor, key)
	return h, hinted(err)
}

func (l *local) Export(ctx context.Context, secrets bool) (*inventory.Dump, error) {
	d, err := inventory.Export(ctx, l.Store)
	if err == nil && secrets {
		d.BMCs, err = l.p.ExportBMCs(ctx)
	}
	return d, err
}

func (l *local) Import(ctx context.Context, d *inventory.Dump, o provision.ImportOptions) (*provision.ImportResult, error) {
	return hinted2(l.p.Import(ctx, l.actor, d, o))
}

func (l *local) AddToken(ctx context.Context, name string) (string, error) {
	return hinted2(l.p.AddToken(ctx, l.actor, name))
}

func (l *local) ListTokens(ctx context.Context) ([]inventory.APIToken, error) {
	return l.p.ListTokens(ctx)
}

func (l *local) RevokeToken(ctx context.Context, name string) error {
	return hinted(l.p.RevokeToken(ctx, l.actor, name))
}

// hintedErr adds the hint a provision error carries to its text (the API
// sends it as "hint"; the local CLI prints it after the error).
type hintedErr struct{ error }

func (h hintedErr) Error() string { return h.error.Error() + " (" + provision.HintOf(h.error) + ")" }
func (h hintedErr) Unwrap() error { return h.error }

func hinted(err error) error {
	if err == nil || provision.HintOf(err) == "" {
		return err
	}
	return hintedErr{err}
}

func hinted2[T any](v T, err error) (T, error) { return v, hinted(err) }

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
	return r.doMatch(ctx, method, path, "", in, out, nil)
}

// doMatch is do with an If-Match header (when etag is not empty) and the
// response's ETag stored in *gotETag (when not nil).
func (r *remote) doMatch(ctx context.Context, method, path, etag string, in, out any, gotETag *string) error {
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
		if method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := r.c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the method and URL are said below
		}
		if h := tlsHint(err); h != "" {
			return fmt.Errorf("%s %s: %w (%s)", method, r.base+path, err, h)
		}
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
	if gotETag != nil {
		*gotETag = resp.Header.Get("ETag")
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

func (r *remote) AddHost(ctx context.Context, h *inventory.Host, replace bool) (*inventory.Host, error) {
	q := ""
	if replace {
		q = "?replace=1"
	}
	var out inventory.Host
	return &out, r.do(ctx, "POST", "/api/v1/hosts"+q, h, &out)
}

// SetHost reads the host for its ETag and sends the change with If-Match,
// so a change made by someone else in between is refused (412), not overwritten.
func (r *remote) SetHost(ctx context.Context, key string, c provision.Change) (*inventory.Host, error) {
	var cur inventory.Host
	var etag string
	if err := r.doMatch(ctx, "GET", "/api/v1/hosts/"+esc(key), "", nil, &cur, &etag); err != nil {
		return nil, err
	}
	var out inventory.Host
	return &out, r.doMatch(ctx, "PATCH", "/api/v1/hosts/"+esc(cur.ID()), etag, c.MergePatch(), &out, nil)
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

func (r *remote) CancelBuild(ctx context.Context, key string) (*inventory.Host, error) {
	var h inventory.Host
	return &h, r.do(ctx, "DELETE", "/api/v1/hosts/"+esc(key)+"/build", nil, &h)
}

func (r *remote) Export(ctx context.Context, secrets bool) (*inventory.Dump, error) {
	var d inventory.Dump
	q := ""
	if secrets {
		q = "?secrets=1"
	}
	return &d, r.do(ctx, "GET", "/api/v1/export"+q, nil, &d)
}

func (r *remote) Import(ctx context.Context, d *inventory.Dump, o provision.ImportOptions) (*provision.ImportResult, error) {
	q := url.Values{}
	if o.Replace {
		q.Set("replace", "1")
	}
	if o.DryRun {
		q.Set("dry_run", "1")
	}
	var res provision.ImportResult
	return &res, r.do(ctx, "POST", "/api/v1/import?"+q.Encode(), d, &res)
}

func (r *remote) AddToken(ctx context.Context, name string) (string, error) {
	var out httpd.TokenCreated
	return out.Token, r.do(ctx, "POST", "/api/v1/tokens", map[string]string{"name": name}, &out)
}

func (r *remote) ListTokens(ctx context.Context) ([]inventory.APIToken, error) {
	var out []inventory.APIToken
	return out, r.do(ctx, "GET", "/api/v1/tokens", nil, &out)
}

func (r *remote) RevokeToken(ctx context.Context, name string) error {
	return r.do(ctx, "DELETE", "/api/v1/tokens/"+esc(name), nil, nil)
}

func (r *remote) Close() error { return nil }

// Package kickstart renders a host's kickstart: it gathers the host, its
// profile and roles from the inventory into one data model and runs the
// templates (built-in, or overridden from a directory) with missingkey=error.
package kickstart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart/layout"
	"github.com/netkick/netkick/provision/urls"
	"github.com/netkick/netkick/templates"
)

// Data is what a kickstart template sees.
type Data struct {
	Host         inventory.Host
	MAC          string
	Profile      inventory.Profile
	OS           OS
	Roles        []string
	Server       string // base URL of netkick as the installer reaches it, no trailing slash
	InstallURL   string
	Timezone     Timezone
	Network      Network
	CPAN         CPAN
	Partitioning Partitioning
	Callback     Callback
	// LVS is the data of the lvs-director / lvs-real-server roles; nil without them.
	LVS *LVS
	// Facts is the host's reported hardware (every text a quoted Text); nil
	// for hosts never discovered. Host.Facts is left empty: templates see
	// facts only through this view.
	Facts *Facts
}

// CPAN is the yum repository of CPAN modules built as RPMs.
type CPAN struct {
	BaseURL  string // empty: no repository
	GPGCheck bool
}

// Partitioning is the %pre-generated layout, or empty for the fixed fallback.
type Partitioning struct {
	Layout  string // layout name
	Pre     string // the whole %pre section
	Include string // file written by %pre and %include'd by the kickstart
	// FallbackBoot is the fallback layout's firmware boot partition line
	// (the EFI system partition, reqpart, or "" on BIOS).
	FallbackBoot string
}

// Callback is the %post call that ends build mode, and the failure report.
type Callback struct {
	URL     string // POST here when the install succeeded
	FailURL string // POST the installer's last log lines here when it failed
	Script  string // POSIX sh that POSTs to URL with retries, by curl or wget
}

// callbackScript returns sh that POSTs to url with curl or wget, retrying.
func callbackScript(url string) string {
	return `netkick_report() {
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    if command -v curl >/dev/null 2>&1; then
      curl -fsS -X POST --max-time 20 "$1" >/dev/null && return 0
    elif command -v wget >/dev/null 2>&1; then
      wget -q -O /dev/null --post-data= "$1" && return 0
    fi
    sleep 3
  done
  echo "netkick: could not report the install to $1" >&2
  return 1
}
netkick_report ` + ShellQuote(url)
}

// Options configure a Renderer.
type Options struct {
	TemplateDir  string // overrides built-in templates file by file; empty: built-ins only
	FallbackZone string // zone for installers with broken zone data; empty: Europe/Paris
	CPANRepo     string // repository name under /repo/ for CPAN RPMs (one el<major>/ per release below it); empty: "cpan"; "-": none
	CPANGPGCheck bool
	// Subnets are the DHCP subnets: a host whose reserved IP lies in one
	// installs with static networking from its router and DNS.
	Subnets []Subnet
}

// Renderer holds parsed templates; it is safe for concurrent use, also
// while Reload swaps the templates.
type Renderer struct {
	set  atomic.Pointer[templateSet]
	opts Options
}

// templateSet is one parse of every template.
type templateSet struct {
	tmpl  *template.Template
	names map[string]bool
	gen   uint64 // 0 for New's parse, +1 per successful Reload
}

// New loads and parses every template once. A template that does not parse is
// an error naming it.
func New(opts Options) (*Renderer, error) {
	s, err := parseTemplates(opts.TemplateDir)
	if err != nil {
		return nil, err
	}
	r := &Renderer{opts: opts}
	r.set.Store(s)
	return r, nil
}

// Reload parses the templates again (the built-ins and Options.TemplateDir)
// and uses them from the next render on. When one does not parse, the error
// names it and the templates in use stay.
func (r *Renderer) Reload() error {
	s, err := parseTemplates(r.opts.TemplateDir)
	if err != nil {
		return err
	}
	s.gen = r.set.Load().gen + 1
	r.set.Store(s)
	return nil
}

// Generation changes with every successful Reload, so that whoever keeps
// rendered output knows when it is stale.
func (r *Renderer) Generation() uint64 { return r.set.Load().gen }

func parseTemplates(dir string) (*templateSet, error) {
	set, err := templates.Load(dir)
	if err != nil {
		return nil, err
	}
	s := &templateSet{names: map[string]bool{}}
	root := template.New("").Option("missingkey=error")
	root.Funcs(template.FuncMap{
		"shq":  ShellQuote,
		"join": strings.Join,
		"trim": strings.TrimSpace,
		"hasTemplate": func(name string) bool {
			return s.names[name]
		},
		"include": func(name string, data any) (string, error) {
			var b bytes.Buffer
			if err := root.ExecuteTemplate(&b, name, data); err != nil {
				return "", err
			}
			return b.String(), nil
		},
	})
	for _, name := range templates.Names(set) {
		if _, err := root.New(name).Parse(set[name]); err != nil {
			return nil, fmt.Errorf("template %s: %w (fix the file, or remove it from --templates to use the built-in)", name, err)
		}
		s.names[name] = true
	}
	s.tmpl = root
	return s, nil
}

// Templates lists the names of the parsed templates.
func (r *Renderer) Templates() []string {
	var out []string
	for n := range r.set.Load().names {
		out = append(out, n)
	}
	return out
}

// Source is what rendering reads from the inventory.
type Source interface {
	GetHost(ctx context.Context, key string) (*inventory.Host, error)
	GetProfile(ctx context.Context, name string) (*inventory.Profile, error)
	GetLayout(ctx context.Context, name string) (*inventory.Layout, error)
}

// Request names the host to render and how the installer reaches netkick.
type Request struct {
	Host string // MAC or hostname
	// URLs builds every URL the kickstart gives the machine; when it has no
	// base, Server is the base.
	URLs   urls.URLs
	Server string // base URL, e.g. http://192.0.2.1:8080
	Token  string // one-time build token, if any
}

// Gather builds the template data for a host from the inventory.
func (r *Renderer) Gather(ctx context.Context, src Source, req Request) (*Data, error) {
	h, err := src.GetHost(ctx, req.Host)
	if err != nil {
		return nil, err
	}
	if h.Profile == "" {
		return nil, fmt.Errorf("host %s has no profile: give it one with `netkick host add … --profile NAME` or PUT /api/v1/hosts/%s", h.Hostname, h.ID())
	}
	p, err := src.GetProfile(ctx, h.Profile)
	if errors.Is(err, inventory.ErrNotFound) {
		// Not the host's absence: a configuration error, never a 404.
		return nil, fmt.Errorf("host %s names profile %s, which does not exist; create it with `netkick profile add %s --version …`", h.Hostname, h.Profile, h.Profile)
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: profile %s: %w", h.Hostname, h.Profile, err)
	}
	d, err := r.Data(h, p, req)
	if err != nil {
		return nil, err
	}
	if err := r.partitioning(ctx, src, d); err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Hostname, err)
	}
	if d.LVS, err = gatherLVS(ctx, src, h, d.OS); err != nil {
		return nil, err
	}
	return d, nil
}

// Data builds the template data from a host and its profile (pure).
func (r *Renderer) Data(h *inventory.Host, p *inventory.Profile, req Request) (*Data, error) {
	o, err := ParseOS(p.OS, p.Version)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	if !o.UEFI && layout.ParseFirmware(h.Arch) == layout.FirmwareUEFI {
		return nil, fmt.Errorf("host %s boots UEFI (arch %s), and %s %s has no supported x86_64 UEFI install: boot it in BIOS (legacy/CSM) mode, or give it a profile of release 6 or later", h.Hostname, h.Arch, p.OS, p.Version)
	}
	u := req.URLs.Or(req.Server)
	server := u.Base()
	if _, err := url.Parse(server); err != nil || server == "" {
		return nil, fmt.Errorf("server URL %q is not valid; set --public-url", server)
	}
	zone := h.Timezone
	if zone == "" {
		zone = p.Timezone
	}
	d := &Data{
		Host:       *h,
		MAC:        h.ID(),
		Profile:    *p,
		OS:         o,
		Roles:      h.Roles,
		Server:     server,
		InstallURL: p.InstallURL,
		Timezone:   PlanTimezone(p.OS, p.Version, zone, r.opts.FallbackZone),
		Network:    PlanNetwork(h, o, r.opts.Subnets),
		Facts:      factsOf(h.Facts),
	}
	d.Host.Facts = nil
	token := req.Token
	if token == "" {
		token = h.BuildToken
	}
	// Without a token (not in build mode) the report would be refused anyway.
	d.Callback = Callback{URL: u.Report(h.ID(), "built", token), FailURL: u.Report(h.ID(), "failed", token)}
	d.Callback.Script = callbackScript(d.Callback.URL)
	if d.InstallURL == "" {
		d.InstallURL = u.InstallTree(p.Name)
	}
	// One CPAN repository per EL release (netkick rpm build --target elN):
	// each kickstart points at its own release's, e.g. /repo/cpan/el5/.
	release := fmt.Sprintf("el%d/", o.Major)
	switch repo := r.opts.CPANRepo; repo {
	case "-":
	case "":
		d.CPAN = CPAN{BaseURL: u.Repo("cpan") + release, GPGCheck: r.opts.CPANGPGCheck}
	default:
		d.CPAN = CPAN{BaseURL: u.Repo(repo) + release, GPGCheck: r.opts.CPANGPGCheck}
	}
	return d, nil
}

// Execute runs a profile's kickstart template on d.
func (r *Renderer) Execute(d *Data) ([]byte, error) {
	name := "ks/default"
	if d.Profile.Template != "" {
		name = "ks/" + d.Profile.Template
	}
	ts := r.set.Load()
	if !ts.names[name] {
		return nil, fmt.Errorf("profile %s names template %q, which does not exist (have: ks/default; add %s.tmpl to --templates)", d.Profile.Name, d.Profile.Template, name)
	}
	var b bytes.Buffer
	if err := ts.tmpl.ExecuteTemplate(&b, name, d); err != nil {
		return nil, fmt.Errorf("render kickstart for %s with %s: %w", d.Host.Hostname, name, err)
	}
	return b.Bytes(), nil
}

// Kickstart gathers and renders the kickstart of one host.
func (r *Renderer) Kickstart(ctx context.Context, src Source, req Request) ([]byte, error) {
	d, err := r.Gather(ctx, src, req)
	if err != nil {
		return nil, err
	}
	return r.Execute(d)
}

// ShellQuote quotes s for POSIX sh as one word.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@%+=:,./-_", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netkick/netkick/dhcp"
	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/internal/config"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/provision"
	"github.com/netkick/netkick/provision/check"
	"github.com/netkick/netkick/provision/urls"
)

// checkCmd is `netkick check`: the whole installation, like `cobbler check`.
func checkCmd(a *app) *cobra.Command {
	var configPath string
	var asJSON bool
	c := &cobra.Command{
		Use:   "check [--config F] [--json]",
		Short: "check the whole installation (boot files, configs, DHCP, ports, token, store): one line per problem with its fix",
		Long: "Check what `netkick serve` with the same flags and config file would serve, and say\n" +
			"what would make a machine fail to boot: one line per problem with its fix; exit 1\n" +
			"if there is any. With --server URL the running server checks itself.",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"check takes no arguments"}
			}
			var ps []check.Problem
			if a.sf.server != "" {
				var err error
				if ps, err = a.remoteCheck(c.Context()); err != nil {
					return err
				}
			} else {
				cfg, err := resolveServeConfig(c.Flags(), configPath)
				if err != nil {
					return err
				}
				a.sf.data = cfg.Data
				if err := a.sf.needData(); err != nil {
					return err
				}
				ps = runCheck(c.Context(), cfg, nil, nil, nil)
			}
			return a.printCheck(ps, asJSON)
		},
	}
	f := c.Flags()
	f.StringVar(&configPath, "config", os.Getenv("NETKICK_CONFIG"), "the YAML config file netkick serve runs with (env NETKICK_CONFIG)")
	registerServeFlags(f) // every key serve takes, read the same way
	completeConfigFlags(c)
	f.BoolVar(&asJSON, "json", false, "print {\"ok\": …, \"problems\": [{check, subject, problem, fix}…]}")
	return c
}

func (a *app) printCheck(ps []check.Problem, asJSON bool) error {
	if asJSON {
		if ps == nil {
			ps = []check.Problem{}
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(httpd.CheckResult{OK: len(ps) == 0, Problems: ps}); err != nil {
			return err
		}
	} else {
		for _, p := range ps {
			fmt.Fprintln(a.stdout, p)
		}
		if len(ps) == 0 {
			fmt.Fprintln(a.stdout, "ok: no problems found")
		}
	}
	if len(ps) > 0 {
		return fmt.Errorf("%d problem(s)", len(ps))
	}
	return nil
}

// remoteCheck asks a running server to check itself.
func (a *app) remoteCheck(ctx context.Context) ([]check.Problem, error) {
	b, err := a.sf.open()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	r, ok := b.(*remote)
	if !ok {
		return nil, errors.New("internal: --server did not give a remote backend")
	}
	var res httpd.CheckResult
	if err := r.do(ctx, http.MethodGet, "/api/v1/check", nil, &res); err != nil {
		return nil, err
	}
	return res.Problems, nil
}

// runCheck gathers the facts of the installation cfg describes and runs the
// checks. st, when not nil, is the open store (serve passes its own); self
// says whether a port's holder (pid) is this installation's server (nil:
// a `netkick serve` on the same data directory).
func runCheck(ctx context.Context, cfg serveConfig, st inventory.Store, r *kickstart.Renderer, self func(pid int) bool) []check.Problem {
	f := check.Facts{BootRoot: cfg.BootRoot}
	if f.BootRoot == "" {
		f.BootRoot = filepath.Join(cfg.Data, "boot")
	}
	var ps []check.Problem
	fail := func(subject, problem, fix string) {
		ps = append(ps, check.Problem{Check: "config", Subject: subject, Problem: problem, Fix: fix})
	}

	// The store and what is in it.
	where, err := parseStore(cfg.Store, cfg.Data)
	dbPath := where.path
	switch {
	case err != nil:
		fail("store", err.Error(), "pass --store sqlite:///path/inventory.db or postgres://HOST/DB, or leave it out")
	case st == nil && where.url != "":
		s, err := where.open(ctx)
		if err != nil {
			fail("store", err.Error(), "start the database server, or check PGUSER/PGPASSFILE")
			break
		}
		defer s.Close()
		st = s
	case st == nil:
		if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
			f.Store = &check.Store{Path: dbPath, OpenErr: "no inventory here yet"}
			break
		}
		s, err := inventory.OpenSQLite(dbPath)
		if err != nil {
			f.Store = &check.Store{Path: dbPath, OpenErr: err.Error()}
			break
		}
		defer s.Close()
		st = s
	}
	if st != nil {
		// File facts (integrity, mode, journal) are the embedded store's.
		if sq, ok := st.(*inventory.SQLite); ok {
			f.Store = check.StoreFacts(ctx, sq.DB(), dbPath)
		}
		if f.Hosts, err = st.ListHosts(ctx, inventory.HostFilter{}); err != nil {
			fail("store", "list hosts: "+err.Error(), "see the store check")
		}
		if f.Profiles, err = st.ListProfiles(ctx); err != nil {
			fail("store", "list profiles: "+err.Error(), "see the store check")
		}
		f.Renders = renderKickstarts(ctx, st, r, cfg, f.Hosts)
	}
	needed := check.Needed(f.Hosts, f.Profiles)
	if d := cfg.Discovery; d.Kernel != "" || d.Initrd != "" {
		f.Discovery = &check.Discovery{Kernel: d.Kernel, Initrd: d.Initrd}
		needed = append(needed, f.Discovery.Needed()...)
	}
	f.Files = check.StatFiles(f.BootRoot, needed)
	f.SecureBoot = check.SecureBootFacts(f.BootRoot, f.Hosts, f.Profiles)
	f.DHCP = dhcpFacts(cfg.DHCP)

	// Ports and the token file.
	if self == nil {
		self = func(pid int) bool {
			p, ok := check.ServeProcess(pid)
			return ok && check.SameDir(serveDataDir(p), cfg.Data)
		}
	}
	f.Ports = append(f.Ports, check.ProbePort("http", "tcp", cfg.HTTP, self))
	tf := readTLSFacts(cfg)
	ps = append(ps, tlsProblems(tf, time.Now())...)
	if tf != nil {
		f.Ports = append(f.Ports, check.ProbePort("https", "tcp", cfg.HTTPS, self))
	}
	if cfg.TFTP != "" && cfg.TFTP != "off" {
		f.Ports = append(f.Ports, check.ProbePort("tftp", "udp", cfg.TFTP, self))
	}
	if m := strings.ToLower(cfg.DHCP.Mode); m == dhcp.ModeFull || m == dhcp.ModeProxy {
		f.Ports = append(f.Ports, check.ProbePort("dhcp", "udp", ":67", self))
	}
	if strings.ToLower(cfg.DHCP.Mode) == dhcp.ModeProxy {
		f.Ports = append(f.Ports, check.ProbePort("dhcp", "udp", ":4011", self)) // PXE boot server requests
	}
	tokenFile := cfg.TokenFile
	if tokenFile == "" {
		tokenFile = filepath.Join(cfg.Data, "admin.token")
	}
	f.Token = check.TokenFacts(tokenFile)
	return append(ps, check.Run(f)...)
}

// renderKickstarts renders the kickstart of every host with a profile, as
// GET /ks/{mac} would (the template, its snippets, the host's roles and layout).
func renderKickstarts(ctx context.Context, st inventory.Store, r *kickstart.Renderer, cfg serveConfig, hosts []inventory.Host) []check.Render {
	if r == nil {
		// The renderer options the server on this data dir recorded, if one ran.
		var ko kickstart.Options
		if served, err := provision.ReadServed(cfg.Data); err == nil {
			ko = served.Kickstart
		}
		if cfg.Templates != "" {
			ko.TemplateDir = cfg.Templates
		}
		var err error
		if r, err = kickstart.New(ko); err != nil {
			return []check.Render{{Host: "(all)", Kind: "kickstart", Err: err.Error()}}
		}
	}
	u, _ := urls.New("http://netkick.invalid")
	p, err := provision.New(provision.Options{Store: st, Renderer: r, URLs: u})
	if err != nil {
		return []check.Render{{Host: "(all)", Kind: "kickstart", Err: err.Error()}}
	}
	var out []check.Render
	for _, h := range hosts {
		if h.Profile == "" {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		text, err := p.RenderKickstart(rctx, h.ID(), "")
		cancel()
		x := check.Render{Host: h.Hostname, Kind: "kickstart", Text: text}
		if err != nil {
			x.Err = err.Error()
		}
		out = append(out, x)
	}
	return out
}

// dhcpFacts reads the DHCP config the way the DHCP server would (its own
// validation, one subnet at a time so each refusal is reported) and the
// interface it names.
func dhcpFacts(c dhcp.Config) check.DHCP {
	whole := c
	err := whole.Normalize()
	d := check.DHCP{Mode: whole.Mode, Interface: c.Interface}
	if whole.Mode == dhcp.ModeOff && err == nil {
		return d
	}
	if d.Mode == "" {
		d.Mode = strings.ToLower(strings.TrimSpace(c.Mode))
	}
	var relays []netip.Prefix
	for _, r := range c.Relays {
		if p, err := netip.ParsePrefix(strings.TrimSpace(r)); err == nil {
			relays = append(relays, p.Masked())
		} else if a, err := netip.ParseAddr(strings.TrimSpace(r)); err == nil {
			relays = append(relays, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	for i, sc := range c.Subnets {
		one := dhcp.Config{Mode: dhcp.ModeFull, Interface: "check", Subnets: []dhcp.SubnetConfig{sc}}
		if err := one.Normalize(); err != nil {
			d.ConfigErrors = append(d.ConfigErrors, strings.Replace(err.Error(), "dhcp.subnets[0]", fmt.Sprintf("dhcp.subnets[%d]", i), 1))
			continue
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(sc.CIDR))
		if err != nil {
			continue
		}
		s := check.Subnet{CIDR: p.Masked()}
		for _, r := range relays {
			s.Relayed = s.Relayed || s.CIDR.Overlaps(r)
		}
		d.Subnets = append(d.Subnets, s)
	}
	if err != nil && !slices.Contains(d.ConfigErrors, err.Error()) {
		d.ConfigErrors = append(d.ConfigErrors, err.Error())
	}
	if c.Interface != "" {
		d.InterfaceExists, d.InterfaceAddrs = check.InterfaceFacts(c.Interface)
	}
	return d
}

// serveDataDir is the data directory a running `netkick serve` uses,
// resolved as resolveServeConfig does: its --data, else its NETKICK_DATA,
// else its config file's data:, else ./netkick-data, relative to its
// working directory.
func serveDataDir(p check.ServeProc) string {
	cfg := defaultServeConfig()
	if p.Config != "" {
		// Unreadable or wrong: the other sources decide.
		_ = config.Load(&cfg, serveKeys(), config.Sources{File: p.Config})
	}
	if p.EnvData != "" {
		cfg.Data = p.EnvData
	}
	if p.Data != "" {
		cfg.Data = p.Data
	}
	if !filepath.IsAbs(cfg.Data) {
		cfg.Data = filepath.Join(p.Cwd, cfg.Data)
	}
	return cfg.Data
}

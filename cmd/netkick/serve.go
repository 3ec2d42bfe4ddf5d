package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/bind"
	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/boot/neigh"
	"github.com/netkick/netkick/dhcp"
	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/internal/config"
	"github.com/netkick/netkick/internal/sdnotify"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/provision"
	"github.com/netkick/netkick/provision/check"
	"github.com/netkick/netkick/tftp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

//go:embed demo.yaml
var demoYAML []byte

// serveConfig is serve's configuration: the YAML file's keys, each also a
// flag and a NETKICK_* environment variable (see serveKeys); docs/config.md
// is generated from it.
type serveConfig struct {
	HTTP      string `yaml:"http"`
	TFTP      string `yaml:"tftp"`
	Data      string `yaml:"data"`
	Store     string `yaml:"store"`
	Templates string `yaml:"templates"`
	PublicURL string `yaml:"public_url"`
	TokenFile string `yaml:"token_file"`
	RepoRoot  string `yaml:"repo_root"`
	LogLevel  string `yaml:"log_level"`
	// LogFormat is text (slog key=value lines) or json (one object a line).
	LogFormat string `yaml:"log_format"`
	Demo      bool   `yaml:"demo"`
	// TokenTTL is how long build tokens stay valid.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// BootRoot is the directory served over TFTP and at /boot/ (default <data>/boot).
	BootRoot string `yaml:"boot_root"`
	// TFTPMaxTransfers bounds concurrent TFTP transfers (0: derived from
	// the hard file-descriptor limit and memory, tftp.MaxTransfersFor).
	TFTPMaxTransfers int `yaml:"tftp_max_transfers"`
	// TFTPMaxPerClient bounds concurrent TFTP transfers from one address.
	TFTPMaxPerClient int `yaml:"tftp_max_per_client"`
	// TokenBinding is how build tokens are tied to their machine: strict
	// (the host's address, and its MAC in the neighbour table on attached
	// segments; the default), address (the address only) or off.
	TokenBinding string `yaml:"token_binding"`
	// DebugAddr serves net/http/pprof (empty: off); loopback only unless
	// DebugAllowRemote.
	DebugAddr        string `yaml:"debug_addr"`
	DebugAllowRemote bool   `yaml:"debug_allow_remote"`
	// TLSCert and TLSKey (PEM files), when both are set, serve the admin
	// API and the web page over HTTPS on HTTPS; the plain HTTP listener
	// keeps what installers fetch.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	HTTPS   string `yaml:"https"`
	// HTTPLimits bound HTTP clients (timeouts, connection caps).
	HTTPLimits httpLimitsConfig `yaml:"http_limits"`
	// DHCP is the DHCP server's block (interface, mode, unknown, subnets).
	DHCP dhcp.Config `yaml:"dhcp"`
	// Discovery is what discovered machines boot (dhcp.unknown: discover).
	Discovery discoveryConfig `yaml:"discovery"`
}

// discoveryConfig is the discovery section: the site's kernel and
// netkick's discovery initramfs, under the boot root.
type discoveryConfig struct {
	Kernel     string `yaml:"kernel"`
	Initrd     string `yaml:"initrd"`
	KernelArgs string `yaml:"kernel_args"`
	// After is wait (default: the machine stays up, idle) or poweroff.
	After string `yaml:"after"`
}

// boot is the discovery boot the config describes; nil when it names no kernel.
func (c discoveryConfig) boot() (*boot.Discovery, error) {
	if c.Kernel == "" && c.Initrd == "" {
		return nil, nil
	}
	if c.Kernel == "" || c.Initrd == "" {
		return nil, fmt.Errorf("discovery: set both kernel and initrd (files under the boot root; docs/discovery.md)")
	}
	switch c.After {
	case "", boot.AfterWait, boot.AfterPoweroff:
	default:
		return nil, fmt.Errorf("discovery.after %q: want wait (the default) or poweroff", c.After)
	}
	return &boot.Discovery{Kernel: c.Kernel, Initrd: c.Initrd, KernelArgs: c.KernelArgs, After: c.After}, nil
}

// httpLimitsConfig is the http_limits section; zero values take httpd's defaults.
type httpLimitsConfig struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxConnsPerClient int           `yaml:"max_conns_per_client"`
	// MaxConns 0: derived from the hard file-descriptor limit.
	MaxConns int `yaml:"max_conns"`
}

// warmEvery is how often a server on PostgreSQL refreshes its in-memory
// copy of every host and profile (one generation read when nothing changed).
const warmEvery = 5 * time.Second

// Token binding modes.
const (
	bindingStrict  = "strict"
	bindingAddress = "address"
	bindingOff     = "off"
)

// kickstartSubnets hands the DHCP subnets (normalized) to the kickstart
// renderer: a host reserved inside one installs with static networking.
func kickstartSubnets(c dhcp.Config) []kickstart.Subnet {
	var out []kickstart.Subnet
	for _, sc := range c.Subnets {
		p, err := netip.ParsePrefix(sc.CIDR)
		if err != nil {
			continue // Normalize has refused it already
		}
		s := kickstart.Subnet{Prefix: p.Masked()}
		s.Router, _ = netip.ParseAddr(sc.Router)
		for _, d := range sc.DNS {
			if a, err := netip.ParseAddr(d); err == nil {
				s.DNS = append(s.DNS, a)
			}
		}
		out = append(out, s)
	}
	return out
}

// defaultServeConfig is what serve runs with when nothing sets a key; the
// reference (docs/config.md) and the packaged config's comments show these.
func defaultServeConfig() serveConfig {
	return serveConfig{HTTP: ":8080", TFTP: ":69", Data: defaultData, LogLevel: "info", LogFormat: logText,
		TokenTTL: httpd.DefaultTokenTTL, TFTPMaxPerClient: tftp.DefaultMaxPerClient,
		HTTPS: ":8443",
		HTTPLimits: httpLimitsConfig{ReadHeaderTimeout: httpd.DefaultReadHeaderTimeout, ReadTimeout: httpd.DefaultReadTimeout,
			IdleTimeout: httpd.DefaultIdleTimeout, MaxConnsPerClient: httpd.DefaultMaxConnsPerClient},
		DHCP: dhcp.Config{Mode: dhcp.ModeOff, Unknown: dhcp.UnknownIgnore, Workers: 64,
			OfferRate: dhcp.DefaultOfferRate, OfferBurst: dhcp.DefaultOfferBurst, HoldMax: dhcp.DefaultHoldMax,
			Discover: dhcp.DiscoverConfig{Max: inventory.DefaultDiscoveredCap}},
	}
}

// globalConfigFlags are the config keys' flags that the root command
// holds (every inventory command takes them); serve and check read them too.
func globalConfigFlags() map[string]bool {
	return map[string]bool{"data": true, "token-file": true, "templates": true, "public-url": true}
}

// serveKeys are serve's config keys, with the values the enumerated ones accept.
func serveKeys() []config.Key {
	keys := config.Keys(reflect.TypeOf(serveConfig{}), "NETKICK")
	docs := serveConfigDocs()
	for i := range keys {
		keys[i].Choices = docs[keys[i].Path].Choices
	}
	return keys
}

// registerServeFlags gives fs a flag for every config key (the global ones
// are the root command's), with the reference's description as its help.
func registerServeFlags(fs *pflag.FlagSet) {
	def := defaultServeConfig()
	docs := serveConfigDocs()
	config.Register(fs, serveKeys(), &def, globalConfigFlags(), func(k config.Key) string {
		return strings.ReplaceAll(docs[k.Path].Desc, "`", "") + " (env " + k.Env + ")"
	})
}

// completeConfigFlags offers a key's accepted values when a shell completes
// its flag (--dhcp-mode <TAB>: full proxy off).
func completeConfigFlags(c *cobra.Command) {
	for _, k := range serveKeys() {
		if len(k.Choices) == 0 || c.Flags().Lookup(k.Flag) == nil {
			continue
		}
		_ = c.RegisterFlagCompletionFunc(k.Flag, cobra.FixedCompletions(k.Choices, cobra.ShellCompDirectiveNoFileComp))
	}
}

// serveCmd is `netkick serve`: the HTTP, TFTP and DHCP servers.
func serveCmd(a *app) *cobra.Command {
	var configPath string
	c := &cobra.Command{
		Use:   "serve [--config F] [--data DIR] [--http ADDR] [--tftp ADDR|off] [--dhcp-interface IF] [--dhcp-mode full|proxy|off] [--demo]",
		Short: "run the HTTP (and TFTP/DHCP) servers",
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) != 0 {
				return usageError{"serve takes no arguments, only flags"}
			}
			return a.serve(c.Context(), c.Flags(), configPath)
		},
	}
	f := c.Flags()
	f.StringVar(&configPath, "config", os.Getenv("NETKICK_CONFIG"), "YAML config file (env NETKICK_CONFIG); the environment and flags override it")
	registerServeFlags(f)
	completeConfigFlags(c)
	return c
}

// serve runs the servers; fs holds the parsed flags (global ones included).
func (a *app) serve(ctx context.Context, fs *pflag.FlagSet, configPath string) error {
	cfg, err := resolveServeConfig(fs, configPath)
	if err != nil {
		return err
	}
	running := cfg // as resolved, before the defaults below: what a reload compares with
	log, level, err := newLogger(a.stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	if err := cfg.DHCP.Normalize(); err != nil {
		return usageError{err.Error()}
	}
	if cfg.TFTPMaxTransfers <= 0 && cfg.TFTP != "" && cfg.TFTP != "off" {
		n, nofile, mem := tftp.SystemMaxTransfers()
		cfg.TFTPMaxTransfers = n
		log.Info("TFTP transfer bound derived", "tftp_max_transfers", n, "nofile_hard", nofile, "memory_mib", mem>>20)
	}
	where, err := parseStore(cfg.Store, cfg.Data)
	if err != nil {
		return err
	}
	switch cfg.TokenBinding {
	case "":
		cfg.TokenBinding = bindingStrict
		if cfg.Demo {
			// The demo's hosts have no address; its kickstarts are fetched from loopback.
			cfg.TokenBinding = bindingOff
		}
	case bindingStrict, bindingAddress, bindingOff:
	default:
		return usageError{fmt.Sprintf("--token-binding %q: want strict, address or off", cfg.TokenBinding)}
	}
	if cfg.DebugAddr != "" {
		bound, stop, err := startDebug(cfg.DebugAddr, cfg.DebugAllowRemote, log)
		if err != nil {
			return err
		}
		defer stop()
		log.Info("debug (pprof) listening", "addr", bound)
		fmt.Fprintf(a.stderr, "netkick: serving pprof on http://%s/debug/pprof/\n", bound)
	}
	warnOpenDataDir(log, cfg.Data)
	st, err := where.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if where.url != "" {
		log.Info("inventory on PostgreSQL", "store", where.String())
	}
	if pg, ok := st.(*inventory.Postgres); ok {
		// Every host and profile, kept in memory for an outage of the
		// database (stopped before the store closes).
		wctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); pg.KeepWarm(wctx, warmEvery, log) }()
		defer func() { stop(); <-done }()
	}
	tokenFile := cfg.TokenFile
	if tokenFile == "" {
		tokenFile = filepath.Join(cfg.Data, "admin.token")
	}
	token, created, err := loadOrCreateToken(tokenFile)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprint(a.stderr, tokenNotice(tokenFile, token, os.Getenv("JOURNAL_STREAM") != ""))
	}
	var demoHosts []*inventory.Host
	if cfg.Demo {
		if demoHosts, err = loadDemo(ctx, st, cfg.TokenTTL); err != nil {
			return err
		}
		log.Info("demo inventory loaded", "hosts", len(demoHosts))
	}
	ko := kickstart.Options{TemplateDir: cfg.Templates, Subnets: kickstartSubnets(cfg.DHCP)}
	if ko.TemplateDir != "" {
		if ko.TemplateDir, err = filepath.Abs(ko.TemplateDir); err != nil {
			return err
		}
	}
	r, err := kickstart.New(ko)
	if err != nil {
		return err
	}
	// SIGHUP reloads (below, once the servers run); caught from here on so
	// that an early one does not end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	repoRoot := cfg.RepoRoot
	if repoRoot == "" {
		repoRoot = filepath.Join(cfg.Data, "repo")
	}
	binder, closeBinder, err := newBinder(cfg.TokenBinding, st, log)
	if err != nil {
		return err
	}
	defer closeBinder()
	discBoot, err := cfg.Discovery.boot()
	if err != nil {
		return err
	}
	// The boot tree asks the HTTP server's provision core (made below) for
	// the discovery boots.
	var hsrv atomic.Pointer[httpd.Server]
	var disc bootfs.DiscoveryFunc
	if discBoot != nil {
		disc = func(ctx context.Context, mac string, withToken bool) (*boot.Discovery, error) {
			if s := hsrv.Load(); s != nil {
				return s.DiscoveryBoot(ctx, mac, withToken)
			}
			return nil, nil
		}
	}
	tree, err := openBootRoot(cfg, st, binder, disc)
	if err != nil {
		return err
	}
	defer tree.Close()
	reg := newMetricsRegistry(build())
	tftpExplicit := fs.Changed("tftp")
	ts, tconn, err := startTFTP(cfg, tree, st, log, reg)
	switch {
	case err != nil && (tftpExplicit || cfg.TFTP != defaultServeConfig().TFTP):
		return err
	case err != nil:
		// The default :69 is taken or needs privileges: say so and go on with HTTP.
		fmt.Fprintf(a.stderr, "netkick: TFTP not started: %v\n", err)
	case ts != nil:
		defer tconn.Close()
		defer ts.Shutdown() // runs first: stops taking requests, waits for transfers
	}
	var dsrv *dhcp.Server
	if cfg.DHCP.Mode == dhcp.ModeOff && cfg.DHCP.Interface != "" {
		log.Warn("DHCP interface named but DHCP mode is off: no DHCP served; add --dhcp-mode full or proxy", "interface", cfg.DHCP.Interface)
	}
	if cfg.DHCP.Mode != dhcp.ModeOff {
		dopts := dhcp.Options{Config: cfg.DHCP, Store: st, HTTPPort: portOf(cfg.HTTP), PublicURL: strings.TrimRight(cfg.PublicURL, "/"), Logger: log, Registerer: reg}
		if pg, ok := st.(*inventory.Postgres); ok {
			// Other servers' writes reach this DHCP snapshot by notification.
			dopts.Changed = pg.Watch(ctx, log)
			// Any number of servers allocate from one pool: through claims.
			dopts.Shared = pg
		}
		if ts != nil {
			// First-stage PXE machines wait while TFTP is this busy.
			dopts.Load = ts
			if b := cfg.DHCP.HoldBound(); b > 0 && cfg.DHCP.Mode == dhcp.ModeFull {
				log.Info("DHCP admission: PXE DISCOVERs wait while TFTP runs this many transfers", "hold_load", b, "hold_max", cfg.DHCP.HoldMax)
			}
		}
		dsrv, err = dhcp.New(ctx, dopts)
		if err != nil {
			return err
		}
		if err := dsrv.Listen(); err != nil {
			return err
		}
	}
	hopts := httpd.Options{Store: st, Renderer: r, AdminToken: token, PublicURL: cfg.PublicURL, Logger: log,
		Boot: tree, Registry: reg, TokenTTL: cfg.TokenTTL, RepoRoot: repoRoot, Limits: httpLimits(cfg), Discovery: discBoot}
	if binder != nil {
		hopts.Binder = provision.AddrBinder(binder.Check)
	}
	if dsrv != nil {
		// A host with a lease gets its kickstart only from that address.
		hopts.Leases = st
	}
	// GET /api/v1/check: the server checks its own installation; the ports
	// it holds itself are fine.
	hopts.Check = func(ctx context.Context) []check.Problem {
		return runCheck(ctx, cfg, st, r, func(pid int) bool { return pid == os.Getpid() })
	}
	cert, err := loadTLS(cfg)
	if err != nil {
		if dsrv != nil {
			dsrv.Close()
		}
		return err
	}
	hopts.AdminTLS = cert != nil
	srv, err := httpd.New(hopts)
	if err != nil {
		if dsrv != nil {
			dsrv.Close()
		}
		return err
	}
	hsrv.Store(srv)
	var httpsLn net.Listener
	if cert != nil {
		if httpsLn, err = net.Listen("tcp", cfg.HTTPS); err != nil {
			if dsrv != nil {
				dsrv.Close()
			}
			return fmt.Errorf("HTTPS listen on %s: %w (choose another address with --https)", cfg.HTTPS, err)
		}
	}
	log.Info("netkick starting", "data", cfg.Data, "repo_root", repoRoot, "dhcp", cfg.DHCP.Mode)
	// Under systemd (Type=notify) say READY once every listener is up and
	// STOPPING as soon as the stop signal arrives.
	notify, err := sdnotify.New(os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		log.Warn("systemd notifications off", "err", err)
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			if err := notify.Notify(sdnotify.Stopping, sdnotify.Status("stopping")); err != nil {
				log.Warn("systemd notification", "err", err)
			}
		case <-stopped:
		}
	}()
	rl := &reloader{
		resolve: func() (serveConfig, error) { return resolveServeConfig(fs, configPath) },
		running: running, level: level, levelFlag: fs.Changed("log-level"),
		templates: r, notify: notify, log: log,
	}
	if cert != nil {
		rl.cert = cert
	}
	go func() {
		for {
			select {
			case <-hup:
				rl.reload()
			case <-stopped:
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dhcpDone := make(chan error, 1)
	if dsrv != nil {
		log.Info("DHCP serving", "mode", cfg.DHCP.Mode, "interface", cfg.DHCP.Interface, "server_ip", dsrv.ServerIP().String(), "unknown", cfg.DHCP.Unknown)
		go func() {
			err := dsrv.Serve(ctx)
			if err != nil {
				err = fmt.Errorf("DHCP server on %s: %w", cfg.DHCP.Interface, err)
			}
			dhcpDone <- err
			cancel()
		}()
	} else {
		dhcpDone <- nil
	}
	httpsDone := make(chan error, 1)
	if httpsLn != nil {
		go func() {
			httpsDone <- srv.ServeTLS(ctx, httpsLn, cert.TLSConfig(), func(addr string) {
				log.Info("HTTPS listening (admin API, web page)", "addr", addr, "cert", cfg.TLSCert)
			})
			cancel()
		}()
	} else {
		httpsDone <- nil
	}
	herr := srv.Serve(ctx, cfg.HTTP, func(addr string) {
		log.Info("HTTP listening", "addr", addr)
		// One public base URL for every URL a machine is given, recorded in
		// this server's data dir for `netkick render`.
		pub := cfg.PublicURL
		if pub == "" {
			var dhcpIP string
			if dsrv != nil {
				dhcpIP = dsrv.ServerIP().String()
			}
			pub = derivePublicURL(addr, dhcpIP, interfaceIPv4s())
			if err := srv.SetPublicURL(pub); err != nil {
				log.Error("public URL", "url", pub, "err", err)
			}
		}
		if err := provision.WriteServed(cfg.Data, provision.Served{PublicURL: pub, Kickstart: ko}); err != nil {
			log.Error("record the served settings", "err", err)
		}
		fmt.Fprintf(a.stderr, "netkick: machines are given URLs under %s (set --public-url to change it)\n", pub)
		if ts != nil {
			// Kickstart URLs in generated configs need the port HTTP really bound.
			if err := ts.SetHTTPAddr(addr); err != nil {
				log.Error("TFTP: HTTP address for kickstart URLs", "err", err)
			}
			ts.SetPublicURL(pub) // the same base as HTTP's
			go func() {
				if err := ts.Serve(tconn); err != nil {
					log.Error("TFTP server stopped", "err", err)
				}
			}()
			log.Info("TFTP listening", "addr", tconn.LocalAddr().String(), "boot_root", tree.Dir())
			fmt.Fprintf(a.stderr, "netkick: serving TFTP on %s from %s\n", tconn.LocalAddr(), tree.Dir())
		}
		fmt.Fprintf(a.stderr, "netkick: serving HTTP on %s\n", addr)
		status := "serving HTTP on " + addr
		if httpsLn != nil {
			fmt.Fprintf(a.stderr, "netkick: serving the admin API and the web page over HTTPS on %s (plain HTTP keeps kickstarts, boot files and install reports)\n", httpsLn.Addr())
			status += ", HTTPS on " + httpsLn.Addr().String()
		}
		if ts != nil {
			status += ", TFTP on " + tconn.LocalAddr().String()
		}
		if dsrv != nil {
			status += ", DHCP (" + cfg.DHCP.Mode + ") on " + cfg.DHCP.Interface
		}
		if err := notify.Notify(sdnotify.Ready, sdnotify.Status(status)); err != nil {
			log.Warn("systemd notification", "err", err)
		}
		profiles := demoProfiles()
		for _, h := range demoHosts {
			fmt.Fprintf(a.stderr, "netkick: demo host %s (%s) is in build mode: curl 'http://%s/ks/%s?token=%s'\n", h.Hostname, demoSummary(h, profiles[h.Profile]), loopbackURL(addr), h.ID(), h.BuildToken)
		}
	})
	cancel()
	if derr := <-dhcpDone; derr != nil {
		return derr
	}
	if serr := <-httpsDone; serr != nil && herr == nil {
		return serr
	}
	return herr
}

// loadTLS reads the HTTPS certificate when the config names one; nil: no HTTPS.
func loadTLS(cfg serveConfig) (*httpd.Certificate, error) {
	switch {
	case cfg.TLSCert == "" && cfg.TLSKey == "":
		return nil, nil
	case cfg.TLSCert == "" || cfg.TLSKey == "":
		return nil, usageError{"tls_cert and tls_key go together: set both (--tls-cert FILE --tls-key FILE, or NETKICK_TLS_CERT and NETKICK_TLS_KEY) or neither"}
	}
	return httpd.LoadCertificate(cfg.TLSCert, cfg.TLSKey)
}

// derivePublicURL is the base URL machines are given when none is
// configured: the bound address when it names one, else the DHCP server's
// address, else the machine's first IPv4 address that is not loopback.
func derivePublicURL(bound, dhcpIP string, ifaceIPs []string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		host, port = bound, "80"
	}
	if a, err := netip.ParseAddr(host); err != nil || a.IsUnspecified() {
		host = "127.0.0.1"
		switch {
		case dhcpIP != "" && dhcpIP != "invalid IP":
			host = dhcpIP
		case len(ifaceIPs) > 0:
			host = ifaceIPs[0]
		}
	}
	if port == "80" {
		return "http://" + host
	}
	return "http://" + net.JoinHostPort(host, port)
}

// interfaceIPv4s lists the machine's IPv4 addresses on up interfaces, loopback excluded.
func interfaceIPv4s() []string {
	var out []string
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				out = append(out, p.Addr().String())
			}
		}
	}
	return out
}

// portOf returns the port of a listen address such as ":8080" (80 when absent).
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 80
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 {
		return 80
	}
	return n
}

// openBootRoot creates (if needed) and opens the boot root.
// newBinder builds the token binding for mode: nil for off (with a warning).
// The neighbour table is opened in this process's network namespace.
func newBinder(mode string, st bind.Leases, log *slog.Logger) (*bind.Binder, func(), error) {
	switch mode {
	case bindingOff:
		log.Warn("token binding is off: a boot config or kickstart goes to whoever presents the host's MAC and token; set --token-binding strict outside demos")
		return nil, func() {}, nil
	case bindingAddress:
		return &bind.Binder{Leases: st}, func() {}, nil
	}
	tab, err := neigh.Open(neigh.Options{})
	if errors.Is(err, neigh.ErrUnsupported) {
		log.Warn("token binding: no neighbour table on this system, checking the requester's address only", "err", err)
		return &bind.Binder{Leases: st}, func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("token binding strict: %w (use --token-binding address where the neighbour table cannot be read)", err)
	}
	// A kickstart fetch or report is checked twice (before its write and
	// inside it, on the store's one writer): provision gives each request a
	// memo (neigh.WithMemo) so that both checks share one answer of the table.
	return &bind.Binder{Leases: st, Neigh: neigh.NewMemo(tab)}, func() { tab.Close() }, nil
}

// httpLimits turns the config into httpd.Limits, deriving the global
// connection cap from the hard file-descriptor limit less TFTP's share.
func httpLimits(cfg serveConfig) httpd.Limits {
	l := cfg.HTTPLimits
	out := httpd.Limits{ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout, IdleTimeout: l.IdleTimeout,
		MaxConnsPerClient: l.MaxConnsPerClient, MaxConns: l.MaxConns}
	if out.MaxConns <= 0 {
		tftpSlots := 0
		if cfg.TFTP != "" && cfg.TFTP != "off" {
			tftpSlots = cfg.TFTPMaxTransfers
			if tftpSlots <= 0 {
				tftpSlots, _, _ = tftp.SystemMaxTransfers()
			}
		}
		out.MaxConns, _ = httpd.MaxConnsFromRlimit(tftpSlots)
	}
	return out
}

// warnOpenDataDir warns when the data directory lets others in: it holds
// the admin token, build tokens and password hashes.
func warnOpenDataDir(log *slog.Logger, dir string) {
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("data directory is open to other users; it holds the admin token, build tokens and password hashes: chmod 700 it",
		"dir", dir, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
}

func openBootRoot(cfg serveConfig, st inventory.Store, binder *bind.Binder, disc bootfs.DiscoveryFunc) (*bootfs.Tree, error) {
	dir := cfg.BootRoot
	if dir == "" {
		dir = filepath.Join(cfg.Data, "boot")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create boot root %s: %w (choose another with --boot-root)", dir, err)
	}
	o := bootfs.Options{Dir: dir, Lookup: st, Discovery: disc}
	if lh, ok := st.(bootfs.LeaseHosts); ok {
		o.Leases = lh // GRUB's plain grub.cfg: the requester by its lease
	}
	if binder != nil {
		o.Bind = binder // configs that carry a token go only to their machine
	}
	return bootfs.New(o)
}

// startTFTP builds the TFTP server and opens its socket; nil when TFTP is
// off. Requests wait in the socket until Serve runs.
func startTFTP(cfg serveConfig, tree *bootfs.Tree, st inventory.Store, log *slog.Logger, reg prometheus.Registerer) (*tftp.Server, *net.UDPConn, error) {
	if cfg.TFTP == "" || cfg.TFTP == "off" {
		return nil, nil, nil
	}
	o := tftp.Options{Tree: tree, Events: st, HTTPAddr: cfg.HTTP, PublicURL: cfg.PublicURL,
		MaxTransfers: cfg.TFTPMaxTransfers, MaxPerClient: cfg.TFTPMaxPerClient, Logger: log}
	if lh, ok := st.(tftp.LeaseHosts); ok {
		o.Leases = lh
	}
	o.Timeline = st // a UEFI loader that never runs gets a hint on the host's timeline
	ts, err := tftp.New(o)
	if err != nil {
		return nil, nil, err
	}
	conn, err := tftp.Listen(cfg.TFTP)
	if err != nil {
		return nil, nil, err
	}
	// Registered once it listens: a TFTP server that could not start has no metrics.
	if err := reg.Register(ts.Metrics()); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("tftp metrics: %w", err)
	}
	return ts, conn, nil
}

// demoProfiles are the demo inventory's profiles by name.
func demoProfiles() map[string]*inventory.Profile {
	m := map[string]*inventory.Profile{}
	d, err := decodeDump(demoYAML)
	if err != nil {
		return m
	}
	for i := range d.Profiles {
		m[d.Profiles[i].Name] = &d.Profiles[i]
	}
	return m
}

// demoSummary says what a demo host installs: its OS, roles, layout and
// the disks the demo gives it (label disks, e.g. 500G+1T), and how to see
// that layout's plan for them.
func demoSummary(h *inventory.Host, p *inventory.Profile) string {
	var parts []string
	if p != nil {
		parts = append(parts, p.OS+" "+p.Version)
	}
	roles := "no roles"
	if len(h.Roles) > 0 {
		roles = "roles " + strings.Join(h.Roles, ",")
	}
	parts = append(parts, roles)
	lay := h.Layout
	if lay == "" {
		lay = "fallback"
	}
	if d := h.Labels["disks"]; d != "" && h.Layout != "" {
		plan := "netkick layout plan " + h.Layout
		for _, x := range strings.Split(d, "+") {
			plan += " --disk " + x
		}
		lay += " on " + d + " (" + plan + ")"
	}
	parts = append(parts, "layout "+lay)
	return strings.Join(parts, ", ")
}

// loadDemo imports the demo inventory and puts its hosts in build mode with fresh tokens.
func loadDemo(ctx context.Context, st inventory.Store, ttl time.Duration) ([]*inventory.Host, error) {
	d, err := decodeDump(demoYAML)
	if err != nil {
		return nil, fmt.Errorf("built-in demo inventory: %w", err)
	}
	p, err := provision.New(provision.Options{Store: st, TokenTTL: ttl})
	if err != nil {
		return nil, err
	}
	who := provision.Actor{Via: "server", Name: "--demo"}
	if _, err := p.Import(ctx, who, d, provision.ImportOptions{}); err != nil {
		return nil, fmt.Errorf("load demo inventory: %w", err)
	}
	var out []*inventory.Host
	for _, h := range d.Hosts {
		bh, err := p.Build(ctx, who, h.ID(), ttl)
		if err != nil {
			return nil, fmt.Errorf("demo host %s: %w", h.Hostname, err)
		}
		out = append(out, bh)
	}
	return out, nil
}

// Log formats (--log-format).
const (
	logText = "text"
	logJSON = "json"
)

// newLogger returns the server's logger, writing to w in format, and its
// level, which a reload can change.
func newLogger(w io.Writer, level, format string) (*slog.Logger, *slog.LevelVar, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", level)}
	}
	lv := new(slog.LevelVar)
	lv.Set(l)
	h, err := logHandler(w, format, &slog.HandlerOptions{Level: lv})
	if err != nil {
		return nil, nil, err
	}
	return slog.New(h), lv, nil
}

// logHandler picks the slog handler for a --log-format value.
func logHandler(w io.Writer, format string, o *slog.HandlerOptions) (slog.Handler, error) {
	switch format {
	case logText, "":
		return slog.NewTextHandler(w, o), nil
	case logJSON:
		return slog.NewJSONHandler(w, o), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", format)}
}

// loadOrCreateToken reads the admin token, creating a random one (0600) if the file is missing.
func loadOrCreateToken(path string) (token string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		t := strings.TrimSpace(string(b))
		if len(t) < 16 {
			return "", false, fmt.Errorf("admin token file %s holds fewer than 16 characters; put a longer random token there or delete it to have one made", path)
		}
		return t, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("read admin token %s: %w", path, err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", false, err
	}
	t := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("create directory for admin token %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("create admin token %s: %w", path, err)
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		f.Close()
		return "", false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, err
	}
	return t, true, f.Close()
}

// loopbackURL turns a listen address like [::]:8080 into 127.0.0.1:8080 for hints.
func loopbackURL(addr string) string {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return addr
	}
	host := addr[:i]
	if host == "" || host == "[::]" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return host + addr[i:]
}

// resolveServeConfig is the configuration serve runs with: for each key the
// flag given on the command line (fs, global flags included), else its
// NETKICK_* environment variable, else the --config file, else the default.
// check uses it too.
func resolveServeConfig(fs *pflag.FlagSet, configPath string) (serveConfig, error) {
	cfg := defaultServeConfig()
	err := config.Load(&cfg, serveKeys(), config.Sources{File: configPath, Env: os.LookupEnv, Flags: fs})
	if err != nil {
		return cfg, usageError{err.Error()}
	}
	return cfg, nil
}

// tokenNotice is what serve prints when it has created the admin token. On a
// terminal the token itself is shown once; when stderr goes to the journal
// (systemd sets JOURNAL_STREAM), which others may read, only where it is.
func tokenNotice(path, token string, toJournal bool) string {
	if toJournal {
		return fmt.Sprintf("netkick: admin token created in %s (0600); use it as `Authorization: Bearer <token>`\n", path)
	}
	return fmt.Sprintf("netkick: admin token created in %s (0600); use it as `Authorization: Bearer <token>`:\n%s\n", path, token)
}

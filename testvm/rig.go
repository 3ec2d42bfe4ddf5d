package testvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure a rig run.
type Options struct {
	CacheDir string // kernel and initramfs cache (DefaultCacheDir)
	WorkDir  string // disks, serial logs, server data; "" makes a temp dir
	Netkick  string // a static (CGO_ENABLED=0) netkick binary
	// Stormclient is a bench/stormclient binary: it plays the simulated twin
	// of scenarios that have one ("" leaves the twins out).
	Stormclient string
	Parallel    int           // VMs at a time (default 2)
	Timeout     time.Duration // per VM (default 6 min)
	Direct      bool          // boot the installer with -kernel/-initrd instead of PXE
	KeepAll     bool          // keep disks and logs of passing scenarios too
	Out         io.Writer     // progress lines and result tables
}

// Result is what a scenario ended as.
type Result struct {
	Scenario Scenario
	Pass     bool
	Failed   string // the stage that failed or never finished
	Problems []string
	Stages   []StageResult
	Disks    []DiskTable
	Report   *Report
	Serial   string   // the serial log (kept on failure)
	Events   []string // the host's timeline in netkick, relative to power-on
	Elapsed  time.Duration
}

// DefaultCacheDir is $NETKICK_TESTVM_CACHE, else $XDG_CACHE_HOME/netkick-testvm,
// else /var/cache/netkick-testvm for root, else ~/.cache/netkick-testvm.
func DefaultCacheDir() string {
	if d := os.Getenv("NETKICK_TESTVM_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "netkick-testvm")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/netkick-testvm"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "netkick-testvm")
	}
	return filepath.Join(os.TempDir(), "netkick-testvm-cache")
}

// Prerequisites lists what the rig needs that this machine lacks.
func Prerequisites() []string {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces, taps)")
	}
	for _, p := range []string{"qemu-system-x86_64", "ip", "parted", "busybox", "apt-get", "apt-cache", "dpkg", "ldd"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	for _, f := range []string{BIOSROM, UEFIROM, OVMFCode, OVMFVarsTmpl, "/dev/net/tun"} {
		if !fileExists(f) {
			missing = append(missing, f)
		}
	}
	return missing
}

// rig is one run's shared state: the network, the server, the report sink.
type rig struct {
	opts   Options
	net    *Net
	kernel *Kernel
	initrd string
	data   string  // the server's data directory
	nk     *client // netkick: its CLI and its API
	sink   *ReportSink
	pxe    bool // boot over the network (else -kernel/-initrd, Options.Direct)
	// proxy: netkick runs in proxy mode beside a site DHCP server (dnsmasq
	// in its own namespace on the bridge) that hands out the addresses.
	proxy   bool
	ksURL   map[string]string // MAC → kickstart URL with its build token
	outMu   sync.Mutex
	tapNext int
}

func (r *rig) printf(format string, a ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.opts.Out, format, a...)
}

// Run installs every scenario and returns the results (a scenario's failure
// is in its Result; the error is for the rig itself failing).
func Run(ctx context.Context, opts Options, scenarios []Scenario) ([]Result, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 2
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 6 * time.Minute
	}
	if m := Prerequisites(); len(m) > 0 {
		return nil, fmt.Errorf("the rig needs %s (run scripts/deps.sh as root)", strings.Join(m, ", "))
	}
	if opts.Netkick == "" {
		return nil, errors.New("testvm: Options.Netkick must name a static netkick binary")
	}
	if opts.WorkDir == "" {
		d, err := os.MkdirTemp("", "netkick-testvm-")
		if err != nil {
			return nil, err
		}
		opts.WorkDir = d
	}
	t0 := time.Now()
	k, err := FetchKernel(ctx, opts.CacheDir, opts.Out)
	if err != nil {
		return nil, err
	}
	spec := InitramfsSpec{Kernel: k}
	for _, s := range scenarios {
		if s.IPVS {
			spec.Extra = map[string]string{"/usr/sbin/netkick": opts.Netkick}
		}
	}
	initrd, err := BuildInitramfs(ctx, opts.CacheDir, spec, opts.Out)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Out, "testvm: kernel %s, initramfs %s (%.1fs)\n", k.Version, filepath.Base(initrd), time.Since(t0).Seconds())

	// Full-mode scenarios share one network and server; proxy scenarios
	// another, where a site DHCP server hands out the addresses.
	results := make([]Result, len(scenarios))
	for _, proxy := range []bool{false, true} {
		var idx []int
		for i, s := range scenarios {
			if s.Proxy == proxy {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			continue
		}
		r := &rig{opts: opts, sink: NewReportSink(opts.WorkDir), kernel: k, initrd: initrd, proxy: proxy, pxe: !opts.Direct}
		if err := r.run(ctx, scenarios, idx, results); err != nil {
			return nil, err
		}
	}
	keep := opts.KeepAll
	for _, res := range results {
		if !res.Pass {
			keep = true
		}
	}
	if keep {
		fmt.Fprintf(opts.Out, "testvm: work directory kept: %s\n", opts.WorkDir)
	} else {
		os.RemoveAll(opts.WorkDir)
	}
	return results, nil
}

// run installs the scenarios idx names on one network with one server,
// filling results.
func (r *rig) run(ctx context.Context, scenarios []Scenario, idx []int, results []Result) error {
	opts := r.opts
	var err error
	name := fmt.Sprintf("nktv%d", os.Getpid())
	if r.proxy {
		name += "p"
	}
	if r.net, err = NewNet(ctx, name); err != nil {
		return err
	}
	defer r.net.Close()
	if r.proxy {
		stop, err := r.startSiteDHCP(ctx)
		if err != nil {
			return err
		}
		defer stop()
	}
	r.data = filepath.Join(r.opts.WorkDir, r.named("netkick-data"))
	r.nk = newClient(r.opts.Netkick, r.data, r.net)

	l, err := r.net.Listen(ServerIP + ":" + ReportPort)
	if err != nil {
		return fmt.Errorf("report listener: %w", err)
	}
	hs := &http.Server{Handler: r.sink}
	go hs.Serve(l)
	defer hs.Close()

	group := make([]Scenario, 0, len(idx))
	for _, i := range idx {
		group = append(group, scenarios[i])
	}
	stop, err := r.startServer(ctx, group)
	if err != nil {
		return err
	}
	defer stop()

	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for _, i := range idx {
		s := scenarios[i]
		wg.Add(1)
		sem <- struct{}{} // start the scenarios in order, Parallel at a time
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = r.runScenario(ctx, s)
			r.outMu.Lock()
			printResult(opts.Out, results[i])
			r.outMu.Unlock()
		}()
	}
	wg.Wait()
	return nil
}

// named is a work-directory name of this rig: the proxy rig's carry "-proxy".
func (r *rig) named(base string) string {
	if r.proxy {
		return base + "-proxy"
	}
	return base
}

// newTap hands out a tap name.
func (r *rig) newTap(ctx context.Context) (string, error) {
	r.outMu.Lock()
	name := fmt.Sprintf("tap%d", r.tapNext)
	r.tapNext++
	r.outMu.Unlock()
	return name, r.net.AddTap(ctx, name)
}

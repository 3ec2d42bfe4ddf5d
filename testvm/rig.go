package testvm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
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

	"go.yaml.in/yaml/v3"

	"github.com/netkick/netkick/inventory"
)

// Options configure a rig run.
type Options struct {
	CacheDir string        // kernel and initramfs cache (DefaultCacheDir)
	WorkDir  string        // disks, serial logs, server data; "" makes a temp dir
	Netkick  string        // a static (CGO_ENABLED=0) netkick binary
	Parallel int           // VMs at a time (default 2)
	Timeout  time.Duration // per VM (default 6 min)
	Direct   bool          // boot the installer with -kernel/-initrd instead of PXE
	KeepAll  bool          // keep disks and logs of passing scenarios too
	Out      io.Writer     // progress lines and result tables
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
	data   string
	token  string
	sink   *ReportSink
	client *http.Client
	pxe    bool
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
		r := &rig{opts: opts, sink: NewReportSink(opts.WorkDir), kernel: k, initrd: initrd, proxy: proxy}
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
	r.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: r.net.DialContext}}

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

// LVS service of the rig's cluster: the VIP the director balances.
const (
	RigVIP  = "192.0.2.40"
	RigPort = 80
)

// inventoryFor builds the rig's inventory (as YAML-ready maps, so the same
// code feeds servers with and without the LVS cluster fields): the testvm
// profile (the mini installer as kernel and initrd) and one host per scenario,
// in build mode. withLVS adds the cluster's network and virtual service.
func inventoryFor(scenarios []Scenario, withLVS bool) map[string]any {
	profile := map[string]any{
		"name": "testvm", "os": "centos", "version": "7.9",
		"kernel": "testvm/vmlinuz", "initrd": "testvm/initrd.img",
		"install_url": "http://" + ServerIP + ":8080/boot/testvm/os/",
		"kernel_args": "console=ttyS0 testvm.report=http://" + ServerIP + ":" + ReportPort + "/report",
	}
	var hosts []map[string]any
	clusters := map[string]map[string]any{}
	var order []string
	for _, s := range scenarios {
		h := map[string]any{"macs": []string{s.MAC}, "hostname": s.Hostname,
			"profile": "testvm", "state": string(inventory.StateBuild), "timezone": "Europe/Paris"}
		if s.IP != "" {
			h["ip"] = s.IP
		}
		if len(s.Roles) > 0 {
			h["roles"] = s.Roles
		}
		if s.Layout != "" {
			h["layout"] = s.Layout
		}
		if s.Cluster != "" {
			h["cluster"] = s.Cluster
			if _, ok := clusters[s.Cluster]; !ok {
				clusters[s.Cluster] = map[string]any{"name": s.Cluster}
				order = append(order, s.Cluster)
			}
			if contains(s.Roles, "lvs-director") {
				c := clusters[s.Cluster]
				if _, ok := c["primary"]; !ok {
					c["primary"] = s.Hostname
				}
			}
		}
		params := map[string]string{}
		for k, v := range s.Params {
			params[k] = v
		}
		if s.IPVS {
			// The mini installer applies this cluster to the guest's kernel.
			params["kernel_args"] = "testvm.lvs=" + s.Cluster
		}
		if len(params) > 0 {
			h["params"] = params
		}
		hosts = append(hosts, h)
	}
	var cl []map[string]any
	for _, n := range order {
		c := clusters[n]
		if withLVS {
			c["network"] = "direct"
			c["subnet"] = "192.0.2.0/24"
			c["services"] = []map[string]any{{"name": "WWW", "vip": RigVIP, "port": RigPort,
				"protocol": "tcp", "scheduler": "lc", "interface": "eth0:1"}}
		}
		cl = append(cl, c)
	}
	d := map[string]any{"profiles": []any{profile}, "hosts": hosts}
	if len(cl) > 0 {
		d["clusters"] = cl
	}
	return d
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// startServer imports the inventory, places the installer in the boot root
// and starts `netkick serve` inside the namespace for the scenarios it boots.
func (r *rig) startServer(ctx context.Context, scenarios []Scenario) (func(), error) {
	r.data = filepath.Join(r.opts.WorkDir, r.named("netkick-data"))
	if err := os.MkdirAll(filepath.Join(r.data, "boot"), 0o755); err != nil {
		return nil, err
	}
	if err := r.bootfiles(ctx, scenarios); err != nil {
		return nil, err
	}
	if err := installLoaders(filepath.Join(r.data, "boot")); err != nil {
		return nil, err
	}
	lvsOut, _ := exec.CommandContext(ctx, r.opts.Netkick, "lvs", "list", "--data", r.data).CombinedOutput()
	withLVS := !bytes.Contains(lvsOut, []byte("unknown command"))
	inv, err := yaml.Marshal(inventoryFor(Scenarios(), withLVS))
	if err != nil {
		return nil, err
	}
	invFile := filepath.Join(r.opts.WorkDir, r.named("inventory")+".yaml")
	if err := os.WriteFile(invFile, inv, 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, r.opts.Netkick, "import", "--data", r.data, invFile).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("netkick import %s: %w: %s", invFile, err, out)
	}
	if err := r.placeInstaller(ctx); err != nil {
		return nil, err
	}
	// Put every host in build mode: each gets its one-time kickstart token.
	if err := r.buildHosts(ctx); err != nil {
		return nil, err
	}
	// The guests read the inventory (for `netkick lvs apply --file`) from the report server.
	exp, err := exec.CommandContext(ctx, r.opts.Netkick, "export", "--data", r.data).Output()
	if err != nil {
		return nil, fmt.Errorf("netkick export --data %s: %w", r.data, err)
	}
	r.sink.SetInventory(exp)
	help, _ := exec.CommandContext(ctx, r.opts.Netkick, "serve", "-h").CombinedOutput()
	r.pxe = !r.opts.Direct && bytes.Contains(help, []byte("dhcp"))
	args := []string{"serve", "--data", r.data, "--http", ServerIP + ":8080", "--public-url", "http://" + ServerIP + ":8080"}
	if r.pxe {
		cfg := filepath.Join(r.opts.WorkDir, r.named("netkick")+".yaml")
		if err := os.WriteFile(cfg, []byte(serveConfigYAML(r.net.Bridge, r.proxy)), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "--config", cfg, "--tftp", ServerIP+":69")
	} else if bytes.Contains(help, []byte("-tftp")) {
		args = append(args, "--tftp", "off")
	}
	logf, err := os.Create(filepath.Join(r.opts.WorkDir, r.named("netkick-serve")+".log"))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	cmd := r.net.Command(sctx, r.opts.Netkick, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		logf.Close()
		return nil, fmt.Errorf("start netkick serve: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() { cancel(); <-done; logf.Close() }
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := r.client.Get("http://" + ServerIP + ":8080/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			b, _ := os.ReadFile(logf.Name())
			cancel()
			return nil, fmt.Errorf("netkick serve exited: %v: %s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("netkick serve did not answer /healthz within 20s: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(r.data, "admin.token"))
	if err != nil {
		stop()
		return nil, fmt.Errorf("admin token: %w", err)
	}
	r.token = strings.TrimSpace(string(tok))
	mode := "direct kernel boot (this netkick has no DHCP server)"
	if r.pxe {
		mode = "PXE (netkick DHCP on " + r.net.Bridge + ", TFTP, HTTP)"
	}
	r.printf("testvm: netkick serve in netns %s on %s; boot mode: %s\n", r.net.NS, ServerIP, mode)
	return stop, nil
}

// buildHosts runs `netkick host build` for every scenario host and keeps the
// kickstart URLs it prints (with their tokens) for direct boots. A netkick
// without build tokens serves kickstarts to hosts imported in build state.
func (r *rig) buildHosts(ctx context.Context) error {
	r.ksURL = map[string]string{}
	args := []string{"host", "build", "--data", r.data}
	for _, s := range Scenarios() {
		args = append(args, s.MAC)
	}
	out, err := exec.CommandContext(ctx, r.opts.Netkick, args...).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("unknown subcommand")) {
			return nil
		}
		return fmt.Errorf("netkick %s: %w: %s", strings.Join(args, " "), err, out)
	}
	for _, u := range KickstartURLs(string(out)) {
		if i := strings.Index(u, "/ks/"); i >= 0 {
			rest := u[i+len("/ks/"):]
			mac, _, _ := strings.Cut(rest, "?")
			if m, err := inventory.NormalizeMAC(mac); err == nil {
				r.ksURL[m] = "http://" + ServerIP + ":8080" + u[i:]
			}
		}
	}
	return nil
}

// KickstartURLs picks the "kickstart: URL" lines out of `netkick host build` output.
func KickstartURLs(out string) []string {
	var urls []string
	for _, l := range nonEmptyLines(out) {
		if u, ok := strings.CutPrefix(strings.TrimSpace(l), "kickstart: "); ok {
			urls = append(urls, strings.TrimSpace(u))
		}
	}
	return urls
}

// named is a work-directory name of this rig: the proxy rig's carry "-proxy".
func (r *rig) named(base string) string {
	if r.proxy {
		return base + "-proxy"
	}
	return base
}

// serveConfigYAML is the server config for PXE mode: full DHCP on the
// bridge, or proxyDHCP beside the site's server.
func serveConfigYAML(bridge string, proxy bool) string {
	if proxy {
		return `dhcp:
  interface: ` + bridge + `
  mode: proxy
  unknown: ignore
`
	}
	return `dhcp:
  interface: ` + bridge + `
  mode: full
  unknown: ignore
  subnets:
    - cidr: 192.0.2.0/24
      pools: ["192.0.2.100-192.0.2.200"]
      router: ` + ServerIP + `
      dns: [` + ServerIP + `]
      lease: 1h
`
}

// BootLoaders maps boot-root names to the Debian files the PXE chain needs
// (pxelinux, syslinux-common, syslinux-efi, ipxe).
var BootLoaders = map[string]string{
	"pxelinux.0":    "/usr/lib/PXELINUX/pxelinux.0",
	"lpxelinux.0":   "/usr/lib/PXELINUX/lpxelinux.0",
	"ldlinux.c32":   "/usr/lib/syslinux/modules/bios/ldlinux.c32",
	"syslinux.efi":  "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
	"ldlinux.e64":   "/usr/lib/syslinux/modules/efi64/ldlinux.e64",
	"undionly.kpxe": "/usr/lib/ipxe/undionly.kpxe",
	"ipxe.efi":      "/usr/lib/ipxe/ipxe.efi",
	"snponly.efi":   "/usr/lib/ipxe/snponly.efi",
}

// installLoaders copies the PXE boot loaders into the boot root.
func installLoaders(root string) error {
	for name, src := range BootLoaders {
		dst := filepath.Join(root, name)
		if fileExists(dst) {
			continue
		}
		if !fileExists(src) {
			return fmt.Errorf("boot loader %s is missing (install pxelinux, syslinux-common, syslinux-efi and ipxe)", src)
		}
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("boot root: %w", err)
		}
	}
	return nil
}

// bootfiles fills the boot root with `netkick bootfiles` (the machine's
// pxelinux, iPXE, and signed shim and GRUB). Scenarios without Secure Boot
// can do without it: installLoaders copies what they need.
func (r *rig) bootfiles(ctx context.Context, scenarios []Scenario) error {
	out, err := exec.CommandContext(ctx, r.opts.Netkick, "bootfiles", "--boot-root", filepath.Join(r.data, "boot")).CombinedOutput()
	if err == nil {
		return nil
	}
	for _, s := range scenarios {
		if s.SecureBoot {
			return fmt.Errorf("netkick bootfiles (scenario %s needs signed shim and GRUB: install shim-signed and grub-efi-amd64-signed): %w: %s", s.Name, err, out)
		}
	}
	return nil
}

// placeInstaller puts the mini installer into the boot root the way a user
// puts a distribution's: as an install tree (images/pxeboot/ and a .treeinfo
// with checksums) that `netkick profile fetch` copies and checks. A netkick
// without `profile fetch` gets plain copies.
func (r *rig) placeInstaller(ctx context.Context) error {
	tree := filepath.Join(r.opts.WorkDir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "images", "pxeboot"), 0o755); err != nil {
		return err
	}
	var sums strings.Builder
	for src, name := range map[string]string{r.kernel.Vmlinuz: "images/pxeboot/vmlinuz", r.initrd: "images/pxeboot/initrd.img"} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tree, name), b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s = sha256:%x\n", name, sha256.Sum256(b))
	}
	ti := "[general]\nfamily = netkick testvm\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n[checksums]\n" + sums.String()
	if err := os.WriteFile(filepath.Join(tree, ".treeinfo"), []byte(ti), 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, r.opts.Netkick, "profile", "fetch", "testvm", "--from", tree, "--data", r.data).CombinedOutput()
	switch {
	case bytes.Contains(out, []byte("unknown subcommand")):
		boot := filepath.Join(r.data, "boot", "testvm")
		if err := os.MkdirAll(boot, 0o755); err != nil {
			return err
		}
		for src, dst := range map[string]string{r.kernel.Vmlinuz: "vmlinuz", r.initrd: "initrd.img"} {
			if err := copyFile(src, filepath.Join(boot, dst)); err != nil {
				return err
			}
		}
		return nil
	case err != nil:
		return fmt.Errorf("netkick profile fetch testvm --from %s: %w: %s", tree, err, out)
	case bytes.Count(out, []byte("sha256 ok (.treeinfo)")) != 2:
		return fmt.Errorf("netkick profile fetch testvm did not check both files against .treeinfo:\n%s", out)
	}
	r.printf("testvm: installer placed with `netkick profile fetch` (kernel and initrd checked against .treeinfo)\n")
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func (r *rig) api(method, path string, out any) error {
	req, err := http.NewRequest(method, "http://"+ServerIP+":8080"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// newTap hands out a tap name.
func (r *rig) newTap(ctx context.Context) (string, error) {
	r.outMu.Lock()
	name := fmt.Sprintf("tap%d", r.tapNext)
	r.tapNext++
	r.outMu.Unlock()
	return name, r.net.AddTap(ctx, name)
}

// bootVM runs QEMU until stopWhen says so or the machine powers off; it
// feeds every console line to tl and prints stage progress.
func (r *rig) bootVM(ctx context.Context, s Scenario, vm VM, tl *Timeline, stopWhen func() bool, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	args := QEMUArgs(vm)
	cmd := r.net.Command(ctx, "qemu-system-x86_64", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var off int64
	var partial string
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	read := func() {
		f, err := os.Open(vm.Serial)
		if err != nil {
			return
		}
		defer f.Close()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return
		}
		b, _ := io.ReadAll(f)
		off += int64(len(b))
		text := partial + strings.ReplaceAll(string(b), "\r", "\n")
		lines := strings.Split(text, "\n")
		partial = lines[len(lines)-1]
		now := time.Now()
		done := lines[:len(lines)-1]
		if strings.Contains(partial, LocalBootMarker) {
			// The boot sector halts: its banner may never end with a newline.
			done = append(done, partial)
		}
		for _, l := range done {
			if row := tl.Feed(l, now); row != nil {
				r.printf("[%s] %5.1fs %-16s %s %s\n", s.Name, row.At.Seconds(), row.Stage, row.Status, row.Detail)
			}
		}
	}
	for {
		select {
		case err := <-exited:
			read()
			if partial != "" {
				tl.Feed(partial, time.Now())
			}
			if err != nil && ctx.Err() == nil && !strings.Contains(err.Error(), "signal") {
				return fmt.Errorf("qemu: %w: %s", err, stderr.String())
			}
			if ctx.Err() != nil && !stopWhen() {
				return fmt.Errorf("timed out after %s", limit)
			}
			return nil
		case <-poll.C:
			read()
			if stopWhen() {
				cmd.Process.Kill()
			}
		}
	}
}

func (r *rig) runScenario(ctx context.Context, s Scenario) Result {
	start := time.Now()
	res := Result{Scenario: s}
	problem := func(format string, a ...any) { res.Problems = append(res.Problems, fmt.Sprintf(format, a...)) }
	dir := filepath.Join(r.opts.WorkDir, s.Name)
	tl := NewTimeline(start)
	finish := func() Result {
		res.Stages = tl.Rows()
		res.Elapsed = time.Since(start)
		if b, err := os.ReadFile(filepath.Join(dir, s.Name+".serial.log")); err == nil {
			res.Serial = string(b)
		}
		res.Pass = len(res.Problems) == 0
		if !res.Pass && res.Failed == "" {
			res.Failed = tl.FirstNotOK()
		}
		if !res.Pass || r.opts.KeepAll {
			return res
		}
		for _, f := range []string{"-disk0.img", "-disk1.img", "-disk2.img"} {
			os.Remove(filepath.Join(dir, s.Name+f))
		}
		return res
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		problem("work dir: %v", err)
		return finish()
	}
	ram, err := s.ram()
	if err != nil {
		problem("%v", err)
		return finish()
	}
	var sizes []int64
	for _, d := range s.Disks {
		b, err := ParseSize(d)
		if err != nil {
			problem("scenario %s: disk: %v", s.Name, err)
			return finish()
		}
		sizes = append(sizes, b)
	}
	tap, err := r.newTap(ctx)
	if err != nil {
		problem("tap: %v", err)
		return finish()
	}
	vm := VM{Name: s.Name, MAC: s.MAC, RAMMiB: ram, UEFI: s.UEFI, FirmwarePXE: s.FirmwarePXE, SecureBoot: s.SecureBoot, Tap: tap}
	if s.SecureBoot {
		for _, f := range []string{OVMFCodeSecure, OVMFVarsSecureTmpl} {
			if !fileExists(f) {
				problem("Secure Boot firmware %s is missing (install ovmf)", f)
				return finish()
			}
		}
		if !r.pxe {
			problem("Secure Boot scenarios boot through the firmware's PXE: this netkick has no DHCP server")
			return finish()
		}
	}
	if err := vm.Prepare(dir, sizes); err != nil {
		problem("%v", err)
		return finish()
	}
	mac, _ := inventory.NormalizeMAC(s.MAC)
	if s.Proxy && !r.pxe {
		problem("scenario %s boots beside a site DHCP server: it needs PXE (a netkick with a DHCP server), not a direct kernel boot", s.Name)
		return finish()
	}
	if !r.pxe {
		vm.Kernel, vm.Initrd = r.kernel.Vmlinuz, r.initrd
		ks := r.ksURL[mac]
		if ks == "" {
			ks = fmt.Sprintf("http://%s:8080/ks/%s", ServerIP, mac)
		}
		vm.Append = fmt.Sprintf("console=ttyS0 ks=%s ip=%s::%s:255.255.255.0 testvm.report=http://%s:%s/report testvm.noreboot",
			ks, s.IP, ServerIP, ServerIP, ReportPort)
		if s.IPVS {
			vm.Append += " testvm.lvs=" + s.Cluster
		}
		tl.Set(StageDHCP, StatusSkipped, "direct kernel boot: address from ip=", start)
		tl.Set(StageTFTP, StatusSkipped, "direct kernel boot: -kernel/-initrd", start)
	}
	r.printf("[%s] booting %s: %s, %d MiB, disks %s, %s\n", s.Name, mac, map[bool]string{true: "UEFI", false: "BIOS"}[s.UEFI], ram, strings.Join(s.Disks, "+"), tap)
	// Without a %post callback the host stays in build mode and would install
	// again: stop at the reboot then (the callback row says why).
	noCallback := func() bool {
		rep := r.sink.Get(mac)
		return rep != nil && !strings.Contains(rep.Kick, "/built")
	}
	localBoot := func() bool {
		return tl.Stopped || tl.Row(StageLocalBoot).Status != StatusPending || (tl.Rebooted && noCallback())
	}
	if s.Reinstall {
		r.runReinstall(ctx, s, vm, mac, dir, start, tl, &res, problem)
		return finish()
	}
	if s.ExpectHint != "" {
		r.checkRefusal(ctx, s, vm, mac, start, tl, &res, problem)
		return finish()
	}
	if err := r.bootVM(ctx, s, vm, tl, localBoot, r.opts.Timeout); err != nil {
		problem("%v", err)
	}
	rep := r.sink.Get(mac)
	res.Report = rep
	if rep == nil {
		if tl.Failed() == "" && s.ExpectFail == "" {
			tl.Set(StageReport, StatusFail, "no report arrived", time.Now())
		}
	} else {
		tl.Set(StageReport, StatusOK, "received", time.Now())
	}
	// Direct boot: boot the same disks again, disk first, to see the local boot.
	if !r.pxe && rep != nil && rep.Failed == "" && tl.Failed() == "" {
		tl.Rebooted = true
		vm2 := vm
		vm2.Kernel, vm2.Initrd, vm2.Append = "", "", ""
		vm2.Serial = filepath.Join(dir, s.Name+".serial2.log")
		vm2.Tap, _ = r.newTap(ctx)
		if err := r.bootVMDiskOnly(ctx, s, vm2, tl, localBoot); err != nil {
			problem("second boot: %v", err)
		}
	}
	r.checkCallback(s, mac, rep, tl)
	r.checkTimeline(s, mac, start, tl, &res, problem)
	if tl.Row(StageCallback).Status == StatusSkipped && tl.Row(StageLocalBoot).Status == StatusPending {
		tl.Set(StageLocalBoot, StatusSkipped, "not checked: without the callback the host stays in build mode", time.Now())
	}
	r.checkOutcome(ctx, s, vm, rep, tl, &res, problem)
	return finish()
}

// checkRefusal boots a machine whose firmware must refuse the loader: the
// firmware fetches it and nothing further happens, until netkick's timeline
// shows the scenario's hint (or the limit runs out). Nothing may install.
func (r *rig) checkRefusal(ctx context.Context, s Scenario, vm VM, mac string, start time.Time, tl *Timeline, res *Result, problem func(string, ...any)) {
	var last time.Time
	var hint *apiEvent
	sawHint := func() bool {
		if time.Since(last) < 2*time.Second {
			return hint != nil
		}
		last = time.Now()
		var evs []apiEvent
		if err := r.api("GET", "/api/v1/hosts/"+mac+"/events", &evs); err != nil {
			return false
		}
		for i, e := range evs {
			if e.Kind == "hint" && !e.Time.Before(start) {
				hint = &evs[i]
			}
		}
		return hint != nil
	}
	if err := r.bootVM(ctx, s, vm, tl, sawHint, 3*time.Minute); err != nil && hint == nil {
		problem("%v", err)
	}
	r.checkTimeline(s, mac, start, tl, res, problem)
	switch {
	case hint == nil:
		problem("netkick's timeline has no hint after the loader was refused (want %q)", s.ExpectHint)
	case hint.Detail != s.ExpectHint:
		problem("netkick's hint is %q, want %q", hint.Detail, s.ExpectHint)
	default:
		tl.Set(StageTFTP, StatusOK, "loader fetched and refused; netkick: "+hint.Detail, hint.Time)
	}
	serial, _ := os.ReadFile(vm.Serial)
	if !bytes.Contains(serial, []byte("Access Denied")) {
		problem("the firmware's console does not say it refused the loader (no \"Access Denied\")")
	}
	if tl.Row(StageKernel).Status != StatusPending || r.sink.Get(mac) != nil {
		problem("a kernel started or a report arrived: the refused loader ran after all")
	}
	for _, st := range Stages() {
		if st != StageTFTP && tl.Row(st).Status == StatusPending {
			tl.Set(st, StatusSkipped, "the firmware refused the loader (Secure Boot)", time.Now())
		}
	}
}

// bootVMDiskOnly boots vm from its first disk (direct mode's second boot).
func (r *rig) bootVMDiskOnly(ctx context.Context, s Scenario, vm VM, tl *Timeline, stop func() bool) error {
	vm.Kernel, vm.DiskOnly = "", true
	return r.bootVM(ctx, s, vm, tl, stop, 90*time.Second)
}

type apiEvent struct {
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
	Time   time.Time `json:"time"`
}

// checkCallback fills the callback row from the host's state and timeline.
func (r *rig) checkCallback(s Scenario, mac string, rep *Report, tl *Timeline) {
	if s.ExpectFail != "" || rep == nil || rep.Failed != "" {
		return
	}
	if !strings.Contains(rep.Kick, "/built") {
		tl.Set(StageCallback, StatusSkipped, "the kickstart has no %post callback", time.Now())
		return
	}
	var host inventory.Host
	if err := r.api("GET", "/api/v1/hosts/"+mac, &host); err != nil {
		tl.Set(StageCallback, StatusFail, err.Error(), time.Now())
		return
	}
	var evs []apiEvent
	_ = r.api("GET", "/api/v1/hosts/"+mac+"/events", &evs)
	for _, e := range evs {
		if e.Kind == "built" {
			tl.Set(StageCallback, StatusOK, "host "+string(host.State)+" (event built)", e.Time)
			return
		}
	}
	if host.State == inventory.StateInstalled {
		tl.Set(StageCallback, StatusOK, "host installed", time.Now())
		return
	}
	tl.Set(StageCallback, StatusFail, "host is still "+string(host.State)+" after %post", time.Now())
}

// bootEvent says whether an event is netkick answering a network boot. In
// proxy mode netkick's DHCP answer is its offer (the site's server ACKs).
func bootEvent(kind, detail string) bool {
	return kind == "dhcp-ack" || kind == "tftp" || kind == "ipxe" ||
		kind == "dhcp-offer" && strings.HasPrefix(detail, "proxy ")
}

// checkTimeline reads the host's events from netkick. When netkick records
// network boots, the second boot (after the callback) must be among them: the
// local boot is then seen on both sides.
func (r *rig) checkTimeline(s Scenario, mac string, start time.Time, tl *Timeline, res *Result, problem func(string, ...any)) {
	var evs []apiEvent
	if err := r.api("GET", "/api/v1/hosts/"+mac+"/events", &evs); err != nil {
		res.Events = append(res.Events, "(no timeline: "+err.Error()+")")
		return
	}
	var built time.Time
	bootsBefore, bootsAfter := 0, 0
	var after []string
	for _, e := range evs {
		if e.Time.Before(start.Add(-time.Second)) {
			continue
		}
		res.Events = append(res.Events, fmt.Sprintf("%6.1fs %-12s %s", e.Time.Sub(start).Seconds(), e.Kind, e.Detail))
		if e.Kind == "hint" && s.ExpectHint == "" {
			problem("netkick added a hint to a machine whose loader ran: %s", e.Detail)
		}
		switch {
		case e.Kind == "built" && built.IsZero():
			built = e.Time
		case bootEvent(e.Kind, e.Detail) && built.IsZero():
			bootsBefore++
		case bootEvent(e.Kind, e.Detail):
			bootsAfter++
			after = append(after, e.Kind+" "+e.Detail)
		}
	}
	if r.pxe {
		for _, f := range missingTFTPFiles(s.TFTPFiles, evs, start) {
			problem("TFTP: netkick's timeline shows no transfer of %s (the boot did not go through pxelinux over TFTP)", f)
		}
	}
	if s.Proxy && r.pxe {
		if p := LearnedAddressProblem(evs, start); p != "" {
			problem("proxy mode: %s", p)
		}
	}
	if !r.pxe || built.IsZero() || tl.Row(StageLocalBoot).Status != StatusOK {
		return
	}
	switch {
	case bootsAfter > 0:
		row := tl.Row(StageLocalBoot)
		tl.rows[StageLocalBoot].Detail = row.Detail + "; netkick: " + after[len(after)-1]
	case bootsBefore > 0:
		problem("local boot: netkick's timeline shows no network boot after the callback")
	}
}

// missingTFTPFiles returns the files of want that no "tftp" event since
// start reports as sent ("sent NAME (…").
func missingTFTPFiles(want []string, evs []apiEvent, start time.Time) []string {
	var missing []string
	for _, f := range want {
		found := false
		for _, e := range evs {
			if e.Kind == "tftp" && !e.Time.Before(start.Add(-time.Second)) && strings.HasPrefix(e.Detail, "sent "+f+" (") {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, f)
		}
	}
	return missing
}

// checkOutcome reads the disks back and compares everything with the scenario.
func (r *rig) checkOutcome(ctx context.Context, s Scenario, vm VM, rep *Report, tl *Timeline, res *Result, problem func(string, ...any)) {
	// The guest kernel names disks in probe order, which is not always QEMU's
	// order (sd probes asynchronously): match images to guest names by size.
	var sizes []int64
	for _, img := range vm.Disks {
		fi, err := os.Stat(img)
		if err != nil {
			sizes = append(sizes, -1)
			continue
		}
		sizes = append(sizes, fi.Size()>>20)
	}
	harddrives := ""
	if rep != nil {
		harddrives = rep.Entries["harddrives"]
	}
	names := GuestDiskNames(harddrives, sizes)
	for i, img := range vm.Disks {
		dt, err := ReadDiskfs(img)
		if err != nil {
			problem("disk%d: %v", i, err)
			continue
		}
		pt, err := ReadParted(ctx, img)
		if err != nil {
			problem("disk%d: %v", i, err)
		} else {
			if err := CompareTables(dt, pt); err != nil {
				problem("disk%d: go-diskfs and parted disagree: %v", i, err)
			}
			dt = pt // parted also lists msdos logical partitions
		}
		if rep != nil {
			name := names[i]
			if g, ok := rep.Parted[name]; ok {
				gt, err := ParsePartedMachine(g)
				if err == nil && !sameTable(gt, dt) {
					problem("disk%d: the table read back from the image differs from what the guest's parted printed", i)
				}
			}
		}
		res.Disks = append(res.Disks, dt)
	}
	planned := r.plan(ctx, s, rep, problem)
	if s.ExpectFail != "" {
		failed := tl.Failed()
		if failed != s.ExpectFail {
			problem("expected the install to stop in %s, but failed stage is %q", s.ExpectFail, failed)
		} else {
			row := tl.Row(failed)
			if s.ExpectError != "" && !strings.Contains(row.Detail, s.ExpectError) {
				problem("%s failed with %q, want a message containing %q", failed, row.Detail, s.ExpectError)
			}
			for i, d := range res.Disks {
				if len(d.Partitions) > 0 {
					problem("disk%d: the failed install left %d partitions (want no half-written table)", i, len(d.Partitions))
				}
			}
		}
		return
	}
	if f := tl.FirstNotOK(); f != "" {
		row := tl.Row(f)
		problem("stage %s: %s %s", f, row.Status, row.Detail)
		res.Failed = f
	}
	if s.FirmwarePXE && r.pxe {
		serial, _ := os.ReadFile(vm.Serial)
		if !bytes.Contains(serial, []byte("NBP file downloaded successfully")) {
			why := "no offer it accepted"
			if bytes.Contains(serial, []byte("PXE-E16")) {
				why = "PXE-E16: No valid offer received"
			}
			problem("the firmware's own PXE client never fetched a boot program over TFTP (%s); it got in some other way", why)
			if res.Failed == "" {
				res.Failed = StageTFTP
			}
		}
	}
	if rep == nil {
		return
	}
	nDisk := len(res.Problems)
	defer func() {
		if len(res.Problems) > nDisk && res.Failed == "" {
			res.Failed = StagePre
		}
	}()
	if !strings.Contains(rep.Kick, "%include") {
		problem("the kickstart has no %%include: no %%pre layout partitioned the disks (fixed fallback layout)")
	} else if len(res.Disks) > 0 && len(res.Disks[0].Partitions) == 0 {
		problem("disk0 has no partitions after %%pre")
	}
	if planned != nil {
		for i, dt := range res.Disks {
			name := names[i]
			pd, ok := planned[name]
			if !ok {
				if len(dt.Partitions) > 0 {
					problem("%s: partitioned, but the plan leaves it alone", name)
				}
				continue
			}
			for _, d := range ComparePlan(pd, dt) {
				problem("plan mismatch: %s", d)
			}
		}
	}
	for _, l := range rep.OnPart {
		if strings.HasSuffix(l, " missing") {
			problem("part --onpart: %s", l)
		}
	}
	before := len(res.Problems)
	defer func() {
		if len(res.Problems) > before && res.Failed == "" {
			res.Failed = StagePost
		}
	}()
	for path, want := range s.Files {
		got, ok := rep.Files[path]
		if !ok {
			problem("%%post did not write %s (wrote: %s)", path, strings.Join(rep.FileNames(), ", "))
			continue
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				problem("%s lacks %q", path, w)
			}
		}
	}
	if s.IPVS {
		r.checkIPVS(rep, problem)
	}
	if s.SecureBoot {
		if sb := strings.TrimSpace(rep.Entries["secureboot"]); !strings.HasPrefix(sb, "enabled SecureBoot-") {
			problem("the guest's /sys/firmware/efi/efivars/SecureBoot-* does not show Secure Boot enabled: %q", sb)
		} else {
			res.Events = append(res.Events, "guest: Secure Boot "+sb)
		}
	}
}

// plan runs `netkick layout plan` for what the guest saw and returns its
// disks (nil when there is no layout, no report or no planner). For a
// scenario that must not fit, the planner must refuse too.
func (r *rig) plan(ctx context.Context, s Scenario, rep *Report, problem func(string, ...any)) map[string]PlannedDisk {
	if s.Layout == "" || rep == nil || rep.Entries["harddrives"] == "" {
		return nil
	}
	args := PlanArgs(s.Layout, rep.Entries["harddrives"], MemTotalMiB(rep.Entries["meminfo"]), s.UEFI)
	out, ok, err := runPlan(ctx, r.opts.Netkick, args)
	if !ok {
		r.printf("[%s] netkick has no layout planner: disk tables not compared with a plan\n", s.Name)
		return nil
	}
	if s.ExpectFail != "" {
		if err == nil {
			problem("netkick %s plans a layout, but the scenario expects it not to fit", strings.Join(args, " "))
		} else if s.ExpectError != "" && !strings.Contains(out, s.ExpectError) {
			problem("netkick %s: %q lacks %q", strings.Join(args, " "), strings.TrimSpace(out), s.ExpectError)
		}
		return nil
	}
	if err != nil {
		problem("netkick %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out))
		return nil
	}
	p, err := ParsePlan(out)
	if err != nil {
		problem("%v", err)
		return nil
	}
	return p
}

// IPVSHex is how /proc/net/ip_vs spells an IPv4 address and port.
func IPVSHex(ip string, port int) string {
	var a [4]int
	fmt.Sscanf(ip, "%d.%d.%d.%d", &a[0], &a[1], &a[2], &a[3])
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", a[0], a[1], a[2], a[3], port)
}

// checkIPVS reads the director's IPVS table as the guest's kernel listed it
// after `netkick lvs apply`: the rig cluster's service and every real server.
func (r *rig) checkIPVS(rep *Report, problem func(string, ...any)) {
	table, ok := rep.Entries["lvs/proc-net-ip_vs"]
	if !ok {
		problem("no IPVS table in the report (netkick lvs apply/status did not run in the guest)")
		return
	}
	if !strings.Contains(table, "TCP  "+IPVSHex(RigVIP, RigPort)) {
		problem("the guest's IPVS table lacks the virtual service TCP %s:%d:\n%s", RigVIP, RigPort, table)
	}
	for _, s := range Scenarios() {
		if contains(s.Roles, "lvs-real-server") && s.Cluster == RigCluster {
			if !strings.Contains(table, "-> "+IPVSHex(s.IP, RigPort)) {
				problem("the guest's IPVS table lacks real server %s:%d (%s):\n%s", s.IP, RigPort, s.Hostname, table)
			}
		}
	}
	if !strings.Contains(rep.Entries["lvs/status"], RigVIP) {
		problem("netkick lvs status does not show the VIP %s: %s", RigVIP, rep.Entries["lvs/status"])
	}
}

func sameTable(a, b DiskTable) bool {
	if a.Label != b.Label || len(a.Partitions) != len(b.Partitions) {
		return false
	}
	for i := range a.Partitions {
		p, q := a.Partitions[i], b.Partitions[i]
		if p.Number != q.Number || p.Start != q.Start || p.Size != q.Size {
			return false
		}
	}
	return true
}

// printResult writes a scenario's table.
func printResult(w io.Writer, res Result) {
	s := res.Scenario
	verdict := "PASS"
	if !res.Pass {
		verdict = "FAIL at " + res.Failed
	}
	fw := "BIOS"
	if s.UEFI {
		fw = "UEFI"
	}
	fmt.Fprintf(w, "\n== %s: %s (%s, %s, disks %s) — %s in %.1fs\n", s.Name, s.Summary, s.MAC, fw, strings.Join(s.Disks, "+"), verdict, res.Elapsed.Seconds())
	fmt.Fprintf(w, "  %-16s %-8s %7s  %s\n", "stage", "status", "at", "detail")
	for _, st := range res.Stages {
		fmt.Fprintf(w, "  %s\n", st)
	}
	for i, d := range res.Disks {
		fmt.Fprintf(w, "  disk%d:%s", i, d)
	}
	if len(res.Events) > 0 {
		fmt.Fprintf(w, "  netkick timeline:\n")
		for _, e := range res.Events {
			fmt.Fprintf(w, "    %s\n", e)
		}
	}
	if res.Report != nil && len(res.Report.Files) > 0 {
		fmt.Fprintf(w, "  %%post wrote: %s\n", strings.Join(res.Report.FileNames(), ", "))
	}
	for _, p := range res.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if !res.Pass && res.Serial != "" {
		fmt.Fprintf(w, "  serial log (last lines):\n")
		sc := bufio.NewScanner(strings.NewReader(res.Serial))
		var lines []string
		for sc.Scan() {
			if l := CleanConsoleLine(sc.Text()); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		for _, l := range lines {
			fmt.Fprintf(w, "    | %s\n", l)
		}
	}
}

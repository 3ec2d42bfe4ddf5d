// Command stormclient plays many PXE machines booting at once, as their
// firmware and installer do, against a provisioning server: BIOS machines
// with pxelinux (DHCP with option 93 and vendor class PXEClient, then TFTP of
// pxelinux.0, ldlinux.c32, pxelinux.cfg/01-<mac>, kernel and initrd) and UEFI
// machines with iPXE (DHCP, TFTP of the iPXE binary, iPXE's own DHCP with
// user class iPXE, HTTP of its script, kernel and initrd); then the
// installer's DHCP, the kickstart (with the token of the served config) and
// the %post install report. Every stage is timed, its retries counted.
//
// All machines of one process share one interface (distinct chaddr); the
// address each machine leases must already be on that interface (bench/
// storm.sh adds the reserved addresses), and the machine then uses it as the
// source of its TFTP and HTTP traffic.
//
//	stormclient run -iface IF -n N [-first K] [-flavour mixed|bios|uefi] [-release UNIXMS] [-ramp D] -out FILE
//	stormclient summary -side NAME [-cpu S] [-rss KIB] FILE...   # one JSON summary line
//	stormclient compare -a NAME -b NAME SUMMARY...              # table and ratios
//	stormclient prerender -n N -out DIR -pxelinux F -ipxe F -ks0 F -ks1 F # the static side's files
//
// It is a benchmark tool (bench/ is not part of CI); it needs CAP_NET_RAW.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/pin/tftp/v3"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: stormclient run|summary|compare|prerender [flags] (see the doc comment in bench/stormclient/main.go)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "summary":
		err = cmdSummary(os.Args[2:])
	case "compare":
		err = cmdCompare(os.Args[2:])
	case "prerender":
		err = cmdPrerender(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use run, summary or compare", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stormclient:", err)
		os.Exit(1)
	}
}

// settings are the firmware's and installer's timing, from flags.
type settings struct {
	dhcpTimeout  time.Duration // first DHCP retransmit; doubles each time (PXE: 4, 8, 16, 32 s)
	dhcpTries    int
	tftpTimeout  time.Duration
	tftpRetries  int // per packet, inside one transfer
	fileTries    int // whole-file attempts (TFTP and HTTP) before the stage fails
	blksize      int
	httpTimeout  time.Duration
	callbackTrys int
	dhcpDebug    bool
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	iface := fs.String("iface", "", "interface the machines share (required)")
	n := fs.Int("n", 1, "machines to play")
	first := fs.Int("first", 0, "index of the first machine (MACs and flavours follow the index)")
	flavour := fs.String("flavour", "mixed", "bios, uefi, or mixed (even index BIOS pxelinux, odd UEFI iPXE)")
	release := fs.Int64("release", 0, "unix time in ms at which the machines power on (0: now)")
	ramp := fs.Duration("ramp", 0, "spread the power-ons over this long (0: all at once)")
	out := fs.String("out", "", "JSON lines, one per machine (default stdout)")
	var st settings
	fs.DurationVar(&st.dhcpTimeout, "dhcp-timeout", 4*time.Second, "first DHCP retransmit timeout, doubled on each retransmit")
	fs.IntVar(&st.dhcpTries, "dhcp-tries", 4, "DHCP transmissions of each message")
	fs.DurationVar(&st.tftpTimeout, "tftp-timeout", 2*time.Second, "TFTP round-trip timeout")
	fs.IntVar(&st.tftpRetries, "tftp-retries", 5, "TFTP retransmits per packet")
	fs.IntVar(&st.fileTries, "file-tries", 3, "attempts at each file (TFTP or HTTP) before the stage fails")
	fs.IntVar(&st.blksize, "blksize", 1468, "TFTP blksize asked for")
	fs.DurationVar(&st.httpTimeout, "http-timeout", 2*time.Minute, "HTTP request timeout")
	fs.IntVar(&st.callbackTrys, "callback-tries", 10, "tries of the %post install report")
	fs.BoolVar(&st.dhcpDebug, "dhcp-debug", false, "print every DHCP message sent and received (stderr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *iface == "" {
		return errors.New("run: -iface is required")
	}
	mux, err := newDHCPMux(*iface)
	if err != nil {
		return err
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	t0 := time.Now()
	if *release > 0 {
		t0 = time.UnixMilli(*release)
	}
	time.Sleep(time.Until(t0))
	results := make([]machineResult, *n)
	var wg sync.WaitGroup
	for i := range *n {
		idx := *first + i
		fl := *flavour
		if fl == "mixed" {
			fl = []string{"bios", "uefi"}[idx%2]
		}
		var delay time.Duration
		if *ramp > 0 && *n > 1 {
			delay = *ramp * time.Duration(i) / time.Duration(*n-1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(t0.Add(delay)))
			m := &machine{mac: machineMAC(idx), flavour: fl, mux: mux, st: st, t0: t0}
			results[i] = m.boot()
		}()
	}
	wg.Wait()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// machineMAC is the MAC of machine i: 52:54:00 and the index in 24 bits
// (bench/storm.sh registers the same).
func machineMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x52, 0x54, 0x00, byte(i >> 16), byte(i >> 8), byte(i)}
}

type machine struct {
	mac     net.HardwareAddr
	flavour string
	mux     *dhcpMux
	st      settings
	t0      time.Time
	res     machineResult
	ip      net.IP
	next    string // TFTP/HTTP server from the lease
	http    *http.Client
	ksURL   string
}

// stage runs f as one timed stage; it returns f's error.
func (m *machine) stage(name string, f func(r *stageResult) error) error {
	r := stageResult{Name: name}
	start := time.Now()
	err := f(&r)
	r.Seconds = time.Since(start).Seconds()
	if err != nil {
		r.Err = err.Error()
	}
	m.res.Stages = append(m.res.Stages, r)
	return err
}

func (m *machine) boot() machineResult {
	m.res = machineResult{MAC: m.mac.String(), Flavour: m.flavour, Start: time.Since(m.t0).Seconds()}
	var err error
	if m.flavour == "bios" {
		err = m.biosPXELinux()
	} else {
		err = m.uefiIPXE()
	}
	if err == nil {
		err = m.installer()
	}
	m.res.OK = err == nil
	m.res.End = time.Since(m.t0).Seconds()
	if m.http != nil {
		m.http.CloseIdleConnections()
	}
	return m.res
}

var (
	biosFirmware = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
	}
	uefiFirmware = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016")),
	}
	ipxeFirmware = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016")),
		dhcpv4.WithUserClass("iPXE", false),
	}
	anaconda = []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("anaconda-Linux 3.10.0-1160.el7.x86_64 x86_64")),
	}
)

func (m *machine) biosPXELinux() error {
	var boot string
	if err := m.stage("dhcp", func(r *stageResult) error {
		var err error
		boot, err = m.dhcp(r, biosFirmware)
		return err
	}); err != nil {
		return err
	}
	if err := m.tftpStage("tftp "+boot, boot, nil); err != nil {
		return err
	}
	if err := m.tftpStage("tftp ldlinux.c32", "ldlinux.c32", nil); err != nil {
		return err
	}
	var cfg strings.Builder
	mac := "01-" + strings.ReplaceAll(m.mac.String(), ":", "-")
	if err := m.tftpStage("tftp pxelinux.cfg", "pxelinux.cfg/"+mac, &cfg); err != nil {
		return err
	}
	e, err := parsePXELinux(cfg.String())
	if err != nil {
		m.res.Stages[len(m.res.Stages)-1].Err = err.Error()
		return err
	}
	if err := m.tftpStage("tftp kernel", tftpPath(e.Kernel), nil); err != nil {
		return err
	}
	if err := m.tftpStage("tftp initrd", tftpPath(e.Initrd), nil); err != nil {
		return err
	}
	m.ksURL = e.Kickstart
	return nil
}

func (m *machine) uefiIPXE() error {
	var boot string
	if err := m.stage("dhcp", func(r *stageResult) error {
		var err error
		boot, err = m.dhcp(r, uefiFirmware)
		return err
	}); err != nil {
		return err
	}
	if err := m.tftpStage("tftp "+boot, boot, nil); err != nil {
		return err
	}
	var script string
	if err := m.stage("ipxe dhcp", func(r *stageResult) error {
		var err error
		script, err = m.dhcp(r, ipxeFirmware)
		return err
	}); err != nil {
		return err
	}
	var body strings.Builder
	script = expandIPXE(script, m.mac.String())
	if err := m.httpStage("http boot.ipxe", http.MethodGet, script, &body, m.st.fileTries); err != nil {
		return err
	}
	e, err := parseIPXE(body.String())
	if err != nil {
		m.res.Stages[len(m.res.Stages)-1].Err = err.Error()
		return err
	}
	if err := m.httpStage("http kernel", http.MethodGet, e.Kernel, nil, m.st.fileTries); err != nil {
		return err
	}
	if err := m.httpStage("http initrd", http.MethodGet, e.Initrd, nil, m.st.fileTries); err != nil {
		return err
	}
	m.ksURL = e.Kickstart
	return nil
}

// installer is anaconda: its own DHCP, the kickstart, the %post report.
func (m *machine) installer() error {
	if err := m.stage("installer dhcp", func(r *stageResult) error {
		_, err := m.dhcp(r, anaconda)
		return err
	}); err != nil {
		return err
	}
	var ks strings.Builder
	if err := m.httpStage("http kickstart", http.MethodGet, m.ksURL, &ks, m.st.fileTries); err != nil {
		return err
	}
	cb, err := callbackURL(ks.String())
	if err != nil {
		m.res.Stages[len(m.res.Stages)-1].Err = err.Error()
		return err
	}
	return m.httpStage("http callback", http.MethodPost, cb, nil, m.st.callbackTrys)
}

// dhcp does DISCOVER/OFFER/REQUEST/ACK with the firmware's retransmits. It
// sets the machine's address and server and returns the boot file name.
func (m *machine) dhcp(r *stageResult, mods []dhcpv4.Modifier) (string, error) {
	c := m.mux.conn(m.mac)
	defer c.Close()
	opts := []nclient4.ClientOpt{nclient4.WithTimeout(m.st.dhcpTimeout), nclient4.WithRetry(m.st.dhcpTries)}
	if m.st.dhcpDebug {
		opts = append(opts, nclient4.WithSummaryLogger())
	}
	cl, err := nclient4.NewWithConn(c, m.mac, opts...)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*m.st.dhcpTimeout<<m.st.dhcpTries)
	defer cancel()
	lease, err := cl.Request(ctx, mods...)
	r.Retries = int(max(c.sent.Load()-2, 0))
	if err != nil {
		return "", fmt.Errorf("DHCP: %w", err)
	}
	ack := lease.ACK
	m.ip = ack.YourIPAddr
	m.next = ack.ServerIPAddr.String()
	if s := ack.TFTPServerName(); s != "" {
		m.next = s
	}
	if ack.ServerIPAddr.IsUnspecified() {
		m.next = ack.ServerIdentifier().String()
	}
	m.http = nil
	f := ack.BootFileNameOption()
	if f == "" {
		f = strings.TrimRight(ack.BootFileName, "\x00")
	}
	return f, nil
}

// tftpStage fetches a file over TFTP from the leased address, whole-file
// retries counted; into is nil to discard the content.
func (m *machine) tftpStage(name, file string, into *strings.Builder) error {
	return m.stage(name, func(r *stageResult) error {
		var last error
		for try := range m.st.fileTries {
			if try > 0 {
				r.Retries++
				time.Sleep(time.Duration(try) * time.Second)
			}
			n, err := m.tftpGet(file, into)
			r.Bytes = n
			if err == nil {
				return nil
			}
			last = err
		}
		return last
	})
}

func (m *machine) tftpGet(file string, into *strings.Builder) (int64, error) {
	c, err := tftp.NewClient(net.JoinHostPort(m.next, "69"))
	if err != nil {
		return 0, err
	}
	if err := c.SetLocalAddr(m.ip.String()); err != nil {
		return 0, err
	}
	c.SetTimeout(m.st.tftpTimeout)
	c.SetRetries(m.st.tftpRetries)
	c.SetBlockSize(m.st.blksize)
	c.RequestTSize(true)
	wt, err := c.Receive(file, "octet")
	if err != nil {
		return 0, fmt.Errorf("TFTP %s: %w", file, err)
	}
	var w io.Writer = io.Discard
	if into != nil {
		into.Reset()
		w = into
	}
	n, err := wt.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("TFTP %s after %d bytes: %w", file, n, err)
	}
	return n, nil
}

func (m *machine) client() *http.Client {
	if m.http == nil {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: m.ip}, Timeout: 10 * time.Second}
		m.http = &http.Client{
			Timeout:   m.st.httpTimeout,
			Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1, DisableCompression: true},
		}
	}
	return m.http
}

// httpStage requests url from the leased address; a transport error or a
// status other than 2xx is retried (tries in all), the last error returned.
func (m *machine) httpStage(name, method, url string, into *strings.Builder, tries int) error {
	return m.stage(name, func(r *stageResult) error {
		var last error
		for try := range tries {
			if try > 0 {
				r.Retries++
				time.Sleep(time.Second)
			}
			n, err := m.httpDo(method, url, into)
			r.Bytes = n
			if err == nil {
				return nil
			}
			last = err
		}
		return last
	})
}

func (m *machine) httpDo(method, url string, into *strings.Builder) (int64, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, url, err)
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var w io.Writer = io.Discard
	if into != nil {
		into.Reset()
		w = into
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("%s %s after %d bytes: %w", method, url, n, err)
	}
	if resp.StatusCode/100 != 2 {
		return n, fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return n, nil
}

func cmdSummary(args []string) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	side := fs.String("side", "", "name of the server side (required)")
	cpu := fs.Float64("cpu", 0, "server CPU seconds (user+system) of the run")
	rss := fs.Int64("rss", 0, "server peak RSS of the run, KiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *side == "" {
		return errors.New("summary: -side is required")
	}
	var ms []machineResult
	for _, p := range fs.Args() {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(f)
		for {
			var m machineResult
			if err := dec.Decode(&m); err == io.EOF {
				break
			} else if err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", p, err)
			}
			ms = append(ms, m)
		}
		f.Close()
	}
	s := summarise(*side, ms)
	s.CPU, s.RSSKiB = *cpu, *rss
	return json.NewEncoder(os.Stdout).Encode(s)
}

func cmdCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	a := fs.String("a", "netkick", "first side")
	b := fs.String("b", "dnsmasq+nginx", "second side")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var runs []runSummary
	for _, p := range fs.Args() {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var s runSummary
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		runs = append(runs, s)
	}
	compare(os.Stdout, runs, *a, *b)
	return nil
}

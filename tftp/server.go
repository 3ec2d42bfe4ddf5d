// Package tftp serves the boot tree over TFTP (RFC 1350 with the blksize and
// tsize options) for PXE firmware, pxelinux, iPXE, shim and GRUB: files under the boot
// root, and the per-host pxelinux configs that boot decides. Writes are
// refused, concurrent transfers are bounded, and every transfer is counted
// and put on the host's timeline when the host is known.
package tftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/internal/redact"
	"github.com/netkick/netkick/inventory"
	ptftp "github.com/pin/tftp/v3"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
)

// Defaults for Options.
const (
	// DefaultMaxPerClient bounds concurrent transfers from one source
	// address: a PXE loader fetches one file at a time (UEFI's size probe
	// may overlap the transfer that follows it).
	DefaultMaxPerClient = 4
	// DefaultBlockSize caps the negotiated blksize so that a data packet
	// (blksize + 4 TFTP + 8 UDP + 20 IP) fits a 1500-byte Ethernet MTU.
	DefaultBlockSize = 1468
	// DefaultTimeout is the wait for each acknowledgement before a retransmit.
	DefaultTimeout = 5 * time.Second
	// DefaultRetries is how many times a block is sent before the transfer fails.
	DefaultRetries = 5
	// ListenReadBuffer is the receive buffer asked for the request socket.
	ListenReadBuffer = 4 << 20
	// EventKind is the kind of the events put on host timelines.
	EventKind = "tftp"
)

// EventAdder records a host timeline event (inventory.Store has it).
type EventAdder interface {
	AddEvent(ctx context.Context, e inventory.Event) error
}

// EventQueuer queues a timeline event for the store's next commit and
// returns without waiting for it (inventory.SQLite has it); done gets the
// outcome. A store that has it gets the transfers' events this way: a
// transfer's event waits for nothing the client is told (its last block
// is already acknowledged), and queued events share commits.
type EventQueuer interface {
	QueueEvent(ctx context.Context, e inventory.Event, done func(error)) error
}

// LeaseHosts finds the inventory host that holds an address by a DHCP lease
// (inventory.SQLite has it), so that the first-stage loader a machine fetches
// before its config lands on its timeline too.
type LeaseHosts interface {
	HostIDByLease(ctx context.Context, ip string) (string, error)
}

// Timeline reads a host's events, oldest first (inventory.Store has it), so
// that a loader that never ran can be told from its silence.
type Timeline interface {
	Events(ctx context.Context, hostID string, limit int) ([]inventory.Event, error)
}

// Options configure a Server.
type Options struct {
	// Tree is the boot tree to serve.
	Tree *bootfs.Tree
	// Events, when set, receives a "tftp" event per transfer of a known host.
	Events EventAdder
	// Timeline, when set with Events, lets the server add a hint to a host's
	// timeline when a UEFI loader it sent never ran (boot.LoaderStalled).
	Timeline Timeline
	// StallQuiet overrides boot.StallQuiet (tests).
	StallQuiet time.Duration
	// Leases, when set, names the host of a client address that has not
	// fetched its pxelinux config yet (pxelinux.0, ldlinux.c32, ipxe.efi).
	Leases LeaseHosts
	// HTTPAddr is netkick's HTTP listen address (":8080", "192.0.2.1:8080"),
	// used for kickstart URLs in generated configs. An empty or unspecified
	// host part is replaced by the address the client sent its request to.
	HTTPAddr string
	// PublicURL, when set, is the HTTP base URL used instead (e.g.
	// "http://boot.example.net:8080").
	PublicURL string
	// MaxTransfers bounds concurrent transfers (SystemMaxTransfers when
	// 0). Over the bound a client gets a TFTP error and retries later; the
	// last quarter of the slots is kept for known hosts (admitTransfer).
	MaxTransfers int
	// MaxPerClient bounds concurrent transfers from one source address
	// inside MaxTransfers (DefaultMaxPerClient when 0), so that one client
	// cannot take every slot; over it that request gets a TFTP error while
	// other clients are served.
	MaxPerClient int
	// FetchEventsPerSource bounds the timeline events one client address
	// causes per minute (inventory.DefaultFetchEventsPerSource when 0).
	FetchEventsPerSource int
	// BlockSize caps the negotiated blksize (DefaultBlockSize when 0).
	BlockSize int
	// Timeout and Retries tune retransmission (defaults when 0).
	Timeout time.Duration
	Retries int
	// Logger receives one line per transfer (slog.Default() when nil).
	Logger *slog.Logger
	// Registerer, when set, gets the server's metrics (netkick_tftp_*).
	Registerer prometheus.Registerer
}

// Server is a TFTP server for one boot tree.
type Server struct {
	tree     *bootfs.Tree
	events   EventAdder
	leases   LeaseHosts
	httpHost string
	httpPort string
	public   string
	log      *slog.Logger
	slots    slots
	cache    *fileCache
	share    share
	gate     *inventory.EventGate
	srv      *ptftp.Server
	metrics  *Metrics
	// blocks keeps the per-block times of recent transfers (BlockTimes).
	blocks blockClock
	hosts  ipHosts
	stalls stallWatch
}

// New builds a Server; call Serve or ListenAndServe to run it.
func New(o Options) (*Server, error) {
	if o.Tree == nil {
		return nil, errors.New("tftp: Options.Tree is nil")
	}
	if o.MaxTransfers <= 0 {
		o.MaxTransfers, _, _ = SystemMaxTransfers()
	}
	if o.MaxPerClient <= 0 {
		o.MaxPerClient = DefaultMaxPerClient
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockSize < 512 || o.BlockSize > 65464 {
		return nil, fmt.Errorf("tftp: block size %d: want 512 to 65464 (1468 fits a 1500-byte MTU)", o.BlockSize)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StallQuiet <= 0 {
		o.StallQuiet = boot.StallQuiet
	}
	s := &Server{tree: o.Tree, events: o.Events, leases: o.Leases, log: o.Logger, slots: slots{max: o.MaxTransfers}, cache: newFileCache(CacheMaxFile, CacheMaxBytes),
		hosts: ipHosts{m: map[string]string{}}, stalls: stallWatch{timeline: o.Timeline, quiet: o.StallQuiet, timers: map[string]*time.Timer{}},
		share: share{max: o.MaxPerClient, n: map[netip.Addr]int{}}, gate: inventory.NewEventGate(o.FetchEventsPerSource),
		metrics: newMetrics()}
	s.metrics.blockTimes = s.BlockTimes
	if o.Registerer != nil {
		if err := o.Registerer.Register(s.metrics); err != nil {
			return nil, fmt.Errorf("tftp: register metrics: %w (one TFTP server per registry)", err)
		}
	}
	s.public = strings.TrimRight(o.PublicURL, "/")
	if err := s.SetHTTPAddr(o.HTTPAddr); err != nil {
		return nil, err
	}
	s.srv = ptftp.NewServer(s.read, nil) // nil write handler: WRQs get an error
	s.srv.SetBlockSize(o.BlockSize)
	// Keep the negotiated blksize within the MTU of the NIC the request came
	// in on (the library's default, stated here because it matters): a
	// client asking for 8192 on a 1500-byte link would otherwise get IP
	// fragments, which many PXE ROMs cannot reassemble.
	s.srv.SetBlockSizeNegotiation(true)
	s.srv.SetTimeout(o.Timeout)
	s.srv.SetRetries(o.Retries)
	return s, nil
}

// SetPublicURL sets the HTTP base URL generated configs use, as PublicURL
// does (call it before Serve).
func (s *Server) SetPublicURL(base string) { s.public = strings.TrimRight(base, "/") }

// SetHTTPAddr sets the HTTP address used in kickstart URLs (see
// Options.HTTPAddr), e.g. once the HTTP server has bound its real port.
// Call it before Serve.
func (s *Server) SetHTTPAddr(addr string) error {
	if addr == "" {
		s.httpHost, s.httpPort = "", ""
		return nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("tftp: HTTP address %q: %w (want host:port or :port)", addr, err)
	}
	s.httpHost = ""
	if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
		s.httpHost = h
	}
	s.httpPort = p
	return nil
}

// Metrics returns the server's counters.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Listen opens the UDP socket for addr (e.g. ":69"), with a clear error when
// the port is taken or needs privileges.
func Listen(addr string) (*net.UDPConn, error) {
	a, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("tftp: address %q: %w (want host:port, e.g. :69)", addr, err)
	}
	c, err := net.ListenUDP("udp4", a)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("tftp: UDP %s is already in use (another TFTP server such as tftpd-hpa or dnsmasq?): stop it, or pick another port with --tftp ADDR, or --tftp off: %w", addr, err)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("tftp: binding UDP %s needs root or CAP_NET_BIND_SERVICE; run as root, grant the capability, or use --tftp :6969: %w", addr, err)
	case err != nil:
		return nil, fmt.Errorf("tftp: listening on UDP %s: %w", addr, err)
	}
	// A storm's RRQs arrive at once: with the default receive buffer
	// (about 200 KiB, some 300 requests) the rest are dropped and wait for
	// the client's retransmission. Best effort: the kernel caps it at
	// net.core.rmem_max.
	_ = c.SetReadBuffer(ListenReadBuffer)
	// The library turns on IP_PKTINFO only once Serve runs: a request queued
	// before that carries no control message and its blksize is capped at 512.
	// Turning it on here, before any request can arrive, closes that window.
	if err := ipv4.NewPacketConn(c).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		c.Close()
		return nil, fmt.Errorf("tftp: enabling IP_PKTINFO on UDP %s: %w", addr, err)
	}
	return c, nil
}

// Serve answers requests on conn (best opened with Listen) until Shutdown.
func (s *Server) Serve(conn *net.UDPConn) error { return s.srv.Serve(conn) }

// Shutdown stops accepting requests and waits for running transfers.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.stalls.stop()
}

// Client-facing error texts: short, no server paths.
var (
	errBusy     = errors.New("server busy: too many transfers in progress, retry shortly")
	errShare    = errors.New("too many transfers from your address at once, retry when one has finished")
	errNotFound = errors.New("file not found")
	errRefused  = errors.New("access violation: name refused")
	errInternal = errors.New("server error; see the netkick log")
)

// access writes a request's access line: stage (boot_config for a
// generated config, boot_file otherwise), the file name with any secret
// query parameter REDACTED, the outcome, the host when known, the client,
// the duration and the bytes sent.
func (s *Server) access(level slog.Level, f *bootfs.File, name, status string, client net.IP, start time.Time, n int64, err error) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	stage, host := "boot_file", ""
	if f != nil {
		if f.Generated != boot.NotGenerated {
			stage = "boot_config"
		}
		switch {
		case f.Hostname != "" && f.HostMAC != "":
			host = f.Hostname + " (" + f.HostMAC + ")"
		case f.HostMAC != "":
			host = f.HostMAC
		}
	}
	path, query, _ := strings.Cut(name, "?")
	attrs := []slog.Attr{slog.String("stage", stage), slog.String("proto", "tftp"), slog.String("path", redact.Target(path, query)),
		slog.String("status", status), slog.String("host", host), slog.String("source", client.String()),
		slog.Duration("duration", time.Since(start).Round(time.Microsecond)), slog.Int64("bytes", n)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	s.log.LogAttrs(ctx, level, "access", attrs...)
}

// read is the RRQ handler; the library runs it in a goroutine per request.
// It must call ReadFrom or return an error (the library then sends an ERROR).
func (s *Server) read(name string, rf io.ReaderFrom) error {
	ot := rf.(ptftp.OutgoingTransfer)
	remote := ot.RemoteAddr()
	var local net.IP
	if pi, ok := rf.(ptftp.RequestPacketInfo); ok {
		local = pi.LocalIP()
	}
	client, _ := netip.AddrFromSlice(remote.IP)
	client = client.Unmap()
	if !s.share.take(client) {
		s.metrics.overShare.Add(1)
		s.access(slog.LevelWarn, nil, name, "over_share", remote.IP, time.Now(), 0, fmt.Errorf("client over its share of %d transfers", s.share.max))
		return errShare
	}
	if !s.slots.take(func() bool { return s.known(remote.IP.String()) }) {
		s.share.give(client)
		s.metrics.busy.Add(1)
		s.access(slog.LevelWarn, nil, name, "busy", remote.IP, time.Now(), 0,
			fmt.Errorf("transfers busy (bound %d, the last %d kept for known hosts)", s.slots.max, s.slots.max/4))
		return errBusy
	}
	s.metrics.active.Add(1)
	// The slots are given back as soon as the transfer is over, before its
	// bookkeeping (the lookup of the host, the timeline event, which waits
	// for a commit): a loader asks for its next file the moment it has the
	// last block, and under load that bookkeeping took long enough for a
	// fifth file to meet four finished transfers still holding the share.
	var once sync.Once
	release := func() {
		once.Do(func() {
			s.metrics.active.Add(-1)
			s.slots.give()
			s.share.give(client)
		})
	}
	defer release()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	f, err := s.tree.Open(ctx, boot.TFTPName(name), bootfs.Request{BaseURL: s.baseURL(local), ClientIP: client.String()})
	if err != nil {
		var reply error
		switch {
		case errors.Is(err, bootfs.ErrNotFound):
			s.metrics.notFound.Add(1)
			reply = errNotFound
			s.access(slog.LevelInfo, f, name, "not_found", remote.IP, start, 0, nil)
		case errors.Is(err, bootfs.ErrRefused):
			s.metrics.refused.Add(1)
			reply = errRefused
			s.access(slog.LevelWarn, f, name, "refused", remote.IP, start, 0, err)
		default:
			s.metrics.failed.Add(1)
			reply = errInternal
			s.access(slog.LevelError, f, name, "failed", remote.IP, start, 0, err)
		}
		if f != nil && f.HostID != "" {
			s.event(client, f.HostID, EventKind, "failed "+name, fmt.Sprintf("failed %s to %s: %v", name, remote.IP, err))
		}
		return reply
	}
	defer f.Close()
	if f.Withheld != nil {
		s.metrics.withheld.Add(1)
		if s.event(client, f.HostID, inventory.KindWithheld, f.Name, fmt.Sprintf("token withheld from %s (%s): %v", remote.IP, f.Name, f.Withheld)) {
			s.log.Warn("tftp: build token withheld", "file", f.Name, "client", remote.IP, "reason", f.Withheld)
		}
	}
	hostID := f.HostID
	if hostID != "" {
		s.hosts.remember(remote.IP.String(), hostID)
	}

	ot.SetSize(f.Size) // tsize: stated, so the library never seeks the reader
	r, done, inMemory := s.cache.reader(f)
	if inMemory {
		f.Close() // the descriptor is not needed for the transfer
	}
	tr := &timedReader{r: r, clock: &s.blocks}
	n, err := rf.ReadFrom(tr)
	if err == nil {
		tr.finish(time.Now())
	}
	done()
	dur := time.Since(start)
	release()
	if hostID == "" {
		// Looked up once the transfer is over: a client fetches its first
		// stage right after its DHCP ACK, and the lease naming it (in proxy
		// mode learned from its REQUEST to the site's server) may still be
		// on its way to disk when the RRQ arrives.
		hostID = s.hostOf(ctx, remote.IP.String())
	}
	switch {
	case err == nil:
		kind := "file"
		if f.Generated != boot.NotGenerated {
			kind = "config"
		}
		s.metrics.servedOne(kind, n, dur)
		s.access(slog.LevelInfo, f, f.Name, "sent", remote.IP, start, n, nil)
		if hostID != "" {
			s.event(client, hostID, EventKind, "sent "+f.Name, fmt.Sprintf("sent %s (%d bytes, %s) to %s", f.Name, n, dur.Round(time.Millisecond), remote.IP))
			if boot.StallWatched(f.Name) {
				s.stalls.watch(hostID, s.checkStall)
			}
		}
	case isSizeProbe(err):
		// UEFI asks for tsize, reads the OACK, aborts with error 8 and asks again.
		s.metrics.probes.Add(1)
		s.access(slog.LevelDebug, f, f.Name, "size_probe", remote.IP, start, 0, nil)
	default:
		s.metrics.failed.Add(1)
		s.metrics.bytes.Add(n)
		s.access(slog.LevelWarn, f, f.Name, "failed", remote.IP, start, n, err)
		if hostID != "" {
			s.event(client, hostID, EventKind, "failed "+f.Name, fmt.Sprintf("failed %s to %s after %d bytes: %v", f.Name, remote.IP, n, err))
		}
	}
	return nil // ReadFrom already answered the client
}

// hostOf names the known host at a client address: the one holding it by an
// active DHCP lease (the current holder), else the one that last fetched its
// pxelinux config from there (proxy mode has no leases); "" when neither. A
// lookup error only costs the event.
func (s *Server) hostOf(ctx context.Context, ip string) string {
	if s.leases != nil {
		if id, err := s.leases.HostIDByLease(ctx, ip); err == nil {
			return id
		}
	}
	return s.hosts.lookup(ip)
}

// known reports whether a client address belongs to a known host: one that
// fetched its pxelinux config from there, or holds it by a DHCP lease. It
// is asked only when the slots open to any client are taken.
func (s *Server) known(ip string) bool {
	if s.hosts.lookup(ip) != "" {
		return true
	}
	if s.leases == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	id, err := s.leases.HostIDByLease(ctx, ip)
	return err == nil && id != ""
}

// InFlight is how many transfers are running now: the load of the boot
// chain that DHCP paces first-stage PXE machines by (dhcp.Load).
func (s *Server) InFlight() int { return int(s.metrics.active.Load()) }

// slots counts running transfers against the bound (admitTransfer).
type slots struct {
	mu      sync.Mutex
	max     int
	running int
}

// take claims a slot; known is asked only when a client that is not a
// known host would be refused.
func (s *slots) take(known func() bool) bool {
	s.mu.Lock()
	if admitTransfer(s.running, s.max, false) {
		s.running++
		s.mu.Unlock()
		return true
	}
	s.mu.Unlock()
	if !known() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !admitTransfer(s.running, s.max, true) {
		return false
	}
	s.running++
	return true
}

func (s *slots) give() {
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
}

// isSizeProbe recognises the client's "option negotiation refused" (error 8)
// on the OACK, which is how UEFI firmware ends its tsize probe.
func isSizeProbe(err error) bool {
	return strings.Contains(err.Error(), "sending block 0: code=8")
}

// baseURL is the HTTP base URL the client should use for kickstart URLs.
func (s *Server) baseURL(local net.IP) string {
	if s.public != "" {
		return s.public
	}
	if s.httpPort == "" {
		return ""
	}
	h := s.httpHost
	if h == "" {
		if local == nil || local.IsUnspecified() {
			return ""
		}
		h = local.String()
	}
	if s.httpPort == "80" {
		return "http://" + h
	}
	return "http://" + net.JoinHostPort(h, s.httpPort)
}

// event records a transfer on the host's timeline unless the gate
// coalesces it (one per host, kind, subject and minute; a bounded number
// per client address): anyone can send RRQs. It reports whether it did.
func (s *Server) event(client netip.Addr, hostID, kind, subject, detail string) bool {
	if s.events == nil || hostID == "" || !s.gate.Admit(client.String(), hostID, kind, subject, time.Now()) {
		return false
	}
	e := inventory.Event{HostID: hostID, Time: time.Now(), Kind: kind, Detail: detail}
	warn := func(err error) {
		if err != nil {
			s.log.Warn("tftp event not recorded", "host", hostID, "err", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if q, ok := s.events.(EventQueuer); ok {
		warn(q.QueueEvent(ctx, e, warn))
		return true
	}
	warn(s.events.AddEvent(ctx, e))
	return true
}

// ipHosts remembers which known host last fetched its pxelinux config from an
// IP, so the files it fetches next (kernel, initrd) land on its timeline.
type ipHosts struct {
	mu sync.Mutex
	m  map[string]string
}

// maxIPHosts bounds the memory ipHosts can take.
const maxIPHosts = 4096

func (c *ipHosts) remember(ip, hostID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[ip]; !ok && len(c.m) >= maxIPHosts {
		clear(c.m)
	}
	c.m[ip] = hostID
}

func (c *ipHosts) lookup(ip string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[ip]
}

// share counts running transfers per source address.
type share struct {
	mu  sync.Mutex
	max int
	n   map[netip.Addr]int
}

// take claims a transfer slot for a, false when a has its share running.
func (s *share) take(a netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[a] >= s.max {
		return false
	}
	s.n[a]++
	return true
}

func (s *share) give(a netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[a]--; s.n[a] <= 0 {
		delete(s.n, a)
	}
}

// checkStall reads a host's timeline and, when boot.LoaderStalled says the
// loader it was sent never ran, adds the hint.
func (s *Server) checkStall(hostID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	evs, err := s.stalls.timeline.Events(ctx, hostID, 50)
	if err != nil {
		s.log.Warn("tftp: timeline not read for the loader check", "host", hostID, "err", err)
		return
	}
	if hint := boot.LoaderStalled(evs, time.Now(), s.stalls.quiet); hint != "" {
		s.log.Warn("loader never ran", "host", hostID, "hint", hint)
		if s.events != nil {
			if err := s.events.AddEvent(ctx, inventory.Event{HostID: hostID, Time: time.Now(), Kind: boot.EventKindHint, Detail: hint}); err != nil {
				s.log.Warn("tftp hint not recorded", "host", hostID, "err", err)
			}
		}
	}
}

// stallWatch runs one check per host, quiet after the host's last loader
// fetch; at most maxIPHosts hosts are watched at a time.
type stallWatch struct {
	timeline Timeline
	quiet    time.Duration
	mu       sync.Mutex
	timers   map[string]*time.Timer
	stopped  bool
}

func (w *stallWatch) watch(hostID string, check func(string)) {
	if w.timeline == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if t, ok := w.timers[hostID]; ok {
		t.Stop()
	} else if len(w.timers) >= maxIPHosts {
		return
	}
	// A second past the quiet time, so the check sees it elapsed.
	w.timers[hostID] = time.AfterFunc(w.quiet+time.Second, func() {
		w.mu.Lock()
		delete(w.timers, hostID)
		stopped := w.stopped
		w.mu.Unlock()
		if !stopped {
			check(hostID)
		}
	})
}

func (w *stallWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	for id, t := range w.timers {
		t.Stop()
		delete(w.timers, id)
	}
}

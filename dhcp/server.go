package dhcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/netkick/netkick/inventory"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
)

// Hosts is what the server reads and writes of the inventory's hosts.
type Hosts interface {
	ListHosts(ctx context.Context, f inventory.HostFilter) ([]inventory.Host, error)
	ListProfiles(ctx context.Context) ([]inventory.Profile, error)
	PutHost(ctx context.Context, h *inventory.Host) error
	UpdateHost(ctx context.Context, key string, fn func(*inventory.Host) error) (*inventory.Host, error)
	AddEvent(ctx context.Context, e inventory.Event) error
}

// LeaseStore persists leases. SaveLeases must be durable when it returns.
type LeaseStore interface {
	Leases(ctx context.Context) ([]inventory.Lease, error)
	SaveLeases(ctx context.Context, ls []inventory.Lease) error
}

// SharedLeases is a lease store several servers allocate from at once
// (inventory.Postgres): every write is a claim the store checks against
// what the other servers wrote, in one transaction per batch.
type SharedLeases interface {
	ClaimLeases(ctx context.Context, claims []inventory.LeaseClaim) ([]inventory.ClaimResult, error)
}

// Store is both (inventory.SQLite satisfies it).
type Store interface {
	Hosts
	LeaseStore
}

// Options configure a Server.
type Options struct {
	Config Config
	Store  Store
	// HTTPPort is netkick's HTTP port, for iPXE script and HTTP boot URLs.
	HTTPPort int
	// PublicURL, when set, is the base of those URLs instead of http://<server IP>:HTTPPort.
	PublicURL string
	Logger    *slog.Logger
	// ServerIP overrides the address taken from the interface (tests, multi-homed hosts).
	ServerIP string
	// RefreshEvery is how often the host snapshot is reloaded (default 2s).
	RefreshEvery time.Duration
	// Changed, when set, signals inventory changes (a shared store's
	// notifications): each signal reloads the snapshot at once.
	Changed <-chan struct{}
	// Registerer, when set, gets the server's metrics (netkick_dhcp_*).
	Registerer prometheus.Registerer
	// Shared, when set, is the store's claim interface: the server
	// allocates through it (offers included) so that any number of servers
	// can serve one pool. Without it the server owns its pools alone.
	Shared SharedLeases
	// Load, when set, is the boot chain's load (the TFTP server's transfers
	// in flight): in full mode a PXE ROM's DISCOVER waits while it is at
	// Config.HoldBound (see admission.go). Nil: never held.
	Load Load
}

// Server is a DHCPv4 server. Create it with New, open its sockets with
// Listen, then run Serve.
type Server struct {
	cfg       Config
	store     Store
	log       *slog.Logger
	httpPort  int
	publicURL string // base of HTTP URLs in replies, "" for http://<server IP>:httpPort
	refresh   time.Duration
	changed   <-chan struct{}
	subnets   []*subnet
	serverIP  netip.Addr
	local     int // index of the subnet on the interface, -1 if none

	mu     sync.Mutex // guards alloc, rates, declined and commit ordering
	alloc  *allocator
	commit *committer
	rates  *rates
	relays []netip.Prefix
	// declined are the declined reservations waiting for a probe.
	declined map[uint32]*declinedAddr
	// shared is the claim interface of a shared store (nil: pools are ours
	// alone); offerTag marks this server's offers there.
	shared   SharedLeases
	offerTag string
	// fixes are view changes the committer found (claims lost, undone
	// requests), applied under mu by the next request.
	fixMu sync.Mutex
	fixes []func(*allocator)
	// storeDown is true while the last batch of claims failed.
	storeDown atomic.Bool
	prober    prober
	// sightings are the addresses proxy mode learned, by MAC (see learn).
	sightings map[string]sighting

	hostsMu  sync.RWMutex
	hosts    map[string]*inventory.Host
	profiles map[string]*inventory.Profile

	conns   []*net.UDPConn
	known   chan packet
	unknown chan packet
	jobs    chan func(context.Context) error
	pending chan pendingReply
	// sendBuf and sendMsgs are the sender goroutine's batch buffers.
	sendBuf  []pendingReply
	sendMsgs []ipv4.Message

	// adm holds first-stage PXE DISCOVERs while the boot chain is busy
	// (nil: off, proxy mode, or no load given).
	adm *admission

	Metrics *Metrics
	discovery
}

type packet struct {
	req  *dhcpv4.DHCPv4
	raw  []byte
	peer *net.UDPAddr
	port int
	// broadcast is true when the packet was sent to a broadcast address.
	broadcast bool
	conn      *net.UDPConn
	at        time.Time
}

// New validates the config and loads the leases from the store.
func New(ctx context.Context, o Options) (*Server, error) {
	cfg := o.Config
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if cfg.Mode == ModeOff {
		return nil, fmt.Errorf("dhcp mode is off: nothing to serve")
	}
	if o.Store == nil {
		return nil, fmt.Errorf("dhcp: no store given")
	}
	subs, err := cfg.subnets()
	if err != nil {
		return nil, err
	}
	relays, err := parseRelays(cfg.Relays)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: o.Store, log: o.Logger, httpPort: o.HTTPPort, publicURL: o.PublicURL, refresh: o.RefreshEvery, changed: o.Changed,
		subnets: subs, local: -1, Metrics: newMetrics(),
		relays: relays, rates: newRates(cfg.OfferRate, cfg.OfferBurst), declined: map[uint32]*declinedAddr{},
		known:    make(chan packet, 1024),
		unknown:  make(chan packet, 1024),
		jobs:     make(chan func(context.Context) error, 1024),
		pending:  make(chan pendingReply, 8192),
		sendBuf:  make([]pendingReply, 0, 64),
		sendMsgs: make([]ipv4.Message, 0, 64),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.refresh <= 0 {
		s.refresh = 2 * time.Second
	}
	if s.httpPort == 0 {
		s.httpPort = 8080
	}
	if o.ServerIP != "" {
		a, err := netip.ParseAddr(o.ServerIP)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("dhcp server IP %q: want an IPv4 address", o.ServerIP)
		}
		s.setServerIP(a)
	}
	leases, err := o.Store.Leases(ctx)
	if err != nil {
		return nil, fmt.Errorf("dhcp: load leases: %w", err)
	}
	s.alloc = newAllocator(subs, leases)
	s.sightings = newSightings(leases, time.Now())
	s.commit = newCommitter(o.Store.SaveLeases)
	if o.Shared != nil && cfg.Mode == ModeFull {
		// Full mode allocates; proxy mode only records what it learned.
		s.shared = o.Shared
		s.commit.claim = o.Shared.ClaimLeases
		s.commit.fix = s.queueFix
		s.commit.storeErr = s.noteStore
		s.Metrics.shared.Store(true)
		s.alloc.scatter()
	}
	s.Metrics.pool = s.poolStats
	if b := cfg.HoldBound(); b > 0 && o.Load != nil && cfg.Mode == ModeFull {
		// Proxy mode never holds: the client's window for collecting
		// offers is short, and it has its address from another server.
		s.adm = newAdmission(o.Load, b, cfg.HoldMax)
		s.Metrics.admWaiting = s.adm.waiting
	}
	if cfg.Unknown == UnknownDiscover {
		s.Metrics.sightings = s.Sightings
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(s.Metrics); err != nil {
			return nil, fmt.Errorf("dhcp: register metrics: %w (one DHCP server per registry)", err)
		}
	}
	if err := s.reloadHosts(ctx); err != nil {
		return nil, err
	}
	if err := s.setupDiscovery(o.Store); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) setServerIP(a netip.Addr) {
	s.serverIP = a
	s.offerTag = "offered by " + a.String()
	s.local = -1
	for i, sub := range s.subnets {
		if sub.prefix.Contains(a) {
			s.local = i
		}
	}
}

// Listen opens the sockets: port 67 on the interface, and 4011 in proxy mode.
// Call it in the network namespace the server should serve.
func (s *Server) Listen() error {
	if !s.serverIP.IsValid() {
		ifi, err := net.InterfaceByName(s.cfg.Interface)
		if err != nil {
			return fmt.Errorf("dhcp interface %q: %w (list interfaces with `ip link`)", s.cfg.Interface, err)
		}
		ips, err := dhcpv4.IPv4AddrsForInterface(ifi)
		if err != nil || len(ips) == 0 {
			return fmt.Errorf("dhcp interface %s has no IPv4 address: give it one in the served subnet (ip addr add 192.0.2.1/24 dev %s)", s.cfg.Interface, s.cfg.Interface)
		}
		var pick netip.Addr
		for _, ip := range ips {
			a, _ := netip.AddrFromSlice(ip.To4())
			if !pick.IsValid() {
				pick = a
			}
			for _, sub := range s.subnets {
				if sub.prefix.Contains(a) {
					pick = a
				}
			}
		}
		s.setServerIP(pick)
	}
	ports := []int{dhcpv4.ServerPort}
	if s.cfg.Mode == ModeProxy {
		ports = append(ports, 4011)
	}
	for _, p := range ports {
		c, err := server4.NewIPv4UDPConn(s.cfg.Interface, &net.UDPAddr{Port: p})
		if err != nil {
			s.Close()
			return fmt.Errorf("dhcp: listen on %s port %d: %w (is another DHCP server running? ports below 1024 need root or CAP_NET_BIND_SERVICE)", s.cfg.Interface, p, err)
		}
		_ = ipv4.NewPacketConn(c).SetControlMessage(ipv4.FlagDst, true) // tells relayed broadcasts apart
		_ = c.SetReadBuffer(4 << 20)
		_ = c.SetWriteBuffer(4 << 20)
		s.conns = append(s.conns, c)
	}
	if s.cfg.Mode == ModeFull && s.prober == nil {
		p, err := newARPProber(s.cfg.Interface, s.serverIP)
		if err != nil {
			s.log.Warn("dhcp: declined reservations cannot be probed; they stay out for the decline hold", "interface", s.cfg.Interface, "err", err)
		} else {
			s.prober = p
		}
	}
	return nil
}

// ServerIP is the address the server answers from (option 54).
func (s *Server) ServerIP() netip.Addr { return s.serverIP }

// Close closes the sockets; Serve then returns.
func (s *Server) Close() error {
	var first error
	for _, c := range s.conns {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	if p, ok := s.prober.(io.Closer); ok {
		p.Close()
	}
	return first
}

// Serve reads packets until ctx ends or the sockets close. Each socket has one
// reader; a fixed pool of workers handles packets, known hosts first, so a
// flood of unknown MACs cannot starve the machines the inventory knows.
func (s *Server) Serve(ctx context.Context) error {
	if len(s.conns) == 0 {
		return fmt.Errorf("dhcp: Serve called before Listen")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.commit.run(ctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); s.jobLoop(ctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); s.sender(ctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); s.refreshLoop(ctx) }()
	if s.discovered != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.sightingLoop(ctx) }()
	}
	if s.cfg.Mode == ModeFull {
		wg.Add(1)
		go func() { defer wg.Done(); s.probeLoop(ctx) }()
	}
	if s.adm != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.admitLoop(ctx) }()
	}
	for i := 0; i < s.cfg.Workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); s.worker(ctx) }()
	}
	errc := make(chan error, len(s.conns))
	for i, c := range s.conns {
		port := dhcpv4.ServerPort
		if i == 1 {
			port = 4011
		}
		go func(c *net.UDPConn, port int) { errc <- s.readLoop(ctx, c, port) }(c, port)
	}
	go func() { <-ctx.Done(); s.Close() }()
	err := <-errc
	cancel()
	s.Close()
	for range s.conns[1:] {
		<-errc
	}
	wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// readBatch is how many datagrams one receive system call may return.
const readBatch = 32

func (s *Server) readLoop(ctx context.Context, c *net.UDPConn, port int) error {
	pc := ipv4.NewPacketConn(c)
	msgs := make([]ipv4.Message, readBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 4096)}
		msgs[i].OOB = make([]byte, 128)
	}
	for {
		n, err := pc.ReadBatch(msgs, 0) // recvmmsg: many packets per system call under load
		if err != nil {
			if ctx.Err() != nil {
				return net.ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		now := time.Now()
		for _, m := range msgs[:n] {
			peer, _ := m.Addr.(*net.UDPAddr)
			raw := make([]byte, m.N)
			copy(raw, m.Buffers[0][:m.N])
			p := packet{raw: raw, peer: peer, port: port, conn: c, at: now}
			if m.N >= 28 && m.NN > 0 && (raw[24]|raw[25]|raw[26]|raw[27]) != 0 {
				// giaddr set: a relay sends unicast, never to a broadcast address.
				var cm ipv4.ControlMessage
				if cm.Parse(m.OOB[:m.NN]) == nil && cm.Dst != nil {
					p.broadcast = s.isBroadcast(cm.Dst)
				}
			}
			s.enqueue(p)
		}
	}
}

// enqueue parses a packet and queues it for the workers, known MACs apart.
func (s *Server) enqueue(p packet) {
	req, err := decode(p.raw)
	if err != nil {
		s.Metrics.count(typeInvalid, outBad)
		return
	}
	p.req = req
	q := s.unknown
	if s.isKnown(req.ClientHWAddr.String()) {
		q = s.known
	}
	select {
	case q <- p:
	default:
		s.Metrics.count(typeOf(req), outDropped)
	}
}

func (s *Server) worker(ctx context.Context) {
	for {
		var p packet
		select {
		case p = <-s.known:
		default:
			select {
			case p = <-s.known:
			case p = <-s.unknown:
			case <-ctx.Done():
				return
			}
		}
		if s.hold(p) {
			continue // admitLoop answers it when the boot chain has room
		}
		s.handle(ctx, p)
	}
}

// handle decides a packet and sends its reply, or queues it for the
// sender when it waits for a lease commit.
func (s *Server) handle(ctx context.Context, p packet) {
	r := s.decide(ctx, p.req, origin{peer: p.peer, port: p.port, broadcast: p.broadcast})
	if r.commit != nil {
		// Never wait for the disk here: the sender sends the reply
		// once the lease is durable, and this worker moves on.
		select {
		case s.pending <- pendingReply{p: p, r: r}:
		case <-ctx.Done():
		}
		return
	}
	s.Metrics.count(typeOf(p.req), r.out)
	s.send(p, r)
}

type pendingReply struct {
	p packet
	r reply
}

// sender sends the replies that wait for a lease commit, in the order the
// commits were queued (the committer completes them in that order).
func (s *Server) sender(ctx context.Context) {
	var carry *pendingReply
	for {
		var pr pendingReply
		if carry != nil {
			pr, carry = *carry, nil
		} else {
			select {
			case pr = <-s.pending:
			case <-ctx.Done():
				return
			}
		}
		var err error
		select {
		case err = <-pr.r.commit:
		case <-ctx.Done():
			return
		}
		ready := s.sendBuf[:0]
		if r, ok := s.committed(pr.p.req, pr.r, err); ok {
			pr.r = r
			ready = append(ready, pr)
		}
		// A commit releases many replies at once: take every queued one
		// whose commit is done and send them with one system call.
	more:
		for len(ready) < cap(s.sendBuf) {
			select {
			case next := <-s.pending:
				select {
				case err := <-next.r.commit:
					if r, ok := s.committed(next.p.req, next.r, err); ok {
						next.r = r
						ready = append(ready, next)
					}
				default: // its commit is still running: it leads the next round
					carry = &next
					break more
				}
			default:
				break more
			}
		}
		s.sendBatch(ready)
	}
}

// sendBatch sends replies (sendmmsg per socket), counting each.
func (s *Server) sendBatch(rs []pendingReply) {
	for len(rs) > 0 {
		conn := rs[0].p.conn
		msgs := s.sendMsgs[:0]
		i := 0
		for ; i < len(rs) && rs[i].p.conn == conn; i++ {
			if rs[i].r.resp == nil {
				s.Metrics.count(typeOf(rs[i].p.req), rs[i].r.out)
				continue
			}
			msgs = append(msgs, ipv4.Message{Buffers: [][]byte{rs[i].r.resp.ToBytes()}, Addr: rs[i].r.dst})
		}
		sent := 0
		pc := ipv4.NewPacketConn(conn)
		for sent < len(msgs) {
			n, err := pc.WriteBatch(msgs[sent:], 0)
			if err != nil {
				s.log.Warn("dhcp: send replies", "count", len(msgs)-sent, "err", err)
				break
			}
			sent += n
		}
		k := 0
		for _, pr := range rs[:i] {
			if pr.r.resp == nil {
				continue
			}
			if k < sent {
				s.Metrics.count(typeOf(pr.p.req), pr.r.out)
				if s.adm != nil && pr.r.out == outAck {
					// The machine's transfers begin now (admission).
					s.adm.acked(pr.p.req.ClientHWAddr.String(), time.Now())
				}
				s.Metrics.observe(time.Since(pr.p.at))
			} else {
				s.Metrics.count(typeOf(pr.p.req), outError)
			}
			k++
		}
		rs = rs[i:]
	}
}

func (s *Server) send(p packet, r reply) {
	if r.resp == nil {
		return
	}
	if _, err := p.conn.WriteTo(r.resp.ToBytes(), r.dst); err != nil {
		s.Metrics.count(typeOf(p.req), outError)
		s.log.Warn("dhcp: send reply", "to", r.dst.String(), "mac", p.req.ClientHWAddr.String(), "err", err)
		return
	}
	if mt := r.resp.MessageType(); mt == dhcpv4.MessageTypeAck || mt == dhcpv4.MessageTypeOffer {
		s.Metrics.observe(time.Since(p.at))
	}
}

// reloadHosts takes a snapshot of hosts and profiles (and the reservations).
func (s *Server) reloadHosts(ctx context.Context) error {
	hs, err := s.store.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return fmt.Errorf("dhcp: read hosts: %w", err)
	}
	ps, err := s.store.ListProfiles(ctx)
	if err != nil {
		return fmt.Errorf("dhcp: read profiles: %w", err)
	}
	byMAC := make(map[string]*inventory.Host, len(hs))
	res := map[uint32][]string{}
	for i := range hs {
		h := &hs[i]
		for _, m := range h.MACs {
			byMAC[m] = h
		}
		if ip, ok := parseIPv4(h.IP); ok && len(h.MACs) > 0 {
			res[ip] = h.MACs
		}
	}
	profs := make(map[string]*inventory.Profile, len(ps))
	for i := range ps {
		profs[ps[i].Name] = &ps[i]
	}
	var stored []inventory.Lease
	if s.shared != nil {
		// The other servers' leases and offers, so that picks avoid them.
		if stored, err = s.store.Leases(ctx); err != nil {
			return fmt.Errorf("dhcp: read leases: %w", err)
		}
	}
	s.hostsMu.Lock()
	s.hosts, s.profiles = byMAC, profs
	s.hostsMu.Unlock()
	s.mu.Lock()
	s.alloc.reserved = res
	if stored != nil {
		s.alloc.merge(stored, s.offerTag)
	}
	s.mu.Unlock()
	return nil
}

// queueFix queues a change of the allocator's view for the next request.
func (s *Server) queueFix(f func(*allocator)) {
	s.fixMu.Lock()
	s.fixes = append(s.fixes, f)
	s.fixMu.Unlock()
}

// applyFixes applies the queued view changes. Call it under s.mu.
func (s *Server) applyFixes() {
	s.fixMu.Lock()
	fs := s.fixes
	s.fixes = nil
	s.fixMu.Unlock()
	for _, f := range fs {
		f(s.alloc)
	}
}

// noteStore records whether the shared store took the last batch of
// claims, logging each change and setting the metric.
func (s *Server) noteStore(err error) {
	down := err != nil
	if s.storeDown.Swap(down) == down {
		return
	}
	s.Metrics.storeDown.Store(down)
	if down {
		s.log.Error("dhcp: shared lease store unreachable: renewals are ACKed up to the expiry stored, new leases refused, until it answers again", "err", err)
	} else {
		s.log.Info("dhcp: shared lease store answers again; leases are given and renewed")
	}
}

func (s *Server) refreshLoop(ctx context.Context) {
	reload := func() {
		if err := s.reloadHosts(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("dhcp: host snapshot not refreshed", "err", err)
		}
	}
	t := time.NewTicker(s.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			reload()
		case <-s.changed:
			// Another server changed the inventory: reload at once; the
			// ticker stays as the fallback when notifications stop.
			reload()
		}
	}
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func (s *Server) isKnown(mac string) bool {
	s.hostsMu.RLock()
	defer s.hostsMu.RUnlock()
	return s.hosts[mac] != nil
}

func (s *Server) lookup(mac string) (*inventory.Host, *inventory.Profile) {
	s.hostsMu.RLock()
	defer s.hostsMu.RUnlock()
	h := s.hosts[mac]
	if h == nil {
		return nil, nil
	}
	return h, s.profiles[h.Profile]
}

func (s *Server) addKnown(h *inventory.Host) {
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	for _, m := range h.MACs {
		s.hosts[m] = h
	}
}

// background queues a store write that no reply waits for (timeline events,
// the firmware seen); it is dropped, never blocking a worker, when the queue is full.
func (s *Server) background(job func(context.Context) error) {
	select {
	case s.jobs <- job:
	default:
	}
}

// eventQueuer queues a timeline event for the store's next commit without
// waiting for it (inventory.SQLite has it); done gets the outcome.
type eventQueuer interface {
	QueueEvent(ctx context.Context, e inventory.Event, done func(error)) error
}

// event queues a timeline entry, stamped now: the queue may be seconds
// behind under load, and the timeline is in the order things happened. A
// store that queues events takes it from the background job without the
// job waiting for its commit (the events of many exchanges then share
// one); otherwise the job waits for each event's commit.
func (s *Server) event(e inventory.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if q, ok := s.store.(eventQueuer); ok {
		s.background(func(ctx context.Context) error {
			return q.QueueEvent(ctx, e, func(err error) {
				if err != nil {
					s.log.Warn("dhcp: record "+e.Kind+" event of "+e.HostID, "err", err)
				}
			})
		})
		return
	}
	s.background(func(ctx context.Context) error {
		if err := s.store.AddEvent(ctx, e); err != nil {
			return fmt.Errorf("record %s event of %s: %w", e.Kind, e.HostID, err)
		}
		return nil
	})
}

var errUnchanged = errors.New("unchanged")

// noteFirmware records the firmware a known host booted with (option 93) in its Arch.
func (s *Server) noteFirmware(h *inventory.Host, firmware string) {
	if firmware == "" || h.Arch == firmware {
		return
	}
	id := h.ID()
	s.background(func(ctx context.Context) error {
		nh, err := s.store.UpdateHost(ctx, id, func(x *inventory.Host) error {
			if x.Arch == firmware {
				return errUnchanged
			}
			x.Arch = firmware
			return nil
		})
		if errors.Is(err, errUnchanged) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record firmware %s of host %s: %w", firmware, id, err)
		}
		s.addKnown(nh)
		return nil
	})
}

func (s *Server) jobLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-s.jobs:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("dhcp: " + err.Error())
			}
		}
	}
}

func (s *Server) poolStats() []poolStat {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]poolStat, len(s.subnets))
	for i, sub := range s.subnets {
		a, n := s.alloc.usage(i, now)
		out[i] = poolStat{subnet: sub.prefix.String(), active: a, size: n}
	}
	return out
}

func parseIPv4(str string) (uint32, bool) {
	a, err := netip.ParseAddr(str)
	if err != nil || !a.Is4() {
		return 0, false
	}
	return u32(a), true
}

func ipv4Of(ip net.IP) uint32 {
	v := ip.To4()
	if v == nil {
		return 0
	}
	return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
}

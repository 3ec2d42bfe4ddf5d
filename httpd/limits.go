package httpd

import (
	"container/list"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// Defaults for Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = time.Minute
	DefaultIdleTimeout       = time.Minute
	DefaultMaxConnsPerClient = 32
	// DefaultFDReserve is how many file descriptors MaxConnsFromRlimit
	// leaves to everything but HTTP connections besides TFTP's transfers:
	// DHCP sockets, the store's database files, boot files being sent,
	// the listeners, logs.
	DefaultFDReserve = 256
	minConns         = 64
)

// Limits bound what HTTP clients can hold. Over the global cap a new
// connection evicts the connection that has been waiting longest for a
// request (one not yet sending a request, or idle between requests); only
// when every connection is busy is the new one closed at once.
type Limits struct {
	// ReadHeaderTimeout bounds the wait for a request's headers
	// (DefaultReadHeaderTimeout when 0): slow-header clients are cut off.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (DefaultReadTimeout).
	ReadTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection between requests (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxConnsPerClient bounds open connections from one source address
	// (DefaultMaxConnsPerClient); over it the new connection is closed.
	MaxConnsPerClient int
	// MaxConns bounds open connections in all (0: MaxConnsFromRlimit with
	// no TFTP reserve).
	MaxConns int
}

func (l Limits) withDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxConnsPerClient <= 0 {
		l.MaxConnsPerClient = DefaultMaxConnsPerClient
	}
	if l.MaxConns <= 0 {
		l.MaxConns, _ = MaxConnsFromRlimit(0)
	}
	return l
}

// MaxConnsFromRlimit derives the global HTTP connection cap from the hard
// RLIMIT_NOFILE (Go raises the soft limit to it at start): the limit less
// the descriptors TFTP may hold (tftpTransfers: one socket per transfer
// and one file) and DefaultFDReserve for DHCP, the store and the rest. It
// returns the hard limit too, for the log.
func MaxConnsFromRlimit(tftpTransfers int) (maxConns int, hard uint64) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Max == 0 {
		return 1024, 0
	}
	hard = rl.Max
	if hard > 1<<20 {
		hard = 1 << 20 // "unlimited": cap the bookkeeping, not the kernel
	}
	n := int(hard) - 2*tftpTransfers - DefaultFDReserve
	if n < minConns {
		n = minConns
	}
	return n, rl.Max
}

// connLimiter counts open connections, in all and per source address, and
// keeps the ones waiting for a request in arrival order for eviction.
type connLimiter struct {
	mu       sync.Mutex
	max      int
	perAddr  int
	open     int
	byAddr   map[netip.Addr]int
	waiting  *list.List // of *limitedConn, oldest first
	rejected atomic.Int64
	evicted  atomic.Int64
}

func newConnLimiter(max, perAddr int) *connLimiter {
	return &connLimiter{max: max, perAddr: perAddr, byAddr: map[netip.Addr]int{}, waiting: list.New()}
}

// limitListener applies a connLimiter to accepted connections.
type limitListener struct {
	net.Listener
	l *connLimiter
}

func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := ln.l.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// admit wraps c, or closes it when its address is over its share or every
// connection is busy. At the global cap it evicts the oldest waiting one.
func (l *connLimiter) admit(c net.Conn) net.Conn {
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	a := ap.Addr().Unmap()
	l.mu.Lock()
	if l.byAddr[a] >= l.perAddr {
		l.mu.Unlock()
		l.rejected.Add(1)
		c.Close()
		return nil
	}
	var victim *limitedConn
	if l.open >= l.max {
		if e := l.waiting.Front(); e != nil {
			victim = e.Value.(*limitedConn)
			l.waiting.Remove(e)
			victim.elem = nil
		} else {
			l.mu.Unlock()
			l.rejected.Add(1)
			c.Close()
			return nil
		}
	}
	l.open++
	l.byAddr[a]++
	lc := &limitedConn{Conn: c, l: l, addr: a}
	lc.elem = l.waiting.PushBack(lc) // waiting for its first request
	l.mu.Unlock()
	if victim != nil {
		l.evicted.Add(1)
		victim.Close()
	}
	return lc
}

// connState follows http.Server's view of each connection: new and idle
// ones wait for a request (evictable), active ones do not.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.closed {
		return
	}
	switch st {
	case http.StateNew, http.StateIdle:
		if lc.elem == nil {
			lc.elem = l.waiting.PushBack(lc)
		}
	default:
		if lc.elem != nil {
			l.waiting.Remove(lc.elem)
			lc.elem = nil
		}
	}
}

func (l *connLimiter) release(lc *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.closed {
		return
	}
	lc.closed = true
	if lc.elem != nil {
		l.waiting.Remove(lc.elem)
		lc.elem = nil
	}
	l.open--
	if l.byAddr[lc.addr]--; l.byAddr[lc.addr] <= 0 {
		delete(l.byAddr, lc.addr)
	}
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	addr   netip.Addr
	elem   *list.Element // guarded by l.mu
	closed bool          // guarded by l.mu
}

func (c *limitedConn) Close() error {
	c.l.release(c)
	return c.Conn.Close()
}

// ReadFrom keeps sendfile(2) for boot files: net/http uses the connection's
// ReadFrom when it has one.
func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

// CloseWrite lets net/http half-close the connection as it does a bare TCP one.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Describe implements prometheus.Collector.
func (l *connLimiter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range l.descs() {
		ch <- d
	}
}

// descs are the limiter's metrics: open and waiting connections, the cap,
// refusals and evictions.
func (l *connLimiter) descs() [4]*prometheus.Desc {
	return [4]*prometheus.Desc{
		prometheus.NewDesc("netkick_http_connections", "Open HTTP connections (waiting: not in a request).", []string{"state"}, nil),
		prometheus.NewDesc("netkick_http_connections_max", "The global HTTP connection cap.", nil, nil),
		prometheus.NewDesc("netkick_http_connections_refused_total", "Connections closed at accept (over the per-address share, or all busy).", nil, nil),
		prometheus.NewDesc("netkick_http_connections_evicted_total", "Waiting connections closed to make room at the global cap.", nil, nil),
	}
}

// Collect implements prometheus.Collector.
func (l *connLimiter) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	open, waiting := l.open, l.waiting.Len()
	l.mu.Unlock()
	d := l.descs()
	ch <- prometheus.MustNewConstMetric(d[0], prometheus.GaugeValue, float64(open), "open")
	ch <- prometheus.MustNewConstMetric(d[0], prometheus.GaugeValue, float64(waiting), "waiting")
	ch <- prometheus.MustNewConstMetric(d[1], prometheus.GaugeValue, float64(l.max))
	ch <- prometheus.MustNewConstMetric(d[2], prometheus.CounterValue, float64(l.rejected.Load()))
	ch <- prometheus.MustNewConstMetric(d[3], prometheus.CounterValue, float64(l.evicted.Load()))
}

package httpd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// Certificate is a TLS certificate and key read from PEM files, read again
// by Reload (a renewed certificate applies to new connections).
type Certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCertificate reads the certificate (chain) and its private key.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; on an error the previous certificate stays.
func (c *Certificate) Reload() error {
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %w (both PEM; the key must be the certificate's and readable by netkick)", c.certFile, c.keyFile, err)
	}
	c.cur.Store(&kp)
	return nil
}

// Leaf is the certificate served (its names, its expiry).
func (c *Certificate) Leaf() (*x509.Certificate, error) {
	kp := c.cur.Load()
	if kp.Leaf != nil {
		return kp.Leaf, nil
	}
	return x509.ParseCertificate(kp.Certificate[0])
}

// TLSConfig is the server side: TLS 1.2 or later, the current certificate.
func (c *Certificate) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }}
}

// ServeTLS serves every route over HTTPS on ln with cfg until ctx is done
// (the admin API and the web page need it when Options.AdminTLS is set).
// ready, if not nil, receives the bound address; it takes ownership of ln.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener, cfg *tls.Config, ready func(string)) error {
	if _, p, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			s.httpsPort.Store(int32(n))
		}
	}
	hs := &http.Server{Handler: s.echo, TLSConfig: cfg, MaxHeaderBytes: 64 << 10,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout, ReadTimeout: s.limits.ReadTimeout, IdleTimeout: s.limits.IdleTimeout,
		ConnState: func(c net.Conn, st http.ConnState) {
			if tc, ok := c.(*tls.Conn); ok {
				c = tc.NetConn()
			}
			s.conns.connState(c, st)
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug), // handshake failures of scanners
	}
	tln := tls.NewListener(&limitListener{Listener: ln, l: s.conns}, cfg)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("HTTPS on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// httpsURL is where a request that came over plain HTTP should go for the
// admin API and the web page: the host it named, on the HTTPS port.
func (s *Server) httpsURL(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if p := s.httpsPort.Load(); p != 0 && p != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(int(p)))
	} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]"
	}
	return "https://" + host
}

// plainAdmin refuses the admin API over plain HTTP when HTTPS serves it:
// the token would cross the network in clear.
func (s *Server) plainAdmin(c echo.Context) error {
	if !s.opts.AdminTLS || c.Request().TLS != nil {
		return nil
	}
	u := s.httpsURL(c.Request())
	return &apiError{status: http.StatusForbidden, msg: "the admin API is served over HTTPS only on this server",
		hint: "use " + u + ": netkick --server " + u + ", and --ca FILE if a private CA signed its certificate"}
}

// plainWeb sends the web page's visitors over plain HTTP to HTTPS (GET and
// HEAD; a form post is refused) when HTTPS serves it; false: go on.
func (s *Server) plainWeb(w http.ResponseWriter, r *http.Request) bool {
	if !s.opts.AdminTLS || r.TLS != nil {
		return false
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, s.httpsURL(r)+r.URL.RequestURI(), http.StatusPermanentRedirect)
		return true
	}
	http.Error(w, "the web page is served over HTTPS only: "+s.httpsURL(r)+"/", http.StatusForbidden)
	return true
}

package httpd

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/inventory"
)

// tokenWithheld logs and records a generated config sent without its build
// token because the requester is not bound to the host.
func (s *Server) tokenWithheld(c echo.Context, hostID, name string, reason error) {
	s.metrics.withheld.Inc()
	// Logged and recorded as coalesced as the timeline is: a flood of
	// requests is one line a minute per host and file, and a counter.
	if hostID == "" || !s.gate.Admit(c.RealIP(), hostID, inventory.KindWithheld, name, time.Now()) {
		s.log.Debug("build token withheld", "file", name, "remote", c.RealIP(), "reason", reason.Error())
		return
	}
	s.log.Warn("build token withheld", "file", name, "remote", c.RealIP(), "reason", reason.Error())
	s.event(c.Request().Context(), hostID, inventory.KindWithheld, "token withheld from "+c.RealIP()+" ("+name+"): "+reason.Error())
}

// bootRoutes serves the boot tree over HTTP, for iPXE and lpxelinux.0, which
// fetch kernels and initrds many times faster this way than over TFTP:
// GET/HEAD /boot/{path} (Range requests, Content-Length) and GET /boot.ipxe?mac=.
func (s *Server) bootRoutes(e *echo.Echo) {
	e.GET("/boot/*", s.handleBootFile)
	e.HEAD("/boot/*", s.handleBootFile)
	e.GET("/boot.ipxe", s.handleIPXE)
}

// bootRequest says how this client reaches us, for generated configs.
func (s *Server) bootRequest(c echo.Context) bootfs.Request {
	u := s.urls(c)
	// Fetched over HTTP, so the loader speaks HTTP: kernels come from /boot/ too.
	// The requester is the socket's peer, never a forwarded-for header: it
	// names the host a plain grub.cfg is rendered for.
	client, _, _ := net.SplitHostPort(c.Request().RemoteAddr)
	return bootfs.Request{BaseURL: u.Base(), FileBase: u.BootRoot(), Platform: c.QueryParam("platform"), ClientIP: client}
}

func errBootDisabled() error {
	return &apiError{status: http.StatusNotFound, msg: "no boot root is being served",
		hint: "start the server with a boot root (--boot-root DIR, default <data>/boot)"}
}

// bootError maps a boot tree error to a status and hint.
func bootError(name string, err error) error {
	switch {
	case errors.Is(err, bootfs.ErrNotFound):
		return &apiError{status: http.StatusNotFound, msg: "no boot file " + name,
			hint: "put it under the boot root, or run `netkick bootfiles` for the PXE loaders"}
	case errors.Is(err, bootfs.ErrRefused):
		return &apiError{status: http.StatusForbidden, msg: "boot file name refused: " + name,
			hint: "names are relative to the boot root, without '..', backslashes or links that leave it"}
	case errors.Is(err, boot.ErrNoInstall):
		return &apiError{status: http.StatusInternalServerError, msg: err.Error(),
			hint: "fix the host's profile; `netkick render pxelinux HOST` shows what it gets"}
	default:
		return err
	}
}

func (s *Server) handleBootFile(c echo.Context) error {
	if s.opts.Boot == nil {
		return errBootDisabled()
	}
	name := c.Param("*")
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	f, err := s.opts.Boot.Open(c.Request().Context(), name, s.bootRequest(c))
	if err != nil {
		return bootError(name, err)
	}
	defer f.Close()
	if f.Generated != boot.NotGenerated {
		noteStage(c, stageBootConfig)
		noteHost(c, f.Hostname, f.HostMAC)
	}
	if f.Withheld != nil {
		s.tokenWithheld(c, f.HostID, f.Name, f.Withheld)
	}
	ctype := "application/octet-stream"
	if f.Generated != boot.NotGenerated || strings.HasPrefix(f.Name, "pxelinux.cfg/") {
		ctype = "text/plain; charset=utf-8"
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, ctype)
	if f.Generated != boot.NotGenerated {
		w.Header().Set("Cache-Control", "no-store") // decided per request from the inventory
	}
	// ServeContent answers Range and If-Modified-Since requests, HEAD, and
	// sets Content-Length.
	http.ServeContent(sendfileWriter{w}, c.Request(), f.Name, f.ModTime, f.ReadSeeker)
	return nil
}

// sendfileWriter lets ServeContent's copy reach the connection's ReadFrom, so
// the kernel sends file data (sendfile) instead of a copy loop through
// user space; status and headers still go through echo's Response.
type sendfileWriter struct{ *echo.Response }

func (w sendfileWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.Committed {
		w.WriteHeader(http.StatusOK)
	}
	if rf, ok := w.Writer.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		w.Size += n
		return n, err
	}
	return io.Copy(w.Response, r)
}

// handleIPXE serves the iPXE script for ?mac= (any spelling). Point DHCP at
// http://SERVER/boot.ipxe?mac=${net0/mac}&platform=${platform}.
func (s *Server) handleIPXE(c echo.Context) error {
	if s.opts.Boot == nil {
		return errBootDisabled()
	}
	mac := c.QueryParam("mac")
	if mac == "" {
		return badRequest("missing ?mac=", "chain http://SERVER/boot.ipxe?mac=${net0/mac}&platform=${platform}")
	}
	script, withheld, err := s.opts.Boot.IPXEBound(c.Request().Context(), mac, s.bootRequest(c))
	if err != nil {
		if errors.Is(err, bootfs.ErrRefused) {
			return badRequest(err.Error(), "send the MAC as aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff")
		}
		return bootError("boot.ipxe", err)
	}
	// Known hosts get the fetch on their timeline, between DHCP and kickstart.
	if h, err := s.opts.Store.GetHost(c.Request().Context(), mac); err == nil {
		noteHost(c, h.Hostname, h.ID())
		what := "local boot"
		switch {
		case withheld != nil:
			what = "install entry without its token"
			s.tokenWithheld(c, h.ID(), "boot.ipxe", withheld)
		case boot.Installs(h):
			what = "install entry"
		}
		s.queuedFetchEvent(c, h.ID(), inventory.KindIPXE, "boot.ipxe", "served boot.ipxe ("+what+") to "+c.RealIP())
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(script))
}

package httpd

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
)

func (s *Server) hostRoutes(api *echo.Group) {
	api.GET("/hosts", s.listHosts)
	api.GET("/hosts/:mac", s.getHost)
	api.PUT("/hosts/:mac", s.putHost)
	api.DELETE("/hosts/:mac", s.deleteHost)
	api.POST("/hosts/:mac/roles", s.postRoles)
	api.GET("/hosts/:mac/events", s.hostEvents)
	api.GET("/hosts/:mac/render/:kind", s.renderHost)
}

func (s *Server) listHosts(c echo.Context) error {
	f := inventory.HostFilter{State: inventory.State(c.QueryParam("state")), Role: c.QueryParam("role"), Cluster: c.QueryParam("cluster")}
	hosts, err := s.opts.Store.ListHosts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if hosts == nil {
		hosts = []inventory.Host{}
	}
	return c.JSON(http.StatusOK, hosts)
}

func (s *Server) getHost(c echo.Context) error {
	h, err := s.opts.Store.GetHost(c.Request().Context(), c.Param("mac"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}

// putHost creates or replaces the host whose first MAC is in the path.
func (s *Server) putHost(c echo.Context) error {
	mac, err := inventory.NormalizeMAC(c.Param("mac"))
	if err != nil {
		return badRequest(err.Error(), "PUT /api/v1/hosts/<mac> with the host's first MAC in the path")
	}
	var body struct {
		inventory.Host
		// RootPassword is clear text to be hashed (SHA-512 crypt) and forgotten.
		RootPassword string `json:"root_password,omitempty"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	h := body.Host
	if body.RootPassword != "" {
		if h.RootPasswordHash != "" {
			return badRequest("give root_password or root_password_hash, not both", "send the clear password as root_password to have it hashed, or a crypt hash as root_password_hash")
		}
		hash, err := inventory.HashPassword(body.RootPassword)
		if err != nil {
			return err
		}
		h.RootPasswordHash = hash
	}
	if len(h.MACs) == 0 {
		h.MACs = []string{mac}
	}
	if first, err := inventory.NormalizeMAC(h.MACs[0]); err != nil || first != mac {
		return badRequest("the first MAC in the body must be the MAC in the path ("+mac+")", "list the path's MAC first in \"macs\"")
	}
	ctx := c.Request().Context()
	old, err := s.opts.Store.GetHost(ctx, mac)
	switch {
	case err == nil:
		// Lifecycle fields are not set through PUT.
		h.BuildToken, h.TokenExpires, h.FirstSeen, h.LastSeen = old.BuildToken, old.TokenExpires, old.FirstSeen, old.LastSeen
		if h.State == "" {
			h.State = old.State
		}
	case errors.Is(err, inventory.ErrNotFound):
		h.BuildToken, h.TokenExpires = "", time.Time{}
	default:
		return err
	}
	if err := s.opts.Store.PutHost(ctx, &h); err != nil {
		return err
	}
	s.event(ctx, h.ID(), "updated", "host saved through the API")
	return c.JSON(http.StatusOK, h)
}

func (s *Server) deleteHost(c echo.Context) error {
	if err := s.opts.Store.DeleteHost(c.Request().Context(), c.Param("mac")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// RolesChange is the body of POST /api/v1/hosts/{mac}/roles.
type RolesChange struct {
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

func (s *Server) postRoles(c echo.Context) error {
	var rc RolesChange
	if err := decodeJSON(c, &rc); err != nil {
		return err
	}
	for _, r := range append(append([]string{}, rc.Add...), rc.Remove...) {
		if err := inventory.ValidateName("role", r); err != nil {
			return err
		}
	}
	h, err := s.opts.Store.UpdateHost(c.Request().Context(), c.Param("mac"), func(h *inventory.Host) error {
		h.Roles = ApplyRoles(h.Roles, rc)
		return nil
	})
	if err != nil {
		return err
	}
	s.event(c.Request().Context(), h.ID(), "roles", "roles now: "+joinOr(h.Roles, "none"))
	return c.JSON(http.StatusOK, h)
}

// ApplyRoles returns roles with rc.Add appended (once each) and rc.Remove taken out.
func ApplyRoles(roles []string, rc RolesChange) []string {
	out := []string{}
	drop := map[string]bool{}
	for _, r := range rc.Remove {
		drop[r] = true
	}
	seen := map[string]bool{}
	for _, r := range append(append([]string{}, roles...), rc.Add...) {
		if !drop[r] && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) hostEvents(c echo.Context) error {
	ctx := c.Request().Context()
	h, err := s.opts.Store.GetHost(ctx, c.Param("mac"))
	if err != nil {
		return err
	}
	ev, err := s.opts.Store.Events(ctx, h.ID(), 0)
	if err != nil {
		return err
	}
	if ev == nil {
		ev = []inventory.Event{}
	}
	// Details hold what clients sent (install logs, addresses): control
	// characters go out escaped, never raw.
	for i := range ev {
		ev[i].Detail = inventory.EscapeControl(ev[i].Detail, true)
	}
	return c.JSON(http.StatusOK, ev)
}

// renderHost shows exactly what a host would be served (admin; no token needed).
func (s *Server) renderHost(c echo.Context) error {
	ctx := c.Request().Context()
	switch kind := c.Param("kind"); kind {
	case "kickstart":
		out, err := s.opts.Renderer.Kickstart(ctx, s.opts.Store, kickstart.Request{Host: c.Param("mac"), Server: s.serverURL(c)})
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", out)
	case "pxelinux", "ipxe":
		req := bootfs.Request{BaseURL: s.serverURL(c)}
		if kind == "ipxe" {
			req.FileBase = req.BaseURL + "/boot/"
		}
		out, err := bootfs.Render(ctx, s.opts.Store, nil, kind, c.Param("mac"), req)
		if err != nil {
			return bootError(kind, err)
		}
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(out))
	default:
		return badRequest("cannot render "+kind, "render one of: kickstart, pxelinux, ipxe")
	}
}

// fetchEvent records an event caused by an unauthenticated request, unless
// the timeline gate coalesces it (one per host, kind, subject and minute; a
// bounded number per client address).
func (s *Server) fetchEvent(c echo.Context, hostID, kind, subject, detail string) {
	if s.gate.Admit(c.RealIP(), hostID, kind, subject, time.Now()) {
		s.event(c.Request().Context(), hostID, kind, detail)
	}
}

// remoteAddr is the client's address (echo.ExtractIPDirect: the TCP peer).
func remoteAddr(c echo.Context) netip.Addr {
	a, _ := netip.ParseAddr(c.RealIP())
	return a.Unmap()
}

func (s *Server) event(ctx context.Context, hostID, kind, detail string) {
	if err := s.opts.Store.AddEvent(ctx, inventory.Event{HostID: hostID, Kind: kind, Detail: detail}); err != nil {
		s.log.Warn("record event", "host", hostID, "kind", kind, "err", err)
	}
}

func joinOr(ss []string, empty string) string {
	if len(ss) == 0 {
		return empty
	}
	out := ss[0]
	for _, x := range ss[1:] {
		out += " " + x
	}
	return out
}

func (s *Server) profileRoutes(api *echo.Group) {
	api.GET("/profiles", func(c echo.Context) error {
		ps, err := s.opts.Store.ListProfiles(c.Request().Context())
		if err != nil {
			return err
		}
		if ps == nil {
			ps = []inventory.Profile{}
		}
		return c.JSON(http.StatusOK, ps)
	})
	api.GET("/profiles/:name", func(c echo.Context) error {
		p, err := s.opts.Store.GetProfile(c.Request().Context(), c.Param("name"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	api.PUT("/profiles/:name", func(c echo.Context) error {
		var p inventory.Profile
		if err := decodeJSON(c, &p); err != nil {
			return err
		}
		if p.Name == "" {
			p.Name = c.Param("name")
		}
		if p.Name != c.Param("name") {
			return badRequest("the name in the body must match the path", "PUT /api/v1/profiles/<name> with the same name in the body, or leave it out")
		}
		if err := s.opts.Store.PutProfile(c.Request().Context(), &p); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	api.DELETE("/profiles/:name", func(c echo.Context) error {
		if err := s.opts.Store.DeleteProfile(c.Request().Context(), c.Param("name")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
}

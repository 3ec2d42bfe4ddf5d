package httpd

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

func (s *Server) hostRoutes(api *echo.Group) {
	api.GET("/hosts", s.listHosts)
	api.GET("/summary", s.summary)
	api.POST("/hosts", s.postHost)
	api.GET("/hosts/:mac", s.getHost)
	api.PUT("/hosts/:mac", s.putHost)
	api.PATCH("/hosts/:mac", s.patchHost)
	api.DELETE("/hosts/:mac", s.deleteHost)
	api.POST("/hosts/:mac/roles", s.postRoles)
	api.GET("/hosts/:mac/events", s.hostEvents)
	api.GET("/hosts/:mac/render/:kind", s.renderHost)
}

func (s *Server) listHosts(c echo.Context) error {
	f := inventory.HostFilter{State: inventory.State(c.QueryParam("state")), Role: c.QueryParam("role"), Cluster: c.QueryParam("cluster")}
	// The list the web page keeps (patched from the store's changes since
	// its generation), not a read of every host per call.
	hosts, err := s.prov.ListHosts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if hosts == nil {
		hosts = []inventory.Host{}
	}
	v := c.QueryParams()
	if v.Has("label") || v.Has("q") || v.Has("sort") || v.Has("page") || v.Has("per_page") {
		// The web page's hosts table: filtered, sorted and paged the same way.
		q := provision.HostQuery{Label: v.Get("label"), Text: v.Get("q"), Sort: v.Get("sort")}
		if !provision.CheckSort(q.Sort) {
			return badRequest("sort "+q.Sort+": unknown column", "sort by one of "+strings.Join(provision.SortKeys, ", ")+" (a leading - reverses)")
		}
		for k, p := range map[string]*int{"page": &q.Page, "per_page": &q.PerPage} {
			if x := v.Get(k); x != "" {
				n, err := strconv.Atoi(x)
				if err != nil || n < 0 {
					return badRequest(k+" "+x+": not a page number", "give page and per_page as whole numbers, e.g. page=2&per_page=50")
				}
				*p = n
			}
		}
		p := provision.QueryHosts(hosts, q)
		c.Response().Header().Set("X-Total-Count", strconv.Itoa(p.Total))
		c.Response().Header().Set("X-Page", strconv.Itoa(p.Page))
		c.Response().Header().Set("X-Pages", strconv.Itoa(p.Pages))
		if p.Hosts == nil {
			p.Hosts = []inventory.Host{}
		}
		return c.JSON(http.StatusOK, p.Hosts)
	}
	return c.JSON(http.StatusOK, hosts)
}

// summary counts hosts by state (the web page's counts).
func (s *Server) summary(c echo.Context) error {
	hosts, err := s.prov.AllHosts(c.Request().Context())
	if err != nil {
		return err
	}
	states := map[inventory.State]int{}
	for _, st := range inventory.States() {
		states[st] = 0
	}
	for i := range hosts {
		states[hosts[i].State]++
	}
	return c.JSON(http.StatusOK, map[string]any{"hosts": len(hosts), "states": states})
}

// hostJSON answers a host with its ETag.
func hostJSON(c echo.Context, status int, h *inventory.Host) error {
	c.Response().Header().Set("ETag", provision.ETag(h))
	return c.JSON(status, h)
}

func (s *Server) getHost(c echo.Context) error {
	h, err := s.opts.Store.GetHost(c.Request().Context(), c.Param("mac"))
	if err != nil {
		return err
	}
	return hostJSON(c, http.StatusOK, h)
}

func ifMatch(c echo.Context) string { return c.Request().Header.Get("If-Match") }

// postHost adds a new host; a MAC or hostname that is taken is 409 with a
// hint, unless ?replace=1 (the host with the first MAC is replaced whole).
func (s *Server) postHost(c echo.Context) error {
	h, err := hostBody(c)
	if err != nil {
		return err
	}
	out, err := s.prov.Add(c.Request().Context(), actorOf(c), h, provision.AddOptions{Replace: c.QueryParam("replace") == "1"})
	if err != nil {
		return err
	}
	noteHost(c, out.Hostname, out.ID())
	return hostJSON(c, http.StatusCreated, out)
}

// hostBody reads a host from the request body; a clear root_password is
// hashed (SHA-512 crypt) and forgotten.
func hostBody(c echo.Context) (inventory.Host, error) {
	var body struct {
		inventory.Host
		RootPassword string `json:"root_password,omitempty"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return inventory.Host{}, err
	}
	h := body.Host
	if body.RootPassword != "" {
		if h.RootPasswordHash != "" {
			return h, badRequest("give root_password or root_password_hash, not both", "send the clear password as root_password to have it hashed, or a crypt hash as root_password_hash")
		}
		hash, err := inventory.HashPassword(body.RootPassword)
		if err != nil {
			return h, err
		}
		h.RootPasswordHash = hash
	}
	return h, nil
}

// putHost creates or replaces the host whose first MAC is in the path. Its
// state and build token are kept: they move only through build and the
// install report.
func (s *Server) putHost(c echo.Context) error {
	mac, err := inventory.NormalizeMAC(c.Param("mac"))
	if err != nil {
		return badRequest(err.Error(), "PUT /api/v1/hosts/<mac> with the host's first MAC in the path")
	}
	h, err := hostBody(c)
	if err != nil {
		return err
	}
	if len(h.MACs) == 0 {
		h.MACs = []string{mac}
	}
	if first, err := inventory.NormalizeMAC(h.MACs[0]); err != nil || first != mac {
		return badRequest("the first MAC in the body must be the MAC in the path ("+mac+")", "list the path's MAC first in \"macs\"")
	}
	out, created, err := s.prov.Replace(c.Request().Context(), actorOf(c), h, ifMatch(c))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return hostJSON(c, status, out)
}

// patchHost applies a JSON merge patch (RFC 7396): only the named fields change.
func (s *Server) patchHost(c echo.Context) error {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return badRequest("read request body: "+err.Error(), "send a JSON merge patch such as {\"timezone\": \"Asia/Tokyo\"}")
	}
	ch, err := provision.ChangeFromMergePatch(b)
	if err != nil {
		return err
	}
	h, err := s.prov.Set(c.Request().Context(), actorOf(c), c.Param("mac"), ch, ifMatch(c))
	if err != nil {
		return err
	}
	return hostJSON(c, http.StatusOK, h)
}

func (s *Server) deleteHost(c echo.Context) error {
	h, err := s.prov.Remove(c.Request().Context(), actorOf(c), c.Param("mac"), ifMatch(c))
	if err != nil {
		return err
	}
	s.log.Info("host removed", "host", h.Hostname, "mac", h.ID(), "by", actorOf(c).String())
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
	h, err := s.prov.Roles(c.Request().Context(), actorOf(c), c.Param("mac"), rc.Add, rc.Remove, ifMatch(c))
	if err != nil {
		return err
	}
	return hostJSON(c, http.StatusOK, h)
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
	out, err := s.render(c.Request().Context(), c.Param("kind"), c.Param("mac"), c.Request())
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", out)
}

// render is what `netkick render KIND HOST` prints, for a request that came
// in on r (the API and the web page show the same bytes).
func (s *Server) render(ctx context.Context, kind, key string, r *http.Request) ([]byte, error) {
	base := s.baseOf(r)
	switch kind {
	case "kickstart":
		return s.prov.RenderKickstart(ctx, key, base)
	case "pxelinux", "ipxe", "grub":
		u := s.prov.URLs().Or(base)
		req := bootfs.Request{BaseURL: u.Base()}
		if kind == "ipxe" {
			req.FileBase = u.BootRoot()
		}
		out, err := bootfs.Render(ctx, s.opts.Store, nil, kind, key, req)
		if err != nil {
			return nil, bootError(kind, err)
		}
		return []byte(out), nil
	default:
		return nil, badRequest("cannot render "+kind, "render one of: kickstart, pxelinux, ipxe, grub")
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

// eventQueue is a store that takes an event without waiting for its commit
// (inventory.SQLite has it).
type eventQueue interface {
	QueueEvent(ctx context.Context, e inventory.Event, done func(error)) error
}

// queuedFetchEvent is fetchEvent for a fetch whose reply need not wait for
// the event's commit (nothing depends on it being on disk first): the event
// is queued before the reply, so the timeline keeps the order of what the
// machine did, and committed with the next group.
func (s *Server) queuedFetchEvent(c echo.Context, hostID, kind, subject, detail string) {
	q, ok := s.opts.Store.(eventQueue)
	if !ok {
		s.fetchEvent(c, hostID, kind, subject, detail)
		return
	}
	if !s.gate.Admit(c.RealIP(), hostID, kind, subject, time.Now()) {
		return
	}
	warn := func(err error) {
		if err != nil {
			s.log.Warn("record event", "host", hostID, "kind", kind, "err", err)
		}
	}
	// Stamped now, not when the queue writes it: the timeline is in the order things happened.
	warn(q.QueueEvent(c.Request().Context(), inventory.Event{HostID: hostID, Time: time.Now(), Kind: kind, Detail: detail}, warn))
}

func (s *Server) event(ctx context.Context, hostID, kind, detail string) {
	if err := s.opts.Store.AddEvent(ctx, inventory.Event{HostID: hostID, Kind: kind, Detail: detail}); err != nil {
		s.log.Warn("record event", "host", hostID, "kind", kind, "err", err)
	}
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
		if err := s.prov.PutProfile(c.Request().Context(), actorOf(c), &p); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	})
	api.DELETE("/profiles/:name", func(c echo.Context) error {
		if err := s.prov.DeleteProfile(c.Request().Context(), actorOf(c), c.Param("name")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
}

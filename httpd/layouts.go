package httpd

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/kickstart/layout"
)

// layoutRoutes serves /api/v1/layouts: stored layouts, and the built-in ones
// (home-opt, simple) wherever no stored layout has their name.
func (s *Server) layoutRoutes(api *echo.Group) {
	api.GET("/layouts", s.listLayouts)
	api.GET("/layouts/:name", func(c echo.Context) error {
		l, err := kickstart.FindLayout(c.Request().Context(), s.opts.Store, c.Param("name"))
		if errors.Is(err, inventory.ErrNotFound) {
			return &apiError{status: http.StatusNotFound, msg: err.Error(), hint: "list layouts with GET /api/v1/layouts"}
		}
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, l)
	})
	api.GET("/layouts/:name/plan", s.layoutPlan)
	api.PUT("/layouts/:name", func(c echo.Context) error {
		var l inventory.Layout
		if err := decodeJSON(c, &l); err != nil {
			return err
		}
		if l.Name == "" {
			l.Name = c.Param("name")
		}
		if l.Name != c.Param("name") {
			return badRequest("the name in the body must match the path", "PUT /api/v1/layouts/<name> with the same name in the body, or leave it out")
		}
		if err := s.prov.PutLayout(c.Request().Context(), actorOf(c), &l); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, l)
	})
	api.DELETE("/layouts/:name", func(c echo.Context) error {
		if err := s.prov.DeleteLayout(c.Request().Context(), actorOf(c), c.Param("name")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
}

func (s *Server) listLayouts(c echo.Context) error {
	ls, err := s.opts.Store.ListLayouts(c.Request().Context())
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, l := range ls {
		have[l.Name] = true
	}
	for _, n := range layout.BuiltinNames() {
		if !have[n] {
			b, _ := layout.Builtin(n)
			ls = append(ls, *b)
		}
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	return c.JSON(http.StatusOK, ls)
}

// layoutPlan is `netkick layout plan NAME --disk SIZE… [--ram SIZE] [--firmware F]`
// as JSON: GET /api/v1/layouts/{name}/plan?disk=500G&disk=1T&ram=16G&firmware=bios.
func (s *Server) layoutPlan(c echo.Context) error {
	l, err := kickstart.FindLayout(c.Request().Context(), s.opts.Store, c.Param("name"))
	if errors.Is(err, inventory.ErrNotFound) {
		return &apiError{status: http.StatusNotFound, msg: err.Error(), hint: "list layouts with GET /api/v1/layouts"}
	}
	if err != nil {
		return err
	}
	v := c.QueryParams()
	if len(v["disk"]) == 0 {
		return badRequest("no disk given", "name each disk's size: ?disk=500G&disk=1T")
	}
	var ds []layout.Disk
	for i, d := range v["disk"] {
		n, err := inventory.ParseMiB(d)
		if err != nil {
			return badRequest("disk "+d+": "+err.Error(), "give sizes such as 500G or 1T")
		}
		ds = append(ds, layout.Disk{Name: fmt.Sprintf("sd%c", 'a'+i), SizeMiB: n})
	}
	ram := v.Get("ram")
	if ram == "" {
		ram = "4G"
	}
	ramMiB, err := inventory.ParseMiB(ram)
	if err != nil {
		return badRequest("ram "+ram+": "+err.Error(), "give the RAM as e.g. 16G")
	}
	fw := layout.Firmware(v.Get("firmware"))
	if fw == "" {
		fw = layout.FirmwareBIOS
	}
	if fw != layout.FirmwareBIOS && fw != layout.FirmwareUEFI {
		return badRequest("firmware "+string(fw)+": unknown", "want bios or uefi")
	}
	t, err := layout.Plan(l, ds, ramMiB, fw)
	if err != nil {
		return badRequest(err.Error(), "give larger disks or choose another layout")
	}
	return c.JSON(http.StatusOK, t)
}

package httpd

import (
	"errors"
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

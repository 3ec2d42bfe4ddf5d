package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/netkick/netkick/inventory"
)

// dumpRoutes serves export and import; import takes bodies up to 64 MiB (whole inventories).
func (s *Server) dumpRoutes(e *echo.Echo, api *echo.Group) {
	api.GET("/export", func(c echo.Context) error {
		d, err := inventory.Export(c.Request().Context(), s.opts.Store)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, d)
	})
	e.POST("/api/v1/import", func(c echo.Context) error {
		var d inventory.Dump
		if err := decodeJSON(c, &d); err != nil {
			return err
		}
		if err := validateDumpLayouts(&d); err != nil {
			return err
		}
		if err := ValidateImport(c.Request().Context(), s.opts.Store, &d); err != nil {
			return err
		}
		if err := inventory.Import(c.Request().Context(), s.opts.Store, &d); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]int{"profiles": len(d.Profiles), "layouts": len(d.Layouts), "clusters": len(d.Clusters), "hosts": len(d.Hosts)})
	}, middleware.BodyLimit("64M"), s.requireAdmin)
}

package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// dumpRoutes serves export and import; import takes bodies up to 64 MiB (whole inventories).
func (s *Server) dumpRoutes(e *echo.Echo, api *echo.Group) {
	api.GET("/export", func(c echo.Context) error {
		d, err := inventory.Export(c.Request().Context(), s.opts.Store)
		if err != nil {
			return err
		}
		if c.QueryParam("secrets") == "1" {
			// The BMC passwords, asked for explicitly (`netkick export --secrets`).
			if d.BMCs, err = s.prov.ExportBMCs(c.Request().Context()); err != nil {
				return err
			}
		}
		return c.JSON(http.StatusOK, d)
	})
	e.POST("/api/v1/import", func(c echo.Context) error {
		var d inventory.Dump
		if err := decodeJSON(c, &d); err != nil {
			return err
		}
		o := provision.ImportOptions{Replace: c.QueryParam("replace") == "1", DryRun: c.QueryParam("dry_run") == "1"}
		res, err := s.prov.Import(c.Request().Context(), actorOf(c), &d, o)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, res)
	}, middleware.BodyLimit("64M"), s.requireAdmin)
}

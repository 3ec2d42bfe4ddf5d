package httpd

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// maxFactsBody bounds a facts report.
const maxFactsBody = 256 << 10

// AdoptRequest is the body of POST /api/v1/discovered/{mac}/adopt.
type AdoptRequest struct {
	Hostname string   `json:"hostname"`
	Profile  string   `json:"profile,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Layout   string   `json:"layout,omitempty"`
}

func (s *Server) discoveredRoutes(e *echo.Echo, api *echo.Group) {
	api.GET("/discovered", func(c echo.Context) error {
		ds, err := s.prov.ListDiscovered(c.Request().Context())
		if err != nil {
			return err
		}
		if ds == nil {
			ds = []inventory.Discovered{}
		}
		return c.JSON(http.StatusOK, ds)
	})
	api.GET("/discovered/:mac", func(c echo.Context) error {
		d, err := s.prov.GetDiscovered(c.Request().Context(), c.Param("mac"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, d)
	})
	api.DELETE("/discovered/:mac", func(c echo.Context) error {
		if err := s.prov.RemoveDiscovered(c.Request().Context(), actorOf(c), c.Param("mac")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	api.POST("/discovered/:mac/adopt", func(c echo.Context) error {
		var req AdoptRequest
		dec := json.NewDecoder(c.Request().Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return badRequest("adopt body: "+err.Error(), `send {"hostname": "web3", "profile": "rocky-9", "roles": ["…"]}`)
		}
		h, err := s.prov.Adopt(c.Request().Context(), actorOf(c), c.Param("mac"),
			provision.AdoptOptions{Hostname: req.Hostname, Profile: req.Profile, Roles: req.Roles, Layout: req.Layout})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, h)
	})
	// The discovery environment authenticates with its per-boot token.
	e.POST("/api/v1/discovered/:mac/facts", func(c echo.Context) error {
		var f inventory.Facts
		dec := json.NewDecoder(io.LimitReader(c.Request().Body, maxFactsBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			s.log.Warn("facts report malformed", "remote", c.RealIP(), "mac", inventory.CleanText(c.Param("mac"), 64), "err", err)
			return badRequest("facts: "+err.Error(), "POST the JSON the discovery environment writes (docs/discovery.md)")
		}
		d, err := s.prov.ReportFacts(c.Request().Context(), c.Param("mac"), s.requester(c), f)
		switch {
		case errors.Is(err, provision.ErrRefused):
			return s.forbidden(c, "facts report", err)
		case err != nil:
			return err
		}
		s.log.Info("discovered machine reported its facts", "mac", d.MAC, "remote", c.RealIP(),
			"cpus", d.Facts.CPU.Count, "memory", inventory.HumanBytes(d.Facts.MemoryBytes), "disks", len(d.Facts.Disks))
		return c.JSON(http.StatusOK, map[string]string{"mac": d.MAC, "status": "recorded"})
	})
}

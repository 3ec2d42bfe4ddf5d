package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/provision/check"
)

// CheckResult is GET /api/v1/check's answer: what `netkick check` prints.
type CheckResult struct {
	OK       bool            `json:"ok"`
	Problems []check.Problem `json:"problems"`
}

func (s *Server) checkRoutes(api *echo.Group) {
	api.GET("/check", s.getCheck)
}

// getCheck runs the installation check on this server's own facts.
func (s *Server) getCheck(c echo.Context) error {
	if s.opts.Check == nil {
		return echo.NewHTTPError(http.StatusNotImplemented, "this server was started without the installation check")
	}
	ps := s.opts.Check(c.Request().Context())
	if ps == nil {
		ps = []check.Problem{}
	}
	return c.JSON(http.StatusOK, CheckResult{OK: len(ps) == 0, Problems: ps})
}

package httpd

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/power"
	"github.com/netkick/netkick/provision"
)

// PowerRequest is the body of POST /api/v1/hosts/{mac}/power.
type PowerRequest struct {
	Action string `json:"action"` // status, on, off, cycle or soft
}

func (s *Server) powerRoutes(api *echo.Group) {
	api.GET("/hosts/:mac/bmc", func(c echo.Context) error {
		v, err := s.prov.GetBMC(c.Request().Context(), c.Param("mac"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	})
	api.PATCH("/hosts/:mac/bmc", func(c echo.Context) error {
		var ch provision.BMCChange
		if err := decodeJSON(c, &ch); err != nil {
			return err
		}
		v, err := s.prov.SetBMC(c.Request().Context(), actorOf(c), c.Param("mac"), ch)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	})
	api.POST("/hosts/:mac/power", func(c echo.Context) error {
		var pr PowerRequest
		if err := decodeJSON(c, &pr); err != nil {
			return err
		}
		r, err := s.prov.Power(c.Request().Context(), actorOf(c), c.Param("mac"), pr.Action)
		return powerAnswer(c, r, err)
	})
	api.POST("/hosts/:mac/reinstall", func(c echo.Context) error {
		var ttl time.Duration
		if v := c.QueryParam("ttl"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return badRequest("ttl "+v+": want a duration such as 2h", "leave ttl out for the server's default")
			}
			ttl = d
		}
		r, err := s.prov.Reinstall(c.Request().Context(), actorOf(c), c.Param("mac"), ttl)
		return powerAnswer(c, r, err)
	})
	api.POST("/power/status", func(c echo.Context) error {
		parallel := 4
		if v := c.QueryParam("parallel"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 64 {
				return badRequest("parallel "+v+": want 1 to 64", "leave parallel out for 4 at once")
			}
			parallel = n
		}
		l, err := s.prov.PowerStatusAll(c.Request().Context(), actorOf(c), parallel)
		if err != nil {
			return err
		}
		if l == nil {
			l = []provision.PowerResult{}
		}
		return c.JSON(http.StatusOK, l)
	})
}

// powerAnswer: a request the BMC failed is 502 (504 when it did not answer)
// with the result so far, whose error says what the BMC answered; refusals
// of the request itself (unknown host, no BMC settings) keep their status.
func powerAnswer(c echo.Context, r *provision.PowerResult, err error) error {
	if err == nil {
		return c.JSON(http.StatusOK, r)
	}
	var pe *provision.Error
	if r == nil || errors.As(err, &pe) {
		return err
	}
	status := http.StatusBadGateway
	if errors.Is(err, power.ErrNoAnswer) || errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	r.Error = err.Error()
	return c.JSON(status, r)
}

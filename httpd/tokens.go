package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/inventory"
)

// TokenCreated answers POST /api/v1/tokens: the secret, shown this once.
type TokenCreated struct {
	Name  string `json:"name"`
	Token string `json:"token"`
}

// tokenRoutes serve /api/v1/tokens: named API tokens, listed by name, revocable.
func (s *Server) tokenRoutes(api *echo.Group) {
	api.GET("/tokens", func(c echo.Context) error {
		l, err := s.prov.ListTokens(c.Request().Context())
		if err != nil {
			return err
		}
		if l == nil {
			l = []inventory.APIToken{}
		}
		return c.JSON(http.StatusOK, l)
	})
	api.POST("/tokens", func(c echo.Context) error {
		var body struct {
			Name string `json:"name"`
		}
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		secret, err := s.prov.AddToken(c.Request().Context(), actorOf(c), body.Name)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, TokenCreated{Name: body.Name, Token: secret})
	})
	api.DELETE("/tokens/:name", func(c echo.Context) error {
		if err := s.prov.RevokeToken(c.Request().Context(), actorOf(c), c.Param("name")); err != nil {
			return err
		}
		s.log.Info("api token revoked", "name", c.Param("name"), "by", actorOf(c).String())
		return c.NoContent(http.StatusNoContent)
	})
}

package httpd

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/lvs"
)

// clusterRoutes serves /api/v1/clusters: LVS clusters, validated at PUT
// against the hosts and the other clusters (package lvs decides).
func (s *Server) clusterRoutes(api *echo.Group) {
	api.GET("/clusters", s.listClusters)
	api.GET("/clusters/:name", s.getCluster)
	api.PUT("/clusters/:name", s.putCluster)
	api.DELETE("/clusters/:name", s.deleteCluster)
	api.GET("/clusters/:name/plan", s.clusterPlan)
	api.GET("/clusters/:name/render/:format", s.renderCluster)
}

func (s *Server) listClusters(c echo.Context) error {
	cs, err := s.opts.Store.ListClusters(c.Request().Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []inventory.Cluster{}
	}
	return c.JSON(http.StatusOK, cs)
}

func (s *Server) getCluster(c echo.Context) error {
	cl, err := s.opts.Store.GetCluster(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cl)
}

// putCluster validates the cluster (defaults filled in) against the hosts and
// the other clusters and stores it with its defaults made explicit.
func (s *Server) putCluster(c echo.Context) error {
	name := c.Param("name")
	if err := inventory.ValidateName("cluster", name); err != nil {
		return err
	}
	var cl inventory.Cluster
	if err := decodeJSON(c, &cl); err != nil {
		return err
	}
	if cl.Name == "" {
		cl.Name = name
	}
	if cl.Name != name {
		return badRequest("the name in the body ("+cl.Name+") differs from the path ("+name+")", "PUT /api/v1/clusters/<name> with the same name in the body, or leave it out")
	}
	d, err := s.prov.PutCluster(c.Request().Context(), actorOf(c), &cl)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// deleteCluster refuses while hosts still name the cluster.
func (s *Server) deleteCluster(c echo.Context) error {
	if err := s.prov.DeleteCluster(c.Request().Context(), actorOf(c), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) plan(ctx context.Context, name string) (*lvs.Plan, error) {
	cl, err := s.opts.Store.GetCluster(ctx, name)
	if err != nil {
		return nil, err
	}
	hosts, err := s.opts.Store.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return nil, err
	}
	return lvs.NewPlan(cl, hosts)
}

// clusterPlan returns the cluster resolved against the inventory (directors,
// services and real servers with addresses): what `netkick lvs apply --server` applies.
func (s *Server) clusterPlan(c echo.Context) error {
	p, err := s.plan(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// renderCluster prints the cluster as piranha lvs.cf, keepalived.conf
// (?director=NAME, default the primary) or an ipvsadm -R rule set.
func (s *Server) renderCluster(c echo.Context) error {
	p, err := s.plan(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	out, err := lvs.Render(p, c.Param("format"), c.QueryParam("director"))
	if err != nil {
		return badRequest(err.Error(), "formats: "+strings.Join(lvs.Formats(), ", "))
	}
	return c.String(http.StatusOK, out)
}

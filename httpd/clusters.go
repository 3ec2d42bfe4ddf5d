package httpd

import (
	"context"
	"net/http"
	"sort"
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
	ctx := c.Request().Context()
	hosts, others, err := s.clusterContext(ctx)
	if err != nil {
		return err
	}
	if err := lvs.Validate(&cl, hosts, others); err != nil {
		return badRequest(err.Error(), "see docs/lvs.md for the cluster fields and what direct routing requires")
	}
	d := lvs.WithDefaults(cl)
	if err := s.opts.Store.PutCluster(ctx, &d); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// deleteCluster refuses while hosts still name the cluster.
func (s *Server) deleteCluster(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	if _, err := s.opts.Store.GetCluster(ctx, name); err != nil {
		return err
	}
	hosts, err := s.opts.Store.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return err
	}
	var users []string
	for i := range hosts {
		for _, m := range lvs.MemberOf(&hosts[i]) {
			if m == name {
				users = append(users, hosts[i].Hostname)
			}
		}
	}
	if len(users) > 0 && c.QueryParam("force") != "1" {
		sort.Strings(users)
		return &apiError{status: http.StatusConflict, msg: "hosts still name cluster " + name + ": " + strings.Join(users, ", "),
			hint: "move those hosts to another cluster first, or DELETE with ?force=1"}
	}
	if err := s.opts.Store.DeleteCluster(ctx, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) clusterContext(ctx context.Context) ([]inventory.Host, []inventory.Cluster, error) {
	hosts, err := s.opts.Store.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return nil, nil, err
	}
	others, err := s.opts.Store.ListClusters(ctx)
	if err != nil {
		return nil, nil, err
	}
	return hosts, others, nil
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

// ValidateImport checks the LVS clusters of an import document against what
// is stored plus what the document brings, as PUT /api/v1/clusters would.
func ValidateImport(ctx context.Context, st inventory.Store, d *inventory.Dump) error {
	if len(d.Clusters) == 0 {
		return nil
	}
	hosts, err := st.ListHosts(ctx, inventory.HostFilter{})
	if err != nil {
		return err
	}
	clusters, err := st.ListClusters(ctx)
	if err != nil {
		return err
	}
	return lvs.ValidateImport(clusters, hosts, d.Clusters, d.Hosts)
}

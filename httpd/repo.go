package httpd

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// repoNameRe is what a repository name under the repo root may look like.
var repoNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// repoRoutes publishes the yum repositories under Options.RepoRoot:
// GET /repo/{name}/{path} serves RepoRoot/{name}/{path} (RPMs, repodata).
func (s *Server) repoRoutes(e *echo.Echo) {
	e.GET("/repo/:name", func(c echo.Context) error {
		if !repoNameRe.MatchString(c.Param("name")) {
			return repoNotFound("no such repository")
		}
		return c.Redirect(http.StatusMovedPermanently, "/repo/"+c.Param("name")+"/")
	})
	e.GET("/repo/:name/*", s.handleRepo)
	e.HEAD("/repo/:name/*", s.handleRepo)
}

func repoNotFound(what string) error {
	return &apiError{status: http.StatusNotFound, msg: what,
		hint: "build packages into it with `netkick rpm build TARBALL --repo <repo-root>/NAME`; netkick serve --repo-root names the root"}
}

// repoPath checks the path under a repository: relative, no "..", no hidden
// elements (lock and temporary files), no NUL or backslash.
func repoPath(p string) (string, error) {
	if strings.ContainsAny(p, "\x00\\") {
		return "", errors.New("bad character in path")
	}
	var out []string
	for _, el := range strings.Split(p, "/") {
		switch {
		case el == "" || el == ".":
			continue
		case el == ".." || strings.HasPrefix(el, "."):
			return "", fmt.Errorf("path element %q is not served", el)
		}
		out = append(out, el)
	}
	if len(out) == 0 {
		return ".", nil
	}
	return strings.Join(out, "/"), nil
}

func (s *Server) handleRepo(c echo.Context) error {
	if s.opts.RepoRoot == "" {
		return repoNotFound("no repositories are published (no repo root configured)")
	}
	name := c.Param("name")
	if !repoNameRe.MatchString(name) {
		return badRequest(fmt.Sprintf("repository name %q is not valid", name), "a repository name is letters, digits, '.', '_' or '-', such as cpan")
	}
	// Echo hands the wildcard over still escaped: decode it, then check it.
	raw, err := url.PathUnescape(c.Param("*"))
	if err != nil {
		return badRequest("repository path: "+err.Error(), "ask for a file of the repository, such as repodata/repomd.xml")
	}
	rel, err := repoPath(raw)
	if err != nil {
		return badRequest("repository path: "+err.Error(), "ask for a file of the repository, such as repodata/repomd.xml")
	}
	// os.Root resolves every element (symlinks included) inside the
	// repository directory; nothing outside it can be reached.
	root, err := os.OpenRoot(filepath.Join(s.opts.RepoRoot, name))
	if err != nil {
		return repoNotFound(fmt.Sprintf("repository %q does not exist", name))
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return repoNotFound(fmt.Sprintf("%s is not in repository %q", rel, name))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		if !strings.HasSuffix(c.Request().URL.Path, "/") {
			return c.Redirect(http.StatusMovedPermanently, c.Request().URL.Path+"/")
		}
		return listRepoDir(c, f)
	}
	if !st.Mode().IsRegular() {
		return repoNotFound(fmt.Sprintf("%s is not a file", rel))
	}
	switch {
	case strings.HasSuffix(rel, ".rpm"):
		c.Response().Header().Set(echo.HeaderContentType, "application/x-rpm")
	case strings.HasSuffix(rel, ".xml"):
		c.Response().Header().Set(echo.HeaderContentType, "text/xml; charset=utf-8")
	}
	http.ServeContent(c.Response(), c.Request(), st.Name(), st.ModTime(), f)
	return nil
}

// listRepoDir prints a directory's visible entries, one per line.
func listRepoDir(c echo.Context, d *os.File) error {
	ents, err := d.ReadDir(-1)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return c.String(http.StatusOK, strings.Join(names, "\n")+"\n")
}

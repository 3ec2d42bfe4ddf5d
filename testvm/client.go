package testvm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/provision"
)

// client is the rig's one way to talk to netkick. Before the server runs it
// runs the CLI on the data directory (import, boot files, profile fetch,
// export, layout plan: what sets the data directory up); once the server
// runs, it reads and changes hosts through the HTTP API, and runs the power
// commands as an operator would (the CLI against the server, JSON output).
type client struct {
	bin  string // the netkick binary
	data string // the server's data directory
	net  *Net   // the namespace the server listens in
	http *http.Client
	// token is the admin token, read once the server has written it.
	token string
}

// apiEvent is one entry of a host's timeline (GET /api/v1/hosts/{mac}/events).
type apiEvent struct {
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
	Time   time.Time `json:"time"`
}

func newClient(bin, data string, n *Net) *client {
	return &client{bin: bin, data: data, net: n,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: n.DialContext}}}
}

// baseURL is the server's address inside the namespace.
func (c *client) baseURL() string { return "http://" + ServerIP + ":8080" }

// cli runs `netkick ARGS…` on this machine (outside the namespace: the
// commands that work on the data directory before the server runs). It
// returns stdout; the error carries stdout and stderr.
func (c *client) cli(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("netkick %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(append(stdout.Bytes(), stderr.Bytes()...)))
	}
	return stdout.String(), nil
}

// remote runs `netkick ARGS… -o json` against the server, inside the
// namespace, with the admin token, and decodes its JSON output into out.
// A command that exits non-zero may still have printed a result: out is
// decoded then too, and the error carries its output.
func (c *client) remote(ctx context.Context, out any, args ...string) error {
	shown := "netkick " + strings.Join(args, " ")
	args = append(args, "-o", "json", "--server", c.baseURL(), "--token-file", filepath.Join(c.data, "admin.token"))
	var stdout, stderr bytes.Buffer
	cmd := c.net.Command(ctx, c.bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	decErr := json.Unmarshal(stdout.Bytes(), out)
	switch {
	case runErr != nil:
		return fmt.Errorf("%s: %w: %s", shown, runErr, bytes.TrimSpace(append(stdout.Bytes(), stderr.Bytes()...)))
	case decErr != nil:
		return fmt.Errorf("%s -o json: %w: %q", shown, decErr, stdout.String())
	}
	return nil
}

// api calls the HTTP API with the admin token; body (if not nil) is sent as
// JSON and a 2xx answer is decoded into out (if not nil).
func (c *client) api(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// healthy says whether the server answers /healthz with 200.
func (c *client) healthy() bool {
	resp, err := c.http.Get(c.baseURL() + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Import loads an inventory file into the data directory.
func (c *client) Import(ctx context.Context, file string) error {
	_, err := c.cli(ctx, "import", file, "--data", c.data)
	return err
}

// Bootfiles fills the boot root with the machine's loaders.
func (c *client) Bootfiles(ctx context.Context) error {
	_, err := c.cli(ctx, "bootfiles", "--boot-root", filepath.Join(c.data, "boot"))
	return err
}

// ProfileFetch copies a profile's kernel and initrd from an install tree and
// returns the command's report (one "sha256 ok" line per checked file).
func (c *client) ProfileFetch(ctx context.Context, profile, tree string) (string, error) {
	return c.cli(ctx, "profile", "fetch", profile, "--from", tree, "--data", c.data)
}

// Export is the inventory as `netkick export` writes it (YAML).
func (c *client) Export(ctx context.Context) ([]byte, error) {
	out, err := c.cli(ctx, "export", "--data", c.data)
	return []byte(out), err
}

// LayoutPlan runs `netkick layout plan` with args (PlanArgs) and returns its
// plan; when the planner refuses, the error holds its message.
func (c *client) LayoutPlan(ctx context.Context, args []string) (string, error) {
	return c.cli(ctx, args...)
}

// Build puts a host in build mode and returns its kickstart URL (with the
// one-time token).
func (c *client) Build(ctx context.Context, mac string) (string, error) {
	var br httpd.BuildResponse
	if err := c.api(ctx, "POST", "/api/v1/hosts/"+mac+"/build", nil, &br); err != nil {
		return "", err
	}
	return br.KickstartURL, nil
}

// Host reads a host.
func (c *client) Host(ctx context.Context, mac string) (*inventory.Host, error) {
	var h inventory.Host
	return &h, c.api(ctx, "GET", "/api/v1/hosts/"+mac, nil, &h)
}

// Events reads a host's timeline.
func (c *client) Events(ctx context.Context, mac string) ([]apiEvent, error) {
	var evs []apiEvent
	return evs, c.api(ctx, "GET", "/api/v1/hosts/"+mac+"/events", nil, &evs)
}

// SetBMC gives a host BMC settings (PATCH /api/v1/hosts/{mac}/bmc), the
// password as a reference to a file.
func (c *client) SetBMC(ctx context.Context, mac, addr string, port int, user, passFile string) error {
	return c.api(ctx, "PATCH", "/api/v1/hosts/"+mac+"/bmc", provision.BMCChange{Address: &addr, Port: &port, User: &user, PasswordFile: &passFile}, nil)
}

// PowerStatus is `netkick host power HOST status`: the state netkick read
// from the host's BMC.
func (c *client) PowerStatus(ctx context.Context, mac string) (string, error) {
	return c.power(ctx, "host", "power", mac, "status")
}

// Reinstall is `netkick host reinstall HOST`: the steps it took.
func (c *client) Reinstall(ctx context.Context, mac string) ([]string, error) {
	var res []provision.PowerResult
	err := c.remote(ctx, &res, "host", "reinstall", mac)
	if err == nil && len(res) != 1 {
		err = fmt.Errorf("netkick host reinstall %s: %d results, want 1", mac, len(res))
	}
	if len(res) == 1 {
		return res[0].Steps, err
	}
	return nil, err
}

func (c *client) power(ctx context.Context, args ...string) (string, error) {
	var res []provision.PowerResult
	if err := c.remote(ctx, &res, args...); err != nil {
		return "", err
	}
	if len(res) != 1 {
		return "", fmt.Errorf("netkick %s: %d results, want 1", strings.Join(args, " "), len(res))
	}
	if res[0].Error != "" {
		return "", fmt.Errorf("netkick %s: %s", strings.Join(args, " "), res[0].Error)
	}
	return res[0].State, nil
}

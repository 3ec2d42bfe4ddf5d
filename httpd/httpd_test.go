package httpd

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/provision"
)

const (
	testToken      = "0123456789abcdef0123456789abcdef"
	testBuildToken = "feedfacefeedfacefeedfacefeedface"
)

func newTestServer(t *testing.T) (*Server, inventory.Store) {
	t.Helper()
	return newTestServerWith(t, nil)
}

// newTestServerWith is newTestServer with edit (when not nil) changing the options.
func newTestServerWith(t *testing.T, edit func(*Options)) (*Server, inventory.Store) {
	t.Helper()
	st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newTestServerOn(t, st, edit)
}

// newTestServerOn is newTestServerWith on st, a fresh store.
func newTestServerOn(t *testing.T, st inventory.Store, edit func(*Options)) (*Server, inventory.Store) {
	t.Helper()
	r, err := kickstart.New(kickstart.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.PutProfile(ctx, &inventory.Profile{Name: "centos-5.3", OS: "centos", Version: "5.3"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:4e:4b:01"}, Hostname: "a01", Profile: "centos-5.3", Timezone: "America/Montreal",
		State: inventory.StateBuild, BuildToken: testBuildToken, TokenExpires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	o := Options{Store: st, Renderer: r, AdminToken: testToken, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

type call struct {
	method, path, body string
	auth               bool
}

func (s *Server) do(c call) *httptest.ResponseRecorder {
	var req *http.Request
	if c.body != "" {
		req = httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(c.method, c.path, nil)
	}
	if c.auth {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestAPI(t *testing.T) {
	s, st := newTestServer(t)
	tests := []struct {
		name     string
		call     call
		status   int
		contains string
	}{
		{"healthz", call{"GET", "/healthz", "", false}, 200, "ok"},
		{"kickstart any spelling", call{"GET", "/ks/52-54-00-4E-4B-01?token=" + testBuildToken, "", false}, 200, "timezone --utc Europe/Paris"},
		{"kickstart without token", call{"GET", "/ks/52:54:00:4e:4b:01", "", false}, 403, "refused"},
		{"kickstart unknown MAC", call{"GET", "/ks/52:54:00:00:00:99", "", false}, 404, "no host with MAC 52:54:00:00:00:99"},
		{"kickstart bad MAC", call{"GET", "/ks/not-a-mac", "", false}, 400, "six hex octets"},
		{"api needs token", call{"GET", "/api/v1/hosts", "", false}, 401, "admin token"},
		{"api wrong token", call{"GET", "/api/v1/hosts", "", false}, 401, "hint"},
		{"list hosts", call{"GET", "/api/v1/hosts", "", true}, 200, `"hostname":"a01"`},
		{"get host by hostname", call{"GET", "/api/v1/hosts/a01", "", true}, 200, `"52:54:00:4e:4b:01"`},
		{"get unknown host", call{"GET", "/api/v1/hosts/zz", "", true}, 404, "not found"},
		{"put injection hostname", call{"PUT", "/api/v1/hosts/52:54:00:00:00:02", `{"hostname":"a$(reboot)"}`, true}, 400, "RFC 1123"},
		{"put unknown field", call{"PUT", "/api/v1/hosts/52:54:00:00:00:02", `{"hostname":"b01","evil":1}`, true}, 400, "unknown field"},
		{"put mismatched MAC", call{"PUT", "/api/v1/hosts/52:54:00:00:00:02", `{"hostname":"b01","macs":["52:54:00:00:00:03"]}`, true}, 400, "must be the MAC in the path"},
		{"put clear password refused", call{"PUT", "/api/v1/hosts/52:54:00:00:00:02", `{"hostname":"b01","root_password_hash":"hunter2"}`, true}, 400, "crypt"},
		{"put bad label", call{"PUT", "/api/v1/hosts/52:54:00:00:00:02", `{"hostname":"b01","labels":{"Bad Key":"x"}}`, true}, 400, "label"},
		{"put duplicate hostname", call{"PUT", "/api/v1/hosts/52:54:00:00:00:02", `{"hostname":"a01"}`, true}, 409, "already exists with hostname a01"},
		{"put clear and hash", call{"PUT", "/api/v1/hosts/52:54:00:00:00:02", `{"hostname":"b01","root_password":"x","root_password_hash":"$6$a$b"}`, true}, 400, "not both"},
		{"put ok", call{"PUT", "/api/v1/hosts/52-54-00-00-00-02", `{"hostname":"b01","profile":"centos-5.3","labels":{"rack":"r1"}}`, true}, 201, `"macs":["52:54:00:00:00:02"]`},
		{"tag role", call{"POST", "/api/v1/hosts/b01/roles", `{"add":["lvs-real-server","web"]}`, true}, 200, `"roles":["lvs-real-server","web"]`},
		{"untag role", call{"POST", "/api/v1/hosts/b01/roles", `{"remove":["web"]}`, true}, 200, `"roles":["lvs-real-server"]`},
		{"tag bad role", call{"POST", "/api/v1/hosts/b01/roles", `{"add":["x;y"]}`, true}, 400, "role"},
		{"kickstart of a ready host refused", call{"GET", "/ks/52:54:00:00:00:02", "", false}, 403, "refused"},
		{"render shows role", call{"GET", "/api/v1/hosts/b01/render/kickstart", "", true}, 200, "# role lvs-real-server"},
		{"render admin", call{"GET", "/api/v1/hosts/b01/render/kickstart", "", true}, 200, "%post"},
		{"render unknown kind", call{"GET", "/api/v1/hosts/b01/render/nope", "", true}, 400, "cannot render"},
		{"events", call{"GET", "/api/v1/hosts/b01/events", "", true}, 200, "roles lvs-real-server web -\\u003e lvs-real-server (by API token admin)"},
		{"profile bad version", call{"PUT", "/api/v1/profiles/x", `{"os":"centos","version":"7; reboot"}`, true}, 400, "version"},
		{"profile ok", call{"PUT", "/api/v1/profiles/c7", `{"os":"centos","version":"7.9"}`, true}, 200, `"name":"c7"`},
		{"profiles list", call{"GET", "/api/v1/profiles", "", true}, 200, `"c7"`},
		{"export", call{"GET", "/api/v1/export", "", true}, 200, `"hosts"`},
		{"metrics", call{"GET", "/metrics", "", false}, 200, `netkick_renders_total{kind="kickstart",outcome="ok"}`},
		{"delete host", call{"DELETE", "/api/v1/hosts/b01", "", true}, 204, ""},
		{"deleted host kickstart", call{"GET", "/ks/52:54:00:00:00:02", "", false}, 404, "no host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.do(tc.call)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.contains) {
				t.Fatalf("%s %s: got %d %s, want %d containing %q", tc.call.method, tc.call.path, rec.Code, rec.Body, tc.status, tc.contains)
			}
			if rec.Code >= 400 && strings.HasPrefix(tc.call.path, "/api") {
				var e map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == "" {
					t.Fatalf("error body is not {error, hint}: %s", rec.Body)
				}
			}
		})
	}
	// A clear password is hashed on input and never stored or shown.
	rec := s.do(call{"PUT", "/api/v1/hosts/52:54:00:00:00:03", `{"hostname":"c01","root_password":"hunter2 secret"}`, true})
	if rec.Code != 201 || strings.Contains(rec.Body.String(), "hunter2") || !strings.Contains(rec.Body.String(), `"root_password_hash":"$6$`) {
		t.Fatalf("clear password: %d %s", rec.Code, rec.Body)
	}
	st.DeleteHost(context.Background(), "c01")
	// Refused requests changed nothing.
	hosts, _ := st.ListHosts(context.Background(), inventory.HostFilter{})
	if len(hosts) != 1 || hosts[0].Hostname != "a01" {
		t.Fatalf("inventory after the table: %+v", hosts)
	}
}

func TestRenderErrorIs500NotEmpty(t *testing.T) {
	s, st := newTestServer(t)
	if err := st.PutHost(context.Background(), &inventory.Host{MACs: []string{"52:54:00:00:00:05"}, Hostname: "c01", Profile: "gone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := startBuild(t, context.Background(), st, "c01", time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	h, _ := st.GetHost(context.Background(), "c01")
	rec := s.do(call{"GET", "/ks/52:54:00:00:00:05?token=" + h.BuildToken, "", false})
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "profile gone") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

// startBuild puts a host in build mode as of now (which may be in the past).
func startBuild(t *testing.T, ctx context.Context, st inventory.Store, key string, ttl time.Duration, now time.Time) (*inventory.Host, error) {
	t.Helper()
	p, err := provision.New(provision.Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return p.Build(ctx, provision.Actor{Via: "test"}, key, ttl)
}

// testWriter sends server logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

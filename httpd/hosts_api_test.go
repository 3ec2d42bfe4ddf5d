package httpd

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

// TestHostEditAPI: POST adds (409 with a hint when taken), PATCH changes
// only what it names, ETag and If-Match guard writes (412 when stale), PUT
// cannot move the state, and deletes of what is used are 409 with the users.
func TestHostEditAPI(t *testing.T) {
	s, st := newTestServer(t)
	ctx := context.Background()
	if err := st.PutProfile(ctx, &inventory.Profile{Name: "centos-7.9", OS: "centos", Version: "7.9"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:4e:4b:04"}, Hostname: "b02", Profile: "centos-7.9"}); err != nil {
		t.Fatal(err)
	}
	before, _ := st.GetHost(ctx, "a01")
	etag := func() string {
		rec := s.do(call{"GET", "/api/v1/hosts/a01", "", true})
		return rec.Header().Get("ETag")
	}
	e0 := etag()
	if !strings.HasPrefix(e0, `"`) || len(e0) < 10 {
		t.Fatalf("ETag %q", e0)
	}
	withMatch := func(method, path, body, ifMatch string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for _, tc := range []struct {
		name, method, path, body, ifMatch string
		status                            int
		contains                          string
	}{
		{"add existing MAC", "POST", "/api/v1/hosts", `{"macs":["52:54:00:4e:4b:01"],"hostname":"x"}`, "", 409, "host set"},
		{"add existing hostname", "POST", "/api/v1/hosts", `{"macs":["52:54:00:00:00:31"],"hostname":"a01"}`, "", 409, "already exists with hostname a01"},
		{"add new", "POST", "/api/v1/hosts", `{"macs":["52:54:00:00:00:31"],"hostname":"c31","profile":"centos-7.9"}`, "", 201, `"state":"ready"`},
		{"add with a missing profile", "POST", "/api/v1/hosts", `{"macs":["52:54:00:00:00:32"],"hostname":"c32","profile":"nosuch"}`, "", 400, "profile nosuch does not exist"},
		{"patch stale", "PATCH", "/api/v1/hosts/a01", `{"timezone":"Asia/Tokyo"}`, `"stale"`, 412, "changed since you read it"},
		{"patch current", "PATCH", "/api/v1/hosts/a01", `{"timezone":"Asia/Tokyo"}`, e0, 200, `"timezone":"Asia/Tokyo"`},
		{"patch with the old etag again", "PATCH", "/api/v1/hosts/a01", `{"timezone":"UTC"}`, e0, 412, "changed since you read it"},
		{"patch without If-Match", "PATCH", "/api/v1/hosts/a01", `{"labels":{"rack":"r1"}}`, "", 200, `"rack":"r1"`},
		{"patch state", "PATCH", "/api/v1/hosts/a01", `{"state":"installed"}`, "", 400, "state moves only through build"},
		{"patch unreal zone", "PATCH", "/api/v1/hosts/a01", `{"timezone":"Mars/Olympus"}`, "", 400, "not an IANA zone"},
		{"patch shell in a param", "PATCH", "/api/v1/hosts/a01", `{"params":{"console":"ttyS0;reboot"}}`, "", 400, "want a console device"},
		{"patch missing host", "PATCH", "/api/v1/hosts/nosuch", `{"ip":null}`, "", 404, "not found"},
		{"put state", "PUT", "/api/v1/hosts/52:54:00:4e:4b:01", `{"hostname":"a01","state":"installed"}`, "", 400, "state cannot be set to installed through PUT"},
		{"put stale", "PUT", "/api/v1/hosts/52:54:00:4e:4b:01", `{"hostname":"a01"}`, `"stale"`, 412, "changed since you read it"},
		{"delete used profile", "DELETE", "/api/v1/profiles/centos-7.9", "", "", 409, `"users":["host b02","host c31"]`},
		{"delete unused profile refused while used", "DELETE", "/api/v1/profiles/centos-5.3", "", "", 409, `"users":["host a01"]`},
		{"delete host stale", "DELETE", "/api/v1/hosts/c31", "", `"stale"`, 412, "nothing was removed"},
		{"delete host", "DELETE", "/api/v1/hosts/c31", "", "", 204, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := withMatch(tc.method, tc.path, tc.body, tc.ifMatch)
			if code != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %q", tc.method, tc.path, code, body, tc.status, tc.contains)
			}
		})
	}
	after, _ := st.GetHost(ctx, "a01")
	if after.State != before.State || after.BuildToken != before.BuildToken || !after.TokenExpires.Equal(before.TokenExpires) || after.Timezone != "Asia/Tokyo" {
		t.Fatalf("a01 after the edits: %+v (was %+v)", after, before)
	}
	if e1 := etag(); e1 == e0 {
		t.Fatal("the ETag did not change with the host")
	}
	ev, _ := st.Events(ctx, after.ID(), 0)
	if last := ev[len(ev)-1]; last.Detail != "label rack=r1 (by API token admin)" {
		t.Fatalf("last event: %+v", last)
	}
}

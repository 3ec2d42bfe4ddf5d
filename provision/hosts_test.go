package provision

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
	"github.com/netkick/netkick/provision/urls"
)

var ops = Actor{Via: "cli", Name: "ops"}

const (
	macA01 = "52:54:00:4e:4b:01"
	macB02 = "52:54:00:4e:4b:04"
)

// newTestService is a service on a fresh SQLite store with two profiles,
// a director a01 (built, tagged, in a cluster) and a real server b02.
func newTestService(t *testing.T) (*Service, inventory.Store) {
	t.Helper()
	return newTestServiceOn(t, openSQLite(t))
}

func openSQLite(t *testing.T) inventory.Store {
	t.Helper()
	st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newTestServiceOn is newTestService on st, a fresh store.
func newTestServiceOn(t *testing.T, st inventory.Store) (*Service, inventory.Store) {
	t.Helper()
	r, err := kickstart.New(kickstart.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := urls.New("http://192.0.2.1:8080/")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Store: st, Renderer: r, URLs: u})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []inventory.Profile{{Name: "centos-7.9", OS: "centos", Version: "7.9"}, {Name: "centos-5.3", OS: "centos", Version: "5.3"}} {
		if err := s.PutProfile(ctx, ops, &p); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutCluster(ctx, &inventory.Cluster{Name: "web", Primary: "a01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, ops, inventory.Host{MACs: []string{macA01}, Hostname: "a01", Profile: "centos-7.9",
		Roles: []string{"lvs-director"}, Cluster: "web", Timezone: "America/Montreal"}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, ops, inventory.Host{MACs: []string{macB02}, Hostname: "b02", Profile: "centos-5.3"}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	return s, st
}

func lastEvent(t *testing.T, st inventory.Store, id string) inventory.Event {
	t.Helper()
	ev, err := st.Events(context.Background(), id, 0)
	if err != nil || len(ev) == 0 {
		t.Fatalf("no events for %s: %v", id, err)
	}
	return ev[len(ev)-1]
}

func TestAddRefusesExisting(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	before, _ := st.GetHost(ctx, "a01")
	for _, tc := range []struct {
		name string
		h    inventory.Host
		o    AddOptions
		err  string
		hint string
	}{
		{"same MAC", inventory.Host{MACs: []string{macA01}, Hostname: "a01-new"}, AddOptions{}, "host a01 (52:54:00:4e:4b:01) already exists with MAC 52:54:00:4e:4b:01; nothing was changed", "--replace"},
		{"same hostname", inventory.Host{MACs: []string{"52:54:00:00:00:99"}, Hostname: "A01"}, AddOptions{}, "already exists with hostname a01", "host set a01"},
		{"second MAC taken", inventory.Host{MACs: []string{"52:54:00:00:00:99", macA01}, Hostname: "x1"}, AddOptions{}, "already exists with MAC 52:54:00:4e:4b:01", "host rm a01"},
		{"replace cannot take another host's name", inventory.Host{MACs: []string{"52:54:00:00:00:99"}, Hostname: "a01"}, AddOptions{Replace: true}, "already exists with hostname a01", ""},
		{"replace cannot rename a director", inventory.Host{MACs: []string{macA01}, Hostname: "a01-new"}, AddOptions{Replace: true}, "is named by cluster web (primary a01)", ""},
		{"state cannot be given", inventory.Host{MACs: []string{"52:54:00:00:00:98"}, Hostname: "x2", State: inventory.StateBuild}, AddOptions{}, "state \"build\" cannot be given", "host build"},
		{"missing profile", inventory.Host{MACs: []string{"52:54:00:00:00:97"}, Hostname: "x3", Profile: "nosuch"}, AddOptions{}, "profile nosuch does not exist", "centos-5.3, centos-7.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Add(ctx, ops, tc.h, tc.o)
			check(t, err, tc.err, nil)
			if !strings.Contains(HintOf(err), tc.hint) {
				t.Fatalf("hint %q lacks %q", HintOf(err), tc.hint)
			}
		})
	}
	after, _ := st.GetHost(ctx, "a01")
	if ETag(before) != ETag(after) {
		t.Fatalf("a01 changed: %+v -> %+v", before, after)
	}
	// --replace means it: the host with that MAC is replaced whole.
	h, err := s.Add(ctx, ops, inventory.Host{MACs: []string{macB02}, Hostname: "b02", Profile: "centos-7.9"}, AddOptions{Replace: true})
	if err != nil || h.Profile != "centos-7.9" {
		t.Fatalf("replace: %v %+v", err, h)
	}
	if e := lastEvent(t, st, macB02); e.Kind != "replaced" || !strings.Contains(e.Detail, "profile centos-5.3 -> centos-7.9") || !strings.Contains(e.Detail, "local CLI (ops)") {
		t.Fatalf("replace event: %+v", e)
	}
}

func TestSetChangesOnlyWhatItNames(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	built, err := s.Build(ctx, ops, "a01", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tz := "Asia/Tokyo"
	h, err := s.Set(ctx, ops, "a01", Change{Timezone: &tz}, "")
	if err != nil {
		t.Fatal(err)
	}
	if h.Timezone != tz || !slices.Equal(h.Roles, []string{"lvs-director"}) || h.State != inventory.StateBuild ||
		h.BuildToken != built.BuildToken || !h.TokenExpires.Equal(built.TokenExpires) || h.Cluster != "web" || h.Profile != "centos-7.9" {
		t.Fatalf("set timezone changed more: %+v (was %+v)", h, built)
	}
	e := lastEvent(t, st, macA01)
	if e.Kind != "updated" || e.Detail != "timezone America/Montreal -> Asia/Tokyo (by local CLI (ops))" {
		t.Fatalf("event: %+v", e)
	}
	cur, _ := st.GetHost(ctx, "a01")
	v := func(s string) *string { return &s }
	for _, tc := range []struct {
		name    string
		c       Change
		ifMatch string
		err     string
		kind    error
		check   func(*inventory.Host) bool
	}{
		{"current etag", Change{IP: v("192.0.2.11")}, ETag(cur), "", nil, func(h *inventory.Host) bool { return h.IP == "192.0.2.11" }},
		{"stale etag", Change{IP: v("192.0.2.12")}, ETag(cur), "changed since you read it", ErrStale, nil},
		{"label set", Change{Labels: map[string]*string{"rack": v("r1"), "row": v("3")}}, "", "", nil, func(h *inventory.Host) bool { return h.Labels["rack"] == "r1" && h.Labels["row"] == "3" }},
		{"label removed", Change{Labels: map[string]*string{"rack": nil}}, "", "", nil, func(h *inventory.Host) bool { _, ok := h.Labels["rack"]; return !ok && h.Labels["row"] == "3" }},
		{"clear ip", Change{IP: v("")}, "", "", nil, func(h *inventory.Host) bool { return h.IP == "" }},
		{"missing profile", Change{Profile: v("nosuch")}, "", "profile nosuch does not exist", inventory.ErrInvalid, nil},
		{"missing layout", Change{Layout: v("nosuch")}, "", "layout nosuch does not exist", inventory.ErrInvalid, nil},
		{"unreal zone", Change{Timezone: v("Mars/Olympus")}, "", "not an IANA zone", inventory.ErrInvalid, nil},
		{"param with a command", Change{Params: map[string]*string{"console": v("ttyS0;reboot")}}, "", "want a console device", inventory.ErrInvalid, nil},
		{"director renamed", Change{Hostname: v("a01x")}, "", "named by cluster web (primary a01)", ErrInUse, nil},
		{"identity MAC changed", Change{MACs: &[]string{"52:54:00:00:00:77"}}, "", "first MAC is the host's identity", inventory.ErrInvalid, nil},
		{"second MAC added", Change{MACs: &[]string{macA01, "52-54-00-00-00-78"}}, "", "", nil, func(h *inventory.Host) bool { return len(h.MACs) == 2 && h.MACs[1] == "52:54:00:00:00:78" }},
		{"nothing", Change{}, "", "nothing to change", inventory.ErrInvalid, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := st.GetHost(ctx, "a01")
			evBefore, _ := st.Events(ctx, macA01, 0)
			h, err := s.Set(ctx, ops, "a01", tc.c, tc.ifMatch)
			check(t, err, tc.err, tc.kind)
			evAfter, _ := st.Events(ctx, macA01, 0)
			if err != nil {
				if after, _ := st.GetHost(ctx, "a01"); ETag(after) != ETag(before) {
					t.Fatalf("refused change still changed a01")
				}
				if len(evAfter) != len(evBefore) {
					t.Fatalf("refused change recorded an event: %+v", evAfter[len(evAfter)-1])
				}
				return
			}
			if len(evAfter) != len(evBefore)+1 || !strings.HasSuffix(evAfter[len(evAfter)-1].Detail, "(by local CLI (ops))") {
				t.Fatalf("a change makes one event naming who: %d -> %d events", len(evBefore), len(evAfter))
			}
			if !tc.check(h) {
				t.Fatalf("after set: %+v", h)
			}
		})
	}
}

func TestSetHostnameTaken(t *testing.T) {
	s, _ := newTestService(t)
	name := "A01"
	_, err := s.Set(context.Background(), ops, "b02", Change{Hostname: &name}, "")
	check(t, err, "hostname A01 already belongs to host 52:54:00:4e:4b:01", inventory.ErrConflict)
}

func TestReplaceKeepsLifecycle(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	built, _ := s.Build(ctx, ops, "b02", time.Hour)
	h, created, err := s.Replace(ctx, ops, inventory.Host{MACs: []string{macB02}, Hostname: "b02", Profile: "centos-7.9"}, "")
	if err != nil || created || h.State != inventory.StateBuild || h.BuildToken != built.BuildToken {
		t.Fatalf("replace: %v created=%v %+v", err, created, h)
	}
	_, _, err = s.Replace(ctx, ops, inventory.Host{MACs: []string{macB02}, Hostname: "b02", State: inventory.StateInstalled}, "")
	check(t, err, "state cannot be set to installed through PUT", inventory.ErrInvalid)
	if cur, _ := st.GetHost(ctx, "b02"); cur.State != inventory.StateBuild {
		t.Fatalf("state moved: %s", cur.State)
	}
	_, _, err = s.Replace(ctx, ops, inventory.Host{MACs: []string{"52:54:00:00:00:55"}, Hostname: "n1"}, `"0000"`)
	check(t, err, "does not exist, so no version matches", ErrStale)
	h, created, err = s.Replace(ctx, ops, inventory.Host{MACs: []string{"52:54:00:00:00:55"}, Hostname: "n1"}, "")
	if err != nil || !created || h.State != inventory.StateReady {
		t.Fatalf("create through replace: %v %v %+v", err, created, h)
	}
}

func TestDeleteInUse(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	if err := st.PutLayout(ctx, &inventory.Layout{Name: "db"}); err != nil {
		t.Fatal(err)
	}
	lay := "db"
	if _, err := s.Set(ctx, ops, "b02", Change{Layout: &lay}, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		do    func() error
		err   string
		users string
	}{
		{"profile in use", func() error { return s.DeleteProfile(ctx, ops, "centos-5.3") }, "profile centos-5.3 is used by host b02", "host b02"},
		{"layout in use", func() error { return s.DeleteLayout(ctx, ops, "db") }, "layout db is used by host b02", "host b02"},
		{"cluster in use", func() error { return s.DeleteCluster(ctx, ops, "web") }, "cluster web is used by host a01", "host a01"},
		{"director named by a cluster", func() error { _, err := s.Remove(ctx, ops, "a01", ""); return err }, "host a01 is named by cluster web (primary)", "cluster web (primary)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			check(t, err, tc.err, ErrInUse)
			var pe *Error
			if !errors.As(err, &pe) || strings.Join(pe.Users, ",") != tc.users {
				t.Fatalf("users: %+v", pe)
			}
		})
	}
	if _, err := st.GetProfile(ctx, "centos-5.3"); err != nil {
		t.Fatal("the used profile was deleted")
	}
	if _, err := s.Remove(ctx, ops, "b02", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProfile(ctx, ops, "centos-5.3"); err != nil {
		t.Fatalf("unused profile: %v", err)
	}
	if err := s.DeleteProfile(ctx, ops, "centos-5.3"); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("deleted twice: %v", err)
	}
}

func TestRoles(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	h, err := s.Roles(ctx, ops, "b02", []string{"lvs-real-server", "web"}, nil, "")
	if err != nil || strings.Join(h.Roles, " ") != "lvs-real-server web" {
		t.Fatalf("tag: %v %+v", err, h)
	}
	if e := lastEvent(t, st, macB02); e.Kind != "roles" || e.Detail != "roles - -> lvs-real-server web (by local CLI (ops))" {
		t.Fatalf("event %+v", e)
	}
	_, err = s.Roles(ctx, ops, "b02", []string{"bad role"}, nil, "")
	check(t, err, "role \"bad role\"", inventory.ErrInvalid)
	for _, tc := range []struct {
		name             string
		roles, add, drop []string
		want             string
	}{
		{"add to none", nil, []string{"a"}, nil, "a"},
		{"add twice", []string{"a"}, []string{"a", "b", "b"}, nil, "a b"},
		{"remove", []string{"a", "b"}, nil, []string{"a"}, "b"},
		{"remove missing", []string{"a"}, nil, []string{"z"}, "a"},
		{"add and remove same", []string{}, []string{"a"}, []string{"a"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(ApplyRoles(tc.roles, tc.add, tc.drop), " "); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

// binder refuses every address but one, as a neighbour-table check would.
type binder struct{ allow string }

func (b binder) Bind(_ context.Context, h *inventory.Host, r Requester) error {
	if r.Addr != b.allow {
		return errors.New("address " + r.Addr + " is not bound to " + h.Hostname)
	}
	return nil
}

func TestKickstartFetch(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	_, err := s.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.22", Token: "x"})
	check(t, err, "not in build mode", ErrRefused)
	h, _ := s.Build(ctx, ops, "b02", time.Hour)
	for _, tc := range []struct {
		name string
		r    Requester
		err  string
	}{
		{"no token", Requester{Addr: "192.0.2.22"}, "no token presented"},
		{"wrong token", Requester{Addr: "192.0.2.22", Token: strings.Repeat("0", 32)}, "wrong token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Kickstart(ctx, macB02, tc.r)
			check(t, err, tc.err, ErrRefused)
		})
	}
	f, err := s.Kickstart(ctx, "52-54-00-4E-4B-04", Requester{Addr: "192.0.2.22", Token: h.BuildToken})
	if err != nil {
		t.Fatal(err)
	}
	if f.Host.State != inventory.StateInstalling || !bytes.Contains(f.Body, []byte("http://192.0.2.1:8080/api/v1/hosts/"+macB02+"/built?token="+h.BuildToken)) {
		t.Fatalf("fetch: state %s\n%s", f.Host.State, f.Body)
	}
	if e := lastEvent(t, st, macB02); e.Kind != "kickstart" || e.Detail != "kickstart fetched by 192.0.2.22" {
		t.Fatalf("event %+v", e)
	}
	// The admin's render is the same bytes.
	out, err := s.RenderKickstart(ctx, "b02", "")
	if err != nil || !bytes.Equal(out, f.Body) {
		t.Fatalf("render differs from the served kickstart: %v", err)
	}
	// A binder plugs in: its refusal is a refusal.
	s.o.Binder = binder{allow: "192.0.2.22"}
	_, err = s.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.99", Token: h.BuildToken})
	check(t, err, "not bound to b02", ErrRefused)
	if _, err := s.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.22", Token: h.BuildToken}); err != nil {
		t.Fatal(err)
	}
	// The report burns the token.
	if _, err := s.Report(ctx, macB02, Requester{Addr: "192.0.2.99", Token: h.BuildToken}, boot.EventBuilt, ""); !errors.Is(err, ErrRefused) {
		t.Fatalf("report from an unbound address: %v", err)
	}
	done, err := s.Report(ctx, macB02, Requester{Addr: "192.0.2.22", Token: h.BuildToken}, boot.EventBuilt, "")
	if err != nil || done.State != inventory.StateInstalled || done.BuildToken != "" {
		t.Fatalf("report: %v %+v", err, done)
	}
	_, err = s.Report(ctx, macB02, Requester{Addr: "192.0.2.22", Token: h.BuildToken}, boot.EventBuilt, "")
	check(t, err, "not building", ErrRefused)
}

package provision

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

func TestImportRoundTripAndBuildingHosts(t *testing.T) {
	src, srcStore := newTestService(t)
	ctx := context.Background()
	// The fixture's cluster is not a complete LVS cluster; leave it out.
	none := ""
	if _, err := src.Set(ctx, ops, "a01", Change{Cluster: &none}, ""); err != nil {
		t.Fatal(err)
	}
	if err := srcStore.DeleteCluster(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	old, err := src.Build(ctx, ops, "b02", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d, err := inventory.Export(ctx, src.Store())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(d)

	dst, dstStore := newTestService(t)
	// Start the destination empty.
	for _, h := range []string{"a01", "b02"} {
		if h == "a01" {
			if err := dstStore.DeleteCluster(ctx, "web"); err != nil {
				t.Fatal(err)
			}
		}
		if err := dstStore.DeleteHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	dry, err := dst.Import(ctx, ops, cloneDump(t, d), ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dry.Added, ","); got != "host a01,host b02" || len(dry.Unchanged) != 2 {
		t.Fatalf("dry run: %+v", dry)
	}
	if hs, _ := dstStore.ListHosts(ctx, inventory.HostFilter{}); len(hs) != 0 {
		t.Fatalf("dry run wrote %d hosts", len(hs))
	}
	res, err := dst.Import(ctx, ops, cloneDump(t, d), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "host b02 is restored in build mode with a fresh build token") {
		t.Fatalf("notes: %+v", res.Notes)
	}
	// The restored building host can fetch its kickstart with its new token, not the old one.
	b02, _ := dstStore.GetHost(ctx, "b02")
	if b02.BuildToken == "" || b02.BuildToken == old.BuildToken {
		t.Fatalf("b02 token after import: %q (old %q)", b02.BuildToken, old.BuildToken)
	}
	if _, err := dst.Kickstart(ctx, macB02, Requester{Addr: "192.0.2.22", Token: b02.BuildToken}); err != nil {
		t.Fatalf("restored building host cannot fetch: %v", err)
	}
	// Export of the import is the same document (the state moved by the fetch aside).
	back, _ := inventory.Export(ctx, dstStore)
	for i := range back.Hosts {
		if back.Hosts[i].Hostname == "b02" {
			back.Hosts[i].State = inventory.StateBuild
		}
		back.Hosts[i].TokenExpires = time.Time{}
	}
	for i := range d.Hosts {
		d.Hosts[i].TokenExpires = time.Time{}
	}
	want, _ = json.Marshal(d)
	got, _ := json.Marshal(back)
	if string(got) != string(want) {
		t.Fatalf("round trip differs:\n%s\n%s", got, want)
	}
	// Import again: nothing changes, and b02's install under way (it has
	// fetched its kickstart) keeps its token.
	res, err = dst.Import(ctx, ops, cloneDump(t, d), ImportOptions{})
	if err != nil || len(res.Added)+len(res.Updated)+len(res.Notes) != 0 || len(res.Unchanged) != 4 {
		t.Fatalf("second import: %v %+v", err, res)
	}
	if again, _ := dstStore.GetHost(ctx, "b02"); again.BuildToken != b02.BuildToken || again.State != inventory.StateInstalling {
		t.Fatalf("second import changed b02's build: token %q -> %q, state %s", b02.BuildToken, again.BuildToken, again.State)
	}
	if _, err := dst.Report(ctx, macB02, Requester{Addr: "192.0.2.22", Token: b02.BuildToken}, boot.EventBuilt, ""); err != nil {
		t.Fatalf("b02 cannot report its install after the second import: %v", err)
	}
}

func TestImportRefusals(t *testing.T) {
	s, st := newTestService(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		d    inventory.Dump
		o    ImportOptions
		err  string
	}{
		{"missing profile", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "nosuch"}}}, ImportOptions{}, "hosts[0] (n1): host n1: profile nosuch does not exist"},
		{"profile only in the document", inventory.Dump{Profiles: []inventory.Profile{{Name: "c8", OS: "centos", Version: "8.5"}}, Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "c8"}}}, ImportOptions{DryRun: true}, ""},
		{"replace drops the profile a host keeps", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "centos-7.9"}}}, ImportOptions{Replace: true}, "profile centos-7.9 does not exist"},
		{"unreal zone", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Timezone: "Mars/Olympus"}}}, ImportOptions{}, "not an IANA zone"},
		{"bad param", inventory.Dump{Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Params: map[string]string{"console": "x;reboot"}}}}, ImportOptions{}, "param console"},
		{"bad layout", inventory.Dump{Layouts: []inventory.Layout{{Name: "db"}}}, ImportOptions{}, "layouts[0] (db)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Import(ctx, ops, &tc.d, tc.o)
			check(t, err, tc.err, inventory.ErrInvalid)
		})
	}
	if hs, _ := st.ListHosts(ctx, inventory.HostFilter{}); len(hs) != 2 {
		t.Fatalf("a refused import wrote: %d hosts", len(hs))
	}
	// Replace: what the document does not list goes.
	d := inventory.Dump{Profiles: []inventory.Profile{{Name: "centos-7.9", OS: "centos", Version: "7.9"}},
		Hosts: []inventory.Host{{MACs: []string{"52:54:00:00:01:01"}, Hostname: "n1", Profile: "centos-7.9"}}}
	res, err := s.Import(ctx, ops, &d, ImportOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Removed, ","); got != "profile centos-5.3,cluster web,host a01,host b02" {
		t.Fatalf("removed: %q", got)
	}
	if hs, _ := st.ListHosts(ctx, inventory.HostFilter{}); len(hs) != 1 || hs[0].Hostname != "n1" {
		t.Fatalf("after replace: %+v", hs)
	}
}

func cloneDump(t *testing.T, d *inventory.Dump) *inventory.Dump {
	t.Helper()
	b, _ := json.Marshal(d)
	var out inventory.Dump
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i := range out.Hosts {
		out.Hosts[i].BuildToken = ""
	}
	return &out
}

func TestImportBuildOf(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	host := func(st inventory.State, tok string, exp time.Time) *inventory.Host {
		return &inventory.Host{MACs: []string{macB02}, Hostname: "b02", State: st, BuildToken: tok, TokenExpires: exp}
	}
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	for _, tc := range []struct {
		name        string
		doc, stored *inventory.Host
		want        importBuild
	}{
		{"ready in the document, new host", host(inventory.StateReady, "", time.Time{}), nil, buildNone},
		{"ready in the document, stored building: the document takes it out", host(inventory.StateReady, "", time.Time{}), host(inventory.StateBuild, "t", later), buildNone},
		{"installed in the document", host(inventory.StateInstalled, "", time.Time{}), host(inventory.StateInstalled, "", time.Time{}), buildNone},
		{"build in the document, new host: fresh", host(inventory.StateBuild, "", time.Time{}), nil, buildFresh},
		{"build in the document, stored ready: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateReady, "", time.Time{}), buildFresh},
		{"build in the document, stored building: keep", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", later), buildKeep},
		{"installing in the document, stored installing: keep", host(inventory.StateInstalling, "", time.Time{}), host(inventory.StateInstalling, "t", later), buildKeep},
		{"build in the document, stored installing: keep", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateInstalling, "t", later), buildKeep},
		{"stored token without expiry: keep", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", time.Time{}), buildKeep},
		{"stored token expired: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", earlier), buildFresh},
		{"stored token expires now: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "t", now), buildFresh},
		{"stored building without a token: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateBuild, "", later), buildFresh},
		{"stored failed with an old token: fresh", host(inventory.StateBuild, "", time.Time{}), host(inventory.StateFailed, "t", later), buildFresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := importBuildOf(tc.doc, tc.stored, now); got != tc.want {
				t.Fatalf("importBuildOf = %d, want %d", got, tc.want)
			}
		})
	}
}

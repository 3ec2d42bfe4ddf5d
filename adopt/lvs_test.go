package adopt

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/lvs"
)

// siteHosts is the inventory after the dnsmasq fixture was imported: the
// machines the lvs.cf fixtures name by address.
func siteHosts(t *testing.T) *inventory.Dump {
	t.Helper()
	r, err := ReadDnsmasq(mustRead(t, "testdata/dnsmasq.conf", "testdata/dnsmasq.d"))
	if err != nil {
		t.Fatal(err)
	}
	Reconcile(&inventory.Dump{}, r)
	return &inventory.Dump{Hosts: r.Dump.Hosts}
}

// readLVS reads lvs.cf text as file name and reconciles it with stored.
func readLVS(t *testing.T, stored *inventory.Dump, name, text string) (*Result, []string) {
	t.Helper()
	r, err := ReadLVS([]File{{Name: name, Data: []byte(text)}})
	if err != nil {
		t.Fatal(err)
	}
	conflicts := Conflicts(stored, r)
	Reconcile(stored, r)
	return r, conflicts
}

// apply merges what an import of r writes into stored (by host ID and
// cluster name), as provision.Import does in merge mode.
func apply(stored *inventory.Dump, r *Result) *inventory.Dump {
	out := &inventory.Dump{}
	hosts := map[string]inventory.Host{}
	for _, h := range stored.Hosts {
		hosts[h.ID()] = h
	}
	for _, h := range r.Dump.Hosts {
		hosts[h.ID()] = h
	}
	for _, h := range hosts {
		out.Hosts = append(out.Hosts, h)
	}
	sort.Slice(out.Hosts, func(i, j int) bool { return out.Hosts[i].Hostname < out.Hosts[j].Hostname })
	cl := map[string]inventory.Cluster{}
	for _, c := range stored.Clusters {
		cl[c.Name] = c
	}
	for _, c := range r.Dump.Clusters {
		cl[c.Name] = c
	}
	for _, c := range cl {
		out.Clusters = append(out.Clusters, c)
	}
	sort.Slice(out.Clusters, func(i, j int) bool { return out.Clusters[i].Name < out.Clusters[j].Name })
	return out
}

// TestLVSGolden reads the four lvs.cf fixtures (direct routing with a backup,
// NAT, tunnel, a single director) against the hosts of the dnsmasq fixture.
// The direct clusters pass the import's own check, everything else is
// listed, and a second import of the same files changes nothing.
func TestLVSGolden(t *testing.T) {
	stored := siteHosts(t)
	files := mustRead(t, "testdata/lvs")
	if len(files) != 4 {
		t.Fatalf("%d lvs fixtures, want 4", len(files))
	}
	r, err := ReadLVS(files)
	if err != nil {
		t.Fatal(err)
	}
	conflicts := Conflicts(stored, r)
	Reconcile(stored, r)
	var sb strings.Builder
	sb.WriteString(render(t, r))
	sb.WriteString("# conflicts\n")
	for _, c := range conflicts {
		sb.WriteString(c + "\n")
	}
	golden(t, "lvs.golden", sb.String())

	var names []string
	for _, c := range r.Dump.Clusters {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "standalone web" {
		t.Fatalf("clusters imported = %v, want standalone and web (mail is NAT, tunnel is a tunnel)", names)
	}
	if err := r.Dump.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := lvs.ValidateImport(stored.Clusters, stored.Hosts, r.Dump.Clusters, r.Dump.Hosts); err != nil {
		t.Fatalf("the import would refuse the clusters: %v", err)
	}
	for _, want := range []string{"network = nat", "network = tunnel", "virtual SMTP / server mx1 (10.11.12.21)",
		"web.cf:52: virtual WWW / server web04: active = 0", "virtual DNS: active = 0", "192.0.2.17", "tcp_timeout = 900",
		"pmask = 255.255.255.255", "load_monitor = uptime", "port 2121", "weight 3", "virtual WWW / host web05"} {
		if len(notesWith(r, want)) == 0 {
			t.Errorf("no note mentions %q", want)
		}
	}
	if len(conflicts) != 1 || !strings.Contains(conflicts[0], "real server www5 at 192.0.2.15") || !strings.Contains(conflicts[0], "web05") {
		t.Errorf("conflicts = %q, want the one naming www5 and web05", conflicts)
	}

	// A second run against what the first wrote changes nothing.
	after := apply(stored, r)
	r2, err := ReadLVS(files)
	if err != nil {
		t.Fatal(err)
	}
	if c := Conflicts(after, r2); !reflect.DeepEqual(c, conflicts) {
		t.Errorf("second run conflicts %q, want %q", c, conflicts)
	}
	Reconcile(after, r2)
	if len(r2.Dump.Hosts) != 0 {
		t.Errorf("second run changes hosts %v, want none", r2.Dump.Hosts)
	}
	if !reflect.DeepEqual(r2.Dump.Clusters, r.Dump.Clusters) {
		t.Errorf("second run gives other clusters:\n%+v\n%+v", r2.Dump.Clusters, r.Dump.Clusters)
	}
}

func TestLVSVariants(t *testing.T) {
	const head = "serial_no = 2\nprimary = 192.0.2.41\nservice = lvs\n"
	const backup = "backup_active = 1\nbackup = 192.0.2.42\n"
	svc := func(name, sched, extra, servers string) string {
		return "virtual " + name + " {\n active = 1\n address = 192.0.2.80 eth0:1\n port = 80\n scheduler = " + sched + "\n" + extra + servers + "}\n"
	}
	srv := func(name, ip, extra string) string {
		return " server " + name + " {\n  address = " + ip + "\n  active = 1\n" + extra + " }\n"
	}
	web := srv("web01", "192.0.2.11", "") + srv("web02", "192.0.2.12", "")
	for _, tc := range []struct {
		name, cf string
		cluster  string // JSON the cluster must contain, "-" for no cluster, "" for either
		hosts    string // "name:roles:cluster:params;…" of the hosts changed
		note     string // a note that must be there
		conflict string // a conflict that must be there
	}{
		{name: "direct with backup, lc", cf: head + backup + "network = direct\n" + svc("WWW", "lc", "", web),
			cluster: `"primary":"lb01","backup":"lb02","network":"direct","subnet":"192.0.2.0/24"`,
			hosts:   "lb01:lvs-director:x:;lb02:lvs-director:x:;web01:lvs-real-server:x:;web02:lvs-real-server:x:", note: "subnet"},
		{name: "wlc and weights", cf: head + svc("WWW", "wlc", "", srv("web01", "192.0.2.11", "  weight = 5\n")+srv("web02", "192.0.2.12", "  weight = 0\n")),
			cluster: `"scheduler":"wlc"`, hosts: "lb01:lvs-director:x:;web01:lvs-real-server:x:lvs_weight=5;web02:lvs-real-server:x:lvs_weight=0"},
		{name: "rr persistent", cf: head + svc("WWW", "rr", " persistent = 300\n", web), cluster: `"scheduler":"rr","interface":"eth0:1","lo_alias":"lo:0","persistent":300`},
		{name: "unknown scheduler refused by the cluster check", cf: head + svc("WWW", "fastest", "", web), cluster: "-", note: `scheduler "fastest"`},
		{name: "nat not imported", cf: head + "network = nat\nnat_router = 10.0.0.1 eth1:1\n" + svc("WWW", "lc", "", web), cluster: "-", note: "netkick implements direct routing only"},
		{name: "tunnel not imported", cf: head + "network = tunnel\n" + svc("WWW", "lc", "", web), cluster: "-", note: "virtual WWW / server web01 (192.0.2.11): in a tunnel cluster"},
		{name: "primary unknown", cf: "primary = 192.0.2.240\nservice = lvs\n" + svc("WWW", "lc", "", web), cluster: "-", note: "primary director 192.0.2.240"},
		{name: "backup unknown", cf: head + "backup = 192.0.2.241\n" + svc("WWW", "lc", "", web), cluster: "-", note: "backup director 192.0.2.241"},
		{name: "backup switched off", cf: head + "backup_active = 0\nbackup = 192.0.2.42\n" + svc("WWW", "lc", "", web),
			cluster: `"primary":"lb01","network"`, hosts: "lb01:lvs-director:x:;web01:lvs-real-server:x:;web02:lvs-real-server:x:", note: "imported without a backup"},
		{name: "director listed as real server", cf: head + svc("WWW", "lc", "", web+srv("lb01", "192.0.2.41", "")), note: "a director cannot balance to itself"},
		{name: "real server unknown", cf: head + svc("WWW", "lc", "", web+srv("web99", "192.0.2.199", "")), note: "web99 (192.0.2.199)"},
		{name: "real server name elsewhere", cf: head + svc("WWW", "lc", "", web+srv("web03", "192.0.2.113", "")), conflict: "the inventory's host web03 is at \"192.0.2.13\""},
		{name: "real server renamed", cf: head + svc("WWW", "lc", "", srv("www1", "192.0.2.11", "")), conflict: "names real server www1 at 192.0.2.11; the inventory's host at that address is web01"},
		{name: "only services switched off", cf: head + "virtual WWW {\n active = 0\n address = 192.0.2.80 eth0:1\n port = 80\n" + web + "}\n", cluster: "-", note: "no active virtual server"},
		{name: "comments and blank lines", cf: "# generated\n\n" + head + "# a comment\n" + svc("WWW", "lc", "", web), cluster: `"name":"t"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, conflicts := readLVS(t, siteHosts(t), "t.cf", tc.cf)
			switch tc.cluster {
			case "":
			case "-":
				if len(r.Dump.Clusters) != 0 {
					t.Fatalf("clusters %+v imported, want none", r.Dump.Clusters)
				}
			default:
				if len(r.Dump.Clusters) != 1 {
					t.Fatalf("clusters %+v, want one; notes %v", r.Dump.Clusters, r.Notes)
				}
				b, _ := json.Marshal(r.Dump.Clusters[0])
				if !strings.Contains(string(b), tc.cluster) {
					t.Fatalf("cluster %s lacks %s", b, tc.cluster)
				}
			}
			if tc.hosts != "" {
				var got []string
				for _, h := range r.Dump.Hosts {
					var ps []string
					for k, v := range h.Params {
						ps = append(ps, k+"="+v)
					}
					sort.Strings(ps)
					c := h.Cluster
					if c == r.Dump.Clusters[0].Name {
						c = "x"
					}
					got = append(got, h.Hostname+":"+strings.Join(h.Roles, ",")+":"+c+":"+strings.Join(ps, ","))
				}
				sort.Strings(got)
				if strings.Join(got, ";") != tc.hosts {
					t.Fatalf("hosts changed:\n%s\nwant\n%s", strings.Join(got, ";"), tc.hosts)
				}
			}
			if tc.note != "" {
				wantNote(t, r, tc.note)
			}
			if tc.conflict != "" && !strings.Contains(strings.Join(conflicts, "\n"), tc.conflict) {
				t.Fatalf("conflicts %q lack %q", conflicts, tc.conflict)
			}
		})
	}
}

// TestLVSSecondCluster: a real server already in another cluster joins the
// new one through lvs_clusters, keeping its first cluster.
func TestLVSSecondCluster(t *testing.T) {
	stored := siteHosts(t)
	for i := range stored.Hosts {
		if stored.Hosts[i].Hostname == "web01" {
			stored.Hosts[i].Roles, stored.Hosts[i].Cluster = []string{inventory.RoleLVSRealServer}, "old"
		}
	}
	r, _ := readLVS(t, stored, "new.cf", "primary = 192.0.2.41\nservice = lvs\nvirtual W {\n address = 192.0.2.80 eth0:1\n port = 80\n server a {\n  address = 192.0.2.11\n }\n}\n")
	i := hostByName(t, r, "web01")
	h := r.Dump.Hosts[i]
	if h.Cluster != "old" || h.Params[inventory.ParamLVSClusters] != "new" || !lvs.IsMember(&h, "new") || !lvs.IsMember(&h, "old") {
		t.Fatalf("web01 = cluster %q params %v, want old plus lvs_clusters=new", h.Cluster, h.Params)
	}
}

func TestReadLVSErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, text, want string }{
		{"bad cluster name from the file", "-x.cf", "primary = 1.2.3.4\n", "rename the file"},
		{"broken block", "a.cf", "virtual x {\n", "a.cf: "},
		{"failover service", "a.cf", "failover f {\n}\n", "failover"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadLVS([]File{{Name: tc.file, Data: []byte(tc.text)}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// FuzzReadLVS: no lvs.cf makes the reader or the matching panic, and every
// cluster it hands over passes the check the import applies.
func FuzzReadLVS(f *testing.F) {
	for _, n := range []string{"web.cf", "mail.cf", "tunnel.cf", "standalone.cf"} {
		fs, err := ReadPath("testdata/lvs/" + n)
		if err == nil {
			f.Add(fs[0].Data)
		}
	}
	f.Add([]byte("primary = 192.0.2.41\nvirtual a {\naddress = 192.0.2.80 eth0:1\nport = 1\nserver b {\naddress = 192.0.2.41\n}\n}\n"))
	stored := &inventory.Dump{Hosts: []inventory.Host{
		{MACs: []string{"52:54:00:00:00:01"}, Hostname: "d1", IP: "192.0.2.41"},
		{MACs: []string{"52:54:00:00:00:02"}, Hostname: "d2", IP: "192.0.2.42"},
		{MACs: []string{"52:54:00:00:00:03"}, Hostname: "r1", IP: "192.0.2.11", Cluster: "other", Roles: []string{inventory.RoleLVSRealServer}},
		{MACs: []string{"52:54:00:00:00:04"}, Hostname: "r2", IP: "192.0.2.12"},
	}}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ReadLVS([]File{{Name: "f.cf", Data: in}})
		if err != nil {
			return
		}
		_ = Conflicts(stored, r)
		Reconcile(stored, r)
		if err := r.Dump.Validate(); err != nil {
			t.Fatalf("imported dump is invalid: %v", err)
		}
		if err := lvs.ValidateImport(stored.Clusters, stored.Hosts, r.Dump.Clusters, r.Dump.Hosts); err != nil {
			t.Fatalf("the import would refuse what the reader hands over: %v", err)
		}
	})
}

// TestLVSStoredClusterConflict: a stored cluster of the same name with other
// directors is reported with both sides; what lvs.cf does not hold
// (admin network, GUI password hash, router id) stays as stored.
func TestLVSStoredClusterConflict(t *testing.T) {
	stored := siteHosts(t)
	stored.Clusters = []inventory.Cluster{{Name: "t", Primary: "lb02", Subnet: "192.0.2.0/24", AdminNetwork: "192.0.2.0/28",
		GUIPasswordHash: "$6$saltsalt$abcdefghijklmnopqrstuv", Heartbeat: inventory.Heartbeat{RouterID: 77}}}
	r, conflicts := readLVS(t, stored, "t.cf", "primary = 192.0.2.41\nservice = lvs\nvirtual W {\n address = 192.0.2.80 eth0:1\n port = 80\n server a {\n  address = 192.0.2.11\n }\n}\n")
	want := "cluster t: the inventory has primary director lb02; t.cf gives lb01 (192.0.2.41)"
	if !strings.Contains(strings.Join(conflicts, "\n"), want) {
		t.Fatalf("conflicts %q lack %q", conflicts, want)
	}
	if len(r.Dump.Clusters) != 1 {
		t.Fatalf("clusters %+v, want t", r.Dump.Clusters)
	}
	c := r.Dump.Clusters[0]
	if c.Primary != "lb01" || c.AdminNetwork != "192.0.2.0/28" || c.GUIPasswordHash == "" || c.Heartbeat.RouterID != 77 || c.Subnet != "192.0.2.0/24" {
		t.Fatalf("cluster = %+v, want lb01 with the stored admin network, hash, router id and subnet", c)
	}
	if len(notesWith(r, "subnet")) != 0 {
		t.Fatalf("the stored subnet holds every address, yet a note says it was set: %v", r.Notes)
	}
}

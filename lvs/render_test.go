package lvs

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// threeService is a cluster with two services on one VIP (http, https with
// persistence) and a UDP DNS service on a second VIP, and weighted real servers.
func threeService() (inventory.Cluster, []inventory.Host) {
	c := inventory.Cluster{
		Name: "shop", Primary: "lb1", Backup: "52-54-00-00-c0-02", Subnet: "198.18.0.0/24",
		AdminNetwork: "198.18.0.0/28", GUIPasswordHash: "$apr1$q8bzvN2s$k3KpPZ7Eq4kAn9wm0Ixy31",
		Serial: 7, Heartbeat: inventory.Heartbeat{Port: 1539, Keepalive: 2, Deadtime: 10, RouterID: 77},
		Services: []inventory.VirtualService{
			{Name: "http", VIP: "198.18.0.100", Port: 80, Scheduler: "wlc", Send: `GET /health HTTP/1.0\r\n\r\n`, Expect: "HTTP"},
			{Name: "https", VIP: "198.18.0.100", Port: 443, Scheduler: "wlc", Persistent: 300},
			{Name: "dns", VIP: "198.18.0.101", Port: 53, Protocol: "udp", Scheduler: "rr", Interface: "eth0:7", LoAlias: "lo:5"},
		},
	}
	h := func(mac, name, ip, role string, params map[string]string) inventory.Host {
		return inventory.Host{MACs: []string{mac}, Hostname: name, IP: ip, Roles: []string{role}, Cluster: "shop", Params: params}
	}
	hosts := []inventory.Host{
		h("52:54:00:00:c0:01", "lb1", "198.18.0.2", inventory.RoleLVSDirector, nil),
		h("52:54:00:00:c0:02", "lb2", "198.18.0.3", inventory.RoleLVSDirector, nil),
		h("52:54:00:00:d0:03", "web3", "198.18.0.13", inventory.RoleLVSRealServer, map[string]string{"lvs_weight": "3"}),
		h("52:54:00:00:d0:01", "web1", "198.18.0.11", inventory.RoleLVSRealServer, nil),
		h("52:54:00:00:d0:02", "web2", "198.18.0.12", inventory.RoleLVSRealServer, map[string]string{"lvs_weight": "0"}),
		{MACs: []string{"52:54:00:00:e0:01"}, Hostname: "other", IP: "198.18.0.50", Roles: []string{inventory.RoleLVSRealServer}, Cluster: "elsewhere"},
	}
	return c, hosts
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lvs/ -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the rendering:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func TestGolden(t *testing.T) {
	demo, demoHosts := DemoCluster(), DemoHosts()
	three, threeHosts := threeService()
	for _, tc := range []struct {
		name  string
		c     inventory.Cluster
		hosts []inventory.Host
		// backup is the backup director's name for the second keepalived file.
		backup string
	}{
		{"demo", demo, demoHosts, "a02"},
		{"three", three, threeHosts, "lb2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(&tc.c, tc.hosts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".lvs.cf", RenderPiranha(p))
			golden(t, tc.name+".ipvsadm", RenderIPVSadm(p))
			k, err := RenderKeepalived(p, "")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".keepalived.conf", k)
			kb, err := RenderKeepalived(p, tc.backup)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".backup.keepalived.conf", kb)
			golden(t, tc.name+".htaccess", RenderHtaccess(p))
		})
	}
}

// TestPlanResolvesRealServers checks who ends up behind each service: only
// lvs-real-server hosts of the cluster, sorted, with weights and the service port.
func TestPlanResolvesRealServers(t *testing.T) {
	c, hosts := threeService()
	p, err := NewPlan(&c, hosts)
	if err != nil {
		t.Fatal(err)
	}
	want := []Real{{"web1", "198.18.0.11", 443, 1}, {"web2", "198.18.0.12", 443, 0}, {"web3", "198.18.0.13", 443, 3}}
	if !reflect.DeepEqual(p.Services[1].Reals, want) {
		t.Errorf("https reals = %+v, want %+v", p.Services[1].Reals, want)
	}
	if p.Backup != (Director{"lb2", "198.18.0.3"}) {
		t.Errorf("backup resolved by MAC = %+v, want lb2", p.Backup)
	}
	if got := p.Services[0].Interface + " " + p.Services[0].LoAlias; got != "eth0:1 lo:0" {
		t.Errorf("default aliases = %q, want eth0:1 lo:0", got)
	}
}

// TestPiranhaRoundTrip parses the rendered lvs.cf back and gets the same model.
func TestPiranhaRoundTrip(t *testing.T) {
	demo, demoHosts := DemoCluster(), DemoHosts()
	three, threeHosts := threeService()
	for _, tc := range []struct {
		name  string
		c     inventory.Cluster
		hosts []inventory.Host
	}{{"demo", demo, demoHosts}, {"three", three, threeHosts}} {
		t.Run(tc.name, func(t *testing.T) {
			// lvs.cf carries no loopback aliases or VRRP router id (they are
			// netkick's, for real servers and keepalived): use the defaults here.
			tc.c.Heartbeat.RouterID = 0
			tc.c.Services = append([]inventory.VirtualService(nil), tc.c.Services...)
			for i := range tc.c.Services {
				tc.c.Services[i].LoAlias = ""
			}
			p, err := NewPlan(&tc.c, tc.hosts)
			if err != nil {
				t.Fatal(err)
			}
			text := RenderPiranha(p)
			q, err := ParsePiranha(tc.c.Name, text)
			if err != nil {
				t.Fatal(err)
			}
			if q.Primary.IP != p.Primary.IP || q.Backup.IP != p.Backup.IP {
				t.Errorf("directors = %s/%s, want %s/%s", q.Primary.IP, q.Backup.IP, p.Primary.IP, p.Backup.IP)
			}
			if !reflect.DeepEqual(q.Services, p.Services) {
				t.Errorf("services differ:\n got %+v\nwant %+v", q.Services, p.Services)
			}
			for _, f := range []struct {
				name      string
				got, want any
			}{
				{"heartbeat", q.Cluster.Heartbeat, p.Cluster.Heartbeat},
				{"network", q.Cluster.Network, p.Cluster.Network},
				{"serial", q.Cluster.Serial, p.Cluster.Serial},
				{"services", q.Cluster.Services, p.Cluster.Services},
			} {
				if !reflect.DeepEqual(f.got, f.want) {
					t.Errorf("%s = %+v, want %+v", f.name, f.got, f.want)
				}
			}
			if again := RenderPiranha(q); again != text {
				t.Errorf("render(parse(render)) differs:\n%s\n---\n%s", again, text)
			}
		})
	}
}

func TestParsePiranhaErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unclosed virtual", "virtual WWW {\n port = 80\n", "not closed"},
		{"stray brace", "}\n", "closes no block"},
		{"bad number", "virtual WWW {\n port = eighty\n}\n", "line 2"},
		{"no equals", "primary 192.0.2.1\n", "key = value"},
		{"address without device", "virtual WWW {\n address = 192.0.2.40\n}\n", "VIP DEVICE"},
		{"failover service", "service = fos\n", "only service = lvs"},
		{"nested virtual", "virtual A {\nvirtual B {\n}\n}\n", "unexpected block"},
		{"unbalanced quote", "virtual A {\n send = \"GET /\n}\n", "quotes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePiranha("x", tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestParsePiranhaForeign reads a file as piranha's GUI writes it, with keys
// netkick does not model and a server without port or weight.
func TestParsePiranhaForeign(t *testing.T) {
	in := `serial_no = 12
primary = 192.0.2.11
service = lvs
backup_active = 1
backup = 192.0.2.12
heartbeat = 1
heartbeat_port = 539
keepalive = 6
deadtime = 18
network = direct
nat_nmask = 255.255.255.0
debug_level = NONE
virtual WWW {
     active = 1
     address = 192.0.2.40 eth0:1
     vip_nmask = 255.255.255.255
     port = 80
     send = "GET / HTTP/1.0\r\n\r\n"
     expect = "HTTP"
     use_regex = 0
     load_monitor = none
     scheduler = wlc
     protocol = tcp
     timeout = 6
     reentry = 15
     quiesce_server = 0
     server B01 {
         address = 192.0.2.21
         active = 1
     }
}
`
	p, err := ParsePiranha("www", in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cluster.Serial != 12 || p.Cluster.Primary != "192.0.2.11" || p.Services[0].Scheduler != "wlc" {
		t.Errorf("parsed %+v", p.Cluster)
	}
	if got := p.Services[0].Reals; !reflect.DeepEqual(got, []Real{{"B01", "192.0.2.21", 80, 1}}) {
		t.Errorf("reals = %+v, want B01 on port 80 weight 1", got)
	}
	if p.Services[0].Send != `GET / HTTP/1.0\r\n\r\n` {
		t.Errorf("send = %q", p.Services[0].Send)
	}
}

func FuzzParsePiranha(f *testing.F) {
	for _, name := range []string{"demo.lvs.cf", "three.lvs.cf"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Add("virtual a {\nserver b {\n}\n}\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePiranha("fuzz", in)
		if err != nil {
			return
		}
		// Whatever parses and is a valid cluster renders to a file that parses to the same services.
		c := p.Cluster
		c.Subnet = "0.0.0.0/0"
		if validateShape(&c) != nil {
			return
		}
		q, err := ParsePiranha("fuzz", RenderPiranha(p))
		if err != nil {
			t.Fatalf("re-parse of rendered file: %v", err)
		}
		if !reflect.DeepEqual(p.Services, q.Services) {
			t.Fatalf("services changed on round trip:\n%+v\n%+v", p.Services, q.Services)
		}
	})
}

// TestKeepalivedAcceptsConfig runs keepalived's own config check on every
// rendered keepalived.conf (and on a broken one, to show the check bites).
func TestKeepalivedAcceptsConfig(t *testing.T) {
	bin := testenv.RequireProgram(t, "keepalived")
	files, err := filepath.Glob(filepath.Join("testdata", "*keepalived.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden keepalived.conf files: %v", err)
	}
	broken := filepath.Join(t.TempDir(), "broken.conf")
	if err := os.WriteFile(broken, []byte("vrrp_instance x {\n    state FOO\n    no_such_keyword 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, broken) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command(bin, "--config-test", "--use-file", f, "--log-console").CombinedOutput()
			if f == broken {
				if err == nil {
					t.Fatalf("keepalived accepted a broken config:\n%s", out)
				}
				return
			}
			if err != nil || len(bytes.TrimSpace(out)) != 0 {
				t.Fatalf("keepalived --config-test %s: %v\n%s", f, err, out)
			}
		})
	}
}

// TestParsePiranhaReport lists what a Plan does not hold, with its line and
// block, and leaves out what RenderPiranha writes itself with its neutral value.
func TestParsePiranhaReport(t *testing.T) {
	in := "primary = 192.0.2.11\nbackup_active = 0\nbackup = 192.0.2.12\nheartbeat = 1\nnat_router = 10.0.0.1 eth1:1\n" +
		"virtual W {\n active = 1\n address = 192.0.2.40 eth0:1\n port = 80\n fwmark = 3\n use_regex = 0\n" +
		" server a {\n  address = 192.0.2.21\n  active = 0\n }\n}\n"
	p, got, err := ParsePiranhaReport("w", in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Unmodeled{
		{Line: 5, Key: "nat_router", Value: "10.0.0.1 eth1:1"},
		{Line: 10, Block: "virtual W", Key: "fwmark", Value: "3"},
		{Line: 14, Block: "virtual W / server a", Key: "active", Value: "0"},
		{Line: 3, Key: "backup", Value: "192.0.2.12"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("unmodeled = %+v\nwant %+v", got, want)
	}
	if p.Cluster.Backup != "" || p.Backup.IP != "" {
		t.Fatalf("backup_active = 0 kept backup %q", p.Cluster.Backup)
	}
	// A file netkick rendered has nothing unmodeled.
	if _, got, err := ParsePiranhaReport("w", RenderPiranha(p)); err != nil || len(got) != 0 {
		t.Fatalf("rendered file: unmodeled %+v, err %v", got, err)
	}
}

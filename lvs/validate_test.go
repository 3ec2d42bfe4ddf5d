package lvs

import (
	"errors"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestValidate(t *testing.T) {
	type mod func(c *inventory.Cluster, hosts []inventory.Host, others *[]inventory.Cluster) []inventory.Host
	svc := func(name, vip string, port int, iface string) inventory.VirtualService {
		return inventory.VirtualService{Name: name, VIP: vip, Port: port, Interface: iface}
	}
	for _, tc := range []struct {
		name string
		mod  mod
		want string // "" means valid
	}{
		{"demo is valid", nil, ""},
		{"defaults fill a minimal service", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services = []inventory.VirtualService{{Name: "w", VIP: "192.0.2.40", Port: 80}}
			c.Network = ""
			return h
		}, ""},
		{"tcp and udp on one port are two services", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services = append(c.Services, inventory.VirtualService{Name: "dns-t", VIP: "192.0.2.40", Port: 53, Interface: "eth0:1"},
				inventory.VirtualService{Name: "dns-u", VIP: "192.0.2.40", Port: 53, Protocol: "udp", Interface: "eth0:1"})
			return h
		}, ""},
		{"two services on the same address:port", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services = append(c.Services, svc("WWW2", "192.0.2.40", 80, "eth0:1"))
			return h
		}, "both on 192.0.2.40:80/tcp"},
		{"two VIPs on one interface alias", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services = append(c.Services, svc("mail", "192.0.2.41", 25, "eth0:1"))
			return h
		}, "interface eth0:1 already carries VIP 192.0.2.40"},
		{"one VIP on two aliases", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services = append(c.Services, svc("https", "192.0.2.40", 443, "eth0:2"))
			return h
		}, "VIP 192.0.2.40 is on eth0:1"},
		{"two VIPs on one loopback alias", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			s := svc("mail", "192.0.2.41", 25, "eth0:2")
			s.LoAlias = "lo:0"
			c.Services = append(c.Services, s)
			return h
		}, "lo_alias lo:0 already carries VIP 192.0.2.40"},
		{"unknown scheduler", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Scheduler = "fastest"
			return h
		}, `scheduler "fastest" is unknown`},
		{"nat refused for now", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Network = "nat"
			return h
		}, "not supported yet"},
		{"tunnel refused for now", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Network = "tun"
			return h
		}, "not supported yet"},
		{"real server outside the directors' subnet", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			h[3].IP = "198.51.100.22"
			return h
		}, "outside the directors' subnet"},
		{"director outside the subnet", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			h[1].IP = "198.51.100.12"
			return h
		}, "backup director a02 (198.51.100.12) is outside"},
		{"director is its own real server", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			h[0].Roles = append(h[0].Roles, inventory.RoleLVSRealServer)
			return h
		}, "a01 is a director of the cluster and also one of its real servers"},
		{"real server in two clusters with conflicting aliases", func(c *inventory.Cluster, h []inventory.Host, others *[]inventory.Cluster) []inventory.Host {
			h[2].Params = map[string]string{inventory.ParamLVSClusters: "mail"}
			*others = append(*others, inventory.Cluster{Name: "mail", Primary: "a01", Subnet: "192.0.2.0/24",
				Services: []inventory.VirtualService{svc("smtp", "192.0.2.50", 25, "eth0:1")}})
			return h
		}, "put different VIPs on lo:0 (192.0.2.40 here, 192.0.2.50 there)"},
		{"real server in two clusters with distinct aliases", func(c *inventory.Cluster, h []inventory.Host, others *[]inventory.Cluster) []inventory.Host {
			h[2].Params = map[string]string{inventory.ParamLVSClusters: "mail"}
			s := svc("smtp", "192.0.2.50", 25, "eth0:1")
			s.LoAlias = "lo:1"
			*others = append(*others, inventory.Cluster{Name: "mail", Primary: "a01", Subnet: "192.0.2.0/24", Services: []inventory.VirtualService{s}})
			return h
		}, ""},
		{"director not in inventory", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Primary = "a09"
			return h
		}, `primary director "a09" is not in the inventory`},
		{"director by MAC", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Primary = "52-54-00-4E-4B-01"
			return h
		}, ""},
		{"same primary and backup", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Backup = "a01"
			return h
		}, "primary and backup are the same host"},
		{"missing subnet", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Subnet = ""
			return h
		}, "subnet is missing"},
		{"shell in interface", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Interface = "eth0:1$(reboot)"
			return h
		}, "want an alias such as eth0:1"},
		{"shell in service name", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Name = "w;reboot"
			return h
		}, "name \"w;reboot\""},
		{"quote in send", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Send = `GET "/"`
			return h
		}, "printable ASCII"},
		{"newline in expect", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Expect = "HTTP\nEOF"
			return h
		}, "printable ASCII"},
		{"bad netmask", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Netmask = "255.0.255.0"
			return h
		}, "netmask"},
		{"bad protocol", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Protocol = "sctp"
			return h
		}, "want tcp or udp"},
		{"port zero", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Services[0].Port = 0
			return h
		}, "port 0"},
		{"deadtime below keepalive", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.Heartbeat = inventory.Heartbeat{Keepalive: 10, Deadtime: 5}
			return h
		}, "deadtime 5"},
		{"clear text GUI password", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.GUIPasswordHash = "secret"
			return h
		}, "gui_password_hash"},
		{"admin network not a network", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			c.AdminNetwork = "192.0.2.7/24"
			return h
		}, "admin_network"},
		{"weight not a number", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			h[2].Params = map[string]string{inventory.ParamLVSWeight: "heavy"}
			return h
		}, "lvs_weight"},
		{"port change under direct routing", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			h[2].Params = map[string]string{inventory.ParamLVSPort: "8080"}
			return h
		}, "direct routing cannot change ports"},
		{"real server without IP", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			h[3].IP = ""
			return h
		}, "real server b02 has no address"},
		{"lvs_address instead of IP", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			for i := range h {
				h[i].Params = map[string]string{inventory.ParamLVSAddress: h[i].IP}
				h[i].IP = ""
			}
			return h
		}, ""},
		{"lvs_address outside the subnet", func(c *inventory.Cluster, h []inventory.Host, _ *[]inventory.Cluster) []inventory.Host {
			h[2].Params = map[string]string{inventory.ParamLVSAddress: "198.51.100.21"}
			return h
		}, "b01 (198.51.100.21) is outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, hosts := DemoCluster(), DemoHosts()
			var others []inventory.Cluster
			if tc.mod != nil {
				hosts = tc.mod(&c, hosts, &others)
			}
			err := Validate(&c, hosts, others)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("want an error mentioning %q, got nil", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not mention %q", err, tc.want)
			case err != nil && !errors.Is(err, inventory.ErrInvalid):
				t.Fatalf("error %v does not wrap inventory.ErrInvalid", err)
			}
		})
	}
}

func TestRealServerVIPs(t *testing.T) {
	web := DemoCluster()
	mail := inventory.Cluster{Name: "mail", Primary: "a01", Subnet: "192.0.2.0/24", Services: []inventory.VirtualService{
		{Name: "smtp", VIP: "192.0.2.50", Port: 25, LoAlias: "lo:1"},
		{Name: "imap", VIP: "192.0.2.50", Port: 143, LoAlias: "lo:1"},
	}}
	clash := inventory.Cluster{Name: "clash", Primary: "a01", Subnet: "192.0.2.0/24", Services: []inventory.VirtualService{
		{Name: "x", VIP: "192.0.2.60", Port: 25},
	}}
	for _, tc := range []struct {
		name     string
		clusters string // lvs_clusters param
		want     string // aliases, or error text
	}{
		{"one cluster", "", "lo:0=192.0.2.40"},
		{"two clusters, one alias per VIP", "mail", "lo:0=192.0.2.40 lo:1=192.0.2.50"},
		{"conflicting aliases", "clash", "put different VIPs on lo:0"},
		{"unknown cluster", "nope", "names cluster \"nope\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := DemoHosts()[2]
			h.Params = map[string]string{inventory.ParamLVSClusters: tc.clusters}
			vs, err := RealServerVIPs(&h, []inventory.Cluster{web, mail, clash})
			var got string
			if err != nil {
				got = "error: " + err.Error()
			} else {
				var parts []string
				for _, v := range vs {
					parts = append(parts, v.LoAlias+"="+v.Addr)
				}
				got = strings.Join(parts, " ")
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRealServerFiles(t *testing.T) {
	vips := []VIP{{Addr: "192.0.2.40", LoAlias: "lo:0"}, {Addr: "192.0.2.50", LoAlias: "lo:1"}}
	for _, major := range []int{5, 6, 7} {
		files := RealServerFiles(vips, major)
		if len(files) != 2 || files[1].Path != "/etc/sysconfig/network-scripts/ifcfg-lo:1" {
			t.Fatalf("EL%d: files = %+v", major, files)
		}
		want := "DEVICE=lo:0\nIPADDR=192.0.2.40\nNETMASK=255.255.255.255\nONBOOT=yes\nNAME=lvs-vip-lo-0\n"
		if files[0].Content != want {
			t.Errorf("EL%d: ifcfg-lo:0 = %q, want %q", major, files[0].Content, want)
		}
	}
	for _, major := range []int{8, 9} {
		files := RealServerFiles(vips, major)
		if len(files) != 1 || files[0].Path != VIPUnitPath {
			t.Fatalf("EL%d: files = %+v", major, files)
		}
		for _, want := range []string{
			"After=systemd-sysctl.service",
			"Type=oneshot\nRemainAfterExit=yes\n",
			"ExecStart=/usr/sbin/ip addr replace 192.0.2.40/32 dev lo label lo:0\n",
			"ExecStart=/usr/sbin/ip addr replace 192.0.2.50/32 dev lo label lo:1\n",
			"ExecStop=/usr/sbin/ip addr del 192.0.2.50/32 dev lo\n",
			"WantedBy=multi-user.target\n",
		} {
			if !strings.Contains(files[0].Content, want) {
				t.Errorf("EL%d: unit lacks %q:\n%s", major, want, files[0].Content)
			}
		}
	}
	if f := RealServerFiles(nil, 9); f != nil {
		t.Errorf("no VIPs: files = %+v", f)
	}
	for major, want := range map[int]string{5: SysctlConf, 6: SysctlConf, 7: SysctlDropIn, 9: SysctlDropIn} {
		if got := SysctlPathFor(major); got != want {
			t.Errorf("SysctlPathFor(%d) = %s, want %s", major, got, want)
		}
	}
}

func TestDirectorFiles(t *testing.T) {
	c, hosts := DemoCluster(), DemoHosts()
	c.GUIPasswordHash = "$apr1$q8bzvN2s$k3KpPZ7Eq4kAn9wm0Ixy31"
	p, err := NewPlan(&c, hosts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		director string
		major    int
		want     []string // paths
		err      string
	}{
		{"piranha on 5", "a01", 5, []string{PiranhaPath, HtaccessPath, PiranhaPasswdPath}, ""},
		{"piranha on 6 backup", "a02", 6, []string{PiranhaPath, HtaccessPath, PiranhaPasswdPath}, ""},
		{"keepalived on 7", "a02", 7, []string{KeepalivedPath}, ""},
		{"not a director", "b01", 5, nil, "not one of its directors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := DirectorFiles(p, tc.director, tc.major)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range files {
				paths = append(paths, f.Path)
			}
			if strings.Join(paths, " ") != strings.Join(tc.want, " ") {
				t.Errorf("paths = %v, want %v", paths, tc.want)
			}
			if tc.major >= 7 && !strings.Contains(files[0].Content, "state BACKUP") {
				t.Errorf("backup keepalived.conf has no BACKUP state:\n%s", files[0].Content)
			}
		})
	}
}

func TestValidateImport(t *testing.T) {
	demo := DemoCluster()
	hosts := DemoHosts()
	moved := DemoHosts()[3]
	moved.MACs = []string{"52-54-00-4E-4B-04"} // same host, other spelling
	moved.IP = "198.51.100.22"
	for _, tc := range []struct {
		name                     string
		stored                   []inventory.Host
		storedClusters, clusters []inventory.Cluster
		docHosts                 []inventory.Host
		want                     string
	}{
		{"hosts come with the document", nil, nil, []inventory.Cluster{demo}, hosts, ""},
		{"hosts already stored", hosts, nil, []inventory.Cluster{demo}, nil, ""},
		{"document host replaces the stored one", hosts, nil, []inventory.Cluster{demo}, []inventory.Host{moved}, "b02 (198.51.100.22) is outside"},
		{"director missing", hosts[2:], nil, []inventory.Cluster{demo}, nil, `primary director "a01" is not in the inventory`},
		{"no clusters, nothing to check", nil, nil, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateImport(tc.storedClusters, tc.stored, tc.clusters, tc.docHosts)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

package lvs

import "github.com/netkick/netkick/inventory"

// DemoCluster is the LVS post's setup: directors A01 (primary) and A02
// (backup), one web service WWW on VIP 192.0.2.40 port 80, least-connections,
// on the documentation network 192.0.2.0/24. DemoHosts holds its machines.
func DemoCluster() inventory.Cluster {
	return inventory.Cluster{
		Name:         "www",
		Primary:      "A01",
		Backup:       "A02",
		Network:      "direct",
		Subnet:       "192.0.2.0/24",
		AdminNetwork: "192.0.2.0/24",
		Services: []inventory.VirtualService{{
			Name: "WWW", VIP: "192.0.2.40", Port: 80, Protocol: "tcp", Scheduler: "lc",
			Interface: "eth0:1", Send: `GET / HTTP/1.0\r\n\r\n`, Expect: "HTTP",
		}},
	}
}

// DemoHosts are the post's four machines: two directors and two web servers
// (real servers of cluster www).
func DemoHosts() []inventory.Host {
	dir := func(mac, name, ip string) inventory.Host {
		return inventory.Host{MACs: []string{mac}, Hostname: name, IP: ip, Roles: []string{inventory.RoleLVSDirector}, Cluster: "www"}
	}
	real := func(mac, name, ip string) inventory.Host {
		return inventory.Host{MACs: []string{mac}, Hostname: name, IP: ip, Roles: []string{inventory.RoleLVSRealServer}, Cluster: "www"}
	}
	return []inventory.Host{
		dir("52:54:00:00:a0:01", "A01", "192.0.2.11"),
		dir("52:54:00:00:a0:02", "A02", "192.0.2.12"),
		real("52:54:00:00:b0:01", "B01", "192.0.2.21"),
		real("52:54:00:00:b0:02", "B02", "192.0.2.22"),
	}
}

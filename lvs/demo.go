package lvs

import "github.com/netkick/netkick/inventory"

// DemoCluster is the LVS post's setup, as `netkick serve --demo` loads it:
// directors a01 (primary) and a02 (backup), one web service WWW on VIP
// 192.0.2.40 port 80, least-connections, on the documentation network
// 192.0.2.0/24. DemoHosts holds its machines.
func DemoCluster() inventory.Cluster {
	return inventory.Cluster{
		Name:         "web",
		Primary:      "a01",
		Backup:       "a02",
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
// (real servers of cluster web), with the MACs and addresses of the demo inventory.
func DemoHosts() []inventory.Host {
	dir := func(mac, name, ip string) inventory.Host {
		return inventory.Host{MACs: []string{mac}, Hostname: name, IP: ip, Roles: []string{inventory.RoleLVSDirector}, Cluster: "web"}
	}
	real := func(mac, name, ip string) inventory.Host {
		return inventory.Host{MACs: []string{mac}, Hostname: name, IP: ip, Roles: []string{inventory.RoleLVSRealServer}, Cluster: "web"}
	}
	return []inventory.Host{
		dir("52:54:00:4e:4b:01", "a01", "192.0.2.11"),
		dir("52:54:00:4e:4b:02", "a02", "192.0.2.12"),
		real("52:54:00:4e:4b:03", "b01", "192.0.2.21"),
		real("52:54:00:4e:4b:04", "b02", "192.0.2.22"),
	}
}

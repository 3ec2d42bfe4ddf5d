package inventory

// Roles the LVS feature gives meaning to.
const (
	RoleLVSDirector   = "lvs-director"
	RoleLVSRealServer = "lvs-real-server"
)

// Parameters a real server host may carry in Host.Params.
const (
	// ParamLVSWeight is the real server's weight (default 1; 0 keeps it in the
	// table but sends it no new connections).
	ParamLVSWeight = "lvs_weight"
	// ParamLVSPort is the real server's port; empty inherits the service port.
	// Direct routing cannot change ports, so it must equal the service port.
	ParamLVSPort = "lvs_port"
	// ParamLVSAddress is the host's IPv4 address on the cluster's segment,
	// for hosts whose Host.IP (the DHCP reservation) is empty or on another
	// network; empty means Host.IP.
	ParamLVSAddress = "lvs_address"
	// ParamLVSClusters lists further clusters (comma-separated) the host serves
	// as a real server, besides Host.Cluster.
	ParamLVSClusters = "lvs_clusters"
)

// Cluster is a named LVS cluster: two directors (primary and backup) that
// share the virtual addresses, and the virtual services they balance. Real
// servers are not listed here: they are the hosts with role lvs-real-server
// whose Cluster field (or lvs_clusters parameter) names this cluster.
// Zero values mean "the default"; package lvs fills and checks them.
type Cluster struct {
	Name string `json:"name" yaml:"name"`
	// Primary and Backup are the director hosts (hostname or MAC).
	Primary string `json:"primary,omitempty" yaml:"primary,omitempty"`
	Backup  string `json:"backup,omitempty" yaml:"backup,omitempty"`
	// Network is the forwarding method; only "direct" (direct routing) is supported.
	Network string `json:"network,omitempty" yaml:"network,omitempty"`
	// Subnet is the one L2 segment (CIDR) directors and real servers share,
	// which direct routing needs, e.g. 192.0.2.0/24.
	Subnet string `json:"subnet,omitempty" yaml:"subnet,omitempty"`
	// Heartbeat tunes the failover between the two directors.
	Heartbeat Heartbeat `json:"heartbeat,omitempty" yaml:"heartbeat,omitempty"`
	// AdminNetwork (CIDR) is the only network allowed to reach the piranha GUI.
	AdminNetwork string `json:"admin_network,omitempty" yaml:"admin_network,omitempty"`
	// GUIPasswordHash is the piranha GUI password as a crypt(3)/apr1 hash; clear text is never stored.
	GUIPasswordHash string `json:"gui_password_hash,omitempty" yaml:"gui_password_hash,omitempty"`
	// Serial is piranha's serial_no (the GUI bumps it on every save).
	Serial int `json:"serial,omitempty" yaml:"serial,omitempty"`
	// Services are the virtual services (VIP:port) the directors balance.
	Services []VirtualService `json:"services,omitempty" yaml:"services,omitempty"`
}

// Heartbeat holds pulse's (and keepalived's VRRP) failover settings.
type Heartbeat struct {
	// Port is pulse's heartbeat UDP port (default 539).
	Port int `json:"port,omitempty" yaml:"port,omitempty"`
	// Keepalive is the number of seconds between heartbeats (default 6).
	Keepalive int `json:"keepalive,omitempty" yaml:"keepalive,omitempty"`
	// Deadtime is the number of seconds of silence before the backup takes over (default 18).
	Deadtime int `json:"deadtime,omitempty" yaml:"deadtime,omitempty"`
	// RouterID is the VRRP virtual_router_id used in keepalived.conf (default 51).
	RouterID int `json:"router_id,omitempty" yaml:"router_id,omitempty"`
}

// VirtualService is one balanced service: a VIP and port on the directors.
type VirtualService struct {
	// Name identifies the service (piranha's "virtual NAME"), e.g. WWW.
	Name string `json:"name" yaml:"name"`
	VIP  string `json:"vip" yaml:"vip"`
	// Netmask of the VIP (default 255.255.255.255).
	Netmask string `json:"netmask,omitempty" yaml:"netmask,omitempty"`
	Port    int    `json:"port" yaml:"port"`
	// Protocol is tcp (default) or udp.
	Protocol string `json:"protocol,omitempty" yaml:"protocol,omitempty"`
	// Scheduler is one of rr wrr lc wlc lblc lblcr dh sh sed nq (default lc).
	Scheduler string `json:"scheduler,omitempty" yaml:"scheduler,omitempty"`
	// Interface is the director's alias carrying the VIP, e.g. eth0:1.
	Interface string `json:"interface" yaml:"interface"`
	// LoAlias is the real servers' loopback alias for the VIP, e.g. lo:0
	// (default: lo:N, N counting the cluster's distinct VIPs from 0).
	LoAlias string `json:"lo_alias,omitempty" yaml:"lo_alias,omitempty"`
	// Send and Expect make the health check: a string sent to each real
	// server and the reply expected, e.g. "GET / HTTP/1.0\r\n\r\n" and "HTTP".
	// Empty Send means a plain connect check.
	Send   string `json:"send,omitempty" yaml:"send,omitempty"`
	Expect string `json:"expect,omitempty" yaml:"expect,omitempty"`
	// Persistent is the persistence timeout in seconds (0: no persistence).
	Persistent int `json:"persistent,omitempty" yaml:"persistent,omitempty"`
	// Timeout is seconds before a silent real server is removed (default 6);
	// Reentry is seconds a recovered one must stay up before it returns (default 15).
	Timeout int `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	Reentry int `json:"reentry,omitempty" yaml:"reentry,omitempty"`
}

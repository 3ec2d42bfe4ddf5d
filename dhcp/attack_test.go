package dhcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
	"golang.org/x/sys/unix"
)

// The tests in this file replay attacks a machine on the provisioning
// network can make with well-formed DHCP packets, built here, while a
// well-behaved client (BusyBox udhcpc) asks for its lease. Each asserts the
// attack changes nothing it must not and the client is served in time.

// serveBound is how long udhcpc may take for its lease while an attack runs.
const serveBound = 10 * time.Second

// udhcpcLease runs udhcpc in ns on dev until it has a lease and returns the
// address and how long it took. With addAddr the script puts the address on
// dev (so the client answers ARP for it), as a real client does.
func udhcpcLease(t *testing.T, ns, dev string, addAddr bool) (string, time.Duration) {
	t.Helper()
	udhcpc := testenv.RequireProgram(t, "udhcpc")
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	act := ""
	if addAddr {
		act = "[ \"$1\" = bound ] && ip addr replace \"$ip/24\" dev \"$interface\"\n"
	}
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1 ip=$ip\" >> "+out+"\n"+act), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command("ip", "netns", "exec", ns, udhcpc, "-i", dev, "-f", "-q", "-n", "-t", "8", "-T", "1", "-s", script)
	b, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("udhcpc got no lease in %s: %v\n%s", took.Round(time.Millisecond), err, b)
	}
	env, _ := os.ReadFile(out)
	i := strings.LastIndex(string(env), "bound ip=")
	if i < 0 {
		t.Fatalf("udhcpc script never saw bound: %s", env)
	}
	ip := strings.Fields(string(env)[i+len("bound ip="):])[0]
	if took > serveBound {
		t.Errorf("udhcpc took %s for its lease during the attack, bound %s", took, serveBound)
	}
	return ip, took
}

// attacker is a UDP socket in the client namespace that sends DHCP packets
// from src (port sport), like a client or relay would, broadcast allowed.
type attacker struct {
	t    *testing.T
	conn *net.UDPConn
}

func newAttacker(t *testing.T, ns, dev, src string, sport int) *attacker {
	t.Helper()
	var c *net.UDPConn
	err := inNetns(t, ns, func() error {
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
					return
				}
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
					return
				}
				serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		pc, err := lc.ListenPacket(context.Background(), "udp4", net.JoinHostPort(src, strconv.Itoa(sport)))
		if err != nil {
			return err
		}
		c = pc.(*net.UDPConn)
		return nil
	})
	if err != nil {
		t.Fatalf("attacker socket %s:%d in %s: %v", src, sport, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return &attacker{t: t, conn: c}
}

var (
	toServer    = &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 67}
	toBroadcast = &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	serverID    = dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 1)))
)

// send builds a packet of type mt for mac and sends it to dst.
func (a *attacker) send(dst *net.UDPAddr, mac net.HardwareAddr, mt dhcpv4.MessageType, mods ...dhcpv4.Modifier) {
	a.t.Helper()
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(mt)}, mods...)...)
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.conn.WriteTo(m.ToBytes(), dst); err != nil && !errors.Is(err, net.ErrClosed) {
		a.t.Errorf("attacker send %s to %v: %v", mt, dst, err)
	}
}

// during runs attack every 20 ms until the returned stop is called.
func during(attack func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			attack()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func storedLeases(t *testing.T, st *inventory.SQLite) []inventory.Lease {
	t.Helper()
	ls, err := st.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func leaseAt(t *testing.T, st *inventory.SQLite, ip string) (inventory.Lease, bool) {
	t.Helper()
	for _, l := range storedLeases(t, st) {
		if l.IP == ip {
			return l, true
		}
	}
	return inventory.Lease{}, false
}

// TestAttackDeclineOfAReservedHost: one DECLINE with a reserved host's MAC
// used to lock it out of its address for the lease time. Now the declined
// reservation is ARP-probed before anything changes: answered by the host
// itself (the DECLINE was a lie) or by nobody, the host keeps it, with an
// event and a metric; DECLINEs repeated every 20 ms do not keep it out.
func TestAttackDeclineOfAReservedHost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inUse   bool   // the host keeps using its address (answers ARP)
		result  string // probe result expected
		restore inventory.LeaseState
	}{
		{"host still uses its address", true, "owner", inventory.LeaseBound},
		{"nobody uses the address", false, "free", inventory.LeaseBound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink(t)
			st := openStore(t)
			ctx := context.Background()
			if err := st.PutHost(ctx, &inventory.Host{MACs: []string{l.cliMAC}, Hostname: "r01", IP: "192.0.2.40"}); err != nil {
				t.Fatal(err)
			}
			s := startServer(t, l.srv, fullConfig("vs", UnknownIgnore), st)
			ip, _ := udhcpcLease(t, l.cli, "vc", tc.inUse)
			if ip != "192.0.2.40" {
				t.Fatalf("reserved host got %s, want 192.0.2.40", ip)
			}
			mac, _ := net.ParseMAC(l.cliMAC)
			a := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
			a.send(toBroadcast, mac, dhcpv4.MessageTypeDecline, serverID, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 40))))
			if !waitFor(3*time.Second, func() bool { return hasEvent(t, st, l.cliMAC, "dhcp-decline") }) {
				t.Fatalf("the DECLINE was not recorded on the host's timeline")
			}
			if !waitFor(5*time.Second, func() bool { return s.Metrics.Probes(tc.result) > 0 }) {
				t.Fatalf("no %q probe result in 5 s (free %d owner %d in_use %d error %d)", tc.result,
					s.Metrics.Probes("free"), s.Metrics.Probes("owner"), s.Metrics.Probes("in_use"), s.Metrics.Probes("error"))
			}
			// The lease was never taken away: the DECLINE was probed first.
			if got, _ := leaseAt(t, st, "192.0.2.40"); got.State != tc.restore {
				t.Fatalf("after the probe the lease of 192.0.2.40 is %+v, want %s by %s", got, tc.restore, l.cliMAC)
			}
			if got, _ := leaseAt(t, st, "192.0.2.40"); got.MAC != l.cliMAC {
				t.Errorf("given back to %q, want %s", got.MAC, l.cliMAC)
			}
			if !waitFor(3*time.Second, func() bool { return hasEvent(t, st, l.cliMAC, "dhcp-decline-cleared") }) {
				t.Errorf("no dhcp-decline-cleared event on r01's timeline")
			}
			// The host is served its address again, at once.
			if ip, _ := udhcpcLease(t, l.cli, "vc", false); ip != "192.0.2.40" {
				t.Errorf("after the DECLINE the host got %s, want 192.0.2.40", ip)
			}
			// And while the attacker repeats its DECLINE every 20 ms.
			stop := during(func() {
				a.send(toBroadcast, mac, dhcpv4.MessageTypeDecline, serverID, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 40))))
			})
			ip, took := udhcpcLease(t, l.cli, "vc", tc.inUse)
			stop()
			t.Logf("with DECLINEs every 20 ms the host got %s in %s", ip, took.Round(time.Millisecond))
			if ip != "192.0.2.40" {
				t.Errorf("during repeated DECLINEs the host got %s, want 192.0.2.40", ip)
			}
		})
	}
}

// TestDeclinedReservationInUseByAnotherMachineStaysOut: when another
// machine really answers for the declined address, it stays out (and is
// probed again), and its host is told by an event.
func TestDeclinedReservationInUseByAnotherMachineStaysOut(t *testing.T) {
	l := newLink(t)
	// Another machine: a macvlan with its own MAC, holding the address
	// (arp_ignore=1: only the interface that holds an address answers for it).
	sh(t, "ip", "netns", "exec", l.cli, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1")
	sh(t, "ip", "-n", l.cli, "link", "add", "other", "link", "vc", "type", "macvlan", "mode", "bridge")
	sh(t, "ip", "-n", l.cli, "link", "set", "other", "up")
	st := openStore(t)
	ctx := context.Background()
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{l.cliMAC}, Hostname: "r01", IP: "192.0.2.40"}); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, l.srv, fullConfig("vs", UnknownIgnore), st)
	if ip, _ := udhcpcLease(t, l.cli, "vc", false); ip != "192.0.2.40" {
		t.Fatalf("reserved host got %s", ip)
	}
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.40/24", "dev", "other")
	mac, _ := net.ParseMAC(l.cliMAC)
	a := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
	a.send(toBroadcast, mac, dhcpv4.MessageTypeDecline, serverID, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 40))))
	if !waitFor(5*time.Second, func() bool { return s.Metrics.Probes("in_use") > 0 }) {
		t.Fatalf("no in_use probe (free %d owner %d error %d)", s.Metrics.Probes("free"), s.Metrics.Probes("owner"), s.Metrics.Probes("error"))
	}
	// The metric counts the probe as it ends; the lease write follows it.
	if !waitFor(2*time.Second, func() bool { got, _ := leaseAt(t, st, "192.0.2.40"); return got.State == inventory.LeaseDeclined }) {
		got, _ := leaseAt(t, st, "192.0.2.40")
		t.Errorf("address answered by another machine not taken out: %+v", got)
	}
	if !waitFor(3*time.Second, func() bool { return hasEvent(t, st, l.cliMAC, "dhcp-decline-in-use") }) {
		t.Errorf("no dhcp-decline-in-use event")
	}
	// The other machine leaves: the next probe gives the address back.
	sh(t, "ip", "-n", l.cli, "link", "del", "other")
	if !waitFor(declineProbeEvery+5*time.Second, func() bool { return s.Metrics.Probes("free") > 0 }) {
		t.Fatalf("address not given back after the other machine left")
	}
	if ip, _ := udhcpcLease(t, l.cli, "vc", false); ip != "192.0.2.40" {
		t.Errorf("host got %s after its address was given back", ip)
	}
}

// hasEvent reports whether the timeline of the host with id (its first MAC) has an event of kind.
func hasEvent(t *testing.T, st *inventory.SQLite, host, kind string) bool {
	t.Helper()
	evs, err := st.Events(context.Background(), host, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// TestAttackDiscoverStormFromOneMAC: 250 DISCOVERs from one MAC used to
// take a new address each. Now the MAC holds one offer, offered again.
func TestAttackDiscoverStormFromOneMAC(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	st := openStore(t)
	s := startServer(t, l.srv, fullConfig("vs", UnknownPool), st)
	a := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
	mac, _ := net.ParseMAC("02:00:00:00:66:01")
	offers := map[string]int{}
	var mu sync.Mutex
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := a.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if r, err := dhcpv4.FromBytes(buf[:n]); err == nil && r.MessageType() == dhcpv4.MessageTypeOffer && r.ClientHWAddr.String() == mac.String() {
				mu.Lock()
				offers[r.YourIPAddr.String()]++
				mu.Unlock()
			}
		}
	}()
	sent := 0
	stop := during(func() {
		for i := 0; i < 10 && sent < 250; i++ {
			a.send(toBroadcast, mac, dhcpv4.MessageTypeDiscover)
			sent++
		}
	})
	ip, _ := udhcpcLease(t, l.cli, "vc", false)
	waitFor(5*time.Second, func() bool { return sent >= 250 })
	stop()
	if sent < 250 {
		t.Fatalf("only %d DISCOVERs sent", sent)
	}
	waitFor(2*time.Second, func() bool { return s.Metrics.Count("discover", "offer") >= 250 })
	mu.Lock()
	defer mu.Unlock()
	if len(offers) != 1 {
		t.Errorf("250 DISCOVERs from one MAC were offered %d addresses (%v), want 1", len(offers), offers)
	}
	total := 0
	for _, n := range offers {
		total += n
	}
	if total < 200 {
		t.Errorf("only %d of 250 DISCOVERs answered: the same offer is to be repeated", total)
	}
	s.mu.Lock()
	held := 0
	for _, o := range s.alloc.offers {
		if o.mac == mac.String() {
			held++
		}
	}
	s.mu.Unlock()
	if held != 1 {
		t.Errorf("the MAC holds %d offers, want 1", held)
	}
	if !inPool(netipMust(ip)) {
		t.Errorf("udhcpc got %s", ip)
	}
}

// TestAttackNewMACStormIsBoundedPerInterface: DISCOVERs from ever new MACs
// get offers only up to the interface's bound; a known host is still served.
func TestAttackNewMACStormIsBoundedPerInterface(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	st := openStore(t)
	if err := st.PutHost(context.Background(), &inventory.Host{MACs: []string{l.cliMAC}, Hostname: "k01", IP: "192.0.2.40"}); err != nil {
		t.Fatal(err)
	}
	cfg := fullConfig("vs", UnknownPool)
	cfg.OfferRate, cfg.OfferBurst = 10, 20
	s := startServer(t, l.srv, cfg, st)
	a := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
	n := 0
	stop := during(func() {
		for i := 0; i < 20; i++ {
			n++
			a.send(toBroadcast, net.HardwareAddr{2, 0, 0, 0x77, byte(n >> 8), byte(n)}, dhcpv4.MessageTypeDiscover)
		}
	})
	start := time.Now()
	ip, _ := udhcpcLease(t, l.cli, "vc", false)
	time.Sleep(time.Second)
	stop()
	secs := time.Since(start).Seconds()
	if ip != "192.0.2.40" {
		t.Errorf("known host got %s", ip)
	}
	offered := s.Metrics.Count("discover", "offer")
	limit := uint64(20 + 10*secs + 2) // burst + rate × time, the known host's offer
	t.Logf("%d DISCOVERs from new MACs in %.1fs: %d offers (bound %d)", n, secs, offered, limit)
	if n < 200 {
		t.Fatalf("only %d DISCOVERs sent", n)
	}
	if offered > limit {
		t.Errorf("%d offers in %.1fs, bound is %d", offered, secs, limit)
	}
}

// TestAttackSpoofedGiaddrFromTheLocalSegment: packets carrying a relay's
// giaddr but sent by a local client (broadcast, or unicast from an address
// not in dhcp.relays, or broadcast from the relay's own address) used to
// bind the relay subnet's addresses. None may now.
func TestAttackSpoofedGiaddrFromTheLocalSegment(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.254/32", "dev", "vc") // the relay's address, spoofed
	st := openStore(t)
	cfg := fullConfig("vs", UnknownPool)
	cfg.Subnets = append(cfg.Subnets, SubnetConfig{CIDR: "198.18.0.0/24", Pools: []string{"198.18.0.100-198.18.0.150"}, Lease: "30m"})
	cfg.Relays = []string{"192.0.2.254"}
	s := startServer(t, l.srv, cfg, st)
	bcast := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
	uni := newAttacker(t, l.cli, "vc", "192.0.2.2", 67)
	spoof := newAttacker(t, l.cli, "vc", "192.0.2.254", 67)
	giaddr := dhcpv4.WithGatewayIP(net.IPv4(198, 18, 0, 1))
	n := 0
	stop := during(func() {
		n++
		mac := net.HardwareAddr{2, 0, 0, 0x88, byte(n >> 8), byte(n)}
		req := dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(198, 18, 0, byte(100+n%51))))
		bcast.send(toBroadcast, mac, dhcpv4.MessageTypeDiscover, giaddr)
		bcast.send(toBroadcast, mac, dhcpv4.MessageTypeRequest, giaddr, serverID, req)
		uni.send(toServer, mac, dhcpv4.MessageTypeDiscover, giaddr)
		uni.send(toServer, mac, dhcpv4.MessageTypeRequest, giaddr, serverID, req)
		spoof.send(toBroadcast, mac, dhcpv4.MessageTypeDiscover, giaddr)
		spoof.send(toBroadcast, mac, dhcpv4.MessageTypeRequest, giaddr, serverID, req)
		uni.send(toServer, mac, dhcpv4.MessageTypeRequest, giaddr, req) // INIT-REBOOT
	})
	ip, _ := udhcpcLease(t, l.cli, "vc", false)
	time.Sleep(500 * time.Millisecond)
	stop()
	if n < 20 {
		t.Fatalf("only %d rounds sent", n)
	}
	for _, le := range storedLeases(t, st) {
		if strings.HasPrefix(le.IP, "198.18.") {
			t.Errorf("spoofed relay packet bound %+v", le)
		}
	}
	s.mu.Lock()
	for ip, o := range s.alloc.offers {
		if addrOf(ip).As4()[0] == 198 {
			t.Errorf("spoofed relay packet holds an offer of %s for %s", addrOf(ip), o.mac)
		}
	}
	s.mu.Unlock()
	if !inPool(netipMust(ip)) {
		t.Errorf("udhcpc got %s", ip)
	}
}

// TestAttackReflection: giaddr and INFORM's ciaddr used to make the server
// send unicast replies to any address the sender picked. A "victim" in the
// client namespace, behind 192.0.2.2, listens on both ports: it must
// receive nothing while an INFORM from inside the subnet is still answered.
func TestAttackReflection(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	sh(t, "ip", "-n", l.cli, "addr", "add", "10.99.0.1/32", "dev", "lo")
	sh(t, "ip", "-n", l.srv, "route", "add", "10.99.0.0/24", "via", "192.0.2.2")
	st := openStore(t)
	cfg := fullConfig("vs", UnknownPool)
	// The victim's network is even a served relay subnet: only a relay in
	// dhcp.relays may have replies sent there.
	cfg.Subnets = append(cfg.Subnets, SubnetConfig{CIDR: "10.99.0.0/24", Pools: []string{"10.99.0.100-10.99.0.150"}})
	s := startServer(t, l.srv, cfg, st)
	var victims []*net.UDPConn
	for _, port := range []int{67, 68} {
		var c *net.UDPConn
		if err := inNetns(t, l.cli, func() error {
			var err error
			c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 99, 0, 1), Port: port})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		victims = append(victims, c)
	}
	got := make(chan string, 100)
	for _, v := range victims {
		go func(v *net.UDPConn) {
			buf := make([]byte, 1500)
			for {
				n, from, err := v.ReadFromUDP(buf)
				if err != nil {
					return
				}
				r, _ := dhcpv4.FromBytes(buf[:n])
				got <- from.String() + " sent " + r.MessageType().String() + " to " + v.LocalAddr().String()
			}
		}(v)
	}
	a := newAttacker(t, l.cli, "vc", "192.0.2.2", 68)
	victim := net.IPv4(10, 99, 0, 1)
	n := 0
	stop := during(func() {
		n++
		mac := net.HardwareAddr{2, 0, 0, 0x99, byte(n >> 8), byte(n)}
		a.send(toServer, mac, dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(victim))
		a.send(toServer, mac, dhcpv4.MessageTypeDiscover, dhcpv4.WithGatewayIP(victim))
		a.send(toServer, mac, dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(net.IPv4(192, 0, 2, 3)), dhcpv4.WithGatewayIP(victim))
		a.send(toServer, mac, dhcpv4.MessageTypeDiscover, dhcpv4.WithClientIP(victim))
		a.send(toServer, mac, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(victim))
	})
	ip, _ := udhcpcLease(t, l.cli, "vc", false)
	time.Sleep(500 * time.Millisecond)
	stop()
	if n < 20 {
		t.Fatalf("only %d rounds sent", n)
	}
	select {
	case r := <-got:
		t.Errorf("reflected to the victim: %s", r)
	default:
	}
	if !inPool(netipMust(ip)) {
		t.Errorf("udhcpc got %s", ip)
	}
	// An INFORM from an address inside the served subnet is answered there.
	inf := newAttacker(t, l.cli, "vc", "192.0.2.2", 0)
	mac, _ := net.ParseMAC("02:00:00:00:99:ff")
	before := s.Metrics.Count("inform", "ack")
	inf.send(toServer, mac, dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(net.IPv4(192, 0, 2, 2)))
	if !waitFor(3*time.Second, func() bool { return s.Metrics.Count("inform", "ack") > before }) {
		t.Errorf("INFORM from 192.0.2.2 inside the subnet not answered")
	}
}

// TestAttackSpoofedRequestsMoveNoLease: SELECTING, INIT-REBOOT and RENEWING
// REQUESTs with a client's MAC for an address of the attacker's choosing
// used to move the client's lease there. None may now, for a client with a
// lease and for one without.
func TestAttackSpoofedRequestsMoveNoLease(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	st := openStore(t)
	nolease := "52:54:00:00:aa:02"
	if err := st.PutHost(context.Background(), &inventory.Host{MACs: []string{nolease}, Hostname: "n01"}); err != nil {
		t.Fatal(err)
	}
	startServer(t, l.srv, fullConfig("vs", UnknownPool), st)
	first, _ := udhcpcLease(t, l.cli, "vc", false)
	victim, _ := net.ParseMAC(l.cliMAC)
	other, _ := net.ParseMAC(nolease)
	a := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
	u := newAttacker(t, l.cli, "vc", "192.0.2.2", 0)
	pick := net.IPv4(192, 0, 2, 177)
	want := dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(pick))
	stop := during(func() {
		for _, m := range []net.HardwareAddr{victim, other} {
			a.send(toBroadcast, m, dhcpv4.MessageTypeRequest, serverID, want)         // SELECTING, never offered
			a.send(toBroadcast, m, dhcpv4.MessageTypeRequest, want)                   // INIT-REBOOT
			u.send(toServer, m, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(pick)) // RENEWING
		}
	})
	again, _ := udhcpcLease(t, l.cli, "vc", false)
	time.Sleep(300 * time.Millisecond)
	stop()
	if again != first {
		t.Errorf("the client's address moved from %s to %s", first, again)
	}
	for _, le := range storedLeases(t, st) {
		if le.IP == pick.String() {
			t.Errorf("a spoofed REQUEST bound the attacker's pick: %+v", le)
		}
		if le.MAC == nolease {
			t.Errorf("a spoofed REQUEST gave a lease to a host that asked for none: %+v", le)
		}
	}
	if le := leaseOf(t, st, l.cliMAC); le.IP != first || le.State != inventory.LeaseBound {
		t.Errorf("the client's stored lease is %+v, want %s bound", le, first)
	}
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestInstallerLeaseIsTheHostsAddressAtOnce: the installer does its own
// DHCP; the address it is ACKed is the host's current lease (what token
// binding checks) as soon as the ACK arrives, and a move releases the old
// address in the same commit.
func TestInstallerLeaseIsTheHostsAddressAtOnce(t *testing.T) {
	l := newLink(t)
	st := openStore(t)
	ctx := context.Background()
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{l.cliMAC}, Hostname: "i01"}); err != nil {
		t.Fatal(err)
	}
	startServer(t, l.srv, fullConfig("vs", UnknownIgnore), st)
	// The firmware's DHCP.
	first, _ := udhcpcLease(t, l.cli, "vc", false)
	if ip, err := st.LeaseIP(ctx, l.cliMAC); err != nil || ip != first {
		t.Fatalf("right after the firmware's ACK, LeaseIP = %q, %v; want %s", ip, err, first)
	}
	// Ops give the host a reservation; the installer's DHCP gets it.
	if _, err := st.UpdateHost(ctx, l.cliMAC, func(h *inventory.Host) error { h.IP = "192.0.2.41"; return nil }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // the server's host snapshot refreshes every 200 ms here
	second, _ := udhcpcLease(t, l.cli, "vc", false)
	if second != "192.0.2.41" {
		t.Fatalf("installer got %s, want the new reservation 192.0.2.41", second)
	}
	if ip, err := st.LeaseIP(ctx, l.cliMAC); err != nil || ip != second {
		t.Errorf("right after the installer's ACK, LeaseIP = %q, %v; want %s", ip, err, second)
	}
	if id, err := st.HostIDByLease(ctx, second); err != nil || id != l.cliMAC {
		t.Errorf("HostIDByLease(%s) = %q, %v", second, id, err)
	}
	if id, err := st.HostIDByLease(ctx, first); err == nil {
		t.Errorf("the old address %s still names host %s", first, id)
	}
}

// TestBootStormOfAThousandMachinesWithinTheDefaultBound: 1,000 machines the
// inventory does not know power on at once (DISCOVERs in one second, each
// repeated on a PXE-like retry); with the default offer bound every one of
// them is offered an address.
func TestBootStormOfAThousandMachinesWithinTheDefaultBound(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.srv, "addr", "add", "198.18.0.1/16", "dev", "vs")
	sh(t, "ip", "-n", l.cli, "addr", "add", "198.18.0.2/16", "dev", "vc")
	st := openStore(t)
	cfg := Config{Interface: "vs", Mode: ModeFull, Unknown: UnknownPool, Subnets: []SubnetConfig{{
		CIDR: "198.18.0.0/16", Pools: []string{"198.18.1.0-198.18.8.255"}, Lease: "1h"}}}
	s := startServer(t, l.srv, cfg, st)
	if s.cfg.OfferRate != DefaultOfferRate || s.cfg.OfferBurst != DefaultOfferBurst {
		t.Fatalf("defaults not applied: %v/s burst %d", s.cfg.OfferRate, s.cfg.OfferBurst)
	}
	a := newAttacker(t, l.cli, "vc", "0.0.0.0", 68)
	offered := map[string]bool{}
	var mu sync.Mutex
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := a.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if r, err := dhcpv4.FromBytes(buf[:n]); err == nil && r.MessageType() == dhcpv4.MessageTypeOffer {
				mu.Lock()
				offered[r.ClientHWAddr.String()] = true
				mu.Unlock()
			}
		}
	}()
	const machines = 1000
	for round := 0; round < 2; round++ { // the first DISCOVER and one retry
		for i := 0; i < machines; i++ {
			a.send(toBroadcast, net.HardwareAddr{2, 0, 0, 0x55, byte(i >> 8), byte(i)}, dhcpv4.MessageTypeDiscover)
			if i%50 == 49 {
				time.Sleep(50 * time.Millisecond) // 1,000 in one second
			}
		}
	}
	waitFor(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(offered) == machines })
	mu.Lock()
	got := len(offered)
	mu.Unlock()
	t.Logf("%d of %d machines offered; ignored %d, dropped at the queue %d", got, machines,
		s.Metrics.Count("discover", "ignored"), s.Metrics.Count("discover", "dropped"))
	if got != machines {
		t.Errorf("%d of %d machines of a boot storm were offered an address", got, machines)
	}
	if n := s.Metrics.Count("discover", "ignored"); n != 0 {
		t.Errorf("%d DISCOVERs of the storm refused by the offer bound", n)
	}
}

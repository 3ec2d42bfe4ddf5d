package dhcp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/inventory"
)

func TestSightingOf(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:00:00:50:01")
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name string
		mods []dhcpv4.Modifier
		addr netip.Addr
		want inventory.Discovered
	}{
		{"PXE firmware without relay", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016"))}, netip.Addr{},
			inventory.Discovered{MAC: "52:54:00:00:50:01", Arch: "efi-x86_64", VendorClass: "PXEClient:Arch:00007:UNDI:003016", LastSeen: now.UTC()}},
		{"option 12 and the bound address", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptHostName("a;reboot"))}, netip.MustParseAddr("192.0.2.120"),
			inventory.Discovered{MAC: "52:54:00:00:50:01", Arch: "efi-x86_64", Hostname: "a;reboot", Addresses: []string{"192.0.2.120"}, LastSeen: now.UTC()}},
		{"option 82 circuit ID as text, binary remote ID in hex", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptRelayAgentInfo(
			dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("Gi1/0/7")),
			dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(2), []byte{0x00, 0x1b, 0x21, 0xff}),
		))}, netip.Addr{},
			inventory.Discovered{MAC: "52:54:00:00:50:01", Arch: "efi-x86_64", CircuitID: "Gi1/0/7", RemoteID: "hex:001b21ff", LastSeen: now.UTC()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := dhcpv4.NewDiscovery(mac, tc.mods...)
			if err != nil {
				t.Fatal(err)
			}
			got := sightingOf(req, "52:54:00:00:50:01", "efi-x86_64", tc.addr, now)
			if got.MAC != tc.want.MAC || got.Arch != tc.want.Arch || got.VendorClass != tc.want.VendorClass || got.Hostname != tc.want.Hostname ||
				got.CircuitID != tc.want.CircuitID || got.RemoteID != tc.want.RemoteID || len(got.Addresses) != len(tc.want.Addresses) || !got.LastSeen.Equal(tc.want.LastSeen) {
				t.Fatalf("sighting = %+v\nwant       %+v", got, tc.want)
			}
		})
	}
}

// TestKnownHostServedDuringDiscoverFlood sends DISCOVERs from 10,000 new
// unknown MACs in discover mode while a known host does full exchanges: the
// known host gets every ACK and the discovered table stays within its cap.
func TestKnownHostServedDuringDiscoverFlood(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	st := openStore(t)
	known := "52:54:00:00:40:01"
	if err := st.PutHost(context.Background(), &inventory.Host{MACs: []string{known}, Hostname: "k01", IP: "192.0.2.40"}); err != nil {
		t.Fatal(err)
	}
	const cap = 50
	cfg := fullConfig("vs", UnknownDiscover)
	cfg.Discover = DiscoverConfig{Subnets: []string{"192.0.2.0/24"}, Max: cap}
	cfg.Workers = 2
	s := startServer(t, l.srv, cfg, st)

	var flooder *net.UDPConn
	if err := inNetns(t, l.cli, func() error {
		var err error
		flooder, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP("192.0.2.2")}, &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 67})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	const flood = 10000
	var sent int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mac := make(net.HardwareAddr, 6)
		mac[0] = 0x02
		for i := uint32(0); i < flood; i++ {
			binary.BigEndian.PutUint32(mac[2:], i)
			d, err := dhcpv4.NewDiscovery(mac, dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
				dhcpv4.WithOption(dhcpv4.OptHostName("$(reboot)")))
			if err != nil {
				continue
			}
			if _, err := flooder.Write(d.ToBytes()); err == nil {
				sent++
			}
			if i%500 == 0 {
				time.Sleep(time.Millisecond) // let the known host's packets in between
			}
		}
	}()

	mac, _ := net.ParseMAC(known)
	c := newClient(t, l.cli, "vc", mac)
	time.Sleep(100 * time.Millisecond) // let the flood build up
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		lease, err := c.Request(ctx, dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")))
		cancel()
		if err != nil {
			wg.Wait()
			t.Fatalf("known host exchange %d during the flood: %v", i+1, err)
		}
		if got := lease.ACK.YourIPAddr.String(); got != "192.0.2.40" {
			t.Fatalf("known host got %s, want its reservation 192.0.2.40", got)
		}
	}
	wg.Wait()
	// Let the sighting queue drain.
	var recorded, dropped uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		r, d := s.Sightings()
		time.Sleep(200 * time.Millisecond)
		if r2, d2 := s.Sightings(); r2 == r && d2 == d {
			recorded, dropped = r, d
			break
		}
	}
	list, err := st.ListDiscovered(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := s.Metrics
	body := gatherOne(t, m)
	for _, want := range []string{
		fmt.Sprintf(`netkick_dhcp_discovery_sightings_total{result="recorded"} %d`, recorded),
		fmt.Sprintf(`netkick_dhcp_discovery_sightings_total{result="dropped"} %d`, dropped),
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q (Server.Sightings):\n%s", want, body)
		}
	}
	t.Logf("flood: %d DISCOVERs from new MACs sent; offers %d, no address %d, ignored %d, dropped at the queue %d; sightings recorded %d, dropped %d; discovered table %d (cap %d)",
		sent, m.Count("discover", "offer"), m.Count("discover", "no_address"), m.Count("discover", "ignored"), m.Count("discover", "dropped"), recorded, dropped, len(list), cap)
	if sent < flood {
		t.Fatalf("only %d of %d DISCOVERs sent", sent, flood)
	}
	if recorded < cap+1 {
		t.Fatalf("%d sightings recorded: too few to prove the table is bounded (cap %d)", recorded, cap)
	}
	if len(list) != cap {
		t.Fatalf("discovered table holds %d machines, want exactly the cap %d", len(list), cap)
	}
	for _, d := range list {
		if d.MAC == known {
			t.Fatalf("the known host was recorded as discovered")
		}
		if d.Hostname != "$(reboot)" {
			t.Fatalf("hostname stored as %q, want the text the machine sent, as data", d.Hostname)
		}
	}
	if h, err := st.GetHost(context.Background(), "02:00:00:00:00:01"); err == nil {
		t.Fatalf("a flooding MAC became an inventory host: %+v", h)
	}
}

package dhcp

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/inventory"
)

// TestKnownHostServedDuringUnknownFlood floods the server with DISCOVERs from
// ever new unknown MACs while a known host does full exchanges: the known
// host must get every ACK.
func TestKnownHostServedDuringUnknownFlood(t *testing.T) {
	l := newLink(t)
	sh(t, "ip", "-n", l.cli, "addr", "add", "192.0.2.2/24", "dev", "vc")
	st := openStore(t)
	known := "52:54:00:00:40:01"
	if err := st.PutHost(context.Background(), &inventory.Host{MACs: []string{known}, Hostname: "k01", IP: "192.0.2.40"}); err != nil {
		t.Fatal(err)
	}
	cfg := fullConfig("vs", UnknownPool)
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
	stop := make(chan struct{})
	var sent int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mac := make(net.HardwareAddr, 6)
		mac[0] = 0x02
		for i := uint32(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			binary.BigEndian.PutUint32(mac[2:], i)
			d, err := dhcpv4.NewDiscovery(mac, dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")))
			if err != nil {
				continue
			}
			if _, err := flooder.Write(d.ToBytes()); err == nil {
				sent++
			}
		}
	}()

	mac, _ := net.ParseMAC(known)
	c := newClient(t, l.cli, "vc", mac)
	time.Sleep(300 * time.Millisecond) // let the flood build up
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		lease, err := c.Request(ctx, dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")))
		cancel()
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("known host exchange %d during the flood: %v", i+1, err)
		}
		if got := lease.ACK.YourIPAddr.String(); got != "192.0.2.40" {
			t.Fatalf("known host got %s, want its reservation 192.0.2.40", got)
		}
	}
	close(stop)
	wg.Wait()
	m := s.Metrics
	handled := m.Count("discover", "offer") + m.Count("discover", "no_address") + m.Count("discover", "dropped")
	t.Logf("flood: %d DISCOVERs sent; offers %d, no address %d, dropped at the queue %d",
		sent, m.Count("discover", "offer"), m.Count("discover", "no_address"), m.Count("discover", "dropped"))
	if sent < 1000 || handled < 1000 {
		t.Fatalf("the flood was too small to prove anything: %d sent, %d seen", sent, handled)
	}
	// An ACK is counted once its sendmmsg returned, which can be just after
	// the client has it: give the counter a moment.
	for deadline := time.Now().Add(2 * time.Second); m.Count("request", "ack") < 5 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if m.Count("request", "ack") < 5 {
		t.Errorf("ACKs counted = %d, want at least 5", m.Count("request", "ack"))
	}
}

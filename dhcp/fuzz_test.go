package dhcp

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/netkick/netkick/inventory"
)

// newOfflineServer builds a server that is not bound to any socket, with its
// lease committer running, for driving HandleBytes directly.
func newOfflineServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	st, err := inventory.OpenSQLite(filepath.Join(t.TempDir(), "inventory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Options{Config: cfg, Store: st, ServerIP: "192.0.2.1", Logger: quietLogger()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.commit.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// pxeSeeds are the fuzzer's starting points: packets captured from real
// firmware (testdata/pxe and testdata/proxy, see their READMEs) and
// DISCOVERs built like them.
func pxeSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "pxe", "*.bin"))
	proxy, _ := filepath.Glob(filepath.Join("testdata", "proxy", "*.bin"))
	files = append(files, proxy...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	for _, mods := range [][]dhcpv4.Modifier{
		{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC))},
		{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)), dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, testGUID)},
		{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016:UNDI:003001")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64_HTTP))},
		{dhcpv4.WithUserClass("iPXE", true), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_ARM64))},
	} {
		d, err := dhcpv4.NewDiscovery(mac, mods...)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, d.ToBytes())
		r, _ := dhcpv4.NewRequestFromOffer(d, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 0, 2, 100))),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(192, 0, 2, 1))))
		seeds = append(seeds, r.ToBytes())
	}
	return seeds
}

// FuzzHandleBytes feeds mutated PXE packets to the full-mode and proxy-mode
// handlers: no panic; malformed packets get no reply and are counted; every
// reply is a well-formed BOOTREPLY to the same transaction and client.
func FuzzHandleBytes(f *testing.F) {
	for _, s := range pxeSeeds(f) {
		f.Add(s)
	}
	fcfg := fullConfig("vs", UnknownPool)
	fcfg.Relays = []string{"192.0.2.50"} // the fuzzer's peer: relayed packets are served too
	full := newOfflineServer(f, fcfg)
	proxy := newOfflineServer(f, Config{Interface: "vs", Mode: ModeProxy, Unknown: UnknownPool})
	peer := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 50), Port: 68}
	ctx := context.Background()
	// The MACs of the seeds are a known host's in proxy mode, so address
	// learning (a lease write per new address) is fuzzed too.
	if err := proxy.store.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:12:34:56", "52:54:00:12:34:57", "52:54:00:4e:54:0b", "52:54:00:4e:54:0d"},
		Hostname: "fuzz", State: inventory.StateBuild}); err != nil {
		f.Fatal(err)
	}
	if err := proxy.reloadHosts(ctx); err != nil {
		f.Fatal(err)
	}
	// Admission's classification and hold path see every packet too (the
	// load stays at the bound: what is held stays held, up to its bound).
	busy := &gauge{}
	busy.n.Store(1 << 20)
	full.adm = newAdmission(busy, 128, DefaultHoldMax)
	f.Fuzz(func(t *testing.T, b []byte) {
		req0, decodeErr := decode(b)
		if decodeErr == nil {
			full.hold(packet{req: req0, raw: b, at: time.Now()})
		}
		for _, c := range []struct {
			s    *Server
			port int
		}{{full, 67}, {proxy, 67}, {proxy, 4011}} {
			bad := c.s.Metrics.Count("invalid", "bad")
			resp, dst := c.s.HandleBytes(ctx, b, peer, c.port)
			if decodeErr != nil {
				if resp != nil {
					t.Fatalf("reply to a packet that does not decode (%v): %v", decodeErr, resp)
				}
				if c.s.Metrics.Count("invalid", "bad") != bad+1 {
					t.Fatalf("malformed packet not counted")
				}
				continue
			}
			if resp == nil {
				continue
			}
			req, _ := dhcpv4.FromBytes(b)
			if dst == nil {
				t.Fatalf("reply without destination")
			}
			out := resp.ToBytes()
			if len(out) > 1500 {
				t.Fatalf("reply of %d bytes", len(out))
			}
			back, err := dhcpv4.FromBytes(out)
			if err != nil {
				t.Fatalf("reply does not parse back: %v", err)
			}
			if back.OpCode != dhcpv4.OpcodeBootReply || back.TransactionID != req.TransactionID || !bytes.Equal(back.ClientHWAddr, req.ClientHWAddr) {
				t.Fatalf("reply %v does not answer request %v", back, req)
			}
			if c.s.cfg.Mode == ModeFull {
				// No reflection: broadcast, the relay, or a ciaddr inside the served subnet.
				ci, _ := netipFrom(req.ClientIPAddr)
				switch {
				case dst.IP.Equal(net.IPv4bcast):
				case !req.GatewayIPAddr.IsUnspecified() && dst.IP.Equal(req.GatewayIPAddr) && dst.Port == 67:
				case dst.IP.Equal(req.ClientIPAddr) && ci.IsValid() && netip.MustParsePrefix("192.0.2.0/24").Contains(ci):
				default:
					t.Fatalf("full-mode reply sent to %v for a request with giaddr %v ciaddr %v", dst, req.GatewayIPAddr, req.ClientIPAddr)
				}
			}
			if yi := back.YourIPAddr.To4(); yi != nil && !yi.IsUnspecified() {
				if c.s.cfg.Mode == ModeProxy {
					t.Fatalf("proxy mode handed out %v", yi)
				}
				a, _ := netipFrom(yi)
				if !inPool(a) {
					t.Fatalf("address %v outside the pool", yi)
				}
			}
		}
	})
}

func TestCapturedDiscovers(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		wantMAC  string
		wantFile string
	}{
		{"iPXE ROM under SeaBIOS gets its script URL", "qemu-ipxe-bios-discover.bin", "52:54:00:12:34:56", "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=pcbios"},
		{"iPXE ROM under OVMF gets its script URL", "qemu-ipxe-uefi-discover.bin", "52:54:00:12:34:57", "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-57&platform=efi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "pxe", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s := newOfflineServer(t, fullConfig("vs", UnknownPool))
			resp, dst := s.HandleBytes(context.Background(), b, &net.UDPAddr{IP: net.IPv4zero, Port: 68}, 67)
			if resp == nil {
				t.Fatal("no reply")
			}
			if resp.MessageType() != dhcpv4.MessageTypeOffer || resp.ClientHWAddr.String() != tc.wantMAC {
				t.Errorf("reply %s to %s", resp.MessageType(), resp.ClientHWAddr)
			}
			if resp.BootFileNameOption() != tc.wantFile || resp.BootFileName != tc.wantFile {
				t.Errorf("boot file %q / %q, want %q", resp.BootFileNameOption(), resp.BootFileName, tc.wantFile)
			}
			if len(resp.Options.Get(dhcpv4.OptionClientMachineIdentifier)) != 17 {
				t.Errorf("option 97 not echoed")
			}
			if !dst.IP.Equal(net.IPv4bcast) || dst.Port != 68 {
				t.Errorf("reply to %v, want broadcast port 68", dst)
			}
		})
	}
}

package dhcp

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/netkick/netkick/inventory"
)

// newClient opens an nclient4 client on dev inside ns, sending as mac.
func newClient(t *testing.T, ns, dev string, mac net.HardwareAddr) *nclient4.Client {
	t.Helper()
	var c *nclient4.Client
	err := inNetns(t, ns, func() error {
		var err error
		c, err = nclient4.New(dev, nclient4.WithHWAddr(mac), nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var testGUID = append([]byte{0}, bytes.Repeat([]byte{0xab}, 16)...)

func TestPXEClientsGetTheirBootFiles(t *testing.T) {
	l := newLink(t)
	st := openStore(t)
	ctx := context.Background()
	if err := st.PutProfile(ctx, &inventory.Profile{Name: "c7-ipxe", OS: "centos", Version: "7.9", BootLoader: "ipxe"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:10:01"}, Hostname: "b01", IP: "192.0.2.21", Profile: "c7-ipxe"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:00:10:02"}, Hostname: "b02", IP: "192.0.2.22", Profile: "c7-ipxe", State: inventory.StateInstalled}); err != nil {
		t.Fatal(err)
	}
	startServer(t, l.srv, fullConfig("vs", UnknownPool), st)
	pxeOpt := []byte{6, 1, 8, 255} // option 43: PXE discovery control, boot the offered file

	pxe := func(class string, arch ...iana.Arch) []dhcpv4.Modifier {
		return []dhcpv4.Modifier{
			dhcpv4.WithOption(dhcpv4.OptClassIdentifier(class)),
			dhcpv4.WithOption(dhcpv4.OptClientArch(arch...)),
			dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, testGUID),
		}
	}
	tests := []struct {
		name      string
		mac       string
		mods      []dhcpv4.Modifier
		wantIP    string // "" means any pool address
		wantFile  string
		wantClass string
		wantNext  bool // option 66 and siaddr
		wantHost  string
		// wantVendor is option 43. EDK II's PXE client reads a full offer
		// with PXEClient but no option 43 as a BINL offer and asks port 4011
		// for its boot file; nothing answers there (PXE-E16).
		wantVendor []byte
	}{
		{"BIOS unknown host gets pxelinux.0", "52:54:00:00:20:01", pxe("PXEClient:Arch:00000:UNDI:002001", iana.INTEL_X86PC), "", "pxelinux.0", "PXEClient", true, "", pxeOpt},
		{"BIOS known host with iPXE profile gets undionly.kpxe and its reservation", "52:54:00:00:10:01", pxe("PXEClient:Arch:00000:UNDI:002001", iana.INTEL_X86PC), "192.0.2.21", "undionly.kpxe", "PXEClient", true, "b01", pxeOpt},
		{"UEFI x86-64 gets ipxe.efi", "52:54:00:00:20:02", pxe("PXEClient:Arch:00007:UNDI:003016", iana.EFI_X86_64), "", "ipxe.efi", "PXEClient", true, "", pxeOpt},
		{"ARM64 gets the ARM64 EFI binary", "52:54:00:00:20:03", pxe("PXEClient:Arch:00011:UNDI:003000", iana.EFI_ARM64), "", "ipxe-arm64.efi", "PXEClient", true, "", pxeOpt},
		{"iPXE user class gets the script URL", "52:54:00:00:20:04", append(pxe("PXEClient:Arch:00007:UNDI:003016", iana.EFI_X86_64), dhcpv4.WithUserClass("iPXE", false)),
			"", "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-00-20-04&platform=efi", "PXEClient", false, "", nil},
		{"UEFI HTTP boot gets a URL and HTTPClient", "52:54:00:00:20:05", pxe("HTTPClient:Arch:00016:UNDI:003001", iana.EFI_X86_64_HTTP), "", "http://192.0.2.1:8080/boot/ipxe.efi", "HTTPClient", false, "", nil},
		{"UEFI HTTP boot of an installed host gets the refused local-boot URL", "52:54:00:00:10:02", pxe("HTTPClient:Arch:00016:UNDI:003001", iana.EFI_X86_64_HTTP), "192.0.2.22", "http://192.0.2.1:8080/boot/netkick-local-boot", "HTTPClient", false, "b02", nil},
		{"UEFI firmware PXE of an installed host gets the refused local-boot file", "52:54:00:00:10:02", pxe("PXEClient:Arch:00007:UNDI:003016", iana.EFI_X86_64), "192.0.2.22", "netkick-local-boot", "PXEClient", true, "b02", pxeOpt},
		{"iPXE of an installed UEFI host still gets its script", "52:54:00:00:10:02", append(pxe("PXEClient:Arch:00007:UNDI:003010", iana.EFI_X86_64), dhcpv4.WithUserClass("iPXE", false)),
			"192.0.2.22", "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-00-10-02&platform=efi", "PXEClient", false, "b02", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mac, _ := net.ParseMAC(tc.mac)
			c := newClient(t, l.cli, "vc", mac)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			lease, err := c.Request(ctx, tc.mods...)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*dhcpv4.DHCPv4{lease.Offer, lease.ACK} {
				kind := m.MessageType().String()
				yi, _ := netip.AddrFromSlice(m.YourIPAddr.To4())
				if tc.wantIP != "" && yi.String() != tc.wantIP || tc.wantIP == "" && !inPool(yi) {
					t.Errorf("%s yiaddr = %s, want %q (or the pool)", kind, yi, tc.wantIP)
				}
				if got := m.ServerIdentifier(); !got.Equal(net.ParseIP("192.0.2.1")) {
					t.Errorf("%s option 54 = %v", kind, got)
				}
				if got := m.BootFileNameOption(); got != tc.wantFile {
					t.Errorf("%s option 67 = %q, want %q", kind, got, tc.wantFile)
				}
				if m.BootFileName != tc.wantFile {
					t.Errorf("%s BOOTP file = %q, want %q", kind, m.BootFileName, tc.wantFile)
				}
				if got := m.ClassIdentifier(); got != tc.wantClass {
					t.Errorf("%s option 60 = %q, want %q", kind, got, tc.wantClass)
				}
				wantNext := ""
				if tc.wantNext {
					wantNext = "192.0.2.1"
				}
				if got := m.TFTPServerName(); got != wantNext {
					t.Errorf("%s option 66 = %q, want %q", kind, got, wantNext)
				}
				if tc.wantNext && !m.ServerIPAddr.Equal(net.ParseIP("192.0.2.1")) {
					t.Errorf("%s siaddr = %v", kind, m.ServerIPAddr)
				}
				if got := m.Options.Get(dhcpv4.OptionVendorSpecificInformation); !bytes.Equal(got, tc.wantVendor) {
					t.Errorf("%s option 43 = %x, want %x", kind, got, tc.wantVendor)
				}
				if got := m.Options.Get(dhcpv4.OptionClientMachineIdentifier); !bytes.Equal(got, testGUID) {
					t.Errorf("%s option 97 = %x, want the client's %x", kind, got, testGUID)
				}
				if got := m.HostName(); got != tc.wantHost {
					t.Errorf("%s option 12 = %q, want %q", kind, got, tc.wantHost)
				}
				if got := m.Router(); len(got) != 1 || !got[0].Equal(net.ParseIP("192.0.2.1")) {
					t.Errorf("%s option 3 = %v", kind, got)
				}
			}
			le := leaseOf(t, st, tc.mac)
			if le.IP != lease.ACK.YourIPAddr.String() || le.State != inventory.LeaseBound {
				t.Errorf("stored lease %+v, ACK gave %s", le, lease.ACK.YourIPAddr)
			}
		})
	}
	// The known host's timeline shows the exchange.
	deadline := time.Now().Add(3 * time.Second)
	for {
		evs, err := st.Events(ctx, "52:54:00:00:10:01", 0)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, e := range evs {
			kinds[e.Kind] = true
		}
		h, err := st.GetHost(ctx, "b01")
		if err != nil {
			t.Fatal(err)
		}
		if kinds["dhcp-offer"] && kinds["dhcp-ack"] && h.Arch == "bios" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b01 events = %+v (want dhcp-offer and dhcp-ack), arch %q (want bios)", evs, h.Arch)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUnknownPolicies(t *testing.T) {
	tests := []struct {
		name      string
		policy    string
		discover  []string // dhcp.discover.subnets
		wantLease bool
		wantSeen  bool
	}{
		{"ignore leaves unknown MACs unanswered", UnknownIgnore, nil, false, false},
		{"pool gives an address and records nothing", UnknownPool, nil, true, false},
		{"discover records the machine and gives an address", UnknownDiscover, []string{"192.0.2.0/24"}, true, true},
		{"discover leaves a subnet dhcp.discover does not name unanswered", UnknownDiscover, []string{"198.51.100.0/24"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink(t)
			st := openStore(t)
			cfg := fullConfig("vs", tc.policy)
			cfg.Discover.Subnets = tc.discover
			s := startServer(t, l.srv, cfg, st)
			mac, _ := net.ParseMAC("52:54:00:00:30:01")
			c := newClient(t, l.cli, "vc", mac)
			wait := 10 * time.Second
			if !tc.wantLease {
				wait = 3 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			_, err := c.Request(ctx, dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
				dhcpv4.WithOption(dhcpv4.OptHostName("$(reboot)")))
			if tc.wantLease != (err == nil) {
				t.Fatalf("Request err = %v, want lease %v", err, tc.wantLease)
			}
			if h, herr := st.GetHost(context.Background(), "52:54:00:00:30:01"); herr == nil {
				t.Fatalf("a host was added to the inventory under policy %s: %+v", tc.policy, h)
			}
			var d *inventory.Discovered
			var derr error
			for deadline := time.Now().Add(3 * time.Second); ; {
				d, derr = st.GetDiscovered(context.Background(), "52:54:00:00:30:01")
				if derr == nil && len(d.Addresses) > 0 || time.Now().After(deadline) || !tc.wantSeen {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.wantSeen {
				if derr != nil || d.Arch != "bios" || d.Hostname != "$(reboot)" || d.VendorClass != "PXEClient:Arch:00000:UNDI:002001" ||
					len(d.Addresses) != 1 || d.FirstSeen.IsZero() || d.LastSeen.Before(d.FirstSeen) {
					t.Fatalf("discovered machine = %+v, %v", d, derr)
				}
			} else if derr == nil {
				t.Fatalf("machine recorded as discovered under policy %s: %+v", tc.policy, d)
			}
			if !tc.wantLease && s.Metrics.Count("discover", "ignored") == 0 {
				t.Errorf("ignored DISCOVERs not counted")
			}
		})
	}
}

package dhcp

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/inventory"
)

// proxyWireRules restate, on the packet netkick sends, the conditions under
// which real clients take a proxyDHCP reply (see boot.DecideProxy for where
// each comes from). req is the client's packet, port where it arrived.
var proxyWireRules = []struct {
	name string
	// pxe: the rule concerns PXEClient replies only (not HTTP boot's).
	pxe bool
	ok  func(req, resp *dhcpv4.DHCPv4, port int) bool
}{
	{"no address: yiaddr 0.0.0.0 (EDK II IS_PROXY_DHCP_OFFER, PXE 2.1 proxyDHCP)", false, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		return r.YourIPAddr.IsUnspecified()
	}},
	{"no lease options (51, 58, 59, 1)", false, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		return !r.Options.Has(dhcpv4.OptionIPAddressLeaseTime) && !r.Options.Has(dhcpv4.OptionRenewTimeValue) &&
			!r.Options.Has(dhcpv4.OptionRebindingTimeValue) && !r.Options.Has(dhcpv4.OptionSubnetMask)
	}},
	{"iPXE dhcp_has_pxeopts: siaddr set and option 67 present", false, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		return !r.ServerIPAddr.IsUnspecified() && r.Options.Has(dhcpv4.OptionBootfileName)
	}},
	{"iPXE/EDK II: option 60 starts with PXEClient", true, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		return strings.HasPrefix(r.ClassIdentifier(), "PXEClient")
	}},
	{"EDK II Dhcp4Dxe: option 54 present; iPXE dhcp_proxy_rx: it is netkick's, on the offer and the 4011 ACK alike", false, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		return r.ServerIdentifier().Equal(net.IPv4(192, 0, 2, 1))
	}},
	{"EDK II PxeBcDhcp4BootInfo / PxeBcDhcp4Discover: siaddr is the boot server (netkick)", false, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		return r.ServerIPAddr.Equal(net.IPv4(192, 0, 2, 1))
	}},
	{"boot file in option 67 and the BOOTP file field alike", false, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		return r.BootFileName != "" && r.BootFileNameOption() == r.BootFileName
	}},
	{"EDK II PXE10 offer, PXE 2.1: option 43 with discovery control bit 3 (boot this file, no menu)", true, func(_, r *dhcpv4.DHCPv4, _ int) bool {
		dc := boot.PXESubOption(r.Options.Get(dhcpv4.OptionVendorSpecificInformation), boot.PXEDiscoveryControl)
		return len(dc) == 1 && dc[0]&8 != 0
	}},
	{"PXE 2.1: option 97 echoed when sent", false, func(q, r *dhcpv4.DHCPv4, _ int) bool {
		return !q.Options.Has(dhcpv4.OptionClientMachineIdentifier) ||
			bytes.Equal(q.Options.Get(dhcpv4.OptionClientMachineIdentifier), r.Options.Get(dhcpv4.OptionClientMachineIdentifier))
	}},
	{"same transaction and client (iPXE checks xid and chaddr)", false, func(q, r *dhcpv4.DHCPv4, _ int) bool {
		return q.TransactionID == r.TransactionID && bytes.Equal(q.ClientHWAddr, r.ClientHWAddr) && r.OpCode == dhcpv4.OpcodeBootReply
	}},
	{"OFFER to a DISCOVER on 67, ACK on 4011 (iPXE dhcp_proxy_rx takes OFFER or ACK)", false, func(q, r *dhcpv4.DHCPv4, port int) bool {
		if port == boot.PortPXE {
			return r.MessageType() == dhcpv4.MessageTypeAck
		}
		return q.MessageType() != dhcpv4.MessageTypeDiscover || r.MessageType() == dhcpv4.MessageTypeOffer
	}},
}

func readCapture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "proxy", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProxyAnswersCapturedPackets feeds packets captured from QEMU guests on
// the testvm proxy rig (testdata/proxy, see its README) to a proxy-mode
// server and checks every field clients need in the answers.
func TestProxyAnswersCapturedPackets(t *testing.T) {
	zero68 := &net.UDPAddr{IP: net.IPv4zero, Port: 68}
	bcast68 := &net.UDPAddr{IP: net.IPv4bcast, Port: 68}
	ovmf4011 := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 153), Port: 4011}
	ipxe68 := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 153), Port: 68}
	tests := []struct {
		name      string
		file      string
		port      int
		peer      *net.UDPAddr
		wantFile  string
		wantDst   *net.UDPAddr
		wantOpt66 bool
		wantClass string
	}{
		{"iPXE ROM (SeaBIOS) DISCOVER: offer with siaddr and its script URL", "ipxe-bios-discover.bin", 67, zero68,
			"http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-4e-54-0b&platform=pcbios", bcast68, false, "PXEClient"},
		{"OVMF PXE DISCOVER: offer of ipxe.efi over TFTP", "ovmf-pxe-discover.bin", 67, zero68,
			"ipxe.efi", bcast68, true, "PXEClient"},
		{"ipxe.efi (loaded by OVMF) DISCOVER: offer with siaddr and its script URL", "ipxe-efi-discover.bin", 67, zero68,
			"http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-4e-54-0d&platform=efi", bcast68, false, "PXEClient"},
		{"OVMF HTTP boot DISCOVER: HTTPClient and a URL", "ovmf-http-discover.bin", 67, zero68,
			"http://192.0.2.1:8080/boot/ipxe.efi", bcast68, false, "HTTPClient"},
		{"OVMF PXE request to 4011 (after a BINL offer): ACK back to its port 4011", "ovmf-pxe-request-4011.bin", 4011, ovmf4011,
			"ipxe.efi", ovmf4011, true, "PXEClient"},
		{"ipxe.efi ProxyDHCP REQUEST to 4011: ACK from 4011 to its port 68, with siaddr", "ipxe-efi-request-4011.bin", 4011, ipxe68,
			"http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-4e-54-0d&platform=efi", ipxe68, false, "PXEClient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := readCapture(t, tc.file)
			req, err := dhcpv4.FromBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			s := newOfflineServer(t, Config{Interface: "vs", Mode: ModeProxy, Unknown: UnknownPool})
			resp, dst := s.HandleBytes(context.Background(), b, tc.peer, tc.port)
			if resp == nil {
				t.Fatal("no answer")
			}
			for _, rule := range proxyWireRules {
				if rule.pxe && tc.wantClass != "PXEClient" {
					continue
				}
				if !rule.ok(req, resp, tc.port) {
					t.Errorf("breaks %q:\n%s", rule.name, resp.Summary())
				}
			}
			if resp.ClassIdentifier() != tc.wantClass {
				t.Errorf("option 60 = %q, want %q", resp.ClassIdentifier(), tc.wantClass)
			}
			if tc.wantClass == "HTTPClient" && resp.Options.Has(dhcpv4.OptionVendorSpecificInformation) {
				t.Errorf("HTTP boot answer carries PXE option 43")
			}
			if resp.BootFileName != tc.wantFile {
				t.Errorf("boot file %q, want %q", resp.BootFileName, tc.wantFile)
			}
			if got := resp.TFTPServerName(); (got == "192.0.2.1") != tc.wantOpt66 {
				t.Errorf("option 66 = %q, want it only for TFTP files", got)
			}
			if !dst.IP.Equal(tc.wantDst.IP) || dst.Port != tc.wantDst.Port {
				t.Errorf("answer sent to %v, want %v", dst, tc.wantDst)
			}
		})
	}
}

// TestProxyLearnsFromCapturedRequests: the REQUESTs firmware and the
// installer's DHCP client broadcast to the site's server (captured on the
// rig) get no answer from netkick and make the host's address known, as do
// the requests firmware sends to port 4011 (answered).
func TestProxyLearnsFromCapturedRequests(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		port       int
		wantIP     string
	}{
		{"iPXE ROM REQUEST to dnsmasq", "ipxe-bios-request-site.bin", 67, "192.0.2.151"},
		{"installer udhcpc REQUEST to dnsmasq", "udhcpc-request-site.bin", 67, "192.0.2.151"},
		{"OVMF PXE REQUEST to dnsmasq", "ovmf-pxe-request-site.bin", 67, "192.0.2.153"},
		{"ipxe.efi REQUEST to dnsmasq", "ipxe-efi-request-site.bin", 67, "192.0.2.153"},
		{"OVMF PXE request to 4011: ciaddr", "ovmf-pxe-request-4011.bin", 4011, "192.0.2.153"},
		{"ipxe.efi ProxyDHCP REQUEST to 4011: ciaddr", "ipxe-efi-request-4011.bin", 4011, "192.0.2.153"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := readCapture(t, tc.file)
			req, err := dhcpv4.FromBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			s := newOfflineServer(t, Config{Interface: "vs", Mode: ModeProxy, Unknown: UnknownIgnore})
			st := s.store.(*inventory.SQLite)
			ctx := context.Background()
			h := &inventory.Host{MACs: []string{req.ClientHWAddr.String()}, Hostname: "tv-proxy", State: inventory.StateBuild}
			if err := st.PutHost(ctx, h); err != nil {
				t.Fatal(err)
			}
			if err := s.reloadHosts(ctx); err != nil {
				t.Fatal(err)
			}
			resp, _ := s.HandleBytes(ctx, b, &net.UDPAddr{IP: net.IPv4zero, Port: 68}, tc.port)
			if tc.port == 67 && resp != nil {
				t.Fatalf("netkick answered a REQUEST to the site's server: %s", resp.Summary())
			}
			if tc.port == 4011 && resp == nil {
				t.Fatal("netkick did not answer a request to port 4011")
			}
			wantHolder(t, st, tc.wantIP, h.ID())
		})
	}
}

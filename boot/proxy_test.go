package boot

import (
	"bytes"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

// A client's acceptance rule, checked against a proxyDHCP reply. Each rule
// restates one condition of a real client's code or of the PXE 2.1 spec;
// the test names them so a failure says which client would drop the reply.
type proxyRule struct {
	name string
	// applies says whether the rule concerns this reply (e.g. only 4011 ACKs).
	applies func(req ProxyRequest, r ProxyReply) bool
	ok      func(req ProxyRequest, r ProxyReply) bool
}

func isPXEClient(r ProxyReply) bool { return strings.HasPrefix(r.VendorClass, "PXEClient") }

func always(ProxyRequest, ProxyReply) bool { return true }

func pxeOnly(_ ProxyRequest, r ProxyReply) bool { return isPXEClient(r) }

func ackOn4011(req ProxyRequest, r ProxyReply) bool {
	return req.Port == PortPXE && isPXEClient(r)
}

// ipxeHasPXEOpts is dhcp_has_pxeopts: siaddr and option 67, or a boot menu.
func ipxeHasPXEOpts(r ProxyReply) bool {
	return (r.ServerIP != "" && r.ServerIP != "0.0.0.0" && r.File != "") || PXESubOption(r.Vendor, PXEBootMenu) != nil
}

var proxyRules = []proxyRule{
	// iPXE, src/net/udp/dhcp.c
	{"iPXE dhcp_discovery_rx: option 60 starts with PXEClient (9 bytes) for a ProxyDHCP offer", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool {
			return len(r.VendorClass) >= 9 && r.VendorClass[:9] == "PXEClient"
		}},
	{"iPXE dhcp_discovery_rx: a pseudo server id (option 54, else siaddr) is set", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool { return r.ServerID != "" || r.ServerIP != "" }},
	{"iPXE dhcp_has_pxeopts: siaddr and option 67, or a boot menu (43.9), so the offer is used without a ProxyDHCP REQUEST", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool { return ipxeHasPXEOpts(r) }},
	{"iPXE dhcp_proxy_rx: the 4011 answer comes from source port 4011 (sent back to where the request came from)", ackOn4011,
		func(_ ProxyRequest, r ProxyReply) bool { return r.ToSource }},
	{"iPXE dhcp_proxy_rx: the 4011 answer is a DHCPOFFER or DHCPACK", ackOn4011,
		func(_ ProxyRequest, r ProxyReply) bool { return r.Type == MsgOffer || r.Type == MsgAck }},
	{"iPXE dhcp_proxy_rx: the 4011 answer's server id equals the proxy offer's", ackOn4011,
		func(req ProxyRequest, r ProxyReply) bool { return r.ServerID == req.ServerID }},
	{"iPXE dhcp_proxy_rx: the 4011 answer passes dhcp_has_pxeopts", ackOn4011,
		func(_ ProxyRequest, r ProxyReply) bool { return ipxeHasPXEOpts(r) }},

	// EDK II, NetworkPkg/UefiPxeBcDxe/PxeBcDhcp4.c and PxeBcBoot.c, NetworkPkg/Dhcp4Dxe/Dhcp4Io.c
	{"EDK II Dhcp4Dxe DhcpHandleSelect: a DHCP offer without option 54 is dropped", always,
		func(_ ProxyRequest, r ProxyReply) bool { return r.ServerID != "" }},
	{"EDK II PxeBcParseDhcp4Packet: PXE offer only with option 60 PXEClient (option 43 is read only then)", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool { return strings.HasPrefix(r.VendorClass, "PXEClient") }},
	{"EDK II PxeBcParseDhcp4Packet: discovery sub-options in 43 make a PXE10 offer (no BINL request to port 4011)", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool {
			for _, c := range []byte{6, 7, 8, 9, 10} {
				if PXESubOption(r.Vendor, c) != nil {
					return true
				}
			}
			return false
		}},
	{"EDK II PxeBcParseDhcp4Packet: a 43 with all of MTFTP sub-options 1-5 (multicast) is discarded", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool {
			for _, c := range []byte{1, 2, 3, 4, 5} {
				if PXESubOption(r.Vendor, c) == nil {
					return true
				}
			}
			return false
		}},
	{"EDK II PxeBcSelectBootPrompt: discovery control bit 3 with a boot file skips prompt and menu", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool {
			dc := PXESubOption(r.Vendor, PXEDiscoveryControl)
			return len(dc) == 1 && dc[0]&8 != 0 && r.File != ""
		}},
	{"EDK II PxeBcDhcp4BootInfo: the boot server is siaddr (else option 54)", always,
		func(_ ProxyRequest, r ProxyReply) bool { return r.ServerIP == r.ServerID }},
	{"EDK II PxeBcDhcp4BootInfo: a boot file name (option 67 or BOOTP file) is present", always,
		func(_ ProxyRequest, r ProxyReply) bool { return r.File != "" }},
	{"EDK II PxeBcDhcp4Discover: a 4011 reply is matched to the server by siaddr", ackOn4011,
		func(req ProxyRequest, r ProxyReply) bool { return r.ServerIP == req.ServerID }},

	// PXE 2.1 specification, section 2.2 and table 2-1
	{"PXE 2.1: proxy replies carry option 60 PXEClient", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool { return r.VendorClass == "PXEClient" }},
	{"PXE 2.1: proxy replies carry option 43", pxeOnly,
		func(_ ProxyRequest, r ProxyReply) bool { return len(r.Vendor) > 0 && r.Vendor[len(r.Vendor)-1] == 255 }},
	{"PXE 2.1: option 97 (client machine identifier) is echoed", func(req ProxyRequest, _ ProxyReply) bool { return req.HasGUID },
		func(_ ProxyRequest, r ProxyReply) bool { return r.EchoGUID }},
	{"PXE 2.1: a boot server ACK echoes the requested boot item (43.71)", func(req ProxyRequest, r ProxyReply) bool {
		return req.Port == PortPXE && len(req.BootItem) == 4 && isPXEClient(r)
	}, func(req ProxyRequest, r ProxyReply) bool {
		return bytes.Equal(PXESubOption(r.Vendor, PXEBootItem), req.BootItem)
	}},
	{"PXE 2.1: the offer on port 67 is a DHCPOFFER, the 4011 answer a DHCPACK", always,
		func(req ProxyRequest, r ProxyReply) bool {
			return (req.Type == MsgDiscover && r.Type == MsgOffer) || (req.Type != MsgDiscover && r.Type == MsgAck)
		}},
	{"RFC 4578 / field: the boot file is in option 67 and the BOOTP file field (both come from File)", always,
		func(_ ProxyRequest, r ProxyReply) bool { return r.File != "" }},
}

func TestProxyRepliesPassEveryClientRule(t *testing.T) {
	srv := DHCPServer{IP: "192.0.2.1", HTTPPort: 8080}
	mac := "52:54:00:12:34:56"
	build := &inventory.Host{MACs: []string{mac}, Hostname: "a01", State: inventory.StateBuild}
	pxelinux := &inventory.Host{MACs: []string{mac}, Hostname: "a01", State: inventory.StateBuild, Params: map[string]string{"bootloader": "pxelinux"}}
	clients := []struct {
		name string
		req  DHCPRequest
		host *inventory.Host
	}{
		{"iPXE ROM under SeaBIOS (script URL)", DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001", UserClass: []string{"iPXE"}}, build},
		{"iPXE ROM under SeaBIOS, bootloader pxelinux", DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001", UserClass: []string{"iPXE"}}, pxelinux},
		{"ipxe.efi under OVMF (script URL)", DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003010", UserClass: []string{"iPXE"}}, build},
		{"OVMF PXE (ipxe.efi over TFTP)", DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}, build},
		{"BIOS firmware PXE (pxelinux.0)", DHCPRequest{MAC: mac, Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001"}, build},
		{"unknown machine, UEFI PXE", DHCPRequest{MAC: mac, Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003016"}, nil},
	}
	exchanges := []struct {
		name string
		req  ProxyRequest
	}{
		{"OFFER on 67", ProxyRequest{Port: PortDHCP, Type: MsgDiscover, HasGUID: true}},
		{"ACK on 4011 (iPXE ProxyDHCP REQUEST)", ProxyRequest{Port: PortPXE, Type: MsgRequest, ServerID: srv.IP, HasGUID: true}},
		{"ACK on 4011 (boot server request with a boot item)", ProxyRequest{Port: PortPXE, Type: MsgRequest, ServerID: srv.IP, BootItem: []byte{0x80, 0x00, 0x00, 0x00}}},
		{"ACK on 67 (REQUEST naming netkick)", ProxyRequest{Port: PortDHCP, Type: MsgRequest, ServerID: srv.IP}},
	}
	for _, c := range clients {
		bd := DecideDHCP(c.req, c.host, nil, srv)
		for _, x := range exchanges {
			req := x.req
			req.VendorClass = c.req.VendorClass
			r := DecideProxy(req, bd, srv.IP)
			if !r.Send {
				t.Errorf("%s, %s: no answer (%s)", c.name, x.name, r.Why)
				continue
			}
			for _, rule := range proxyRules {
				if rule.applies(req, r) && !rule.ok(req, r) {
					t.Errorf("%s, %s: breaks %q: %+v", c.name, x.name, rule.name, r)
				}
			}
		}
	}
}

func TestDecideProxy(t *testing.T) {
	self := "192.0.2.1"
	script := DHCPBoot{NetBoot: true, Firmware: FirmwareBIOS, IPXE: true, File: "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-12-34-56&platform=pcbios", VendorClass: ClassPXE}
	efi := DHCPBoot{NetBoot: true, Firmware: FirmwareEFIX8664, File: FileIPXEEFI, NextServer: self, VendorClass: ClassPXE, PXEVendor: PXEVendorBootFile()}
	httpBoot := DHCPBoot{NetBoot: true, Firmware: FirmwareEFIX8664HTTP, File: "http://192.0.2.1:8080/boot/ipxe.efi", VendorClass: ClassHTTP}
	tests := []struct {
		name string
		req  ProxyRequest
		bd   DHCPBoot
		want ProxyReply
	}{
		{
			name: "iPXE script URL: siaddr is still set (iPXE dhcp_has_pxeopts), no option 66",
			req:  ProxyRequest{Port: 67, Type: MsgDiscover, VendorClass: "PXEClient:Arch:00000:UNDI:002001", HasGUID: true},
			bd:   script,
			want: ProxyReply{Send: true, Type: MsgOffer, ServerIP: self, ServerID: self, File: script.File, VendorClass: ClassPXE, Vendor: []byte{6, 1, 8, 255}, EchoGUID: true},
		},
		{
			name: "firmware PXE: TFTP file with option 66",
			req:  ProxyRequest{Port: 67, Type: MsgDiscover, VendorClass: "PXEClient:Arch:00007:UNDI:003000"},
			bd:   efi,
			want: ProxyReply{Send: true, Type: MsgOffer, ServerIP: self, ServerID: self, File: FileIPXEEFI, TFTPServer: self, VendorClass: ClassPXE, Vendor: []byte{6, 1, 8, 255}},
		},
		{
			name: "4011 REQUEST: ACK to the source, same server id",
			req:  ProxyRequest{Port: 4011, Type: MsgRequest, VendorClass: "PXEClient:Arch:00000:UNDI:002001", ServerID: self},
			bd:   script,
			want: ProxyReply{Send: true, Type: MsgAck, ServerIP: self, ServerID: self, File: script.File, VendorClass: ClassPXE, Vendor: []byte{6, 1, 8, 255}, ToSource: true},
		},
		{
			name: "4011 INFORM is answered like a REQUEST",
			req:  ProxyRequest{Port: 4011, Type: MsgInform, VendorClass: "PXEClient"},
			bd:   efi,
			want: ProxyReply{Send: true, Type: MsgAck, ServerIP: self, ServerID: self, File: FileIPXEEFI, TFTPServer: self, VendorClass: ClassPXE, Vendor: []byte{6, 1, 8, 255}, ToSource: true},
		},
		{
			name: "4011 boot server request: the boot item is echoed after discovery control",
			req:  ProxyRequest{Port: 4011, Type: MsgRequest, VendorClass: "PXEClient", BootItem: []byte{0x80, 0x01, 0x00, 0x00}},
			bd:   efi,
			want: ProxyReply{Send: true, Type: MsgAck, ServerIP: self, ServerID: self, File: FileIPXEEFI, TFTPServer: self, VendorClass: ClassPXE, Vendor: []byte{6, 1, 8, 71, 4, 0x80, 0x01, 0x00, 0x00, 255}, ToSource: true},
		},
		{
			name: "a malformed boot item is not echoed",
			req:  ProxyRequest{Port: 4011, Type: MsgRequest, VendorClass: "PXEClient", BootItem: []byte{0x80}},
			bd:   efi,
			want: ProxyReply{Send: true, Type: MsgAck, ServerIP: self, ServerID: self, File: FileIPXEEFI, TFTPServer: self, VendorClass: ClassPXE, Vendor: []byte{6, 1, 8, 255}, ToSource: true},
		},
		{
			name: "HTTP boot: HTTPClient back, no option 43, no option 66",
			req:  ProxyRequest{Port: 67, Type: MsgDiscover, VendorClass: "HTTPClient:Arch:00016:UNDI:003001"},
			bd:   httpBoot,
			want: ProxyReply{Send: true, Type: MsgOffer, ServerIP: self, ServerID: self, File: httpBoot.File, VendorClass: ClassHTTP},
		},
		{
			name: "REQUEST naming netkick on 67 gets an ACK",
			req:  ProxyRequest{Port: 67, Type: MsgRequest, VendorClass: "PXEClient", ServerID: self},
			bd:   efi,
			want: ProxyReply{Send: true, Type: MsgAck, ServerIP: self, ServerID: self, File: FileIPXEEFI, TFTPServer: self, VendorClass: ClassPXE, Vendor: []byte{6, 1, 8, 255}},
		},
		{
			name: "REQUEST to the site's server is not answered",
			req:  ProxyRequest{Port: 67, Type: MsgRequest, VendorClass: "PXEClient", ServerID: "192.0.2.3"},
			bd:   efi,
			want: ProxyReply{Why: "a REQUEST to another DHCP server (the site's)"},
		},
		{
			name: "DISCOVER on 4011 is not answered",
			req:  ProxyRequest{Port: 4011, Type: MsgDiscover, VendorClass: "PXEClient"},
			bd:   efi,
			want: ProxyReply{Why: "nothing to answer on this port for this message type"},
		},
		{
			name: "a plain DHCP client is not answered",
			req:  ProxyRequest{Port: 67, Type: MsgDiscover, VendorClass: "udhcp 1.35.0"},
			bd:   DHCPBoot{},
			want: ProxyReply{Why: "not a PXE or HTTP boot client (option 60)"},
		},
		{
			name: "an iPXE user class without PXEClient is not answered (option 60 is what proxy clients merge on)",
			req:  ProxyRequest{Port: 67, Type: MsgDiscover},
			bd:   script,
			want: ProxyReply{Why: "not a PXE or HTTP boot client (option 60)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideProxy(tc.req, tc.bd, self)
			if got.Send != tc.want.Send || got.Why != tc.want.Why || got.Type != tc.want.Type || got.ServerIP != tc.want.ServerIP ||
				got.ServerID != tc.want.ServerID || got.File != tc.want.File || got.TFTPServer != tc.want.TFTPServer ||
				got.VendorClass != tc.want.VendorClass || !bytes.Equal(got.Vendor, tc.want.Vendor) ||
				got.EchoGUID != tc.want.EchoGUID || got.ToSource != tc.want.ToSource {
				t.Errorf("DecideProxy =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

func TestPXESubOption(t *testing.T) {
	tests := []struct {
		name   string
		vendor []byte
		code   byte
		want   []byte
	}{
		{"discovery control", []byte{6, 1, 8, 255}, 6, []byte{8}},
		{"boot item after discovery control", []byte{6, 1, 8, 71, 4, 0x80, 0, 0, 0, 255}, 71, []byte{0x80, 0, 0, 0}},
		{"pad bytes are skipped", []byte{0, 0, 9, 2, 1, 2, 255}, 9, []byte{1, 2}},
		{"absent", []byte{6, 1, 8, 255}, 9, nil},
		{"nothing after the end tag", []byte{255, 9, 1, 1}, 9, nil},
		{"truncated length", []byte{6, 5, 8}, 6, nil},
		{"truncated header", []byte{6}, 6, nil},
		{"empty", nil, 6, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PXESubOption(tc.vendor, tc.code); !bytes.Equal(got, tc.want) {
				t.Errorf("PXESubOption(%v, %d) = %v, want %v", tc.vendor, tc.code, got, tc.want)
			}
		})
	}
}

// Full mode keeps siaddr (next server) for every TFTP boot file: PXE ROMs
// fetch from siaddr, and EDK II reads its boot server from it.
func TestFullModeTFTPRepliesHaveNextServer(t *testing.T) {
	srv := DHCPServer{IP: "192.0.2.1", HTTPPort: 8080}
	for _, req := range []DHCPRequest{
		{MAC: "52:54:00:12:34:56", Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001"},
		{MAC: "52:54:00:12:34:56", Arch: []uint16{7}, VendorClass: "PXEClient:Arch:00007:UNDI:003000"},
		{MAC: "52:54:00:12:34:56", Arch: []uint16{11}, VendorClass: "PXEClient:Arch:00011:UNDI:003000"},
		{MAC: "52:54:00:12:34:56", Arch: []uint16{0}, VendorClass: "PXEClient:Arch:00000:UNDI:002001", UserClass: []string{"iPXE"}},
	} {
		host := &inventory.Host{MACs: []string{req.MAC}, Hostname: "a01", State: inventory.StateBuild, Params: map[string]string{"bootloader": "pxelinux"}}
		bd := DecideDHCP(req, host, nil, srv)
		if strings.Contains(bd.File, "://") {
			continue
		}
		if bd.NextServer != srv.IP {
			t.Errorf("%v: full-mode TFTP reply for %s has next server %q, want %s", req.Arch, bd.File, bd.NextServer, srv.IP)
		}
	}
}

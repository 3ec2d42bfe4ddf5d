package boot

import (
	"strings"
)

// Ports a proxyDHCP server listens on: DHCP's, where it answers DISCOVERs
// beside the site's server, and PXE boot server discovery's.
const (
	PortDHCP = 67
	PortPXE  = 4011
)

// DHCP message types (option 53) the proxyDHCP decision reads and writes.
const (
	MsgDiscover uint8 = 1
	MsgOffer    uint8 = 2
	MsgRequest  uint8 = 3
	MsgAck      uint8 = 5
	MsgInform   uint8 = 8
)

// PXE vendor options: sub-options of option 43 in a PXEClient packet (PXE 2.1, table 2-1).
const (
	PXEDiscoveryControl = 6  // bit 3: boot the file named in this offer, no discovery, no menu
	PXEBootMenu         = 9  // boot menu: iPXE treats it as "PXE options present"
	PXEBootItem         = 71 // boot server type (2 bytes) and layer (2 bytes) of a boot server request/ACK
)

// ProxyRequest is what a proxyDHCP answer depends on in the client's packet
// (the boot decision itself, DHCPBoot, comes from DecideDHCP).
type ProxyRequest struct {
	// Port is where the packet arrived: PortDHCP or PortPXE.
	Port int
	// Type is option 53.
	Type uint8
	// VendorClass is option 60 as sent.
	VendorClass string
	// ServerID is option 54 ("" when absent).
	ServerID string
	// HasGUID is true when the client sent option 97 (it is echoed).
	HasGUID bool
	// BootItem is the PXE boot item (option 43 sub-option 71) of a boot
	// server request: type and layer, 4 bytes; nil when absent.
	BootItem []byte
}

// ProxyReply is a proxyDHCP answer, field by field. Send is false when the
// request gets no answer; Why then says why.
type ProxyReply struct {
	Send bool
	Why  string
	// Type is MsgOffer (port 67) or MsgAck.
	Type uint8
	// ServerIP is siaddr, the server that serves the boot file. iPXE takes
	// a ProxyDHCP reply only with siaddr and a boot file (or a boot menu);
	// EDK II reads the boot server from it.
	ServerIP string
	// ServerID is option 54: the same on the offer and the port 4011 ACK.
	ServerID string
	// File goes in the BOOTP file field and option 67.
	File string
	// TFTPServer is option 66 ("" when File is a URL).
	TFTPServer string
	// VendorClass is option 60: PXEClient, or HTTPClient for HTTP boot.
	VendorClass string
	// Vendor is option 43 (nil: none).
	Vendor []byte
	// EchoGUID: copy option 97 from the request.
	EchoGUID bool
	// ToSource: send the answer to the request's source address and port
	// (boot server discovery, port 4011); otherwise to the client port 68,
	// broadcast as DHCP does for a client without an address.
	ToSource bool
}

// DecideProxy decides netkick's proxyDHCP answer (PXE 2.1 section 2.2.2:
// boot data only, no address) to one request, given the boot decision bd
// for the client and self, netkick's address on the client's network.
//
// What each client was read to need (boot/proxy_test.go names each rule):
//   - iPXE (src/net/udp/dhcp.c) takes an offer as a ProxyDHCP offer when it
//     carries option 60 "PXEClient" and a server identifier; it uses it
//     without asking port 4011 only if dhcp_has_pxeopts holds: siaddr set
//     and option 67 present, or a boot menu (43.9). Otherwise it sends a
//     ProxyDHCP REQUEST to port 4011, and takes the answer only from source
//     port 4011, as an OFFER or ACK, with the server identifier of the offer,
//     and again only if dhcp_has_pxeopts holds.
//   - EDK II's PXE client (OVMF, NetworkPkg/UefiPxeBcDxe) takes an offer
//     with yiaddr 0 as a proxy offer, needs option 54 (Dhcp4Dxe drops
//     offers without it), reads option 43 only after option 60 PXEClient,
//     classifies an offer with discovery sub-options as "PXE10" and one
//     without option 43 as "BINL" (which it follows with a request to port
//     4011), boots without a menu when discovery control bit 3 is set and a
//     boot file is named, and loads the file from siaddr (else option 54).
//   - PXE 2.1: the proxy offer carries option 60 PXEClient and option 43;
//     a boot server ACK answers the port and address the request came from
//     and echoes the boot item (43.71) it asked for.
func DecideProxy(req ProxyRequest, bd DHCPBoot, self string) ProxyReply {
	if !bd.NetBoot || !IsNetBootClass(req.VendorClass) {
		return ProxyReply{Why: "not a PXE or HTTP boot client (option 60)"}
	}
	out := ProxyReply{
		Send:        true,
		ServerIP:    self,
		ServerID:    self,
		File:        bd.File,
		VendorClass: bd.VendorClass,
		EchoGUID:    req.HasGUID,
	}
	switch {
	case req.Port == PortDHCP && req.Type == MsgDiscover:
		out.Type = MsgOffer
	case req.Port == PortDHCP && req.Type == MsgRequest:
		if req.ServerID != self {
			return ProxyReply{Why: "a REQUEST to another DHCP server (the site's)"}
		}
		out.Type = MsgAck
	case req.Port == PortPXE && (req.Type == MsgRequest || req.Type == MsgInform):
		out.Type = MsgAck
		out.ToSource = true
	default:
		return ProxyReply{Why: "nothing to answer on this port for this message type"}
	}
	if !strings.Contains(bd.File, "://") {
		out.TFTPServer = self
	}
	if out.VendorClass == ClassPXE {
		out.Vendor = proxyVendor(req)
	}
	return out
}

// proxyVendor is option 43 of a PXEClient proxy reply: discovery control
// "boot the file in this reply", then, on a boot server ACK, the boot item
// the request asked for.
func proxyVendor(req ProxyRequest) []byte {
	v := []byte{PXEDiscoveryControl, 1, 8}
	if req.Port == PortPXE && len(req.BootItem) == 4 {
		v = append(v, PXEBootItem, 4)
		v = append(v, req.BootItem...)
	}
	return append(v, 255)
}

// PXESubOption returns sub-option code of a PXE option 43 payload, nil when
// absent or when the payload is malformed before it.
func PXESubOption(vendor []byte, code byte) []byte {
	for i := 0; i < len(vendor); {
		c := vendor[i]
		switch c {
		case 0:
			i++
			continue
		case 255:
			return nil
		}
		if i+1 >= len(vendor) {
			return nil
		}
		n := int(vendor[i+1])
		if i+2+n > len(vendor) {
			return nil
		}
		if c == code {
			return vendor[i+2 : i+2+n]
		}
		i += 2 + n
	}
	return nil
}

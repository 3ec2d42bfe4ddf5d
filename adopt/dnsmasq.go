package adopt

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// hwaddrRE is a dnsmasq hardware address: an optional ARP type ("01-"),
// then colon-separated bytes, any of which may be the wildcard '*'.
var hwaddrRE = regexp.MustCompile(`^(?:[0-9a-fA-F]{1,2}-)?(?:[0-9a-fA-F*]{1,2}:)+[0-9a-fA-F*]{1,2}$`)

// leaseRE is a dnsmasq lease time: seconds, or a number with s/m/h/d/w.
var leaseRE = regexp.MustCompile(`^(?:[0-9]+[smhdwSMHDW]?|infinite|deprecated)$`)

// dnsmasqIgnored are options that concern DNS, logging or the daemon
// itself: they hold nothing about machines and are not listed one by one.
var dnsmasqIgnored = map[string]bool{
	"no-resolv": true, "no-poll": true, "no-hosts": true, "server": true, "local": true, "address": true,
	"cache-size": true, "log-queries": true, "log-dhcp": true, "log-facility": true, "user": true, "group": true,
	"pid-file": true, "bind-interfaces": true, "bind-dynamic": true, "listen-address": true, "expand-hosts": true,
	"domain-needed": true, "bogus-priv": true, "strict-order": true, "port": true, "keep-in-foreground": true,
	"no-daemon": true, "except-interface": true, "dhcp-authoritative": true, "dhcp-leasefile": true, "dhcp-lease-max": true,
}

// ReadDnsmasq reads dnsmasq configuration files (dnsmasq.conf and the files
// of a conf-dir, in the order given) and the files dhcp-hostsfile and
// dhcp-hostsdir name (a dhcp-host value a line, without "dhcp-host="). Every dhcp-host becomes a host: its
// MACs (several are one machine with several NICs), its IPv4 address and
// its name; set: tags become labels tag.NAME=set. dhcp-range, dhcp-boot,
// dhcp-option, lease times, client IDs and the rest are listed in Notes.
func ReadDnsmasq(files []File) (*Result, error) {
	b := newBuilder()
	for _, f := range files {
		if err := readDnsmasqFile(b, f); err != nil {
			return nil, err
		}
	}
	return b.done(), nil
}

func readDnsmasqFile(b *builder, f File) error {
	sc := bufio.NewScanner(bytes.NewReader(f.Data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	n := 0
	for sc.Scan() {
		n++
		src := fmt.Sprintf("%s:%d", f.Name, n)
		line := strings.TrimSpace(stripDnsmasqComment(sc.Text()))
		if line == "" {
			continue
		}
		key, val, hasEq := strings.Cut(line, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !hasEq && isHostsfileLine(line) {
			// A dhcp-hostsfile or dhcp-hostsdir file: dhcp-host values, one a line.
			key, val = "dhcp-host", line
		}
		switch key {
		case "dhcp-host":
			dnsmasqHost(b, src, val)
		case "dhcp-range":
			b.note(src, line, "address pools are not inventory: set netkick's DHCP range in its configuration (docs/dhcp.md)")
		case "dhcp-boot":
			b.note(src, line, "netkick chooses the boot file from the firmware's architecture and the host's profile; a fixed boot file is not imported")
		case "dhcp-option", "dhcp-option-force":
			b.note(src, line, "DHCP options (router, DNS, domain, …) are set in netkick's configuration, not per host")
		case "conf-file", "conf-dir", "dhcp-hostsfile", "dhcp-hostsdir", "addn-hosts", "dhcp-optsfile":
			b.note(src, line, "included files are not followed: import that file or directory as well")
		case "enable-tftp", "tftp-root", "tftp-secure", "tftp-no-blocksize", "pxe-service", "pxe-prompt", "dhcp-match",
			"dhcp-vendorclass", "dhcp-userclass", "dhcp-mac", "dhcp-circuitid", "dhcp-remoteid", "dhcp-subscrid", "tag-if", "dhcp-ignore":
			b.note(src, line, "netkick serves TFTP and classifies clients itself; not imported")
		default:
			if dnsmasqIgnored[key] {
				continue
			}
			b.note(src, line, "not a DHCP host setting netkick holds; not imported")
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w (dnsmasq lines are at most a few kilobytes)", f.Name, n+1, err)
	}
	return nil
}

// isHostsfileLine reports whether a line without '=' is a dhcp-host value
// as dhcp-hostsfile and dhcp-hostsdir files hold them: it starts with a
// hardware address or a client ID.
func isHostsfileLine(line string) bool {
	first, _, _ := strings.Cut(line, ",")
	first = strings.TrimSpace(first)
	return hwaddrRE.MatchString(first) || strings.HasPrefix(strings.ToLower(first), "id:")
}

// stripDnsmasqComment drops a comment: '#' at the start of a line or after
// white space, outside double quotes.
func stripDnsmasqComment(s string) string {
	inq := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			inq = !inq
		case s[i] == '#' && !inq && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// dnsmasqHost reads one dhcp-host value:
// [hwaddr…][,id:client-id|*][,set:tag][,tag:tag][,ipaddr][,hostname][,lease][,ignore].
func dnsmasqHost(b *builder, src, val string) {
	var h inventory.Host
	ignore := false
	for _, f := range strings.Split(val, ",") {
		f = strings.TrimSpace(f)
		lf := strings.ToLower(f)
		switch {
		case f == "":
		case lf == "ignore":
			ignore = true
		case strings.HasPrefix(lf, "id:"):
			if f != "id:*" {
				b.note(src, "client identifier "+quote(f), "netkick matches hosts by MAC only; the client ID is not imported")
			}
		case strings.HasPrefix(lf, "set:") || strings.HasPrefix(lf, "net:"):
			if k := tagLabel("tag.", f[4:]); k != "" {
				if h.Labels == nil {
					h.Labels = map[string]string{}
				}
				h.Labels[k] = "set"
			} else {
				b.note(src, "tag "+quote(f[4:]), "not a valid label name; not imported")
			}
		case strings.HasPrefix(lf, "tag:"):
			b.note(src, "condition "+quote(f), "the entry applies only with that tag in dnsmasq; netkick imports the host unconditionally")
		case strings.HasPrefix(f, "["):
			b.note(src, "IPv6 address "+quote(f), "netkick serves DHCPv4 only; not imported")
		case net.ParseIP(f) != nil && net.ParseIP(f).To4() != nil:
			if h.IP != "" {
				b.note(src, "second address "+f, "netkick holds one address per host; "+h.IP+" is kept")
				continue
			}
			h.IP = f
		case hwaddrRE.MatchString(f):
			m := f
			if i := strings.IndexByte(m, '-'); i >= 0 {
				if m[:i] != "1" && m[:i] != "01" {
					b.note(src, "hardware address "+quote(f), "not Ethernet (ARP type "+m[:i]+"); not imported")
					continue
				}
				m = m[i+1:]
			}
			if strings.Contains(m, "*") {
				b.note(src, "hardware address "+quote(f), "wildcard MACs match many machines; netkick holds exact MACs only")
				continue
			}
			nm := normMAC(m)
			if nm == "" {
				b.note(src, "hardware address "+quote(f), "not a 6-byte Ethernet MAC; not imported")
				continue
			}
			h.MACs = append(h.MACs, nm)
		case leaseRE.MatchString(lf):
			b.note(src, "lease time "+f+" for "+val, "netkick uses one lease time for all hosts (its DHCP configuration)")
		default:
			if h.Hostname != "" {
				b.note(src, "second name "+quote(f), "a host has one name; "+h.Hostname+" is kept")
				continue
			}
			h.Hostname = strings.ToLower(f)
		}
	}
	if ignore {
		b.note(src, "dhcp-host="+val, "dnsmasq ignores this machine; netkick has no such entry, so it is not imported (an unknown MAC is not served)")
		return
	}
	if len(h.MACs) == 0 {
		b.note(src, "dhcp-host="+val, "no Ethernet MAC (matched by name or client ID only): netkick identifies a machine by its MAC")
		return
	}
	b.add(src, h)
}

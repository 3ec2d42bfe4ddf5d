package adopt

import (
	"fmt"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// dstmt is one dhcpd.conf statement: words up to ';', or a declaration with
// a block of statements in braces.
type dstmt struct {
	words []string
	line  int
	block []dstmt
	isBlk bool
}

func (s dstmt) text() string {
	t := strings.ReplaceAll(strings.Join(s.words, " "), " , ", ", ")
	if s.isBlk {
		return t + " { … }"
	}
	return t + ";"
}

// maxDhcpdDepth bounds nesting (groups in shared networks in …).
const maxDhcpdDepth = 32

// ReadDhcpd reads ISC dhcpd configuration (dhcpd.conf). Every host block
// with a `hardware ethernet` becomes a host: its name from `option
// host-name`, `ddns-hostname` or the declaration, its address from
// `fixed-address`. Groups, subnets, shared networks and pools are walked for
// the hosts they hold; ranges, routers, filename, next-server, classes,
// conditionals and the rest are listed in Notes.
func ReadDhcpd(files []File) (*Result, error) {
	b := newBuilder()
	for _, f := range files {
		top, err := parseDhcpd(f)
		if err != nil {
			return nil, err
		}
		walkDhcpd(b, f.Name, top, "")
	}
	return b.done(), nil
}

// dhcpdTokens splits dhcpd.conf into words, quoted strings and the
// punctuation { } ; , — each with its line.
func dhcpdTokens(f File) ([]string, []int, error) {
	var toks []string
	var lines []int
	s := f.Data
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ';' || c == ',':
			toks, lines = append(toks, string(c)), append(lines, line)
			i++
		case c == '"':
			start := line
			var sb strings.Builder
			sb.WriteByte('"')
			i++
			for {
				if i >= len(s) {
					return nil, nil, fmt.Errorf("%s line %d: a quoted string is not closed: add the closing '\"'", f.Name, start)
				}
				if s[i] == '\\' && i+1 < len(s) {
					sb.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '"' {
					sb.WriteByte('"')
					i++
					break
				}
				if s[i] == '\n' {
					line++
				}
				sb.WriteByte(s[i])
				i++
			}
			toks, lines = append(toks, sb.String()), append(lines, start)
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n\f\v{};,\"#", rune(s[j])) {
				j++
			}
			toks, lines = append(toks, string(s[i:j])), append(lines, line)
			i = j
		}
	}
	return toks, lines, nil
}

func parseDhcpd(f File) ([]dstmt, error) {
	toks, lines, err := dhcpdTokens(f)
	if err != nil {
		return nil, err
	}
	pos := 0
	var parse func(depth int) ([]dstmt, error)
	parse = func(depth int) ([]dstmt, error) {
		if depth > maxDhcpdDepth {
			return nil, fmt.Errorf("%s line %d: blocks nested more than %d deep", f.Name, lines[pos-1], maxDhcpdDepth)
		}
		var out []dstmt
		var cur dstmt
		for pos < len(toks) {
			t := toks[pos]
			pos++
			if len(cur.words) == 0 {
				cur.line = lines[pos-1]
			}
			switch t {
			case ";":
				if len(cur.words) > 0 {
					out = append(out, cur)
				}
				cur = dstmt{}
			case "{":
				blk, err := parse(depth + 1)
				if err != nil {
					return nil, err
				}
				cur.block, cur.isBlk = blk, true
				out = append(out, cur)
				cur = dstmt{}
			case "}":
				if depth == 0 {
					return nil, fmt.Errorf("%s line %d: '}' closes no block", f.Name, lines[pos-1])
				}
				if len(cur.words) > 0 {
					return nil, fmt.Errorf("%s line %d: %q: missing ';' before '}'", f.Name, cur.line, trunc(strings.Join(cur.words, " ")))
				}
				return out, nil
			default:
				cur.words = append(cur.words, t)
			}
		}
		if depth > 0 {
			return nil, fmt.Errorf("%s: a block is not closed at the end of the file: add '}'", f.Name)
		}
		if len(cur.words) > 0 {
			return nil, fmt.Errorf("%s line %d: %q: missing ';'", f.Name, cur.line, trunc(strings.Join(cur.words, " ")))
		}
		return out, nil
	}
	return parse(0)
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// unq drops the quotes of a dhcpd string.
func unq(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// walkDhcpd reads the statements of one scope; where names the enclosing
// group, subnet or shared network for the notes.
func walkDhcpd(b *builder, file string, ss []dstmt, where string) {
	for _, s := range ss {
		src := fmt.Sprintf("%s:%d", file, s.line)
		if len(s.words) == 0 {
			if s.isBlk {
				walkDhcpd(b, file, s.block, where)
			}
			continue
		}
		kw := strings.ToLower(s.words[0])
		switch {
		case kw == "host" && s.isBlk && len(s.words) == 2:
			dhcpdHost(b, file, src, unq(s.words[1]), s.block)
		case (kw == "group" || kw == "shared-network" || kw == "pool") && s.isBlk:
			walkDhcpd(b, file, s.block, strings.Join(s.words, " "))
		case kw == "subnet" && s.isBlk:
			b.note(src, s.text(), "subnets are netkick's DHCP configuration (docs/dhcp.md), not inventory; the hosts inside are imported")
			walkDhcpd(b, file, s.block, strings.Join(s.words, " "))
		case kw == "range":
			b.note(src, s.text(), "address pools are netkick's DHCP configuration, not inventory")
		case kw == "filename" || kw == "next-server" || kw == "server-name":
			b.note(src, s.text(), "netkick chooses the boot file and serves it itself (firmware architecture and the host's profile); not imported")
		case kw == "option":
			b.note(src, s.text(), "DHCP options (routers, DNS, domain, …) are set in netkick's configuration, not per host")
		case kw == "include":
			b.note(src, s.text(), "included files are not followed: import that file as well")
		case kw == "if" || kw == "elsif" || kw == "else" || kw == "class" || kw == "subclass" || kw == "on":
			b.note(src, s.text(), "conditional and class logic is not inventory; netkick classifies clients itself")
		case dhcpdDaemonOnly[kw]:
		default:
			b.note(src, s.text(), "not a host setting netkick holds; not imported")
		}
	}
}

// dhcpdDaemonOnly are statements about the daemon itself, not machines.
var dhcpdDaemonOnly = map[string]bool{
	"authoritative": true, "not": true, "log-facility": true, "ddns-update-style": true, "ddns-updates": true,
	"default-lease-time": true, "max-lease-time": true, "min-lease-time": true, "lease-file-name": true, "pid-file-name": true,
	"local-port": true, "local-address": true, "one-lease-per-client": true, "ping-check": true, "update-static-leases": true,
	"allow": true, "deny": true, "ignore": true, "use-host-decl-names": true, "get-lease-hostnames": true, "omapi-port": true,
}

// dhcpdHost reads one host block.
func dhcpdHost(b *builder, file, src, decl string, ss []dstmt) {
	var h inventory.Host
	var hostName, ddnsName string
	what := "host " + decl
	for _, s := range ss {
		ssrc := fmt.Sprintf("%s:%d", file, s.line)
		w := s.words
		if len(w) == 0 {
			continue
		}
		switch kw := strings.ToLower(w[0]); {
		case kw == "hardware" && len(w) == 3 && strings.EqualFold(w[1], "ethernet"):
			if m := normMAC(w[2]); m != "" {
				h.MACs = append(h.MACs, m)
			} else {
				b.note(ssrc, s.text(), "not a 6-byte Ethernet MAC; "+what+" is not imported")
				return
			}
		case kw == "hardware":
			b.note(ssrc, s.text(), "netkick holds Ethernet MACs only; "+what+" is not imported")
			return
		case kw == "fixed-address" && len(w) >= 2:
			h.IP = w[1]
			for _, x := range w[2:] {
				if x != "," {
					b.note(ssrc, "further address "+x+" of "+what, "netkick holds one address per host; "+w[1]+" is kept")
				}
			}
		case kw == "option" && len(w) == 3 && strings.EqualFold(w[1], "host-name"):
			hostName = unq(w[2])
		case kw == "ddns-hostname" && len(w) == 2:
			ddnsName = unq(w[1])
		case kw == "host-identifier" || (kw == "option" && len(w) >= 2 && strings.EqualFold(w[1], "dhcp-client-identifier")):
			b.note(ssrc, s.text(), "netkick matches hosts by MAC only; the identifier is not imported")
		case kw == "filename" || kw == "next-server" || kw == "server-name":
			b.note(ssrc, s.text()+" ("+what+")", "netkick chooses the boot file and serves it itself; not imported")
		default:
			b.note(ssrc, s.text()+" ("+what+")", "not a host setting netkick holds; not imported")
		}
	}
	switch {
	case hostName != "":
		h.Hostname = strings.ToLower(hostName)
	case ddnsName != "":
		h.Hostname = strings.ToLower(ddnsName)
	default:
		h.Hostname = strings.ToLower(decl)
	}
	if len(h.MACs) == 0 {
		b.note(src, what, "no `hardware ethernet`: netkick identifies a machine by its MAC; not imported")
		return
	}
	b.add(src, h)
}

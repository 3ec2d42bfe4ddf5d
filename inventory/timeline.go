package inventory

import (
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Fetch event kinds: what unauthenticated requests leave on a timeline
// (DHCP packets, TFTP and HTTP boot fetches, refused or token-less
// requests). Anyone on the provisioning network can cause them, so they are
// coalesced by their producers and kept apart from the other events (state
// transitions, install reports, operator changes), each class with its own
// cap: a flood of fetches never pushes a state change out of the timeline.
const (
	KindTFTP     = "tftp"
	KindIPXE     = "ipxe"
	KindHTTPBoot = "http-boot"
	KindRefused  = "refused"
	KindWithheld = "token-withheld"
)

// IsFetchEvent says whether events of kind belong to the fetch class.
func IsFetchEvent(kind string) bool {
	switch kind {
	case KindTFTP, KindIPXE, KindHTTPBoot, KindRefused, KindWithheld:
		return true
	}
	return strings.HasPrefix(kind, "dhcp-")
}

// fetchKindSQL is IsFetchEvent as an SQL condition on the kind column.
const fetchKindSQL = `(kind IN ('tftp','ipxe','http-boot','refused','token-withheld') OR kind LIKE 'dhcp-%')`

// EscapeControl returns s with every control character (C0, DEL, C1, and
// the Unicode bidirectional overrides) and every invalid UTF-8 byte written
// as a Go escape (\x1b, \u202e), so that text a client sent can be printed
// to a terminal or a page without acting on it. Newlines and tabs are kept
// when keepLines is true (multi-line install logs), escaped otherwise.
func EscapeControl(s string, keepLines bool) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || needsEscape(r, keepLines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case needsEscape(r, keepLines):
			switch {
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\r':
				b.WriteString(`\r`)
			case r < 0x100:
				b.WriteString(`\x`)
				b.WriteString(hex2(byte(r)))
			default:
				b.WriteString(`\u`)
				b.WriteString(hex2(byte(r >> 8)))
				b.WriteString(hex2(byte(r)))
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(r rune, keepLines bool) bool {
	if keepLines && (r == '\n' || r == '\t') {
		return false
	}
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		return true
	}
	return unicode.Is(unicode.Cc, r)
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// DefaultFetchEventsPerSource is how many fetch events one source address
// may put on timelines per minute (EventGate).
const DefaultFetchEventsPerSource = 60

// maxGateKeys bounds an EventGate's memory within one minute.
const maxGateKeys = 1 << 16

// EventGate coalesces fetch events (IsFetchEvent) before they are stored:
// at most one per host, kind, subject (the file fetched) and minute, and at
// most perSource per source address and minute. Other events always pass.
// It keeps only the current minute's keys. Safe for concurrent use.
type EventGate struct {
	mu        sync.Mutex
	perSource int
	minute    int64
	seen      map[string]struct{}
	sources   map[string]int
}

// NewEventGate returns a gate allowing perSource fetch events per source and
// minute (DefaultFetchEventsPerSource when <= 0).
func NewEventGate(perSource int) *EventGate {
	if perSource <= 0 {
		perSource = DefaultFetchEventsPerSource
	}
	return &EventGate{perSource: perSource}
}

// Admit says whether an event of kind about subject on host's timeline,
// caused by a request from source, is recorded at now.
func (g *EventGate) Admit(source, hostID, kind, subject string, now time.Time) bool {
	if !IsFetchEvent(kind) {
		return true
	}
	m := now.Unix() / 60
	g.mu.Lock()
	defer g.mu.Unlock()
	if m != g.minute || g.seen == nil {
		g.minute, g.seen, g.sources = m, map[string]struct{}{}, map[string]int{}
	}
	key := hostID + "\x00" + kind + "\x00" + subject
	if _, dup := g.seen[key]; dup {
		return false
	}
	n, known := g.sources[source]
	if n >= g.perSource || (!known && len(g.sources) >= maxGateKeys) || len(g.seen) >= maxGateKeys {
		return false
	}
	g.sources[source] = n + 1
	g.seen[key] = struct{}{}
	return true
}

// trimSlack is how many events a host's timeline may gain past its cap
// before it is trimmed again: a tenth of the cap (at least 1, so a small
// cap is kept exactly). Reads return at most the cap of each class either
// way; what the slack allows is rows on disk, at most cap + 2×slack per
// class (the count starts again when a server restarts).
func trimSlack(eventCap int) int {
	return max(1, eventCap/10)
}

// maxDueHosts bounds trimDue's map; past it the counts start again.
const maxDueHosts = 100000

// trimDue counts each host's events since its last trim.
type trimDue struct {
	mu sync.Mutex
	n  map[string]int
}

// add counts one event of host and reports whether the host is due for a
// trim (its count then starts again).
func (d *trimDue) add(host string, slack int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil || len(d.n) >= maxDueHosts {
		d.n = map[string]int{}
	}
	d.n[host]++
	if d.n[host] < slack {
		return false
	}
	delete(d.n, host)
	return true
}

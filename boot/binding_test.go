package boot

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestTokenBinding(t *testing.T) {
	a01 := &inventory.Host{MACs: []string{"52:54:00:00:a0:01", "52:54:00:00:a0:02"}, Hostname: "a01"}
	ip := netip.MustParseAddr
	known := []netip.Addr{ip("192.0.2.10")}
	tests := []struct {
		name   string
		b      Binding
		refuse string // substring of the refusal; "" means allowed
	}{
		{"no host", Binding{Remote: ip("192.0.2.10")}, "no host"},
		{"no source address", Binding{Host: a01, Known: known}, "no source address"},
		{"no known address yet", Binding{Host: a01, Remote: ip("192.0.2.10")}, "no reservation and no current lease"},
		{"wrong source address", Binding{Host: a01, Remote: ip("192.0.2.66"), Known: known}, "not the host's address (192.0.2.10)"},
		{"routed, right address", Binding{Host: a01, Remote: ip("192.0.2.10"), Known: known}, ""},
		{"v4-mapped source matches", Binding{Host: a01, Remote: ip("::ffff:192.0.2.10"), Known: known}, ""},
		{"second of two known addresses", Binding{Host: a01, Remote: ip("198.51.100.7"), Known: []netip.Addr{ip("192.0.2.10"), ip("198.51.100.7")}}, ""},
		{"attached, first MAC", Binding{Host: a01, Remote: ip("192.0.2.10"), Known: known, Attached: true, NeighMAC: "52:54:00:00:a0:01"}, ""},
		{"attached, second MAC in another spelling", Binding{Host: a01, Remote: ip("192.0.2.10"), Known: known, Attached: true, NeighMAC: "52-54-00-00-A0-02"}, ""},
		{"attached, attacker's MAC with the host's address", Binding{Host: a01, Remote: ip("192.0.2.10"), Known: known, Attached: true, NeighMAC: "02:00:00:00:66:66"}, "not one of the host's MACs"},
		{"attached, no neighbour entry", Binding{Host: a01, Remote: ip("192.0.2.10"), Known: known, Attached: true}, "no link-layer address"},
		{"attached, garbage from the table", Binding{Host: a01, Remote: ip("192.0.2.10"), Known: known, Attached: true, NeighMAC: "zz"}, "not one of the host's MACs"},
		{"attached but wrong address is refused before the MAC", Binding{Host: a01, Remote: ip("192.0.2.66"), Known: known, Attached: true, NeighMAC: "52:54:00:00:a0:01"}, "not the host's address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := TokenBinding(tc.b)
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || !strings.Contains(r.Reason, tc.refuse) {
				t.Fatalf("got %v; want a refusal containing %q", err, tc.refuse)
			}
		})
	}
}

package provision

import (
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestQueryHosts(t *testing.T) {
	hosts := func() []inventory.Host {
		return []inventory.Host{
			{MACs: []string{"52:54:00:00:00:03"}, Hostname: "b01", IP: "192.0.2.10", Roles: []string{"web"}, State: inventory.StateReady, Labels: map[string]string{"rack": "r2"}},
			{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01", IP: "192.0.2.9", Roles: []string{"lvs-director"}, State: inventory.StateBuild, Labels: map[string]string{"rack": "r1"}},
			{MACs: []string{"52:54:00:00:00:02"}, Hostname: "a02", Profile: "el7", Roles: []string{"lvs-director"}, State: inventory.StateReady},
		}
	}
	for _, tc := range []struct {
		name  string
		q     HostQuery
		want  string
		total int
		page  int
	}{
		{name: "all by hostname", want: "a01 a02 b01", total: 3, page: 1},
		{name: "state", q: HostQuery{State: inventory.StateReady}, want: "a02 b01", total: 2, page: 1},
		{name: "role", q: HostQuery{Role: "lvs-director"}, want: "a01 a02", total: 2, page: 1},
		{name: "label key", q: HostQuery{Label: "rack"}, want: "a01 b01", total: 2, page: 1},
		{name: "label value", q: HostQuery{Label: "rack=r2"}, want: "b01", total: 1, page: 1},
		{name: "text matches a MAC", q: HostQuery{Text: "00:00:02"}, want: "a02", total: 1, page: 1},
		{name: "text matches a profile, any case", q: HostQuery{Text: "EL7"}, want: "a02", total: 1, page: 1},
		{name: "ip sorts numerically, empty last", q: HostQuery{Sort: "ip"}, want: "a01 b01 a02", total: 3, page: 1},
		{name: "reversed", q: HostQuery{Sort: "-hostname"}, want: "b01 a02 a01", total: 3, page: 1},
		{name: "second page", q: HostQuery{PerPage: 2, Page: 2}, want: "b01", total: 3, page: 2},
		{name: "past the end is the last page", q: HostQuery{PerPage: 2, Page: 9}, want: "b01", total: 3, page: 2},
		{name: "nothing matches", q: HostQuery{Role: "none"}, want: "", total: 0, page: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := QueryHosts(hosts(), tc.q)
			var names []string
			for _, h := range p.Hosts {
				names = append(names, h.Hostname)
			}
			if got := strings.Join(names, " "); got != tc.want || p.Total != tc.total || p.Page != tc.page {
				t.Errorf("got %q total %d page %d, want %q total %d page %d", got, p.Total, p.Page, tc.want, tc.total, tc.page)
			}
			if p.States[inventory.StateReady] != 2 || p.States[inventory.StateBuild] != 1 {
				t.Errorf("state counts %v, want ready 2 and build 1 whatever the filter", p.States)
			}
		})
	}
}

func TestCmpIP(t *testing.T) {
	sign := func(n int) int { return min(max(n, -1), 1) }
	for _, tc := range []struct {
		name, a, b string
		want       int
	}{
		{"equal", "192.0.2.9", "192.0.2.9", 0},
		{"numeric, not text, order", "192.0.2.9", "192.0.2.10", -1},
		{"first field decides", "10.255.255.255", "192.0.2.1", -1},
		{"same digits count, text order", "192.0.2.19", "192.0.2.10", 1},
		{"empty last", "", "192.0.2.1", 1},
		{"empty last, other side", "192.0.2.1", "", -1},
		{"fewer fields first", "192.0.2", "192.0.2.1", -1},
		{"more fields last", "192.0.2.1.5", "192.0.2.1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sign(cmpIP(tc.a, tc.b)); got != tc.want {
				t.Errorf("cmpIP(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

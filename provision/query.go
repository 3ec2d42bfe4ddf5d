package provision

import (
	"slices"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// HostQuery selects, orders and pages a host list: the hosts table of the
// web page and GET /api/v1/hosts?label=&q=&sort=&page=&per_page= share it.
type HostQuery struct {
	State inventory.State
	Role  string
	// Label is "key" (the host has the label) or "key=value".
	Label string
	// Text matches, case-insensitively, a substring of the hostname, a MAC,
	// the IP, the profile, a role, or a label's key or value.
	Text string
	// Sort is one of SortKeys (default "hostname"); a leading "-" reverses it.
	Sort string
	// Page counts from 1; PerPage 0 means every host on one page.
	Page, PerPage int
}

// SortKeys are the columns a host list can be sorted by.
var SortKeys = []string{"hostname", "mac", "ip", "profile", "state"}

// HostPage is one page of a queried host list.
type HostPage struct {
	Hosts []inventory.Host `json:"hosts"`
	// Total is how many hosts match the query (on every page).
	Total int `json:"total"`
	Page  int `json:"page"`
	Pages int `json:"pages"`
	// States counts every host given to QueryHosts by state, whatever the filters.
	States map[inventory.State]int `json:"states"`
}

// CheckSort reports whether sort names a column of SortKeys.
func CheckSort(sortKey string) bool {
	k := strings.TrimPrefix(sortKey, "-")
	if k == "" {
		return true
	}
	for _, s := range SortKeys {
		if s == k {
			return true
		}
	}
	return false
}

// QueryHosts filters, sorts and pages hosts; the slice it is given is left as it was.
// A page past the end answers the last page.
func QueryHosts(hosts []inventory.Host, q HostQuery) HostPage {
	p := HostPage{States: map[inventory.State]int{}}
	text := strings.ToLower(strings.TrimSpace(q.Text))
	lk, lv, hasValue := strings.Cut(strings.TrimSpace(q.Label), "=")
	// Filter and sort pointers; only the page's hosts are copied.
	out := make([]*inventory.Host, 0, len(hosts))
	for i := range hosts {
		h := &hosts[i]
		p.States[h.State]++
		if q.State != "" && h.State != q.State || q.Role != "" && !h.HasRole(q.Role) {
			continue
		}
		if lk != "" {
			v, ok := h.Labels[lk]
			if !ok || hasValue && v != lv {
				continue
			}
		}
		if text != "" && !matchText(h, text) {
			continue
		}
		out = append(out, h)
	}
	key, desc := strings.CutPrefix(q.Sort, "-")
	less := func(a, b *inventory.Host) int {
		var x, y string
		switch key {
		case "mac":
			x, y = a.ID(), b.ID()
		case "ip":
			return cmpIP(a.IP, b.IP)
		case "profile":
			x, y = a.Profile, b.Profile
		case "state":
			x, y = string(a.State), string(b.State)
		}
		return strings.Compare(x, y)
	}
	order := func(a, b *inventory.Host) int {
		c := less(a, b)
		if c == 0 {
			c = strings.Compare(a.Hostname, b.Hostname)
		}
		if desc {
			return -c
		}
		return c
	}
	if !slices.IsSortedFunc(out, order) { // a list kept by hostname needs no sort by hostname
		slices.SortStableFunc(out, order)
	}
	p.Total = len(out)
	p.Page, p.Pages = 1, 1
	if q.PerPage > 0 {
		p.Pages = max(1, (len(out)+q.PerPage-1)/q.PerPage)
		p.Page = min(max(q.Page, 1), p.Pages)
		lo := (p.Page - 1) * q.PerPage
		out = out[lo:min(lo+q.PerPage, len(out))]
	}
	p.Hosts = make([]inventory.Host, len(out))
	for i, h := range out {
		p.Hosts[i] = *h
	}
	return p
}

func matchText(h *inventory.Host, text string) bool {
	has := func(s string) bool { return strings.Contains(strings.ToLower(s), text) }
	if has(h.Hostname) || has(h.IP) || has(h.Profile) || has(string(h.State)) {
		return true
	}
	for _, m := range h.MACs {
		if has(m) {
			return true
		}
	}
	for _, r := range h.Roles {
		if has(r) {
			return true
		}
	}
	for k, v := range h.Labels {
		if has(k) || has(v) {
			return true
		}
	}
	return false
}

// cmpIP orders dotted quads numerically, empty last.
func cmpIP(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	// Field by field without allocating: a sort calls this n log n times.
	for {
		x, ra, moreA := strings.Cut(a, ".")
		y, rb, moreB := strings.Cut(b, ".")
		if len(x) != len(y) {
			return len(x) - len(y)
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
		switch {
		case moreA && moreB:
			a, b = ra, rb
		case moreA:
			return 1
		case moreB:
			return -1
		default:
			return 0
		}
	}
}

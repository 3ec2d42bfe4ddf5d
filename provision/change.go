package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/netkick/netkick/inventory"
)

// Change is a partial edit of a host: nil fields are left alone. A pointer
// to "" clears the field. Labels and Params are merged key by key: a nil
// value removes the key. It is the shape of a JSON merge patch (RFC 7396) on
// a host, and of `netkick host set`.
type Change struct {
	Hostname         *string
	MACs             *[]string
	IP               *string
	Profile          *string
	Layout           *string
	Timezone         *string
	Cluster          *string
	RootPasswordHash *string
	Roles            *[]string
	Labels           map[string]*string
	Params           map[string]*string
	// ClearLabels and ClearParams drop every key before Labels and Params are merged.
	ClearLabels, ClearParams bool
}

// Empty reports whether c changes nothing.
func (c *Change) Empty() bool {
	return c.Hostname == nil && c.MACs == nil && c.IP == nil && c.Profile == nil && c.Layout == nil &&
		c.Timezone == nil && c.Cluster == nil && c.RootPasswordHash == nil && c.Roles == nil &&
		len(c.Labels) == 0 && len(c.Params) == 0 && !c.ClearLabels && !c.ClearParams
}

// Apply returns h with c applied (h itself is not changed).
func (c *Change) Apply(h *inventory.Host) *inventory.Host {
	out := cloneHost(h)
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&out.Hostname, c.Hostname)
	set(&out.IP, c.IP)
	set(&out.Profile, c.Profile)
	set(&out.Layout, c.Layout)
	set(&out.Timezone, c.Timezone)
	set(&out.Cluster, c.Cluster)
	set(&out.RootPasswordHash, c.RootPasswordHash)
	if c.MACs != nil {
		out.MACs = slices.Clone(*c.MACs)
	}
	if c.Roles != nil {
		out.Roles = slices.Clone(*c.Roles)
	}
	if c.ClearLabels {
		out.Labels = nil
	}
	if c.ClearParams {
		out.Params = nil
	}
	out.Labels = mergeMap(out.Labels, c.Labels)
	out.Params = mergeMap(out.Params, c.Params)
	return out
}

func mergeMap(m map[string]string, patch map[string]*string) map[string]string {
	if len(patch) == 0 {
		return m
	}
	if m == nil {
		m = map[string]string{}
	}
	for k, v := range patch {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = *v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func cloneHost(h *inventory.Host) *inventory.Host {
	c := *h
	c.MACs = slices.Clone(h.MACs)
	c.Roles = slices.Clone(h.Roles)
	c.Labels = maps.Clone(h.Labels)
	c.Params = maps.Clone(h.Params)
	return &c
}

// Diff describes what differs from a to b in the fields people edit, one
// phrase per field, for the timeline ("timezone America/Montreal -> Asia/Tokyo").
// Password hashes are never shown.
func Diff(a, b *inventory.Host) []string {
	var out []string
	str := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %s -> %s", name, orDash(x), orDash(y)))
		}
	}
	str("hostname", a.Hostname, b.Hostname)
	if !slices.Equal(a.MACs, b.MACs) {
		out = append(out, fmt.Sprintf("macs %s -> %s", orDash(strings.Join(a.MACs, ",")), orDash(strings.Join(b.MACs, ","))))
	}
	str("ip", a.IP, b.IP)
	str("profile", a.Profile, b.Profile)
	str("layout", a.Layout, b.Layout)
	str("timezone", a.Timezone, b.Timezone)
	str("cluster", a.Cluster, b.Cluster)
	if a.RootPasswordHash != b.RootPasswordHash {
		if b.RootPasswordHash == "" {
			out = append(out, "root password cleared")
		} else {
			out = append(out, "root password changed")
		}
	}
	if !slices.Equal(a.Roles, b.Roles) {
		out = append(out, fmt.Sprintf("roles %s -> %s", orDash(strings.Join(a.Roles, " ")), orDash(strings.Join(b.Roles, " "))))
	}
	out = append(out, mapDiff("label", a.Labels, b.Labels)...)
	out = append(out, mapDiff("param", a.Params, b.Params)...)
	str("state", string(a.State), string(b.State))
	return out
}

func mapDiff(kind string, a, b map[string]string) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		x, inA := a[k]
		y, inB := b[k]
		switch {
		case inA && !inB:
			out = append(out, fmt.Sprintf("%s %s removed", kind, k))
		case !inA && inB:
			out = append(out, fmt.Sprintf("%s %s=%s", kind, k, y))
		case x != y:
			out = append(out, fmt.Sprintf("%s %s=%s (was %s)", kind, k, y, x))
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ETag names one version of a host: it changes whenever anything stored
// about the host changes (including its state and build token). It is a
// strong HTTP entity tag, quotes included.
func ETag(h *inventory.Host) string {
	b, _ := json.Marshal(h)
	sum := sha256.New()
	sum.Write(b)
	sum.Write([]byte{0})
	sum.Write([]byte(h.BuildToken))
	return `"` + hex.EncodeToString(sum.Sum(nil)[:12]) + `"`
}

// matchETag reports whether an If-Match value admits the version etag: empty
// (not sent), "*", or a list holding etag (weak tags W/"…" compare equal too).
func matchETag(ifMatch, etag string) bool {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return true
	}
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag {
			return true
		}
	}
	return false
}

package inventory

import "testing"

// TestOutageCopy: what the outage copy answers after a sequence of reads,
// warms and removals (no database involved: the rules of readCache alone).
func TestOutageCopy(t *testing.T) {
	a := &Host{MACs: []string{"52:54:00:00:90:01"}, Hostname: "a"}
	a2 := &Host{MACs: []string{"52:54:00:00:90:01"}, Hostname: "a", Profile: "new"}
	b := Host{MACs: []string{"52:54:00:00:90:02", "52:54:00:00:90:03"}, Hostname: "b"}
	for _, c := range []struct {
		name string
		do   func(c *readCache)
		key  string
		want string // hostname+profile, "" for no answer
	}{
		{"read, then a write and another read: still there", func(c *readCache) {
			c.putHost(1, "52:54:00:00:90:01", a)
			c.putHost(2, "name:other", &Host{Hostname: "other"})
		}, "52:54:00:00:90:01", "a"},
		{"warm: every MAC and the hostname", func(c *readCache) { c.replaceLast(3, []Host{b}, nil) }, "52:54:00:00:90:03", "b"},
		{"warm: by hostname", func(c *readCache) { c.replaceLast(3, []Host{b}, nil) }, "name:b", "b"},
		{"a newer read wins over the warm copy", func(c *readCache) {
			c.replaceLast(3, []Host{*a}, nil)
			c.putHost(4, "52:54:00:00:90:01", a2)
		}, "52:54:00:00:90:01", "anew"},
		{"an older warm than the one held is ignored", func(c *readCache) {
			c.replaceLast(5, []Host{b}, nil)
			c.replaceLast(4, []Host{*a}, nil)
		}, "52:54:00:00:90:02", "b"},
		{"a warm drops hosts removed since", func(c *readCache) {
			c.replaceLast(3, []Host{*a}, nil)
			c.replaceLast(4, []Host{b}, nil)
		}, "52:54:00:00:90:01", ""},
		{"removed here: gone under every key", func(c *readCache) {
			c.replaceLast(3, []Host{b}, nil)
			c.forgetHost("52:54:00:00:90:02")
		}, "name:b", ""},
		{"never read nor warmed", func(c *readCache) {}, "52:54:00:00:90:09", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rc readCache
			c.do(&rc)
			got := ""
			if h, ok := rc.staleHost(c.key); ok {
				got = h.Hostname + h.Profile
			}
			if got != c.want {
				t.Errorf("staleHost(%s) = %q, want %q", c.key, got, c.want)
			}
		})
	}
}

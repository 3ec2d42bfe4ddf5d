package inventory

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestFetchFloodKeepsStateEvents: more fetch events than the cap never
// evict a state transition; each class is trimmed to the cap on its own.
func testFetchFloodKeepsStateEvents(t *testing.T, st Store, _ func() Store) {
	ctx := context.Background()
	if err := st.AddEvent(ctx, Event{HostID: "h1", Kind: "build", Detail: "build mode on"}); err != nil {
		t.Fatal(err)
	}
	for i := range DefaultEventCap + 100 {
		kind := []string{KindIPXE, KindTFTP, "dhcp-offer", KindRefused}[i%4]
		if err := st.AddEvent(ctx, Event{HostID: "h1", Kind: kind, Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddEvent(ctx, Event{HostID: "h1", Kind: "failed", Detail: "report"}); err != nil {
		t.Fatal(err)
	}
	ev, err := st.Events(ctx, "h1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var fetch, other int
	for i, e := range ev {
		if i > 0 && ev[i-1].ID >= e.ID {
			t.Fatalf("events out of order at %d", i)
		}
		if IsFetchEvent(e.Kind) {
			fetch++
		} else {
			other++
		}
	}
	if fetch != DefaultEventCap || other != 2 || ev[0].Kind != "build" || ev[len(ev)-1].Kind != "failed" {
		t.Fatalf("timeline: %d fetch events, %d others, first %s, last %s; want %d, 2, build, failed", fetch, other, ev[0].Kind, ev[len(ev)-1].Kind, DefaultEventCap)
	}
	var n int
	// On disk a timeline may hold up to twice the trim slack past the cap
	// per class (trimSlack); never fewer rows than it shows.
	if n, err = countRows(st, `SELECT count(*) FROM events WHERE host_id = 'h1'`); err != nil || n < DefaultEventCap+2 || n > DefaultEventCap+2+2*trimSlack(DefaultEventCap) {
		t.Fatalf("rows kept: %d, %v; want %d to %d", n, err, DefaultEventCap+2, DefaultEventCap+2+2*trimSlack(DefaultEventCap))
	}
}

func TestTrimSlack(t *testing.T) {
	for _, c := range []struct {
		name     string
		cap, out int
	}{
		{"the default cap: a tenth", DefaultEventCap, 50},
		{"a small cap is kept exactly", 5, 1},
		{"cap of one", 1, 1},
		{"odd cap rounds down", 55, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := trimSlack(c.cap); got != c.out {
				t.Errorf("trimSlack(%d) = %d, want %d", c.cap, got, c.out)
			}
		})
	}
}

// TestTrimDue: a host is due every slack events, each host counted apart.
func TestTrimDue(t *testing.T) {
	var d trimDue
	var got []string
	for i, h := range []string{"a", "b", "a", "a", "b", "a", "a", "a"} {
		if d.add(h, 3) {
			got = append(got, fmt.Sprintf("%d:%s", i, h))
		}
	}
	if want := "[3:a 7:a]"; fmt.Sprint(got) != want {
		t.Errorf("due at %v, want %s", got, want)
	}
	if !d.add("c", 1) || !d.add("c", 1) {
		t.Error("slack 1: every event is due")
	}
}

func TestIsFetchEvent(t *testing.T) {
	for kind, want := range map[string]bool{KindTFTP: true, KindIPXE: true, KindHTTPBoot: true, KindRefused: true, KindWithheld: true,
		"dhcp-offer": true, "dhcp-ack": true, "build": false, "kickstart": false, "built": false, "failed": false, "roles": false, "discovered": false} {
		if IsFetchEvent(kind) != want {
			t.Errorf("IsFetchEvent(%q) = %v", kind, !want)
		}
	}
}

func TestEscapeControl(t *testing.T) {
	tests := []struct {
		name, in  string
		keepLines bool
		want      string
	}{
		{"plain", "kickstart fetched by 192.0.2.10", false, "kickstart fetched by 192.0.2.10"},
		{"ESC CSI", "a\x1b[2Jb", false, `a\x1b[2Jb`},
		{"OSC title with BEL", "\x1b]0;pwned\x07", false, `\x1b]0;pwned\x07`},
		{"NUL", "a\x00b", false, `a\x00b`},
		{"DEL", "a\x7fb", false, `a\x7fb`},
		{"C1 CSI as UTF-8", "a\u009b2Jb", false, `a\x9b2Jb`},
		{"raw C1 byte, invalid UTF-8", "a\x9bb", false, `a\x9bb`},
		{"bidi override", "abc\u202edcba", false, `abc\u202edcba`},
		{"newline kept in logs", "line1\nline2\tx", true, "line1\nline2\tx"},
		{"newline escaped on one line", "line1\nline2", false, `line1\nline2`},
		{"CR always escaped", "ok\rEVIL", true, `ok\rEVIL`},
		{"non-ASCII text kept", "Zürich 東京", false, "Zürich 東京"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EscapeControl(tc.in, tc.keepLines); got != tc.want {
				t.Fatalf("EscapeControl(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzEscapeControl(f *testing.F) {
	f.Add("a\x1b]0;x\x07\u009b\x00\n")
	f.Fuzz(func(t *testing.T, s string) {
		out := EscapeControl(s, true)
		for _, r := range out {
			if needsEscape(r, true) {
				t.Fatalf("EscapeControl(%q) left %U", s, r)
			}
		}
	})
}

func TestEventGate(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	type ev struct {
		source, host, kind, subject string
		at                          time.Duration
		want                        bool
	}
	tests := []struct {
		name   string
		events []ev
	}{
		{"state events always pass", []ev{
			{"192.0.2.66", "h1", "build", "", 0, true}, {"192.0.2.66", "h1", "build", "", 0, true}, {"192.0.2.66", "h1", "failed", "", 0, true}}},
		{"one fetch per host, kind, subject and minute", []ev{
			{"192.0.2.66", "h1", KindIPXE, "boot.ipxe", 0, true},
			{"192.0.2.67", "h1", KindIPXE, "boot.ipxe", time.Second, false},
			{"192.0.2.66", "h1", KindTFTP, "pxelinux.0", 2 * time.Second, true},
			{"192.0.2.66", "h1", KindTFTP, "ldlinux.c32", 3 * time.Second, true},
			{"192.0.2.66", "h2", KindIPXE, "boot.ipxe", 4 * time.Second, true},
			{"192.0.2.66", "h1", KindIPXE, "boot.ipxe", 61 * time.Second, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewEventGate(10)
			for i, e := range tc.events {
				if got := g.Admit(e.source, e.host, e.kind, e.subject, t0.Add(e.at)); got != e.want {
					t.Fatalf("event %d %+v: admitted %v", i, e, got)
				}
			}
		})
	}
	t.Run("per-source bound across hosts", func(t *testing.T) {
		g := NewEventGate(10)
		admitted := 0
		for i := range 100 {
			if g.Admit("192.0.2.66", fmt.Sprintf("h%d", i), KindIPXE, "boot.ipxe", t0) {
				admitted++
			}
		}
		if admitted != 10 || !g.Admit("192.0.2.10", "h-real", KindIPXE, "boot.ipxe", t0) {
			t.Fatalf("one source admitted %d of 100; another source refused", admitted)
		}
	})
}

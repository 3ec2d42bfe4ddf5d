package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func discoveries(t *testing.T, s Store) Discoveries {
	t.Helper()
	d, ok := s.(Discoveries)
	if !ok {
		t.Fatalf("%T does not keep discovered machines", s)
	}
	return d
}

func testDiscoveredRecordMerge(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	ds := discoveries(t, s)
	t0 := time.Unix(1700000000, 0).UTC()
	first := Discovered{MAC: "52-54-00-AA-00-01", Arch: "bios", VendorClass: "PXEClient:Arch:00000:UNDI:002001",
		CircuitID: "eth1/0/7", RemoteID: "sw-r4", LastSeen: t0}
	if _, err := ds.RecordDiscovered(ctx, first, 10); err != nil {
		t.Fatal(err)
	}
	later := Discovered{MAC: "52:54:00:aa:00:01", Hostname: "installer", Addresses: []string{"192.0.2.101"}, LastSeen: t0.Add(time.Minute)}
	if _, err := ds.RecordDiscovered(ctx, later, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.UpdateDiscovered(ctx, "52:54:00:aa:00:01", func(d *Discovered) error {
		d.Facts = &Facts{MemoryBytes: 8 << 30, CPU: CPUFacts{Count: 2}, Disks: []DiskFact{{Name: "sda", SizeBytes: 1 << 40}}}
		d.Token, d.TokenExpires = "secret", t0.Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A third sighting keeps the facts, the token and first_seen.
	if _, err := ds.RecordDiscovered(ctx, Discovered{MAC: "525400aa0001", Addresses: []string{"192.0.2.101"}, LastSeen: t0.Add(2 * time.Minute)}, 10); err != nil {
		t.Fatal(err)
	}
	s2 := again()
	defer s2.Close()
	got, err := discoveries(t, s2).GetDiscovered(ctx, "52:54:00:AA:00:01")
	if err != nil {
		t.Fatal(err)
	}
	if got.MAC != "52:54:00:aa:00:01" || got.Arch != "bios" || got.Hostname != "installer" || got.CircuitID != "eth1/0/7" ||
		got.RemoteID != "sw-r4" || !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(2*time.Minute)) ||
		fmt.Sprint(got.Addresses) != "[192.0.2.101]" || got.Facts == nil || got.Facts.MemoryBytes != 8<<30 ||
		got.Token != "secret" || fmt.Sprint(got.MACs) != "[52:54:00:aa:00:01]" {
		t.Fatalf("after three sightings and a facts update, reopened: %+v", got)
	}
	list, err := ds.ListDiscovered(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := ds.DeleteDiscovered(ctx, "52:54:00:aa:00:01"); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.GetDiscovered(ctx, "52:54:00:aa:00:01"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v, want not found", err)
	}
	if err := ds.DeleteDiscovered(ctx, "52:54:00:aa:00:01"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want not found", err)
	}
	if _, err := ds.RecordDiscovered(ctx, Discovered{MAC: "not-a-mac", LastSeen: t0}, 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad MAC: %v, want invalid", err)
	}
}

func testDiscoveredCapEvictsOldest(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	ds := discoveries(t, s)
	t0 := time.Unix(1700000000, 0).UTC()
	const cap = 5
	evicted := 0
	for i := 0; i < 12; i++ {
		n, err := ds.RecordDiscovered(ctx, Discovered{MAC: fmt.Sprintf("02:00:00:00:00:%02x", i), LastSeen: t0.Add(time.Duration(i) * time.Second)}, cap)
		if err != nil {
			t.Fatal(err)
		}
		evicted += n
	}
	// Machine 0 is seen again: it is now the newest and must stay.
	if _, err := ds.RecordDiscovered(ctx, Discovered{MAC: "02:00:00:00:00:00", LastSeen: t0.Add(time.Minute)}, cap); err != nil {
		t.Fatal(err)
	}
	list, err := ds.ListDiscovered(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var macs []string
	for _, d := range list {
		macs = append(macs, d.MAC[len(d.MAC)-2:])
	}
	if got := strings.Join(macs, " "); got != "00 0b 0a 09 08" {
		t.Fatalf("kept %q, want the %d seen last, newest first: 00 0b 0a 09 08", got, cap)
	}
	if evicted != 12-cap {
		t.Fatalf("evicted %d, want %d", evicted, 12-cap)
	}
}

// hostileTexts are what a machine may send as its DHCP hostname or in its facts.
var hostileTexts = []string{"$(reboot)", "a;reboot", strings.Repeat("x", 255), "caf\xff\xfe", "line1\nline2", "\n%post\nreboot\n%end", "`id` | rm -rf / & echo \"'"}

func testDiscoveredUntrustedText(t *testing.T, s Store, _ func() Store) {
	ctx := context.Background()
	ds := discoveries(t, s)
	for i, text := range hostileTexts {
		mac := fmt.Sprintf("02:00:00:00:01:%02x", i)
		if _, err := ds.RecordDiscovered(ctx, Discovered{MAC: mac, Hostname: text, CircuitID: text, LastSeen: time.Now()}, 100); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		got, err := ds.GetDiscovered(ctx, mac)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hostname != CleanText(text, MaxDHCPText) || strings.ContainsAny(got.Hostname, "\n\r\xff") || len(got.Hostname) > MaxDHCPText {
			t.Fatalf("hostname %q stored as %q", text, got.Hostname)
		}
		if _, err := ds.UpdateDiscovered(ctx, mac, func(d *Discovered) error {
			f := &Facts{DMI: DMIFacts{Serial: text, Vendor: text}, Disks: []DiskFact{{Name: "sda", Model: text, Serial: text}}}
			if err := NormalizeFacts(f); err != nil {
				return err
			}
			d.Facts = f
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, _ = ds.GetDiscovered(ctx, mac)
		if got.Facts.DMI.Serial != CleanText(text, MaxFactText) || strings.Contains(got.Facts.Disks[0].Model, "\n") {
			t.Fatalf("facts of %q stored as %+v", text, got.Facts)
		}
	}
}

func testHostKeepsFacts(t *testing.T, s Store, again func() Store) {
	ctx := context.Background()
	h := &Host{MACs: []string{"52:54:00:aa:00:09"}, Hostname: "adopted", Facts: &Facts{MemoryBytes: 8 << 30,
		Disks: []DiskFact{{Name: "sda", SizeBytes: 20 << 30, Serial: "QM0001", Rotational: true}, {Name: "sdb", SizeBytes: 10 << 30}},
		NICs:  []NICFact{{Name: "eth0", MAC: "52-54-00-AA-00-09", Link: true, SpeedMbps: 1000}}, DMI: DMIFacts{Serial: "NK-1"}}}
	if err := s.PutHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	s2 := again()
	defer s2.Close()
	got, err := s2.GetHost(ctx, "adopted")
	if err != nil {
		t.Fatal(err)
	}
	if got.Facts == nil || len(got.Facts.Disks) != 2 || got.Facts.Disks[0].Serial != "QM0001" || got.Facts.NICs[0].MAC != "52:54:00:aa:00:09" || got.Facts.DMI.Serial != "NK-1" {
		t.Fatalf("host facts after reopen: %+v", got.Facts)
	}
	bad := &Host{MACs: []string{"52:54:00:aa:00:0a"}, Hostname: "bad", Facts: &Facts{Disks: []DiskFact{{Name: "sda; reboot"}}}}
	if err := s.PutHost(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("disk name with a shell command: %v, want invalid", err)
	}
}

func TestCleanText(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "web-01", "web-01"},
		{"shell stays data", "$(reboot)", "$(reboot)"},
		{"newline escaped", "a\nb", `a\x0ab`},
		{"%post on its own line cannot start a line", "\n%post\n", `\x0a%post\x0a`},
		{"invalid UTF-8 escaped", "caf\xff", `caf\xff`},
		{"an escape already there stays as it is (idempotent)", `a\x0a`, `a\x0a`},
		{"UTF-8 kept", "café", "café"},
		{"bidi control escaped", "a\u202eb", `a\u202eb`},
		{"cut at max without splitting an escape", "ab\xff", "ab"},
	} {
		t.Run(c.name, func(t *testing.T) {
			max := 64
			if c.name == "cut at max without splitting an escape" {
				max = 4
			}
			if got := CleanText(c.in, max); got != c.want {
				t.Fatalf("CleanText(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
	for _, h := range hostileTexts {
		once := CleanText(h, MaxDHCPText)
		if twice := CleanText(once, MaxDHCPText); twice != once {
			t.Errorf("CleanText is not idempotent on %q: %q then %q", h, once, twice)
		}
	}
	if got := CleanText(strings.Repeat("é", 200), 255); len(got) > 255 {
		t.Fatalf("cut to %d bytes, want at most 255", len(got))
	}
}

func FuzzNormalizeFacts(f *testing.F) {
	f.Add("sda", "QM$(reboot)", "\n%post", int64(1<<30))
	f.Fuzz(func(t *testing.T, disk, model, serial string, size int64) {
		fa := &Facts{Disks: []DiskFact{{Name: disk, Model: model, Serial: serial, SizeBytes: size}}, DMI: DMIFacts{Serial: serial}}
		if err := NormalizeFacts(fa); err != nil {
			return
		}
		for _, s := range []string{fa.Disks[0].Model, fa.Disks[0].Serial, fa.DMI.Serial} {
			if strings.ContainsAny(s, "\n\r") || len(s) > MaxFactText {
				t.Fatalf("cleaned text %q has a line break or is too long", s)
			}
		}
	})
}

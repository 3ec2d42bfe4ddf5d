package inventory

import (
	"encoding/json"
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		name, in string
		want     Size
		err      bool
	}{
		{"plain MiB", "128", Fixed(128), false},
		{"MiB suffix", "20000M", Fixed(20000), false},
		{"GiB", "200G", Fixed(204800), false},
		{"GiB long", "200GiB", Fixed(204800), false},
		{"TiB", "2T", Fixed(2 << 20), false},
		{"grow", "grow", Grow(), false},
		{"share", "share:2", Share(2), false},
		{"ram", "ram", RAM(0), false},
		{"ram capped", "ram:16G", RAM(16384), false},
		{"negative", "-5", Size{}, true},
		{"share zero", "share:0", Size{}, true},
		{"share huge", "share:1001", Size{}, true},
		{"ram zero cap", "ram:0", Size{}, true},
		{"too big", "2000000T", Size{}, true},
		{"words", "big", Size{}, true},
		{"empty", "", Size{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSize(c.in)
			if c.err {
				if err == nil || !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseSize(%q) = %v, %v; want an ErrInvalid", c.in, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseSize(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			back, err := ParseSize(got.String())
			if err != nil || back != got {
				t.Fatalf("round trip of %q through %q gave %+v, %v", c.in, got.String(), back, err)
			}
		})
	}
}

// TestLayoutEncodings: a layout survives JSON and YAML, sizes as text (or bare numbers).
func TestLayoutEncodings(t *testing.T) {
	l := Layout{Name: "x", Label: "gpt", Disks: []LayoutDisk{{Use: DiskFirst, Partitions: []LayoutPartition{
		{Mount: "/boot", FSType: "ext4", Size: Fixed(512), AsPrimary: true},
		{Mount: "swap", Size: RAM(8192)},
		{Mount: "/", Size: Share(3)},
	}}}, Rules: []LayoutRule{{MinMiB: 256000, BelowMiB: 512000, Set: map[string]Size{"/": Grow()}}}}
	j, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var lj Layout
	if err := json.Unmarshal(j, &lj); err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var ly Layout
	if err := yaml.Unmarshal(y, &ly); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]Layout{"json": lj, "yaml": ly} {
		if got.Disks[0].Partitions[1].Size != RAM(8192) || got.Disks[0].Partitions[0].Size != Fixed(512) ||
			got.Rules[0].Set["/"] != Grow() || got.Disks[0].Partitions[2].Size != Share(3) || !got.Disks[0].Partitions[0].AsPrimary {
			t.Errorf("%s round trip lost something: %+v", name, got)
		}
	}
	var bare Layout
	if err := json.Unmarshal([]byte(`{"name":"b","disks":[{"use":"first","partitions":[{"mount":"/","size":20000}]}]}`), &bare); err != nil {
		t.Fatal(err)
	}
	if bare.Disks[0].Partitions[0].Size != Fixed(20000) {
		t.Errorf("bare JSON number: %+v", bare.Disks[0].Partitions[0].Size)
	}
	if err := yaml.Unmarshal([]byte("name: b\ndisks:\n- use: first\n  partitions:\n  - {mount: /, size: 20000}\n  - {mount: /x, size: 2G}\n"), &bare); err != nil {
		t.Fatal(err)
	}
	if bare.Disks[0].Partitions[0].Size != Fixed(20000) || bare.Disks[0].Partitions[1].Size != Fixed(2048) {
		t.Errorf("bare YAML sizes: %+v", bare.Disks[0].Partitions)
	}
	if err := json.Unmarshal([]byte(`{"name":"b","disks":[{"use":"first","partitions":[{"mount":"/","size":"lots"}]}]}`), &bare); err == nil {
		t.Errorf("bad size accepted")
	}
	t.Logf("YAML form:\n%s", y)
}

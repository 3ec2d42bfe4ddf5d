package adopt

import (
	"testing"
)

func TestPxelinuxGolden(t *testing.T) {
	r, err := ReadPxelinux(mustRead(t, "testdata/pxelinux.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pxelinux.golden", render(t, r))
	if len(r.Dump.Hosts) != 6 {
		t.Fatalf("%d hosts, want the 6 01-<mac> files", len(r.Dump.Hosts))
	}
}

func TestPxelinuxVariants(t *testing.T) {
	for _, tc := range []struct {
		name, file, conf string
		labels           map[string]string // nil: no host
		note             string
	}{
		{name: "default label", file: "01-52-54-00-00-00-01", conf: "DEFAULT i\nLABEL l\n LOCALBOOT 0\nLABEL i\n KERNEL k/vmlinuz\n APPEND initrd=k/initrd.img ks=http://x/ks.cfg",
			labels: map[string]string{"pxelinux.kernel": "k/vmlinuz", "pxelinux.initrd": "k/initrd.img", "pxelinux.ks": "http://x/ks.cfg"}, note: "label l"},
		{name: "first label without default", file: "01-52-54-00-00-00-01", conf: "label a\n localboot 0\n", labels: map[string]string{"pxelinux.boot": "local"}},
		{name: "linux and initrd lines, lower case", file: "01-52-54-00-00-00-01", conf: "default a\nlabel a\n linux v\n initrd i\n append inst.ks=x quiet", labels: map[string]string{"pxelinux.kernel": "v", "pxelinux.initrd": "i", "pxelinux.ks": "x"}, note: `"quiet"`},
		{name: "one-line default", file: "01-52-54-00-00-00-01", conf: "DEFAULT v initrd=i", labels: map[string]string{"pxelinux.kernel": "v", "pxelinux.initrd": "i"}},
		{name: "address file", file: "C000020B", conf: "DEFAULT local", note: "not named 01-<mac>"},
		{name: "default file", file: "default", conf: "DEFAULT local", note: "not named 01-<mac>"},
		{name: "unknown directive", file: "01-52-54-00-00-00-01", conf: "FOO bar\nLABEL a\n LOCALBOOT 0", labels: map[string]string{"pxelinux.boot": "local"}, note: "FOO bar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ReadPxelinux([]File{{Name: "pxelinux.cfg/" + tc.file, Data: []byte(tc.conf)}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.labels == nil {
				if len(r.Dump.Hosts) != 0 {
					t.Fatalf("hosts %+v, want none", r.Dump.Hosts)
				}
			} else {
				if len(r.Dump.Hosts) != 1 || r.Dump.Hosts[0].MACs[0] != "52:54:00:00:00:01" {
					t.Fatalf("hosts %+v, want one with 52:54:00:00:00:01", r.Dump.Hosts)
				}
				got := r.Dump.Hosts[0].Labels
				if len(got) != len(tc.labels) {
					t.Fatalf("labels %v, want %v", got, tc.labels)
				}
				for k, v := range tc.labels {
					if got[k] != v {
						t.Fatalf("labels %v, want %v", got, tc.labels)
					}
				}
			}
			wantNote(t, r, tc.note)
		})
	}
}

func FuzzReadPxelinux(f *testing.F) {
	f.Add([]byte("DEFAULT i\nLABEL i\n KERNEL k\n APPEND initrd=a ks=b c\n"))
	f.Add([]byte("default v initrd=i\nlocalboot 0\n"))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzValid(t, ReadPxelinux, "01-52-54-00-00-00-01", in) })
}

package kickstart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestTextIsAlwaysQuoted(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"QM00001", "'QM00001'"},
		{"%post", "'%post'"},
		{"$(reboot)", "'$(reboot)'"},
		{"a';reboot;'", `'a'\'';reboot;'\'''`},
		{"", "''"},
	} {
		if got := Text(c.in).String(); got != c.want {
			t.Errorf("Text(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestFactsInTemplates renders a template that prints a discovered host's
// facts, whose texts carry shell metacharacters, newlines and %post: each
// arrives as one single-quoted word on the line the template put it, and
// no line of its own appears.
func TestFactsInTemplates(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "snippets"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl := `network --bootproto=dhcp --hostname={{.Host.Hostname}}
{{- with .Facts}}
# facts: {{.CPUCount}} CPUs {{.MemoryMiB}} MiB cpu {{.CPUModel}} dmi {{.DMI.Vendor}} {{.DMI.Product}} {{.DMI.Serial}}
{{- range .Disks}}
# disk {{.Name}} {{.SizeMiB}} MiB model {{.Model}} serial {{.Serial}}
{{- end}}
{{- end}}
`
	if err := os.WriteFile(filepath.Join(dir, "snippets", "network.tmpl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{TemplateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	h := *demoHosts()[0]
	h.Profile = "centos-7.9"
	p := demoProfiles()[2]
	plain, err := r.Kickstart(context.Background(), demoSource(&h, p), Request{Host: h.ID(), Server: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	h.Facts = &inventory.Facts{CPU: inventory.CPUFacts{Model: "QEMU `reboot`", Count: 2}, MemoryBytes: 8 << 30,
		Disks: []inventory.DiskFact{{Name: "sda", SizeBytes: 100 << 30, Model: "\n%post\nreboot\n%end", Serial: "$(reboot)"}},
		DMI:   inventory.DMIFacts{Vendor: "QEMU", Product: "a';reboot;'", Serial: "NK-1 & reboot"}}
	if err := inventory.NormalizeFacts(h.Facts); err != nil {
		t.Fatal(err)
	}
	out, err := r.Kickstart(context.Background(), demoSource(&h, p), Request{Host: h.ID(), Server: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	ks := string(out)
	for _, want := range []string{
		`# facts: 2 CPUs 8192 MiB cpu 'QEMU ` + "`reboot`" + `' dmi 'QEMU' 'a'\'';reboot;'\''' 'NK-1 & reboot'`,
		`# disk sda 102400 MiB model '\x0a%post\x0areboot\x0a%end' serial '$(reboot)'`,
	} {
		if !strings.Contains(ks, want) {
			t.Errorf("kickstart lacks %q:\n%s", want, ks)
		}
	}
	count := func(s, prefix string) int {
		n := 0
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				n++
			}
		}
		return n
	}
	for _, section := range []string{"%post", "%end", "%pre", "reboot"} {
		if count(ks, section) != count(string(plain), section) {
			t.Errorf("facts added a %s line:\n%s", section, ks)
		}
	}
	// A fact cannot be handed to a function that takes plain text.
	if err := os.WriteFile(filepath.Join(dir, "snippets", "network.tmpl"), []byte("network {{ shq .Facts.DMI.Serial }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = New(Options{TemplateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Kickstart(context.Background(), demoSource(&h, p), Request{Host: h.ID(), Server: "http://x"}); err == nil {
		t.Fatal("a fact was passed to shq as plain text")
	}
}

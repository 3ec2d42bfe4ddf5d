package adopt

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", p, got)
	}
}

// render is a Result as the golden files hold it: the dump as JSON, then one note a line.
func render(t *testing.T, r *Result) string {
	t.Helper()
	b, err := json.MarshalIndent(r.Dump, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.Write(b)
	sb.WriteString("\n# not imported\n")
	for _, n := range r.Notes {
		sb.WriteString(n.String() + "\n")
	}
	return sb.String()
}

func mustRead(t *testing.T, paths ...string) []File {
	t.Helper()
	var out []File
	for _, p := range paths {
		f, err := ReadPath(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f...)
	}
	return out
}

// hostByName finds a host of r, failing the test if it is missing.
func hostByName(t *testing.T, r *Result, name string) int {
	t.Helper()
	for i := range r.Dump.Hosts {
		if r.Dump.Hosts[i].Hostname == name {
			return i
		}
	}
	t.Fatalf("host %s not imported; hosts: %+v", name, r.Dump.Hosts)
	return -1
}

// notesWith returns the notes that mention s.
func notesWith(r *Result, s string) []Note {
	var out []Note
	for _, n := range r.Notes {
		if strings.Contains(n.String(), s) {
			out = append(out, n)
		}
	}
	return out
}

func TestReadPathDirSkipsBackupsAndHidden(t *testing.T) {
	d := t.TempDir()
	for _, n := range []string{"b.conf", "a.conf", ".hidden", "c.conf~", "#d.conf#"} {
		if err := os.WriteFile(filepath.Join(d, n), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := ReadPath(d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, filepath.Base(f.Name))
	}
	if strings.Join(got, " ") != "a.conf b.conf" {
		t.Fatalf("ReadPath(dir) = %v, want [a.conf b.conf]", got)
	}
	if _, err := ReadPath(filepath.Join(d, "missing")); err == nil {
		t.Fatal("ReadPath of a missing file: no error")
	}
}

func TestReadUnknownFormat(t *testing.T) {
	if _, err := Read("bind9", nil); err == nil || !strings.Contains(err.Error(), "dnsmasq") {
		t.Fatalf("Read(bind9) = %v, want an error naming the formats", err)
	}
}

// wantHost checks that r holds exactly one host with that name, MACs
// (space-separated) and address, or none when name is "", and returns it.
func wantHost(t *testing.T, r *Result, name, macs, ip string) *inventory.Host {
	t.Helper()
	if name == "" {
		if len(r.Dump.Hosts) != 0 {
			t.Fatalf("hosts %+v imported, want none", r.Dump.Hosts)
		}
		return nil
	}
	if len(r.Dump.Hosts) != 1 {
		t.Fatalf("hosts %+v, want exactly %s", r.Dump.Hosts, name)
	}
	h := &r.Dump.Hosts[0]
	if h.Hostname != name || strings.Join(h.MACs, " ") != macs || h.IP != ip {
		t.Fatalf("host = %s %v %s, want %s [%s] %s", h.Hostname, h.MACs, h.IP, name, macs, ip)
	}
	return h
}

// wantNote checks that a note mentions s, or that there is none when s is "".
func wantNote(t *testing.T, r *Result, s string) {
	t.Helper()
	if s != "" && len(notesWith(r, s)) == 0 {
		t.Fatalf("no note mentions %q; notes: %v", s, r.Notes)
	}
	if s == "" && len(r.Notes) != 0 {
		t.Fatalf("unexpected notes: %v", r.Notes)
	}
}

// fuzzValid is the property every reader's fuzz target checks: no panic,
// and whatever is imported is valid inventory.
func fuzzValid(t *testing.T, read func([]File) (*Result, error), name string, in []byte) {
	r, err := read([]File{{Name: name, Data: in}})
	if err != nil {
		return
	}
	if err := r.Dump.Validate(); err != nil {
		t.Fatalf("imported dump is invalid: %v", err)
	}
}

package testvm

import (
	"archive/tar"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/netkick/netkick/inventory"
)

// ReportPort is where the rig listens, inside its namespace, for the mini
// installer's reports (POST /report/<mac>, a tar.gz).
const ReportPort = "8099"

// Report is what the mini installer sends back after an install (or a failure).
type Report struct {
	MAC     string
	Failed  string            // installer stage that failed ("" if none)
	Stages  []string          // the installer's own stage log
	Parted  map[string]string // disk → `parted -m unit B print` in the guest
	Files   map[string]string // files the %post sections wrote (scratch-root paths)
	OnPart  []string          // "mount device ok|missing"
	Kick    string            // the kickstart as fetched
	Entries map[string]string // every member, by name
}

// ParseReport reads a report archive.
func ParseReport(r io.Reader) (*Report, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("report: not gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	rep := &Report{Parted: map[string]string{}, Files: map[string]string{}, Entries: map[string]string{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("report: bad tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 4<<20))
		if err != nil {
			return nil, fmt.Errorf("report member %s: %w", h.Name, err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		s := string(b)
		rep.Entries[name] = s
		switch {
		case name == "mac":
			rep.MAC = strings.TrimSpace(s)
		case name == "failed":
			rep.Failed = strings.TrimSpace(s)
		case name == "stages":
			rep.Stages = nonEmptyLines(s)
		case name == "ks.cfg":
			rep.Kick = s
		case name == "onpart.checked":
			rep.OnPart = nonEmptyLines(s)
		case strings.HasPrefix(name, "parted/"):
			rep.Parted[strings.TrimPrefix(name, "parted/")] = s
		case strings.HasPrefix(name, "files/"):
			rep.Files["/"+strings.TrimPrefix(name, "files/")] = s
		}
	}
	return rep, nil
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// FileNames lists the collected %post files, sorted.
func (r *Report) FileNames() []string {
	var out []string
	for n := range r.Files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ReportSink receives reports over HTTP and keeps each one (and its raw
// archive under dir) by MAC.
type ReportSink struct {
	dir     string
	mu      sync.Mutex
	reports map[string]*Report
	inv     []byte
}

// SetInventory sets what GET /inventory.yaml returns (the rig's inventory,
// for `netkick lvs apply --file` in a director guest).
func (s *ReportSink) SetInventory(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inv = b
}

// NewReportSink stores raw archives under dir.
func NewReportSink(dir string) *ReportSink {
	return &ReportSink{dir: dir, reports: map[string]*Report{}}
}

func (s *ReportSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/inventory.yaml" {
		s.mu.Lock()
		b := s.inv
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
		return
	}
	mac, ok := strings.CutPrefix(r.URL.Path, "/report/")
	if r.Method != http.MethodPost || !ok {
		http.Error(w, "POST /report/<mac> with a tar.gz body (raw or base64)", http.StatusNotFound)
		return
	}
	mac, err := inventory.NormalizeMAC(mac)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), "")); err == nil {
		b = dec
	}
	raw := filepath.Join(s.dir, strings.ReplaceAll(mac, ":", "-")+".report.tar.gz")
	_ = os.WriteFile(raw, b, 0o644)
	rep, err := ParseReport(strings.NewReader(string(b)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rep.MAC == "" {
		rep.MAC = mac
	}
	s.mu.Lock()
	s.reports[mac] = rep
	s.mu.Unlock()
	fmt.Fprintln(w, "ok")
}

// Get returns the report of mac, if one arrived.
func (s *ReportSink) Get(mac string) *Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reports[mac]
}

// Forget drops mac's report (before a new boot of the same machine).
func (s *ReportSink) Forget(mac string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.reports, mac)
}

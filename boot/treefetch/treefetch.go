// Package treefetch copies an installer's kernel and initrd from an install
// tree (an HTTP(S) mirror, or a directory such as a mounted DVD) into the boot
// root, checked against the checksums of the tree's .treeinfo when it has
// them. A file is written beside its destination and renamed over it only
// once complete and checked, so a failed fetch never leaves a broken kernel.
package treefetch

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Default paths of the installer in a Red Hat style install tree, used when
// the tree has no .treeinfo or it names no images for the architecture.
const (
	DefaultKernel = "images/pxeboot/vmlinuz"
	DefaultInitrd = "images/pxeboot/initrd.img"
	// The tree's own Secure Boot loaders (the DVD's removable-media path):
	// shim signed by Microsoft, and the GRUB the distribution signed.
	TreeShim = "EFI/BOOT/BOOTX64.EFI"
	TreeGRUB = "EFI/BOOT/grubx64.efi"
)

// Checksum is an expected digest: Algo is md5, sha1, sha256 or sha512.
type Checksum struct {
	Algo string
	Hex  string
}

func (c Checksum) String() string { return c.Algo + ":" + c.Hex }

// Treeinfo is what netkick uses of a tree's .treeinfo (an INI file): the
// installer images of one architecture and the checksums of tree files.
type Treeinfo struct {
	Kernel, Initrd string              // paths relative to the tree, "" when not named
	Checksums      map[string]Checksum // by path relative to the tree
}

// ParseTreeinfo reads a .treeinfo for architecture arch (e.g. "x86_64"): the
// kernel and initrd of section [images-ARCH] and the [checksums] section
// ("images/pxeboot/vmlinuz = sha256:…"). Unknown sections and keys are
// ignored; a checksum with an unknown algorithm or a malformed digest is an
// error, so that a file is never taken as checked when it was not.
func ParseTreeinfo(r io.Reader, arch string) (*Treeinfo, error) {
	ti := &Treeinfo{Checksums: map[string]Checksum{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	section := ""
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf(".treeinfo line %d: section header %q has no closing ]", n, trunc(line))
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // continuation lines and the like carry nothing we use
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case section == "images-"+arch && k == "kernel":
			ti.Kernel = v
		case section == "images-"+arch && k == "initrd":
			ti.Initrd = v
		case section == "checksums":
			c, err := parseChecksum(v)
			if err != nil {
				return nil, fmt.Errorf(".treeinfo line %d: checksum of %s: %w", n, trunc(k), err)
			}
			ti.Checksums[path.Clean(k)] = c
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read .treeinfo: %w", err)
	}
	return ti, nil
}

var digestLen = map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}

func parseChecksum(s string) (Checksum, error) {
	algo, hx, ok := strings.Cut(s, ":")
	if !ok {
		return Checksum{}, fmt.Errorf("%q: want ALGO:HEX, e.g. sha256:…", trunc(s))
	}
	algo, hx = strings.ToLower(algo), strings.ToLower(hx)
	want, known := digestLen[algo]
	if !known {
		return Checksum{}, fmt.Errorf("algorithm %q: want md5, sha1, sha256 or sha512", trunc(algo))
	}
	if _, err := hex.DecodeString(hx); err != nil || len(hx) != want {
		return Checksum{}, fmt.Errorf("%s digest %q: want %d hex digits", algo, trunc(hx), want)
	}
	return Checksum{Algo: algo, Hex: hx}, nil
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	case "sha512":
		return sha512.New()
	}
	return sha256.New()
}

// Source is an install tree: an http(s) URL or a local directory.
type Source struct {
	base   *url.URL // http(s) tree, with a trailing slash
	dir    string   // or a local directory
	client *http.Client
}

// NewSource makes a Source of s, an http:// or https:// URL, a file:// URL
// or a directory path. client is used for HTTP (http.DefaultClient when nil).
func NewSource(s string, client *http.Client) (*Source, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("install tree %q: not a usable URL (want e.g. http://mirror.example/centos/7.9.2009/os/x86_64/)", trunc(s))
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		return &Source{base: u, client: client}, nil
	}
	if strings.Contains(s, "://") && !strings.HasPrefix(s, "file://") {
		return nil, fmt.Errorf("install tree %q: scheme not supported (want http://, https://, file:// or a directory)", trunc(s))
	}
	dir := strings.TrimPrefix(s, "file://")
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("install tree %s: %w (give an http(s) URL or the directory of a mounted DVD)", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("install tree %s: not a directory", dir)
	}
	return &Source{dir: dir, client: client}, nil
}

// String names the source in messages.
func (s *Source) String() string {
	if s.base != nil {
		return s.base.String()
	}
	return s.dir
}

// Where names one file of the tree in messages (its URL or local path).
func (s *Source) Where(rel string) string {
	if s.base != nil {
		return s.base.ResolveReference(&url.URL{Path: rel}).String()
	}
	return filepath.Join(s.dir, filepath.FromSlash(rel))
}

// errNotFound marks a tree file that does not exist.
var errNotFound = errors.New("not found")

// open returns the tree file rel and its size (-1 when unknown).
func (s *Source) open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if strings.HasPrefix(rel, "/") || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") || rel == ".." {
		return nil, 0, fmt.Errorf("tree path %q: want a clean path inside the tree", trunc(rel))
	}
	if s.base == nil {
		f, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(rel)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, fmt.Errorf("%s: %w", s.Where(rel), errNotFound)
		}
		if err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, fi.Size(), nil
	}
	u := s.Where(rel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, 0, fmt.Errorf("GET %s: %s: %w", u, resp.Status, errNotFound)
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return resp.Body, resp.ContentLength, nil
}

// ReadTreeinfo fetches and parses the tree's .treeinfo; nil, nil when the
// tree has none (old or hand-made trees).
func (s *Source) ReadTreeinfo(ctx context.Context, arch string) (*Treeinfo, error) {
	rc, _, err := s.open(ctx, ".treeinfo")
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ti, err := ParseTreeinfo(io.LimitReader(rc, 4<<20), arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Where(".treeinfo"), err)
	}
	return ti, nil
}

// Progress is told how far a file has come (total -1 when unknown).
type Progress func(done, total int64)

// File is one file to fetch: From (a path in the tree) to To (a path under
// the boot root). Want, when set, is the digest the content must have.
type File struct {
	From string
	To   string
	Want *Checksum
}

// Result says what Fetch did with one file.
type Result struct {
	File
	Bytes    int64
	Digest   Checksum // of the content now at To (sha256 unless Want said otherwise)
	UpToDate bool     // To already had the wanted content: nothing was fetched
	Elapsed  time.Duration
}

// Fetch copies f from the tree into root. The content goes to a temporary
// file beside f.To and replaces f.To only when the byte count matches the
// announced size and the digest matches f.Want; otherwise f.To is left as it
// was. When f.To already has the wanted digest nothing is fetched.
func Fetch(ctx context.Context, src *Source, root *os.Root, f File, progress Progress) (Result, error) {
	res := Result{File: f}
	start := time.Now()
	algo := "sha256"
	if f.Want != nil {
		algo = f.Want.Algo
	}
	dest := filepath.Clean(filepath.FromSlash(f.To))
	if filepath.IsAbs(dest) || dest == "." || strings.HasPrefix(dest, "..") {
		return res, fmt.Errorf("destination %q: want a path inside the boot root", trunc(f.To))
	}
	if f.Want != nil {
		if sum, n, err := digestOf(root, dest, algo); err == nil && sum == f.Want.Hex {
			res.Bytes, res.Digest, res.UpToDate = n, *f.Want, true
			return res, nil
		}
	}
	rc, size, err := src.open(ctx, f.From)
	if err != nil {
		return res, fmt.Errorf("fetch %s: %w", f.From, err)
	}
	defer rc.Close()
	if dir := filepath.Dir(dest); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return res, fmt.Errorf("create %s in the boot root: %w", dir, err)
		}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := dest + ".part-" + hex.EncodeToString(rnd[:])
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return res, fmt.Errorf("create %s in the boot root: %w", tmp, err)
	}
	keep := false
	defer func() {
		if !keep {
			out.Close()
			root.Remove(tmp)
		}
	}()
	h := newHash(algo)
	w := &progressWriter{w: io.MultiWriter(out, h), total: size, report: progress}
	n, err := io.Copy(w, rc)
	w.flush()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return res, fmt.Errorf("fetch %s: got %d bytes, the server announced %d (connection cut?); %s left as it was", src.Where(f.From), n, size, f.To)
	}
	if err != nil {
		return res, fmt.Errorf("fetch %s: after %d bytes: %w; %s left as it was", src.Where(f.From), n, err, f.To)
	}
	if size >= 0 && n != size {
		return res, fmt.Errorf("fetch %s: got %d bytes, the server announced %d (connection cut?); %s left as it was", src.Where(f.From), n, size, f.To)
	}
	if n == 0 {
		return res, fmt.Errorf("fetch %s: the file is empty; %s left as it was", src.Where(f.From), f.To)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if f.Want != nil && sum != f.Want.Hex {
		return res, fmt.Errorf("fetch %s: %s is %s, .treeinfo says %s (a mirror out of sync, or a proxy that rewrote the file); %s left as it was",
			src.Where(f.From), algo, sum, f.Want.Hex, f.To)
	}
	if err := out.Sync(); err != nil {
		return res, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := out.Close(); err != nil {
		return res, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := root.Rename(tmp, dest); err != nil {
		return res, fmt.Errorf("rename %s to %s in the boot root: %w", tmp, dest, err)
	}
	keep = true
	res.Bytes, res.Digest, res.Elapsed = n, Checksum{Algo: algo, Hex: sum}, time.Since(start)
	return res, nil
}

// digestOf hashes a file under root.
func digestOf(root *os.Root, name, algo string) (string, int64, error) {
	f, err := root.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := newHash(algo)
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// progressWriter reports progress at most every 200 ms, and once at the end.
type progressWriter struct {
	w      io.Writer
	done   int64
	total  int64
	last   time.Time
	report Progress
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.report != nil && time.Since(p.last) >= 200*time.Millisecond {
		p.last = time.Now()
		p.report(p.done, p.total)
	}
	return n, err
}

func (p *progressWriter) flush() {
	if p.report != nil {
		p.report(p.done, p.total)
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Plan lists the two files to fetch for a profile: the tree's kernel and
// initrd (as .treeinfo names them, else DefaultKernel and DefaultInitrd) to
// kernelTo and initrdTo, with the checksums .treeinfo gives (ti may be nil).
func Plan(ti *Treeinfo, kernelTo, initrdTo string) []File {
	kernel, initrd := DefaultKernel, DefaultInitrd
	var sums map[string]Checksum
	if ti != nil {
		if ti.Kernel != "" {
			kernel = path.Clean(ti.Kernel)
		}
		if ti.Initrd != "" {
			initrd = path.Clean(ti.Initrd)
		}
		sums = ti.Checksums
	}
	out := []File{{From: kernel, To: kernelTo}, {From: initrd, To: initrdTo}}
	for i := range out {
		if c, ok := sums[out[i].From]; ok {
			out[i].Want = &c
		}
	}
	return out
}

// PlanEFI lists the tree's Secure Boot loaders to fetch into dir under the
// boot root, with the names shim and DHCP use: TreeShim to dir/shimx64.efi
// and TreeGRUB to dir/grubx64.efi (shim loads it from its own directory),
// with the checksums .treeinfo gives (ti may be nil).
func PlanEFI(ti *Treeinfo, dir string) []File {
	out := []File{{From: TreeShim, To: dir + "/shimx64.efi"}, {From: TreeGRUB, To: dir + "/grubx64.efi"}}
	if ti != nil {
		for i := range out {
			if c, ok := ti.Checksums[out[i].From]; ok {
				out[i].Want = &c
			}
		}
	}
	return out
}

// IsNotFound reports whether a Fetch failed because the tree has no such file.
func IsNotFound(err error) bool { return errors.Is(err, errNotFound) }

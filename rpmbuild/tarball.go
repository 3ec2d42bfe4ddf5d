package rpmbuild

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ErrUnsafe marks a tarball refused for safety (paths leaving the tree,
// device nodes, a name that is not a CPAN dist name, size limits).
var ErrUnsafe = errors.New("unsafe or malformed CPAN tarball")

// Limits applied while reading a tarball.
const (
	maxMembers    = 50000
	maxTotalBytes = 512 << 20 // uncompressed bytes read through
	maxKeptFile   = 1 << 20   // bigger files are listed but their content is not kept
	maxKeptTotal  = 32 << 20
	maxLinkHops   = 40
)

// distFileRe matches a CPAN tarball name: Dist-Name-1.23.tar.gz.
var distFileRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*?)-(v?[0-9][0-9._]*)\.(tar\.gz|tgz|tar\.bz2|tbz|tar)$`)

// distDirRe matches the top directory inside it: Dist-Name-1.23.
var distDirRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*?)-(v?[0-9][0-9._]*)$`)

// Dist is a CPAN distribution read from its tarball. Nothing of it has been
// written to disk.
type Dist struct {
	File    string // base name of the tarball, e.g. Foo-Bar-1.00.tar.gz
	Name    string // dist name from the file name, e.g. Foo-Bar
	Version string // version from the file name, e.g. 1.00
	TopDir  string // the single top directory of every member, e.g. Foo-Bar-1.00
	// Files lists regular files and symlinks, relative to TopDir, sorted.
	Files []string
	// content holds small text files (META, Makefile.PL, Build.PL, *.pm,
	// *.pod), keyed like Files.
	content map[string][]byte
}

// Content returns the content of a member (relative to TopDir) when it was kept.
func (d *Dist) Content(name string) ([]byte, bool) {
	b, ok := d.content[name]
	return b, ok
}

// Has reports whether the dist has the member (relative to TopDir).
func (d *Dist) Has(name string) bool {
	i := sort.SearchStrings(d.Files, name)
	return i < len(d.Files) && d.Files[i] == name
}

// ParseDistFileName splits a CPAN tarball name into dist name and version.
func ParseDistFileName(file string) (name, version string, err error) {
	m := distFileRe.FindStringSubmatch(file)
	if m == nil {
		return "", "", fmt.Errorf("%w: %q is not a CPAN dist tarball name: want Dist-Name-1.23.tar.gz (or .tgz, .tar.bz2, .tar)", ErrUnsafe, file)
	}
	return m[1], m[2], nil
}

// OpenDist reads and checks a CPAN tarball from disk.
func OpenDist(file string) (*Dist, error) {
	if _, _, err := ParseDistFileName(filepath.Base(file)); err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open CPAN tarball: %w", err)
	}
	defer f.Close()
	return ReadDist(filepath.Base(file), f)
}

// ReadDist reads and checks a CPAN tarball (gzip, bzip2 or plain tar, told
// apart by magic bytes). name is the tarball's base name.
func ReadDist(name string, r io.Reader) (*Dist, error) {
	dname, dver, err := ParseDistFileName(name)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	magic, _ := br.Peek(3)
	var tr io.Reader = br
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: gzip: %v", ErrUnsafe, name, err)
		}
		defer zr.Close()
		tr = zr
	case bytes.Equal(magic, []byte("BZh")):
		tr = bzip2.NewReader(br)
	}
	d := &Dist{File: name, Name: dname, Version: dver, content: map[string][]byte{}}
	if err := d.readTar(io.LimitReader(tr, maxTotalBytes+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func (d *Dist) readTar(r io.Reader) error {
	t := tar.NewReader(r)
	links := map[string]string{} // archive path -> symlink target
	regular := map[string]bool{} // archive paths of regular files
	var members []string
	kept := 0
	for n := 0; ; n++ {
		h, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading tar: %v (is it a complete .tar.gz?)", ErrUnsafe, err)
		}
		if n >= maxMembers {
			return fmt.Errorf("%w: more than %d members", ErrUnsafe, maxMembers)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := checkMemberName(h.Name)
		if err != nil {
			return err
		}
		if name == "" { // "./"
			continue
		}
		top, rest, _ := strings.Cut(name, "/")
		if d.TopDir == "" {
			m := distDirRe.FindStringSubmatch(top)
			if m == nil {
				return fmt.Errorf("%w: top directory %q is not Dist-Name-version", ErrUnsafe, top)
			}
			if m[1] != d.Name {
				return fmt.Errorf("%w: top directory %q does not belong to dist %s", ErrUnsafe, top, d.Name)
			}
			d.TopDir = top
		} else if top != d.TopDir {
			return fmt.Errorf("%w: member %q is outside the top directory %q (a CPAN tarball has exactly one)", ErrUnsafe, h.Name, d.TopDir)
		}
		if rest == "" && h.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: top-level member %q is not a directory", ErrUnsafe, h.Name)
		}
		members = append(members, name)
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg, tar.TypeRegA:
			regular[name] = true
			d.Files = append(d.Files, rest)
			if keepContent(rest) && h.Size <= maxKeptFile && kept+int(h.Size) <= maxKeptTotal {
				b, err := io.ReadAll(io.LimitReader(t, maxKeptFile+1))
				if err != nil {
					return fmt.Errorf("%w: reading %q: %v", ErrUnsafe, h.Name, err)
				}
				kept += len(b)
				d.content[rest] = b
			}
		case tar.TypeSymlink:
			if h.Linkname == "" || path.IsAbs(h.Linkname) || strings.ContainsAny(h.Linkname, "\x00\\") {
				return fmt.Errorf("%w: symlink %q -> %q points outside the tree", ErrUnsafe, h.Name, h.Linkname)
			}
			links[name] = h.Linkname
			d.Files = append(d.Files, rest)
		case tar.TypeLink:
			target, err := checkMemberName(h.Linkname)
			if err != nil || !regular[target] {
				return fmt.Errorf("%w: hard link %q -> %q does not name an earlier file of the tree", ErrUnsafe, h.Name, h.Linkname)
			}
			regular[name] = true
			d.Files = append(d.Files, rest)
		default:
			return fmt.Errorf("%w: member %q has tar type %q (device, fifo or unknown): a CPAN dist holds files, dirs and links only", ErrUnsafe, h.Name, string(h.Typeflag))
		}
	}
	if d.TopDir == "" {
		return fmt.Errorf("%w: the tarball is empty", ErrUnsafe)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsafe, err)
	}
	if lr, ok := r.(*io.LimitedReader); ok && lr.N <= 0 {
		return fmt.Errorf("%w: more than %d MiB uncompressed", ErrUnsafe, maxTotalBytes>>20)
	}
	// Every member's directory and every link target must resolve, following
	// the archive's own symlinks the way the kernel would, inside TopDir.
	for _, m := range members {
		if m == d.TopDir {
			continue
		}
		if _, err := resolveIn(d.TopDir, links, path.Dir(m)); err != nil {
			return fmt.Errorf("%w: member %q: %v", ErrUnsafe, m, err)
		}
	}
	for l, target := range links {
		if _, err := resolveIn(d.TopDir, links, path.Dir(l)+"/"+target); err != nil {
			return fmt.Errorf("%w: symlink %q -> %q: %v", ErrUnsafe, l, target, err)
		}
	}
	sort.Strings(d.Files)
	return nil
}

// checkMemberName cleans a tar member name and refuses absolute paths, ".."
// elements, NUL and backslashes. "./" prefixes are dropped.
func checkMemberName(n string) (string, error) {
	if n == "" || strings.ContainsAny(n, "\x00\\") || path.IsAbs(n) {
		return "", fmt.Errorf("%w: member name %q is empty, absolute or has NUL/backslash", ErrUnsafe, n)
	}
	var out []string
	for _, p := range strings.Split(n, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("%w: member name %q has a \"..\" element", ErrUnsafe, n)
		}
		out = append(out, p)
	}
	return strings.Join(out, "/"), nil
}

// resolveIn resolves p (relative to the archive root) element by element,
// following the archive's symlinks, and fails as soon as the path leaves top.
// Using the lexical form of a link target alone is not enough: "a/.." where a
// is a link to "." leaves the tree although "a/.." looks harmless.
func resolveIn(top string, links map[string]string, p string) (string, error) {
	pending := strings.Split(p, "/")
	var cur []string
	hops := 0
	for len(pending) > 0 {
		el := pending[0]
		pending = pending[1:]
		switch el {
		case "", ".":
			continue
		case "..":
			if len(cur) <= 1 {
				return "", errors.New("resolves outside the dist's top directory")
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, el)
		if len(cur) == 1 && el != top {
			return "", errors.New("resolves outside the dist's top directory")
		}
		target, ok := links[strings.Join(cur, "/")]
		if !ok {
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", errors.New("too many levels of symlinks")
		}
		cur = cur[:len(cur)-1]
		pending = append(strings.Split(target, "/"), pending...)
	}
	if len(cur) == 0 {
		return "", errors.New("resolves outside the dist's top directory")
	}
	return strings.Join(cur, "/"), nil
}

// keepContent says which members are read into memory for the spec.
func keepContent(rel string) bool {
	switch rel {
	case "META.json", "META.yml", "Makefile.PL", "Build.PL":
		return true
	}
	return strings.HasSuffix(rel, ".pm") || strings.HasSuffix(rel, ".pod")
}

// Package initramfs builds Linux initramfs images: a tree of members (files
// copied from the host, bytes, symlinks, directories, device nodes) written
// as a gzip-compressed newc cpio, plus what filling one needs: the shared
// libraries a program loads (ldd) and the kernel modules a driver needs
// (.modinfo dependencies). netkick's discovery image and the test rig's mini
// installer are both built with it.
package initramfs

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Tree is an initramfs before it is archived: absolute image path → member.
type Tree map[string]Member

// Member is one entry of a Tree.
type Member struct {
	Mode uint32 // type bits + permissions (0100755, 040755, 0120777, 020600)
	Data []byte // content (a symlink's target)
	Src  string // host file read at archive time instead of Data
	Dev  [2]uint32
}

// Mode type bits.
const (
	TypeMask = 0o170000
	TypeReg  = 0o100000
	TypeDir  = 0o040000
	TypeLink = 0o120000
	TypeChr  = 0o020000
)

func (t Tree) addDirs(p string) {
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		if _, ok := t[d]; !ok {
			t[d] = Member{Mode: TypeDir | 0o755}
		}
	}
}

// File adds the host file src at p (read when the tree is written).
func (t Tree) File(p string, perm uint32, src string) {
	t.addDirs(p)
	t[p] = Member{Mode: TypeReg | perm, Src: src}
}

// Bytes adds a file with content b at p.
func (t Tree) Bytes(p string, perm uint32, b []byte) {
	t.addDirs(p)
	t[p] = Member{Mode: TypeReg | perm, Data: b}
}

// Symlink adds a symbolic link p → target.
func (t Tree) Symlink(p, target string) {
	t.addDirs(p)
	t[p] = Member{Mode: TypeLink | 0o777, Data: []byte(target)}
}

// Dir adds a directory (and its parents).
func (t Tree) Dir(p string) {
	t.addDirs(p + "/x")
}

// CharDev adds a character device node.
func (t Tree) CharDev(p string, perm, major, minor uint32) {
	t.addDirs(p)
	t[p] = Member{Mode: TypeChr | perm, Dev: [2]uint32{major, minor}}
}

// Sorted returns the tree's paths in archive order (parents first).
func (t Tree) Sorted() []string {
	ps := make([]string, 0, len(t))
	for p := range t {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Key hashes everything that decides the archive's bytes (host files by
// path, size and modification time), for caching built images.
func (t Tree) Key() (string, error) {
	h := sha256.New()
	for _, p := range t.Sorted() {
		m := t[p]
		fmt.Fprintf(h, "%s %o %d %d %x\n", p, m.Mode, m.Dev[0], m.Dev[1], sha256.Sum256(m.Data))
		if m.Src != "" {
			st, err := os.Stat(m.Src)
			if err != nil {
				return "", fmt.Errorf("initramfs member %s: %w", p, err)
			}
			fmt.Fprintf(h, " %s %d %d\n", m.Src, st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Write archives the tree to w as a gzip-compressed newc cpio, the format
// the kernel unpacks as an initramfs.
func (t Tree) Write(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	c := &cpioWriter{w: zw}
	for _, p := range t.Sorted() {
		m := t[p]
		data := m.Data
		if m.Src != "" {
			if data, err = os.ReadFile(m.Src); err != nil {
				return fmt.Errorf("initramfs member %s: %w", p, err)
			}
		}
		c.entry(strings.TrimPrefix(p, "/"), m.Mode, data, m.Dev[0], m.Dev[1])
	}
	if err := c.trailer(); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	return zw.Close()
}

// WriteFile writes the archive to path atomically (a temporary file in the
// same directory, renamed), mode 0644, creating the directory.
func (t Tree) WriteFile(p string) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("initramfs: create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".initramfs-*")
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer os.Remove(f.Name())
	if err := t.Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("initramfs: write %s: %w", f.Name(), err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// Program adds the host program src at p and every shared library it loads
// (at their own paths, as ldd names them); it returns the libraries.
func (t Tree) Program(p, src string) ([]string, error) {
	libs, err := SharedLibs(src)
	if err != nil {
		return nil, err
	}
	t.File(p, 0o755, src)
	for _, l := range libs {
		t.File(l, 0o755, l)
	}
	return libs, nil
}

package initramfs

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ModInfo is what a kernel module's .modinfo section says about loading it.
type ModInfo struct {
	Name    string   // normalised: '-' becomes '_'
	Depends []string // hard dependencies (normalised names)
	SoftPre []string // softdep "pre:" names (may be aliases such as crc32c)
}

// ModuleName normalises a module name or file name (sd-mod.ko → sd_mod).
func ModuleName(s string) string {
	s = filepath.Base(s)
	if c, ok := ModuleCompression(s); ok {
		s = strings.TrimSuffix(s, c.Suffix())
	}
	s = strings.TrimSuffix(s, ".ko")
	return strings.ReplaceAll(s, "-", "_")
}

// ParseModInfo reads the NUL-separated key=value pairs of a .modinfo section.
func ParseModInfo(name string, section []byte) ModInfo {
	mi := ModInfo{Name: ModuleName(name)}
	for _, kv := range strings.Split(string(section), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch k {
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					mi.Depends = append(mi.Depends, ModuleName(d))
				}
			}
		case "softdep":
			// e.g. "pre: crc32c" or "pre: a b post: c"
			fields := strings.Fields(v)
			pre := false
			for _, f := range fields {
				switch f {
				case "pre:":
					pre = true
				case "post:":
					pre = false
				default:
					if pre {
						mi.SoftPre = append(mi.SoftPre, ModuleName(f))
					}
				}
			}
		}
	}
	return mi
}

// ReadModInfo parses the .modinfo section of a module file: a plain .ko,
// or one compressed with xz, zstd or gzip (.ko.xz, .ko.zst, .ko.gz), read
// as ReadModule does.
func ReadModInfo(path string) (ModInfo, error) {
	b, err := ReadModule(path)
	if err != nil {
		return ModInfo{}, err
	}
	return modInfoOf(path, b)
}

// modInfoOf parses the .modinfo section of the module file b (decompressed).
func modInfoOf(path string, b []byte) (ModInfo, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return ModInfo{}, fmt.Errorf("module %s: not an ELF kernel module: %w", path, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return ModInfo{Name: ModuleName(path)}, nil
	}
	if s.Type == elf.SHT_NOBITS || s.Size > uint64(len(b)) {
		return ModInfo{}, fmt.Errorf("module %s: .modinfo section of %d bytes in a file of %d", path, s.Size, len(b))
	}
	d, err := s.Data()
	if err != nil {
		return ModInfo{}, fmt.Errorf("module %s: .modinfo: %w", path, err)
	}
	return ParseModInfo(path, d), nil
}

// ModuleIndex maps normalised module names to their files under a modules
// dir: plain .ko files and compressed ones (.ko.xz, .ko.zst, .ko.gz). Where
// a directory holds both forms of one module, the plain one is taken.
func ModuleIndex(modulesDir string) (map[string]string, error) {
	idx := map[string]string{}
	err := filepath.WalkDir(modulesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		c, ok := ModuleCompression(p)
		if !ok {
			return nil
		}
		n := ModuleName(p)
		if old, seen := idx[n]; seen && filepath.Dir(old) == filepath.Dir(p) {
			if oc, _ := ModuleCompression(old); oc == Uncompressed || c != Uncompressed {
				return nil
			}
		}
		idx[n] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing modules under %s: %w", modulesDir, err)
	}
	return idx, nil
}

// ModuleClosure returns the module names needed to load want: each module
// plus its hard dependencies, transitively, sorted. info looks a module up.
func ModuleClosure(want []string, info func(name string) (ModInfo, error)) ([]string, error) {
	seen := map[string]bool{}
	var visit func(n string, from string) error
	visit = func(n, from string) error {
		n = ModuleName(n)
		if seen[n] {
			return nil
		}
		mi, err := info(n)
		if err != nil {
			if from != "" {
				return fmt.Errorf("module %s (needed by %s): %w", n, from, err)
			}
			return err
		}
		seen[n] = true
		for _, d := range mi.Depends {
			if err := visit(d, n); err != nil {
				return err
			}
		}
		return nil
	}
	for _, w := range want {
		if err := visit(w, ""); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// InfoFunc looks modules up in an index built by ModuleIndex.
func InfoFunc(idx map[string]string) func(string) (ModInfo, error) {
	return func(n string) (ModInfo, error) {
		p, ok := idx[n]
		if !ok {
			return ModInfo{}, fmt.Errorf("module %s is not in the kernel package: %w", n, os.ErrNotExist)
		}
		return ReadModInfo(p)
	}
}

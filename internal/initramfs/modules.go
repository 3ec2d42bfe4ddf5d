package initramfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModuleSet says which kernel modules go into an image.
type ModuleSet struct {
	Dir      string   // the kernel's modules directory (/lib/modules/VERSION)
	Version  string   // its uname -r; empty: the base name of Dir
	Want     []string // modules that must be there
	Optional []string // modules added when the kernel has them as modules (else skipped: built in, or not in this kernel)
}

// AddModules puts the modules of ms and everything they depend on under
// /lib/modules/VERSION, with the kernel's modules.builtin and modules.order
// (so depmod -a in the image can write modules.dep). Compressed modules
// (.ko.xz, .ko.zst, .ko.gz) go in decompressed, as plain .ko files at the
// same place (their content held in the tree): BusyBox's insmod and
// modprobe load those whatever the kernel was configured to decompress. It
// returns the modules to load, in the order given (Want, then the Optional
// ones found), and the Optional ones skipped.
func AddModules(t Tree, ms ModuleSet) (load, skipped []string, err error) {
	fi, err := os.Stat(ms.Dir)
	if err != nil || !fi.IsDir() {
		return nil, nil, fmt.Errorf("kernel modules directory %s: not a directory (it is /lib/modules/VERSION of the kernel the image boots)", ms.Dir)
	}
	ver := ms.Version
	if ver == "" {
		ver = filepath.Base(filepath.Clean(ms.Dir))
	}
	idx, err := ModuleIndex(ms.Dir)
	if err != nil {
		return nil, nil, err
	}
	load = append(load, ms.Want...)
	for _, m := range ms.Optional {
		if _, ok := idx[ModuleName(m)]; ok {
			load = append(load, m)
		} else {
			skipped = append(skipped, m)
		}
	}
	// Compressed modules are decompressed once, for their .modinfo, and
	// kept for the image; plain ones are read again when it is written.
	decompressed := map[string][]byte{}
	info := func(n string) (ModInfo, error) {
		p, ok := idx[n]
		if c, _ := ModuleCompression(p); !ok || c == Uncompressed {
			return InfoFunc(idx)(n)
		}
		b, err := ReadModule(p)
		if err != nil {
			return ModInfo{}, err
		}
		decompressed[n] = b
		return modInfoOf(p, b)
	}
	need, err := ModuleClosure(load, info)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w (modules of kernel %s under %s; is it built in? see %s)", err, ver, ms.Dir, filepath.Join(ms.Dir, "modules.builtin"))
		}
		return nil, nil, err
	}
	base := "/lib/modules/" + ver
	for _, n := range need {
		rel, err := filepath.Rel(ms.Dir, idx[n])
		if err != nil {
			return nil, nil, err
		}
		c, _ := ModuleCompression(rel)
		dst := base + "/" + strings.TrimSuffix(filepath.ToSlash(rel), c.Suffix())
		if c == Uncompressed {
			t.File(dst, 0o644, idx[n])
		} else {
			t.Bytes(dst, 0o644, decompressed[n])
		}
	}
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		if p := filepath.Join(ms.Dir, f); fileExists(p) {
			t.File(base+"/"+f, 0o644, p)
		}
	}
	for i, m := range load {
		load[i] = strings.TrimSpace(m)
	}
	return load, skipped, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

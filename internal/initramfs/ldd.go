package initramfs

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// ParseLdd returns the absolute library paths in ldd output (the "=> /path"
// targets and bare absolute paths such as the dynamic loader), in order.
func ParseLdd(out string) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.Contains(line, "linux-vdso") || strings.Contains(line, "statically linked") {
			continue
		}
		if strings.Contains(line, "=> not found") {
			return nil, fmt.Errorf("ldd: %s (install the package that provides it)", line)
		}
		if _, rhs, ok := strings.Cut(line, "=>"); ok {
			line = strings.TrimSpace(rhs)
		}
		p := strings.Fields(line)
		if len(p) > 0 && filepath.IsAbs(p[0]) {
			libs = append(libs, p[0])
		}
	}
	return libs, nil
}

// SharedLibs runs ldd on a program and returns the libraries it loads.
func SharedLibs(prog string) ([]string, error) {
	out, err := exec.Command("ldd", prog).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w: %s", prog, err, out)
	}
	return ParseLdd(string(out))
}

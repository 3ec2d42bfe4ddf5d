//go:build linux

package tftp

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// systemMemory is the physical memory, or the memory.max of this process's
// cgroup (v2) when that is lower; 0 when neither can be read.
func systemMemory() uint64 {
	var si unix.Sysinfo_t
	var mem uint64
	if err := unix.Sysinfo(&si); err == nil {
		mem = uint64(si.Totalram) * uint64(si.Unit)
	}
	if lim := cgroupMemoryMax(); lim > 0 && (mem == 0 || lim < mem) {
		mem = lim
	}
	return mem
}

// cgroupMemoryMax reads memory.max of the process's cgroup v2; 0 when there
// is none, it says "max", or it cannot be read.
func cgroupMemoryMax() uint64 {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, ok := strings.CutPrefix(sc.Text(), "0::")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", filepath.Clean("/"+path), "memory.max"))
		if err != nil {
			return 0
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0
		}
		return v
	}
	return 0
}

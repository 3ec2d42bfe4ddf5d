//go:build linux

package tftp

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestSystemMaxTransfers checks the derivation on this machine's own
// limits, read here independently of the code under test.
func TestSystemMaxTransfers(t *testing.T) {
	n, nofile, mem := SystemMaxTransfers()
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Max != unix.RLIM_INFINITY && nofile != rl.Max {
		t.Fatalf("nofile %d, want the hard limit %d", nofile, rl.Max)
	}
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		t.Fatal(err)
	}
	if phys := uint64(si.Totalram) * uint64(si.Unit); mem == 0 || mem > phys {
		t.Fatalf("memory %d, want within the physical %d", mem, phys)
	}
	if n != MaxTransfersFor(nofile, mem) || n < MinMaxTransfers || n > MaxMaxTransfers {
		t.Fatalf("SystemMaxTransfers() = %d for nofile %d, memory %d", n, nofile, mem)
	}
	t.Logf("this machine: hard RLIMIT_NOFILE %d, memory %d MiB: %d transfers", nofile, mem>>20, n)
}

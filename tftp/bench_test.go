package tftp

import (
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	ptftp "github.com/pin/tftp/v3"
)

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTransfer fetches a boot file over loopback with pin/tftp's
// client at blksize 1468, as the storm's machines do: a 42 KiB file
// (pxelinux.0's size) and a 1 MiB one (the storm's initrd). Client and
// server run in this process, so the figures hold both; the client's share
// is the same before and after a server change. cpu-µs/block is the
// process's CPU time per data block.
func BenchmarkTransfer(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
	}{{"42KiB", 42430}, {"1MiB", 1 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			base, root := newRoot(b)
			writeRandom(b, filepath.Join(root, "f"), c.size)
			f := startServer(b, base, root, func(o *Options) { o.MaxPerClient = 64 }) // one client address, transfers back to back
			cl, err := ptftp.NewClient(f.addr.String())
			if err != nil {
				b.Fatal(err)
			}
			cl.SetBlockSize(1468)
			cl.RequestTSize(true)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				wt, err := cl.Receive("f", "octet")
				if err != nil {
					b.Fatal(err)
				}
				if n, err := wt.WriteTo(io.Discard); err != nil || n != int64(c.size) {
					b.Fatalf("received %d bytes, %v; want %d", n, err, c.size)
				}
			}
			blocks := float64(b.N) * float64(c.size/1468+1)
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/blocks, "cpu-µs/block")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/blocks, "ns/block")
		})
	}
}

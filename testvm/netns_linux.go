package testvm

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// rigSupported: Linux has network namespaces, bridges and taps.
func rigSupported() error { return nil }

// inNS runs f on an OS thread that has entered the rig's namespace.
func (n *Net) inNS(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := os.Open("/run/netns/" + n.NS)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", n.NS, err)
			return
		}
		defer fd.Close()
		if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.NS, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

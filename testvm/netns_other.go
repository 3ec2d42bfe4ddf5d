//go:build !linux

package testvm

import (
	"errors"
	"runtime"
)

// rigSupported: the rig is built from Linux network namespaces, bridges, tap
// devices and QEMU; elsewhere (the remote CLI on a laptop) it cannot run.
func rigSupported() error {
	return errors.New("netkick testvm needs Linux (network namespaces, bridges, tap devices); this netkick is built for " + runtime.GOOS + ": run the rig on a Linux machine")
}

// inNS is never reached: NewNet refuses first.
func (n *Net) inNS(f func() error) error { return rigSupported() }

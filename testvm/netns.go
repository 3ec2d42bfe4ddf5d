package testvm

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// ServerIP is netkick's address on the rig's bridge (TEST-NET-1, RFC 5737).
const ServerIP = "192.0.2.1"

// Net is the rig's network: a network namespace holding a bridge with the
// server's address and one tap per virtual machine. Nothing of it is visible
// outside the namespace; Close deletes it all.
type Net struct {
	NS     string
	Bridge string
}

func ipCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// NewNet creates namespace name with bridge br0 at ServerIP/24.
func NewNet(ctx context.Context, name string) (*Net, error) {
	if err := rigSupported(); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("the ip command is missing: install iproute2")
	}
	if err := ipCmd(ctx, "netns", "add", name); err != nil {
		return nil, fmt.Errorf("creating the rig's network namespace (needs root): %w", err)
	}
	n := &Net{NS: name, Bridge: "br0"}
	steps := [][]string{
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "link", "add", n.Bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0"},
		{"-n", name, "addr", "add", ServerIP + "/24", "dev", n.Bridge},
		{"-n", name, "link", "set", n.Bridge, "up"},
	}
	for _, s := range steps {
		if err := ipCmd(ctx, s...); err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

// AddTap creates a tap device on the bridge for one VM.
func (n *Net) AddTap(ctx context.Context, tap string) error {
	for _, s := range [][]string{
		{"-n", n.NS, "tuntap", "add", "dev", tap, "mode", "tap"},
		{"-n", n.NS, "link", "set", tap, "master", n.Bridge},
		{"-n", n.NS, "link", "set", tap, "up"},
	} {
		if err := ipCmd(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// Command runs a program inside the namespace.
func (n *Net) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.NS, name}, args...)...)
}

// inNS runs f on an OS thread that has entered the namespace; the thread is
// discarded afterwards, so no other goroutine ever runs inside it. Sockets
// made by f stay in the namespace.
// Listen opens a TCP listener inside the namespace.
func (n *Net) Listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.inNS(func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// DialContext dials from inside the namespace (for an http.Transport).
func (n *Net) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.inNS(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Close deletes the namespace with its bridge and taps.
func (n *Net) Close() error {
	return ipCmd(context.Background(), "netns", "del", n.NS)
}

// Package sdnotify tells systemd how a Type=notify service is doing (ready,
// reloading, stopping, a status line) by writing datagrams to the unix socket
// systemd names in $NOTIFY_SOCKET (sd_notify(3)). Outside systemd the socket
// is unset and every call does nothing.
package sdnotify

import (
	"fmt"
	"net"
	"strings"
)

// States a service reports (sd_notify(3)).
const (
	Ready     = "READY=1"
	Stopping  = "STOPPING=1"
	Reloading = "RELOADING=1"
)

// Notifier writes to one notification socket; the zero value (and nil) drop
// every message.
type Notifier struct {
	addr *net.UnixAddr
}

// New returns a Notifier for socket, the value of $NOTIFY_SOCKET: a path, or
// "@name" for an abstract socket. An empty socket gives a Notifier that
// drops every message (netkick run by hand).
func New(socket string) (*Notifier, error) {
	if socket == "" {
		return &Notifier{}, nil
	}
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return nil, fmt.Errorf("NOTIFY_SOCKET %q: want an absolute path or @abstract name (vsock notification sockets are not supported)", socket)
	}
	return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
}

// Enabled reports whether messages go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Notify sends one datagram of newline-separated assignments, e.g. Ready and
// Status("serving"). The socket is opened per message: systemd may be
// restarted between messages, and they are rare.
func (n *Notifier) Notify(assignments ...string) error {
	if !n.Enabled() {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: connect to %s: %w", n.addr.Name, err)
	}
	defer c.Close()
	msg := strings.Join(assignments, "\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sd_notify: send %q to %s: %w", msg, n.addr.Name, err)
	}
	return nil
}

// Status is the STATUS= line systemctl status shows.
func Status(s string) string {
	return "STATUS=" + strings.ReplaceAll(s, "\n", " ")
}

package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// listen opens a real unix datagram socket like systemd's notify socket.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	for _, name := range []string{"path", "abstract"} {
		t.Run(name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "notify")
			if name == "abstract" {
				sock = "@netkick-sdnotify-test-" + filepath.Base(filepath.Dir(sock))
			}
			c := listen(t, sock)
			n, err := New(sock)
			if err != nil {
				t.Fatal(err)
			}
			if !n.Enabled() {
				t.Fatal("a notifier with a socket must be enabled")
			}
			if err := n.Notify(Ready, Status("serving HTTP on :8080\nand TFTP")); err != nil {
				t.Fatal(err)
			}
			if got, want := recv(t, c), "READY=1\nSTATUS=serving HTTP on :8080 and TFTP"; got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			if err := n.Notify(Stopping); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, c); got != "STOPPING=1" {
				t.Fatalf("got %q, want STOPPING=1", got)
			}
		})
	}
}

func TestNotifyUnset(t *testing.T) {
	n, err := New("")
	if err != nil || n.Enabled() {
		t.Fatalf("New(\"\") = %+v, %v: want a disabled notifier", n, err)
	}
	if err := n.Notify(Ready); err != nil {
		t.Fatalf("a disabled notifier must drop messages: %v", err)
	}
	var none *Notifier
	if err := none.Notify(Ready); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyErrors(t *testing.T) {
	if _, err := New("relative/sock"); err == nil {
		t.Fatal("want an error for a relative socket path")
	}
	n, _ := New(filepath.Join(t.TempDir(), "gone"))
	if err := n.Notify(Ready); err == nil {
		t.Fatal("want an error when nobody listens")
	}
}

package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// notifySocket listens on a unix datagram socket in dir, as systemd's notify
// socket; next returns the next datagram, failing the test after 30 s with
// the server's log.
func notifySocket(t *testing.T, dir string) (path string, next func(log fmt.Stringer) string) {
	t.Helper()
	path = filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, func(log fmt.Stringer) string {
		t.Helper()
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\nserver log:\n%s", err, log)
		}
		return string(buf[:n])
	}
}

// syncBuffer collects a process's stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) add(line string) { s.Write([]byte(line + "\n")) }
func (s *syncBuffer) String() string  { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeNotify runs `netkick serve` the way systemd runs a Type=notify
// service: NOTIFY_SOCKET names a real unix datagram socket. READY=1 must come
// only once HTTP and TFTP answer, and STOPPING=1 as soon as SIGTERM arrives.
func TestServeNotify(t *testing.T) {
	bin := buildNetkick(t)
	dir := t.TempDir()
	sock, next := notifySocket(t, dir)
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0", "--tftp", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	recv := func() string { t.Helper(); return next(&stderr) }

	ready := recv()
	m := regexp.MustCompile(`^READY=1\nSTATUS=serving HTTP on (\S+), TFTP on (\S+)$`).FindStringSubmatch(ready)
	if m == nil {
		t.Fatalf("first notification %q: want READY=1 and a STATUS naming the HTTP and TFTP addresses", ready)
	}
	// Both listeners answer the moment READY arrives.
	resp, err := http.Get("http://" + m[1] + "/healthz")
	if err != nil {
		t.Fatalf("HTTP after READY: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz after READY: %s", resp.Status)
	}
	taddr, err := net.ResolveUDPAddr("udp4", m[2])
	if err != nil {
		t.Fatal(err)
	}
	// The reply comes from a per-transfer port: an unconnected socket sees it.
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.WriteToUDP([]byte("\x00\x01no-such-file\x00octet\x00"), taddr)
	u.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 600)
	if n, _, err := u.ReadFromUDP(buf); err != nil || n < 4 || binary.BigEndian.Uint16(buf) != 5 {
		t.Fatalf("TFTP after READY: want an ERROR packet for a missing file, got %q, %v", buf[:max(n, 0)], err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := recv(); got != "STOPPING=1\nSTATUS=stopping" {
		t.Fatalf("after SIGTERM: got %q, want STOPPING=1", got)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("netkick serve after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("netkick serve did not exit within 20 s of SIGTERM")
	}
}

package main

import (
	"encoding/binary"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeNotify runs `netkick serve` the way systemd runs a Type=notify
// service: NOTIFY_SOCKET names a real unix datagram socket. READY=1 must come
// only once HTTP and TFTP answer, and STOPPING=1 as soon as SIGTERM arrives.
func TestServeNotify(t *testing.T) {
	bin := buildNetkick(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0", "--tftp", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	var stderr strings.Builder
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
	recv := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\nstderr:\n%s", err, stderr.String())
		}
		return string(buf[:n])
	}

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

//go:build linux

package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netkick/netkick/internal/netnstest"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
)

const (
	serverIP  = "192.0.2.1"
	victimIP  = "192.0.2.10"
	victimMAC = "52:54:00:00:a0:01"
	attackIP  = "192.0.2.66"
	attackMAC = "02:00:00:00:66:66"
	leasedMAC = "52:54:00:00:b0:01"
	leasedIP  = "192.0.2.20"
	tokenA    = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
	tokenB    = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
	pxeCfg    = "pxelinux.cfg/01-52-54-00-00-a0-01"
	// served is the bound within which a well-behaved client must be answered.
	served = 5 * time.Second
)

var base = "http://" + serverIP + ":8080"

// rig is one netkick serve in namespace srv, on bridge br0, with the
// victim machine (a01's MAC and reserved address) and an attacker on the
// same segment, each in its own namespace.
type rig struct {
	srv, vic, atk string
	data, db, bin string
	log           string
	pxelinux      []byte
	attacker      *http.Client
}

func newRig(t *testing.T) *rig {
	netnstest.Require(t)
	testenv.RequireProgram(t, "curl", "atftp", "tftp")
	r := &rig{srv: netnstest.New(t, "hsrv"), vic: netnstest.New(t, "hvic"), atk: netnstest.New(t, "hatk")}
	sh := func(args ...string) { t.Helper(); netnstest.Sh(t, args...) }
	sh("ip", "-n", r.srv, "link", "add", "br0", "type", "bridge")
	sh("ip", "-n", r.srv, "addr", "add", serverIP+"/24", "dev", "br0")
	sh("ip", "-n", r.srv, "link", "set", "br0", "up")
	for _, c := range []struct{ ns, port, ip, mac string }{{r.vic, "p-vic", victimIP, victimMAC}, {r.atk, "p-atk", attackIP, attackMAC}} {
		sh("ip", "-n", r.srv, "link", "add", c.port, "type", "veth", "peer", "name", "eth0", "netns", c.ns)
		sh("ip", "-n", r.srv, "link", "set", c.port, "master", "br0", "up")
		sh("ip", "-n", c.ns, "link", "set", "eth0", "address", c.mac)
		sh("ip", "-n", c.ns, "addr", "add", c.ip+"/24", "dev", "eth0")
		sh("ip", "-n", c.ns, "link", "set", "eth0", "up")
	}

	dir := t.TempDir()
	r.bin = filepath.Join(dir, "netkick")
	if out, err := exec.Command("go", "build", "-o", r.bin, "../../cmd/netkick").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/netkick: %v\n%s", err, out)
	}
	r.data = filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(r.data, "boot", "pxelinux.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(r.data, 0o755) // open to others: serve must warn
	r.pxelinux = bytes.Repeat([]byte("pxelinux-first-stage."), 3000)
	if err := os.WriteFile(filepath.Join(r.data, "boot", "pxelinux.0"), r.pxelinux, 0o644); err != nil {
		t.Fatal(err)
	}
	r.db = filepath.Join(r.data, "inventory.db")
	st, err := inventory.OpenSQLite(r.db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.PutProfile(ctx, &inventory.Profile{Name: "centos-7", OS: "centos", Version: "7", Kernel: "centos-7/vmlinuz", Initrd: "centos-7/initrd.img"}))
	must(st.PutHost(ctx, &inventory.Host{MACs: []string{victimMAC}, Hostname: "a01", IP: victimIP, Profile: "centos-7",
		State: inventory.StateBuild, BuildToken: tokenA, TokenExpires: exp}))
	must(st.PutHost(ctx, &inventory.Host{MACs: []string{leasedMAC}, Hostname: "b01", Profile: "centos-7",
		State: inventory.StateBuild, BuildToken: tokenB, TokenExpires: exp}))
	must(st.SaveLeases(ctx, []inventory.Lease{{IP: leasedIP, MAC: leasedMAC, State: inventory.LeaseBound, Expires: exp}}))
	must(st.AddEvent(ctx, inventory.Event{HostID: victimMAC, Kind: "build", Detail: "build mode on"}))
	st.Close()

	cfg := filepath.Join(dir, "netkick.yaml")
	// The global cap is left to its default, derived from the server's
	// hard RLIMIT_NOFILE.
	must(os.WriteFile(cfg, []byte(`http_limits:
  read_header_timeout: 2s
  idle_timeout: 2m
`), 0o644))
	r.log = filepath.Join(dir, "serve.log")
	logf, err := os.Create(r.log)
	must(err)
	// umask 000: the store's files must still come out 0600.
	cmd := netnstest.Cmd(r.srv, "sh", "-c", `umask 000; exec "$0" "$@"`, r.bin, "serve", "--config", cfg, "--data", r.data,
		"--http", serverIP+":8080", "--tftp", serverIP+":69", "--log-level", "info")
	cmd.Stdout, cmd.Stderr = logf, logf
	must(cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(r.log)
			t.Logf("serve log:\n%s", tail(string(b), 4000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, err := r.curl(r.vic, base+"/healthz"); err == nil && strings.TrimSpace(out) == "ok" {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(r.log)
			t.Fatalf("netkick serve did not answer /healthz within 30s:\n%s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.attacker = &http.Client{Timeout: served, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialIn(r.atk, nil)}}
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// dialIn dials from namespace ns (from local, when set).
func dialIn(ns string, local net.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := netnstest.In(ns, func() (err error) {
			c, err = (&net.Dialer{LocalAddr: local, Timeout: served}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// curl fetches url from namespace ns with curl, failing on HTTP errors.
func (r *rig) curl(ns, url string, args ...string) (string, error) {
	a := append([]string{"curl", "-sS", "--fail-with-body", "-m", strconv.Itoa(int(served / time.Second))}, args...)
	out, err := netnstest.Cmd(ns, append(a, url)...).CombinedOutput()
	return string(out), err
}

// timed runs fn and fails the test when it errs or takes longer than served.
func timed(t *testing.T, what string, fn func() error) {
	t.Helper()
	start := time.Now()
	err := fn()
	d := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v (after %s)", what, err, d.Round(time.Millisecond))
	}
	if d > served {
		t.Fatalf("%s took %s, over the %s bound", what, d.Round(time.Millisecond), served)
	}
	t.Logf("%s: served in %s", what, d.Round(time.Millisecond))
}

// get fetches url as the attacker (a Go client in its namespace).
func (r *rig) get(t *testing.T, method, url string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	resp, err := r.attacker.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *rig) events(t *testing.T, host string) []inventory.Event {
	t.Helper()
	st, err := inventory.OpenSQLite(r.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := st.Events(context.Background(), host, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (r *rig) host(t *testing.T, key string) *inventory.Host {
	t.Helper()
	st, err := inventory.OpenSQLite(r.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.GetHost(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// metric reads one sample from /metrics (as the victim).
func (r *rig) metric(t *testing.T, name string) int64 {
	t.Helper()
	out, err := r.curl(r.vic, base+"/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v %s", err, out)
	}
	// The exposition format writes large values with an exponent (1.048576e+06).
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("/metrics: %s %q: %v", name, m[1], err)
	}
	return int64(f)
}

// fdRoom raises this test process's file-descriptor limit as far as it
// may (the server, another process, keeps its own) and says how many
// connections it can hold with a margin.
func fdRoom(t *testing.T) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > rl.Max {
			raised := syscall.Rlimit{Cur: min(n, 65536), Max: min(n, 65536)}
			if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
				rl = raised
			}
		}
	}
	rl.Cur = rl.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	return int(rl.Cur) - 1000
}

func count(ev []inventory.Event, kind string) int {
	n := 0
	for _, e := range ev {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// TestAttacks runs every attack against one server, in an order where each
// leaves the host in the state the next one needs.
func TestAttacks(t *testing.T) {
	r := newRig(t)

	t.Run("token harvest over HTTP and TFTP", func(t *testing.T) {
		for _, u := range []string{"/boot.ipxe?mac=" + victimMAC, "/boot.ipxe?mac=52-54-00-00-A0-01", "/boot/" + pxeCfg, "/boot.ipxe?mac=" + leasedMAC} {
			code, body := r.get(t, "GET", base+u, nil)
			if code != 200 || strings.Contains(body, tokenA) || strings.Contains(body, tokenB) || strings.Contains(body, "token=") {
				t.Fatalf("attacker GET %s: %d, a token in:\n%s", u, code, body)
			}
		}
		out := filepath.Join(t.TempDir(), "cfg")
		if b, err := netnstest.Cmd(r.atk, "tftp", "-m", "binary", serverIP, "-c", "get", pxeCfg, out).CombinedOutput(); err != nil {
			t.Fatalf("attacker tftp-hpa get: %v %s", err, b)
		}
		if b, _ := os.ReadFile(out); len(b) == 0 || bytes.Contains(b, []byte(tokenA)) {
			t.Fatalf("attacker's pxelinux config over TFTP: %q", b)
		}
		// The machine itself gets its token, over both.
		timed(t, "victim curl boot.ipxe", func() error {
			body, err := r.curl(r.vic, base+"/boot.ipxe?mac="+victimMAC)
			if err == nil && !strings.Contains(body, "token="+tokenA) {
				err = fmt.Errorf("no token in the machine's own script:\n%s", body)
			}
			return err
		})
		timed(t, "victim atftp pxelinux config", func() error {
			vout := filepath.Join(t.TempDir(), "cfg")
			if b, err := netnstest.Cmd(r.vic, "atftp", "-g", "-r", pxeCfg, "-l", vout, serverIP).CombinedOutput(); err != nil {
				return fmt.Errorf("%v %s", err, b)
			}
			if b, _ := os.ReadFile(vout); !bytes.Contains(b, []byte("token="+tokenA)) {
				return fmt.Errorf("no token in the machine's own config: %q", b)
			}
			return nil
		})
		if n := count(r.events(t, victimMAC), inventory.KindWithheld); n == 0 {
			t.Fatal("no token-withheld event on a01's timeline")
		}
		if n := r.metric(t, "netkick_tftp_token_withheld_total"); n < 1 {
			t.Fatalf("netkick_tftp_token_withheld_total = %d", n)
		}
	})

	t.Run("kickstart and callbacks from the wrong machine", func(t *testing.T) {
		// The token leaked anyway (sniffed, a log): from another address it is worth nothing.
		for _, c := range []struct{ method, path string }{
			{"GET", "/ks/" + victimMAC + "?token=" + tokenA},
			{"POST", "/api/v1/hosts/" + victimMAC + "/built?token=" + tokenA},
			{"POST", "/api/v1/hosts/" + victimMAC + "/failed?token=" + tokenA},
		} {
			code, body := r.get(t, c.method, base+c.path, strings.NewReader("x"))
			if code == 200 || strings.Contains(body, "%post") {
				t.Fatalf("attacker %s %s: %d %s", c.method, c.path, code, body)
			}
		}
		if h := r.host(t, victimMAC); h.State != inventory.StateBuild || h.BuildToken != tokenA {
			t.Fatalf("after the attacker's callbacks a01 is %s (token kept: %v)", h.State, h.BuildToken == tokenA)
		}
		if n := count(r.events(t, victimMAC), inventory.KindRefused); n == 0 {
			t.Fatal("no refused event on a01's timeline")
		}
	})

	t.Run("kickstart from the machine's address with another MAC", func(t *testing.T) {
		// Before a01 boots: its port is down, the attacker takes its address.
		netnstest.Sh(t, "ip", "-n", r.vic, "link", "set", "eth0", "down")
		netnstest.Sh(t, "ip", "-n", r.srv, "neigh", "flush", "dev", "br0")
		netnstest.Sh(t, "ip", "-n", r.atk, "addr", "add", victimIP+"/24", "dev", "eth0")
		restore := func() {
			exec.Command("ip", "-n", r.atk, "addr", "del", victimIP+"/24", "dev", "eth0").Run()
			exec.Command("ip", "-n", r.atk, "link", "set", "eth0", "address", attackMAC).Run()
			exec.Command("ip", "-n", r.srv, "neigh", "flush", "dev", "br0").Run()
			exec.Command("ip", "-n", r.vic, "link", "set", "eth0", "up").Run()
		}
		t.Cleanup(restore)
		spoof := &http.Client{Timeout: served, Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: dialIn(r.atk, &net.TCPAddr{IP: net.ParseIP(victimIP)})}}
		do := func() (int, string) {
			resp, err := spoof.Get(base + "/ks/" + victimMAC + "?token=" + tokenA)
			if err != nil {
				t.Fatalf("spoofed-source GET /ks: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := do(); code == 200 {
			t.Fatalf("the attacker holding a01's address with its own MAC got the kickstart:\n%s", tail(body, 300))
		}
		// What remains (docs/security.md): spoofing the MAC as well, before
		// the real machine is up, passes every check the network can make.
		netnstest.Sh(t, "ip", "-n", r.atk, "link", "set", "eth0", "address", victimMAC)
		netnstest.Sh(t, "ip", "-n", r.srv, "neigh", "flush", "dev", "br0")
		if code, _ := do(); code != 200 {
			t.Fatalf("with the machine's MAC and address the request is indistinguishable from the machine; got %d (did the binding change? update docs/security.md)", code)
		}
		restore()
		timed(t, "victim curl /ks after the spoofing", func() error {
			_, err := r.curl(r.vic, base+"/ks/"+victimMAC+"?token="+tokenA)
			return err
		})
	})

	t.Run("TFTP RRQ flood from one address", func(t *testing.T) {
		var pc net.PacketConn
		if err := netnstest.In(r.atk, func() (err error) { pc, err = net.ListenPacket("udp4", attackIP+":0"); return }); err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		before := r.metric(t, `netkick_tftp_transfers_total{result="over_share"}`)
		dst := &net.UDPAddr{IP: net.ParseIP(serverIP), Port: 69}
		rrq := append(binary.BigEndian.AppendUint16(nil, 1), "pxelinux.0\x00octet\x00"...)
		// 1,100 RRQs over about 2.2 s, as the attack that took every slot did.
		flooded := make(chan time.Duration)
		go func() {
			start := time.Now()
			for range 1100 {
				pc.WriteTo(rrq, dst)
				time.Sleep(2 * time.Millisecond)
			}
			flooded <- time.Since(start)
		}()
		time.Sleep(300 * time.Millisecond)
		timed(t, "victim atftp pxelinux.0 during the flood", func() error {
			out := filepath.Join(t.TempDir(), "pxelinux.0")
			if b, err := netnstest.Cmd(r.vic, "atftp", "-g", "-r", "pxelinux.0", "-l", out, serverIP).CombinedOutput(); err != nil {
				return fmt.Errorf("%v %s", err, b)
			}
			if b, _ := os.ReadFile(out); !bytes.Equal(b, r.pxelinux) {
				return fmt.Errorf("pxelinux.0: %d bytes, want %d", len(b), len(r.pxelinux))
			}
			return nil
		})
		t.Logf("1100 RRQs sent in %s, never acknowledged", (<-flooded).Round(time.Millisecond))
		var n int64
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if n = r.metric(t, `netkick_tftp_transfers_total{result="over_share"}`) - before; n >= 1000 {
				break
			}
		}
		active := r.metric(t, "netkick_tftp_active_transfers")
		t.Logf("%d of 1100 RRQs refused over the share; %d transfers running", n, active)
		if n < 1000 || active > 4 {
			t.Fatalf("%d RRQs refused over the share (want at least 1000 of 1100), %d transfers running (want at most the share, 4)", n, active)
		}
	})

	t.Run("20000 idle connections from one address", func(t *testing.T) {
		n := min(20000, fdRoom(t))
		var conns []net.Conn
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		start := time.Now()
		err := netnstest.In(r.atk, func() error {
			d := net.Dialer{Timeout: time.Second}
			for range n {
				c, err := d.Dial("tcp", serverIP+":8080")
				if err != nil {
					continue // refused or timed out: the attack's problem
				}
				conns = append(conns, c)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d connections opened by the attacker in %s", len(conns), time.Since(start).Round(time.Millisecond))
		timed(t, "victim /healthz under the idle flood", func() error { _, err := r.curl(r.vic, base+"/healthz"); return err })
		timed(t, "victim /ks under the idle flood", func() error {
			_, err := r.curl(r.vic, base+"/ks/"+victimMAC+"?token="+tokenA)
			return err
		})
		if open := r.metric(t, `netkick_http_connections{state="open"}`); open > 40 {
			t.Fatalf("%d HTTP connections open; one address may hold 32", open)
		}
	})

	t.Run("idle connections from many addresses at the global cap", func(t *testing.T) {
		// As many addresses as it takes to pass the cap 32 connections each,
		// from 198.51.100.0/22 on the attacker's port (the server reaches
		// them through the attacker).
		max := r.metric(t, "netkick_http_connections_max")
		want := min(int(max)+2000, fdRoom(t))
		var addrs []string
		var batch strings.Builder
		for i := 0; len(addrs)*32 < want; i++ {
			a := fmt.Sprintf("198.51.%d.%d", 100+i/250, 1+i%250)
			fmt.Fprintf(&batch, "addr add %s/32 dev eth0\n", a)
			addrs = append(addrs, a)
		}
		batchFile := filepath.Join(t.TempDir(), "addrs")
		if err := os.WriteFile(batchFile, []byte(batch.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		netnstest.Sh(t, "ip", "-n", r.atk, "-batch", batchFile)
		netnstest.Sh(t, "ip", "-n", r.srv, "route", "add", "198.51.100.0/22", "via", attackIP)
		netnstest.Sh(t, "ip", "-n", r.atk, "route", "add", serverIP+"/32", "dev", "eth0")
		var conns []net.Conn
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		evicted := r.metric(t, "netkick_http_connections_evicted_total")
		err := netnstest.In(r.atk, func() error {
			for _, a := range addrs {
				d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(a)}}
				for range 32 {
					c, err := d.Dial("tcp", serverIP+":8080")
					if err != nil {
						continue
					}
					conns = append(conns, c)
					// One request, then idle on the kept-alive connection: it
					// waits under idle_timeout rather than read_header_timeout,
					// so the flood holds its connections however long opening
					// 19,000 of them takes on a loaded machine.
					c.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err == nil {
						if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}
					c.SetDeadline(time.Time{})
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d connections from %d addresses against the cap of %d (from the server's RLIMIT_NOFILE)", len(conns), len(addrs), max)
		for range 3 {
			timed(t, "victim /healthz at the global cap", func() error { _, err := r.curl(r.vic, base+"/healthz"); return err })
			timed(t, "victim /ks at the global cap", func() error {
				_, err := r.curl(r.vic, base+"/ks/"+victimMAC+"?token="+tokenA)
				return err
			})
		}
		if open := r.metric(t, `netkick_http_connections{state="open"}`); open > max {
			t.Fatalf("%d connections open over the cap of %d", open, max)
		}
		if r.metric(t, "netkick_http_connections_evicted_total") == evicted {
			t.Fatal("no waiting connection was evicted at the cap")
		}
	})

	t.Run("slow headers", func(t *testing.T) {
		var conns []net.Conn
		if err := netnstest.In(r.atk, func() error {
			for range 32 {
				c, err := net.DialTimeout("tcp", serverIP+":8080", time.Second)
				if err != nil {
					return err
				}
				conns = append(conns, c)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var closed atomic.Int32
		var wg sync.WaitGroup
		start := time.Now()
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
				for time.Since(start) < 8*time.Second {
					if _, err := c.Write([]byte("X-Slow: 1\r\n")); err != nil {
						closed.Add(1)
						return
					}
					c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					if _, err := c.Read(make([]byte, 1)); err != nil && !os.IsTimeout(err) {
						closed.Add(1)
						return
					}
				}
			}()
		}
		timed(t, "victim /ks during slow headers", func() error {
			_, err := r.curl(r.vic, base+"/ks/"+victimMAC+"?token="+tokenA)
			return err
		})
		wg.Wait()
		if n := closed.Load(); n != 32 {
			t.Fatalf("%d of 32 slow-header connections were cut off within 8 s (read_header_timeout 2s)", n)
		}
	})

	t.Run("timeline flood", func(t *testing.T) {
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < 600; i += 8 {
					req, _ := http.NewRequest("GET", base+"/boot.ipxe?mac="+victimMAC, nil)
					if resp, err := r.attacker.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			}()
		}
		wg.Wait()
		ev := r.events(t, victimMAC)
		if count(ev, "build") != 1 {
			t.Fatalf("a01's build event is gone after 600 fetches: %d events", len(ev))
		}
		if n := count(ev, inventory.KindIPXE); n > 3 {
			t.Fatalf("%d boot.ipxe events from 600 fetches; want them coalesced per minute", n)
		}
	})

	t.Run("control bytes in a failed report", func(t *testing.T) {
		evil := "parted: no space left\n\x1b]0;pwned\x07\x1b[2J\x00\u009b31m\rdone\n"
		file := filepath.Join(t.TempDir(), "report")
		if err := os.WriteFile(file, []byte(evil), 0o644); err != nil {
			t.Fatal(err)
		}
		timed(t, "victim failed report", func() error {
			_, err := r.curl(r.vic, base+"/api/v1/hosts/"+victimMAC+"/failed?token="+tokenA, "--data-binary", "@"+file)
			return err
		})
		out, err := exec.Command(r.bin, "host", "show", "a01", "--data", r.data).CombinedOutput()
		if err != nil {
			t.Fatalf("netkick host show: %v\n%s", err, out)
		}
		for _, b := range []string{"\x1b", "\x07", "\x00", "\r", "\u009b"} {
			if bytes.Contains(out, []byte(b)) {
				t.Fatalf("netkick host show printed a raw %q:\n%q", b, out)
			}
		}
		if !bytes.Contains(out, []byte(`\x1b]0;pwned\x07`)) || !bytes.Contains(out, []byte("parted: no space left")) {
			t.Fatalf("the report is not shown escaped:\n%s", out)
		}
		tok, err := os.ReadFile(filepath.Join(r.data, "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		api, err := r.curl(r.vic, base+"/api/v1/hosts/"+victimMAC+"/events", "-H", "Authorization: Bearer "+strings.TrimSpace(string(tok)))
		if err != nil || strings.Contains(api, `\u001b`) || strings.Contains(api, "\u009b") || !strings.Contains(api, `\\x1b]0;pwned`) {
			t.Fatalf("API events: %v\n%s", err, api)
		}
	})

	t.Run("store file modes", func(t *testing.T) {
		for _, f := range []string{r.db, r.db + "-wal", r.db + "-shm"} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s is %04o under umask 000; want 0600", filepath.Base(f), fi.Mode().Perm())
			}
		}
		if b, _ := os.ReadFile(r.log); !bytes.Contains(b, []byte("data directory is open to other users")) {
			t.Fatal("no warning at start about the 0755 data directory")
		}
	})
}

package tftp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/internal/testenv"
	"github.com/netkick/netkick/inventory"
	ptftp "github.com/pin/tftp/v3"
)

const helperEnv = "NETKICK_TFTP_HELPER_ROOT"

// TestMain lets the test binary double as a stand-alone TFTP server process,
// so a test can measure the server's memory apart from its clients.
func TestMain(m *testing.M) {
	if root := os.Getenv(helperEnv); root != "" {
		if err := runHelper(root); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper serves root on a loopback port, prints "ADDR host:port", serves
// until stdin closes, then prints the metrics as JSON.
func runHelper(root string) error {
	st, err := inventory.OpenSQLite(filepath.Join(filepath.Dir(root), "helper.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	tree, err := bootfs.New(bootfs.Options{Dir: root, Lookup: st})
	if err != nil {
		return err
	}
	// The storm's 500 machines all send from 127.0.0.1 here; on a real
	// network each has its own address and its own share.
	s, err := New(Options{Tree: tree, Events: st, MaxPerClient: FallbackMaxTransfers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	conn, err := Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("ADDR %s\n", conn.LocalAddr())
	go s.Serve(conn)
	io.Copy(io.Discard, os.Stdin)
	s.Shutdown()
	return json.NewEncoder(os.Stdout).Encode(s.Metrics().Snapshot())
}

// procKB reads a "VmRSS:" style line (in kB) from /proc/PID/status.
func procKB(pid int, key string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return -1
}

// TestBootStorm: 500 clients, each on its own sockets, fetch pxelinux.0 and
// then ldlinux.c32 (Debian's files) at the same moment, as a rack powering on
// would. Every transfer must complete with the right checksum; the server
// process's peak resident memory is measured and bounded.
func TestBootStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("boot storm skipped in -short mode")
	}
	const clients = 500
	srcs := map[string]string{
		"pxelinux.0":  "/usr/lib/PXELINUX/pxelinux.0",
		"ldlinux.c32": "/usr/lib/syslinux/modules/bios/ldlinux.c32",
	}
	_, root := newRoot(t)
	want := map[string][]byte{}
	for name, src := range srcs {
		testenv.RequireFile(t, src)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = b
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+root)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("helper server did not start: %q %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	pid := cmd.Process.Pid
	idleRSS := procKB(pid, "VmRSS")

	var peakSampled atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if v := procKB(pid, "VmRSS"); v > peakSampled.Load() {
				peakSampled.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	var wg sync.WaitGroup
	var failures atomic.Int64
	var firstErr sync.Once
	var errText string
	start := make(chan struct{})
	began := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for _, name := range []string{"pxelinux.0", "ldlinux.c32"} {
				if err := fetch(addr, name, want[name]); err != nil {
					failures.Add(1)
					firstErr.Do(func() { errText = err.Error() })
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	close(stop)
	<-sampled
	hwm := procKB(pid, "VmHWM")
	stdin.Close()
	var m Snapshot
	if err := json.NewDecoder(out).Decode(&m); err != nil {
		t.Fatalf("reading helper metrics: %v", err)
	}
	t.Logf("%d clients x 2 files in %s; server RSS idle %d KiB, peak (VmHWM) %d KiB, sampled peak %d KiB; metrics %+v",
		clients, elapsed.Round(time.Millisecond), idleRSS, hwm, peakSampled.Load(), m)
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d transfers failed; first: %s", n, 2*clients, errText)
	}
	if m.Served != 2*clients || m.Failed != 0 || m.Busy != 0 {
		t.Fatalf("server metrics %+v: want %d served, none failed or busy", m, 2*clients)
	}
	// Bounded: well under what a goroutine-and-buffer leak per packet would take.
	if hwm > 200*1024 {
		t.Fatalf("server peak resident memory %d KiB exceeds 200 MiB", hwm)
	}
}

// fetch downloads name with blksize 1468 and tsize, and checks size and content.
func fetch(addr, name string, want []byte) error {
	c, err := ptftp.NewClient(addr)
	if err != nil {
		return err
	}
	c.SetBlockSize(1468)
	c.RequestTSize(true)
	c.SetTimeout(5 * time.Second)
	c.SetRetries(8)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if size, ok := wt.(ptftp.IncomingTransfer).Size(); !ok || size != int64(len(want)) {
		return fmt.Errorf("%s: tsize %d, %v; want %d", name, size, ok, len(want))
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		return fmt.Errorf("%s: content differs (%d bytes, want %d)", name, b.Len(), len(want))
	}
	return nil
}

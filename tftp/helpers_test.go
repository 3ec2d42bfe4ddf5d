package tftp

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/inventory"
)

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// fixture is a boot root with a store and a running server on loopback.
type fixture struct {
	base, root string
	store      *inventory.SQLite
	srv        *Server
	addr       *net.UDPAddr
}

func newRoot(t testing.TB) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "boot")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return base, root
}

func startServer(t testing.TB, base, root string, mod func(*Options)) *fixture {
	t.Helper()
	st, err := inventory.OpenSQLite(filepath.Join(base, "inv.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tree, err := bootfs.New(bootfs.Options{Dir: root, Lookup: st, Leases: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	o := Options{Tree: tree, Events: st, Leases: st, Timeline: st, HTTPAddr: ":8080", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Serve(conn); close(done) }()
	t.Cleanup(func() { s.Shutdown(); <-done })
	return &fixture{base: base, root: root, store: st, srv: s, addr: conn.LocalAddr().(*net.UDPAddr)}
}

// writeRandom writes n random bytes to path and returns their SHA-256.
func writeRandom(t testing.TB, path string, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return sum(b)
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func sumFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum(b)
}

// rrq builds a read request: name, mode, then option name/value pairs.
func rrq(op uint16, name, mode string, opts ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, op)
	for _, s := range append([]string{name, mode}, opts...) {
		b = append(append(b, s...), 0)
	}
	return b
}

// rawResult is what a hand-driven transfer saw.
type rawResult struct {
	data      []byte
	oack      map[string]string
	errCode   int
	errMsg    string
	dataPkts  int
	firstData int // payload length of the first DATA packet
}

// rawFetch drives one read transfer packet by packet, as firmware does.
// It returns when the last block arrived or the server sent an ERROR.
func rawFetch(t testing.TB, server *net.UDPAddr, req []byte) rawResult {
	t.Helper()
	return rawFetchFrom(t, "127.0.0.1", server, req)
}

// rawFetchFrom is rawFetch from the loopback address src (any of 127/8).
func rawFetchFrom(t testing.TB, src string, server *net.UDPAddr, req []byte) rawResult {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteToUDP(req, server); err != nil {
		t.Fatal(err)
	}
	res := rawResult{firstData: -1}
	blksize := 512
	want := uint16(1)
	buf := make([]byte, 70000)
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("waiting for the server: %v", err)
		}
		p := buf[:n]
		ack := func(block uint16) {
			a := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, opACK), block)
			c.WriteToUDP(a, from)
		}
		switch binary.BigEndian.Uint16(p) {
		case opOACK:
			res.oack = map[string]string{}
			f := bytes.Split(p[2:], []byte{0})
			for i := 0; i+1 < len(f); i += 2 {
				res.oack[string(f[i])] = string(f[i+1])
			}
			if v, ok := res.oack["blksize"]; ok {
				blksize, _ = strconv.Atoi(v)
			}
			ack(0)
		case opDATA:
			blk := binary.BigEndian.Uint16(p[2:])
			payload := p[4:]
			if res.firstData < 0 {
				res.firstData = len(payload)
			}
			if blk == want {
				res.data = append(res.data, payload...)
				res.dataPkts++
				want++
			}
			ack(blk)
			if blk == want-1 && len(payload) < blksize {
				return res
			}
		case opERROR:
			res.errCode = int(binary.BigEndian.Uint16(p[2:]))
			res.errMsg = string(bytes.TrimRight(p[4:], "\x00"))
			return res
		default:
			t.Fatalf("unexpected packet %x", p)
		}
	}
}

var errNoReply = errors.New("no reply")

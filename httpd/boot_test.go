package httpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netkick/netkick/boot/bootfs"
	"github.com/netkick/netkick/inventory"
	"github.com/netkick/netkick/kickstart"
)

// newBootServer serves a boot root over a real loopback listener, with a
// secret file next to the root and symlinks that try to reach it.
func newBootServer(t *testing.T) (url string, st inventory.Store, content []byte, secret []byte) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "boot")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "centos-5.3"), 0o755))
	content = make([]byte, 3<<20+17)
	rand.Read(content)
	must(os.WriteFile(filepath.Join(root, "centos-5.3", "initrd.img"), content, 0o644))
	secret = []byte("SECRET-OUTSIDE-THE-BOOT-ROOT")
	must(os.WriteFile(filepath.Join(base, "secret"), secret, 0o644))
	must(os.Symlink("../secret", filepath.Join(root, "link-rel")))
	must(os.Symlink("..", filepath.Join(root, "link-up")))
	sq, err := inventory.OpenSQLite(filepath.Join(base, "inventory.db"))
	must(err)
	t.Cleanup(func() { sq.Close() })
	ctx := context.Background()
	must(sq.PutProfile(ctx, &inventory.Profile{Name: "centos-5.3", OS: "centos", Version: "5.3", Kernel: "centos-5.3/vmlinuz", Initrd: "centos-5.3/initrd.img"}))
	must(sq.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:4e:4b:01"}, Hostname: "a01", Profile: "centos-5.3", State: inventory.StateBuild}))
	must(sq.PutHost(ctx, &inventory.Host{MACs: []string{"52:54:00:4e:4b:02"}, Hostname: "a02", Profile: "centos-5.3", State: inventory.StateInstalled}))
	tree, err := bootfs.New(bootfs.Options{Dir: root, Lookup: sq, Leases: sq})
	must(err)
	t.Cleanup(func() { tree.Close() })
	r, err := kickstart.New(kickstart.Options{})
	must(err)
	s, err := New(Options{Store: sq, Renderer: r, AdminToken: testToken, Boot: tree})
	must(err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, sq, content, secret
}

func TestBootFiles(t *testing.T) {
	url, _, content, _ := newBootServer(t)
	get := func(t *testing.T, path string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	t.Run("whole file with Content-Length", func(t *testing.T) {
		res, b := get(t, "/boot/centos-5.3/initrd.img", nil)
		if res.StatusCode != 200 || !bytes.Equal(b, content) || res.ContentLength != int64(len(content)) {
			t.Fatalf("status %d, %d bytes, Content-Length %d; want 200, %d", res.StatusCode, len(b), res.ContentLength, len(content))
		}
	})
	t.Run("range", func(t *testing.T) {
		res, b := get(t, "/boot/centos-5.3/initrd.img", map[string]string{"Range": "bytes=1000-1999"})
		if res.StatusCode != 206 || !bytes.Equal(b, content[1000:2000]) || res.ContentLength != 1000 ||
			res.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-1999/%d", len(content)) {
			t.Fatalf("status %d, %d bytes, Content-Range %q", res.StatusCode, len(b), res.Header.Get("Content-Range"))
		}
	})
	t.Run("suffix range", func(t *testing.T) {
		res, b := get(t, "/boot/centos-5.3/initrd.img", map[string]string{"Range": "bytes=-100"})
		if res.StatusCode != 206 || !bytes.Equal(b, content[len(content)-100:]) {
			t.Fatalf("status %d, %d bytes", res.StatusCode, len(b))
		}
	})
	t.Run("unsatisfiable range", func(t *testing.T) {
		res, _ := get(t, "/boot/centos-5.3/initrd.img", map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(content)+10)})
		if res.StatusCode != 416 {
			t.Fatalf("status %d, want 416", res.StatusCode)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		res, err := http.Head(url + "/boot/centos-5.3/initrd.img")
		if err != nil || res.StatusCode != 200 || res.ContentLength != int64(len(content)) {
			t.Fatalf("HEAD: %v %v", res, err)
		}
	})
	t.Run("generated pxelinux config", func(t *testing.T) {
		res, b := get(t, "/boot/pxelinux.cfg/01-52-54-00-4e-4b-01", nil)
		host := strings.TrimPrefix(url, "http://")
		if res.StatusCode != 200 || !strings.Contains(string(b), "ks=http://"+host+"/ks/52:54:00:4e:4b:01") ||
			!strings.Contains(string(b), "KERNEL http://"+host+"/boot/centos-5.3/vmlinuz") || res.ContentLength != int64(len(b)) {
			t.Fatalf("status %d:\n%s", res.StatusCode, b)
		}
	})
	t.Run("generated default", func(t *testing.T) {
		res, b := get(t, "/boot/pxelinux.cfg/default", nil)
		if res.StatusCode != 200 || !strings.Contains(string(b), "LOCALBOOT 0") {
			t.Fatalf("status %d:\n%s", res.StatusCode, b)
		}
	})
	t.Run("missing", func(t *testing.T) {
		res, b := get(t, "/boot/nope", nil)
		if res.StatusCode != 404 || !strings.Contains(string(b), "hint") {
			t.Fatalf("status %d: %s", res.StatusCode, b)
		}
	})
}

func TestIPXEScript(t *testing.T) {
	url, st, _, _ := newBootServer(t)
	host := strings.TrimPrefix(url, "http://")
	tests := []struct {
		name, query string
		status      int
		contains    string
	}{
		{"build host, colons", "?mac=52:54:00:4e:4b:01", 200, "kernel http://" + host + "/boot/centos-5.3/vmlinuz initrd=initrd.img ks=http://" + host + "/ks/52:54:00:4e:4b:01"},
		{"build host, dashes upper case", "?mac=52-54-00-4E-4B-01", 200, "initrd --name initrd.img http://" + host + "/boot/centos-5.3/initrd.img"},
		{"build host, bare hex", "?mac=5254004e4b01", 200, "\nboot\n"},
		{"installed host", "?mac=52:54:00:4e:4b:02", 200, "sanboot --no-describe --drive 0x80 || exit"},
		{"installed host on EFI", "?mac=52:54:00:4e:4b:02&platform=efi", 200, "\nexit\n"},
		{"unknown host", "?mac=52:54:00:00:00:99", 200, "unknown host 52:54:00:00:00:99"},
		{"no mac", "", 400, "net0/mac"},
		{"bad mac", "?mac=zz", 400, "six hex octets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Get(url + "/boot.ipxe" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || !strings.Contains(string(b), tc.contains) {
				t.Fatalf("status %d, want %d; body lacks %q:\n%s", res.StatusCode, tc.status, tc.contains, b)
			}
			if tc.status == 200 && !strings.HasPrefix(string(b), "#!ipxe\n") {
				t.Fatalf("not an iPXE script:\n%s", b)
			}
		})
	}
	// The event is queued, not waited for: it commits with the next group.
	var ev []inventory.Event
	var err error
	for deadline := time.Now().Add(5 * time.Second); len(ev) == 0 && err == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ev, err = st.Events(context.Background(), "52:54:00:4e:4b:01", 0)
	}
	// Three fetches within a minute from one client: one event (coalesced).
	if err != nil || len(ev) != 1 || ev[0].Kind != "ipxe" || !strings.Contains(ev[0].Detail, "install entry") {
		t.Fatalf("a01's timeline after three boot.ipxe fetches: %+v %v", ev, err)
	}
}

// TestBootTraversal sends raw request lines, so no client cleans the path.
func TestBootTraversal(t *testing.T) {
	url, _, _, secret := newBootServer(t)
	addr := strings.TrimPrefix(url, "http://")
	paths := []string{
		"/boot/../secret",
		"/boot/../../../../etc/passwd",
		"/boot/%2e%2e/secret",
		"/boot/%2E%2E/%2E%2E/etc/passwd",
		"/boot/..%2fsecret",
		"/boot/..%5csecret",
		"/boot/%5c..%5csecret",
		"/boot//etc/passwd",
		"/boot/%2fetc%2fpasswd",
		"/boot/centos-5.3/../../secret",
		"/boot/link-rel",
		"/boot/link-up/secret",
		"/boot/%00../secret",
		"/boot/pxelinux.cfg/..%2f..%2fsecret",
		"/boot/",
		"/boot/centos-5.3",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", p, addr)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode < 400 || bytes.Contains(b, secret) || bytes.Contains(b, []byte("root:x:0:0")) {
				t.Fatalf("%s: status %d, body %q", p, res.StatusCode, b)
			}
		})
	}
}

func TestRenderBootConfigs(t *testing.T) {
	url, _, _, _ := newBootServer(t)
	for _, tc := range []struct{ path, contains string }{
		{"/api/v1/hosts/a01/render/pxelinux", "LABEL install"},
		{"/api/v1/hosts/a02/render/pxelinux", "LOCALBOOT 0"},
		{"/api/v1/hosts/52-54-00-4e-4b-01/render/ipxe", "initrd --name initrd.img"},
	} {
		req, _ := http.NewRequest("GET", url+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), tc.contains) {
			t.Fatalf("%s: %d %s", tc.path, res.StatusCode, b)
		}
	}
}

// TestGRUBOverHTTP: GRUB builds with the http module fetch the same
// generated configs from /boot/: per MAC, and by the requester's lease
// address for plain grub.cfg (here loopback holds a01's lease).
func TestGRUBOverHTTP(t *testing.T) {
	url, st, _, _ := newBootServer(t)
	sq := st.(*inventory.SQLite)
	now := time.Now()
	if err := sq.SaveLeases(context.Background(), []inventory.Lease{{IP: "127.0.0.1", MAC: "52:54:00:4e:4b:01", State: inventory.LeaseBound, Expires: now.Add(time.Hour), Updated: now}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"per MAC, EL spelling", "/boot/grub.cfg-01-52-54-00-4e-4b-01", "linux '/centos-5.3/vmlinuz' 'ks=http://"},
		{"installed host per MAC boots locally", "/boot/grub.cfg-52-54-00-4e-4b-02", "exit 1"},
		{"plain grub.cfg by lease address", "/boot/grub/grub.cfg", "host a01 (52:54:00:4e:4b:01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Get(url + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || !strings.Contains(string(b), tc.want) || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("GET %s: %d %q\n%s", tc.path, res.StatusCode, res.Header.Get("Cache-Control"), b)
			}
		})
	}
}

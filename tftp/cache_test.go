package tftp

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileCacheLookup(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Second)
	type step struct {
		name     string
		file     string
		size     int64
		mod      time.Time
		put      bool // call loaded with size bytes after a load
		wantData bool
		wantLoad bool
		wantUsed int64
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first transfer loads, the next one hits", []step{
			{name: "miss", file: "a", size: 10, mod: t0, put: true, wantLoad: true, wantUsed: 10},
			{name: "hit", file: "a", size: 10, mod: t0, wantData: true, wantUsed: 10},
		}},
		{"a transfer during the load streams", []step{
			{name: "miss, load left running", file: "a", size: 10, mod: t0, wantLoad: true, wantUsed: 10},
			{name: "same version while loading", file: "a", size: 10, mod: t0, wantUsed: 10},
			{name: "newer version while loading", file: "a", size: 12, mod: t1, wantUsed: 10},
		}},
		{"a replaced file is loaded again and its room given back", []step{
			{name: "old", file: "a", size: 10, mod: t0, put: true, wantLoad: true, wantUsed: 10},
			{name: "new mtime", file: "a", size: 10, mod: t1, put: true, wantLoad: true, wantUsed: 10},
			{name: "new size", file: "a", size: 30, mod: t1, put: true, wantLoad: true, wantUsed: 30},
			{name: "hit on the new one", file: "a", size: 30, mod: t1, wantData: true, wantUsed: 30},
		}},
		{"a file over the per-file bound is never cached", []step{
			{name: "too big", file: "big", size: 65, mod: t0, wantUsed: 0},
			{name: "still not", file: "big", size: 65, mod: t0, wantUsed: 0},
		}},
		{"the total bound", []step{
			{name: "a", file: "a", size: 60, mod: t0, put: true, wantLoad: true, wantUsed: 60},
			{name: "b", file: "b", size: 60, mod: t0, put: true, wantLoad: true, wantUsed: 120},
			{name: "c does not fit", file: "c", size: 10, mod: t0, wantUsed: 120},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fc := newFileCache(64, 128)
			for _, s := range c.steps {
				data, load := fc.lookup(s.file, s.size, s.mod)
				if (data != nil) != s.wantData || load != s.wantLoad {
					t.Fatalf("%s: lookup(%s, %d) = data %v, load %v; want data %v, load %v", s.name, s.file, s.size, data != nil, load, s.wantData, s.wantLoad)
				}
				if load && s.put {
					fc.loaded(s.file, make([]byte, s.size))
				}
				if fc.used != s.wantUsed {
					t.Fatalf("%s: %d bytes held, want %d", s.name, fc.used, s.wantUsed)
				}
			}
		})
	}
}

func TestFileCacheFailedLoad(t *testing.T) {
	fc := newFileCache(64, 128)
	if _, load := fc.lookup("a", 10, time.Time{}); !load {
		t.Fatal("first lookup: want a load")
	}
	fc.loaded("a", nil) // the read failed
	if fc.used != 0 {
		t.Fatalf("%d bytes held after a failed load, want 0", fc.used)
	}
	if _, load := fc.lookup("a", 10, time.Time{}); !load {
		t.Fatal("after a failed load: want the next transfer to load")
	}
	fc.loaded("a", make([]byte, 9)) // short: the file shrank under us
	if data, load := fc.lookup("a", 10, time.Time{}); data != nil || !load {
		t.Fatalf("after a short load: data %v, load %v; want a fresh load", data != nil, load)
	}
}

// TestCachedFileReplaced serves a file (now cached), replaces it on disk,
// and checks the next transfer sends the new content.
func TestCachedFileReplaced(t *testing.T) {
	base, root := newRoot(t)
	path := filepath.Join(root, "f")
	old := writeRandom(t, path, 5000)
	f := startServer(t, base, root, nil)
	for i := range 2 { // the load, then the hit
		if res := rawFetch(t, f.addr, rrq(opRRQ, "f", "octet")); res.errMsg != "" || sum(res.data) != old {
			t.Fatalf("fetch %d: %q, or the content differs", i, res.errMsg)
		}
	}
	if data, _ := f.srv.cache.lookup("f", 5000, mtime(t, path)); data == nil {
		t.Fatal("the file is not in the cache after two transfers")
	}
	tmp := filepath.Join(root, ".f.new")
	fresh := writeRandom(t, tmp, 5000) // same size: the mtime tells
	os.Chtimes(tmp, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if res := rawFetch(t, f.addr, rrq(opRRQ, "f", "octet")); res.errMsg != "" || sum(res.data) != fresh {
		t.Fatalf("after the file was replaced: %q, or the old content was sent", res.errMsg)
	}
}

func mtime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

package tftp

import (
	"bufio"
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/netkick/netkick/boot"
	"github.com/netkick/netkick/boot/bootfs"
)

// Bounds of the boot file cache.
const (
	// CacheMaxFile is the largest boot file kept in memory: loaders,
	// pxelinux modules, ipxe.efi, shim, GRUB, a kernel. Larger files
	// (an installer's initrd) are read from disk for every transfer.
	CacheMaxFile = 16 << 20
	// CacheMaxBytes bounds the memory the cache holds in all.
	CacheMaxBytes = 64 << 20
	// readBufSize is the read buffer of a file streamed from disk.
	readBufSize = 16 << 10
)

// fileCache keeps the content of small boot files in memory, keyed by their
// name and checked against the size and modification time the open file
// has at every transfer, so that a replaced file is read again. Every
// machine of a storm asks for the same few files: from memory a block is
// one copy, with no read from the file and no read buffer per transfer.
// An entry replaced by a newer version gives its room back; the cache
// never holds more than its bound, and a file that does not fit is
// streamed from disk.
type fileCache struct {
	mu      sync.Mutex
	maxFile int64
	max     int64
	used    int64
	m       map[string]*cachedFile
	bufs    sync.Pool // *bufio.Reader for files streamed from disk
}

type cachedFile struct {
	size    int64
	mod     time.Time
	data    []byte // nil while loading
	loading bool
}

func newFileCache(maxFile, max int64) *fileCache {
	return &fileCache{maxFile: maxFile, max: max, m: map[string]*cachedFile{},
		bufs: sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}}
}

// lookup returns the cached content of f when its version is held; else
// load says whether this caller should read the file and put it (no one
// else is loading it, and it fits).
func (c *fileCache) lookup(name string, size int64, mod time.Time) (data []byte, load bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	if ok && e.size == size && e.mod.Equal(mod) {
		return e.data, false // nil while another transfer loads it
	}
	if ok && e.loading {
		return nil, false
	}
	if ok { // an older version: its room goes back
		c.used -= e.size
		delete(c.m, name)
	}
	if size > c.maxFile || c.used+size > c.max {
		return nil, false
	}
	c.used += size
	c.m[name] = &cachedFile{size: size, mod: mod, loading: true}
	return nil, true
}

// loaded ends a load: data is the content (nil when reading failed).
func (c *fileCache) loaded(name string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	if !ok || !e.loading {
		return
	}
	if data == nil || int64(len(data)) != e.size {
		c.used -= e.size
		delete(c.m, name)
		return
	}
	e.data, e.loading = data, false
}

// reader returns what to hand the TFTP sender for f, a function to call
// once the transfer is over, and whether the content is in memory (f may
// then be closed at once). A generated config is in memory already; a
// small disk file comes from the cache (read into it by the first transfer
// that finds it missing); anything else is streamed through a pooled read
// buffer.
func (c *fileCache) reader(f *bootfs.File) (r io.Reader, done func(), inMemory bool) {
	if f.Generated != boot.NotGenerated {
		return f, func() {}, true
	}
	data, load := c.lookup(f.Name, f.Size, f.ModTime)
	if data != nil {
		return bytes.NewReader(data), func() {}, true
	}
	if load {
		b := make([]byte, f.Size)
		if _, err := io.ReadFull(f, b); err != nil {
			c.loaded(f.Name, nil)
			// The file changed or failed under us: stream what it has now.
			if _, serr := f.Seek(0, io.SeekStart); serr == nil {
				r, done := c.stream(f)
				return r, done, false
			}
			return errReader{err}, func() {}, false
		}
		c.loaded(f.Name, b)
		return bytes.NewReader(b), func() {}, true
	}
	r, done = c.stream(f)
	return r, done, false
}

func (c *fileCache) stream(f io.Reader) (io.Reader, func()) {
	br := c.bufs.Get().(*bufio.Reader)
	br.Reset(f)
	return br, func() { br.Reset(nil); c.bufs.Put(br) }
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

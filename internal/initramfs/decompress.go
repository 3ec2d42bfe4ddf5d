package initramfs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
)

// MaxModuleBytes bounds one kernel module, compressed or decompressed: the
// largest module of a distribution kernel is a few tens of MiB (amdgpu), so
// a module over this is corrupt or hostile and is refused, naming the file.
const MaxModuleBytes = 256 << 20

// maxWindow bounds the dictionary (xz) or window (zstd) a compressed module
// may declare: the decoder allocates it up front. The kernel compresses
// modules with 1 MiB (xz) or a few MiB (zstd); `xz -9` uses 64 MiB and
// `zstd --ultra -22` 128 MiB.
const maxWindow = 128 << 20

// Compression is how a kernel module file is compressed, as its name says.
type Compression int

// The compressions kernels install modules with (CONFIG_MODULE_COMPRESS_*).
const (
	Uncompressed Compression = iota
	XZ
	Zstd
	Gzip
)

var compressions = []struct {
	c      Compression
	suffix string
	name   string
	magic  []byte
}{
	{XZ, ".xz", "xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0}},
	{Zstd, ".zst", "zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{Gzip, ".gz", "gzip", []byte{0x1f, 0x8b}},
}

func (c Compression) String() string {
	for _, k := range compressions {
		if k.c == c {
			return k.name
		}
	}
	return "uncompressed"
}

// Suffix is what the compression adds to a module's file name (".xz").
func (c Compression) Suffix() string {
	for _, k := range compressions {
		if k.c == c {
			return k.suffix
		}
	}
	return ""
}

// ModuleCompression says how the module file name is compressed: .ko.xz,
// .ko.zst, .ko.gz, or a plain .ko (Uncompressed). ok is false for a name
// that is no module file.
func ModuleCompression(name string) (c Compression, ok bool) {
	if strings.HasSuffix(name, ".ko") {
		return Uncompressed, true
	}
	for _, k := range compressions {
		if strings.HasSuffix(name, ".ko"+k.suffix) {
			return k.c, true
		}
	}
	return Uncompressed, false
}

// ReadModule reads the module file at path, decompressed as its name says
// (ModuleCompression), refusing a file or a content over MaxModuleBytes.
func ReadModule(path string) ([]byte, error) {
	return readModule(path, MaxModuleBytes)
}

func readModule(path string, limit int64) ([]byte, error) {
	c, _ := ModuleCompression(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("module %s: the file is over %d MiB: corrupt or not a module (replace it from the kernel package)", path, limit>>20)
	}
	if c == Uncompressed {
		return b, nil
	}
	out, err := Decompress(c, b, limit)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w (replace it from the kernel package, or decompress it yourself: %s -d)", path, err, c)
	}
	return out, nil
}

// Decompress decodes b, compressed with c, refusing a content over limit
// bytes and (xz, zstd) a dictionary or window over 128 MiB before
// allocating it. Trailing data after the compressed stream is refused.
func Decompress(c Compression, b []byte, limit int64) ([]byte, error) {
	for _, k := range compressions {
		if k.c == c && !bytes.HasPrefix(b, k.magic) {
			return nil, fmt.Errorf("not %s data (it starts with %s)", c, hex.EncodeToString(b[:min(len(b), 6)]))
		}
	}
	switch c {
	case XZ:
		return decodeXZ(b, limit)
	case Zstd:
		// Streaming: the window is bounded (MaxMemory is the window bound
		// when streaming), the output by readBounded.
		d, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderMaxMemory(maxWindow))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer d.Close()
		out, err := readBounded(d, "zstd", limit)
		if errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, fmt.Errorf("zstd: the frame's window is over the bound of %d MiB", maxWindow>>20)
		}
		return out, err
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return readBounded(zr, "gzip", limit)
	}
	return b, nil
}

// readBounded reads r to its end, refusing more than limit bytes.
func readBounded(r io.Reader, what string, limit int64) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		if strings.HasPrefix(err.Error(), what+":") {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("%s: decompresses to more than %d bytes (the bound of one module)", what, limit)
	}
	return out, nil
}

// decodeXZ decodes one xz stream (the .xz file format) block by block: the
// stream's index, read first, gives each block's place and decompressed
// size, so the total is checked against limit and each block's LZMA2
// dictionary against maxWindow before anything is allocated. Each block's
// integrity check (none, CRC32, CRC64, SHA-256) is verified.
func decodeXZ(b []byte, limit int64) ([]byte, error) {
	const hdr = 12
	if len(b) < 2*hdr {
		return nil, errors.New("xz: truncated (shorter than a stream header and footer)")
	}
	flags := b[6:8]
	if flags[0] != 0 || flags[1] > 0x0f {
		return nil, fmt.Errorf("xz: unsupported stream flags %x", flags)
	}
	if crc32.ChecksumIEEE(flags) != binary.LittleEndian.Uint32(b[8:12]) {
		return nil, errors.New("xz: stream header CRC mismatch (corrupt file)")
	}
	foot := b[len(b)-hdr:]
	if string(foot[10:12]) != "YZ" {
		return nil, errors.New("xz: no stream footer at the end (truncated, or more than one stream, or trailing data)")
	}
	if crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[0:4]) {
		return nil, errors.New("xz: stream footer CRC mismatch (corrupt file)")
	}
	if !bytes.Equal(foot[8:10], flags) {
		return nil, errors.New("xz: stream header and footer disagree (corrupt file)")
	}
	checkType := flags[1]
	backward := (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
	idxStart := int64(len(b)-hdr) - backward
	if idxStart < hdr {
		return nil, errors.New("xz: index size runs past the start of the file (corrupt file)")
	}
	idx := b[idxStart : len(b)-hdr]
	if idx[0] != 0 {
		return nil, errors.New("xz: no index where the footer says (corrupt file)")
	}
	if crc32.ChecksumIEEE(idx[:len(idx)-4]) != binary.LittleEndian.Uint32(idx[len(idx)-4:]) {
		return nil, errors.New("xz: index CRC mismatch (corrupt file)")
	}
	p := &xzBytes{b: idx[1 : len(idx)-4]}
	n := p.varint()
	type record struct{ unpadded, size int64 }
	var recs []record
	var total int64
	for i := uint64(0); i < n && p.err == nil; i++ {
		r := record{int64(p.varint()), int64(p.varint())}
		if p.err == nil && (r.unpadded <= 0 || r.unpadded > int64(len(b)) || r.size < 0 || r.size > limit-total) {
			return nil, fmt.Errorf("xz: decompresses to more than %d bytes (the bound of one module), or a corrupt index", limit)
		}
		total += r.size
		recs = append(recs, r)
	}
	if p.err != nil {
		return nil, fmt.Errorf("xz: index: %w", p.err)
	}
	for _, c := range p.b[p.off:] {
		if c != 0 {
			return nil, errors.New("xz: index padding is not zero (corrupt file)")
		}
	}
	var out []byte
	off := int64(hdr)
	for i, r := range recs {
		end := off + (r.unpadded+3)&^3
		if end > idxStart {
			return nil, fmt.Errorf("xz: block %d runs into the index (corrupt file)", i)
		}
		var err error
		if out, err = xzBlock(b[off:end], r.unpadded, r.size, checkType, out); err != nil {
			return nil, fmt.Errorf("xz: block %d: %w", i, err)
		}
		off = end
	}
	if off != idxStart {
		return nil, errors.New("xz: data between the last block and the index (corrupt file)")
	}
	return out, nil
}

// xzBlock decodes one block (header, LZMA2 data, padding, check) of size
// bytes and appends it to out.
func xzBlock(blk []byte, unpadded, size int64, checkType byte, out []byte) ([]byte, error) {
	hsize := (int64(blk[0]) + 1) * 4
	csize := xzCheckSize(checkType)
	if blk[0] == 0 || hsize+csize > unpadded {
		return nil, errors.New("bad block header size")
	}
	h := blk[:hsize]
	if crc32.ChecksumIEEE(h[:hsize-4]) != binary.LittleEndian.Uint32(h[hsize-4:]) {
		return nil, errors.New("block header CRC mismatch (corrupt file)")
	}
	bflags := h[1]
	if bflags&0x3c != 0 {
		return nil, errors.New("reserved block flags set")
	}
	p := &xzBytes{b: h[2 : hsize-4]}
	dataLen := unpadded - hsize - csize
	if bflags&0x40 != 0 && int64(p.varint()) != dataLen {
		return nil, errors.New("block header and index disagree on the compressed size")
	}
	if bflags&0x80 != 0 && int64(p.varint()) != size {
		return nil, errors.New("block header and index disagree on the decompressed size")
	}
	if nf := bflags&3 + 1; nf != 1 {
		return nil, fmt.Errorf("%d filters: only LZMA2 alone is supported (what kernels and xz use for modules)", nf)
	}
	id, propsLen := p.varint(), p.varint()
	if p.err != nil {
		return nil, p.err
	}
	if id != 0x21 || propsLen != 1 || p.off >= len(p.b) {
		return nil, fmt.Errorf("filter %#x: only LZMA2 (0x21) is supported", id)
	}
	dictBits := p.b[p.off]
	if dictBits > 40 {
		return nil, errors.New("bad LZMA2 dictionary size")
	}
	dict := int64(1<<32 - 1)
	if dictBits < 40 {
		dict = int64(2|dictBits&1) << (dictBits/2 + 11)
	}
	if dict > maxWindow {
		return nil, fmt.Errorf("LZMA2 dictionary of %d MiB is over the bound of %d MiB", dict>>20, maxWindow>>20)
	}
	for _, c := range p.b[p.off+1:] {
		if c != 0 {
			return nil, errors.New("block header padding is not zero (corrupt file)")
		}
	}
	data := blk[hsize : hsize+dataLen]
	for _, c := range blk[hsize+dataLen : int64(len(blk))-csize] {
		if c != 0 {
			return nil, errors.New("block padding is not zero (corrupt file)")
		}
	}
	check := blk[int64(len(blk))-csize:]
	src := bytes.NewReader(data)
	lr, err := lzma.Reader2Config{DictCap: int(max(dict, lzma.MinDictCap))}.NewReader2(src)
	if err != nil {
		return nil, fmt.Errorf("lzma2: %w", err)
	}
	start := len(out)
	buf := bytes.NewBuffer(out)
	n, err := io.Copy(buf, io.LimitReader(lr, size+1))
	if err != nil {
		return nil, fmt.Errorf("lzma2: %w", err)
	}
	if n != size {
		return nil, fmt.Errorf("decompresses to %d bytes, the index says %d (corrupt file)", n, size)
	}
	if src.Len() != 0 {
		return nil, errors.New("compressed data goes on after the LZMA2 end (corrupt file)")
	}
	out = buf.Bytes()
	if err := xzVerify(checkType, out[start:], check); err != nil {
		return nil, err
	}
	return out, nil
}

// xzCheckSize is the size of a block's check field for a check type.
func xzCheckSize(t byte) int64 {
	if t == 0 {
		return 0
	}
	return 4 << ((t - 1) / 3)
}

// xzVerify compares a block's check field with its decompressed data.
func xzVerify(t byte, data, check []byte) error {
	var h hash.Hash
	switch t {
	case 0:
		return nil
	case 1:
		h = crc32.NewIEEE()
	case 4:
		h = crc64.New(crc64.MakeTable(crc64.ECMA))
	case 10:
		h = sha256.New()
	default:
		return fmt.Errorf("unsupported check type %d", t)
	}
	h.Write(data)
	sum := h.Sum(nil)
	if t != 10 { // CRC32 and CRC64 are stored little-endian
		for i, j := 0, len(sum)-1; i < j; i, j = i+1, j-1 {
			sum[i], sum[j] = sum[j], sum[i]
		}
	}
	if !bytes.Equal(sum, check) {
		return fmt.Errorf("%s check mismatch (corrupt file)", map[byte]string{1: "CRC32", 4: "CRC64", 10: "SHA-256"}[t])
	}
	return nil
}

// xzBytes reads the xz format's variable-length integers.
type xzBytes struct {
	b   []byte
	off int
	err error
}

func (p *xzBytes) varint() uint64 {
	if p.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < 9; i++ {
		if p.off >= len(p.b) {
			p.err = errors.New("truncated number (corrupt file)")
			return 0
		}
		c := p.b[p.off]
		p.off++
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				p.err = errors.New("badly encoded number (corrupt file)")
				return 0
			}
			return v
		}
	}
	p.err = errors.New("number over 63 bits (corrupt file)")
	return 0
}

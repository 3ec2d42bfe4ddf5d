//go:build linux

package neigh

import "testing"

// FuzzEachAttr: attribute parsing never panics nor reads past its input,
// whatever the bytes.
func FuzzEachAttr(f *testing.F) {
	f.Add(appendAttr(appendAttr(nil, 1, []byte{192, 0, 2, 10}), 2, []byte{2, 0, 0, 0, 0x66, 0x66}))
	f.Add([]byte{0xff, 0xff, 1, 0})
	f.Add([]byte{4, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		eachAttr(b, func(kind uint16, v []byte) {
			if len(v) > len(b) {
				t.Fatalf("attribute of %d bytes from %d", len(v), len(b))
			}
		})
	})
}

func TestAppendAttrRoundTrip(t *testing.T) {
	b := appendAttr(appendAttr(nil, 1, []byte{192, 0, 2, 10}), 2, []byte{2, 0, 0, 0, 0x66, 0x66})
	var got []string
	eachAttr(b, func(kind uint16, v []byte) { got = append(got, string(rune('0'+kind))+":"+string(rune('0'+len(v)))) })
	if len(got) != 2 || got[0] != "1:4" || got[1] != "2:6" {
		t.Fatalf("attributes %v", got)
	}
}

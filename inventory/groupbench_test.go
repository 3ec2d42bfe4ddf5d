package inventory

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkGroupEvents: events of many hosts arriving at once, as in a boot
// storm (one op: 512 events of 512 hosts, committed in groups).
func BenchmarkGroupEvents(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for h := range 512 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.AddEvent(ctx, Event{HostID: fmt.Sprintf("52:54:00:00:%02x:%02x", h>>8, h&255), Kind: KindTFTP, Detail: "sent pxelinux.0 (42430 bytes, 12ms) to 198.18.1.1"}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
}

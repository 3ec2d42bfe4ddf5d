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

// BenchmarkGroupUpdates: 256 machines' kickstart fetches at once, each a
// host update with its event (one op: all 256 committed).
func BenchmarkGroupUpdates(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	mac := func(h int) string { return fmt.Sprintf("52:54:00:01:%02x:%02x", h>>8, h&255) }
	for h := range 256 {
		if err := s.PutHost(ctx, &Host{MACs: []string{mac(h)}, Hostname: fmt.Sprintf("u%03d", h), State: StateBuild}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for h := range 256 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.UpdateHostLogged(ctx, mac(h), func(h *Host) (*Event, error) {
					h.Labels = map[string]string{"round": fmt.Sprint(i)}
					return &Event{Kind: "kickstart", Detail: "kickstart fetched by 198.18.1.1"}, nil
				}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
}

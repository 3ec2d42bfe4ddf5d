package inventory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
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

// BenchmarkStormWrites: a boot storm's writes as the store sees them. Each
// of 256 machines, powered on a millisecond apart, leaves 8 timeline events
// (DHCP, TFTP) 2 ms apart, then makes two host writes the installer waits
// for (the kickstart fetch's build -> installing, the report's state and
// burnt token), 2 ms apart. The events are either waited for (AddEvent) or queued (QueueEvent);
// the host writes' latencies are reported (hostwrite-p50/p99-ms).
func BenchmarkStormWrites(b *testing.B) {
	for _, queued := range []bool{false, true} {
		name := "events=waited"
		if queued {
			name = "events=queued"
		}
		b.Run(name, func(b *testing.B) {
			s, _ := openTemp(b)
			ctx := context.Background()
			mac := func(h int) string { return fmt.Sprintf("52:54:00:02:%02x:%02x", h>>8, h&255) }
			for h := range 256 {
				if err := s.PutHost(ctx, &Host{MACs: []string{mac(h)}, Hostname: fmt.Sprintf("s%03d", h), State: StateBuild}); err != nil {
					b.Fatal(err)
				}
			}
			var mu sync.Mutex
			var lat []time.Duration
			s.groups.Store(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for h := range 256 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						time.Sleep(time.Duration(h) * time.Millisecond)
						for e := range 8 {
							ev := Event{HostID: mac(h), Kind: KindTFTP, Detail: fmt.Sprintf("sent file %d to 198.18.1.1", e)}
							var err error
							if queued {
								err = s.QueueEvent(ctx, ev, nil)
							} else {
								err = s.AddEvent(ctx, ev)
							}
							if err != nil {
								b.Error(err)
							}
							time.Sleep(2 * time.Millisecond)
						}
						for w := range 2 {
							start := time.Now()
							if _, err := s.UpdateHostLogged(ctx, mac(h), func(h *Host) (*Event, error) {
								h.Labels = map[string]string{"round": fmt.Sprint(i, w)}
								return &Event{Kind: "kickstart", Detail: "kickstart fetched by 198.18.1.1"}, nil
							}); err != nil {
								b.Error(err)
							}
							d := time.Since(start)
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
							time.Sleep(2 * time.Millisecond)
						}
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(s.groups.Load())/float64(b.N), "commits/op")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "hostwrite-p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "hostwrite-p99-ms")
		})
	}
}

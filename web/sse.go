package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/netkick/netkick/inventory"
)

// maxWatch bounds the hosts one stream follows (a page shows fewer).
const maxWatch = 200

// events is the live stream (Server-Sent Events) of the page that opened
// it: "row" (a watched host's table row changed), "counts" (hosts by
// state), "timeline" (new entries of the watched host's timeline), and a
// comment every heartbeat. The store has no change notification, so the
// stream polls it: the generation (cheap, cached) for host changes, and the
// newest event of each watched host for timelines.
//
// The stream holds its connection open, so it is exempt from the server's
// read and write deadlines; it still counts against the per-source
// connection cap of the listener it came in on.
func (w *Web) events(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	var watch []string
	for _, m := range strings.Split(q.Get("hosts"), ",") {
		if mac, err := inventory.NormalizeMAC(m); err == nil && len(watch) < maxWatch {
			watch = append(watch, mac)
		}
	}
	host := ""
	if mac, err := inventory.NormalizeMAC(q.Get("host")); err == nil {
		host = mac
		if len(watch) == 0 {
			watch = []string{mac}
		}
	}
	lastTimeline, _ := strconv.ParseInt(q.Get("last"), 10, 64)
	rc := http.NewResponseController(rw)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rw.WriteHeader(http.StatusOK)
	send := func(event string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(rw, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return nil
	}
	if _, err := fmt.Fprint(rw, "retry: 2000\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	st := w.o.Prov.Store()
	prev := map[string]string{} // mac → row JSON last sent (or rendered)
	hosts := map[string]*inventory.Host{}
	var gen int64 = -1
	var countsAt time.Time
	countsDirty := false
	poll := time.NewTicker(w.o.Poll)
	defer poll.Stop()
	beat := time.NewTicker(w.o.Heartbeat)
	defer beat.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if _, err := fmt.Fprint(rw, ": heartbeat\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			continue
		case <-poll.C:
		}
		g, err := st.Generation(ctx)
		if err != nil {
			w.o.Log.Warn("web: event stream: read generation", "err", err)
			continue
		}
		if g != gen {
			gen, countsDirty = g, true
			for _, mac := range watch {
				if hh, err := st.GetHost(ctx, mac); err == nil {
					hosts[mac] = hh
				} else {
					delete(hosts, mac)
				}
			}
		}
		for _, mac := range watch {
			hh := hosts[mac]
			if hh == nil {
				continue
			}
			row, err := w.row(r, hh)
			if err != nil {
				continue
			}
			b, _ := json.Marshal(row)
			if prev[mac] == string(b) {
				continue
			}
			had := prev[mac] != ""
			prev[mac] = string(b)
			if first && !had {
				continue // the page was rendered with this row already
			}
			if err := send("row", row); err != nil {
				return
			}
		}
		first = false
		if host != "" {
			if err := w.sendTimeline(r, host, &lastTimeline, send); err != nil {
				return
			}
		}
		if countsDirty && w.o.Now().Sub(countsAt) >= 2*time.Second {
			countsDirty, countsAt = false, w.o.Now()
			all, err := w.o.Prov.AllHosts(ctx)
			if err == nil {
				counts := map[string]int{"all": len(all)}
				for _, s := range inventory.States() {
					counts[string(s)] = 0
				}
				for i := range all {
					counts[string(all[i].State)]++
				}
				if err := send("counts", counts); err != nil {
					return
				}
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// sendTimeline sends the host's events newer than *last.
func (w *Web) sendTimeline(r *http.Request, host string, last *int64, send func(string, any) error) error {
	ev, err := w.lastEvent(r, host)
	if err != nil || ev.ID <= *last {
		return nil
	}
	all, err := w.o.Prov.Store().Events(r.Context(), host, 0)
	if err != nil {
		return nil
	}
	for _, e := range all {
		if e.ID <= *last {
			continue
		}
		*last = e.ID
		if err := send("timeline", map[string]any{"id": e.ID, "time": e.Time.UTC().Format(time.RFC3339), "kind": e.Kind,
			"detail": inventory.EscapeControl(e.Detail, true)}); err != nil {
			return err
		}
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"
)

// checkDebugAddr decides whether --debug-addr may listen on addr: pprof
// shows the process's memory and command line and can slow it down, so
// only a loopback address (or "localhost") is taken unless allowRemote.
func checkDebugAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Sprintf("--debug-addr %q: %v (want host:port, e.g. 127.0.0.1:6060)", addr, err)}
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
		return nil
	}
	what := "address " + host
	if host == "" {
		what = "every address"
	}
	return usageError{fmt.Sprintf("--debug-addr %q would serve pprof (memory, goroutines, command line) on %s: "+
		"use a loopback address such as 127.0.0.1:6060 and an SSH tunnel, or add --debug-allow-remote to mean it", addr, what)}
}

// debugMux serves net/http/pprof under /debug/pprof/ (its own mux, not
// http.DefaultServeMux).
func debugMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}

// startDebug listens on addr (checked by checkDebugAddr) and serves pprof
// until stop is called; it returns the bound address.
func startDebug(addr string, allowRemote bool, log *slog.Logger) (bound string, stop func(), err error) {
	if err := checkDebugAddr(addr, allowRemote); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("debug listen on %s: %w (choose another address with --debug-addr, or leave it empty)", addr, err)
	}
	// Profiles take up to 30 s by default (?seconds=); the write timeout leaves room.
	hs := &http.Server{Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 2 * time.Minute}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server stopped", "addr", addr, "err", err)
		}
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}, nil
}

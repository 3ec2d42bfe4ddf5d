package testvm

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// This file checks the simulated PXE client (bench/stormclient) against the
// real thing: once a scenario's machine has booted through its firmware
// (QEMU's iPXE ROM handed pxelinux, or OVMF's PXE handed iPXE) and installed, stormclient plays the scenario's twin host against the same
// netkick, from a namespace of its own on the rig's bridge, and both hosts'
// timelines in netkick must hold the same events, in the same order, up to
// the %post callback.

// MAC is the twin's MAC, as stormclient derives it from the index.
func (t SimulatedTwin) MAC() string {
	i := t.Index
	return net.HardwareAddr{0x52, 0x54, 0x00, byte(i >> 16), byte(i >> 8), byte(i)}.String()
}

// simResult is the part of stormclient's per-machine JSON line the rig reads.
type simResult struct {
	MAC    string `json:"mac"`
	OK     bool   `json:"ok"`
	Stages []struct {
		Name    string  `json:"name"`
		Seconds float64 `json:"s"`
		Retries int     `json:"retries"`
		Err     string  `json:"err"`
	} `json:"stages"`
}

// runSimulated plays the scenario's twin with stormclient and compares the
// two hosts' timelines since their starts (the machine's at start).
func (r *rig) runSimulated(ctx context.Context, s Scenario, start time.Time, res *Result) []string {
	var p problems
	t := *s.Simulated
	if r.opts.Stormclient == "" {
		r.printf("[%s] simulated twin not played: no stormclient binary (Options.Stormclient, --stormclient)\n", s.Name)
		return nil
	}
	if !r.pxe {
		return nil // a direct kernel boot leaves no firmware events to compare
	}
	real, err := r.nk.Events(ctx, s.hostMAC())
	if err != nil {
		p.add("simulated twin: reading %s's timeline: %v", s.hostMAC(), err)
		return p
	}
	simStart := time.Now()
	out, err := r.playTwin(ctx, s, t)
	if err != nil {
		p.add("simulated twin %s: %v", t.MAC(), err)
	}
	sim, err := r.nk.Events(ctx, t.MAC())
	if err != nil {
		p.add("simulated twin: reading %s's timeline: %v", t.MAC(), err)
		return p
	}
	a := EventSequence(real, start, s.hostMAC(), s.IP)
	b := EventSequence(sim, simStart, t.MAC(), t.IP)
	res.Events = append(res.Events, "simulated twin "+t.MAC()+" (stormclient -flavour "+t.Flavour+"): "+out)
	res.Events = append(res.Events, "event sequence, the QEMU machine:")
	res.Events = append(res.Events, indent(a)...)
	res.Events = append(res.Events, "event sequence, stormclient:")
	res.Events = append(res.Events, indent(b)...)
	if d := SequenceDiff(a, b); d != "" {
		p.add("the simulated client's timeline differs from the real machine's: %s", d)
	}
	return p
}

func indent(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "  " + x
	}
	return out
}

// playTwin runs stormclient for the twin in a namespace whose veth is on the
// rig's bridge, with the twin's MAC and reserved address (as one machine on
// the segment: netkick's neighbour table sees the MAC the DHCP chaddr
// names). It returns the client's stages in one line.
func (r *rig) playTwin(ctx context.Context, s Scenario, t SimulatedTwin) (string, error) {
	// Names of this twin's own: scenarios run in parallel.
	ns := fmt.Sprintf("%ss%x", r.net.NS, t.Index&0xff)
	veth := fmt.Sprintf("sim%x", t.Index&0xff)
	if err := ipCmd(ctx, "netns", "add", ns); err != nil {
		return "", fmt.Errorf("simulated client namespace: %w", err)
	}
	defer ipCmd(context.Background(), "netns", "del", ns)
	for _, step := range [][]string{
		{"-n", r.net.NS, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", r.net.NS, "link", "set", veth, "master", r.net.Bridge},
		{"-n", r.net.NS, "link", "set", veth, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "link", "set", "eth0", "address", t.MAC()},
		{"-n", ns, "addr", "add", t.IP + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
	} {
		if err := ipCmd(ctx, step...); err != nil {
			return "", err
		}
	}
	outFile := filepath.Join(r.opts.WorkDir, s.Name, "stormclient.json")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "ip", "netns", "exec", ns, r.opts.Stormclient, "run", "-iface", "eth0", "-n", "1", "-first", fmt.Sprint(t.Index),
		"-flavour", t.Flavour, "-out", outFile)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("stormclient: %w: %s", err, strings.TrimSpace(string(b)))
	}
	f, err := os.Open(outFile)
	if err != nil {
		return "", fmt.Errorf("stormclient wrote no result: %w", err)
	}
	defer f.Close()
	var m simResult
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&m); err != nil {
		return "", fmt.Errorf("stormclient result %s: %w", outFile, err)
	}
	var st []string
	for _, x := range m.Stages {
		line := fmt.Sprintf("%s %.1fs", x.Name, x.Seconds)
		if x.Retries > 0 {
			line += fmt.Sprintf(" (%d retries)", x.Retries)
		}
		if x.Err != "" {
			line += " ERROR " + x.Err
		}
		st = append(st, line)
	}
	line := strings.Join(st, ", ")
	r.printf("[%s] simulated twin %s: %s\n", s.Name, t.MAC(), line)
	if !m.OK || m.MAC != t.MAC() {
		return line, fmt.Errorf("stormclient did not finish the boot of %s: %s", t.MAC(), line)
	}
	return line, nil
}

var (
	tftpStatsRE = regexp.MustCompile(` \([0-9]+ bytes, ([^)]*)\)`)
	tokenRE     = regexp.MustCompile(`token=[0-9A-Za-z]+`)
)

// EventSequence is a host's timeline since start as comparable lines, up to
// and including the first %post callback ("built"): kind and detail with the
// host's MAC (any spelling), address and tokens replaced, TFTP transfer
// sizes and times dropped. Events are ordered by when the machine's request
// began: a TFTP transfer is recorded when it ends, and a client that moves
// on at once (no kernel to boot) has its next DHCP recorded before it. What
// follows the callback (the real machine's reboot into its disk) is not part
// of the comparison.
func EventSequence(evs []apiEvent, start time.Time, mac, ip string) []string {
	repl := []string{mac, "<mac>", strings.ReplaceAll(mac, ":", "-"), "<mac>"}
	if ip != "" {
		repl = append(repl, ip, "<ip>")
	}
	rp := strings.NewReplacer(repl...)
	type ev struct {
		began time.Time
		line  string
	}
	var seq []ev
	for _, e := range evs {
		if e.Time.Before(start) {
			continue
		}
		began := e.Time
		if m := tftpStatsRE.FindStringSubmatch(e.Detail); e.Kind == "tftp" && m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				began = began.Add(-d)
			}
		}
		d := tokenRE.ReplaceAllString(tftpStatsRE.ReplaceAllString(rp.Replace(e.Detail), ""), "token=<token>")
		seq = append(seq, ev{began, strings.TrimSpace(e.Kind + " " + d)})
		if e.Kind == "built" {
			break
		}
	}
	sort.SliceStable(seq, func(i, j int) bool { return seq[i].began.Before(seq[j].began) })
	out := make([]string, len(seq))
	for i, e := range seq {
		out[i] = e.line
	}
	return out
}

// SequenceDiff describes the first difference of two event sequences (the
// real machine's a, the simulated client's b); "" when they are the same.
func SequenceDiff(a, b []string) string {
	for i := 0; i < len(a) || i < len(b); i++ {
		switch {
		case i >= len(a):
			return fmt.Sprintf("event %d: the simulated client has %q, the real machine nothing more", i+1, b[i])
		case i >= len(b):
			return fmt.Sprintf("event %d: the real machine has %q, the simulated client nothing more", i+1, a[i])
		case a[i] != b[i]:
			return fmt.Sprintf("event %d: the real machine has %q, the simulated client %q", i+1, a[i], b[i])
		}
	}
	return ""
}

package adopt

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
)

// ReadPxelinux reads pxelinux.cfg files named 01-<mac> (ARP type 1, the
// MAC with dashes): which machine boots which kernel. Each file becomes a
// host with that MAC (named host-<mac> unless the inventory already knows
// it) and labels for the entry it boots by default: pxelinux.kernel,
// pxelinux.initrd, pxelinux.ks (the ks= or inst.ks= argument) or
// pxelinux.boot=local for LOCALBOOT. Files named by address (C0000201),
// UUID or "default", other entries and kernel arguments are listed in Notes.
func ReadPxelinux(files []File) (*Result, error) {
	b := newBuilder()
	for _, f := range files {
		base := filepath.Base(f.Name)
		mac := ""
		if strings.HasPrefix(strings.ToLower(base), "01-") && len(base) == 20 {
			mac = normMAC(base)
		}
		if mac == "" {
			b.note(f.Name, "file "+base, "not named 01-<mac>: per-address, per-UUID and default files are not host entries; netkick writes its own")
			continue
		}
		labels, err := pxelinuxEntry(b, f)
		if err != nil {
			return nil, err
		}
		h := newHostWithLabels(mac, labels)
		b.add(f.Name, h)
	}
	r := b.done()
	// A pxelinux file names no host: the name given is a placeholder, not worth a note each.
	notes := r.Notes[:0]
	for _, n := range r.Notes {
		if !strings.Contains(n.Reason, "no host name in the source") {
			notes = append(notes, n)
		}
	}
	r.Notes = notes
	return r, nil
}

type pxeLabel struct {
	name, kernel, initrd, appendArgs string
	local                            bool
	line                             int
}

// pxelinuxEntry finds the entry a pxelinux file boots by default and
// returns it as labels.
func pxelinuxEntry(b *builder, f File) (map[string]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(f.Data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	var entries []*pxeLabel
	var cur *pxeLabel
	def, n := "", 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kw, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(kw) {
		case "DEFAULT":
			def = rest
		case "LABEL":
			cur = &pxeLabel{name: rest, line: n}
			entries = append(entries, cur)
		case "KERNEL", "LINUX":
			if cur == nil {
				cur = &pxeLabel{line: n}
				entries = append(entries, cur)
			}
			cur.kernel = rest
		case "INITRD":
			if cur != nil {
				cur.initrd = rest
			}
		case "APPEND":
			if cur != nil {
				cur.appendArgs = rest
			}
		case "LOCALBOOT":
			if cur != nil {
				cur.local = true
			}
		case "PROMPT", "TIMEOUT", "TOTALTIMEOUT", "MENU", "UI", "SAY", "DISPLAY", "ONTIMEOUT", "NOESCAPE", "ALLOWOPTIONS", "IPAPPEND", "SYSAPPEND", "TEXT", "ENDTEXT", "F1", "F2", "SERIAL":
		default:
			b.note(fmt.Sprintf("%s:%d", f.Name, n), line, "not a pxelinux directive netkick reads; not imported")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", f.Name, n+1, err)
	}
	var pick *pxeLabel
	for _, e := range entries {
		if def != "" && strings.EqualFold(e.name, def) {
			pick = e
		}
	}
	if pick == nil && def != "" && len(entries) == 0 {
		// "DEFAULT kernel args": the old one-line form.
		k, a, _ := strings.Cut(def, " ")
		pick = &pxeLabel{kernel: k, appendArgs: strings.TrimSpace(a)}
	}
	if pick == nil && len(entries) > 0 {
		pick = entries[0]
	}
	for _, e := range entries {
		if e != pick {
			b.note(fmt.Sprintf("%s:%d", f.Name, e.line), "label "+e.name, "not the entry booted by default; not imported")
		}
	}
	out := map[string]string{}
	if pick == nil {
		b.note(f.Name, "file", "no boot entry")
		return out, nil
	}
	if pick.local {
		out["pxelinux.boot"] = "local"
	}
	if pick.kernel != "" {
		out["pxelinux.kernel"] = pick.kernel
	}
	var rest []string
	for _, a := range strings.Fields(pick.appendArgs) {
		switch {
		case strings.HasPrefix(a, "initrd=") && pick.initrd == "":
			pick.initrd = strings.TrimPrefix(a, "initrd=")
		case strings.HasPrefix(a, "ks=") || strings.HasPrefix(a, "inst.ks="):
			_, v, _ := strings.Cut(a, "=")
			out["pxelinux.ks"] = v
		default:
			rest = append(rest, a)
		}
	}
	if pick.initrd != "" {
		out["pxelinux.initrd"] = pick.initrd
	}
	if len(rest) > 0 {
		b.note(f.Name, "kernel arguments "+quote(strings.Join(rest, " ")), "kernel arguments belong to a netkick profile (kernel_args); not imported per host")
	}
	for k, v := range out {
		if len(v) > 256 {
			b.note(f.Name, k+" "+quote(v), "longer than a label value may be (256 bytes); not imported")
			delete(out, k)
		}
	}
	return out, nil
}

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// hostName is the hostname bench/storm.sh gives machine i.
func hostName(i int) string { return fmt.Sprintf("storm-%06d", i) }

// personalise turns the config rendered for machine from into that of
// machine to: its MAC (colon and dash spellings), hostname and token.
func personalise(text string, from, to int, fromToken string) string {
	fm, tm := machineMAC(from).String(), machineMAC(to).String()
	return strings.NewReplacer(
		fm, tm,
		strings.ReplaceAll(fm, ":", "-"), strings.ReplaceAll(tm, ":", "-"),
		hostName(from), hostName(to),
		fromToken, staticToken(to),
	).Replace(text)
}

// staticToken is the token written into machine i's pre-rendered files.
func staticToken(i int) string {
	s := sha256.Sum256([]byte(machineMAC(i).String()))
	return hex.EncodeToString(s[:16])
}

// cmdPrerender writes the static tree the dnsmasq + nginx side serves, from
// what netkick rendered for machines 0 (BIOS) and 1 (UEFI).
func cmdPrerender(args []string) error {
	fs := flag.NewFlagSet("prerender", flag.ContinueOnError)
	n := fs.Int("n", 1, "machines")
	out := fs.String("out", "", "output directory (tftp/pxelinux.cfg, www/ipxe, www/ks)")
	pxe := fs.String("pxelinux", "", "pxelinux.cfg rendered for machine 0")
	ipxe := fs.String("ipxe", "", "iPXE script rendered for machine 1")
	ks0 := fs.String("ks0", "", "kickstart rendered for machine 0")
	ks1 := fs.String("ks1", "", "kickstart rendered for machine 1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *pxe == "" || *ipxe == "" || *ks0 == "" || *ks1 == "" {
		return errors.New("prerender: -out, -pxelinux, -ipxe, -ks0 and -ks1 are required")
	}
	read := func(p string) (string, error) { b, err := os.ReadFile(p); return string(b), err }
	var tpl [4]string
	for i, p := range []string{*pxe, *ipxe, *ks0, *ks1} {
		var err error
		if tpl[i], err = read(p); err != nil {
			return err
		}
	}
	tokens := [2]string{}
	for t := range 2 {
		e, err := parsePXELinux(tpl[0])
		if t == 1 {
			e, err = parseIPXE(tpl[1])
		}
		if err != nil {
			return err
		}
		_, tok, ok := strings.Cut(e.Kickstart, "token=")
		if !ok {
			return fmt.Errorf("prerender: no token in the ks= URL %q of machine %d", e.Kickstart, t)
		}
		tokens[t] = tok
	}
	for _, d := range []string{"tftp/pxelinux.cfg", "www/ipxe", "www/ks"} {
		if err := os.MkdirAll(filepath.Join(*out, d), 0o755); err != nil {
			return err
		}
	}
	for i := range *n {
		t := i % 2
		mac := machineMAC(i).String()
		dash := strings.ReplaceAll(mac, ":", "-")
		files := map[string]string{filepath.Join("www/ks", mac): personalise(tpl[2+t], t, i, tokens[t])}
		if t == 0 {
			files[filepath.Join("tftp/pxelinux.cfg", "01-"+dash)] = personalise(tpl[0], 0, i, tokens[0])
		} else {
			files[filepath.Join("www/ipxe", dash+".ipxe")] = personalise(tpl[1], 1, i, tokens[1])
		}
		for p, text := range files {
			if err := os.WriteFile(filepath.Join(*out, p), []byte(text), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// expandIPXE expands the iPXE settings a boot URL may carry for the MAC.
func expandIPXE(s, mac string) string {
	dash := strings.ReplaceAll(mac, ":", "-")
	return strings.NewReplacer(
		"${net0/mac:hexhyp}", dash, "${mac:hexhyp}", dash,
		"${net0/mac}", mac, "${mac}", mac,
	).Replace(s)
}

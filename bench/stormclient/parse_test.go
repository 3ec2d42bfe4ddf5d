package main

import (
	"strings"
	"testing"
)

func TestParsePXELinux(t *testing.T) {
	tests := []struct {
		name, cfg      string
		kernel, initrd string
		ks, err        string
	}{
		{name: "netkick install entry",
			cfg:    "# netkick: host h1\nDEFAULT install\nPROMPT 0\nLABEL install\n  KERNEL c7/vmlinuz\n  APPEND initrd=c7/initrd.img ks=http://198.18.0.1:8080/ks/52:54:00:00:00:01?token=ab12 ip=dhcp\n  IPAPPEND 2\n",
			kernel: "c7/vmlinuz", initrd: "c7/initrd.img", ks: "http://198.18.0.1:8080/ks/52:54:00:00:00:01?token=ab12"},
		{name: "LINUX and INITRD lines, inst.ks",
			cfg:    "default x\nlabel x\nlinux /images/vmlinuz\ninitrd /images/initrd.img,/extra.img\nappend inst.ks=http://s/ks.cfg\n",
			kernel: "/images/vmlinuz", initrd: "/images/initrd.img,/extra.img", ks: "http://s/ks.cfg"},
		{name: "local boot", cfg: "DEFAULT local\nLABEL local\n  LOCALBOOT 0\n", err: "boots the local disk"},
		{name: "no kickstart", cfg: "KERNEL k\nAPPEND initrd=i\n", err: "no ks="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parsePXELinux(tc.cfg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Kernel != tc.kernel || e.Initrd != tc.initrd || e.Kickstart != tc.ks {
				t.Errorf("got %+v, want kernel %q initrd %q ks %q", e, tc.kernel, tc.initrd, tc.ks)
			}
		})
	}
}

func TestParseIPXE(t *testing.T) {
	tests := []struct {
		name, script   string
		kernel, initrd string
		ks, err        string
	}{
		{name: "netkick install script",
			script: "#!ipxe\n# netkick: host h2\nkernel http://198.18.0.1:8080/boot/c7/vmlinuz initrd=initrd.img ks=http://198.18.0.1:8080/ks/52:54:00:00:00:02?token=cd34 BOOTIF=01-52-54-00-00-00-02\ninitrd --name initrd.img http://198.18.0.1:8080/boot/c7/initrd.img\nboot\n",
			kernel: "http://198.18.0.1:8080/boot/c7/vmlinuz", initrd: "http://198.18.0.1:8080/boot/c7/initrd.img", ks: "http://198.18.0.1:8080/ks/52:54:00:00:00:02?token=cd34"},
		{name: "exit on EFI", script: "#!ipxe\n# not in build mode\nexit\n", err: "boots the local disk"},
		{name: "not a script", script: "<html>404</html>", err: "#!ipxe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parseIPXE(tc.script)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Kernel != tc.kernel || e.Initrd != tc.initrd || e.Kickstart != tc.ks {
				t.Errorf("got %+v, want kernel %q initrd %q ks %q", e, tc.kernel, tc.initrd, tc.ks)
			}
		})
	}
}

func TestCallbackURL(t *testing.T) {
	ks := "%post\nnetkick_report 'http://198.18.0.1:8080/api/v1/hosts/52:54:00:00:00:01/built?token=0d88'\n%end\n"
	got, err := callbackURL(ks)
	if want := "http://198.18.0.1:8080/api/v1/hosts/52:54:00:00:00:01/built?token=0d88"; err != nil || got != want {
		t.Errorf("callbackURL = %q, %v; want %q", got, err, want)
	}
	if _, err := callbackURL("%packages\n@core\n%end\n"); err == nil {
		t.Error("a kickstart without a callback gave no error")
	}
}

func TestTFTPPath(t *testing.T) {
	for in, want := range map[string]string{"c7/vmlinuz": "c7/vmlinuz", "/c7/vmlinuz": "c7/vmlinuz", "::c7/k": "c7/k", "tftp://198.18.0.1/c7/k": "c7/k"} {
		if got := tftpPath(in); got != want {
			t.Errorf("tftpPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummarise(t *testing.T) {
	ms := []machineResult{
		{MAC: "a", OK: true, End: 3, Stages: []stageResult{{Name: "dhcp", Seconds: 1}, {Name: "kernel", Seconds: 2}}},
		{MAC: "b", OK: true, End: 5, Stages: []stageResult{{Name: "dhcp", Seconds: 3, Retries: 1}, {Name: "kernel", Seconds: 1}}},
		{MAC: "c", OK: false, End: 9, Stages: []stageResult{{Name: "dhcp", Seconds: 2}, {Name: "kernel", Seconds: 7, Retries: 2, Err: "timeout"}}},
	}
	s := summarise("x", ms)
	if s.Machines != 3 || s.Failed != 1 || s.Last != 9 {
		t.Fatalf("machines %d failed %d last %v, want 3 1 9", s.Machines, s.Failed, s.Last)
	}
	if s.EndP50 != 5 || s.EndP99 != 9 {
		t.Errorf("machine finish p50 %v p99 %v, want 5 and 9", s.EndP50, s.EndP99)
	}
	want := []stageSummary{{Name: "dhcp", Count: 3, P50: 2, P99: 3, Retries: 1}, {Name: "kernel", Count: 2, P50: 1, P99: 2, Retries: 2, Failures: 1}}
	for i, w := range want {
		if s.Stages[i] != w {
			t.Errorf("stage %d = %+v, want %+v", i, s.Stages[i], w)
		}
	}
	if len(s.FirstErrs) != 1 || !strings.Contains(s.FirstErrs[0], "c kernel: timeout") {
		t.Errorf("first errors %q", s.FirstErrs)
	}
}

func TestPercentile(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(i + 1)
	}
	if p := percentile(v, 50); p != 50 {
		t.Errorf("p50 = %v, want 50", p)
	}
	if p := percentile(v, 99); p != 99 {
		t.Errorf("p99 = %v, want 99", p)
	}
	if p := percentile(nil, 99); p != 0 {
		t.Errorf("p99 of nothing = %v", p)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median = %v, want 2.5", m)
	}
}

func TestPersonalise(t *testing.T) {
	in := "# host storm-000001 (52:54:00:00:00:01)\nkernel k ks=http://s/ks/52:54:00:00:00:01?token=abc BOOTIF=01-52-54-00-00-00-01\n"
	got := personalise(in, 1, 0x10203, "abc")
	want := "# host storm-066051 (52:54:00:01:02:03)\nkernel k ks=http://s/ks/52:54:00:01:02:03?token=" + staticToken(0x10203) + " BOOTIF=01-52-54-00-01-02-03\n"
	if got != want {
		t.Errorf("personalise:\n got %q\nwant %q", got, want)
	}
	if got := expandIPXE("http://s/boot.ipxe?mac=${net0/mac:hexhyp}", "52:54:00:00:00:01"); got != "http://s/boot.ipxe?mac=52-54-00-00-00-01" {
		t.Errorf("expandIPXE = %q", got)
	}
}

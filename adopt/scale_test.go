package adopt

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkick/netkick/internal/testenv"
)

// siteSize is the number of machines of the generated site configurations:
// the size at which dnsmasq sites are known to move to Kea.
const siteSize = 4000

// siteMAC and siteIP are machine i's MAC and address (10.20.0.0/16).
func siteMAC(i int) string {
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff)
}
func siteIP(i int) string { return fmt.Sprintf("10.20.%d.%d", (i+10)/250, (i+10)%250+1) }

// TestReadersAtSiteScale generates a site of siteSize machines in each
// DHCP server's format, has the daemon itself check the file, and reads it:
// every machine is imported with its MAC, name and address, and nothing else
// is reported. The fixtures under testdata show the syntax variants; this
// shows the readers hold a whole site.
func TestReadersAtSiteScale(t *testing.T) {
	var dnsmasq, dhcpd, kea strings.Builder
	dnsmasq.WriteString("dhcp-range=10.20.200.1,10.20.250.250,255.255.0.0,12h\n")
	dhcpd.WriteString("subnet 10.20.0.0 netmask 255.255.0.0 {\n  range 10.20.200.1 10.20.250.250;\n")
	kea.WriteString(`{"Dhcp4": {"interfaces-config": {"interfaces": ["lo"]}, "lease-database": {"type": "memfile", "persist": false},
"subnet4": [{"id": 1, "subnet": "10.20.0.0/16", "pools": [{"pool": "10.20.200.1 - 10.20.250.250"}], "reservations": [
`)
	for i := 0; i < siteSize; i++ {
		name := fmt.Sprintf("node%04d", i)
		fmt.Fprintf(&dnsmasq, "dhcp-host=%s,%s,%s\n", siteMAC(i), name, siteIP(i))
		fmt.Fprintf(&dhcpd, "  host %s { hardware ethernet %s; fixed-address %s; }\n", name, siteMAC(i), siteIP(i))
		sep := ","
		if i == siteSize-1 {
			sep = ""
		}
		fmt.Fprintf(&kea, "{\"hw-address\": %q, \"ip-address\": %q, \"hostname\": %q}%s\n", siteMAC(i), siteIP(i), name, sep)
	}
	dhcpd.WriteString("}\n")
	kea.WriteString("]}]}}\n")
	dir := t.TempDir()
	for _, tc := range []struct {
		format, file, text string
		check              []string // the daemon's own check; FILE is the path
		notes              int      // the pool/subnet lines reported
	}{
		{"dnsmasq", "dnsmasq.conf", dnsmasq.String(), []string{"dnsmasq", "--test", "-C", "FILE"}, 1},
		{"dhcpd", "dhcpd.conf", dhcpd.String(), []string{"dhcpd", "-t", "-cf", "FILE"}, 2},
		{"kea", "kea-dhcp4.conf", kea.String(), []string{"kea-dhcp4", "-t", "FILE"}, 2},
	} {
		t.Run(tc.format, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			bin := testenv.RequireProgram(t, tc.check[0])
			args := append([]string(nil), tc.check[1:]...)
			for i := range args {
				if args[i] == "FILE" {
					args[i] = p
				}
			}
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
			}
			r, err := Read(tc.format, mustRead(t, p))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Dump.Hosts) != siteSize || len(r.Notes) != tc.notes {
				t.Fatalf("%d hosts and %d notes, want %d hosts and %d notes (pools and subnets): %v", len(r.Dump.Hosts), len(r.Notes), siteSize, tc.notes, r.Notes)
			}
			for _, i := range []int{0, 1234, siteSize - 1} {
				h := r.Dump.Hosts[hostByName(t, r, fmt.Sprintf("node%04d", i))]
				if h.MACs[0] != siteMAC(i) || h.IP != siteIP(i) {
					t.Fatalf("node%04d = %v %s, want %s %s", i, h.MACs, h.IP, siteMAC(i), siteIP(i))
				}
			}
			if err := r.Dump.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

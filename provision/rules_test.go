package provision

import (
	"errors"
	"strings"
	"testing"

	"github.com/netkick/netkick/inventory"
)

func TestCheckTimezone(t *testing.T) {
	for _, tc := range []struct {
		name, zone, err string
	}{
		{"city zone", "Europe/Paris", ""},
		{"utc", "UTC", ""},
		{"three parts", "America/Argentina/Buenos_Aires", ""},
		{"tokyo", "Asia/Tokyo", ""},
		{"made up", "Mars/Olympus", "not an IANA zone"},
		{"local is the server's", "Local", "Local means the server's own zone"},
		{"path", "../../etc/passwd", "want an Olson name"},
		{"shell", "UTC;reboot", "want an Olson name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTimezone(tc.zone)
			check(t, err, tc.err, inventory.ErrInvalid)
		})
	}
}

func TestCheckParam(t *testing.T) {
	for _, tc := range []struct {
		name, k, v, err string
	}{
		{"console", "console", "ttyS0,115200n8", ""},
		{"console plain", "console", "tty0", ""},
		{"console with a command", "console", "ttyS0;reboot", "want a console device"},
		{"kernel args", "kernel_args", "quiet nomodeset inst.sshd=1", ""},
		{"kernel args with shell", "kernel_args", "quiet $(reboot)", "no shell or loader characters"},
		{"kernel args with quote", "kernel_args", `a="b"`, "no shell or loader characters"},
		{"bootloader", "bootloader", "snponly", ""},
		{"bootloader grub for Secure Boot", "bootloader", "grub", ""},
		{"bootloader unknown", "bootloader", "grub9", "want pxelinux, ipxe"},
		{"ntp name", "ntp_server", "ntp1.example.org", ""},
		{"ntp ip", "ntp_server", "192.0.2.5", ""},
		{"ntp shell", "ntp_server", "a;b", "host name or an IPv4"},
		{"weight", "lvs_weight", "0", ""},
		{"weight negative", "lvs_weight", "-1", "from 0 to 65535"},
		{"port zero", "lvs_port", "0", "from 1 to 65535"},
		{"port", "lvs_port", "8080", ""},
		{"lvs address", "lvs_address", "192.0.2.21", ""},
		{"lvs address v6", "lvs_address", "2001:db8::1", "IPv4"},
		{"lvs clusters", "lvs_clusters", "web,mail", ""},
		{"lvs clusters bad", "lvs_clusters", "web;mail", "cluster names separated by commas"},
		{"unknown key, any printable value", "rack_note", "row 3; left", ""},
		{"unknown key, control character", "rack_note", "a\nb", "printable"},
		{"bad key", "Rack Note", "x", "use 1-63 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, CheckParam(tc.k, tc.v), tc.err, inventory.ErrInvalid)
		})
	}
}

func TestCheckHostReferences(t *testing.T) {
	k := NewKnown([]inventory.Profile{{Name: "centos-7.9"}}, []inventory.Layout{{Name: "db"}}, []inventory.Cluster{{Name: "web"}})
	base := func() inventory.Host {
		return inventory.Host{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01", Profile: "centos-7.9"}
	}
	for _, tc := range []struct {
		name string
		edit func(*inventory.Host)
		err  string
	}{
		{"all exist", func(h *inventory.Host) { h.Layout, h.Cluster = "db", "web" }, ""},
		{"built-in layout", func(h *inventory.Host) { h.Layout = "home-opt" }, ""},
		{"no profile yet", func(h *inventory.Host) { h.Profile = "" }, ""},
		{"missing profile", func(h *inventory.Host) { h.Profile = "nosuch" }, "host a01: profile nosuch does not exist"},
		{"missing layout", func(h *inventory.Host) { h.Layout = "nosuch" }, "host a01: layout nosuch does not exist"},
		{"missing cluster", func(h *inventory.Host) { h.Cluster = "nosuch" }, "host a01: cluster nosuch does not exist"},
		{"missing cluster in lvs_clusters", func(h *inventory.Host) { h.Params = map[string]string{"lvs_clusters": "web,mail"} }, "cluster mail does not exist"},
		{"unreal zone", func(h *inventory.Host) { h.Timezone = "Mars/Olympus" }, "not an IANA zone"},
		{"param reaching a kernel command line", func(h *inventory.Host) { h.Params = map[string]string{"console": "ttyS0;reboot"} }, "param console="},
		{"hostname with a command", func(h *inventory.Host) { h.Hostname = "a$(reboot)" }, "RFC 1123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			tc.edit(&h)
			check(t, CheckHost(&h, k), tc.err, inventory.ErrInvalid)
		})
	}
	h := base()
	h.Profile = "nosuch"
	if hint := HintOf(CheckHost(&h, k)); !strings.Contains(hint, "centos-7.9") {
		t.Fatalf("hint %q does not list the profiles that exist", hint)
	}
}

func TestUsers(t *testing.T) {
	u := Users{
		Hosts: []inventory.Host{
			{MACs: []string{"52:54:00:00:00:01"}, Hostname: "a01", Profile: "c7", Cluster: "web"},
			{MACs: []string{"52:54:00:00:00:02"}, Hostname: "b02", Profile: "c7", Layout: "db", Params: map[string]string{"lvs_clusters": "mail"}},
		},
		Profiles: []inventory.Profile{{Name: "c7", Layout: "db"}},
		Clusters: []inventory.Cluster{{Name: "web", Primary: "a01", Backup: "52-54-00-00-00-02"}},
	}
	for _, tc := range []struct {
		name string
		got  []string
		want string
	}{
		{"profile", ProfileUsers("c7", u), "host a01,host b02"},
		{"unused profile", ProfileUsers("c6", u), ""},
		{"layout", LayoutUsers("db", u), "host b02,profile c7"},
		{"cluster by field", ClusterUsers("web", u), "host a01"},
		{"cluster by param", ClusterUsers("mail", u), "host b02"},
		{"director by name", HostUsers(&u.Hosts[0], u), "cluster web (primary)"},
		{"director by MAC spelling", HostUsers(&u.Hosts[1], u), "cluster web (backup)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(tc.got, ","); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// check asserts err is nil (want "") or of kind and contains want.
func check(t *testing.T, err error, want string, kind error) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == "":
	case err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	case kind != nil && !errors.Is(err, kind):
		t.Fatalf("error %q is not %v", err, kind)
	}
}

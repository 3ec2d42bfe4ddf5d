package urls

import "testing"

func TestURLs(t *testing.T) {
	u, err := New("http://192.0.2.1:8080/")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"base", u.Base(), "http://192.0.2.1:8080"},
		{"kickstart", u.Kickstart("52:54:00:00:00:01", "abc"), "http://192.0.2.1:8080/ks/52:54:00:00:00:01?token=abc"},
		{"kickstart without token", u.Kickstart("52:54:00:00:00:01", ""), "http://192.0.2.1:8080/ks/52:54:00:00:00:01"},
		{"token escaped", u.Kickstart("52:54:00:00:00:01", "a b&c=d"), "http://192.0.2.1:8080/ks/52:54:00:00:00:01?token=a+b%26c%3Dd"},
		{"report", u.Report("52:54:00:00:00:01", "built", "t/1"), "http://192.0.2.1:8080/api/v1/hosts/52:54:00:00:00:01/built?token=t%2F1"},
		{"boot root", u.BootRoot(), "http://192.0.2.1:8080/boot/"},
		{"boot file", u.BootFile("/ipxe.efi"), "http://192.0.2.1:8080/boot/ipxe.efi"},
		{"install tree", u.InstallTree("centos-7.9"), "http://192.0.2.1:8080/boot/centos-7.9/os/"},
		{"repo", u.Repo("cpan"), "http://192.0.2.1:8080/repo/cpan/"},
		{"ipxe", u.IPXEScript("52-54-00-00-00-01", "efi"), "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-00-00-01&platform=efi"},
		{"ipxe without platform", u.IPXEScript("52-54-00-00-00-01", ""), "http://192.0.2.1:8080/boot.ipxe?mac=52-54-00-00-00-01"},
		{"fallback kept", URLs{}.Or("http://h:1/").Base(), "http://h:1"},
		{"no fallback needed", u.Or("http://h:1").Base(), "http://192.0.2.1:8080"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q want %q", tc.name, tc.got, tc.want)
		}
	}
	for _, bad := range []string{"", "192.0.2.1:8080", "ftp://h/", "http://", "http://h/?x=1", "http://u:p@h/"} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

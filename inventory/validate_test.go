package inventory

import (
	"errors"
	"testing"
)

func TestNormalizeMAC(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"colon lower", "aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff", true},
		{"colon upper", "AA:BB:CC:DD:EE:0F", "aa:bb:cc:dd:ee:0f", true},
		{"dash", "AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff", true},
		{"cisco dots", "aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff", true},
		{"bare", "AABBCCDDEEFF", "aa:bb:cc:dd:ee:ff", true},
		{"pxelinux form", "01-aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff", true},
		{"spaces trimmed", " aa:bb:cc:dd:ee:ff ", "aa:bb:cc:dd:ee:ff", true},
		{"mixed separators", "aa:bb-cc:dd:ee:ff", "", false},
		{"too short", "aa:bb:cc:dd:ee", "", false},
		{"not hex", "zz:bb:cc:dd:ee:ff", "", false},
		{"injection", "aa:bb:cc:dd:ee:f;", "", false},
		{"path", "../../etc/passwd", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeMAC(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("NormalizeMAC(%q) err=%v, want ok=%v", tc.in, err, tc.ok)
			}
			if got != tc.want {
				t.Fatalf("NormalizeMAC(%q)=%q want %q", tc.in, got, tc.want)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestValidateHostname(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"short", "a01", true},
		{"fqdn", "a01.example.com", true},
		{"upper", "A01", true},
		{"command substitution", "a$(reboot)", false},
		{"backticks", "a`id`", false},
		{"space", "a b", false},
		{"leading dash", "-a", false},
		{"trailing dash", "a-", false},
		{"underscore", "a_b", false},
		{"empty label", "a..b", false},
		{"quote", "a'b", false},
		{"newline", "a\nb", false},
		{"64 char label", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateHostname(tc.in); (err == nil) != tc.ok {
				t.Fatalf("ValidateHostname(%q)=%v want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestValidateValuesAndNames(t *testing.T) {
	tests := []struct {
		name string
		fn   func() error
		ok   bool
	}{
		{"role ok", func() error { return ValidateName("role", "lvs-director") }, true},
		{"role upper", func() error { return ValidateName("role", "LVS") }, false},
		{"role shell", func() error { return ValidateName("role", "a;b") }, false},
		{"value with quote is allowed (quoted at render)", func() error { return ValidateValue("p", "it's") }, true},
		{"value newline", func() error { return ValidateValue("p", "a\nreboot") }, false},
		{"value NUL", func() error { return ValidateValue("p", "a\x00") }, false},
		{"value too long", func() error { return ValidateValue("p", string(make([]byte, 300))) }, false},
		{"tz ok", func() error { return ValidateTimezone("America/Argentina/Buenos_Aires") }, true},
		{"tz utc", func() error { return ValidateTimezone("UTC") }, true},
		{"tz traversal", func() error { return ValidateTimezone("../../etc/passwd") }, false},
		{"tz shell", func() error { return ValidateTimezone("Europe/$(id)") }, false},
		{"crypt sha512", func() error { return ValidateCryptHash("$6$abcdefgh$" + "x/Y.zz") }, true},
		{"clear text password", func() error { return ValidateCryptHash("hunter2") }, false},
		{"ip ok", func() error { return ValidateIPv4("ip", "192.0.2.10") }, true},
		{"ip v6", func() error { return ValidateIPv4("ip", "2001:db8::1") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(); (err == nil) != tc.ok {
				t.Fatalf("got %v want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestValidateProfileBootLoader(t *testing.T) {
	tests := []struct {
		name, loader string
		ok           bool
	}{
		{"empty picks by firmware", "", true},
		{"pxelinux", "pxelinux", true},
		{"ipxe", "ipxe", true},
		{"undionly", "undionly", true},
		{"snponly for UEFI NICs", "snponly", true},
		{"grub for Secure Boot", "grub", true},
		{"unknown", "grub2", false},
		{"case matters", "PXELINUX", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Profile{Name: "c7", OS: "centos", Version: "7.9", Kernel: "c7/vmlinuz", Initrd: "c7/initrd.img", BootLoader: tc.loader}
			err := ValidateProfile(p)
			if (err == nil) != tc.ok {
				t.Errorf("ValidateProfile(bootloader %q) = %v, want ok=%v", tc.loader, err, tc.ok)
			}
		})
	}
}

func TestValidateProfileShim(t *testing.T) {
	tests := []struct {
		name, shim string
		ok         bool
	}{
		{"empty: the boot root's shimx64.efi", "", true},
		{"profile's own", "rocky-9.4/shimx64.efi", true},
		{"absolute refused", "/srv/shimx64.efi", false},
		{"parent refused", "../shimx64.efi", false},
		{"quote refused", "a'b/shimx64.efi", false},
		{"not an EFI binary", "rocky-9.4/vmlinuz", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Profile{Name: "r9", OS: "rocky", Version: "9.4", Kernel: "r9/vmlinuz", Initrd: "r9/initrd.img", BootLoader: "grub", Shim: tc.shim}
			if err := ValidateProfile(p); (err == nil) != tc.ok {
				t.Errorf("ValidateProfile(shim %q) = %v, want ok=%v", tc.shim, err, tc.ok)
			}
		})
	}
}

package inventory

import (
	"os/exec"
	"strings"
	"testing"
)

func TestSHA512Crypt(t *testing.T) {
	tests := []struct {
		name, password, salt string
		rounds               int
		want                 string
	}{
		// Published test vectors of the SHA-crypt specification.
		{"spec default rounds", "Hello world!", "saltstring", 5000, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"spec 10000 rounds", "Hello world!", "saltstringsaltstring", 10000, "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"spec rounds below the minimum", "the minimum number is still observed", "roundstoolow", 10, "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
		// The demo hosts' hash, as `openssl passwd -6 -salt netkickdemo demo` prints it.
		{"openssl demo", "demo", "netkickdemo", 5000, "$6$netkickdemo$pWZGA3.fG3FSoohKru8UqeVkJ04nPjpZHvelrWyd2P.Y92G04TKO5aV3LHMzDiYpIN.gAUdW.XP5OiLKJ1wz30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SHA512Crypt(tc.password, tc.salt, tc.rounds); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestHashPasswordMatchesOpenSSL(t *testing.T) {
	h, err := HashPassword("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateCryptHash(h); err != nil {
		t.Fatal(err)
	}
	salt := strings.Split(h, "$")[2]
	out, err := exec.Command("openssl", "passwd", "-6", "-salt", salt, "s3cret pass").Output()
	if err != nil {
		t.Skipf("openssl: %v", err)
	}
	if strings.TrimSpace(string(out)) != h {
		t.Fatalf("openssl %s, we %s", out, h)
	}
}

package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type testSub struct {
	CIDR  string   `yaml:"cidr"`
	Pools []string `yaml:"pools"`
}

type testInner struct {
	Mode    string    `yaml:"mode"`
	Rate    float64   `yaml:"offer_rate,omitempty"`
	Relays  []string  `yaml:"relays"`
	Subnets []testSub `yaml:"subnets"`
}

type testCfg struct {
	HTTP     string        `yaml:"http"`
	Data     string        `yaml:"data"`
	Demo     bool          `yaml:"demo"`
	TTL      time.Duration `yaml:"token_ttl"`
	Max      int           `yaml:"tftp_max_transfers"`
	Renamed  string        `yaml:"odd_one" flag:"odd" env:"ODD_VAR"`
	Ignored  string        `yaml:"-"`
	DHCP     testInner     `yaml:"dhcp"`
	unexport string
}

func testKeys() []Key {
	ks := Keys(reflect.TypeOf(testCfg{}), "NETKICK")
	for i := range ks {
		if ks[i].Path == "dhcp.mode" {
			ks[i].Choices = []string{"full", "proxy", "off"}
		}
	}
	return ks
}

func defaults() testCfg {
	return testCfg{HTTP: ":8080", Data: "./netkick-data", TTL: 6 * time.Hour, Max: 1024, DHCP: testInner{Mode: "off"}}
}

// TestKeysNames: every leaf has a path, a flag and a variable derived from
// its yaml tags; tags override them; "-" and unexported fields are no keys.
func TestKeysNames(t *testing.T) {
	var got []string
	for _, k := range testKeys() {
		got = append(got, k.Path+" --"+k.Flag+" $"+k.Env+" "+k.TypeName())
	}
	want := []string{
		"http --http $NETKICK_HTTP string",
		"data --data $NETKICK_DATA string",
		"demo --demo $NETKICK_DEMO bool",
		"token_ttl --token-ttl $NETKICK_TOKEN_TTL duration",
		"tftp_max_transfers --tftp-max-transfers $NETKICK_TFTP_MAX_TRANSFERS integer",
		"odd_one --odd $ODD_VAR string",
		"dhcp.mode --dhcp-mode $NETKICK_DHCP_MODE string",
		"dhcp.offer_rate --dhcp-offer-rate $NETKICK_DHCP_OFFER_RATE number",
		"dhcp.relays --dhcp-relays $NETKICK_DHCP_RELAYS list of strings",
		"dhcp.subnets --dhcp-subnets $NETKICK_DHCP_SUBNETS list of objects",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("keys:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// load runs Load with a file (when not empty), a fake environment and the
// command line args, on flags Register made.
func load(t *testing.T, file string, env map[string]string, args ...string) (testCfg, error) {
	t.Helper()
	keys := testKeys()
	def := defaults()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	Register(fs, keys, &def, nil, func(k Key) string { return k.Path })
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	src := Sources{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Flags: fs}
	if file != "" {
		src.File = filepath.Join(t.TempDir(), "netkick.yaml")
		if err := os.WriteFile(src.File, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := defaults()
	err := Load(&cfg, keys, src)
	return cfg, err
}

// TestPrecedence: flag > environment > file > default, key by key.
func TestPrecedence(t *testing.T) {
	const file = "http: \":1\"\ntoken_ttl: 1h\ndhcp:\n  mode: proxy\n  relays: [192.0.2.1]\n"
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		args []string
		want func(*testCfg)
	}{
		{name: "defaults alone", want: func(*testCfg) {}},
		{name: "file over default", file: file, want: func(c *testCfg) {
			c.HTTP, c.TTL, c.DHCP.Mode, c.DHCP.Relays = ":1", time.Hour, "proxy", []string{"192.0.2.1"}
		}},
		{name: "environment over file", file: file, env: map[string]string{"NETKICK_HTTP": ":2", "NETKICK_DHCP_RELAYS": "192.0.2.2, 192.0.2.3"},
			want: func(c *testCfg) {
				c.HTTP, c.TTL, c.DHCP.Mode, c.DHCP.Relays = ":2", time.Hour, "proxy", []string{"192.0.2.2", "192.0.2.3"}
			}},
		{name: "flag over environment and file", file: file, env: map[string]string{"NETKICK_HTTP": ":2", "NETKICK_TOKEN_TTL": "2h"},
			args: []string{"--http", ":3", "--dhcp-mode=full"}, want: func(c *testCfg) {
				c.HTTP, c.TTL, c.DHCP.Mode, c.DHCP.Relays = ":3", 2*time.Hour, "full", []string{"192.0.2.1"}
			}},
		{name: "a list flag given twice holds both", args: []string{"--dhcp-relays", "192.0.2.5", "--dhcp-relays=192.0.2.6,192.0.2.7"},
			want: func(c *testCfg) { c.DHCP.Relays = []string{"192.0.2.5", "192.0.2.6", "192.0.2.7"} }},
		{name: "empty variable is unset", env: map[string]string{"NETKICK_DATA": ""}, want: func(*testCfg) {}},
		{name: "bool flag without value", env: map[string]string{"NETKICK_DEMO": "false"}, args: []string{"--demo"}, want: func(c *testCfg) { c.Demo = true }},
		{name: "bool flag false over environment", env: map[string]string{"NETKICK_DEMO": "true"}, args: []string{"--demo=false"}, want: func(*testCfg) {}},
		{name: "renamed flag and variable", env: map[string]string{"ODD_VAR": "e"}, args: nil, want: func(c *testCfg) { c.Renamed = "e" }},
		{name: "list of objects from the environment as YAML", env: map[string]string{"NETKICK_DHCP_SUBNETS": "[{cidr: 192.0.2.0/24, pools: [192.0.2.10-192.0.2.20]}]"},
			want: func(c *testCfg) {
				c.DHCP.Subnets = []testSub{{CIDR: "192.0.2.0/24", Pools: []string{"192.0.2.10-192.0.2.20"}}}
			}},
		{name: "file sets a nested list of objects", file: "dhcp:\n  subnets:\n    - cidr: 192.0.2.0/24\n      pools: [\"192.0.2.5\"]\n",
			want: func(c *testCfg) { c.DHCP.Subnets = []testSub{{CIDR: "192.0.2.0/24", Pools: []string{"192.0.2.5"}}} }},
		{name: "empty file sets nothing", file: "# nothing\n", want: func(*testCfg) {}},
		{name: "a key without a value keeps its default", file: "http:\ndhcp:\n", want: func(*testCfg) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := load(t, tc.file, tc.env, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			want := defaults()
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestErrors: a bad value names the key, where it came from (flag,
// variable, file and line) and what is accepted, whatever the source.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		args []string
		want []string // substrings of the error, in order
	}{
		{name: "duration from a flag", args: []string{"--token-ttl", "6 hours"},
			want: []string{`config key token_ttl, from flag --token-ttl: "6 hours" is not accepted: want a duration such as 90s`}},
		{name: "duration from the environment", env: map[string]string{"NETKICK_TOKEN_TTL": "soon"},
			want: []string{`config key token_ttl, from environment NETKICK_TOKEN_TTL: "soon" is not accepted: want a duration`}},
		{name: "duration from the file with its line", file: "http: \":1\"\ntoken_ttl: soon\n",
			want: []string{`config key token_ttl, from file `, `netkick.yaml:2: "soon" is not accepted: want a duration`}},
		{name: "integer", env: map[string]string{"NETKICK_TFTP_MAX_TRANSFERS": "many"},
			want: []string{`config key tftp_max_transfers, from environment NETKICK_TFTP_MAX_TRANSFERS: "many" is not accepted: want a whole number`}},
		{name: "bool", args: []string{"--demo=yes please"}, want: []string{`config key demo, from flag --demo: "yes please" is not accepted: want true or false`}},
		{name: "choice from a flag", args: []string{"--dhcp-mode", "ful"},
			want: []string{`config key dhcp.mode, from flag --dhcp-mode: "ful" is not accepted: want one of full, proxy, off`}},
		{name: "choice from the file", file: "dhcp:\n  mode: sometimes\n",
			want: []string{`config key dhcp.mode, from file `, `netkick.yaml:2: "sometimes" is not accepted: want one of full, proxy, off`}},
		{name: "unknown key with a suggestion", file: "tftp_max_transfer: 3\n",
			want: []string{`netkick.yaml:1: unknown key "tftp_max_transfer"; did you mean "tftp_max_transfers"?`}},
		{name: "unknown nested key lists the known ones", file: "dhcp:\n  colour: blue\n",
			want: []string{`netkick.yaml:2: unknown key "dhcp.colour" (known here: mode, offer_rate, relays, subnets)`}},
		{name: "block where a value belongs", file: "http:\n  port: 8080\n",
			want: []string{`config key http, from file `, `netkick.yaml:2: "a block of keys" is not accepted: want a string`}},
		{name: "list item of the wrong type", file: "dhcp:\n  subnets:\n    - cidr: [1, 2]\n",
			want: []string{`config key dhcp.subnets[].cidr, from file `, `netkick.yaml:3: "a list" is not accepted`}},
		{name: "not YAML", file: "http: [\n", want: []string{"not YAML"}},
		{name: "environment YAML list broken", env: map[string]string{"NETKICK_DHCP_SUBNETS": "[{cidr: "},
			want: []string{`config key dhcp.subnets, from environment NETKICK_DHCP_SUBNETS`, "want a YAML list of objects"}},
		{name: "every bad value is reported", env: map[string]string{"NETKICK_TOKEN_TTL": "x"}, args: []string{"--tftp-max-transfers", "y"},
			want: []string{"environment NETKICK_TOKEN_TTL", "flag --tftp-max-transfers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.file, tc.env, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (in order)", msg, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestMissingFile names the file and the flag to fix it.
func TestMissingFile(t *testing.T) {
	cfg := defaults()
	err := Load(&cfg, testKeys(), Sources{File: filepath.Join(t.TempDir(), "nope.yaml")})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("err %v: want the file and --config named", err)
	}
}

// TestRegisterHelp: flags carry their type and default for --help; a
// flag already defined (a global one) is left alone and still applies.
func TestRegisterHelp(t *testing.T) {
	keys := testKeys()
	def := defaults()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	var data string
	fs.StringVar(&data, "data", "", "global data flag")
	Register(fs, keys, &def, map[string]bool{"odd": true}, func(k Key) string { return "sets " + k.Path })
	if f := fs.Lookup("token-ttl"); f == nil || f.DefValue != "6h0m0s" || f.Value.Type() != "duration" || f.Usage != "sets token_ttl" {
		t.Errorf("token-ttl flag: %+v", f)
	}
	if fs.Lookup("odd") != nil {
		t.Error("skipped flag registered")
	}
	if f := fs.Lookup("data"); f.Usage != "global data flag" {
		t.Errorf("global flag replaced: %+v", f)
	}
	if err := fs.Parse([]string{"--data", "/srv/nk"}); err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	if err := Load(&cfg, keys, Sources{Flags: fs}); err != nil || cfg.Data != "/srv/nk" {
		t.Fatalf("global flag: %q, %v", cfg.Data, err)
	}
}
